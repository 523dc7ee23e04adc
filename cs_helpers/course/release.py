"""``cs-dojo release ASSIGNMENT``: make the student version of an assignment and check it is clean.

Steps: refuse nbgrader cells tagged ``parameters``; run ``nbgrader generate_assignment`` (writes
``release/<assignment>/`` and records the assignment, its cells and points in ``gradebook.db``); check every released
file for ``BEGIN SOLUTION`` / ``BEGIN HIDDEN TESTS`` text and for lines of the solutions and hidden tests (a leak
deletes the release and fails); then write ``handout/<assignment>.zip`` for mail or an LMS and, with ``to``, copy the
release to a shared folder (``<to>/<assignment>/``).
"""
from __future__ import annotations

import shutil
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .common import (CourseError, course_lock, course_root, find_leaks, hidden_test_snippets, iter_files,
                     parameters_tagged_nbgrader_cells, run_nbgrader, solution_snippets, source_notebooks)


@dataclass
class ReleaseResult:
    assignment: str
    release_dir: Path
    files: list[Path] = field(default_factory=list)
    zip_path: Path | None = None
    copied_to: Path | None = None


def check_release_clean(release_dir: Path, source_nbs: list[Path]) -> list[str]:
    """Leaks of solutions or hidden tests in a released folder (empty list when clean)."""
    snippets = hidden_test_snippets(source_nbs) + solution_snippets(source_nbs)
    return find_leaks(sorted(iter_files(release_dir)), snippets)


def release_assignment(*, course_dir: str | Path = ".", assignment: str, to: str | Path | None = None,
                       make_zip: bool = True) -> ReleaseResult:
    root = course_root(course_dir)
    notebooks = source_notebooks(root, assignment)
    for nb in notebooks:
        bad = parameters_tagged_nbgrader_cells(nb)
        if bad:
            raise CourseError(
                f"{nb} の nbgrader セル ({', '.join(bad)}) に papermill の parameters タグが付いています。"
                " 採点セルを個別化すると採点が壊れるため配布しません。タグを外してください。")
    release_dir = root / "release" / assignment
    with course_lock(root, f"release {assignment}"):
        run_nbgrader(root, "generate_assignment", assignment, "--force")
        leaks = check_release_clean(release_dir, notebooks)
        if leaks:
            shutil.rmtree(release_dir, ignore_errors=True)
            raise CourseError("配布版に解答または非公開テストが残っていたため、配布版を削除しました:\n  "
                              + "\n  ".join(leaks))
    files = sorted(iter_files(release_dir))
    result = ReleaseResult(assignment, release_dir, files)
    if make_zip:
        result.zip_path = root / "handout" / f"{assignment}.zip"
        result.zip_path.parent.mkdir(exist_ok=True)
        tmp = result.zip_path.with_suffix(".zip.tmp")
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as zf:
            for f in files:
                zf.write(f, Path(assignment) / f.relative_to(release_dir))
        tmp.replace(result.zip_path)
    if to:
        dest = Path(to).expanduser().resolve() / assignment
        if dest.exists():
            shutil.rmtree(dest)
        shutil.copytree(release_dir, dest)
        result.copied_to = dest
    return result
