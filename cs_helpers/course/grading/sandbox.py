"""How a grading worker and its kernel are isolated.

Two isolation levels are recorded per learner (``Outcome.isolation``):

* ``"sandbox"``: the notebook's kernel (the only process that runs learner code) starts inside bubblewrap
  (``bwrap``): new PID, network, IPC, UTS and mount namespaces (and a user namespace where the caller is not root;
  as root every capability is dropped), a fresh ``/proc``, ``/dev`` and ``/tmp``. It sees, read-only, the
  interpreter (the venv and ``sys.base_prefix``), the ``cs_helpers`` package, the course data (``datasets/``) and
  the system libraries (``/usr``, ``/lib*``, a few files of ``/etc``); writable is only its own private folder (a
  copy of this learner's submission and a private home). Nothing of the course folder, the gradebook, the source
  notebooks, other learners or the trainer's home exists in there. There is no network; the namespace's own
  loopback works. The kernel talks to the grading process through Unix sockets in its private folder.
* ``"process"``: today's process isolation only (private folder, clean environment, rlimits, its own session).
  Learner code runs as the trainer's user and can reach whatever that user can (see docs/trainer.md).

``--sandbox auto`` (default) uses the sandbox where it can start and otherwise warns once and grades at the
``process`` level; ``required`` refuses with the reason and the fix; ``off`` always uses the ``process`` level.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

MAX_FILE_MB = 512
MODES = ("auto", "required", "off")
SANDBOX = "sandbox"
PROCESS = "process"
_PASS_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "USER", "LOGNAME", "TZ", "CS_DOJO_ROOT", "CS_DOJO_DATASETS", "PYTHONPATH",
             "VIRTUAL_ENV", "SSL_CERT_FILE")
# files and folders of /etc a Python kernel may need (dynamic linker, certificates, fonts, time zone, user names)
_ETC = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "ssl", "ca-certificates", "fonts", "localtime", "timezone",
        "alternatives", "passwd", "group", "nsswitch.conf", "hosts", "mime.types", "matplotlibrc")
_SYSTEM_DIRS = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
INSTALL_HINT = ("sudo apt-get install bubblewrap  (Debian/Ubuntu; or run `bash scripts/install_sandbox.sh` as root "
                "in the CS Dojo checkout)")


@dataclass(frozen=True)
class Isolation:
    """The isolation level a run uses; ``warning`` is set when ``auto`` had to fall back to process isolation."""
    level: str
    bwrap: str | None = None
    warning: str = ""


class SandboxUnavailable(Exception):
    def __init__(self, reason: str, fix: str):
        super().__init__(reason)
        self.reason = reason
        self.fix = fix


# ----------------------------------------------------------------------------------------------------------------
# process isolation (both levels)


def limit_resources(memory_mb: int) -> None:
    import resource
    for limit, value in ((resource.RLIMIT_AS, memory_mb * 1024 * 1024),
                         (resource.RLIMIT_FSIZE, MAX_FILE_MB * 1024 * 1024),
                         (resource.RLIMIT_CORE, 0)):
        try:
            soft, hard = resource.getrlimit(limit)
            if hard != resource.RLIM_INFINITY:
                value = min(value, hard)
            resource.setrlimit(limit, (value, hard))
        except (ValueError, OSError):
            pass


def worker_env(job: dict, work: Path) -> dict:
    """The whole environment of a worker (and of its kernel): nothing of the trainer's besides locale settings."""
    env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
    bindir = str(Path(sys.executable).parent)
    box = work / "box"
    env.update({
        "PATH": os.pathsep.join([bindir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(box / "home"),
        "TMPDIR": str(work / "tmp"),
        "PWD": str(work / "course"),
        "JUPYTER_RUNTIME_DIR": str(box / "runtime"),
        "JUPYTER_CONFIG_DIR": str(box / "jupyter"),
        "JUPYTER_DATA_DIR": str(box / "jupyter-data"),
        "JUPYTER_PATH": str(work / "kernelspec"),
        "IPYTHONDIR": str(box / "ipython"),
        "MPLCONFIGDIR": str(box / "mpl"),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "CS_DOJO_LEARNER_ID": job["learner"],
        "CS_DOJO_HOME": str(box / "home" / ".cs_dojo"),
        "CS_DOJO_GRADE_TOKEN": job["token"],
        "NBGRADER_EXECUTION": "autograde",
    })
    if job.get("datasets"):
        env["CS_DOJO_DATASETS"] = job["datasets"]
    env.setdefault("LANG", "C.UTF-8")
    return env


def kill_tree(token: str, pid: int | None) -> None:
    """Kill the worker and every process carrying its token (kernels start their own session)."""
    import psutil
    victims = []
    if pid:
        try:
            proc = psutil.Process(pid)
            victims.extend(proc.children(recursive=True))
            victims.append(proc)
        except psutil.Error:
            pass
    for proc in psutil.process_iter(["pid"]):
        try:
            if proc.pid != os.getpid() and proc.environ().get("CS_DOJO_GRADE_TOKEN") == token:
                victims.append(proc)
        except psutil.Error:
            continue
    for proc in victims:
        try:
            proc.kill()
        except psutil.Error:
            pass
    # Wait until each is gone or a zombie: a killed process holds nothing but its PID entry, and reaping an orphan
    # is init's job, which some container inits do only every second or two (psutil.wait_procs would wait for it).
    deadline = time.monotonic() + 5
    while any(_alive(proc) for proc in victims) and time.monotonic() < deadline:
        time.sleep(0.005)


def reap_children() -> None:
    """Kill this process's own descendants (its kernel) and reap its direct children, so none outlives it."""
    import psutil
    try:
        children = psutil.Process().children(recursive=True)
    except psutil.Error:
        return
    for proc in children:
        try:
            proc.kill()
        except psutil.Error:
            pass
    for proc in children:
        try:
            os.waitpid(proc.pid, 0)
        except ChildProcessError:  # not a direct child: its parent (or init) reaps it
            pass
        except OSError:
            pass


def _alive(proc) -> bool:
    import psutil
    try:
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def font_cache_files() -> list[Path]:
    """matplotlib's font lists (``fontlist-*.json``), found the way matplotlib finds its cache folder but without
    importing it (that import alone costs a worker ~0.4 s of CPU). The parent copies them into every worker's folder
    so that a kernel that plots neither rebuilds the list nor warns about an unwritable cache."""
    env = os.environ.get("MPLCONFIGDIR")
    cache = Path(env) if env else Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "matplotlib"
    return sorted(cache.glob("fontlist-*.json")) if cache.is_dir() else []


# ----------------------------------------------------------------------------------------------------------------
# the bubblewrap sandbox


def readonly_paths() -> list[Path]:
    """What a sandboxed kernel sees read-only besides the system folders: interpreter, package and course data."""
    from ... import paths
    # site-packages folders outside the prefixes come from .pth files, e.g. the hub's interpreter copy that adds the
    # course venv's site-packages (deploy/jupyterhub/cs_dojo_hub.py); the kernel imports ipykernel from there
    sites = [Path(p) for p in sys.path if p and Path(p).name in ("site-packages", "dist-packages") and Path(p).is_dir()]
    wanted = [Path(sys.prefix), Path(sys.base_prefix), *sites, paths.PACKAGE_DIR, paths.datasets_dir()]
    out: list[Path] = []
    for p in wanted:
        for candidate in {p, p.resolve()}:
            if candidate.exists() and candidate not in out:
                out.append(candidate)
    # a path inside another one in the list needs no bind of its own
    return [p for p in out if not any(q != p and p.is_relative_to(q) for q in out)]


def bwrap_argv(bwrap: str, *, writable: list[Path], cwd: Path, command: list[str]) -> list[str]:
    """The ``bwrap`` command line that runs ``command`` in the sandbox described in the module docstring."""
    args = [bwrap, "--unshare-all", "--die-with-parent", "--new-session",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp", "--dir", "/var/tmp"]
    if os.geteuid() == 0:
        args += ["--cap-drop", "ALL"]
    for name in _SYSTEM_DIRS:
        path = Path(name)
        if path.is_symlink():
            args += ["--symlink", os.readlink(path), name]
        elif path.is_dir():
            args += ["--ro-bind", name, name]
    for name in _ETC:
        path = Path("/etc") / name
        if path.exists():
            args += ["--ro-bind", str(path), str(path)]
    for path in readonly_paths():
        args += ["--ro-bind", str(path), str(path)]
    for path in writable:
        args += ["--bind", str(path), str(path)]
    args += ["--chdir", str(cwd), "--setenv", "TMPDIR", "/tmp", "--unsetenv", "JPY_PARENT_PID",
             "--unsetenv", "JUPYTER_PATH", "--unsetenv", "CS_DOJO_ROOT", "--"]
    return args + command


def find_bwrap() -> str | None:
    return shutil.which("bwrap") or next((p for p in ("/usr/bin/bwrap", "/usr/local/bin/bwrap") if os.access(p, os.X_OK)),
                                         None)


def probe(bwrap: str) -> None:
    """Start the interpreter once in the sandbox; raise :class:`SandboxUnavailable` with bwrap's reason if it fails."""
    box = Path(tempfile.mkdtemp(prefix="cs-dojo-probe-"))
    try:
        cmd = bwrap_argv(bwrap, writable=[box], cwd=box, command=[sys.executable, "-S", "-c", "pass"])
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise SandboxUnavailable(f"bwrap could not be started ({exc})", INSTALL_HINT) from None
        if proc.returncode != 0:
            why = (proc.stderr or proc.stdout).strip().splitlines()
            why = why[-1] if why else f"exit code {proc.returncode}"
            fix = ("user namespaces are disabled for your account: ask an administrator to allow them "
                   "(`sudo sysctl -w kernel.unprivileged_userns_clone=1`, on Ubuntu 24.04 also "
                   "`sudo sysctl -w kernel.apparmor_restrict_unprivileged_userns=0` or an AppArmor profile for bwrap), "
                   "or run the container with user namespaces allowed") if "namespace" in why.lower() else \
                "check that bubblewrap works: `bwrap --ro-bind / / true`"
            raise SandboxUnavailable(f"bwrap cannot create the sandbox here: {why}", fix)
    finally:
        shutil.rmtree(box, ignore_errors=True)


def resolve_isolation(mode: str) -> Isolation:
    """Pick the isolation level for ``--sandbox MODE``; ``required`` raises :class:`SandboxUnavailable`."""
    if mode not in MODES:
        raise ValueError(mode)
    if mode == "off":
        return Isolation(PROCESS)
    bwrap = find_bwrap()
    try:
        if bwrap is None:
            raise SandboxUnavailable("bubblewrap (bwrap) is not installed", INSTALL_HINT)
        probe(bwrap)
    except SandboxUnavailable as exc:
        if mode == "required":
            raise
        return Isolation(PROCESS, None, f"{exc.reason}; fix: {exc.fix}")
    return Isolation(SANDBOX, bwrap)
