"""Drive a real JupyterHub (deploy/jupyterhub/jupyterhub_config.py) on loopback for tests.

``HubRun`` creates throw-away Linux accounts, an exchange and a state folder under one temp root,
starts JupyterHub (which starts configurable-http-proxy and the single-user servers), and
``stop()`` ends every process it started: single-user servers through the hub API, then the
hub's whole process tree, then anything still owned by the throw-away accounts, before deleting
the accounts. Used by tests/test_hub_*.py and deploy/jupyterhub/loadcheck.py.
"""
from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import requests

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy" / "jupyterhub"
sys.path.insert(0, str(DEPLOY))
import cs_dojo_hub  # noqa: E402

SERVICE = "cs-dojo-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prerequisites() -> str | None:
    """Why a hub cannot run here, or None. Only missing installs are reasons to skip."""
    if sys.platform != "linux":
        return "JupyterHub's LocalProcessSpawner test needs Linux accounts"
    if not cs_dojo_hub.PROXY_BIN.exists():
        return f"configurable-http-proxy is not installed ({cs_dojo_hub.PROXY_BIN}); scripts/install_hub.sh installs it"
    if shutil.which("node") is None:
        return "node is not installed, so configurable-http-proxy cannot run"
    try:
        import jupyterhub  # noqa: F401
    except ImportError:
        return "jupyterhub is not installed in the venv (pip install -e '.[dev]')"
    return None


STALE_NAME = re.compile(r"^cd[lt][0-9a-f]{6}[lt][0-9]+$")


def sweep_stale_accounts(min_age_s: float = 3600) -> list[str]:
    """Delete throw-away accounts left by an earlier run that was killed before its clean-up.

    Only accounts named like ours, commented "CS Dojo ...", idle (no process) and older than
    ``min_age_s`` (so a run going on in parallel keeps its accounts).
    """
    import pwd

    removed = []
    busy = set()
    for p in psutil.process_iter(["uids"]):
        try:
            busy.add(p.info["uids"].real)
        except (psutil.Error, AttributeError):
            pass
    for entry in pwd.getpwall():
        if not STALE_NAME.match(entry.pw_name) or not entry.pw_gecos.startswith("CS Dojo"):
            continue
        try:
            age = time.time() - os.stat(entry.pw_dir).st_mtime
        except OSError:
            age = min_age_s + 1
        if entry.pw_uid in busy or age < min_age_s:
            continue
        cs_dojo_hub.delete_system_user(entry.pw_name)
        removed.append(entry.pw_name)
    return removed


@dataclass
class Account:
    name: str
    role: str
    password: str
    token: str = ""


@dataclass
class HubRun:
    """One JupyterHub on 127.0.0.1 with its own accounts, exchange and state."""

    learners: int = 2
    trainers: int = 1
    # Must equal c.CourseDirectory.course_id of the workspace that `cs-dojo init` writes (grading/nbgrader_config.py).
    course_id: str = "cs-dojo"
    root: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="cs-dojo-hub-")))
    accounts: list[Account] = field(default_factory=list)
    proc: subprocess.Popen | None = None
    seen_pids: set[int] = field(default_factory=set)

    def __post_init__(self):
        self.tag = uuid.uuid4().hex[:6]
        self.root.chmod(0o755)
        self.exchange = self.root / "exchange"
        self.state = self.root / "state"
        self.log_path = self.root / "jupyterhub.log"
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.service_token = secrets.token_hex(24)
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {self.service_token}"

    # -- accounts -------------------------------------------------------------------------
    def create_accounts(self) -> None:
        for role, count in (("trainer", self.trainers), ("learner", self.learners)):
            for i in range(1, count + 1):
                name = f"cdt{self.tag}{role[0]}{i}"
                acc = Account(name, role, secrets.token_urlsafe(12))
                self.accounts.append(acc)  # append first: stop() deletes even half-made accounts
                cs_dojo_hub.ensure_system_user(cs_dojo_hub.RosterEntry(name, role), acc.password)
        roster = self.root / "roster.csv"
        roster.write_text(
            "username,role\n" + "".join(f"{a.name},{a.role}\n" for a in self.accounts), encoding="utf-8"
        )

    def account(self, role: str, index: int = 1) -> Account:
        return [a for a in self.accounts if a.role == role][index - 1]

    def uids(self) -> set[int]:
        import pwd

        out = set()
        for a in self.accounts:
            try:
                out.add(pwd.getpwnam(a.name).pw_uid)
            except KeyError:
                pass
        return out

    # -- hub ------------------------------------------------------------------------------
    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CS_DOJO_", "JUPYTER"))}
        env.update(
            CS_DOJO_HUB_IP="127.0.0.1",
            CS_DOJO_HUB_PORT=str(self.port),
            CS_DOJO_HUB_API_PORT=str(free_port()),
            CS_DOJO_PROXY_API_PORT=str(free_port()),
            CS_DOJO_HUB_STATE=str(self.state),
            CS_DOJO_ROSTER=str(self.root / "roster.csv"),
            CS_DOJO_EXCHANGE_ROOT=str(self.exchange),
            CS_DOJO_COURSE_ID=self.course_id,
            CS_DOJO_TEST_SERVICE_TOKEN=self.service_token,
        )
        return env

    def write_config(self) -> Path:
        cfg = self.root / "jupyterhub_test_config.py"
        cfg.write_text(
            f"""import os
c = get_config()
load_subconfig({str(DEPLOY / 'jupyterhub_config.py')!r})
# Test-only: a service that may add tokens and start/stop servers, to drive the hub by its REST API.
c.JupyterHub.services = [{{"name": {SERVICE!r}, "api_token": os.environ["CS_DOJO_TEST_SERVICE_TOKEN"]}}]
c.JupyterHub.load_roles = list(c.JupyterHub.load_roles) + [{{
    "name": "cs-dojo-test-driver",
    "scopes": ["admin:users", "admin:servers", "tokens", "list:users", "read:users", "read:servers"],
    "services": [{SERVICE!r}],
}}]
c.JupyterHub.log_level = "INFO"
""",
            encoding="utf-8",
        )
        return cfg

    def start(self, timeout: float = 60) -> None:
        cfg = self.write_config()
        log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterhub", "-f", str(cfg)],
            cwd=self.root,
            env=self.env(),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        log.close()
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self._remember_tree()
            if self.proc.poll() is not None:
                raise RuntimeError(f"JupyterHub exited with {self.proc.returncode}:\n{self.log_tail()}")
            try:
                if self.http.get(f"{self.url}/hub/api/", timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.3)
        raise RuntimeError(f"JupyterHub did not answer within {timeout}s:\n{self.log_tail()}")

    def log_tail(self, lines: int = 60) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _remember_tree(self) -> None:
        if self.proc is None:
            return
        try:
            parent = psutil.Process(self.proc.pid)
            self.seen_pids.update(p.pid for p in parent.children(recursive=True))
        except psutil.Error:
            pass

    def api(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 30)
        return self.http.request(method, f"{self.url}/hub/api{path}", **kwargs)

    def start_server(self, name: str, timeout: float = 120) -> None:
        self.start_servers([name], timeout)

    def start_servers(self, names: list[str], timeout: float = 120) -> float:
        """Ask the hub to spawn every server at once, then wait until all are ready; returns seconds."""
        started = time.monotonic()
        for name in names:
            r = self.api("POST", f"/users/{name}/server")
            if r.status_code not in (201, 202, 400):  # 400: already running
                raise RuntimeError(f"spawn {name}: {r.status_code} {r.text}")
        waiting = set(names)
        while waiting and time.monotonic() < started + timeout:
            self._remember_tree()
            for name in sorted(waiting):
                server = (self.api("GET", f"/users/{name}").json().get("servers") or {}).get("")
                if server and server.get("ready"):
                    waiting.discard(name)
                elif not server and time.monotonic() > started + 5:
                    raise RuntimeError(f"server for {name} stopped while starting:\n{self.log_tail()}")
            if waiting:
                time.sleep(0.5)
        if waiting:
            raise RuntimeError(f"servers not ready in {timeout}s: {sorted(waiting)}\n{self.log_tail()}")
        return time.monotonic() - started

    def stop_servers(self, names: list[str], timeout: float = 60) -> None:
        for name in names:
            try:
                self.api("DELETE", f"/users/{name}/server", timeout=10)
            except requests.RequestException:
                pass
        deadline = time.monotonic() + timeout
        waiting = set(names)
        while waiting and time.monotonic() < deadline:
            for name in sorted(waiting):
                try:
                    model = self.api("GET", f"/users/{name}", timeout=10).json()
                except (requests.RequestException, ValueError):
                    return
                if not (model.get("servers") or {}):
                    waiting.discard(name)
            if waiting:
                time.sleep(0.3)

    def user_token(self, name: str) -> str:
        r = self.api("POST", f"/users/{name}/tokens", json={"note": "cs-dojo hub test", "expires_in": 1800})
        r.raise_for_status()
        return r.json()["token"]

    def server(self, acc: Account) -> "ServerClient":
        if not acc.token:
            acc.token = self.user_token(acc.name)
        return ServerClient(f"{self.url}/user/{acc.name}", acc.token)

    def hub_rss(self) -> int:
        """Resident memory of the hub process itself (bytes)."""
        return psutil.Process(self.proc.pid).memory_info().rss

    def proxy_rss(self) -> int:
        total = 0
        for p in psutil.Process(self.proc.pid).children(recursive=True):
            try:
                if "configurable-http-proxy" in " ".join(p.cmdline()):
                    total += p.memory_info().rss
            except psutil.Error:
                pass
        return total

    # -- teardown -------------------------------------------------------------------------
    def stop(self) -> list[str]:
        """Stop servers, the hub, the proxy and stragglers; delete accounts and the temp root."""
        problems: list[str] = []
        self._remember_tree()
        if self.proc is not None and self.proc.poll() is None:
            # SIGTERM: the hub stops every single-user server at once (cleanup_servers) and then the proxy.
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                problems.append("hub ignored SIGTERM for 30 s")
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
                self.proc.wait(timeout=10)
        uids = self.uids()
        leftovers = []
        for p in psutil.process_iter(["pid", "uids"]):
            try:
                if p.pid in self.seen_pids or (p.info["uids"] and p.info["uids"].real in uids):
                    leftovers.append(p)
            except psutil.Error:
                pass
        for p in leftovers:
            try:
                p.terminate()
            except psutil.Error:
                pass
        _, alive = psutil.wait_procs(leftovers, timeout=10)
        for p in alive:
            try:
                p.kill()
            except psutil.Error:
                pass
        psutil.wait_procs(alive, timeout=5)
        self.leftover_count = len(leftovers)
        for acc in self.accounts:
            cs_dojo_hub.delete_system_user(acc.name)
            if cs_dojo_hub.system_user_exists(acc.name):
                problems.append(f"account {acc.name} still exists")
        self.http.close()
        shutil.rmtree(self.root, ignore_errors=True)
        return problems


class ServerClient:
    """REST client for one single-user server behind the hub (token of its owner)."""

    def __init__(self, base: str, token: str):
        self.base = base.rstrip("/")
        self.token = token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"token {token}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        kwargs.setdefault("timeout", 60)
        return self.http.request(method, f"{self.base}{path}", **kwargs)

    # contents API
    def get_notebook(self, path: str) -> dict:
        r = self.request("GET", f"/api/contents/{path}", params={"content": 1, "type": "notebook"})
        r.raise_for_status()
        return r.json()["content"]

    def put_notebook(self, path: str, nb: dict) -> None:
        r = self.request("PUT", f"/api/contents/{path}", json={"type": "notebook", "format": "json", "content": nb})
        r.raise_for_status()

    def put_file(self, path: str, text: str) -> None:
        r = self.request("PUT", f"/api/contents/{path}", json={"type": "file", "format": "text", "content": text})
        r.raise_for_status()

    def mkdir(self, path: str) -> None:
        r = self.request("PUT", f"/api/contents/{path}", json={"type": "directory"})
        r.raise_for_status()

    # nbgrader assignment_list server extension (what JupyterLab's Assignment List calls)
    def assignments(self, course_id: str) -> list[dict]:
        r = self.request("GET", "/assignments", params={"course_id": course_id})
        r.raise_for_status()
        body = r.json()
        if not body.get("success"):
            raise RuntimeError(f"assignment list failed: {body.get('value')}")
        return body["value"]

    def assignment_action(self, action: str, course_id: str, assignment_id: str) -> dict:
        r = self.request(
            "POST", f"/assignments/{action}", data={"course_id": course_id, "assignment_id": assignment_id}
        )
        r.raise_for_status()
        return r.json()

    # kernels: run Python as the server's owner
    def run_python(self, code: str, timeout: float = 120, keep_kernel: bool = False) -> "KernelResult":
        """Execute ``code`` in a new kernel; the kernel is shut down afterwards unless ``keep_kernel``."""
        import websocket

        r = self.request("POST", "/api/kernels", json={"name": "python3"})
        r.raise_for_status()
        kernel_id = r.json()["id"]
        ws_url = re.sub(r"^http", "ws", self.base) + f"/api/kernels/{kernel_id}/channels"
        ws = websocket.create_connection(ws_url, header=[f"Authorization: token {self.token}"], timeout=timeout)
        try:
            msg_id = uuid.uuid4().hex
            ws.send(
                json.dumps(
                    {
                        "header": {
                            "msg_id": msg_id,
                            "username": "test",
                            "session": uuid.uuid4().hex,
                            "msg_type": "execute_request",
                            "version": "5.3",
                        },
                        "parent_header": {},
                        "metadata": {},
                        "content": {"code": code, "silent": False, "store_history": False, "allow_stdin": False},
                        "channel": "shell",
                        "buffers": [],
                    }
                )
            )
            out = KernelResult()
            deadline = time.monotonic() + timeout
            while time.monotonic() < deadline:
                msg = json.loads(ws.recv())
                if msg.get("parent_header", {}).get("msg_id") != msg_id:
                    continue
                kind, content = msg["msg_type"], msg["content"]
                if kind == "stream":
                    if content["name"] == "stdout":
                        out.stdout += content["text"]
                    else:
                        out.stderr += content["text"]
                elif kind == "error":
                    out.error = f"{content['ename']}: {content['evalue']}"
                elif kind == "status" and content["execution_state"] == "idle":
                    return out
            raise TimeoutError(f"kernel did not finish in {timeout}s; stdout so far: {out.stdout[-2000:]}")
        finally:
            ws.close()
            if not keep_kernel:
                self.request("DELETE", f"/api/kernels/{kernel_id}")


@dataclass
class KernelResult:
    stdout: str = ""
    stderr: str = ""
    error: str = ""
