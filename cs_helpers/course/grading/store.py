"""Gradebook I/O of the trusted parent (the only writer of ``gradebook.db``)."""
from __future__ import annotations

import contextlib
import datetime as dt
import sqlite3
from pathlib import Path

from ..common import db_url


def submission_timestamp(sub_dir: Path):
    from nbgrader.utils import parse_utc
    path = sub_dir / "timestamp.txt"
    if path.exists():
        try:
            return parse_utc(path.read_text(encoding="utf-8").strip())
        except Exception:  # noqa: BLE001
            return None
    return None


@contextlib.contextmanager
def reused_gradebook_engines(throwaway: bool = False):
    """Within the block, every nbgrader ``Gradebook`` opened on one URL shares one SQLAlchemy engine.

    nbgrader makes a new engine each time a ``Gradebook`` is opened, so each opening compiles every query anew: the
    grading parent opens the gradebook once per learner, a worker about nine times per submission (~0.05-0.1 s of
    CPU per learner each). ``Gradebook.close`` still disposes of the pooled connections, so each opening connects to
    the file afresh. ``throwaway=True`` is for a worker's private copy, deleted after the run: SQLite then does not
    wait for the disk at each of nbgrader's ~30 commits (``synchronous=OFF``, journal in memory).
    """
    import nbgrader.api as api
    from sqlalchemy import create_engine, event

    engines: dict = {}

    def shared_engine(url, **kwargs):
        engine = engines.get(str(url))
        if engine is None:
            engine = engines[str(url)] = create_engine(url, **kwargs)
            if throwaway:
                event.listen(engine, "connect", _no_disk_waits)
        return engine

    original, api.create_engine = api.create_engine, shared_engine
    try:
        yield
    finally:
        api.create_engine = original
        for engine in engines.values():
            engine.dispose()


def _no_disk_waits(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA synchronous=OFF")
    cursor.execute("PRAGMA journal_mode=MEMORY")
    cursor.close()


def store_grades(root: Path, assignment: str, learner: str, scores: dict, failed: bool, timestamp) -> None:
    """Write one learner's grades into the real gradebook (the parent is the only writer)."""
    import warnings

    from nbgrader.api import Gradebook, MissingEntry
    with warnings.catch_warnings(), Gradebook(db_url(root), "cs-dojo") as gb:
        warnings.simplefilter("ignore")  # nbgrader's own update_or_create_submission triggers SQLAlchemy warnings
        gb.update_or_create_student(learner)
        if timestamp is not None:
            gb.update_or_create_submission(assignment, learner, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, learner)
        for nb_name, cells in scores.items():
            sub_nb = gb.find_submission_notebook(nb_name, assignment, learner)
            sub_nb.flagged = failed
            for gid, (score, needs_manual, no_response) in cells.items():
                grade = gb.find_grade(gid, nb_name, assignment, learner)
                grade.auto_score = score
                grade.needs_manual_grade = (grade.manual_score is not None or score is None) and not failed
                if grade.manual_score is not None and failed:
                    grade.needs_manual_grade = True
                try:
                    comment = gb.find_comment(gid, nb_name, assignment, learner)
                    comment.auto_comment = "No response." if no_response else None
                except MissingEntry:  # only solution cells have comments
                    pass
        gb.db.commit()


def _sqlite_copy(src_path: Path, dest: Path) -> None:
    """A consistent copy of an SQLite file (the source opened read-only)."""
    src = sqlite3.connect(f"file:{src_path}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    try:
        with dst:
            src.backup(dst)
    finally:
        src.close()
        dst.close()


def make_template_db(root: Path) -> bytes:
    """The gradebook with every learner removed (a worker sees only the assignment definitions), as bytes.

    It is built in a private temporary folder that is gone before any worker starts; the parent writes one copy
    into each worker's own folder, so no file is shared between workers.
    """
    import tempfile
    import warnings

    from nbgrader.api import Gradebook
    with tempfile.TemporaryDirectory(prefix="cs-dojo-template-") as tmp:
        dest = Path(tmp) / "template.db"
        _sqlite_copy(root / "gradebook.db", dest)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SQLAlchemy warns about cascades nbgrader's models leave implicit
            with Gradebook(f"sqlite:///{dest}", "cs-dojo") as gb:
                for student in list(gb.students):
                    gb.remove_student(student.id)
        con = sqlite3.connect(dest)
        con.execute("VACUUM")
        con.close()
        return dest.read_bytes()


def backup_gradebook(root: Path, keep: int = 5) -> Path:
    folder = root / ".cs_dojo" / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"gradebook-{dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.db"
    _sqlite_copy(root / "gradebook.db", dest)
    for old in sorted(folder.glob("gradebook-*.db"))[:-keep]:
        old.unlink()
    return dest


def gradebook_problem(root: Path, assignment: str) -> str:
    """Why ``gradebook.db`` is not usable any more (empty string when it is fine): checked before every write."""
    path = root / "gradebook.db"
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            check = con.execute("PRAGMA quick_check").fetchone()[0]
            if check != "ok":
                return f"integrity check: {check}"
            if not con.execute("SELECT 1 FROM assignment WHERE name = ?", (assignment,)).fetchone():
                return f"assignment {assignment} is missing"
        finally:
            con.close()
    except sqlite3.Error as exc:
        return f"{type(exc).__name__}: {exc}"
    return ""


def graded_learners(root: Path, assignment: str) -> set[str]:
    con = sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT student_id FROM submitted_assignment sa JOIN assignment a "
                           "ON sa.assignment_id = a.id WHERE a.name = ?", (assignment,)).fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        con.close()
    return {r[0] for r in rows}

