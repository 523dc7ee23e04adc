"""Real-browser test of the answer-groups grading view: JupyterLab over a graded course, headless Chromium.

Opens the workspace's ``grading_view.ipynb``, runs it from the menu, checks the panel is drawn (groups, answers,
progress), grades the first group by typing into the panel's command box and pressing Enter (the keyboard path),
and checks the page's progress and nbgrader's gradebook. Screenshots go to ``test-artifacts/answers-browser/``
(the one in docs/trainer.md comes from this test).
"""
from __future__ import annotations

import os
import re
import shutil
import time

import pytest

from tests import prereq
from tests.browser import lab_page as lp
from tests.browser.lab_server import REPO_ROOT, LabServer
from tests.test_answers_roundtrip import A, COHORT, EXPECTED_GROUPS, Q, build_graded_course

pytestmark = [pytest.mark.browser, pytest.mark.slow]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "answers-browser"
VIEW = "grading_view.ipynb"


def _require_browser() -> None:
    if lp.CHROMIUM.exists() and shutil.which("fc-list"):
        return
    message = f"browser test needs {lp.CHROMIUM} and fontconfig: {lp.INSTALL_HINT}"
    if os.geteuid() != 0:
        prereq.missing(message)
    pytest.fail(message)


def _wait_for(locator, pattern: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    text = ""
    while time.monotonic() < deadline:
        if locator.count():
            text = locator.first.inner_text()
            if re.search(pattern, text):
                return text
        time.sleep(0.2)
    raise AssertionError(f"waited {timeout:.0f} s for {pattern!r}; last text: {text!r}")


def test_grading_view_in_jupyterlab(tmp_path):
    _require_browser()
    from nbgrader.api import Gradebook
    from playwright.sync_api import sync_playwright

    course = build_graded_course(tmp_path, COHORT)
    if ARTIFACTS.is_dir():
        shutil.rmtree(ARTIFACTS)
    shots = lp.Shots(ARTIFACTS)
    server = LabServer(course_dir=course, state_dir=tmp_path / "lab_state", log_path=ARTIFACTS / "jupyterlab.log",
                       startup_timeout=120)
    with server, sync_playwright() as pw:
        ctx = lp.launch_context(pw, tmp_path / "chromium-profile")
        try:
            page = ctx.new_page()
            watch = lp.PageWatch()
            watch.attach(page)
            lp.open_lab(page, server.url, VIEW)
            lp.wait_for_kernel(page, server.url, VIEW, timeout=120)
            cells = lp.run_all_cells(page, timeout=300)
            problems = lp.error_outputs(cells)
            assert not problems, problems
            panel = page.locator(".jp-OutputArea-output:has(.widget-select)").first
            _wait_for(panel, r"0 / 8 件")
            text = panel.inner_text()
            for learner in EXPECTED_GROUPS[0]:
                assert learner in text
            shots.element(panel, "grading-view-opened")
            box = panel.locator(".widget-text input").first
            box.fill("0 0 値引きの前に、利用が落ちた理由をお客様に確かめましょう。")
            box.press("Enter")
            _wait_for(panel, r"3 / 8 件")
            assert box.input_value() == ""
            shots.element(panel, "grading-view-after-grading-a-group")
            assert not watch.errors(), watch.errors()
        finally:
            ctx.close()
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        scores = {lid: gb.find_grade(Q, "sample", A, lid).manual_score for lid in COHORT}
    assert scores == {lid: (0.0 if lid in EXPECTED_GROUPS[0] else None) for lid in COHORT}
    assert server.network_attempts() == []
