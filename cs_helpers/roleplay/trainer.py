"""Trainer and test helpers for roleplays: write a record without the widget, find the best path, replay.

Lessons and exercises for learners do not import this module (the learner-facing API is ``play``, ``menu`` and
``check_response`` in :mod:`cs_helpers.roleplay`). Nothing here is a way round grading: ``cs-dojo grade`` scores
records in the trainer's process (:mod:`cs_helpers.roleplay.trusted`), whatever wrote them.

    from cs_helpers.roleplay import trainer
    trainer.record_best("kickoff_hearing", base="submitted/tanaka_h/03_roleplay")   # a model answer
    trainer.best_path(trainer.load("kickoff_hearing"))                              # (choice ids, total)
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Union

from .analysis import best_path, random_walk
from .engine import Session, replay
from .library import load, scenario_ids

__all__ = ["record_path", "record_best", "best_path", "random_walk", "replay", "load", "scenario_ids", "Session"]


def record_path(scenario_id: str, choice_ids: Iterable[str], *, base: Union[str, Path, None] = None,
                mode: str = "graded", learner: str | None = None, quiet: bool = False) -> Path:
    """Play ``choice_ids`` with the engine and save the response file, as the widget would."""
    from .responses import save_session

    session = Session(load(scenario_id))
    for cid in choice_ids:
        session.choose(cid)
    path = save_session(session, base=base, mode=mode, learner=learner)
    if not quiet:
        print(f"記録しました: {path.parent.name}/{path.name}（{session.outcome_label()}）")
    return path


def record_best(scenario_id: str, *, base: Union[str, Path, None] = None, mode: str = "graded",
                learner: str | None = None, quiet: bool = False) -> Path:
    """Save the full-marks path of ``scenario_id`` (computed with :func:`best_path`, never hard-coded)."""
    path, _total = best_path(load(scenario_id))
    return record_path(scenario_id, path, base=base, mode=mode, learner=learner, quiet=quiet)
