"""Answer groups end to end with real nbgrader: grade a cohort → group → grade groups through the panel's Python API
→ the formgrader's view of the gradebook, ``cs-dojo export`` and ``cs-dojo feedback`` show the manual scores and
comments. Also: the gradebook writer beside a busy SQLite writer, answers changed after grouping, the workspace's
grading view notebook, and (marked ``browser``) the same view in JupyterLab in headless Chromium.

The cohort answers 00_sample 問4 with answers from tests/fixtures/answers/red_customer_week.yaml.
"""
from __future__ import annotations

import copy
import html
import json
import os
import shutil
import sqlite3
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
import yaml

from tests import prereq
from tests.browser import lab_page as lp
from tests.browser.lab_server import REPO_ROOT, LabServer

from cs_helpers.course.collect import collect_submissions
from cs_helpers.course.grade import grade_assignment
from cs_helpers.course.release import release_assignment
from cs_helpers.course.roster import import_roster
from cs_helpers.course.workspace import init_course

pytestmark = pytest.mark.slow
FIX = Path(__file__).parent / "fixtures" / "answers"
LABELLED = yaml.safe_load((FIX / "red_customer_week.yaml").read_text(encoding="utf-8"))
A, Q = "00_sample", "q4_reflection"
CORRECT = {
    "q1_answer": "def renewal_rate(renewed, total):\n    return renewed / total if total else 0.0\n",
    "q2_answer": ("def health_band(score):\n    if score >= 70:\n        return \"緑\"\n"
                  "    return \"黄\" if score >= 40 else \"赤\"\n"),
    "q3_answer": "def count_red(scores):\n    return sum(1 for s in scores if s < 40)\n",
}
# learners of the labelled set in the cohort: three discount answers (one an exact duplicate after width folding),
# two escalations, two calls to the contact, one untouched cell
COHORT = ["l14", "l15", "l45", "l20", "l21", "l01", "l07", "l46"]
TEXT = {a["learner"]: a["text"] for a in LABELLED["answers"]}


def _submission(released: dict, answer: str) -> dict:
    nb = copy.deepcopy(released)
    for cell in nb["cells"]:
        gid = (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id")
        if gid in CORRECT:
            cell["source"] = CORRECT[gid]
        if gid == Q and answer != "YOUR ANSWER HERE":
            cell["source"] = answer
    return nb


def build_graded_course(tmp: Path, learners: list[str]) -> Path:
    empty = tmp / "empty"
    empty.mkdir()
    course = tmp / "course"
    init_course(course, exercises=empty, curriculum=empty)
    roster = tmp / "roster.csv"
    roster.write_text("learner_id,name,email,cohort\n" + "".join(
        f"{lid},受講者 {lid},{lid}@example.com,2026-04\n" for lid in learners), encoding="utf-8")
    assert import_roster(course_dir=course, csv_path=roster).ok
    release_assignment(course_dir=course, assignment=A, make_zip=False)
    released = json.loads((course / "release" / A / "sample.ipynb").read_text(encoding="utf-8"))
    returned = tmp / "returned"
    returned.mkdir()
    for lid in learners:
        (returned / f"{lid}_sample.ipynb").write_text(
            json.dumps(_submission(released, TEXT[lid]), ensure_ascii=False), encoding="utf-8")
    collect_submissions(course_dir=course, assignment=A, path=returned)
    report = grade_assignment(course_dir=course, assignment=A, workers=2, cell_timeout=20, timeout=120,
                              progress=False)
    assert {o.status for o in report.outcomes} == {"graded"}, [(o.learner, o.reason) for o in report.outcomes]
    return course


EXPECTED_GROUPS = [["l14", "l15", "l45"], ["l01", "l07"], ["l20", "l21"], ["l46"]]


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    return build_graded_course(tmp_path_factory.mktemp("answers_course"), COHORT)


@pytest.fixture
def course(graded, tmp_path):
    """A private copy of the graded course (tests below change its gradebook)."""
    dest = tmp_path / "course"
    shutil.copytree(graded, dest)
    return dest


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "cs_helpers.cli", *args], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def _gb(course):
    from nbgrader.api import Gradebook
    return Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo")


def _manual(course, learner):
    with _gb(course) as gb:
        g = gb.find_grade(Q, "sample", A, learner)
        c = gb.find_comment(Q, "sample", A, learner)
        return g.manual_score, bool(g.needs_manual_grade), c.manual_comment


def test_cli_groups_the_cohort_and_writes_json(course):
    out = course / "groups.json"
    proc = _cli("answers", "group", A, "--question", Q, "--json", str(out), "-C", str(course))
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["assignment"] == A and data["question"] == Q and data["not_gradable"] == []
    assert [g["learners"] for g in data["groups"]] == EXPECTED_GROUPS
    assert [g["id"] for g in data["groups"]] == ["g01", "g02", "g03", "blank"]
    assert [g["size"] for g in data["groups"]] == [3, 2, 2, 1]
    assert data["groups"][0]["representative"] == TEXT["l15"]
    assert "回答 8 件 → 4 グループ (未回答 1 件、採点済み 0/8 件)" in proc.stdout
    # a question that is not a manual cell: one line, no traceback, exit 1
    bad = _cli("answers", "group", A, "--question", "q1_test", "-C", str(course))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    assert "手動採点の設問: q4_reflection" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    listed = _cli("answers", "list", A, "-C", str(course))
    assert listed.returncode == 0 and listed.stdout.startswith("q4_reflection\t4点\tsample.ipynb\tグループ保存済み")


def test_round_trip_panel_to_formgrader_export_and_feedback(course):
    """grade a cohort → group → grade groups in the panel → formgrader API, export and feedback agree."""
    from nbgrader.apps.api import NbGraderAPI
    from nbgrader.coursedir import CourseDirectory

    from cs_helpers.course.answers.panel import AnswerPanel
    from cs_helpers.course.export import score_table

    panel = AnswerPanel(course, A, Q)
    assert [g["learners"] for g in panel.groups] == EXPECTED_GROUPS
    assert panel.progress() == (0, 8) and panel.current["id"] == "g01"
    w = panel._w or (panel.widget and panel._w)
    assert w["progress_text"].value == "0 / 8 件"
    # keyboard: levels in rubric order, then the comment, typed into the command box of the real widget
    w["cmd"].value = "0 0 値引きの前に、利用が落ちた理由をお客様に確かめましょう。"
    assert w["cmd"].value == "" and panel.progress() == (3, 8)
    assert panel.current["id"] == "g02"  # moved on to the next ungraded group
    # the trainer judges l07's one-line answer apart from l01's concrete plan: split it off, grade both
    single = panel.split(["l07"])
    assert single["learners"] == ["l07"] and single["id"] == "g04"
    out = panel.grade("g02", {"who_what_when": 2, "verify": 1}, "相手と期限が具体的です。確かめ方も書けるとさらに良くなります。")
    assert out.score == 3 and out.result.written == ["l01"] and not out.result.conflicts
    panel.select("g04")
    panel.set_level("who_what_when", 1)
    panel.set_level("verify", 0)
    panel.set_comment("誰に連絡するかは書けています。いつまでに、何を確かめるかを足しましょう。")
    assert panel.grade_current().result.written == ["l07"]
    # the escalations: graded by clicking the level buttons and the grade button
    panel.select("g03")
    w["levels"]["who_what_when"].value = 1
    w["levels"]["verify"].value = 1
    w["comment"].value = "社内で共有するのは大切です。お客様にいつ・誰が連絡するかも決めましょう。"
    w["grade"].click()
    assert panel.progress() == (7, 8)
    panel.command("g blank")
    assert panel.current["id"] == "blank"
    assert panel.command("0 0") == "blank: 0 点を 1 人に書き込みました。"
    assert panel.progress() == (8, 8) and w["progress"].value == 8 and w["progress_text"].value == "8 / 8 件"

    want = {"l14": 0.0, "l15": 0.0, "l45": 0.0, "l01": 3.0, "l07": 1.0, "l20": 2.0, "l21": 2.0, "l46": 0.0}
    # nbgrader's Gradebook, as the formgrader's GradeHandler / CommentHandler return them
    with _gb(course) as gb:
        for lid, score in want.items():
            grade = gb.find_grade(Q, "sample", A, lid)
            as_formgrader = gb.find_grade_by_id(grade.id).to_dict()
            assert as_formgrader["manual_score"] == score and as_formgrader["needs_manual_grade"] is False
            comment = gb.find_comment_by_id(gb.find_comment(Q, "sample", A, lid).id).to_dict()
            assert comment["manual_comment"]
    # the formgrader's notebook list (SubmittedNotebookCollectionHandler) no longer asks for manual grading
    api = NbGraderAPI(coursedir=CourseDirectory(root=str(course)))
    subs = {s["student"]: s for s in api.get_notebook_submissions(A, "sample")}
    assert sorted(subs) == sorted(want)
    assert all(s["needs_manual_grade"] is False for s in subs.values())
    assert subs["l01"]["score"] == 7 + 3 and subs["l14"]["score"] == 7 and subs["l20"]["score"] == 7 + 2
    # cs-dojo export: the manual column has the scores
    table = score_table(course_dir=course, assignments=[A])
    q4 = table[table.grade_id == Q].set_index("learner_id")
    assert q4["score"].to_dict() == want and not q4["needs_manual_grade"].any()
    proc = _cli("export", "-C", str(course))
    assert proc.returncode == 0, proc.stderr
    import pandas as pd
    wide = pd.read_csv(course / "exports" / "scores_wide.csv", encoding="utf-8-sig").set_index("learner_id")
    assert wide.loc["l01", f"{A} 問4"] == 3 and wide.loc["l01", f"{A} 合計"] == 10
    # cs-dojo feedback: each learner sees the group comment and the criteria met
    proc = _cli("feedback", A, "-C", str(course))
    assert proc.returncode == 0, proc.stderr
    page = {lid: html.unescape((course / "feedback" / lid / A / "sample.html").read_text(encoding="utf-8"))
            for lid in want}
    assert "値引きの前に、利用が落ちた理由をお客様に確かめましょう。" in page["l45"]
    assert "これからの観点: 誰に・何を・いつまでに行うかが書かれている／行動の結果を確かめる方法が書かれている" in page["l14"]
    assert "満たした観点: 誰に・何を・いつまでに行うかが書かれている" in page["l01"]
    assert "一部満たした観点: 行動の結果を確かめる方法が書かれている" in page["l01"]
    assert "一部満たした観点: 誰に・何を・いつまでに行うかが書かれている" in page["l07"]
    assert "社内で共有するのは大切です" in page["l21"] and "社内で共有するのは大切です" not in page["l01"]


def test_merge_move_split_keep_every_learner_in_one_group(course):
    from cs_helpers.course.answers.panel import AnswerPanel
    panel = AnswerPanel(course, A, Q)
    panel.select("g02")
    merged = panel.merge("g03")
    assert merged["id"] == "g02" and merged["learners"] == ["l01", "l07", "l20", "l21"]
    assert [g["id"] for g in panel.groups] == ["g02", "g01", "blank"]
    panel.grade("g02", {"who_what_when": 1, "verify": 1})
    assert panel.progress() == (4, 8)
    # moving an answer into a graded group gives it that group's grade at once
    panel.move("l14", "g02")
    assert _manual(course, "l14")[0] == 2.0 and panel.progress() == (5, 8)
    # moving it out again: not graded any more until its new group is graded
    panel.command("mv l14 new")
    assert panel.progress() == (4, 8)
    assert sorted(lid for g in panel.groups for lid in g["learners"]) == sorted(COHORT)
    assert panel.command("s nobody").startswith("エラー: グループ")
    assert panel.command("m g99").startswith("エラー: グループ「g99」はありません")
    # everything survives a new kernel: reopen and find the same groups
    again = AnswerPanel(course, A, Q)
    assert [g["learners"] for g in again.groups] == [g["learners"] for g in panel.groups]
    # two panels open on one question: the second to save after the other changed the groups is told to reopen
    again.merge("g01")
    message = panel.command("m g01")
    assert message.startswith("エラー:") and "別の画面" in message
    assert [g["learners"] for g in AnswerPanel(course, A, Q).groups] == [g["learners"] for g in again.groups]


def test_a_changed_answer_and_a_formgrader_grade_are_not_overwritten(course):
    from cs_helpers.course.answers.store import GradingState
    state = GradingState.open(course_dir=course, assignment=A, question=Q)
    # l20 was re-graded after a new submission: its autograded answer is not the one that was grouped
    path = course / "autograded" / "l20" / A / "sample.ipynb"
    nb = json.loads(path.read_text(encoding="utf-8"))
    for cell in nb["cells"]:
        if (cell.get("metadata", {}).get("nbgrader") or {}).get("grade_id") == Q:
            cell["source"] = "決裁者と面談して、導入の目的を確かめ直します。"
    path.write_text(json.dumps(nb, ensure_ascii=False), encoding="utf-8")
    # l21 was graded by hand in the formgrader meanwhile
    with _gb(course) as gb:
        g = gb.find_grade(Q, "sample", A, "l21")
        g.manual_score = 2.5
        g.needs_manual_grade = False
        gb.db.commit()
    out = state.grade("g03", levels={"who_what_when": 1, "verify": 0})
    assert out.result.written == []
    assert sorted(out.result.conflicts) == ["l20", "l21"]
    assert "回答が変わりました" in out.result.conflicts["l20"] and "2.5 点" in out.result.conflicts["l21"]
    assert _manual(course, "l20") == (None, True, None)
    assert _manual(course, "l21")[0] == 2.5
    assert state.progress() == (0, 8)
    # the trainer decides: overwrite the formgrader grade; regrouping takes l20's new answer in
    assert state.grade("g03", levels={"who_what_when": 1, "verify": 0}, overwrite=True).result.written == ["l21"]
    assert _manual(course, "l21")[0] == 1.0
    state = GradingState.open(course_dir=course, assignment=A, question=Q, regroup=True)
    assert "l20" not in state.group("g03")["learners"] and state.group("g03")["learners"] == ["l21"]
    assert state.progress() == (1, 8)


def test_busy_gradebook_waits_and_nothing_is_lost(course):
    from cs_helpers.course.answers.store import GradingState
    from cs_helpers.course.common import course_lock
    state = GradingState.open(course_dir=course, assignment=A, question=Q)
    release = threading.Event()

    def hold_sqlite(seconds):  # another writer (the formgrader) holds SQLite's write lock
        con = sqlite3.connect(course / "gradebook.db", timeout=10)
        con.execute("BEGIN EXCLUSIVE")
        release.wait(seconds)
        con.rollback()
        con.close()

    # 1) the lock outlives our deadline: nothing is written, the grades stay pending in the store
    holder = threading.Thread(target=hold_sqlite, args=(30,))
    holder.start()
    time.sleep(0.3)
    try:
        out = state.grade("g01", levels={"who_what_when": 0, "verify": 0}, timeout=0.5)
    finally:
        release.set()
        holder.join()
    assert out.result.written == [] and out.result.pending == ["l14", "l15", "l45"]
    saved = json.loads(state.path.read_text(encoding="utf-8"))
    assert sorted(saved["pending"]) == ["l14", "l15", "l45"] and saved["grades"]["g01"]["score"] == 0
    assert _manual(course, "l14") == (None, True, None)
    # reopened later (a new kernel), the pending grades are sent
    again = GradingState.open(course_dir=course, assignment=A, question=Q)
    assert again.flush().written == ["l14", "l15", "l45"]
    assert _manual(course, "l14")[0] == 0.0 and again.progress() == (3, 8)
    # 2) a short lock (SQLite and the workspace lock of another cs-dojo command): we wait and write
    release.clear()
    holder = threading.Thread(target=hold_sqlite, args=(1.0,))
    holder.start()
    time.sleep(0.3)
    out = again.grade("g02", levels={"who_what_when": 2, "verify": 2}, timeout=20)
    holder.join()
    assert out.result.written == ["l01", "l07"] and not out.result.pending
    lock = course_lock(course, "test")
    lock.__enter__()
    timer = threading.Timer(1.0, lambda: lock.__exit__(None, None, None))
    timer.start()
    out = again.grade("g03", levels={"who_what_when": 1, "verify": 1}, timeout=20)
    timer.join()
    assert out.result.written == ["l20", "l21"] and out.result.attempts >= 2
    assert [_manual(course, x)[0] for x in ("l01", "l20")] == [4.0, 2.0]


def test_grading_view_notebook_runs_in_the_workspace(course):
    """The notebook `cs-dojo init` puts in the workspace opens the panel on the sample question, offline."""
    from tests.notebook_runner import execute
    view = course / "grading_view.ipynb"
    assert view.is_file()
    run = execute(view, course, timeout=300)
    assert run.errors == [] and run.network == []
    widget_cell, progress_cell = run.notebook.cells[1], run.notebook.cells[3]
    data = widget_cell.outputs[0]["data"]
    assert "application/vnd.jupyter.widget-view+json" in data
    assert progress_cell.outputs[0]["text"] == "採点済み: 0 / 8 件\n"
    saved = json.loads((course / "answers" / A / f"{Q}.json").read_text(encoding="utf-8"))
    assert [g["learners"] for g in sorted(saved["groups"], key=lambda g: (g["id"] == "blank", -len(g["learners"])))] \
        == EXPECTED_GROUPS


# -- the same in a real browser ----------------------------------------------------------------------------------
BROWSER_ARTIFACTS = REPO_ROOT / "test-artifacts" / "answers-browser"
BROWSER_VIEW = "grading_view.ipynb"


def _require_browser() -> None:
    if lp.CHROMIUM.exists() and shutil.which("fc-list"):
        return
    message = f"browser test needs {lp.CHROMIUM} and fontconfig: {lp.INSTALL_HINT}"
    if os.geteuid() != 0:
        prereq.missing(message)
    pytest.fail(message)


def _wait_for_text(locator, pattern: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        if locator.count():
            text = locator.first.inner_text()
            if re.search(pattern, text):
                return text
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for {pattern!r}; last text: {text!r}")


def _wait_until(check, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"waited {timeout:.0f} s for {what}")
        time.sleep(0.2)


@pytest.mark.browser
def test_grading_view_in_jupyterlab(course, tmp_path):
    """Real browser: JupyterLab over the graded course runs grading_view.ipynb; a group is graded from the keyboard
    (typed into the panel's command box, Enter) and the page and the gradebook agree. Screenshots go to
    test-artifacts/answers-browser/ (docs/images/answers_grading_view.png is one of them)."""
    _require_browser()
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    if BROWSER_ARTIFACTS.is_dir():
        shutil.rmtree(BROWSER_ARTIFACTS)
    shots = lp.Shots(BROWSER_ARTIFACTS)
    server = LabServer(course_dir=course, state_dir=tmp_path / "lab_state", log_path=BROWSER_ARTIFACTS / "jupyterlab.log",
                       startup_timeout=120)
    with server, sync_playwright() as pw:
        ctx = lp.launch_context(pw, tmp_path / "chromium-profile")
        try:
            page = ctx.new_page()
            watch = lp.PageWatch()
            watch.attach(page)
            lp.open_lab(page, server.url, BROWSER_VIEW)
            lp.wait_for_kernel(page, server.url, BROWSER_VIEW, timeout=120)
            cells = lp.run_all_cells(page, timeout=300)
            problems = lp.error_outputs(cells)
            assert not problems, problems
            panel = page.locator(".jp-OutputArea-output:has(.widget-select)").first
            _wait_for_text(panel, r"0 / 8 件")
            text = panel.inner_text()
            for learner in EXPECTED_GROUPS[0]:
                assert learner in text
            shots.element(panel, "grading-view-opened")
            box = panel.locator(".widget-text input").first
            box.fill("0 0 値引きの前に、利用が落ちた理由をお客様に確かめましょう。")
            box.press("Enter")
            _wait_for_text(panel, r"3 / 8 件")
            _wait_until(lambda: box.input_value() == "", "the command box to be cleared")
            shots.element(panel, "grading-view-after-grading-a-group")
            assert not watch.errors(), watch.errors()
        finally:
            ctx.close()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        scores = {lid: gb.find_grade(Q, "sample", A, lid).manual_score for lid in COHORT}
    assert scores == {lid: (0.0 if lid in EXPECTED_GROUPS[0] else None) for lid in COHORT}
    assert server.network_attempts() == []
