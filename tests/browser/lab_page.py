"""Playwright helpers that drive JupyterLab the way a learner does (menus, buttons) and read what they see.

Everything here works on a ``playwright.sync_api.Page`` showing a ``LabServer`` (see lab_server.py).
Checks return plain data; the tests decide what is a failure, so the messages name the step and the cell.
"""
from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote, urlsplit

CHROMIUM = Path("/usr/bin/chromium")
# Headless Debian Chromium kept off the network: no sandbox (root in CI), no GPU, no background traffic.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
STDERR_MIME = "application/vnd.jupyter.stderr"
# What ipywidgets' JupyterLab manager shows instead of a widget it could not draw.
WIDGET_FAILURE_TEXT = r"Error displaying widget|Loading widget|Click to show javascript error"
INSTALL_HINT = ("sudo apt-get install chromium fonts-noto-cjk fonts-noto-color-emoji"
                "   (or run: bash scripts/install_browser.sh as root)")


def launch_context(playwright, user_data_dir: Path):
    """A fresh persistent context (new empty profile in ``user_data_dir``) in headless Debian Chromium."""
    return playwright.chromium.launch_persistent_context(
        str(user_data_dir),
        executable_path=str(CHROMIUM),
        headless=True,
        args=CHROMIUM_ARGS,
        viewport={"width": 1400, "height": 900},
        locale="ja-JP",
        timezone_id="Asia/Tokyo",
    )


# -- console and network watch ----------------------------------------------------------------------------------
# Console errors that are not failures, each with the reason it is harmless. Keep this list short and specific.
KNOWN_HARMLESS_CONSOLE = [
    # (none so far: a clean JupyterLab 4.6 + ipywidgets 8 + nbgrader 0.9 page logs no errors here)
]


@dataclass
class PageWatch:
    """Collects console messages, uncaught page errors and requests to non-loopback hosts, tagged by step."""

    step: str = "start"
    console: list[dict] = field(default_factory=list)
    page_errors: list[dict] = field(default_factory=list)
    offline_violations: list[dict] = field(default_factory=list)

    def attach(self, page) -> None:
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: self.page_errors.append({"step": self.step, "text": str(exc)}))
        page.on("request", self._on_request)

    def _on_console(self, msg) -> None:
        loc = msg.location or {}
        self.console.append({"step": self.step, "type": msg.type, "text": msg.text,
                             "url": loc.get("url", "")})

    def _on_request(self, request) -> None:
        host = urlsplit(request.url).hostname or ""
        if request.url.startswith(("data:", "blob:", "about:")):
            return
        if host not in {"127.0.0.1", "localhost", "::1"}:
            self.offline_violations.append({"step": self.step, "url": request.url})

    def errors(self, steps: set[str] | None = None) -> list[str]:
        """Console errors, page errors and off-machine requests (optionally only for ``steps``), minus the
        documented harmless console errors."""
        found = []
        for entry in self.console:
            if entry["type"] != "error" or (steps and entry["step"] not in steps):
                continue
            if any(re.search(pattern, entry["text"]) for pattern, _reason in KNOWN_HARMLESS_CONSOLE):
                continue
            found.append(f"[{entry['step']}] console.error: {entry['text']} ({entry['url']})")
        for entry in self.page_errors:
            if not steps or entry["step"] in steps:
                found.append(f"[{entry['step']}] uncaught page error: {entry['text']}")
        for entry in self.offline_violations:  # the course must work offline: the page may only ask 127.0.0.1
            if not steps or entry["step"] in steps:
                found.append(f"[{entry['step']}] request to a non-loopback address: {entry['url']}")
        return found

    def write(self, path: Path) -> None:
        lines = [f"{e['step']}\t{e['type']}\t{e['text']}\t{e['url']}" for e in self.console]
        lines += [f"{e['step']}\tpageerror\t{e['text']}" for e in self.page_errors]
        lines += [f"{e['step']}\toffline-violation\t{e['url']}" for e in self.offline_violations]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")


# -- screenshots ------------------------------------------------------------------------------------------------
@dataclass
class Shots:
    """Numbered screenshots in one folder, so a person can page through the run in order."""

    folder: Path
    taken: list[Path] = field(default_factory=list)

    def _path(self, name: str) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        safe = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-")
        return self.folder / f"{len(self.taken) + 1:02d}-{safe}.png"

    def page(self, page, name: str) -> Path:
        path = self._path(name)
        page.screenshot(path=str(path))
        self.taken.append(path)
        return path

    def view(self, page, locator, name: str) -> Path:
        """The viewport scrolled so ``locator`` is at the top: what a learner sees around a tall widget."""
        locator.evaluate("el => el.scrollIntoView({block: 'start'})")
        page.wait_for_timeout(150)  # let the scroll and any lazy drawing settle
        return self.page(page, name)

    def element(self, locator, name: str) -> Path:
        path = self._path(name)
        locator.scroll_into_view_if_needed(timeout=10_000)
        locator.screenshot(path=str(path), timeout=10_000)
        self.taken.append(path)
        return path


# -- JupyterLab actions -----------------------------------------------------------------------------------------
def open_lab(page, base_url: str, rel_path: str = "") -> None:
    """Load JupyterLab (optionally straight onto a file) with a reset workspace and wait for the menu bar."""
    url = f"{base_url}/lab/tree/{quote(rel_path)}?reset" if rel_path else f"{base_url}/lab?reset"
    page.goto(url, wait_until="domcontentloaded", timeout=60_000)
    page.wait_for_selector("#jp-MainMenu .lm-MenuBar-item", timeout=60_000)


# The course opens JupyterLab in Japanese (cs_helpers/maint/cs-dojo-lab.json): menus read as a learner sees them.
RUN_MENU, RUN_ALL = "実行", "すべてのセルを実行"
NEWS_PROMPT = "official Jupyter news"


def menu(page, top: str, item: str) -> None:
    """Click a main-menu entry, e.g. ``menu(page, RUN_MENU, RUN_ALL)``."""
    page.locator("#jp-MainMenu .lm-MenuBar-itemLabel", has_text=re.compile(rf"^{re.escape(top)}$")).click()
    entry = page.locator(".lm-Menu .lm-Menu-item:not(.lm-mod-disabled) .lm-Menu-itemLabel",
                         has_text=re.compile(rf"^{re.escape(item)}$"))
    entry.first.click(timeout=10_000)


def _sessions(base_url: str) -> list[dict]:
    with urllib.request.urlopen(f"{base_url}/api/sessions", timeout=5) as resp:
        return json.loads(resp.read().decode("utf-8"))


def wait_for_kernel(page, base_url: str, rel_path: str, timeout: float = 60) -> None:
    """Wait until the notebook is shown and its kernel exists on the server and is idle."""
    page.wait_for_selector(".jp-NotebookPanel .jp-Notebook .jp-Cell", timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        accept_kernel_dialog(page)
        for session in _sessions(base_url):
            if session.get("path") == rel_path and (session.get("kernel") or {}).get("execution_state") == "idle":
                return
        time.sleep(0.25)
    raise AssertionError(f"the kernel for {rel_path} did not start within {timeout:.0f} s")


def accept_kernel_dialog(page) -> bool:
    """If JupyterLab asks which kernel to use, take its suggestion (Python 3), as a learner would."""
    dialog = page.locator(".jp-Dialog")
    if dialog.count() and any(t in dialog.first.inner_text() for t in ("カーネルを選択", "Select Kernel")):
        dialog.first.locator(".jp-Dialog-button.jp-mod-accept").click()
        return True
    return False


_CELLS_JS = """
() => Array.from(document.querySelectorAll('.jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell'))
  .map((cell, index) => ({
    index,
    type: cell.classList.contains('jp-CodeCell') ? 'code'
        : cell.classList.contains('jp-MarkdownCell') ? 'markdown' : 'raw',
    prompt: (cell.querySelector('.jp-InputPrompt') || {}).innerText || '',
    outputs: Array.from(cell.querySelectorAll('.jp-OutputArea-output')).map(out => ({
      mime: out.getAttribute('data-mime-type') || '',
      classes: out.className,
      text: (out.innerText || '').slice(0, 2000),
      widgetParts: out.querySelectorAll('[class*="widget-"]').length,
      images: Array.from(out.querySelectorAll('img')).map(img => ({w: img.naturalWidth, h: img.naturalHeight})),
    })),
  }))
"""


def read_cells(page) -> list[dict]:
    """What the learner sees in the active notebook: per cell its type, prompt and rendered outputs."""
    return page.evaluate(_CELLS_JS)


def run_all_cells(page, timeout: float = 120) -> list[dict]:
    """実行 → すべてのセルを実行 (Run → Run All Cells), then wait until no cell is queued or running."""
    menu(page, RUN_MENU, RUN_ALL)
    deadline = time.monotonic() + timeout
    started = False
    quiet = 0
    while time.monotonic() < deadline:
        if accept_kernel_dialog(page):
            continue
        cells = read_cells(page)
        prompts = [c["prompt"].strip() for c in cells if c["type"] == "code"]
        busy = any("*" in p for p in prompts)
        started = started or busy or any(re.search(r"\[\d+\]", p) for p in prompts)
        idle = page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").count() > 0
        quiet = quiet + 1 if (started and not busy and idle) else 0
        if quiet >= 3:
            return cells
        time.sleep(0.25)
    raise AssertionError(f"Run All Cells did not finish within {timeout:.0f} s; prompts: {prompts}")


def save_notebook(page, course_dir: Path, rel_path: str) -> dict:
    """Save through the notebook toolbar and return the saved notebook as JSON (read from the course copy)."""
    panel = page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)")
    path = course_dir / rel_path
    before = path.stat().st_mtime_ns
    panel.locator("[data-command='docmanager:save']").first.click()
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        dirty = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.lm-mod-current.jp-mod-dirty").count()
        if not dirty and path.stat().st_mtime_ns != before:
            return json.loads(path.read_text(encoding="utf-8"))
        time.sleep(0.2)
    raise AssertionError(f"saving {rel_path} from JupyterLab did not finish within 30 s")


# -- checks on a run notebook -----------------------------------------------------------------------------------
def error_outputs(cells: list[dict], saved: dict | None = None) -> list[str]:
    """Every error a learner would see: stderr/traceback boxes in the page and error outputs in the saved file."""
    found = []
    for cell in cells:
        for out in cell["outputs"]:
            if out["mime"] == STDERR_MIME or "jp-mod-error" in out["classes"]:
                found.append(f"cell {cell['index']} {cell['prompt'].strip()} shows stderr/error output: "
                             f"{out['text'][:600]}")
    if saved is not None:
        for index, cell in enumerate(saved.get("cells", [])):
            for out in cell.get("outputs", []):
                if out.get("output_type") == "error":
                    found.append(f"cell {index}: saved notebook has an error output "
                                 f"{out.get('ename')}: {out.get('evalue')}")
    return found


def unexecuted_code_cells(cells: list[dict]) -> list[str]:
    """Code cells with source whose prompt has no execution count (Run All stopped before them)."""
    return [f"cell {c['index']} prompt {c['prompt'].strip() or '(empty)'}" for c in cells
            if c["type"] == "code" and not re.search(r"\[\d+\]", c["prompt"])]


def widget_problems(cells: list[dict], saved: dict) -> tuple[int, list[str]]:
    """Compare widget outputs the kernel produced (saved file) with widgets actually drawn in the page.

    Returns (number of widget outputs expected, problems). A widget output counts as drawn when its output
    element contains ipywidgets' DOM (classes ``widget-*``) and no "Error displaying widget" / "Loading widget".
    """
    problems = []
    expected_total = 0
    saved_cells = saved.get("cells", [])
    if len(saved_cells) != len(cells):
        problems.append(f"page shows {len(cells)} cells but the saved notebook has {len(saved_cells)}")
        return expected_total, problems
    for cell, saved_cell in zip(cells, saved_cells):
        expected = sum(1 for out in saved_cell.get("outputs", []) if WIDGET_MIME in out.get("data", {}))
        expected_total += expected
        if not expected:
            continue
        drawn = [o for o in cell["outputs"]
                 if o["widgetParts"] > 0 and "widget-error" not in o["classes"]
                 and not re.search(WIDGET_FAILURE_TEXT, o["text"])]
        if len(drawn) < expected:
            shown = "; ".join(f"{o['mime'] or 'widget?'}: {o['text'][:120]!r}" for o in cell["outputs"])
            problems.append(f"cell {cell['index']} {cell['prompt'].strip()}: {expected} widget output(s) from the "
                            f"kernel but {len(drawn)} drawn in the page (shown instead: {shown or 'nothing'})")
    return expected_total, problems


def wait_for_images(page, timeout: float = 15) -> None:
    """Give output images time to decode (a data: URL image reports size 0 until then)."""
    try:
        page.wait_for_function(
            "() => Array.from(document.querySelectorAll('.jp-OutputArea-output img'))"
            ".every(img => img.complete && img.naturalWidth > 0)", timeout=timeout * 1000)
    except Exception:  # noqa: BLE001 - the caller reports which images are missing
        pass


def describe_images(cells: list[dict]) -> str:
    return "; ".join(f"cell {c['index']}: {o['mime']} {o['images']}" for c in cells for o in c["outputs"]
                     if o["mime"].startswith("image/") or o["images"]) or "no image outputs at all"


def plot_images(cells: list[dict]) -> list[tuple[int, dict]]:
    """Loaded PNG plots (non-zero natural size) in the page, as (cell index, size)."""
    return [(c["index"], img) for c in cells for o in c["outputs"] if o["mime"] == "image/png"
            for img in o["images"] if img["w"] > 0 and img["h"] > 0]


def cell_locator(page, index: int):
    return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden) .jp-Notebook .jp-Cell").nth(index)
