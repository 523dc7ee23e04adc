"""Shared pieces of the trainer pipeline: the course workspace layout, errors, roster and notebook helpers.

A course workspace is an nbgrader course root (``nbgrader_config.py``, ``source/``, ``release/``,
``submitted/``, ``autograded/``, ``feedback/``, ``gradebook.db``) plus CS Dojo's own files:
``roster.csv``, ``rubrics/``, ``lessons/``, ``personalised/``, ``grading_log.json``, ``exports/``,
``reports/``. Every command takes ``course_dir`` (the CLI's ``--course-dir``, default: current folder).
"""
from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator

from ..fileio import atomic_write_bytes, atomic_write_text  # noqa: F401  (re-exported for the course modules)

CONFIG_NAME = "nbgrader_config.py"
ROSTER_NAME = "roster.csv"
ROSTER_FIELDS = ["learner_id", "name", "email", "cohort", "company_profile"]
GRADING_LOG = "grading_log.json"
SOLUTION_MARKERS = ("BEGIN SOLUTION", "END SOLUTION")
HIDDEN_MARKERS = ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
LEAK_MARKERS = SOLUTION_MARKERS + HIDDEN_MARKERS


def ensure_tools_on_path() -> None:
    """nbgrader runs ``alembic`` and jupyter finds kernels via PATH; make this Python's bin folder visible even when
    the venv is not activated (e.g. ``.venv/bin/cs-dojo ...``)."""
    bindir = str(Path(sys.executable).parent)
    parts = os.environ.get("PATH", "").split(os.pathsep)
    if bindir not in parts:
        os.environ["PATH"] = os.pathsep.join([bindir, *[p for p in parts if p]])


ensure_tools_on_path()


class CourseError(Exception):
    """A problem the trainer can fix; the message says what, where and how (printed without a traceback)."""


@dataclass
class Learner:
    learner_id: str
    name: str = ""
    email: str = ""
    cohort: str = ""
    company_profile: str = ""
    extra: dict = field(default_factory=dict)

    def row(self) -> dict:
        return {"learner_id": self.learner_id, "name": self.name, "email": self.email,
                "cohort": self.cohort, "company_profile": self.company_profile}


def course_root(course_dir: str | os.PathLike | None, *, must_exist: bool = True) -> Path:
    """Resolve and check a course workspace folder."""
    root = Path(course_dir or ".").expanduser().resolve()
    if must_exist and not (root / CONFIG_NAME).is_file():
        raise CourseError(
            f"{root} は講座ワークスペースではありません ({CONFIG_NAME} がありません)。"
            f" 先に `cs-dojo init {root}` を実行するか、--course-dir でワークスペースを指定してください。"
            f" (not a course workspace: {root / CONFIG_NAME} is missing)")
    return root


def db_url(root: Path) -> str:
    return f"sqlite:///{root / 'gradebook.db'}"


def read_roster(root: Path) -> list[Learner]:
    """The learners in ``roster.csv`` (already validated by ``cs-dojo roster import``)."""
    path = root / ROSTER_NAME
    if not path.exists():
        return []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        out = []
        for row in csv.DictReader(fh):
            lid = (row.get("learner_id") or "").strip()
            if lid:
                out.append(Learner(lid, (row.get("name") or "").strip(), (row.get("email") or "").strip(),
                                   (row.get("cohort") or "").strip(), (row.get("company_profile") or "").strip()))
        return out


def write_roster(root: Path, learners: Iterable[Learner]) -> Path:
    path = root / ROSTER_NAME
    rows = [lr.row() for lr in learners]
    atomic_write_text(path, _csv_text(rows, ROSTER_FIELDS))
    return path


def _csv_text(rows: list[dict], fields: list[str]) -> str:
    import io
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def source_notebooks(root: Path, assignment: str) -> list[Path]:
    """The source notebooks of an assignment (``source/<assignment>/*.ipynb``), or a clear error."""
    folder = root / "source" / assignment
    if not folder.is_dir():
        available = sorted(p.name for p in (root / "source").iterdir() if p.is_dir()) if (root / "source").is_dir() else []
        raise CourseError(
            f"課題「{assignment}」が見つかりません ({folder} がありません)。"
            f" 使える課題: {', '.join(available) or '(なし)'}。 (unknown assignment)")
    notebooks = sorted(p for p in folder.glob("*.ipynb") if not p.name.startswith("."))
    if not notebooks:
        raise CourseError(f"{folder} にノートブック (.ipynb) がありません。 (no notebooks in the assignment)")
    return notebooks


def read_json_notebook(path: Path) -> dict:
    with path.open(encoding="utf-8") as fh:
        return json.load(fh)


def cell_source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else str(src)


def nbgrader_meta(cell: dict) -> dict:
    meta = cell.get("metadata") or {}
    nbg = meta.get("nbgrader") or {}
    return nbg if isinstance(nbg, dict) else {}


def cell_tags(cell: dict) -> list[str]:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return [str(t) for t in tags] if isinstance(tags, list) else []


def _region_lines(notebooks: Iterable[Path], markers: tuple[str, str], min_len: int) -> list[str]:
    """Distinctive lines inside ``markers`` regions: lines that also occur outside any such region (e.g. a visible
    test repeated in the hidden block, or ``import pandas as pd``) are left out, since they are not secret."""
    inside_lines: list[str] = []
    outside: set[str] = set()
    for path in notebooks:
        for cell in read_json_notebook(path).get("cells", []):
            inside = False
            for line in cell_source(cell).splitlines():
                text = line.strip()
                if markers[0] in line:
                    inside = True
                    continue
                if markers[1] in line:
                    inside = False
                    continue
                if inside:
                    if len(text) >= min_len and not text.startswith("#"):
                        inside_lines.append(text)
                else:
                    outside.add(text)
    return [t for t in dict.fromkeys(inside_lines) if t not in outside]


def hidden_test_snippets(notebooks: Iterable[Path], min_len: int = 6) -> list[str]:
    """Lines inside ``BEGIN HIDDEN TESTS`` regions of source notebooks (what must never leak)."""
    return _region_lines(list(notebooks), HIDDEN_MARKERS, min_len)


def solution_snippets(notebooks: Iterable[Path], min_len: int = 12) -> list[str]:
    """Distinctive lines inside ``BEGIN SOLUTION`` regions (used to check a release is clean)."""
    return _region_lines(list(notebooks), SOLUTION_MARKERS, min_len)


def find_leaks(files: Iterable[Path], snippets: Iterable[str], markers: Iterable[str] = LEAK_MARKERS) -> list[str]:
    """Return ``"<file>: <what>"`` for every marker or snippet found in the given text files.

    Notebooks and HTML escape text differently, so each file is checked raw, JSON-decoded (for .ipynb) and
    HTML-unescaped (for .html).
    """
    import html as _html
    needles = [m for m in markers] + [s for s in snippets]
    leaks = []
    for path in files:
        try:
            raw = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        views = [raw]
        if path.suffix == ".ipynb":
            try:
                views.append("\n".join(cell_source(c) for c in json.loads(raw).get("cells", [])))
            except (ValueError, AttributeError):
                pass
        if path.suffix in {".html", ".htm"}:
            views.append(_html.unescape(re.sub(r"<[^>]+>", "", raw)))
        for needle in needles:
            if any(needle in v for v in views):
                leaks.append(f"{path}: {needle}")
    return leaks


def iter_files(folder: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(folder):
        dirnames[:] = [d for d in dirnames if d not in {".ipynb_checkpoints", "__pycache__"}]
        for name in filenames:
            yield Path(dirpath) / name


def read_grading_log(root: Path) -> dict:
    path = root / GRADING_LOG
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except ValueError:
        return {}


def say(message: str = "", *, err: bool = False) -> None:
    print(message, file=sys.stderr if err else sys.stdout, flush=True)


class course_lock:
    """Exclusive lock on the workspace for commands that write the gradebook (one writer at a time)."""

    def __init__(self, root: Path, what: str):
        self.path = root / ".cs_dojo.lock"
        self.what = what
        self._fh = None

    def __enter__(self):
        import fcntl
        self._fh = open(self.path, "a+", encoding="utf-8")
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._fh.seek(0)
            holder = self._fh.read().strip()
            self._fh.close()
            raise CourseError(
                f"別の cs-dojo コマンド ({holder or '不明'}) がこのワークスペースで実行中です。終わってから再実行してください。"
                " (another command holds the gradebook lock)") from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"{self.what} pid={os.getpid()}\n")
        self._fh.flush()
        return self

    def __exit__(self, *exc):
        import fcntl
        if self._fh:
            self._fh.seek(0)
            self._fh.truncate()
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            self._fh.close()
        return False


def run_nbgrader(root: Path, *args: str, timeout: float | None = None) -> subprocess.CompletedProcess:
    """Run an nbgrader subcommand in the workspace with this Python; raise CourseError with its log on failure."""
    cmd = [sys.executable, "-m", "nbgrader", *args, f"--CourseDirectory.root={root}"]
    proc = subprocess.run(cmd, cwd=root, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        tail = "\n".join((proc.stdout + proc.stderr).strip().splitlines()[-25:])
        raise CourseError(f"nbgrader {args[0]} が失敗しました (exit {proc.returncode}):\n{tail}")
    return proc


def parameters_tagged_nbgrader_cells(path: Path) -> list[str]:
    """grade_ids (or cell numbers) of nbgrader cells that also carry the papermill ``parameters`` tag."""
    bad = []
    for i, cell in enumerate(read_json_notebook(path).get("cells", []), start=1):
        if nbgrader_meta(cell) and "parameters" in cell_tags(cell):
            bad.append(nbgrader_meta(cell).get("grade_id") or f"cell {i}")
    return bad
