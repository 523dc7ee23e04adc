"""Real-browser test: what a learner sees in JupyterLab, driven in headless Debian Chromium with Playwright.

Headless widget tests cannot tell whether widgets are actually drawn in the page; this test starts the real
JupyterLab over a temporary copy of the course and checks, through the page:

1. ``curriculum/00_orientation.ipynb``: Run → Run All Cells finishes, no cell shows an error, the plots are drawn,
   every widget the kernel produced is drawn, and its button really updates its label.
2. ``curriculum/03.1_roleplay.ipynb``: run it, click through the first roleplay widget until an ending; the
   customer's line changes after every click, the end screen appears and ``responses/<scenario_id>.json`` is
   written beside the notebook (and passes the grader's own verification along the clicked path).
3. nbgrader's "Assignment List" and "Formgrader" open from the Nbgrader menu with no console errors.
4. The widget check itself fails when the widget manager is switched off (so the check can fail).

The four parts are subtests of one test: they share one JupyterLab and one Chromium and always land on one
xdist worker (``--dist loadgroup`` cannot keep separate tests together under pytest 9.2: pytest-xdist#1386).
Each part runs and reports on its own even when another fails. Screenshots of every step go to
``test-artifacts/browser/`` (printed at the start and end of the run), with the JupyterLab log and the page
console. Chromium comes from Debian (``scripts/install_browser.sh``); the tests skip
with the install command when it is missing and we are not root, and fail when we are root (CI) and it is missing.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import warnings
from pathlib import Path

import pytest

from tests import prereq

from tests.browser import lab_page as lp
from tests.browser.lab_server import REPO_ROOT, make_lab

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ARTIFACTS = REPO_ROOT / "test-artifacts" / "browser"
FIXTURES = REPO_ROOT / "tests" / "fixtures" / "browser"
ORIENTATION = "curriculum/00_orientation.ipynb"
ROLEPLAY = "curriculum/03.1_roleplay.ipynb"
WIDGET_MANAGER = "@jupyter-widgets/jupyterlab-manager"
# Only for proving locally that the test fails: comma-separated lab extensions to switch off in the server.
DISABLE_ENV = "CS_DOJO_BROWSER_DISABLE_EXTENSIONS"
# Only for working on one part: comma-separated part names (orientation, roleplay, nbgrader, widget-manager-off).
PARTS_ENV = "CS_DOJO_BROWSER_PARTS"
MAX_ROLEPLAY_CLICKS = 40


# -- set-up -----------------------------------------------------------------------------------------------------
class BrowserArtifacts(UserWarning):
    """Where the screenshots went: shown in pytest's warnings summary when the terminal is out of reach."""


def _report(config, line: str) -> None:
    """Write a line to the terminal even while pytest captures output (the artifacts path must be visible).

    An xdist worker has no terminal of its own; its warnings are passed on to the main process and listed in
    the warnings summary, so there the line goes out as a ``BrowserArtifacts`` warning.
    """
    reporter = config.pluginmanager.getplugin("terminalreporter")
    capture = config.pluginmanager.getplugin("capturemanager")
    if os.environ.get("PYTEST_XDIST_WORKER") or reporter is None or capture is None:
        warnings.warn(BrowserArtifacts(line.strip()), stacklevel=2)
        return
    with capture.global_and_fixture_disabled():
        reporter.write_line(line)


def _font_installed(pattern: str) -> bool:
    """Whether fontconfig knows a font matching ``pattern`` (e.g. ``:lang=ja``)."""
    if not shutil.which("fc-list"):
        return False
    out = subprocess.run(["fc-list", pattern, "family"], capture_output=True, text=True, check=False).stdout
    return bool(out.strip())


def _require_browser() -> None:
    missing = []
    if not lp.CHROMIUM.exists():
        missing.append(str(lp.CHROMIUM))
    if not _font_installed(":lang=ja"):
        missing.append("a Japanese font (fonts-noto-cjk)")
    if not _font_installed(":family=Noto Color Emoji"):
        missing.append("an emoji font (fonts-noto-color-emoji)")
    if not missing:
        return
    message = f"browser test needs {', '.join(missing)}: {lp.INSTALL_HINT}"
    if os.geteuid() != 0:
        prereq.missing(message)
    # As root (CI) scripts/install_browser.sh installs them before the suite; missing here is a real failure.
    pytest.fail(message + " — run_tests.sh should have installed them; check its output")


@pytest.fixture(scope="module")
def artifacts(request):
    if ARTIFACTS.is_dir():
        shutil.rmtree(ARTIFACTS)
    ARTIFACTS.mkdir(parents=True)
    started = time.monotonic()
    _report(request.config, f"\n[browser] screenshots and logs: {ARTIFACTS}")
    shots = lp.Shots(ARTIFACTS)
    yield shots
    elapsed = time.monotonic() - started
    (ARTIFACTS / "screenshots.txt").write_text("\n".join(p.name for p in shots.taken) + "\n", encoding="utf-8")
    _report(request.config, f"\n[browser] {len(shots.taken)} screenshots in {ARTIFACTS} "
                            f"(browser tests took {elapsed:.1f} s)")


@pytest.fixture(scope="module")
def playwright_instance():
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="module")
def lab(artifacts, tmp_path_factory):
    disabled = tuple(filter(None, os.environ.get(DISABLE_ENV, "").split(",")))
    server = make_lab(tmp_path_factory.mktemp("browser-lab"), ARTIFACTS / "jupyterlab.log",
                      disabled_extensions=disabled)
    with server:
        yield server
    attempts = server.network_attempts()
    assert not attempts, f"JupyterLab or a kernel tried to reach the network: {attempts}"


@pytest.fixture(scope="module")
def context(playwright_instance, tmp_path_factory):
    ctx = lp.launch_context(playwright_instance, tmp_path_factory.mktemp("chromium-profile"))
    yield ctx
    ctx.close()


@pytest.fixture(scope="module")
def watch(artifacts):
    watch = lp.PageWatch()
    yield watch
    watch.write(ARTIFACTS / "console.log")


def _fail(shots: lp.Shots, page, step: str, problems: list[str]) -> None:
    """Fail with every problem listed and a screenshot of the page as it was."""
    if problems:
        shot = shots.page(page, f"{step}-FAILED")
        pytest.fail(f"{step}: " + "\n  ".join(["", *problems]) + f"\nscreenshot: {shot}", pytrace=False)


def _run_notebook(page, lab, shots, watch, rel_path: str, step: str):
    """Open ``rel_path``, run every cell from the menu, save; return (cells as shown, saved notebook)."""
    watch.step = step
    lp.open_lab(page, lab.url, rel_path)
    lp.wait_for_kernel(page, lab.url, rel_path)
    shots.page(page, f"{step}-opened")
    cells = lp.run_all_cells(page)
    saved = lp.save_notebook(page, lab.course_dir, rel_path)
    lp.wait_for_images(page)
    cells = lp.read_cells(page)  # after saving: widgets and images may finish drawing while the run settles
    first_output = next((c["index"] for c in cells if c["outputs"]), 0)
    shots.view(page, lp.cell_locator(page, first_output), f"{step}-ran-all")
    problems = lp.error_outputs(cells, saved) + [f"not run: {c}" for c in lp.unexecuted_code_cells(cells)]
    _fail(shots, page, f"{step}: Run All Cells", problems)
    return cells, saved


def _wait_text_change(locator, before: str, timeout: float = 15) -> str:
    deadline = time.monotonic() + timeout
    text = before
    while time.monotonic() < deadline:
        text = locator.inner_text()
        if text != before:
            return text
        time.sleep(0.1)
    return text


# -- 1. orientation ---------------------------------------------------------------------------------------------
def check_orientation(page, lab, artifacts, watch):
    assert (REPO_ROOT / ORIENTATION).exists(), f"{ORIENTATION} is missing from the checkout"
    shots = artifacts
    cells, saved = _run_notebook(page, lab, shots, watch, ORIENTATION, "orientation")

    plots = lp.plot_images(cells)
    problems = [] if plots else [f"no plot image (image/png output with a loaded picture) is shown: "
                                 f"{lp.describe_images(cells)}"]
    for index, _size in plots[:3]:
        shots.element(lp.cell_locator(page, index).locator(".jp-OutputArea-output[data-mime-type='image/png']")
                      .first, f"orientation-plot-cell{index}")

    expected, widget_issues = lp.widget_problems(cells, saved)
    problems += widget_issues
    if expected == 0:
        problems.append("the kernel produced no widget output, so nothing proves widgets are drawn")
    _fail(shots, page, "orientation: plots and widgets", problems)

    # Every button that sits beside a label must change that label when clicked (a real kernel round trip).
    boxes = page.locator(".jp-OutputArea-output:has(.widget-button):has(.widget-label)")
    assert boxes.count() > 0, "orientation: no widget with a button and a label to click"
    for i in range(boxes.count()):
        box = boxes.nth(i)
        label = box.locator(".widget-label").first
        before = label.inner_text()
        shots.element(box, f"orientation-widget{i}-before-click")
        box.locator(".widget-button").first.click()
        after = _wait_text_change(label, before)
        shots.element(box, f"orientation-widget{i}-after-click")
        if after == before:
            _fail(shots, page, "orientation: widget click",
                  [f"label stayed {before!r} after clicking the button (the kernel never answered the click)"])

    _fail(shots, page, "orientation: page console", watch.errors({"orientation"}))


# -- 2. roleplay ------------------------------------------------------------------------------------------------
def _scenario_id(root) -> str:
    parts = {"brief", "line", "choice", "restart", "undo", "hints", "transcript", "status", "end"}
    classes = (root.get_attribute("class") or "").split()
    ids = [c[len("cs-rp-"):] for c in classes if c.startswith("cs-rp-") and c[len("cs-rp-"):] not in parts]
    assert ids, f"the roleplay widget has no cs-rp-<scenario_id> class (classes: {classes})"
    return ids[0]


def _strings(value) -> list[str]:
    """All strings in a JSON document, in document order."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


def _is_subsequence(needles: list[str], haystack: list[str]) -> bool:
    it = iter(haystack)
    return all(any(n == h for h in it) for n in needles)


def _spoken_text(line) -> str:
    """The line's words without its muted annotations (e.g. the 「N 場面目」 counter, which changes anyway)."""
    return line.evaluate("el => { const c = el.cloneNode(true);"
                         " c.querySelectorAll('.cs-rp-muted').forEach(m => m.remove()); return c.innerText; }")


def check_roleplay(page, lab, artifacts, watch):
    shots = artifacts
    rel_path = ROLEPLAY
    assert (lab.course_dir / rel_path).exists(), f"{rel_path} is missing from the checkout"
    cells, saved = _run_notebook(page, lab, shots, watch, rel_path, "roleplay")
    _expected, widget_issues = lp.widget_problems(cells, saved)
    _fail(shots, page, "roleplay: widgets", widget_issues)

    root = page.locator(".cs-rp").first
    root.wait_for(state="visible", timeout=15_000)
    scenario_id = _scenario_id(root)
    shots.view(page, root, f"roleplay-{scenario_id}-start")

    clicked: list[str] = []
    end = root.locator(".cs-rp-end")
    line = root.locator(".cs-rp-line").first
    for _ in range(MAX_ROLEPLAY_CLICKS):
        if end.first.is_visible():
            break
        choice = root.locator(".cs-rp-choice:visible").first
        assert choice.count(), f"roleplay {scenario_id}: no choice button and no end screen after {clicked}"
        before = _spoken_text(line)
        # The choice id is only in the button's CSS class cs-rp-choice-<id> (buttons carry no tooltip).
        ids = re.findall(r"\bcs-rp-choice-([a-z0-9_]+)", choice.get_attribute("class") or "")
        choice_id = ids[0] if ids else choice.inner_text()
        choice.click()
        clicked.append(choice_id)
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            if end.first.is_visible() or (line.is_visible() and _spoken_text(line) != before):
                break
            time.sleep(0.1)
        shots.view(page, line, f"roleplay-{scenario_id}-after-{len(clicked)}-{choice_id}")
        if not end.first.is_visible():
            after = _spoken_text(line)
            if after == before:
                _fail(shots, page, "roleplay: click",
                      [f"after choosing {choice_id!r} the customer's line is still {before[:80]!r}"])
    else:
        _fail(shots, page, "roleplay", [f"no ending after {MAX_ROLEPLAY_CLICKS} clicks: {clicked}"])
    assert clicked, "roleplay: the end screen was shown before any choice"
    shots.view(page, line, f"roleplay-{scenario_id}-ending")

    response = lab.course_dir / Path(rel_path).parent / "responses" / f"{scenario_id}.json"
    deadline = time.monotonic() + 10
    while not response.exists() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert response.exists(), f"roleplay: {response.relative_to(lab.course_dir)} was not written"
    data = json.loads(response.read_text(encoding="utf-8"))
    strings = _strings(data)
    assert scenario_id in strings, f"roleplay: {response.name} does not name scenario {scenario_id}: {data}"
    assert _is_subsequence(clicked, strings), \
        f"roleplay: {response.name} does not record the clicked choices {clicked} in order: {data}"
    # The grader's own check: the record is intact and replays to a finished conversation along our clicks.
    from cs_helpers.roleplay.responses import read_record, verify_record
    from cs_helpers.roleplay.schema import load_scenario

    scenario = load_scenario(lab.course_dir / "datasets" / "scenarios" / f"{scenario_id}.yaml")
    verified = verify_record(read_record(response), scenario, require_finished=True)
    assert verified.session.path == clicked, \
        f"roleplay: the saved path {verified.session.path} is not what was clicked {clicked}"
    _fail(shots, page, "roleplay: page console", watch.errors({"roleplay"}))


# -- 3. nbgrader ------------------------------------------------------------------------------------------------
def check_nbgrader(page, lab, artifacts, watch):
    shots = artifacts
    watch.step = "nbgrader"
    lp.open_lab(page, lab.url)
    # JupyterLab speaks Japanese by default and does not ask about fetching Jupyter news (the course is offline).
    labels = page.locator("#jp-MainMenu .lm-MenuBar-itemLabel").all_inner_texts()
    if lp.RUN_MENU not in labels:
        _fail(shots, page, "JupyterLab is not in Japanese", [f"menu bar: {labels}"])
    page.wait_for_timeout(3000)  # the news question is a toast shown shortly after start-up
    if page.get_by_text(lp.NEWS_PROMPT).count():
        _fail(shots, page, "JupyterLab asks about official Jupyter news", [lp.NEWS_PROMPT])

    lp.menu(page, "Nbgrader", "Assignment List")
    panel = page.locator(".lm-DockPanel-widget:not(.lm-mod-hidden)", has_text="Released assignments")
    panel.wait_for(state="visible", timeout=30_000)
    # The panel fills its lists from the server extension; wait until they report something.
    page.get_by_text(re.compile("There are no assignments to fetch|Fetch")).first.wait_for(timeout=30_000)
    shots.page(page, "nbgrader-assignment-list")

    lp.menu(page, "Nbgrader", "Formgrader")
    frame = page.frame_locator("iframe[src*='formgrader']")
    frame.get_by_text("Manage Assignments").first.wait_for(timeout=30_000)
    frame.locator("table").first.wait_for(timeout=30_000)
    shots.page(page, "nbgrader-formgrader")
    _fail(shots, page, "nbgrader: page console", watch.errors({"nbgrader"}))


# -- 4. the widget check can fail -------------------------------------------------------------------------------
def check_widget_manager_off(page, lab, artifacts, watch):
    """Same checks on a small notebook with ipywidgets' JupyterLab manager switched off: they must object."""
    shots = artifacts
    rel_path = "curriculum/browser_lab_smoke.ipynb"
    shutil.copy2(FIXTURES / "lab_smoke.ipynb", lab.course_dir / rel_path)
    previous = lab.disabled_extensions
    lab.set_disabled_extensions(previous + (WIDGET_MANAGER,))
    try:
        cells, saved = _run_notebook(page, lab, shots, watch, rel_path, "no-widget-manager")
        expected, problems = lp.widget_problems(cells, saved)
        widget_cell = next((c["index"] for c in cells if "Button" in " ".join(o["text"] for o in c["outputs"])),
                           len(cells) - 1)
        shots.element(lp.cell_locator(page, widget_cell), "no-widget-manager-widget-cell")
    finally:
        lab.set_disabled_extensions(previous)
    assert expected == 1, f"the smoke notebook should produce one widget output, got {expected}"
    assert problems and "0 drawn" in problems[0], f"widget check did not notice the missing manager: {problems}"
    # The plot and text still render: only the widget check objects.
    assert lp.plot_images(cells), "the smoke notebook's plot should still be drawn without the widget manager"
    # The page console check notices it too (JupyterLab logs the widget comms it cannot open).
    errors = watch.errors({"no-widget-manager"})
    assert any("comm" in e for e in errors), f"no console error without the widget manager: {errors}"


# -- the test ---------------------------------------------------------------------------------------------------
PARTS = {
    "orientation": check_orientation,
    "roleplay": check_roleplay,
    "nbgrader": check_nbgrader,
    "widget-manager-off": check_widget_manager_off,
}


def test_learner_view_in_jupyterlab(subtests, context, lab, artifacts, watch):
    """Each part in a fresh browser tab; a failing part is reported and the next one still runs."""
    wanted = [p for p in os.environ.get(PARTS_ENV, "").split(",") if p] or list(PARTS)
    unknown = set(wanted) - set(PARTS)
    assert not unknown, f"{PARTS_ENV} names unknown parts {sorted(unknown)}; known: {list(PARTS)}"
    for name in wanted:
        with subtests.test(msg=name):
            page = context.new_page()
            watch.attach(page)
            try:
                PARTS[name](page, lab, artifacts, watch)
            finally:
                page.close()
