"""Trusted roleplay scoring: run by ``cs-dojo grade`` in the trainer's process, never in a learner's kernel.

:func:`score_submission` reads ``<submission_dir>/responses/<scenario_id>.json`` (the learner's saved conversation)
and scores it against the trainer's own copy of the scenario, resolved in this process (the shipped
``datasets/scenarios/`` of the installed package, or the trainer's ``CS_DOJO_DATASETS``), never from anything the
learner's environment chose. Code in the learner's notebook (a patched :mod:`cs_helpers.roleplay.grading`, a module
swapped in ``sys.modules``, ``os.environ["CS_DOJO_DATASETS"]`` set in a cell) cannot reach this process.

A record scores 0 with a reason (``GradeResult.reason``) and a Japanese message for the learner's feedback when it
is missing, a symlink or outside the submission, unreadable or hand-edited, for another scenario or another scenario
structure, recorded in practice mode, recorded by another learner, restarted more often than graded mode allows, or
unfinished. Otherwise the score is the engine's total (the ending caps it, see ``datasets/scenarios/README.md``)
times ``points``, and the message carries the debrief the graded widget kept back (how it ended and why, the
customer's real expectation, a comment on each choice that has one). ``GradeResult.restarts`` is the number of
restarts, for the trainer's grade log.
"""
from __future__ import annotations

from pathlib import Path

from .grading import GradeResult
from .responses import RESPONSES_DIR, ResponseError, read_record, verify_record
from .schema import ID_RE, OUTCOME_LABELS

MAX_GRADED_RESTARTS = 1


def _trainer_scenario(scenario_id: str, submission_dir: Path):
    """The trainer's scenario, never one inside the submission."""
    from . import library

    path = library.scenario_file(scenario_id).resolve()
    if path.is_relative_to(submission_dir.resolve()):
        raise ResponseError("trainer", "採点用のシナリオが提出フォルダの中を指しています。講師側のシナリオで採点できません。")
    return library.load(scenario_id)


def _response_file(scenario_id: str, submission_dir: Path) -> Path:
    """``responses/<id>.json`` inside the submission; symlinks (which could point anywhere on the trainer's disk)
    are refused."""
    folder = submission_dir / RESPONSES_DIR
    path = folder / f"{scenario_id}.json"
    for p in (folder, path):
        if p.is_symlink():
            raise ResponseError("format", f"{RESPONSES_DIR}/{path.name} がリンク（シンボリックリンク）になっています。"
                                          "ウィジェットで保存した記録をそのまま提出してください。")
    if path.exists() and not path.resolve().is_relative_to(submission_dir.resolve()):
        raise ResponseError("format", f"{RESPONSES_DIR}/{path.name} が提出フォルダの外を指しています。")
    return path


def score_submission(scenario_id: str, *, submission_dir: Path, learner: str, points: float) -> GradeResult:
    """Score one learner's saved conversation for ``scenario_id`` (worth ``points``). Never raises."""
    submission_dir = Path(submission_dir)
    if not isinstance(scenario_id, str) or not ID_RE.match(scenario_id):
        return GradeResult(str(scenario_id), 0.0, points, f"シナリオid「{scenario_id}」の形式が正しくありません。",
                           False, "trainer")
    try:
        scenario = _trainer_scenario(scenario_id, submission_dir)
    except ResponseError as exc:
        return GradeResult(scenario_id, 0.0, points, str(exc), False, exc.kind)
    except Exception as exc:  # noqa: BLE001 - a trainer-side problem is reported, not raised
        return GradeResult(scenario_id, 0.0, points, f"採点できませんでした（講師側のシナリオの問題です）: {exc}", False,
                           "trainer")
    title = scenario.title
    restarts = 0
    try:
        record = read_record(_response_file(scenario_id, submission_dir))
        if isinstance(record.get("restarts"), int) and not isinstance(record.get("restarts"), bool):
            restarts = record["restarts"]
        verified = verify_record(record, scenario)
        if record.get("mode") != "graded":
            raise ResponseError("practice", "この記録は練習モードのものです。課題のノートブックの採点モードの"
                                            "ウィジェットで会話を最後まで進めてください。")
        if record.get("learner_id") != learner:
            raise ResponseError("learner", f"この記録は別の受講者ID「{record.get('learner_id')}」で保存されています"
                                           f"（提出者: {learner}）。自分の受講者IDで会話を進め直してください。")
        if not isinstance(record.get("restarts"), int) or not 0 <= restarts <= MAX_GRADED_RESTARTS:
            raise ResponseError("restarts", f"採点モードのやり直しは {MAX_GRADED_RESTARTS} 回までですが、記録では "
                                            f"{record.get('restarts')!r} 回になっています（ウィジェットでは起こらない値です）。")
    except ResponseError as exc:
        return GradeResult(scenario_id, 0.0, points, f"「{title}」: 0 点。{exc}", False, exc.kind, restarts=restarts)
    except Exception as exc:  # noqa: BLE001
        return GradeResult(scenario_id, 0.0, points, f"「{title}」: 0 点。記録を確認できませんでした（{exc}）。", False,
                           "unreadable", restarts=restarts)
    report = verified.session.score()
    earned = round(points * report.total, 2)
    message = f"「{title}」: {earned:g} / {points:g} 点\n" + debrief(verified.session, report, restarts)
    return GradeResult(scenario_id, earned, points, message, True, "", report, restarts=restarts)


def debrief(session, report, restarts: int) -> str:
    """The feedback text for a graded conversation (Japanese): outcome, cap, criteria, debrief, comments."""
    sc, end = session.scenario, session.ending
    outcome = OUTCOME_LABELS.get(report.outcome or "", "")
    lines = [f"終わり方: {end.title}（{outcome}）／評価項目の達成度 {report.total:.0%}／やり直し {restarts} 回"]
    if report.capped:
        lines.append(f"評価項目だけなら {report.uncapped:.0%} ですが、{outcome}の終わり方のため {report.cap:.0%} までになります。")
    lines += [f"・{c.label}: {c.level}/{c.max}" for c in report.criteria]
    lines += ["", f"ふりかえり: {end.debrief}", f"顧客が本当に期待していたこと: {sc.persona.hidden_expectation}"]
    comments = session.feedback()
    if comments:
        lines += ["", "あなたの選択へのコメント:"] + [f"・{ch.text} → {text}" for ch, text in comments]
    return "\n".join(lines)
