"""End to end with real nbgrader: 13 honest and hostile learners through release → collect → grade → feedback →
export → report, checked through nbgrader's Gradebook API.

Fixtures: tests/fixtures/course/ (built by build_fixtures.py from the sample assignment; expected.json says what each
learner must get).
"""
from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from pathlib import Path

import pytest

from cs_helpers.course.collect import collect_submissions
from cs_helpers.course.common import hidden_test_snippets, iter_files, solution_snippets
from cs_helpers.course.export import export_scores
from cs_helpers.course.feedback import generate_feedback
from cs_helpers.course.grade import grade_assignment
from cs_helpers.course.release import release_assignment
from cs_helpers.course.report import build_report
from cs_helpers.course.roster import import_roster
from cs_helpers.course.workspace import init_course

pytestmark = pytest.mark.slow
FIX = Path(__file__).parent / "fixtures" / "course"
EXPECTED = json.loads((FIX / "expected.json").read_text(encoding="utf-8"))
A = "00_sample"


def _hashes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in iter_files(folder)}


def _gradebook_scores(course: Path) -> dict[str, dict[str, float | None]]:
    from nbgrader.api import Gradebook
    out = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        assignment = gb.find_assignment(A)
        for sub in assignment.submissions:
            out[sub.student.id] = {g.name: g.auto_score for nb in sub.notebooks for g in nb.grades}
    return out


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("course_e2e")
    empty = tmp / "empty"
    empty.mkdir()
    course = tmp / "course"
    init_course(course, exercises=empty, curriculum=empty)
    result = import_roster(course_dir=course, csv_path=FIX / "roster.csv")
    assert result.ok and len(result.added) == len(EXPECTED)
    release = release_assignment(course_dir=course, assignment=A)
    collected = collect_submissions(course_dir=course, assignment=A, path=FIX / "submissions")
    before = _hashes(course / "submitted")
    report = grade_assignment(course_dir=course, assignment=A, workers=2, cell_timeout=5, timeout=60,
                              progress=False)
    return {"course": course, "release": release, "collected": collected, "report": report, "before": before}


def test_collect_matched_every_learner(graded):
    c = graded["collected"]
    assert sorted(c.placed) == sorted(EXPECTED)
    assert not c.unmatched and not c.missing
    assert ("corrupt", "corrupt_sample.ipynb") in c.invalid
    assert (graded["course"] / "submitted" / "full" / A / "responses" / "renewal_call.json").exists()
    assert (graded["course"] / "submitted" / "full" / A / "timestamp.txt").exists()


def test_every_learner_gets_the_right_score_or_a_recorded_zero(graded):
    outcomes = {o.learner: o for o in graded["report"].outcomes}
    assert sorted(outcomes) == sorted(EXPECTED)
    scores = _gradebook_scores(graded["course"])
    assert sorted(scores) == sorted(EXPECTED)
    log = json.loads((graded["course"] / "grading_log.json").read_text(encoding="utf-8"))[A]
    for learner, want in EXPECTED.items():
        got = outcomes[learner]
        auto_cells = {k: v for k, v in scores[learner].items() if k != "q4_reflection"}
        if "fail" in want:
            assert got.status == "failed", (learner, got)
            assert got.reason, learner
            assert log[learner]["status"] == "failed" and log[learner]["reason"] == got.reason
            assert all(v == 0 for v in scores[learner].values()), (learner, scores[learner])
            assert not (graded["course"] / "autograded" / learner / A).exists()
        else:
            assert got.status == ("graded with notes" if learner == "deleted" else "graded"), (learner, got)
            assert got.score == want["auto"], (learner, got.score, want)
            assert sum(auto_cells.values()) == want["auto"], (learner, scores[learner])
    assert "kernel" in outcomes["crash"].reason
    assert "ノートブックとして読めません" in outcomes["corrupt"].reason
    assert "制限時間" in outcomes["stubborn"].reason
    assert outcomes["deleted"].notes == ["restored deleted cells: sample:q1_test, sample:q2_answer"]
    assert {entry["isolation"] for entry in log.values()} == {graded["report"].isolation}
    assert "--learner crash --force" in outcomes["crash"].regrade
    # answered free text waits for a person; the untouched one is "No response." with 0
    assert scores["full"]["q4_reflection"] is None and scores["blank"]["q4_reflection"] == 0


def test_learner_code_never_touched_the_workspace(graded):
    course = graded["course"]
    assert _hashes(course / "submitted") == graded["before"]
    con = sqlite3.connect(course / "gradebook.db")
    assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    con.close()
    text = (course / "autograded" / "attacker" / A / "sample.ipynb").read_text(encoding="utf-8")
    assert "learner: attacker" in text  # CS_DOJO_LEARNER_ID reached the kernel
    assert str(course) not in text  # it never found the real workspace
    big = (course / "autograded" / "bigout" / A / "sample.ipynb").stat().st_size
    assert big < 1_000_000  # megabytes of output were capped


def test_release_and_feedback_hold_no_hidden_tests_or_solutions(graded):
    course = graded["course"]
    sources = sorted((course / "source" / A).glob("*.ipynb"))
    hidden = hidden_test_snippets(sources)
    solutions = solution_snippets(sources)
    assert hidden and solutions
    released = "".join(p.read_text(encoding="utf-8") for p in iter_files(course / "release" / A))
    for needle in hidden + solutions + ["BEGIN SOLUTION", "BEGIN HIDDEN TESTS"]:
        assert needle not in released
    fb = generate_feedback(course_dir=course, assignment=A)
    assert sorted(fb.failed_pages) == sorted(k for k, v in EXPECTED.items() if "fail" in v)
    pages = list((course / "feedback").rglob("*.html"))
    assert len(pages) == len(EXPECTED)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        for needle in hidden + ["BEGIN HIDDEN TESTS"]:
            assert needle not in html, (page, needle)
            assert needle.replace('"', "&quot;") not in html
    assert "非公開テスト" in (course / "feedback" / "partial" / A / "sample.html").read_text(encoding="utf-8")


def test_export_and_report(graded):
    import pandas as pd
    course = graded["course"]
    paths = export_scores(course_dir=course)
    wide = pd.read_csv(paths.wide_csv, encoding="utf-8-sig").set_index("learner_id")
    assert wide.loc["partial", f"{A} 問2"] == 0 and wide.loc["partial", f"{A} 問1"] == 2
    assert wide.loc["full", f"{A} 合計"] == 7
    long = pd.read_csv(paths.long_csv, encoding="utf-8-sig")
    per_learner = long.drop_duplicates("learner_id").set_index("learner_id")
    assert per_learner.loc["deleted", "status"] == "graded with notes" and per_learner.loc["crash", "status"] == "failed"
    assert set(per_learner["isolation"]) == {graded["report"].isolation}
    assert "restored deleted cells" in per_learner.loc["deleted", "notes"]
    sheets = pd.read_excel(paths.xlsx, sheet_name=None)
    assert set(sheets) == {"受講者×設問", "設問別 (long)", "課題別サマリー"}
    report = build_report(course_dir=course)
    html = report.path.read_text(encoding="utf-8")
    assert html.count("data:image/png;base64,") >= 3
    assert "http://" not in html and "https://" not in html
    assert "採点の状態と隔離レベル" in html and f"{graded['report'].isolation} {len(EXPECTED)}" in html
    flagged = {row["learner_id"]: row["reasons"] for row in report.one_on_one}
    assert "renewal_call" in flagged["partial"] and "crash" in flagged and "full" not in flagged


def test_rerun_is_idempotent_and_wall_clock_limit_records_zero(graded):
    course = graded["course"]
    before = _gradebook_scores(course)
    again = grade_assignment(course_dir=course, assignment=A, workers=2, cell_timeout=5, timeout=60, progress=False)
    assert {o.status for o in again.outcomes} == {"skipped"}
    assert _gradebook_scores(course) == before
    forced = grade_assignment(course_dir=course, assignment=A, learners=["partial"], force=True, workers=1,
                              cell_timeout=5, progress=False)
    assert forced.outcomes[0].score == EXPECTED["partial"]["auto"]
    assert _gradebook_scores(course) == before
    # a wall-clock limit the submission really outlasts (its endless loop runs until the 5 s cell timeout; a plain
    # submission may now be graded within 1 s): recorded zero with the reason, others untouched
    cut = grade_assignment(course_dir=course, assignment=A, learners=["loop"], force=True, timeout=1, cell_timeout=5,
                           progress=False)
    assert cut.outcomes[0].status == "failed" and "wall-clock" in cut.outcomes[0].reason
    after = _gradebook_scores(course)
    assert set(after["loop"].values()) == {0}
    assert {k: v for k, v in after.items() if k != "loop"} == {k: v for k, v in before.items() if k != "loop"}
    grade_assignment(course_dir=course, assignment=A, learners=["loop"], force=True, cell_timeout=5, timeout=60,
                     progress=False)
    assert _gradebook_scores(course) == before
    assert not [p for p in Path(os.environ.get("TMPDIR", "/tmp")).glob("cs-dojo-grade-*") if p.is_dir()
                and str(course) in str(p)]
