"""Drive the real nbgrader CLI through generate → submit → autograde for an exercise folder.

Used by ``tests/test_exercises_nbgrader.py`` (every assignment in ``exercises/``) and available to
other tests that need a graded submission. Scores are read back through nbgrader's Gradebook API.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
NBGRADER = [sys.executable, "-m", "nbgrader"]
SOLUTION_BLOCK = re.compile(r"### BEGIN SOLUTION(.*?)### END SOLUTION", re.S)
HIDDEN_BLOCK = re.compile(r"### BEGIN HIDDEN TESTS(.*?)### END HIDDEN TESTS", re.S)


@dataclass
class Score:
    auto: float      # points earned in autograded cells
    auto_max: float  # points available in autograded cells
    manual_cells: int  # cells left for a person to grade


def make_course(tmp: Path, assignment_dir: Path) -> Path:
    """A throwaway nbgrader course holding one source assignment, with the project's config."""
    course = tmp / "course"
    (course / "source").mkdir(parents=True)
    shutil.copytree(assignment_dir, course / "source" / assignment_dir.name,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "responses", "__pycache__"))
    config = ROOT / "grading" / "nbgrader_config.py"
    text = config.read_text(encoding="utf-8") if config.exists() else "c = get_config()\n"
    text += f"\nc.CourseDirectory.root = {str(course)!r}\nc.CourseDirectory.db_url = 'sqlite:///{course}/gradebook.db'\n"
    (course / "nbgrader_config.py").write_text(text, encoding="utf-8")
    return course


def run(course: Path, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "CS_DOJO_LEARNER_ID"}
    proc = subprocess.run([*NBGRADER, *args], cwd=course, capture_output=True, text=True, timeout=timeout, env=env)
    if proc.returncode != 0:
        raise AssertionError(f"nbgrader {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


def generate(course: Path, assignment: str) -> Path:
    run(course, "generate_assignment", assignment, "--force")
    return course / "release" / assignment


def _solution_sources(source_nb: Path) -> dict[str, str]:
    nb = nbformat.read(source_nb, as_version=4)
    return {c.metadata["nbgrader"]["grade_id"]: c.source for c in nb.cells
            if c.get("metadata", {}).get("nbgrader", {}).get("solution")}


def submit(course: Path, assignment: str, student: str, *, with_solutions: bool) -> Path:
    """Place a submission built from the released notebooks; ``with_solutions`` fills the answer cells
    with the source notebook's answers (what a learner who got everything right would hand in)."""
    release = course / "release" / assignment
    dest = course / "submitted" / student / assignment
    shutil.copytree(release, dest)
    if with_solutions:
        for nb_path in dest.glob("*.ipynb"):
            answers = _solution_sources(course / "source" / assignment / nb_path.name)
            nb = nbformat.read(nb_path, as_version=4)
            for cell in nb.cells:
                grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
                if grade_id in answers:
                    cell.source = answers[grade_id]
            nbformat.write(nb, nb_path)
    (dest / "timestamp.txt").write_text("2026-11-23 10:00:00.000000 UTC", encoding="utf-8")
    return dest


def manual_grade_ids(source_dir: Path) -> set[str]:
    """grade_ids of manually graded answers (cells that are both a solution and graded)."""
    ids = set()
    for nb_path in source_dir.glob("*.ipynb"):
        for cell in nbformat.read(nb_path, as_version=4).cells:
            meta = cell.get("metadata", {}).get("nbgrader", {})
            if meta.get("solution") and meta.get("grade"):
                ids.add(meta["grade_id"])
    return ids


def autograde(course: Path, assignment: str, student: str) -> Score:
    run(course, "db", "student", "add", student)
    run(course, "autograde", assignment, "--student", student, "--force")
    from nbgrader.api import Gradebook

    manual_ids = manual_grade_ids(course / "source" / assignment)

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        sub = gb.find_submission(assignment, student)
        auto = auto_max = 0.0
        manual = 0
        for nb in sub.notebooks:
            for grade in nb.grades:
                if grade.name in manual_ids:
                    manual += 1
                else:
                    auto += grade.auto_score
                    auto_max += grade.max_score
        return Score(auto, auto_max, manual)


def leaked_lines(assignment_dir: Path, release_dir: Path) -> list[str]:
    """Lines of solution or hidden-test code from the source that appear in the release."""
    release_text = "\n".join(json.dumps(json.loads(p.read_text(encoding="utf-8"))) for p in release_dir.glob("*.ipynb"))
    release_text += "\n".join(
        "".join(c.get("source", "")) for p in release_dir.glob("*.ipynb")
        for c in json.loads(p.read_text(encoding="utf-8"))["cells"])
    leaks = [m for m in ("BEGIN SOLUTION", "END SOLUTION", "BEGIN HIDDEN TESTS", "END HIDDEN TESTS")
             if m in release_text]
    visible = set()
    secret = []
    for nb_path in assignment_dir.glob("*.ipynb"):
        nb = nbformat.read(nb_path, as_version=4)
        for cell in nb.cells:
            src = cell.source
            hidden_parts = SOLUTION_BLOCK.findall(src) + HIDDEN_BLOCK.findall(src)
            outside = HIDDEN_BLOCK.sub("", SOLUTION_BLOCK.sub("", src))
            visible.update(line.strip() for line in outside.splitlines())
            for part in hidden_parts:
                secret.extend(line.strip() for line in part.splitlines())
    for line in secret:
        if len(line) >= 12 and line not in visible and not line.startswith("#") and line in release_text:
            leaks.append(line)
    return leaks


def run_source_in_process(source_nb: Path, scope: dict | None = None) -> dict:
    """Run every code cell of a source notebook (solutions and hidden tests) in this process; return its namespace.

    Hidden tests drop and re-import ``cs_helpers`` modules to get fresh copies; this process's ``cs_helpers``
    modules are put back afterwards, or later tests in the same worker would meet a second copy of every class
    (``pytest.raises`` and ``isinstance`` would then miss them). Other packages imported meanwhile stay: a C
    extension such as numpy's cannot be imported twice in one process.
    """
    import contextlib
    import io
    scope = {"__name__": "__main__"} if scope is None else scope
    def ours(name: str) -> bool:
        return name == "cs_helpers" or name.startswith("cs_helpers.")

    saved = {name: module for name, module in sys.modules.items() if ours(name)}
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            for cell in nbformat.read(source_nb, as_version=4).cells:
                if cell.cell_type == "code":
                    grade_id = cell.metadata.get("nbgrader", {}).get("grade_id", "cell")
                    exec(compile(cell.source, grade_id, "exec"), scope)  # noqa: S102
    finally:
        for name in [m for m in sys.modules if ours(m) and m not in saved]:
            del sys.modules[name]
        sys.modules.update(saved)
    return scope
