"""deploy/k8s/values.yaml cannot be installed here (no cluster), so check what can be checked offline:
it parses, its hub Python snippets run, and it sets the same exchange, course and role split as the
single-machine hub."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest
import yaml
from traitlets.config import Config

REPO = Path(__file__).resolve().parents[1]
VALUES = REPO / "deploy" / "k8s" / "values.yaml"

pytestmark = pytest.mark.hub


@pytest.fixture(scope="module")
def values() -> dict:
    return yaml.safe_load(VALUES.read_text(encoding="utf-8"))


def _fake_spawner(name: str, user_id: int, groups: list[str]):
    user = SimpleNamespace(name=name, id=user_id, groups=[SimpleNamespace(name=g) for g in groups])
    return SimpleNamespace(user=user, environment={"CS_DOJO_LEARNER_ID": "leftover"}, mem_limit=None, mem_guarantee=None)


def test_extra_config_gives_each_user_a_uid_and_splits_roles(values):
    c = Config()
    for name, snippet in sorted(values["hub"]["extraConfig"].items()):
        exec(compile(snippet, f"values.yaml:hub.extraConfig.{name}", "exec"), {"c": c})
    ks = c.KubeSpawner
    alice, bob = _fake_spawner("alice", 7, []), _fake_spawner("bob", 8, [])
    assert ks.uid(alice) != ks.uid(bob) and ks.uid(alice) >= 20000 and ks.uid(alice) != 1000
    assert ks.fs_gid(alice) == ks.gid(alice)

    ks.pre_spawn_hook(alice)
    assert alice.environment["CS_DOJO_LEARNER_ID"] == "alice"
    assert alice.environment["JUPYTER_CONFIG_PATH"].split(":")[0].endswith("/jupyter/learner")
    trainer = _fake_spawner("sato", 1, ["trainers"])
    ks.pre_spawn_hook(trainer)
    assert "CS_DOJO_LEARNER_ID" not in trainer.environment
    assert trainer.environment["JUPYTER_CONFIG_PATH"].split(":")[0].endswith("/jupyter/trainer")
    assert trainer.mem_limit


def test_role_folders_named_in_values_exist_in_the_repo(values):
    snippet = values["hub"]["extraConfig"]["20-cs-dojo-roles"]
    assert "/opt/cs-dojo/deploy/jupyterhub/jupyter/{role}:" in snippet
    assert "/opt/cs-dojo/deploy/jupyterhub/jupyter/common" in snippet
    for role in ("learner", "trainer", "common"):
        assert (REPO / "deploy" / "jupyterhub" / "jupyter" / role).is_dir()


def test_exchange_volume_and_course_match_the_single_machine_defaults(values):
    import sys

    sys.path.insert(0, str(REPO / "deploy" / "jupyterhub"))
    import cs_dojo_hub

    defaults = cs_dojo_hub.HubSettings()
    su = values["singleuser"]
    env = su["extraEnv"]
    assert env["CS_DOJO_EXCHANGE_ROOT"] == str(defaults.exchange_root)
    assert env["CS_DOJO_COURSE_ID"] == defaults.course_id
    mounts = {m["mountPath"] for m in su["storage"]["extraVolumeMounts"]}
    assert str(defaults.exchange_root) in mounts
    roles = values["hub"]["loadRoles"]["cs-dojo-trainer"]
    assert roles["groups"] == [cs_dojo_hub.TRAINER_GROUP]
    assert not any(s.startswith(("access:servers", "admin")) for s in roles["scopes"])
