"""In-kernel roleplay checks for nbgrader hidden tests, and :class:`GradeResult`.

The score that counts is computed by ``cs-dojo grade`` in the trainer's process
(:func:`cs_helpers.roleplay.trusted.score_submission`), which replaces whatever the kernel computed for a cell with
``"cs_dojo": {"roleplay": "<scenario_id>"}`` in its metadata. The hidden test in the notebook therefore only
confirms that a finished record exists (:func:`confirm_record`). Everything in this module runs in the learner's
kernel, after the learner's code, so it is **not tamper-proof**: plain ``nbgrader autograde`` without our pipeline
still runs, but a learner's code can change what it reports.

:func:`grade_response` / :func:`autograde` recompute a score in the kernel (for trainers' quick checks and older
notebooks). None of these functions raises or writes to stderr.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Union

from .engine import ScoreReport
from .responses import ResponseError, read_record, response_path, verify_record
from .schema import OUTCOME_LABELS


@dataclass(frozen=True)
class GradeResult:
    scenario_id: str
    points: float
    max_points: float
    message: str
    ok: bool
    reason: str = ""                 # ResponseError.kind when the response was rejected
    report: ScoreReport | None = None
    restarts: int = 0                # restarts recorded in graded mode (for the trainer's grade log)

    @property
    def fraction(self) -> float:
        return self.points / self.max_points if self.max_points else 0.0


def _trainer_scenario(scenario_id: str, base: Path):
    from . import library

    path = library.scenario_file(scenario_id).resolve()
    try:
        path.relative_to(base.resolve())
    except ValueError:
        return library.load(scenario_id)
    raise ResponseError("scenario", "採点用のシナリオが提出フォルダの中を指しています。講師側のシナリオで採点できません。")


def grade_response(scenario_id: str, *, points: float = 1.0, base: Union[str, Path, None] = None) -> GradeResult:
    """Score ``responses/<scenario_id>.json`` under ``base`` (default: the current folder). Never raises."""
    base = Path(base if base is not None else Path.cwd())
    try:
        scenario = _trainer_scenario(scenario_id, base)
    except Exception as exc:  # noqa: BLE001 - a trainer-side problem must not become a traceback in a test cell
        return GradeResult(scenario_id, 0.0, points, f"採点できませんでした（講師側のシナリオの問題です）: {exc}", False,
                           "trainer")
    try:
        record = read_record(response_path(scenario_id, base))
        verified = verify_record(record, scenario)
    except ResponseError as exc:
        return GradeResult(scenario_id, 0.0, points, f"「{scenario.title}」: 0 点。{exc}", False, exc.kind)
    except Exception as exc:  # noqa: BLE001
        return GradeResult(scenario_id, 0.0, points, f"「{scenario.title}」: 0 点。記録を確認できませんでした（{exc}）。",
                           False, "unreadable")
    report = verified.session.score()
    earned = round(points * report.total, 2)
    outcome = OUTCOME_LABELS.get(report.outcome or "", "")
    message = (f"「{scenario.title}」: {earned:g} / {points:g} 点"
               f"（終わり方: {outcome}、評価項目の達成度 {report.total:.0%}）")
    return GradeResult(scenario_id, earned, points, message, True, "", report)


def confirm_record(scenario_id: str, points: float, *, base: Union[str, Path, None] = None) -> float:
    """For hidden tests: ``points`` when a finished graded-mode record for ``scenario_id`` exists under ``base``
    (the notebook's folder), else 0. Prints one Japanese line and no score: the score comes from ``cs-dojo grade``."""
    try:
        from . import library

        scenario = library.load(scenario_id)
        record = read_record(response_path(scenario_id, base))
        verify_record(record, scenario)
        if record.get("mode") != "graded":
            raise ResponseError("practice", "この記録は練習モードのものです。採点モードのウィジェットで進めてください。")
    except ResponseError as exc:
        print(f"「{scenario_id}」: 提出できる記録がありません。{exc}")
        return 0.0
    except Exception:  # noqa: BLE001 - nothing may escape into the test cell
        print(f"「{scenario_id}」: 記録を確認できませんでした。講師に連絡してください。")
        return 0.0
    print(f"「{scenario.title}」: 会話の記録を確認しました。点数は講師側の採点で計算されます。")
    return float(points)


def autograde(scenario_id: str, points: float, *, base: Union[str, Path, None] = None) -> float:
    """For hidden tests: print the Japanese result and return the points (a float, so nbgrader gives partial
    credit)."""
    try:
        result = grade_response(scenario_id, points=points, base=base)
        print(result.message)
        return float(result.points)
    except Exception:  # noqa: BLE001 - nothing may escape into the test cell
        print(f"「{scenario_id}」: 0 点。採点中に問題が起きました。講師に連絡してください。")
        return 0.0
