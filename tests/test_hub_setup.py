"""Unit tests of deploy/jupyterhub/cs_dojo_hub.py (no hub started): roster, settings, exchange,
the role configs and the shared copy of the course interpreter."""
from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.prereq import missing

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy" / "jupyterhub"
sys.path.insert(0, str(DEPLOY))
import cs_dojo_hub as hub  # noqa: E402

pytestmark = pytest.mark.hub


def _roster(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "roster.csv"
    p.write_text(text, encoding="utf-8")
    return p


def test_roster_reads_roles_comments_and_bom(tmp_path):
    p = _roster(tmp_path, "\ufeff# comment\nusername,role,display_name\nsato_t,trainer,佐藤\n\ntanaka_h,Learner,田中\n")
    entries = hub.read_roster(p)
    assert [(e.username, e.role, e.display_name) for e in entries] == [
        ("sato_t", "trainer", "佐藤"),
        ("tanaka_h", "learner", "田中"),
    ]


def test_example_roster_is_valid():
    entries = hub.read_roster(DEPLOY / "roster.example.csv")
    assert {e.role for e in entries} == {"trainer", "learner"}


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("name,role\nsato,learner\n", "username and role"),
        ("username,role\nSato.A,learner\n", "row 2: username 'Sato.A'"),
        ("username,role\nsato,student\n", "row 2: role 'student'"),
        ("username,role\nsato,learner\nsato,trainer\n", "row 3: 'sato' already appears in row 2"),
        ("username,role\n", "lists nobody"),
    ],
)
def test_roster_errors_name_row_and_fix(tmp_path, text, fragment):
    with pytest.raises(hub.HubSetupError) as err:
        hub.read_roster(_roster(tmp_path, text))
    assert fragment in str(err.value)
    assert str(tmp_path / "roster.csv") in str(err.value)


def test_missing_roster_points_to_example(tmp_path):
    with pytest.raises(hub.HubSetupError, match="roster.example.csv"):
        hub.read_roster(tmp_path / "nope.csv")


def test_settings_from_env_defaults_and_errors():
    s = hub.HubSettings.from_env({})
    assert (s.ip, s.port, s.course_id, s.exchange_root) == ("127.0.0.1", 8000, "cs-dojo", Path("/srv/nbgrader/exchange"))
    s = hub.HubSettings.from_env({"CS_DOJO_HUB_PORT": "9000", "CS_DOJO_HUB_ADMINS": "ops, root2 ,"})
    assert s.port == 9000 and s.admins == ["ops", "root2"]
    with pytest.raises(hub.HubSetupError, match="CS_DOJO_HUB_PORT='eighty'"):
        hub.HubSettings.from_env({"CS_DOJO_HUB_PORT": "eighty"})
    with pytest.raises(hub.HubSetupError, match="CS_DOJO_COURSE_ID"):
        hub.HubSettings.from_env({"CS_DOJO_COURSE_ID": "../etc"})


@pytest.fixture
def open_tmp():
    """A temp folder other accounts can enter (pytest's own tmp_path is 0700)."""
    import shutil
    import tempfile

    path = Path(tempfile.mkdtemp(prefix="cs-dojo-hub-unit-"))
    path.chmod(0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_exchange_is_world_writable_with_sticky_bit(open_tmp):
    tmp_path = open_tmp
    root = hub.ensure_exchange(tmp_path / "srv" / "exchange")
    assert stat.S_IMODE(root.stat().st_mode) == 0o1777
    (tmp_path / "private").mkdir(mode=0o700)
    with pytest.raises(hub.HubSetupError, match="cannot enter"):
        hub.ensure_exchange(tmp_path / "private" / "exchange")


def test_role_configs_split_formgrader_between_trainers_and_learners():
    learner = json.loads((DEPLOY / "jupyter/learner/jupyter_server_config.d/cs-dojo-learner.json").read_text())
    trainer = json.loads((DEPLOY / "jupyter/trainer/jupyter_server_config.d/cs-dojo-trainer.json").read_text())
    ext_l, ext_t = learner["ServerApp"]["jpserver_extensions"], trainer["ServerApp"]["jpserver_extensions"]
    assert ext_l["nbgrader.server_extensions.formgrader"] is False
    assert ext_l["nbgrader.server_extensions.assignment_list"] is True
    assert ext_t["nbgrader.server_extensions.formgrader"] is True
    page = json.loads((DEPLOY / "jupyter/learner/labconfig/page_config.json").read_text())
    assert page["disabledExtensions"]["@jupyter/nbgrader:formgrader"] is True
    assert hub.jupyter_config_path("learner").split(os.pathsep) == [
        str(DEPLOY / "jupyter" / "learner"),
        str(DEPLOY / "jupyter" / "common"),
    ]


def test_nbgrader_configs_follow_the_hub_environment(tmp_path):
    """The config files nbgrader loads in single-user servers take exchange, course id and course root from env."""
    roles = {role: hub.jupyter_config_path(role) for role in ("learner", "trainer")}
    code = (
        "import json, os\n"
        "from nbgrader.apps import NbGrader\n"
        "out = {}\n"
        f"for role, path in {roles!r}.items():\n"
        "    os.environ['JUPYTER_CONFIG_PATH'] = path\n"
        "    app = NbGrader(); app.load_config_file()\n"
        "    cfg = app.config\n"
        "    out[role] = [cfg.Exchange.root, cfg.CourseDirectory.course_id, cfg.CourseDirectory.get('root', '-')]\n"
        "print(json.dumps(out))\n"
    )
    env = {**os.environ, "CS_DOJO_EXCHANGE_ROOT": "/x/ex", "CS_DOJO_COURSE_ID": "c1", "CS_DOJO_COURSE_ROOT": "/y/course",
           "JUPYTER_CONFIG_DIR": str(tmp_path / "no-user-config")}
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == {
        "learner": ["/x/ex", "c1", "-"],
        "trainer": ["/x/ex", "c1", "/y/course"],
    }


def test_runpath_relocation_rewrites_only_a_unique_absolute_path(tmp_path):
    exe = tmp_path / "python3.11"
    old = "/opt/pyenv/versions/3.11.7/lib"
    exe.write_bytes(b"\x7fELF..." + old.encode() + b"\0tail")
    hub._relocate_runpath(exe, Path(old))
    data = exe.read_bytes()
    assert b"$ORIGIN/../lib\0" in data and old.encode() not in data
    assert len(data) == len(b"\x7fELF..." + old.encode() + b"\0tail")
    twice = tmp_path / "twice"
    twice.write_bytes((old.encode() + b"\0") * 2)
    hub._relocate_runpath(twice, Path(old))
    assert twice.read_bytes() == (old.encode() + b"\0") * 2  # ambiguous: left alone


def test_singleuser_python_runs_for_an_unprivileged_account():
    """The interpreter the hub spawns must work for an account that cannot read root's files."""
    if os.geteuid() != 0:
        missing("running as another account needs root")
    py = hub.ensure_singleuser_env()
    again = hub.ensure_singleuser_env()
    assert py == again
    out = subprocess.run(
        [shutil.which("runuser", path="/usr/sbin:/sbin:/usr/bin:/bin") or "runuser", "-u", "nobody", "--", str(py), "-c",
         "import sys, nbgrader, jupyterhub, cs_helpers; from bs4 import BeautifulSoup;"
         "BeautifulSoup('<img>', 'html.parser').select('img:not([alt])'); print(sys.version_info[:3])"],
        capture_output=True, text=True, cwd="/", env={"PATH": "/usr/bin:/bin", "HOME": "/tmp", "MPLCONFIGDIR": "/tmp"},
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(tuple(sys.version_info[:3]))
