"""Exercise 04: per-learner variants, rubric shape, and hostile submissions graded by real nbgrader."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
import yaml

from cs_helpers import health
from cs_helpers.data import load_all
from cs_helpers.health import exercise as X
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
    # blind guess: the lesson's story (trend beats level, level-only picks young accounts) without checking the data
    "q3_answer": 'q3_true = {"B", "C", "D", "E"}',
    # copies the current band (40) instead of choosing a threshold from the goal
    "q4_answer": ('q4_threshold = 40\n'
                  'q4_red = int((bt.frame["band"] == "赤").sum())\n'
                  'q4_caught = int(bt.frame.loc[bt.frame["band"] == "赤", "churned"].sum())'),
    # the one-helper-call list (keeps the young accounts), with the reasons worked out right for it
    "q5_answer": ('q5_calls = list(health.call_list(bt.frame, MY_CAPACITY).index)\n'
                  '_before = health.score(health.features_at(tables, MY_CUTOFF - pd.offsets.MonthEnd(1)))\n'
                  'q5_reasons = {a: "継続" if str(_before["band"].get(a)) == "赤" else "転落" for a in q5_calls}'),
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
    assert grades["q3_test"] == 0 and grades["q4_test"] == 0 and grades["q5_test"] == 0 and grades["q6_test"] == 0
    assert grades["q7_learned_test"] == 2
    assert set(CHEAT) == {gid for gid in rt._solution_sources(SOURCE / f"{NAME}.ipynb") if gid != "q7_interpretation"}
    _hand_in(course, "cheat", CHEAT)
    cheat = _grades(course, "cheat")
    assert set(cheat) == set(grades) and len(cheat) == 7
    assert cheat == {gid: 0 for gid in cheat}, cheat


NUMERIC = ("q1", "q2", "q3", "q4", "q5")


def _q3_truth(f: pd.DataFrame, capacity: int, seed: int) -> frozenset:
    """The statements of question 3 that hold for this learner's backtest, recomputed here."""
    claims = X.level_trend_claims(f, capacity, seed)
    p = dict(zip(claims["id"], claims["param"]))
    has_trend = f["utilisation_trend"].notna()
    auc_level = health.auc(f["churned"], f["utilisation_level"])
    auc_trend = health.auc(f.loc[has_trend, "churned"], f.loc[has_trend, "utilisation_trend"])
    ids = pd.Series(f.index.astype(str), index=f.index)
    low = {c: f.assign(_id=ids).sort_values([c, "_id"]).index[:capacity] for c in ("utilisation_level", "score")}
    young = int((f.loc[low["utilisation_level"], "tenure_days"] < 180).sum())
    gap = int(f.loc[low["score"], "churned"].sum()) - int(f.loc[low["utilisation_level"], "churned"].sum())
    return frozenset({"E"} | {k for k, ok in [("A", auc_level > p["A"]), ("B", auc_trend - auc_level >= p["B"]),
                                              ("C", young >= p["C"]), ("D", gap >= p["D"])] if ok})


def _q4_answer(f: pd.DataFrame, capacity: int, seed: int) -> tuple[int, int, int]:
    best = None
    for t in X.THRESHOLDS:
        red = f[f["score"] < t]
        if 0 < len(red) <= 4 * capacity and red["churned"].mean() >= X.lift_goal(seed) * f["churned"].mean():
            if best is None or red["churned"].sum() > best[2]:
                best = (t, len(red), int(red["churned"].sum()))
    return best


def _q5_answer(tables, f: pd.DataFrame, cutoff, capacity: int) -> tuple[list, dict]:
    pool = f[(f["band"] == "赤") & (f["tenure_days"] >= 180)]
    calls = list(pool.reset_index().sort_values(["score", "arr_jpy", "account_id"], ascending=[True, False, True])
                 ["account_id"].head(capacity))
    before = health.score(health.features_at(tables, cutoff - pd.offsets.MonthEnd(1)))
    red_before = set(before.index[before["band"] == "赤"])
    return calls, {a: "継続" if a in red_before else "転落" for a in calls}


def _right_values(learner: str, tables) -> dict:
    """The right answer of every numeric item for one learner, recomputed here."""
    seed = learner_seed(NAME, learner)
    v = health.exercise_variant(seed)
    usage, accounts = tables["usage_monthly"], tables["accounts"]
    bt = health.backtest(tables, v["cutoff"])
    f = bt.frame
    usage_until = usage[usage["month"] < health.first_incomplete_month(v["cutoff"])]
    q2 = health.monthly_level_trend(usage, pd.Index(sorted(health.live_accounts(accounts, v["cutoff"])["account_id"])),
                                    v["cutoff"], {"r": ("logins", "active_users")})
    calls, reasons = _q5_answer(tables, f, v["cutoff"], v["capacity"])
    return {"q1": (len(usage_until), len(health.live_accounts(accounts, v["cutoff"]))),
            "q2": round(float(np.nanmean(q2["r_level"])), 6),
            "q3": tuple(sorted(_q3_truth(f, v["capacity"], seed))),
            "q4": _q4_answer(f, v["capacity"], seed),
            "q5": (tuple(calls), tuple(sorted(reasons.items())))}


def test_every_numeric_item_differs_between_learners():
    """Per-learner variation: for each numeric item, at least two learners have different right answers."""
    tables = load_all()
    learners = ["tanaka_h", "suzuki_a", "sato_k"]
    values = [_right_values(name, tables) for name in learners]
    for item in NUMERIC:
        assert len({repr(v[item]) for v in values}) >= 2, item


def test_judgement_items_resist_guessing_and_the_helper_shortcut():
    """Q3-Q5 over 300 learners: no single answer (the likeliest blind guess) is right for 10 % of them or more;
    keeping the current band (40) is rarely right; the one-helper-call list (health.call_list, every reason
    "継続") is right for nobody; the notebook's own solution agrees with the recomputation here."""
    tables = load_all()
    frames = {c: health.backtest(tables, c).frame for c in health.EXERCISE_CUTOFFS}
    q3, q4, q5, shortcut = Counter(), Counter(), Counter(), 0
    learners = [f"learner{i}" for i in range(300)]
    for who in learners:
        seed = learner_seed(NAME, who)
        v = health.exercise_variant(seed)
        f = frames[str(v["cutoff"].date())]
        q3[_q3_truth(f, v["capacity"], seed)] += 1
        q4[_q4_answer(f, v["capacity"], seed)] += 1
        calls, reasons = _q5_answer(tables, f, v["cutoff"], v["capacity"])
        q5[tuple(calls)] += 1
        naive = list(health.call_list(f, v["capacity"]).index)
        shortcut += naive == calls and all(r == "継続" for r in reasons.values())
    for counts in (q3, q4, q5):
        assert counts.most_common(1)[0][1] < 0.1 * len(learners), counts.most_common(2)
    assert sum(n for (t, _, _), n in q4.items() if t == 40) < 0.1 * len(learners)
    assert shortcut == 0


def test_solution_matches_the_recomputation(monkeypatch, tmp_path):
    """The notebook's solution cells give the answers recomputed in this file (for a month-end learner)."""
    who = "tanaka_h"
    monkeypatch.setenv("CS_DOJO_LEARNER_ID", who)
    monkeypatch.chdir(tmp_path)
    scope = rt.run_source_in_process(SOURCE / f"{NAME}.ipynb")
    want = _right_values(who, load_all())
    assert tuple(sorted(scope["q3_true"])) == want["q3"]
    assert (scope["q4_threshold"], scope["q4_red"], scope["q4_caught"]) == want["q4"]
    assert (tuple(scope["q5_calls"]), tuple(sorted(scope["q5_reasons"].items()))) == want["q5"]
