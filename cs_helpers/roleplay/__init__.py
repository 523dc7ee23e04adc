"""Widget-driven roleplay: scenarios (YAML), a pure-Python engine, a Japanese widget and trusted grading.

Learner-facing entry points (used in ``curriculum/03.1_roleplay.ipynb`` and ``exercises/03_roleplay``)::

    from cs_helpers import roleplay as rp
    rp.menu()                                  # practice: pick a scenario (graded-only ones are not listed)
    rp.play("kickoff_hearing")                 # practice mode: hints and undo
    rp.play("renewal_ringi_freeze", graded=True)   # graded mode: no hints, no score, one restart
    rp.check_response("renewal_ringi_freeze")  # is my saved conversation ready to hand in? (no score)

Trainer/test entry points live in submodules the lessons do not import: :mod:`.trainer` (``record_path``,
``record_best``, ``best_path``, ``replay``), :mod:`.trusted` (``score_submission``, called by ``cs-dojo grade``),
:mod:`.lint`, :mod:`.group`, :mod:`.engine`. The widget module (ipywidgets) is imported only when needed, so grading
stays light.
"""
from __future__ import annotations

from pathlib import Path
from typing import Union

from .engine import InvalidChoice, ReplayError, ScoreReport
from .library import catalogue, load, scenario_ids
from .schema import Scenario, ScenarioError, load_scenario

__all__ = ["play", "menu", "check_response", "catalogue", "load", "load_scenario", "scenario_ids", "Scenario",
           "ScenarioError", "ScoreReport", "InvalidChoice", "ReplayError"]


def play(scenario_id: str, *, graded: bool = False, hints: bool | None = None,
         base: Union[str, Path, None] = None):
    """Show the roleplay widget for a shipped scenario. Returns the widget (displayed when last in a cell).

    Practice mode (the default) refuses scenarios marked ``graded_only``; use ``graded=True`` in the assignment."""
    from .widget import RoleplayWidget

    return RoleplayWidget(load(scenario_id), graded=graded, hints=hints, base=base)


def menu(*, base: Union[str, Path, None] = None):
    """A drop-down of the shipped practice scenarios with a start button (practice mode)."""
    from .widget import ScenarioMenu

    return ScenarioMenu(base=base)


def check_response(scenario_id: str, *, base: Union[str, Path, None] = None, display: bool = True):
    """Check (without showing a score or how it ended) that the saved conversation can be handed in."""
    from ..checks import CheckResult, _show
    from .responses import ResponseError, read_record, response_path, verify_record

    scenario = load(scenario_id)
    try:
        record = read_record(response_path(scenario_id, base))
        verified = verify_record(record, scenario)
    except ResponseError as exc:
        return _show(CheckResult(False, f"「{scenario.title}」の記録はまだ提出できる状態ではありません。",
                                 str(exc)), display)
    if scenario.graded_only and record.get("mode") != "graded":
        return _show(CheckResult(False, f"「{scenario.title}」の記録は練習モードのものです。",
                                 "課題のノートブックの採点モードのウィジェットで、最後まで進めてください。"), display)
    return _show(CheckResult(True, f"「{scenario.title}」の会話は最後まで記録されています（{len(verified.session.steps)} 回選択、"
                                   f"やり直し {verified.session.restarts} 回）。このまま提出できます。"), display)
