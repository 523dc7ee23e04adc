"""Exercise 01 (mindset): rubric matches the notebook; answers really vary per learner; test cells stay quiet.

The generic nbgrader round trip lives in test_exercises_nbgrader.py. Here the source notebook runs in a real
kernel as two different learners: each learner's own solution passes every test cell, and learner A's numbers
handed in as learner B fail B's churn and GRR tests (so copying a neighbour's answers does not work).
"""
from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest
import yaml
from nbclient import NotebookClient

from cs_helpers import data, kpi
from cs_helpers.learner import learner_seed

ROOT = Path(__file__).resolve().parents[1]
EXERCISE = ROOT / "exercises" / "01_mindset" / "01_mindset.ipynb"
RUBRIC = ROOT / "grading" / "rubrics" / "01_mindset.yaml"
AS_OF_CHOICES = ["2025-12-31", "2026-03-31", "2026-06-30", "2026-09-30"]


def nbgrader_cells(nb):
    return {c.metadata["nbgrader"]["grade_id"]: c for c in nb.cells if "nbgrader" in c.metadata}


def cohort_of(learner: str) -> tuple[str, pd.Timestamp]:
    seed = learner_seed("01_mindset", learner=learner)
    industries = list(data.INDUSTRIES)
    return industries[seed % len(industries)], pd.Timestamp(AS_OF_CHOICES[(seed // len(industries)) % 4])


def test_rubric_matches_manual_cells():
    rubric = yaml.safe_load(RUBRIC.read_text(encoding="utf-8"))
    assert rubric["assignment"] == "01_mindset"
    cells = nbgrader_cells(nbformat.read(EXERCISE, as_version=4))
    manual = {gid: c for gid, c in cells.items()
              if c.metadata["nbgrader"]["solution"] and c.metadata["nbgrader"]["grade"]}
    assert len(manual) >= 2
    assert {q["grade_id"] for q in rubric["questions"]} == set(manual)
    for q in rubric["questions"]:
        crit = q["criteria"]
        assert 5 <= len(crit) <= 7, q["grade_id"]
        assert len({c["id"] for c in crit}) == len(crit)
        assert all(re.fullmatch(r"[a-z0-9_]+", c["id"]) for c in crit)
        assert all(set(c["levels"]) == {0, 1, 2} and c["text"] for c in crit)
        assert manual[q["grade_id"]].metadata["nbgrader"]["points"] == 2 * len(crit)


def test_exercise_format():
    nb = nbformat.read(EXERCISE, as_version=4)
    cells = nbgrader_cells(nb)
    tests = [c for c in cells.values() if c.metadata["nbgrader"]["grade"] and not c.metadata["nbgrader"]["solution"]]
    answers = [c for c in cells.values() if c.metadata["nbgrader"]["solution"] and c.cell_type == "code"]
    assert len(tests) >= 5 and len(answers) >= 5
    for t in tests:
        first = t.source.splitlines()[0]
        assert re.match(r"# 問\d+: ", first), first
        assert "### BEGIN HIDDEN TESTS" in t.source and "### END HIDDEN TESTS" in t.source
    for a in answers:
        assert re.match(r"^(\w+ = None\n)+### BEGIN SOLUTION\n", a.source), a.source[:80]
    headings = [c.source for c in nb.cells if c.cell_type == "markdown" and "## 問" in c.source]
    points = {int(m.group(1)): int(m.group(2)) for h in headings for m in [re.search(r"## 問(\d+) \((\d+)点\)", h)]}
    graded = {}
    for gid, c in cells.items():
        m = re.match(r"q(\d+)_", gid)
        if m and c.metadata["nbgrader"]["grade"]:
            graded[int(m.group(1))] = graded.get(int(m.group(1)), 0) + c.metadata["nbgrader"]["points"]
    assert points == graded  # the points in each heading are the points nbgrader awards
    assert not any("parameters" in c.metadata.get("tags", []) for c in nb.cells)


def run_as(learner: str, nb, tmp_path: Path, monkeypatch) -> nbformat.NotebookNode:
    monkeypatch.setenv("CS_DOJO_LEARNER_ID", learner)
    NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    return nb


def outputs_text(cell) -> str:
    return "\n".join(o.get("text", "") or o.get("data", {}).get("text/plain", "") for o in cell.get("outputs", []))


def errors(cell) -> list[str]:
    return [o["ename"] for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def stderr(cell) -> list[str]:
    return [o["text"] for o in cell.get("outputs", []) if o.get("output_type") == "stream" and o["name"] == "stderr"]


@pytest.mark.slow
def test_answers_vary_per_learner_and_copied_numbers_fail(tmp_path, monkeypatch):
    learners = [f"learner_{n:02d}" for n in range(40)]
    a = learners[0]
    b = next(x for x in learners[1:] if cohort_of(x)[0] != cohort_of(a)[0] and cohort_of(x)[1] != cohort_of(a)[1])
    accounts = data.load("accounts")
    truth = {}
    for who in (a, b):
        industry, as_of = cohort_of(who)
        truth[who] = kpi.lagging_indicators(accounts[accounts["industry"] == industry], as_of=as_of)
    assert abs(truth[a]["logo_churn_rate"] - truth[b]["logo_churn_rate"]) > 0.001
    assert abs(truth[a]["grr"] - truth[b]["grr"]) > 0.001

    # learner A: the source notebook (solutions) passes every test cell, quietly
    nb = nbformat.read(EXERCISE, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell('import json\nprint("ANSWERS", json.dumps({"industry": MY_INDUSTRY, '
                                              '"as_of": str(MY_AS_OF.date()), "q3": q3_logo_churn, "q4": q4_grr}))'))
    run_a = run_as(a, nb, tmp_path, monkeypatch)
    cells_a = nbgrader_cells(run_a)
    for gid, cell in cells_a.items():
        assert not errors(cell), (gid, outputs_text(cell))
        if gid.endswith("_test"):
            assert not stderr(cell), (gid, stderr(cell))
            assert "形式はOKです。" in outputs_text(cell)
    got = json.loads(outputs_text(run_a.cells[-1]).split("ANSWERS ", 1)[1])
    assert got["industry"] == cohort_of(a)[0] and got["as_of"] == str(cohort_of(a)[1].date())
    assert got["q3"] == pytest.approx(truth[a]["logo_churn_rate"])
    assert got["q4"] == pytest.approx(truth[a]["grr"])

    # learner B hands in A's numbers: B's churn and GRR tests fail, the rest still pass
    nb = nbformat.read(EXERCISE, as_version=4)
    cells = nbgrader_cells(nb)
    cells["q3_answer"].source = f"q3_logo_churn = {got['q3']!r}"
    cells["q4_answer"].source = f"q4_grr = {got['q4']!r}"
    # then B's own numbers (from kpi.lagging_indicators, not the solution code) pass B's hidden tests
    fix = f"q3_logo_churn = {truth[b]['logo_churn_rate']!r}\nq4_grr = {truth[b]['grr']!r}"
    nb.cells.append(nbformat.v4.new_code_cell(fix))
    for gid in ("q3_test", "q4_test"):
        nb.cells.append(nbformat.v4.new_code_cell(cells[gid].source, metadata={"tags": [f"recheck-{gid}"]}))
    run_b = run_as(b, nb, tmp_path, monkeypatch)
    cells_b = nbgrader_cells(run_b)
    assert errors(cells_b["q3_test"]) == ["AssertionError"] and errors(cells_b["q4_test"]) == ["AssertionError"]
    for gid in ("q1_test", "q2_test", "q5_test", "q6_test"):
        assert not errors(cells_b[gid]), gid
    rechecks = [c for c in run_b.cells if any(t.startswith("recheck-") for t in c.metadata.get("tags", []))]
    assert len(rechecks) == 2 and all(not errors(c) for c in rechecks)


def test_kpi_question_key_is_what_the_checker_says():
    """問5's key ({M2: wrong way}, {M3: lagging + skips a level}) is what kpi.check_cascade finds on the cascade the
    story describes (with the effects the learner has to infer), and the department KPI nobody in this line
    supports (S2) is only a note, not a broken link."""
    K = kpi.KPI
    story = kpi.Cascade({"company": "v", "product": "b", "cs": "m", "personal": "me"}, [
        K("C1", "company", "ARR", "up", kind="lagging"),
        K("P1", "product", "月次解約率", "down", "C1", "lowers", "lagging"),
        K("P2", "product", "追加ライセンス数", "up", "C1", "raises"),
        K("S1", "cs", "60日以内に自動配車を使い始めた割合", "up", "P1", "lowers"),
        K("S2", "cs", "操作の問い合わせ件数", "down", "P1", "raises"),
        K("S3", "cs", "赤の顧客の数", "down", "P2", "lowers"),
        K("M1", "personal", "14日以内に設定を終えた割合", "up", "S1", "raises"),
        K("M2", "personal", "代わりに配車表を作った回数", "up", "S1", "lowers"),
        K("M3", "personal", "担当顧客の月次解約率", "down", "P1", "raises", "lagging"),
        K("M4", "personal", "3営業日以内に改善案を示した割合", "up", "S3", "lowers")])
    report = kpi.check_cascade(story)
    failed = {(c.target, c.kind) for c in report.checks if not c.ok}
    assert failed == {("M2", "link"), ("M3", "link"), ("M3", "leading")}
    assert report.unsupported == {"S2"}
    nb = nbformat.read(EXERCISE, as_version=4)
    cells = nbgrader_cells(nb)
    scope: dict = {}
    exec(cells["q5_data"].source + "\n" + cells["q5_answer"].source, scope)  # noqa: S102
    reasons = scope["Q5_REASONS"]
    kind_of = {reasons[0]: "link", reasons[1]: "leading", reasons[2]: "link"}
    assert {(k, kind_of[r]) for k, rs in scope["q5_problems"].items() for r in rs} == failed
    assert "_V.same(q5_problems" in cells["q5_test"].source
