"""Writing group grades into nbgrader's gradebook, the way the formgrader does.

For each learner: ``Grade.manual_score`` (``needs_manual_grade`` cleared, exactly as the formgrader's
``GradeHandler.put``), and ``Comment.manual_comment`` (as ``CommentHandler.put``). nbgrader's feedback, the
formgrader, ``cs-dojo export`` and ``cs-dojo report`` then read the same rows.

Safe beside an open formgrader and other ``cs-dojo`` commands:

* the workspace lock (``.cs_dojo.lock``) keeps two ``cs-dojo`` writers apart; while another command holds it we wait
  and try again;
* SQLite allows one writer: a "database is locked" error rolls back and retries with a short back-off; when the
  deadline passes nothing is written and the caller keeps the grades as *pending* to send again (never lost);
* a learner whose answer changed since it was grouped, or whose grade was set elsewhere since we last wrote it
  (e.g. by hand in the formgrader), is not overwritten: it comes back as a conflict with the reason.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

from ..common import CourseError, course_lock, db_url
from .extract import Question, current_answer


@dataclass
class Entry:
    learner: str
    score: float
    comment: str
    digest: str  # the answer text's digest when it was grouped
    previous: float | None = None  # the manual score we wrote last time (None: never wrote one)


@dataclass
class WriteResult:
    written: list[str] = field(default_factory=list)
    conflicts: dict[str, str] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)
    attempts: int = 0


class GradebookBusy(Exception):
    """The gradebook stayed locked past the deadline (nothing was written)."""


def _is_locked(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text


def write_grades(root: Path, question: Question, entries: list[Entry], *, overwrite: bool = False,
                 timeout: float = 30.0, sqlite_timeout: float = 2.0) -> WriteResult:
    """Write ``entries`` in one transaction; retry while the gradebook or workspace is locked.

    Raises ``CourseError`` for problems a trainer must fix (score out of range, learner not in the gradebook).
    Entries that could not be written because the gradebook stayed busy come back in ``pending``.
    """
    result = WriteResult()
    if not entries:
        return result
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        result.attempts += 1
        lock = course_lock(root, f"answers {question.assignment} {question.grade_id}")
        try:
            lock.__enter__()
        except CourseError:
            lock = None  # another cs-dojo command is writing: wait and retry
        if lock is not None:
            try:
                _write_once(root, question, entries, overwrite, sqlite_timeout, result)
                return result
            except GradebookBusy:
                pass
            finally:
                lock.__exit__(None, None, None)
        if time.monotonic() + delay > deadline:
            result.written = []
            result.conflicts = {}
            result.pending = [e.learner for e in entries]
            return result
        time.sleep(delay)
        delay = min(delay * 2, 1.0)


def _write_once(root: Path, question: Question, entries: list[Entry], overwrite: bool, sqlite_timeout: float,
                result: WriteResult) -> None:
    from nbgrader.api import Gradebook, MissingEntry
    from sqlalchemy.exc import OperationalError

    result.written, result.conflicts = [], {}
    checks = {}
    for e in entries:
        now = current_answer(root, question, e.learner)
        if now is None:
            checks[e.learner] = "採点済みのコピー (autograded/) がありません。再採点中か、提出が取り消されました"
        elif now.digest != e.digest:
            checks[e.learner] = ("グループ分けの後に回答が変わりました (再採点された可能性があります)。"
                                 "グループを作り直してから採点してください")
    try:
        with Gradebook(f"{db_url(root)}?timeout={sqlite_timeout}", "cs-dojo") as gb:
            try:
                todo = []
                for e in entries:
                    if e.learner in checks:
                        result.conflicts[e.learner] = checks[e.learner]
                        continue
                    try:
                        grade = gb.find_grade(question.grade_id, question.notebook, question.assignment, e.learner)
                        comment = gb.find_comment(question.grade_id, question.notebook, question.assignment,
                                                  e.learner)
                    except MissingEntry:
                        raise CourseError(
                            f"gradebook に {e.learner} の「{question.grade_id}」の採点行がありません。"
                            f" `cs-dojo grade {question.assignment} --learner {e.learner}` を実行してから"
                            " もう一度保存してください。 (no grade row)") from None
                    max_score = float(grade.max_score)
                    if not 0 <= e.score <= max_score:
                        raise CourseError(f"{e.learner} の点数 {e.score} は 0〜{max_score:g} の範囲外です。"
                                          " ルーブリックと nbgrader の配点が合っているか確かめてください。 (score out of range)")
                    current = grade.manual_score
                    if (current is not None and not overwrite
                            and (e.previous is None or abs(float(current) - float(e.previous)) > 1e-9)
                            and abs(float(current) - e.score) > 1e-9):
                        result.conflicts[e.learner] = (
                            f"別の場所 (formgrader など) で {float(current):g} 点が付けられています。"
                            "上書きする場合は overwrite=True を指定してください")
                        continue
                    todo.append((e, grade, comment))
                for e, grade, comment in todo:
                    grade.manual_score = float(e.score)
                    if grade.manual_score is None and grade.auto_score is None:
                        grade.needs_manual_grade = True
                    else:
                        grade.needs_manual_grade = False
                    comment.manual_comment = e.comment or None
                gb.db.commit()
                result.written = [e.learner for e, _, _ in todo]
            except OperationalError as exc:
                gb.db.rollback()
                if _is_locked(exc):
                    raise GradebookBusy(str(exc)) from None
                raise
    except OperationalError as exc:  # raised while opening the gradebook
        if _is_locked(exc):
            raise GradebookBusy(str(exc)) from None
        raise


def read_grades(root: Path, question: Question, learners: list[str]) -> dict[str, dict]:
    """What the gradebook holds now for these learners (the formgrader's view: ``Grade.to_dict`` and the comment)."""
    from nbgrader.api import Gradebook, MissingEntry
    out = {}
    with Gradebook(db_url(root), "cs-dojo") as gb:
        for lid in learners:
            try:
                g = gb.find_grade(question.grade_id, question.notebook, question.assignment, lid)
                c = gb.find_comment(question.grade_id, question.notebook, question.assignment, lid)
            except MissingEntry:
                continue
            out[lid] = {"manual_score": g.manual_score, "auto_score": g.auto_score, "score": g.score,
                        "needs_manual_grade": bool(g.needs_manual_grade), "max_score": float(g.max_score),
                        "manual_comment": c.manual_comment, "grade_id": g.id, "comment_id": c.id}
    return out
