"""Exercise 06: notebook shape and rubric, trusted per-learner recomputation, and real nbgrader grading of
cheat attempts (exactly 0), a copied neighbour's numbers (numeric items 0) and an honest submission (full)."""
from __future__ import annotations

from pathlib import Path

import nbformat
import pytest
import yaml

from cs_helpers import lifecycle
from cs_helpers.learner import learner_seed
from tests import nbgrader_roundtrip as rt

NAME = "06_commercial_lifecycle"
SOURCE = rt.ROOT / "exercises" / NAME
RUBRIC = rt.ROOT / "grading" / "rubrics" / f"{NAME}.yaml"
HOSTILE = yaml.safe_load((rt.ROOT / "tests" / "fixtures" / "lifecycle" / "hostile_answers.yaml").read_text(encoding="utf-8"))
PER_LEARNER = ("q2_test", "q3_test", "q5_test", "q8_test")
POINTS = {"q1_test": 2, "q2_test": 3, "q3_test": 3, "q4_test": 2, "q5_test": 3, "q6_test": 2, "q7_test": 2, "q8_test": 3}


def _nb():
    return nbformat.read(SOURCE / f"{NAME}.ipynb", as_version=4)


def _cells(nb, kind: str):
    for c in nb.cells:
        m = c.metadata.get("nbgrader", {})
        if kind == "test" and m.get("grade") and c.cell_type == "code":
            yield c
        if kind == "manual" and m.get("grade") and c.cell_type == "markdown":
            yield c


def test_notebook_shape_and_rubric():
    nb = _nb()
    tests = list(_cells(nb, "test"))
    assert {c.metadata["nbgrader"]["grade_id"]: c.metadata["nbgrader"]["points"] for c in tests} == POINTS
    for cell in tests:
        first = cell.source.splitlines()[0]
        assert first.startswith("# 問") and "BEGIN HIDDEN TESTS" in cell.source
        assert "parameters" not in cell.metadata.get("tags", [])
        hidden = cell.source.split("### BEGIN HIDDEN TESTS")[1]
        # the trusted recomputation never goes through a helper a learner's cell could replace
        assert "lifecycle." not in hidden and "revenue." not in hidden and "learner_seed" not in hidden
        assert "SEED" not in hidden.replace("_sd", "")
    rubric = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    assert rubric["assignment"] == NAME
    by_id = {q["grade_id"]: q for q in rubric["questions"]}
    manual = list(_cells(nb, "manual"))
    assert set(by_id) == {c.metadata["nbgrader"]["grade_id"] for c in manual}
    for cell in manual:
        q = by_id[cell.metadata["nbgrader"]["grade_id"]]
        assert 5 <= len(q["criteria"]) <= 7 and cell.metadata["nbgrader"]["points"] == 2 * len(q["criteria"])
        assert all(c["id"].isascii() and set(c["levels"]) == {0, 1, 2} for c in q["criteria"])
    headings = [line for c in nb.cells if c.cell_type == "markdown" for line in c.source.splitlines() if line.startswith("## 問")]
    assert len(headings) == len(tests) + len(manual)
    assert sum(int(h.split("(")[1].split("点")[0]) for h in headings if "記述" not in h) == sum(POINTS.values())


def _trusted_prelude() -> str:
    """The prelude every per-learner hidden test starts with (the same text in each cell)."""
    cell = next(c for c in _cells(_nb(), "test") if c.metadata["nbgrader"]["grade_id"] == "q2_test")
    hidden = cell.source.split("### BEGIN HIDDEN TESTS\n")[1]
    return "\n".join(hidden.splitlines()[:5])


def test_trusted_seed_agrees_with_the_learner_module(tmp_path, monkeypatch):
    prelude = _trusted_prelude()
    for who in ("tanaka_h", "2026-cs-01"):
        monkeypatch.setenv("CS_DOJO_LEARNER_ID", who)
        scope: dict = {}
        exec(prelude, scope)
        assert scope["_sd"] == learner_seed(NAME, who)
    monkeypatch.delenv("CS_DOJO_LEARNER_ID")
    folder = tmp_path / "autograded" / "suzuki" / NAME
    folder.mkdir(parents=True)
    monkeypatch.chdir(folder)
    scope = {}
    exec(prelude, scope)
    assert scope["_sd"] == learner_seed(NAME, "suzuki")


def _answers_for(seed: int) -> dict[str, str]:
    """The four numeric answers of one learner as literal values (what a copier would paste)."""
    today, ren = lifecycle.exercise_renewals(seed)
    start = {k for k, r in ren.iterrows()
             if lifecycle.prep_start(r["契約終了日"], r["タッチモデル"], r["自動更新"], r["解約予告日数"], r["決裁ルート"]) <= today}
    sheet = lifecycle.exercise_cohort(seed)
    cohort = sheet[sheet["期首ARR"] > 0]
    grr = float(cohort[["期首ARR", "期末ARR"]].min(axis=1).sum() / cohort["期首ARR"].sum())
    nrr = float(cohort["期末ARR"].sum() / cohort["期首ARR"].sum())
    acc = lifecycle.exercise_silent(seed)
    signals = (acc["利用率の変化 (pt)"] <= -10).astype(int) + (acc["最後の面談からの日数"] >= 90) + acc["推進役の異動 (引き継ぎなし)"]
    silent = set(acc.index[(signals >= 2) & (acc["直近90日の問い合わせ件数"] <= 1)])
    book = lifecycle.exercise_book(seed)
    hours = book["high"] * 6 + book["low"] * 1.5 + book["tech"] * 0.25
    return {"q2_answer": f"q2_start_now = {sorted(start)!r}\nq2_start_now = set(q2_start_now)",
            "q3_answer": f"q3_grr = {grr!r}\nq3_nrr = {nrr!r}",
            "q5_answer": f"q5_silent = set({sorted(silent)!r})",
            "q8_answer": f"q8_hours = {hours!r}\nq8_fits = {hours <= 110!r}"}


def _pick_students() -> tuple[str, str, str]:
    """An honest learner, a copier whose four numeric answers all differ from the honest one's, and a cheater
    whose real variant differs from the seed-0 variant the cheat answers."""
    honest = "honest01"
    mine = _answers_for(learner_seed(NAME, honest))
    copier = next(f"copy{i:02d}" for i in range(100)
                  if all(_answers_for(learner_seed(NAME, f"copy{i:02d}"))[k] != mine[k] for k in mine))
    zero = _answers_for(0)
    cheater = next(f"cheat{i:02d}" for i in range(100)
                   if all(_answers_for(learner_seed(NAME, f"cheat{i:02d}"))[k] != zero[k] for k in zero))
    return honest, copier, cheater


def _replace(dest: Path, sources: dict[str, str]) -> None:
    path = dest / f"{NAME}.ipynb"
    nb = nbformat.read(path, as_version=4)
    for cell in nb.cells:
        gid = cell.metadata.get("nbgrader", {}).get("grade_id")
        if gid in sources:
            cell.source = sources[gid]
    nbformat.write(nb, path)


def _grades(course: Path, student: str) -> dict[str, float]:
    from nbgrader.api import Gradebook

    with Gradebook(f"sqlite:///{course}/gradebook.db") as gb:
        sub = gb.find_submission(NAME, student)
        return {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades if g.name in POINTS}


@pytest.mark.slow
def test_cheats_score_zero_copies_lose_the_numeric_items_honest_full(tmp_path):
    honest, copier, cheater = _pick_students()
    course = rt.make_course(tmp_path, SOURCE)
    rt.generate(course, NAME)
    # hostile first, then the copier, then the honest learner: all graded in one nbgrader run
    _replace(rt.submit(course, NAME, cheater, with_solutions=True), HOSTILE)
    _replace(rt.submit(course, NAME, copier, with_solutions=True), _answers_for(learner_seed(NAME, honest)))
    rt.submit(course, NAME, honest, with_solutions=True)
    for student in (cheater, copier, honest):
        rt.run(course, "db", "student", "add", student)
    rt.run(course, "autograde", NAME, "--force")
    assert _grades(course, cheater) == {k: 0.0 for k in POINTS}
    assert _grades(course, copier) == {k: (0.0 if k in PER_LEARNER else float(v)) for k, v in POINTS.items()}
    assert _grades(course, honest) == {k: float(v) for k, v in POINTS.items()}
