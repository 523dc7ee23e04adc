"""Rubrics of exercises 01, 02, 03_expectation_calibration and 05 match their manually graded cells, and each
exercise states an honest time and the points it awards."""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
TIMES = {"01_mindset": "100〜115分", "02_customer_understanding": "90〜100分",
         "03_expectation_calibration": "85〜100分", "05_team_and_growth": "120〜140分"}


@pytest.mark.parametrize("name", sorted(TIMES))
def test_rubric_points_and_stated_time(name):
    nb = nbformat.read(ROOT / "exercises" / name / f"{name}.ipynb", as_version=4)
    rubric = yaml.safe_load((ROOT / "grading" / "rubrics" / f"{name}.yaml").read_text(encoding="utf-8"))
    assert rubric["assignment"] == name
    by_id = {q["grade_id"]: q for q in rubric["questions"]}
    cells = [c for c in nb.cells if "nbgrader" in c.metadata]
    manual = {c.metadata["nbgrader"]["grade_id"]: c for c in cells
              if c.metadata["nbgrader"].get("solution") and c.metadata["nbgrader"].get("grade")}
    assert set(manual) == set(by_id)
    for gid, cell in manual.items():
        criteria = by_id[gid]["criteria"]
        assert 5 <= len(criteria) <= 7, gid
        assert cell.metadata["nbgrader"]["points"] == 2 * len(criteria), gid
        assert all(set(c["levels"]) == {0, 1, 2} for c in criteria), gid
        prompt = next(c.source for c in cells if c.metadata["nbgrader"]["grade_id"] == gid.split("_")[0] + "_text")
        listed = re.split(r"\s*/\s*", prompt.split("**採点基準 (各0〜2点)**:", 1)[1].strip())
        assert len(listed) == len(criteria), gid
    auto = sum(c.metadata["nbgrader"]["points"] for c in cells
               if c.metadata["nbgrader"].get("grade") and not c.metadata["nbgrader"].get("solution"))
    total_manual = sum(c.metadata["nbgrader"]["points"] for c in manual.values())
    intro = nb.cells[0].source
    assert f"**所要時間の目安: {TIMES[name]}**" in intro
    assert f"自動採点 {auto}点 + 記述 {total_manual}点" in intro
    headings = {int(m.group(1)): int(m.group(2)) for c in nb.cells if c.cell_type == "markdown"
                for m in [re.search(r"## 問(\d+) \((\d+)点\)", c.source)] if m}
    graded: dict[int, int] = {}
    for c in cells:
        m = re.match(r"q(\d+)_", c.metadata["nbgrader"]["grade_id"])
        if m and c.metadata["nbgrader"].get("grade"):
            graded[int(m.group(1))] = graded.get(int(m.group(1)), 0) + c.metadata["nbgrader"]["points"]
    assert headings == graded
