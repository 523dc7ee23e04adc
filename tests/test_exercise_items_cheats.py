"""Exercise items resist cheat attempts and vary per learner (exercises 01, 02, 03_expectation_calibration, 05).

* Each ``tests/fixtures/exercises/<assignment>.yaml`` is a hostile submission: its answer cells attack named items
  (always-equal objects, subclasses, patched helpers and modules, a swapped learner id or data folder, copied
  columns, keyword strategies); every other answer cell holds the reference solution. Graded with the real
  nbgrader CLI, each attacked item scores exactly 0 and every other autograded item scores full marks.
* For every numeric item, the right value differs between learners: the source notebook (solutions and hidden
  tests) is executed in-process as several learners and the answers are compared.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import nbformat
import pytest
import yaml

from tests import nbgrader_roundtrip as rt

FIXTURES = rt.ROOT / "tests" / "fixtures" / "exercises"
ASSIGNMENTS = ["01_mindset", "02_customer_understanding", "03_expectation_calibration", "05_team_and_growth"]

# numeric (or per-learner numeric-derived) answers per exercise
NUMERIC_ITEMS = {
    "01_mindset": ["q3_logo_churn", "q4_grr"],
    "02_customer_understanding": ["q2_supported", "q6_change"],
    "03_expectation_calibration": ["q1_change", "q2_fits", "q3_keep_high", "q3_renewal_kept"],
    "05_team_and_growth": ["q1_true", "q2_grr", "q3_ci", "q4_plan", "q4_hires", "q5_assignment", "q6_ok",
                           "q7_promotable"],
}
# answers that are sets of ids (C1, P1 ...) of a per-learner table: compared by what the ids stand for, since the
# same ids name different statements for different learners
ID_TABLES = {"q2_supported": ("Q2_CLAIMS", "文"), "q2_fits": ("Q2_OPTIONS", "打ち手"), "q1_true": ("Q1_CLAIMS", "文"),
             "q6_ok": ("PLANS", "案")}


def fixture(name: str) -> dict:
    return yaml.safe_load((FIXTURES / f"{name}.yaml").read_text(encoding="utf-8"))


def source_nb(name: str) -> Path:
    return rt.ROOT / "exercises" / name / f"{name}.ipynb"


def test_fixtures_attack_real_cells():
    """Every fixture names existing answer and test cells, and attacks at least four items."""
    for name in ASSIGNMENTS:
        fx = fixture(name)
        cells = {c.metadata["nbgrader"]["grade_id"]: c for c in nbformat.read(source_nb(name), as_version=4).cells
                 if "nbgrader" in c.metadata}
        assert fx["assignment"] == name
        assert set(fx["answers"]) <= {g for g, c in cells.items() if c.metadata["nbgrader"].get("solution")}
        assert set(fx["attacks"]) <= {g for g, c in cells.items() if c.metadata["nbgrader"].get("grade")
                                      and not c.metadata["nbgrader"].get("solution")}
        assert len(fx["attacks"]) >= 4
        # each attacked test belongs to an answer the fixture replaces (q3_test ↔ q3_answer)
        assert {a.replace("_test", "") for a in fx["attacks"]} == {a.replace("_answer", "") for a in fx["answers"]}


def _grades(course: Path, assignment: str, student: str) -> dict[str, tuple[float, float]]:
    from nbgrader.api import Gradebook

    manual = rt.manual_grade_ids(course / "source" / assignment)
    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        sub = gb.find_submission(assignment, student)
        return {g.name: (g.auto_score, g.max_score) for nb in sub.notebooks for g in nb.grades if g.name not in manual}


@pytest.mark.slow
@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_cheat_submission_scores_zero_on_attacked_items(name: str, tmp_path: Path):
    fx = fixture(name)
    course = rt.make_course(tmp_path, rt.ROOT / "exercises" / name)
    rt.generate(course, name)
    student = fx["student"]
    dest = rt.submit(course, name, student, with_solutions=True)
    nb_path = dest / f"{name}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    replaced = 0
    for cell in nb.cells:
        gid = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
        if gid in fx["answers"]:
            cell.source = fx["answers"][gid]
            replaced += 1
    assert replaced == len(fx["answers"])
    nbformat.write(nb, nb_path)
    rt.autograde(course, name, student)
    grades = _grades(course, name, student)
    attacked = {g: s for g, s in grades.items() if g in fx["attacks"]}
    others = {g: s for g, s in grades.items() if g not in fx["attacks"]}
    assert set(attacked) == set(fx["attacks"])
    assert {g: s[0] for g, s in attacked.items()} == {g: 0.0 for g in attacked}, attacked
    assert {g: s[0] for g, s in others.items()} == {g: s[1] for g, s in others.items()}, others
    shutil.rmtree(course, ignore_errors=True)


def _answers_as(name: str, learner: str, monkeypatch, tmp_path: Path) -> dict:
    """Run the source notebook (solutions + hidden tests) in-process as ``learner``; return its namespace."""
    monkeypatch.setenv("CS_DOJO_LEARNER_ID", learner)
    monkeypatch.chdir(tmp_path)
    return rt.run_source_in_process(source_nb(name))


def _comparable(value):
    import pandas as pd

    if isinstance(value, pd.DataFrame):
        return value.round(9).fillna(-1).to_dict()
    if isinstance(value, float):
        return round(value, 9)
    if isinstance(value, tuple):
        return tuple(_comparable(v) for v in value)
    return value


@pytest.mark.parametrize("name", ASSIGNMENTS)
def test_numeric_items_vary_per_learner(name: str, monkeypatch, tmp_path: Path):
    learners = ["learner_a", "learner_b", "learner_c"]
    answers = {who: _answers_as(name, who, monkeypatch, tmp_path) for who in learners}
    assert os.environ["CS_DOJO_LEARNER_ID"] == learners[-1]
    for item in NUMERIC_ITEMS[name]:
        values = [_comparable(answers[who][item]) for who in learners]
        if item in ID_TABLES:
            table, text = ID_TABLES[item]
            values = [frozenset(answers[who][table].set_index("id").loc[sorted(answers[who][item]), text])
                      for who in learners]
        assert any(v != values[0] for v in values[1:]), f"{name} {item}: the same answer for {learners}"
