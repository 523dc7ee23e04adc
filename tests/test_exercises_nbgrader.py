"""Every nbgrader source assignment in exercises/ survives a real nbgrader round trip.

For each assignment: ``nbgrader generate_assignment`` works; the release contains no solution or
hidden-test source; the solutions handed in as a submission score full autograded marks; the
unchanged release handed in scores zero autograded marks.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from tests import nbgrader_roundtrip as rt

ASSIGNMENTS = sorted(p for p in (rt.ROOT / "exercises").iterdir() if p.is_dir() and any(p.glob("*.ipynb"))) \
    if (rt.ROOT / "exercises").exists() else []


def test_there_are_exercises():
    assert ASSIGNMENTS, "exercises/ holds no nbgrader source assignment"


@pytest.mark.slow
@pytest.mark.parametrize("assignment_dir", ASSIGNMENTS, ids=[p.name for p in ASSIGNMENTS])
def test_round_trip(assignment_dir: Path, tmp_path: Path):
    name = assignment_dir.name
    course = rt.make_course(tmp_path, assignment_dir)
    release = rt.generate(course, name)

    assert not rt.leaked_lines(assignment_dir, release), "release leaks solution/hidden tests"

    rt.submit(course, name, "solution", with_solutions=True)
    full = rt.autograde(course, name, "solution")
    assert full.auto_max > 0, f"{name}: no autograded points"
    assert full.auto == pytest.approx(full.auto_max), f"{name}: solution scored {full.auto}/{full.auto_max}"

    rt.submit(course, name, "blank", with_solutions=False)
    blank = rt.autograde(course, name, "blank")
    assert blank.auto == 0, f"{name}: unchanged release scored {blank.auto}/{blank.auto_max}"
    assert blank.auto_max == pytest.approx(full.auto_max)
