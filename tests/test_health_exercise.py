"""Exercise 04: per-learner variants, rubric shape, and hostile submissions graded by real nbgrader."""
from __future__ import annotations

from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from cs_helpers import health
from cs_helpers.data import load_all
from cs_helpers.learner import learner_seed
from tests import nbgrader_roundtrip as rt

NAME = "04_health_data_analysis"
SOURCE = rt.ROOT / "exercises" / NAME
RUBRIC = rt.ROOT / "grading" / "rubrics" / f"{NAME}.yaml"


def test_every_variant_is_gradable():
    """Each cutoff leaves 90 known days, has churners and stayers, and enough red accounts for any capacity."""
    tables = load_all()
    end = health.data_end(tables)
    for cutoff in health.EXERCISE_CUTOFFS:
        c = pd.Timestamp(cutoff)
        assert c + pd.Timedelta(days=90) <= end
        bt = health.backtest(tables, c)
        assert 5 <= bt.frame["churned"].sum() < len(bt.frame)
        assert (bt.frame["band"] == "赤").sum() >= 24
    caps = {health.exercise_variant(learner_seed(NAME, f"learner{i}"))["capacity"] for i in range(200)}
    cuts = {health.exercise_variant(learner_seed(NAME, f"learner{i}"))["cutoff"] for i in range(200)}
    assert caps == set(range(12, 25)) and len(cuts) == len(health.EXERCISE_CUTOFFS)
    assert any(c.day not in (28, 29, 30, 31) for c in cuts)  # some learners get a mid-month cutoff


def test_notebook_shape_and_rubric():
    nb = nbformat.read(SOURCE / f"{NAME}.ipynb", as_version=4)
    tests = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "code"]
    assert len(tests) >= 5
    for cell in tests:
        first = cell.source.splitlines()[0]
        assert first.startswith("# 問") and "BEGIN HIDDEN TESTS" in cell.source, cell.metadata["nbgrader"]["grade_id"]
        assert "parameters" not in cell.metadata.get("tags", [])
    manual = [c for c in nb.cells if c.metadata.get("nbgrader", {}).get("grade") and c.cell_type == "markdown"]
    rubric = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    assert rubric["assignment"] == NAME
    by_id = {q["grade_id"]: q for q in rubric["questions"]}
    assert set(by_id) == {c.metadata["nbgrader"]["grade_id"] for c in manual}
    for cell in manual:
        q = by_id[cell.metadata["nbgrader"]["grade_id"]]
        assert 5 <= len(q["criteria"]) <= 7
        assert cell.metadata["nbgrader"]["points"] == 2 * len(q["criteria"])
        for crit in q["criteria"]:
            assert crit["id"].isascii() and set(crit["levels"]) == {0, 1, 2}
    points = [c.metadata["nbgrader"]["points"] for c in tests]
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines()
                if line.startswith("## 問")]
    assert len(headings) == len(tests) + len(manual)
    auto_points = sum(int(h.split("(")[1].split("点")[0]) for h in headings if "記述" not in h)
    assert sum(points) == auto_points


def _grades(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        sub = gb.find_submission(NAME, student)
        return {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades if g.auto_score is not None}


HOSTILE = {
    # leaks the month that has not ended yet (the learner has a mid-month cutoff)
    "q1_answer": ('q1_usage = usage[usage["month"] <= MY_CUTOFF]\n'
                  'q1_live = set(health.live_accounts(accounts, MY_CUTOFF)["account_id"])'),
    # AUC with the direction reversed
    "q3_answer": ('q3_auc_level = 1 - health.auc(bt.frame["churned"], bt.frame["utilisation_level"])\n'
                  'q3_auc_trend = 0.5'),
    # biggest accounts first instead of riskiest first
    "q5_answer": ('_red = bt.frame[bt.frame["band"] == "赤"].sort_values("arr_jpy", ascending=False)\n'
                  'q5_calls = list(_red.index[:MY_CAPACITY])\n'
                  'q5_precision = bt.frame.loc[q5_calls, "churned"].mean()'),
    # misses one leaking design
    "q6_answer": 'q6_leaks = {"A", "D"}',
}
CHEAT = yaml.safe_load((rt.ROOT / "tests" / "fixtures" / "health" / "e04_cheat_answers.yaml").read_text(encoding="utf-8"))


def _hand_in(course: Path, student: str, answers: dict[str, str]) -> None:
    dest = rt.submit(course, NAME, student, with_solutions=True)
    nb_path = dest / f"{NAME}.ipynb"
    nb = nbformat.read(nb_path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in answers:
            cell.source = answers[gid]
    nbformat.write(nb, nb_path)
    rt.autograde(course, NAME, student)


@pytest.mark.slow
def test_hostile_and_cheating_submissions_score_exactly_what_they_earn(tmp_path):
    """Wrong answers lose exactly their points; the cheat-attempt notebook (always-equal objects, subclasses,
    a patched cs_helpers.health, copied values) scores exactly 0, both graded by real nbgrader."""
    student = next(f"mid{i}" for i in range(500)
                   if health.exercise_variant(learner_seed(NAME, f"mid{i}"))["cutoff"].day == 15)
    course = rt.make_course(tmp_path, SOURCE)
    rt.generate(course, NAME)
    _hand_in(course, student, HOSTILE)
    grades = _grades(course, student)
    assert grades["q1_test"] == 0 and grades["q2_test"] == 0  # q2 builds on the leaking q1
    assert grades["q3_test"] == 0 and grades["q5_test"] == 0 and grades["q6_test"] == 0
    assert grades["q4_test"] == 2 and grades["q7_learned_test"] == 2
    assert set(CHEAT) == {gid for gid in rt._solution_sources(SOURCE / f"{NAME}.ipynb") if gid != "q7_interpretation"}
    _hand_in(course, "cheat", CHEAT)
    cheat = _grades(course, "cheat")
    assert set(cheat) == set(grades) and len(cheat) == 7
    assert cheat == {gid: 0 for gid in cheat}, cheat


NUMERIC = ("q1", "q2", "q3", "q4", "q5")


def _right_values(learner: str, tables) -> dict:
    """The right answer of every numeric item for one learner, recomputed here."""
    v = health.exercise_variant(learner_seed(NAME, learner))
    usage, accounts = tables["usage_monthly"], tables["accounts"]
    bt = health.backtest(tables, v["cutoff"])
    f = bt.frame
    usage_until = usage[usage["month"] < health.first_incomplete_month(v["cutoff"])]
    q2 = health.monthly_level_trend(usage, pd.Index(sorted(health.live_accounts(accounts, v["cutoff"])["account_id"])),
                                    v["cutoff"], {"r": ("logins", "active_users")})
    calls = health.call_list(f, v["capacity"])
    return {"q1": (len(usage_until), len(health.live_accounts(accounts, v["cutoff"]))),
            "q2": round(float(np.nanmean(q2["r_level"])), 6),
            "q3": round(health.auc(f["churned"], f["utilisation_level"]), 6),
            "q4": tuple(health.churn_by_band(f)["churn_rate"].round(6)),
            "q5": (tuple(calls.index), round(float(f.loc[calls.index, "churned"].mean()), 6))}


def test_every_numeric_item_differs_between_learners():
    """Per-learner variation: for each numeric item, at least two learners have different right answers."""
    tables = load_all()
    learners = ["tanaka_h", "suzuki_a", "sato_k"]
    values = [_right_values(name, tables) for name in learners]
    for item in NUMERIC:
        assert len({repr(v[item]) for v in values}) >= 2, item
