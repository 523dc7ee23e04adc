"""One worker grades one submission with nbgrader in its private folder and writes ``result.json`` there.

The worker is forked by the trusted parent (see ``scheduler``); it runs nbgrader's own code, never the learner's:
learner code runs only in the notebook's kernel, which the worker starts inside the sandbox (``sandbox.py``) when
the run's isolation level is ``sandbox``. The worker reads the course's ``source/``, ``release/`` and this learner's
``submitted/`` folder to make its private copies, then works only in its own folder.
"""
from __future__ import annotations

import copy
import json
import os
import shutil
import sys
import time
import traceback
from pathlib import Path

from ..common import CONFIG_NAME, cell_source, nbgrader_meta
from .sandbox import SANDBOX, bwrap_argv, limit_resources, reap_children, worker_env
from .store import reused_gradebook_engines

DUPLICATE_NOTE = ("**採点メモ**: 採点対象のセル `{gid}` が提出物に {n} 個ありました (コピー＆貼り付けでできることが"
                  "あります)。採点には {which} を使い、残りは普通のセルとして実行しました。"
                  "(The graded cell `{gid}` appeared {n} times; the {which_en} copy was graded, the others ran as "
                  "ordinary cells.)")


def skip_slow_iri_checker() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` (a speed fix; call before nbformat is first imported).

    jsonschema imports that optional package, when installed, only to check the ``iri``/``iri-reference`` formats of
    draft 7+ schemas, and it compiles a Lark Earley grammar at import time: 1.2-1.9 s of CPU in every process that
    imports nbformat (the parent and the forkserver, i.e. both cores, before the first learner is graded). nbformat
    validates notebooks against draft 4 schemas, which have no such formats, so validation is unchanged. A ``None``
    entry in ``sys.modules`` makes the import raise ImportError, which jsonschema already treats as "not installed".

    The entry lives only while jsonschema is imported here (it builds its format checkers then), so the rest of the
    process, e.g. a trainer's notebook that called ``grade_assignment``, can still import ``rfc3987_syntax``.
    """
    if "jsonschema" in sys.modules or "rfc3987_syntax" in sys.modules:
        return
    sys.modules["rfc3987_syntax"] = None
    try:
        import jsonschema  # noqa: F401 - builds its format checkers now, without the IRI ones
    finally:
        if "rfc3987_syntax" in sys.modules and sys.modules["rfc3987_syntax"] is None:
            del sys.modules["rfc3987_syntax"]


def load_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader
    return PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()


def restore_missing_cells(nb, release_nb) -> list[str]:
    """Put graded/solution/locked cells the learner deleted back, from the released notebook. Returns their ids."""
    release_cells = [c for c in release_nb.cells if nbgrader_meta(c).get("grade_id")]
    present = {nbgrader_meta(c).get("grade_id") for c in nb.cells if nbgrader_meta(c).get("grade_id")}
    restored = []
    for i, cell in enumerate(release_cells):
        gid = nbgrader_meta(cell)["grade_id"]
        if gid in present:
            continue
        insert_at = 0
        for prev in reversed(release_cells[:i]):
            prev_id = nbgrader_meta(prev)["grade_id"]
            idx = next((k for k, c in enumerate(nb.cells) if nbgrader_meta(c).get("grade_id") == prev_id), None)
            if idx is not None:
                insert_at = idx + 1
                break
        new = copy.deepcopy(cell)
        new.pop("id", None)
        nb.cells.insert(insert_at, new)
        present.add(gid)
        restored.append(gid)
    return restored


# ----------------------------------------------------------------------------------------------------------------
# worker (runs in a forked child process)



def deduplicate_graded_cells(nb, release_nb=None) -> list[str]:
    """Keep one copy of every graded cell whose ``grade_id`` appears more than once (JupyterLab's copy and paste
    keeps the metadata). Returns a note per duplicated id.

    The rule: the copy that is graded is the *last* one whose source differs from the released cell (the learner's
    most recent work); when every copy is still the released one, the first. The other copies lose their nbgrader
    metadata and stay in place, so they run as ordinary cells exactly as they ran for the learner. A markdown cell
    before the graded copy names the choice in the learner's feedback.
    """
    import nbformat
    released = {nbgrader_meta(c).get("grade_id"): cell_source(c).strip()
                for c in (release_nb.cells if release_nb is not None else []) if nbgrader_meta(c).get("grade_id")}
    positions: dict[str, list[int]] = {}
    for i, cell in enumerate(nb.cells):
        gid = nbgrader_meta(cell).get("grade_id")
        if gid:
            positions.setdefault(gid, []).append(i)
    notes, keep_at = [], {}
    for gid, where in positions.items():
        if len(where) < 2:
            continue
        changed = [i for i in where if gid not in released or cell_source(nb.cells[i]).strip() != released[gid]]
        kept = changed[-1] if changed else where[0]
        order = where.index(kept) + 1
        for i in where:
            if i != kept:
                nb.cells[i].metadata.pop("nbgrader", None)
        keep_at[kept] = DUPLICATE_NOTE.format(gid=gid, n=len(where), which=f"{order} 個目",
                                              which_en={1: "first"}.get(order, f"copy no. {order}"))
        notes.append(f"duplicated cell {gid}: {len(where)} copies, graded copy no. {order} "
                     f"({'last changed copy' if changed else 'first copy, none changed'})")
    for i in sorted(keep_at, reverse=True):
        note = nbformat.v4.new_markdown_cell(keep_at[i])
        note.pop("id", None)
        nb.cells.insert(i, note)
    return notes


def _worker_main(job: dict, go=None) -> None:
    """Entry point of a worker process. Writes ``result.json`` in its work folder; never touches the workspace.

    ``go`` (a multiprocessing Event) lets the parent start a worker *before* a grading slot is free: the worker then
    copies its submission, prepares nbgrader and starts its (sandboxed) kernel, and waits for ``go`` before the
    notebook runs, so this warm-up overlaps the previous submission's run. Each worker serves one submission.
    """
    work = Path(job["work"])
    try:
        os.setsid()
    except OSError:
        pass
    limit_resources(job["memory_mb"])
    log_fd = os.open(work / "worker.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    result = {"status": "error", "reason": "worker did not finish", "restored": []}
    try:
        os.environ.clear()
        os.environ.update(worker_env(job, work))
        os.chdir(work)
        result = _grade(job, work, go)
    except MemoryError:
        result = {"status": "error", "reason": "memory limit exceeded while grading (メモリ上限を超えました)"}
    except BaseException as exc:  # noqa: BLE001 - everything must end up in result.json
        result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-3000:]}
    finally:
        reap_children()
        tmp = work / "result.json.tmp"
        tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, work / "result.json")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def make_work_dirs(work: Path) -> None:
    """The folders of one worker; ``box/`` is what its kernel may write (the submission copy is bound separately)."""
    for sub in ("tmp", "db", "kernelspec/kernels", "box/home", "box/runtime", "box/jupyter", "box/jupyter-data",
                "box/ipython", "box/mpl"):
        (work / sub).mkdir(parents=True, exist_ok=True)


# ipykernel without its debugger: grading never attaches one, and importing debugpy costs every kernel ~0.05 s of CPU
# (a fifth of its start-up). A ``None`` entry in ``sys.modules`` is how ipykernel sees "debugpy is not installed".
KERNEL_COMMAND = [sys.executable, "-c", "import sys; sys.modules['debugpy'] = None; "
                                        "from ipykernel.kernelapp import launch_new_instance; launch_new_instance()",
                  "-f", "{connection_file}"]


def _grading_kernel(job: dict, work: Path, sub_dir: Path) -> None:
    """The kernel spec nbgrader starts for this worker: inside the sandbox at that level (talking over Unix sockets
    in ``box/runtime``), a plain process otherwise; ``JUPYTER_PATH`` points at it (``sandbox.worker_env``)."""
    spec = work / "kernelspec" / "kernels" / "python3"
    spec.mkdir(parents=True, exist_ok=True)
    argv = KERNEL_COMMAND
    if job["isolation"] == SANDBOX:
        argv = bwrap_argv(job["bwrap"], writable=[work / "box", sub_dir], cwd=sub_dir, command=KERNEL_COMMAND)
    (spec / "kernel.json").write_text(json.dumps({
        "argv": argv, "display_name": "Python 3 (ipykernel, CS Dojo grading)", "language": "python",
        "interrupt_mode": "message", "metadata": {"debugger": False}}), encoding="utf-8")


class _WorkerState:
    """What this worker's nbgrader run left for ``_grade``: the kernel started before its turn (used once by
    ``_execute_class``) and the exception that failed the submission, if one did (nbgrader only logs it)."""
    km = None
    failure: BaseException | None = None


def _keeping_failure(method):
    """Wrap a method of nbgrader's so that the first exception it raises is kept in ``_WorkerState.failure``."""
    def wrapped(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except BaseException as exc:
            _WorkerState.failure = _WorkerState.failure or exc
            raise
    return wrapped


def _execute_class():
    """nbgrader's ``Execute`` that runs the notebook on the kernel this worker may have started already, and keeps
    the exception that stopped the run (nbgrader's converter logs it and raises a bare ``NbGraderException``)."""
    from nbgrader.preprocessors import Execute

    class WorkerExecute(Execute):
        @_keeping_failure
        def preprocess(self, nb, resources=None, km=None):
            km, _WorkerState.km = _WorkerState.km, None
            return super().preprocess(nb, resources, km=km)

    return WorkerExecute


def _autograde_class():
    """nbgrader's ``Autograde`` that keeps the exception a step raised before execution (reading, the database)."""
    from nbgrader.converters.autograde import Autograde

    class WorkerAutograde(Autograde):
        init_assignment = _keeping_failure(Autograde.init_assignment)
        convert_single_notebook = _keeping_failure(Autograde.convert_single_notebook)

    return WorkerAutograde


def _start_kernel(cfg, kernel_name: str, cwd: Path) -> None:
    from jupyter_client.manager import AsyncKernelManager
    from jupyter_core.utils import run_sync
    km = AsyncKernelManager(kernel_name=kernel_name, config=cfg)
    run_sync(km.start_kernel)(extra_arguments=["--HistoryManager.hist_file=:memory:"], cwd=str(cwd))
    _WorkerState.km = km


def _grade(job: dict, work: Path, go=None) -> dict:
    import logging

    import nbformat
    from nbgrader.converters.autograde import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.preprocessors import Execute

    learner, assignment = job["learner"], job["assignment"]
    real = Path(job["root"])
    course = work / "course"
    src_dir = course / "source" / assignment
    sub_dir = course / "submitted" / learner / assignment
    shutil.copytree(real / "source" / assignment, src_dir,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints", "__pycache__"))
    shutil.copytree(real / "submitted" / learner / assignment, sub_dir, symlinks=False,
                    ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    shutil.copy2(real / CONFIG_NAME, course / CONFIG_NAME)
    db_file = work / "db" / "gradebook.db"
    timings = {"setup": time.perf_counter() - job["t0"]}

    restored: list[str] = []
    notes: list[str] = []
    for name in job["notebooks"]:
        path = sub_dir / f"{name}.ipynb"
        if not path.exists():
            continue
        try:
            nb = nbformat.read(str(path), as_version=4)
        except Exception as exc:  # noqa: BLE001
            return {"status": "error", "kind": "notebook",
                    "reason": f"{name}.ipynb はノートブックとして読めません (not a valid notebook: "
                              f"{type(exc).__name__}: {str(exc)[:200]})"}
        release_path = real / "release" / assignment / f"{name}.ipynb"
        release_nb = nbformat.read(str(release_path), as_version=4) if release_path.exists() else None
        changed = False
        dups = deduplicate_graded_cells(nb, release_nb)
        if dups:
            notes += [f"{name}: {d}" for d in dups]
            changed = True
        if release_nb is not None:
            ids = restore_missing_cells(nb, release_nb)
            if ids:
                restored += [f"{name}:{gid}" for gid in ids]
                changed = True
        if changed:
            nbformat.write(nb, str(path))

    handler = logging.FileHandler(work / "nbgrader.log", encoding="utf-8")
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    for name in ("traitlets", "nbgrader", ""):
        logging.getLogger(name).setLevel(logging.INFO)

    cfg = load_config(course)
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{db_file}"
    cfg.CourseDirectory.assignment_id = assignment
    cfg.CourseDirectory.student_id = learner
    cfg.Execute.timeout = job["cell_timeout"]
    # the parent kills this worker's whole process tree afterwards, so waiting for a polite kernel exit is wasted time
    cfg.Execute.shutdown_kernel = "immediate"
    cfg.Autograde.create_student = True
    _grading_kernel(job, work, sub_dir)
    # Unix sockets in the worker's own folder at both levels: no TCP port another learner's kernel could try, and
    # measured faster than jupyter_client's TCP default
    cfg.KernelManager.transport = "ipc"
    cfg.KernelManager.ip = str(work / "box" / "runtime" / "kernel")
    cfg.KernelManager.connection_file = str(work / "box" / "runtime" / "kernel.json")
    steps = list(cfg.Autograde.get("autograde_preprocessors", Autograde.autograde_preprocessors.default_value))
    cfg.Autograde.autograde_preprocessors = [_execute_class() if s is Execute else s for s in steps]
    if go is not None:
        if Execute in steps:
            kernel = (nbformat.read(str(next(src_dir.glob("*.ipynb"))), as_version=4).metadata
                      .get("kernelspec", {}).get("name") or "python3")
            _start_kernel(cfg, kernel, sub_dir)
        timings["warm"] = time.perf_counter() - job["t0"]
        parent = os.getppid()
        while not go.wait(1.0):
            if os.getppid() != parent:  # the run was abandoned before this worker's turn
                os._exit(1)
        job["t0"] = time.perf_counter()
    with reused_gradebook_engines(throwaway=True):  # this worker's private copy: one engine, no waits for the disk
        converter = _autograde_class()(coursedir=CourseDirectory(config=cfg), config=cfg)
        converter.force = True
        os.chdir(course)
        timings["prepared"] = time.perf_counter() - job["t0"]
        try:
            converter.start()
        except NbGraderException:
            log = (work / "nbgrader.log").read_text(encoding="utf-8", errors="replace")
            kind, reason = failure_reason(_WorkerState.failure, log)
            return {"status": "error", "kind": kind, "reason": reason, "restored": restored, "notes": notes}
    out_dir = course / "autograded" / learner / assignment
    if not out_dir.is_dir():
        return {"status": "error", "kind": "nbgrader", "reason": "nbgrader wrote no autograded notebook",
                "restored": restored, "notes": notes}
    timings["autograded"] = time.perf_counter() - job["t0"]
    return {"status": "ok", "autograded": str(out_dir), "restored": restored, "notes": notes, "timings": timings}


def failure_reason(exc: BaseException | None, log: str = "") -> tuple[str, str]:
    """``(kind, reason)`` of a failed nbgrader run, from the exception that stopped it (see ``_WorkerState.failure``)."""
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from nbformat.reader import NotJSONError
    from nbgrader.preprocessors.execute import UnresponsiveKernelError
    from sqlalchemy.exc import OperationalError
    kinds = [
        (DeadKernelError, "kernel", "the kernel died while running the notebook (カーネルが停止しました: os.kill, "
                                    "os._exit やメモリ不足など)"),
        (UnresponsiveKernelError, "timeout", "the kernel stopped responding (カーネルが応答しません)"),
        (CellTimeoutError, "timeout", "a cell kept running past the per-cell timeout and could not be interrupted "
                                      "(セルが制限時間内に終わらず、中断もできませんでした)"),
        (MemoryError, "memory", "memory limit exceeded (メモリ上限を超えました)"),
        (NotJSONError, "notebook", "not a valid notebook (ノートブックとして読めません)"),
        (OperationalError, "nbgrader", "the grading database copy failed (採点用データベースのエラー)"),
    ]
    for cls, kind, text in kinds:
        if isinstance(exc, cls):
            return kind, text
    if exc is not None:
        return "nbgrader", f"nbgrader could not grade the submission: {type(exc).__name__}: {str(exc)[:300]}"
    errors = [line for line in log.splitlines() if "Error" in line or "error" in line]
    return "nbgrader", "nbgrader could not grade the submission: " + (errors[-1].strip()[:300] if errors else
                                                                       "see the log")


# ----------------------------------------------------------------------------------------------------------------
# parent side
