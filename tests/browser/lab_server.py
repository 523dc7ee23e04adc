"""Start JupyterLab on 127.0.0.1 in a temporary copy of the course, and always stop it again.

The server runs with no token on a free loopback port, in its own process group (so the kernels it starts
die with it), with Jupyter's config, runtime, settings and workspace folders inside the temporary tree so
nothing leaks into the user's home or between runs. ``--allow-root`` is passed only when running as root.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import psutil

REPO_ROOT = Path(__file__).resolve().parents[2]
# sitecustomize that blocks and logs non-loopback connections in the server and every kernel it starts.
NETGUARD = REPO_ROOT / "tests" / "netguard"
# What a learner's course folder holds; copied when present (folders appear as the course grows).
COURSE_PARTS = ("curriculum", "datasets", "exercises", "grading")
# Never copied: caches and learner state from someone's local runs.
_IGNORE = shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__", "responses", ".cs_dojo", "*.pyc")


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free right now (the server is told not to retry another one)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def copy_course(dest: Path, extra: dict[str, Path] | None = None) -> Path:
    """Copy the course folders of the checkout into ``dest`` and add ``extra`` files ({relative path: source})."""
    dest.mkdir(parents=True, exist_ok=True)
    for part in COURSE_PARTS:
        src = REPO_ROOT / part
        if src.is_dir():
            shutil.copytree(src, dest / part, ignore=_IGNORE)
    for rel, src in (extra or {}).items():
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)
    return dest


@dataclass
class LabServer:
    """A running JupyterLab; use as a context manager or call ``start()`` / ``stop()``."""

    course_dir: Path
    state_dir: Path
    log_path: Path
    disabled_extensions: tuple[str, ...] = ()
    startup_timeout: float = 60.0
    port: int = 0
    proc: subprocess.Popen | None = field(default=None, repr=False)
    _log_file: object = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def network_log(self) -> Path:
        """Where the network guard writes each blocked outbound connection (empty or missing = offline)."""
        return self.state_dir / "network.log"

    def network_attempts(self) -> list[str]:
        try:
            return self.network_log.read_text(encoding="utf-8").splitlines()
        except FileNotFoundError:
            return []

    # -- environment -----------------------------------------------------------------------------------------
    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        config_dir = self.state_dir / "jupyter_config"
        env.update({
            "JUPYTER_CONFIG_DIR": str(config_dir),
            "JUPYTER_RUNTIME_DIR": str(self.state_dir / "runtime"),
            "JUPYTERLAB_SETTINGS_DIR": str(self.state_dir / "lab_settings"),
            "JUPYTERLAB_WORKSPACES_DIR": str(self.state_dir / "lab_workspaces"),
            "IPYTHONDIR": str(self.state_dir / "ipython"),
            "MPLCONFIGDIR": str(self.state_dir / "matplotlib"),
            # The course code reads its data and writes learner state inside the copy, never in the checkout.
            "CS_DOJO_ROOT": str(self.course_dir),
            "CS_DOJO_HOME": str(self.state_dir / "cs_dojo_home"),
            "PYTHONDONTWRITEBYTECODE": "1",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH")])),
            "CS_DOJO_NET_LOG": str(self.network_log),
        })
        # A learner id from the caller's shell would change per-learner content; the browser run is a guest.
        env.pop("CS_DOJO_LEARNER_ID", None)
        # tests/conftest.py sets MPLBACKEND=Agg for in-process tests; a learner's kernel uses the inline backend
        # (with Agg, plt.show() draws nothing in the page).
        env.pop("MPLBACKEND", None)
        return env

    def _write_config(self) -> None:
        config_dir = self.state_dir / "jupyter_config"
        self.set_disabled_extensions(self.disabled_extensions)
        # No news/update settings here: the course's own defaults (cs_helpers/maint/cs-dojo-lab.json) must already
        # keep JupyterLab from asking about Jupyter news, and the browser test checks that they do.
        settings = {
            # Every cell in the DOM (no virtual scrolling), so the tests can read all outputs at once.
            "notebook-extension/tracker": {"windowingMode": "none"},
        }
        for plugin, values in settings.items():
            target = self.state_dir / "lab_settings" / "@jupyterlab" / f"{plugin}.jupyterlab-settings"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(json.dumps(values), encoding="utf-8")
        # nbgrader: a course rooted at the copy and an exchange inside the temporary tree (the default,
        # /srv/nbgrader/exchange, may not exist or may belong to a real course on this machine).
        exchange = self.state_dir / "exchange"
        exchange.mkdir(parents=True, exist_ok=True)
        exchange.chmod(0o777)
        # The course's own grading config comes first, so the formgrader is loaded the way trainers run it.
        course_config = self.course_dir / "grading" / "nbgrader_config.py"
        base = course_config.read_text(encoding="utf-8") if course_config.exists() else "c = get_config()\n"
        (config_dir / "nbgrader_config.py").write_text(
            base + "\n\n# --- browser test overrides (tests/browser/lab_server.py) ---\n"
            f"c.CourseDirectory.root = {str(self.course_dir)!r}\n"
            f"c.Exchange.root = {str(exchange)!r}\n",
            encoding="utf-8",
        )

    def set_disabled_extensions(self, names: tuple[str, ...]) -> None:
        """Switch lab extensions off (or back on with ``()``) for pages loaded from now on.

        jupyterlab_server reads ``labconfig/page_config.json`` on every page request, so a running server
        applies it to the next page load. Used to prove the tests notice a missing widget manager.
        """
        self.disabled_extensions = tuple(names)
        labconfig = self.state_dir / "jupyter_config" / "labconfig"
        labconfig.mkdir(parents=True, exist_ok=True)
        page_config = {"disabledExtensions": {name: True for name in self.disabled_extensions}}
        (labconfig / "page_config.json").write_text(json.dumps(page_config), encoding="utf-8")

    def _command(self) -> list[str]:
        cmd = [
            sys.executable, "-m", "jupyterlab",
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={self.port}",
            "--ServerApp.port_retries=0",
            f"--ServerApp.root_dir={self.course_dir}",
            "--IdentityProvider.token=",
            "--ServerApp.password=",
            # Offline: no news feed or update check from jupyter.org (they would only fail here).
            "--LabApp.news_url=None",
            "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
            # The extension manager would query PyPI when its panel opens; keep it read-only and offline.
            "--LabApp.extension_manager=readonly",
        ]
        if os.geteuid() == 0:
            cmd.append("--allow-root")
        return cmd

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> "LabServer":
        self.state_dir.mkdir(parents=True, exist_ok=True)
        self._write_config()
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        last_error = ""
        for _attempt in range(3):  # a port picked by free_port() can be taken before the server binds it
            self.port = free_port()
            self._log_file = open(self.log_path, "ab")
            self.proc = subprocess.Popen(
                self._command(), cwd=self.course_dir, env=self._env(), stdin=subprocess.DEVNULL,
                stdout=self._log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )
            try:
                self._wait_ready()
                return self
            except RuntimeError as exc:
                last_error = str(exc)
                self.stop()
                if "address already in use" not in last_error.lower():
                    break
        raise RuntimeError(last_error)

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterLab exited with code {self.proc.returncode} before it was ready.\n"
                                   f"{self.log_tail()}")
            try:
                with urllib.request.urlopen(f"{self.url}/api/status", timeout=2) as resp:
                    if resp.status == 200:
                        return
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.25)
        raise RuntimeError(f"JupyterLab did not answer on {self.url} within {self.startup_timeout:.0f} s.\n"
                           f"{self.log_tail()}")

    def log_tail(self, lines: int = 40) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return "(no server log)"
        return "--- JupyterLab log (tail) ---\n" + "\n".join(text.splitlines()[-lines:])

    def stop(self) -> None:
        """Stop the server, its process group and every kernel it started, whatever state they are in.

        jupyter_client starts each kernel in a session of its own, so killing the server's process group does
        not reach them: they are listed first (psutil) and killed if they outlive a graceful shutdown.
        """
        proc, self.proc = self.proc, None
        if proc is not None:
            descendants = []
            try:
                descendants = psutil.Process(proc.pid).children(recursive=True)
            except psutil.Error:
                pass
            try:
                pgid = os.getpgid(proc.pid)
            except ProcessLookupError:
                pgid = None
            # SIGTERM lets JupyterLab shut its kernels down (killing kernels first would only make its restarter
            # start new ones); SIGKILL to the group if it does not exit in time, then to any kernel left over.
            for sig, wait in ((signal.SIGTERM, 8), (signal.SIGKILL, 5)):
                if pgid is None:
                    break
                try:
                    os.killpg(pgid, sig)
                except ProcessLookupError:
                    break
                try:
                    proc.wait(timeout=wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
            if pgid is not None:
                try:  # anything left in the server's group (helpers it spawned)
                    os.killpg(pgid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            if proc.poll() is None:
                proc.kill()
                proc.wait(timeout=5)
            for child in descendants:  # kernels, in their own sessions
                try:
                    child.kill()
                except psutil.Error:
                    pass
            psutil.wait_procs(descendants, timeout=5)
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None

    def __enter__(self) -> "LabServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def make_lab(base: Path | None, log_path: Path, extra: dict[str, Path] | None = None,
             disabled_extensions: tuple[str, ...] = ()) -> LabServer:
    """A (not yet started) server over a fresh copy of the course under ``base`` (a new temp dir if None)."""
    root = Path(tempfile.mkdtemp(prefix="cs-dojo-lab-", dir=base))
    course = copy_course(root / "course", extra)
    return LabServer(course_dir=course, state_dir=root / "state", log_path=log_path,
                     disabled_extensions=disabled_extensions)
