"""The shipped (trainer's) scenarios in ``datasets/scenarios/``, found through ``cs_helpers.paths``.

Grading always loads scenarios from here, never from the learner's folder.
"""
from __future__ import annotations

from pathlib import Path

from ..paths import scenarios_dir
from .schema import ID_RE, Scenario, load_scenario

_CACHE: dict[Path, tuple[float, int, Scenario]] = {}


class UnknownScenario(KeyError):
    def __str__(self) -> str:
        return str(self.args[0])


def scenario_ids() -> list[str]:
    return sorted(p.stem for p in scenarios_dir().glob("*.yaml"))


def practice_ids() -> list[str]:
    """Shipped scenarios a learner may practise (those not marked ``graded_only: true``)."""
    return [sid for sid in scenario_ids() if not load(sid).graded_only]


def scenario_file(scenario_id: str) -> Path:
    if not isinstance(scenario_id, str) or not ID_RE.match(scenario_id):
        raise UnknownScenario(f"シナリオid「{scenario_id}」の形式が正しくありません（例: kickoff_hearing）")
    path = scenarios_dir() / f"{scenario_id}.yaml"
    if not path.exists():
        known = "、".join(scenario_ids()) or "（なし）"
        raise UnknownScenario(f"シナリオ「{scenario_id}」が見つかりません。使えるシナリオ: {known}")
    return path


def load(scenario_id: str) -> Scenario:
    """Load a shipped scenario by id (cached until the file changes)."""
    path = scenario_file(scenario_id)
    st = path.stat()
    hit = _CACHE.get(path)
    if hit and hit[0] == st.st_mtime and hit[1] == st.st_size:
        return hit[2]
    scenario = load_scenario(path)
    _CACHE[path] = (st.st_mtime, st.st_size, scenario)
    return scenario


def catalogue():
    """A table of the shipped practice scenarios (id, title, call type, size, minutes)."""
    import pandas as pd

    rows = []
    for sid in practice_ids():
        sc = load(sid)
        rows.append({"id": sc.id, "タイトル": sc.title, "種類": sc.call_type, "場面数": len(sc.nodes),
                     "終わり方": len(sc.endings), "評価項目": len(sc.criteria), "目安(分)": sc.estimated_minutes})
    return pd.DataFrame(rows)
