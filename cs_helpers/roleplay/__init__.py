"""Widget-driven roleplay: scenarios (YAML), a pure-Python engine, a Japanese widget and replay grading.

Learner-facing entry points (used in ``curriculum/03.1_roleplay.ipynb`` and ``exercises/03_roleplay``)::

    from cs_helpers import roleplay as rp
    rp.play("kickoff_hearing")                 # practice mode: hints and undo
    rp.play("kickoff_hearing", graded=True)    # graded mode: no hints, path saved for grading
    rp.check_response("kickoff_hearing")       # is my saved conversation ready to hand in?

Trainer/test entry points: ``load``, ``Session``, ``replay``, ``record_path``, ``grading.autograde``,
``lint.lint_paths`` and ``group.group_view``. The widget module (ipywidgets) is imported only when needed, so
grading stays light.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Union

from .engine import InvalidChoice, ReplayError, ScoreReport, Session, replay
from .library import catalogue, load, scenario_ids
from .schema import Scenario, ScenarioError, load_scenario

__all__ = ["play", "menu", "check_response", "record_path", "load", "load_scenario", "scenario_ids", "catalogue",
           "Session", "replay", "Scenario", "ScenarioError", "ScoreReport", "InvalidChoice", "ReplayError"]


def play(scenario_id: str, *, graded: bool = False, hints: bool | None = None,
         base: Union[str, Path, None] = None):
    """Show the roleplay widget for a shipped scenario. Returns the widget (displayed when last in a cell)."""
    from .widget import RoleplayWidget

    return RoleplayWidget(load(scenario_id), graded=graded, hints=hints, base=base)


def menu(*, base: Union[str, Path, None] = None):
    """A drop-down of every shipped scenario with a start button (practice mode)."""
    from .widget import ScenarioMenu

    return ScenarioMenu(base=base)


def record_path(scenario_id: str, choice_ids: Iterable[str], *, base: Union[str, Path, None] = None,
                mode: str = "graded") -> Path:
    """Play ``choice_ids`` with the engine and save the response file, as the widget would."""
    from .responses import save_session

    session = Session(load(scenario_id))
    for cid in choice_ids:
        session.choose(cid)
    path = save_session(session, base=base, mode=mode)
    print(f"記録しました: {path.parent.name}/{path.name}（{session.outcome_label()}）")
    return path


def check_response(scenario_id: str, *, base: Union[str, Path, None] = None, display: bool = True):
    """Check (without showing a score) that the saved conversation can be graded: ✅ or ❌ with what to do."""
    from ..checks import CheckResult, _show
    from .responses import ResponseError, read_record, response_path, verify_record

    scenario = load(scenario_id)
    try:
        verified = verify_record(read_record(response_path(scenario_id, base)), scenario)
    except ResponseError as exc:
        return _show(CheckResult(False, f"「{scenario.title}」の記録はまだ提出できる状態ではありません。",
                                 str(exc)), display)
    label = verified.session.outcome_label()
    return _show(CheckResult(True, f"「{scenario.title}」の記録を確認しました（{len(verified.session.steps)} 回選択、"
                                   f"終わり方: {label}）。このまま提出できます。"), display)
