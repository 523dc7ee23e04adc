"""Process isolation of one grading worker: resource limits, a clean environment, killing what is left of it."""
from __future__ import annotations

import os
import sys
from pathlib import Path

MAX_FILE_MB = 512
_PASS_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "USER", "LOGNAME", "TZ", "CS_DOJO_ROOT", "CS_DOJO_DATASETS", "PYTHONPATH",
             "VIRTUAL_ENV", "SSL_CERT_FILE")


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
    env = {k: os.environ[k] for k in _PASS_ENV if k in os.environ}
    bindir = str(Path(sys.executable).parent)
    env.update({
        "PATH": os.pathsep.join([bindir, "/usr/local/bin", "/usr/bin", "/bin"]),
        "HOME": str(work / "home"),
        "TMPDIR": str(work / "tmp"),
        "PWD": str(work / "course"),
        "JUPYTER_RUNTIME_DIR": str(work / "runtime"),
        "JUPYTER_CONFIG_DIR": str(work / "jupyter"),
        "IPYTHONDIR": str(work / "ipython"),
        "MPLBACKEND": "Agg",
        "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "NUMEXPR_NUM_THREADS": "1",
        "PYDEVD_DISABLE_FILE_VALIDATION": "1",
        "CS_DOJO_LEARNER_ID": job["learner"],
        "CS_DOJO_HOME": str(work / "home" / ".cs_dojo"),
        "CS_DOJO_GRADE_TOKEN": job["token"],
        "NBGRADER_EXECUTION": "autograde",
    })
    env.setdefault("LANG", "C.UTF-8")
    if job.get("mplconfigdir"):
        env["MPLCONFIGDIR"] = job["mplconfigdir"]
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
    psutil.wait_procs(victims, timeout=5)
