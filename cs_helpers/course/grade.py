"""``cs-dojo grade ASSIGNMENT``: parallel, isolated autograding with nbgrader.

How one submission is graded (a *worker*):

1. The parent process forks a fresh worker (from a ``forkserver`` that has nbgrader imported once, so a worker
   starts in milliseconds). The worker starts its own session, sets ``RLIMIT_AS`` (memory), ``RLIMIT_FSIZE`` and
   ``RLIMIT_CORE``, replaces its environment (``CS_DOJO_LEARNER_ID=<learner>``, a private ``HOME``, no ``PWD`` of
   the trainer) and works in a private temporary folder outside the workspace.
2. There it builds a throwaway nbgrader course: ``nbgrader_config.py``, ``source/<assignment>/``, a *copy* of this
   learner's ``submitted/<learner>/<assignment>/``, and a private copy of the gradebook holding only the
   assignment definition (no learners), kept in a separate folder from the course.
3. Graded cells the learner deleted are put back from the released notebook; nbgrader then overwrites edited test
   cells from the gradebook, runs the notebook (per-cell timeout) and writes the autograded notebook.
4. The worker exits. The parent kills anything left of it (kernels included), enforces the wall-clock limit, and
   recomputes the scores from the autograded notebook with nbgrader's own ``determine_grade`` against the *real*
   gradebook's cell definitions (so nothing the learner's code wrote into the temporary gradebook counts).
5. The parent, the only writer, stores the grades in the real ``gradebook.db`` through nbgrader's ``Gradebook`` API
   and copies the autograded notebook into ``autograded/<learner>/<assignment>/``.

A submission that cannot be graded (kernel crash, wall-clock timeout, memory limit, a file that is not a notebook)
gets a recorded zero: every graded cell scores 0, the submission is flagged in the gradebook, and the reason is
printed and kept in ``grading_log.json`` and ``logs/grading_<assignment>.csv``. Other learners are not affected.

Re-running is idempotent: learners whose submission did not change since their last grading are skipped
(``force=True`` regrades them and gives the same result); manual scores given in the formgrader are kept.
"""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import json
import os
import shutil
import signal
import sqlite3
import sys
import tempfile
import time
import traceback
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .common import (CONFIG_NAME, GRADING_LOG, CourseError, atomic_write_text, course_lock, course_root, db_url,
                     iter_files, nbgrader_meta, read_grading_log, source_notebooks)

DEFAULT_TIMEOUT = 900
DEFAULT_MEMORY_MB = 4096
DEFAULT_CELL_TIMEOUT = 60
MAX_FILE_MB = 512
_PRELOAD = ["cs_helpers.course.grade", "cs_helpers.course._warm", "nbgrader.converters.autograde", "nbgrader.api", "nbgrader.coursedir",
            "nbclient", "jupyter_client", "nbformat", "psutil"]
_PASS_ENV = ("LANG", "LC_ALL", "LC_CTYPE", "USER", "LOGNAME", "TZ", "CS_DOJO_ROOT", "CS_DOJO_DATASETS", "PYTHONPATH",
             "VIRTUAL_ENV", "SSL_CERT_FILE")


def skip_slow_iri_checker() -> None:
    """Keep jsonschema from importing ``rfc3987_syntax`` (a speed fix; call before nbformat is first imported).

    jsonschema imports that optional package, when installed, only to check the ``iri``/``iri-reference`` formats of
    draft 7+ schemas, and it compiles a Lark Earley grammar at import time: 1.2-1.9 s of CPU in every process that
    imports nbformat (the parent and the forkserver, i.e. both cores, before the first learner is graded). nbformat
    validates notebooks against draft 4 schemas, which have no such formats, so validation is unchanged. A ``None``
    entry in ``sys.modules`` makes the import raise ImportError, which jsonschema already treats as "not installed".
    """
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


@dataclass
class Outcome:
    learner: str
    status: str                      # graded / failed / skipped
    score: float = 0.0               # autograded points
    auto_max: float = 0.0
    manual_pending: int = 0          # cells waiting for a person
    reason: str = ""
    seconds: float = 0.0
    questions: dict[str, float | None] = field(default_factory=dict)
    submission: str = ""             # content hash of the submitted folder
    timestamp: str = ""
    graded_at: str = ""


@dataclass
class GradeReport:
    assignment: str
    outcomes: list[Outcome]
    seconds: float
    workers: int
    backup: Path | None = None

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == "failed"]


# ----------------------------------------------------------------------------------------------------------------
# helpers shared by parent and worker


def _load_config(root: Path):
    from traitlets.config.loader import PyFileConfigLoader
    return PyFileConfigLoader(CONFIG_NAME, path=str(root)).load_config()


def submission_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(iter_files(folder)):
        rel = path.relative_to(folder).as_posix()
        digest.update(rel.encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def restore_missing_cells(nb, release_nb) -> list[str]:
    """Put graded/solution/locked cells the learner deleted back, from the released notebook. Returns their ids."""
    import copy
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


def _limit_resources(memory_mb: int) -> None:
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


def _worker_env(job: dict, work: Path) -> dict:
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


def _worker_main(job: dict) -> None:
    """Entry point of a worker process. Writes ``result.json`` in its work folder; never touches the workspace."""
    work = Path(job["work"])
    try:
        os.setsid()
    except OSError:
        pass
    _limit_resources(job["memory_mb"])
    log_path = work / "worker.log"
    log_fd = os.open(log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(log_fd, 1)
    os.dup2(log_fd, 2)
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)
    result = {"status": "error", "reason": "worker did not finish", "restored": []}
    try:
        for sub in ("home", "tmp", "runtime", "jupyter", "ipython", "db"):
            (work / sub).mkdir(parents=True, exist_ok=True)
        os.environ.clear()
        os.environ.update(_worker_env(job, work))
        os.chdir(work)
        result = _grade_in_sandbox(job, work)
    except MemoryError:
        result = {"status": "error", "reason": "memory limit exceeded while grading (メモリ上限を超えました)"}
    except BaseException as exc:  # noqa: BLE001 - everything must end up in result.json
        result = {"status": "error", "reason": f"{type(exc).__name__}: {exc}", "trace": traceback.format_exc()[-3000:]}
    finally:
        tmp = work / "result.json.tmp"
        tmp.write_text(json.dumps(result, ensure_ascii=False), encoding="utf-8")
        os.replace(tmp, work / "result.json")
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


def _grade_in_sandbox(job: dict, work: Path) -> dict:
    import logging

    import nbformat
    from nbgrader.converters.autograde import Autograde
    from nbgrader.converters.base import NbGraderException
    from nbgrader.coursedir import CourseDirectory

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
    shutil.copy2(job["template_db"], db_file)
    timings = {"setup": time.perf_counter() - job["t0"]}

    restored: list[str] = []
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
        if release_path.exists():
            ids = restore_missing_cells(nb, nbformat.read(str(release_path), as_version=4))
            if ids:
                restored += [f"{name}:{gid}" for gid in ids]
                nbformat.write(nb, str(path))

    handler = logging.FileHandler(work / "nbgrader.log", encoding="utf-8")
    handler.setLevel(logging.INFO)
    logging.getLogger().addHandler(handler)
    for name in ("traitlets", "nbgrader", ""):
        logging.getLogger(name).setLevel(logging.INFO)

    cfg = _load_config(course)
    cfg.CourseDirectory.root = str(course)
    cfg.CourseDirectory.db_url = f"sqlite:///{db_file}"
    cfg.CourseDirectory.assignment_id = assignment
    cfg.CourseDirectory.student_id = learner
    cfg.Execute.timeout = job["cell_timeout"]
    # the parent kills this worker's whole process tree afterwards, so waiting for a polite kernel exit is wasted time
    cfg.Execute.shutdown_kernel = "immediate"
    cfg.Autograde.create_student = True
    coursedir = CourseDirectory(config=cfg)
    converter = Autograde(coursedir=coursedir, config=cfg)
    converter.force = True
    os.chdir(course)
    timings["prepared"] = time.perf_counter() - job["t0"]
    try:
        converter.start()
    except NbGraderException:
        return {"status": "error", "kind": _classify((work / "nbgrader.log").read_text(encoding="utf-8", errors="replace")),
                "reason": _summarise((work / "nbgrader.log").read_text(encoding="utf-8", errors="replace")),
                "restored": restored}
    out_dir = course / "autograded" / learner / assignment
    if not out_dir.is_dir():
        return {"status": "error", "kind": "nbgrader", "reason": "nbgrader wrote no autograded notebook",
                "restored": restored}
    timings["autograded"] = time.perf_counter() - job["t0"]
    return {"status": "ok", "autograded": str(out_dir), "restored": restored, "timings": timings}


_KINDS = [
    ("DeadKernelError", "kernel", "the kernel died while running the notebook (カーネルが停止しました: os.kill, "
                                  "os._exit やメモリ不足など)"),
    ("Kernel died", "kernel", "the kernel died while running the notebook (カーネルが停止しました)"),
    ("UnresponsiveKernelError", "timeout", "the kernel stopped responding (カーネルが応答しません)"),
    ("CellTimeoutError", "timeout", "a cell kept running past the per-cell timeout and could not be interrupted "
                                    "(セルが制限時間内に終わらず、中断もできませんでした)"),
    ("MemoryError", "memory", "memory limit exceeded (メモリ上限を超えました)"),
    ("NotJSONError", "notebook", "not a valid notebook (ノートブックとして読めません)"),
    ("OperationalError", "nbgrader", "the grading database copy failed (採点用データベースのエラー)"),
]


def _classify(log: str) -> str:
    for needle, kind, _ in _KINDS:
        if needle in log:
            return kind
    return "nbgrader"


def _summarise(log: str) -> str:
    for needle, _, text in _KINDS:
        if needle in log:
            return text
    errors = [line for line in log.splitlines() if "Error" in line or "error" in line]
    return "nbgrader could not grade the submission: " + (errors[-1].strip()[:300] if errors else "see the log")


# ----------------------------------------------------------------------------------------------------------------
# parent side


def _kill_tree(token: str, pid: int | None) -> None:
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


def _definitions(root: Path, assignment: str) -> dict:
    """Graded cells from the real gradebook: {notebook: {grade_id: {max, manual, checksum}}}."""
    from nbgrader.api import Gradebook, MissingEntry
    defs: dict[str, dict] = {}
    with Gradebook(db_url(root), "cs-dojo") as gb:
        try:
            assignment_row = gb.find_assignment(assignment)
        except MissingEntry:
            raise CourseError(
                f"課題「{assignment}」はまだ配布されていません。先に `cs-dojo release {assignment}` を実行してください。"
                " (assignment not in the gradebook)") from None
        for nb in assignment_row.notebooks:
            solution = {c.name for c in nb.solution_cells}
            sources = {c.name: c for c in nb.source_cells}
            defs[nb.name] = {
                gc.name: {"max": float(gc.max_score), "manual": gc.name in solution,
                          "checksum": sources[gc.name].checksum if gc.name in sources else None,
                          "cell_type": gc.cell_type}
                for gc in nb.grade_cells}
    if not defs:
        raise CourseError(f"課題「{assignment}」に採点対象のノートブックがありません。")
    return defs


def scores_from_autograded(folder: Path | None, defs: dict) -> dict[str, dict[str, tuple[float | None, bool, bool]]]:
    """{notebook: {grade_id: (auto_score, needs_manual, no_response)}} recomputed with nbgrader's determine_grade."""
    import nbformat
    from nbgrader.utils import compute_checksum, determine_grade
    out: dict[str, dict] = {}
    for nb_name, cells in defs.items():
        path = folder / f"{nb_name}.ipynb" if folder else None
        found = {}
        if path is not None and path.exists():
            nb = nbformat.read(str(path), as_version=4)
            for cell in nb.cells:
                gid = nbgrader_meta(cell).get("grade_id")
                if gid in cells and gid not in found:
                    found[gid] = cell
        scores = {}
        for gid, d in cells.items():
            cell = found.get(gid)
            if cell is None or not nbgrader_meta(cell).get("grade"):
                scores[gid] = (0.0, False, True)
                continue
            cell.metadata.nbgrader["points"] = d["max"]
            cell.metadata.nbgrader["solution"] = d["manual"]
            if d["checksum"]:
                cell.metadata.nbgrader["checksum"] = d["checksum"]
            score, _ = determine_grade(cell)
            if score is not None:
                score = max(0.0, min(float(score), d["max"]))
            no_response = bool(d["manual"] and d["checksum"] and compute_checksum(cell) == d["checksum"])
            scores[gid] = (score, score is None, no_response)
        out[nb_name] = scores
    return out


def _timestamp(sub_dir: Path):
    from nbgrader.utils import parse_utc
    path = sub_dir / "timestamp.txt"
    if path.exists():
        try:
            return parse_utc(path.read_text(encoding="utf-8").strip())
        except Exception:  # noqa: BLE001
            return None
    return None


def _store(root: Path, assignment: str, learner: str, scores: dict, failed: bool, timestamp) -> None:
    """Write one learner's grades into the real gradebook (the parent is the only writer)."""
    import warnings

    from nbgrader.api import Gradebook
    with warnings.catch_warnings(), Gradebook(db_url(root), "cs-dojo") as gb:
        warnings.simplefilter("ignore")  # nbgrader's own update_or_create_submission triggers SQLAlchemy warnings
        gb.update_or_create_student(learner)
        if timestamp is not None:
            gb.update_or_create_submission(assignment, learner, timestamp=timestamp)
        else:
            gb.update_or_create_submission(assignment, learner)
        for nb_name, cells in scores.items():
            sub_nb = gb.find_submission_notebook(nb_name, assignment, learner)
            sub_nb.flagged = failed
            for gid, (score, needs_manual, no_response) in cells.items():
                grade = gb.find_grade(gid, nb_name, assignment, learner)
                grade.auto_score = score
                grade.needs_manual_grade = (grade.manual_score is not None or score is None) and not failed
                if grade.manual_score is not None and failed:
                    grade.needs_manual_grade = True
                try:
                    comment = gb.find_comment(gid, nb_name, assignment, learner)
                    comment.auto_comment = "No response." if no_response else None
                except Exception:  # noqa: BLE001 - only solution cells have comments
                    pass
        gb.db.commit()


def _make_template_db(root: Path, dest: Path) -> None:
    """A snapshot of the gradebook with every learner removed (workers see only the assignment definitions)."""
    src = sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    import warnings

    from nbgrader.api import Gradebook
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # SQLAlchemy warns about cascades nbgrader's models leave implicit
        with Gradebook(f"sqlite:///{dest}", "cs-dojo") as gb:
            for student in list(gb.students):
                gb.remove_student(student.id)
    con = sqlite3.connect(dest)
    con.execute("VACUUM")
    con.close()


def _backup_gradebook(root: Path, keep: int = 5) -> Path:
    folder = root / ".cs_dojo" / "backups"
    folder.mkdir(parents=True, exist_ok=True)
    dest = folder / f"gradebook-{dt.datetime.now().strftime('%Y%m%d-%H%M%S-%f')}.db"
    src = sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=ro", uri=True)
    dst = sqlite3.connect(dest)
    with dst:
        src.backup(dst)
    src.close()
    dst.close()
    for old in sorted(folder.glob("gradebook-*.db"))[:-keep]:
        old.unlink()
    return dest


def _grade_config(root: Path) -> dict:
    cfg = _load_config(root)
    section = cfg.get("CsDojoGrade", {})
    execute = cfg.get("Execute", {})
    return {"timeout": int(section.get("timeout", DEFAULT_TIMEOUT)),
            "memory_mb": int(section.get("memory_mb", DEFAULT_MEMORY_MB)),
            "cell_timeout": int(execute.get("timeout", DEFAULT_CELL_TIMEOUT))}


def _write_logs(root: Path, assignment: str, outcomes: list[Outcome]) -> None:
    log = read_grading_log(root)
    entries = log.setdefault(assignment, {})
    for o in outcomes:
        if o.status != "skipped":
            entries[o.learner] = {k: v for k, v in asdict(o).items() if k != "learner"}
    atomic_write_text(root / GRADING_LOG, json.dumps(log, ensure_ascii=False, indent=1, sort_keys=True))
    buf = io.StringIO()
    fields = ["learner", "status", "score", "auto_max", "manual_pending", "reason", "seconds", "timestamp", "graded_at"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for learner, entry in sorted(entries.items()):
        writer.writerow({"learner": learner, **entry})
    atomic_write_text(root / "logs" / f"grading_{assignment}.csv", buf.getvalue())


def grade_assignment(*, course_dir: str | Path = ".", assignment: str, workers: int | None = None,
                     timeout: int | None = None, memory_mb: int | None = None, cell_timeout: int | None = None,
                     learners: list[str] | None = None, force: bool = False, progress: bool = True) -> GradeReport:
    """Autograde every submission of ``assignment`` in isolated worker processes; see the module docstring."""
    import multiprocessing as mp
    from multiprocessing.connection import wait

    started = time.perf_counter()
    skip_slow_iri_checker()
    root = course_root(course_dir)
    notebooks = [p.stem for p in source_notebooks(root, assignment)]
    _start_forkserver()  # imports nbgrader in the forkserver while this process does the same below
    settings = _grade_config(root)
    timeout = int(timeout or settings["timeout"])
    memory_mb = int(memory_mb or settings["memory_mb"])
    cell_timeout = int(cell_timeout or settings["cell_timeout"])
    workers = max(1, int(workers or os.cpu_count() or 1))
    if timeout <= 0 or memory_mb < 256 or cell_timeout <= 0:
        raise CourseError("--timeout と --cell-timeout は正の秒数、--memory-mb は 256 以上を指定してください。")
    sub_root = root / "submitted"
    available = sorted(p.name for p in sub_root.iterdir() if (p / assignment).is_dir()) if sub_root.is_dir() else []
    if learners:
        unknown = [lid for lid in learners if lid not in available]
        if unknown:
            raise CourseError(f"提出物がない受講者: {', '.join(unknown)} (submitted/<learner>/{assignment}/ がありません)")
        available = [lid for lid in available if lid in learners]
    if not available:
        raise CourseError(f"課題「{assignment}」の提出物がありません。先に `cs-dojo collect {assignment} 提出フォルダ` を実行してください。")
    if not (root / "release" / assignment).is_dir():
        raise CourseError(f"release/{assignment}/ がありません。先に `cs-dojo release {assignment}` を実行してください。")

    with course_lock(root, f"grade {assignment}"):
        defs = _definitions(root, assignment)
        auto_max = sum(d["max"] for cells in defs.values() for d in cells.values() if not d["manual"])
        previous = read_grading_log(root).get(assignment, {})
        graded_in_db = _graded_learners(root, assignment)
        jobs, outcomes = [], []
        for learner in available:
            digest = submission_hash(sub_root / learner / assignment)
            prev = previous.get(learner)
            if (not force and prev and prev.get("submission") == digest and prev.get("status") in {"graded", "failed"}
                    and learner in graded_in_db):
                outcomes.append(Outcome(learner, "skipped", prev.get("score", 0.0), prev.get("auto_max", auto_max),
                                        prev.get("manual_pending", 0), prev.get("reason", ""), 0.0,
                                        prev.get("questions", {}), digest, prev.get("timestamp", ""),
                                        prev.get("graded_at", "")))
                continue
            jobs.append((learner, digest))
        backup = _backup_gradebook(root) if jobs else None
        if jobs:
            outcomes += _run_jobs(root, assignment, notebooks, jobs, defs, auto_max, workers, timeout, memory_mb,
                                  cell_timeout, progress, mp, wait)
        outcomes.sort(key=lambda o: o.learner)
        _write_logs(root, assignment, outcomes)
    return GradeReport(assignment, outcomes, time.perf_counter() - started, workers, backup)


def _graded_learners(root: Path, assignment: str) -> set[str]:
    con = sqlite3.connect(f"file:{root / 'gradebook.db'}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT student_id FROM submitted_assignment sa JOIN assignment a "
                           "ON sa.assignment_id = a.id WHERE a.name = ?", (assignment,)).fetchall()
    except sqlite3.Error:
        rows = []
    finally:
        con.close()
    return {r[0] for r in rows}


class _NoMainReimport:
    """multiprocessing re-runs the ``__main__`` script in a new forkserver child when it has a path; our workers never
    need it (their code lives in this package), and an unguarded script would run twice. Hide it while starting."""

    def __enter__(self):
        self.main = sys.modules.get("__main__")
        self.saved = {k: self.main.__dict__[k] for k in ("__file__", "__spec__") if k in self.main.__dict__} \
            if self.main else {}
        if self.main:
            self.main.__dict__.pop("__file__", None)
            self.main.__spec__ = None
        return self

    def __exit__(self, *exc):
        if self.main:
            self.main.__dict__.update(self.saved)
            if "__spec__" not in self.saved:
                self.main.__dict__.pop("__spec__", None)
        return False


def _start_forkserver() -> None:
    """Start multiprocessing's forkserver now, from a neutral folder, with nbgrader preloaded."""
    import multiprocessing as mp
    import multiprocessing.forkserver as fs
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(_PRELOAD)
    old_cwd = os.getcwd()
    neutral = tempfile.gettempdir()
    try:
        os.chdir(neutral)  # the forkserver keeps this cwd; it should not point into the workspace
        with _NoMainReimport():
            fs.ensure_running()
    finally:
        os.chdir(old_cwd)


def _run_jobs(root, assignment, notebooks, jobs, defs, auto_max, workers, timeout, memory_mb, cell_timeout,
              progress, mp, wait) -> list[Outcome]:
    from tqdm import tqdm
    run_dir = Path(tempfile.mkdtemp(prefix="cs-dojo-grade-"))
    outcomes: list[Outcome] = []
    try:
        template = run_dir / "template.db"
        _make_template_db(root, template)
        try:
            import matplotlib
            mplconfig = matplotlib.get_configdir()
        except Exception:  # noqa: BLE001
            mplconfig = None
        _start_forkserver()
        ctx = mp.get_context("forkserver")
        queue = list(jobs)
        running: dict[int, tuple] = {}
        bar = tqdm(total=len(jobs), desc=f"採点中 {assignment}", unit="人", disable=not progress, file=sys.stderr)
        old_cwd = os.getcwd()
        os.chdir(run_dir)  # the forkserver (started on first use) keeps this neutral folder as its cwd
        finished: list[tuple] = []  # workers that ended, waiting for the parent's (serial) bookkeeping

        def top_up() -> None:
            while queue and len(running) < workers:
                learner, digest = queue.pop(0)
                work = Path(tempfile.mkdtemp(prefix="w-", dir=run_dir))
                token = uuid.uuid4().hex
                job = {"learner": learner, "assignment": assignment, "root": str(root), "work": str(work),
                       "notebooks": notebooks, "template_db": str(template), "memory_mb": memory_mb,
                       "cell_timeout": cell_timeout, "token": token, "mplconfigdir": mplconfig,
                       "t0": time.perf_counter()}
                proc = ctx.Process(target=_worker_main, args=(job,), name=f"cs-dojo-grade-{learner}", daemon=False)
                with _NoMainReimport():
                    proc.start()
                running[proc.sentinel] = (proc, time.monotonic(), learner, digest, work, token)

        try:
            while queue or running:
                top_up()
                ready = wait(list(running), timeout=0.5)
                now = time.monotonic()
                for sentinel in list(running):
                    proc, t0, learner, digest, work, token = running[sentinel]
                    timed_out = now - t0 > timeout
                    if sentinel not in ready and not timed_out:
                        continue
                    del running[sentinel]
                    _kill_tree(token, proc.pid)
                    proc.join(5)
                    finished.append((proc, t0, learner, digest, work, timed_out and sentinel not in ready, now))
                # Refill the free slots *before* the bookkeeping below (scores, gradebook write, copies: ~60 ms per
                # learner, serial in this process), so that no core waits for the parent between two submissions.
                top_up()
                while finished:
                    proc, t0, learner, digest, work, killed, now = finished.pop(0)
                    outcome = _finish(root, assignment, learner, digest, work, defs, auto_max, proc.exitcode,
                                      killed, timeout, now - t0)
                    outcomes.append(outcome)
                    bar.update(1)
                    if outcome.status == "failed":
                        bar.write(f"  ✗ {learner}: 0 点として記録 — {outcome.reason}")
                    shutil.rmtree(work, ignore_errors=True)
        except BaseException:
            for proc, _, _, _, _, token in running.values():
                _kill_tree(token, proc.pid)
            raise
        finally:
            os.chdir(old_cwd)
            bar.close()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return outcomes


def _finish(root, assignment, learner, digest, work: Path, defs, auto_max, exitcode, timed_out, timeout,
            seconds) -> Outcome:
    sub_dir = root / "submitted" / learner / assignment
    timestamp = _timestamp(sub_dir)
    result = {}
    if (work / "result.json").exists():
        try:
            result = json.loads((work / "result.json").read_text(encoding="utf-8"))
        except ValueError:
            result = {}
    reason = ""
    if timed_out:
        reason = f"wall-clock limit of {timeout} s exceeded (制限時間 {timeout} 秒を超えたため打ち切りました)"
    elif result.get("status") == "ok":
        pass
    elif result:
        reason = result.get("reason") or "grading failed"
    elif exitcode and exitcode < 0:
        sig = -exitcode
        name = signal.Signals(sig).name if sig in {s.value for s in signal.Signals} else str(sig)
        reason = f"the grading process was killed by {name} (採点プロセスが強制終了されました)"
    else:
        reason = f"the grading process ended without a result (exit code {exitcode})"
    restored = result.get("restored") or []
    failed = bool(reason)
    dest = root / "autograded" / learner / assignment
    log_src = work / "nbgrader.log"
    if log_src.exists():
        log_dest = root / "logs" / "grading" / assignment / f"{learner}.log"
        log_dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(log_src, log_dest)
    if failed:
        scores = {nb: {gid: (0.0, False, False) for gid in cells} for nb, cells in defs.items()}
        if dest.exists():
            shutil.rmtree(dest)
    else:
        produced = Path(result["autograded"])
        try:
            scores = scores_from_autograded(produced, defs)
        except Exception as exc:  # noqa: BLE001
            failed, reason = True, f"the autograded notebook could not be read ({type(exc).__name__}: {exc})"
            scores = {nb: {gid: (0.0, False, False) for gid in cells} for nb, cells in defs.items()}
        if not failed:
            staging = dest.parent / f".{assignment}.new"
            if staging.exists():
                shutil.rmtree(staging)
            staging.parent.mkdir(parents=True, exist_ok=True)
            shutil.copytree(produced, staging, symlinks=False)
            if dest.exists():
                shutil.rmtree(dest)
            staging.rename(dest)
    _store(root, assignment, learner, scores, failed, timestamp)
    questions = {gid: s[0] for cells in scores.values() for gid, s in cells.items()}
    score = sum(s[0] or 0.0 for cells in scores.values() for gid, s in cells.items()
                if not defs[_nb_of(defs, gid)][gid]["manual"])
    pending = sum(1 for cells in scores.values() for s in cells.values() if s[1])
    note = f"restored deleted cells: {', '.join(restored)}" if restored and not failed else ""
    return Outcome(learner, "failed" if failed else "graded", score, auto_max, pending, reason or note,
                   round(seconds, 2), questions, digest, str(timestamp or ""),
                   dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))


def _nb_of(defs: dict, gid: str) -> str:
    for nb, cells in defs.items():
        if gid in cells:
            return nb
    raise KeyError(gid)


def format_report(report: GradeReport) -> str:
    lines = [f"課題 {report.assignment}: {len(report.outcomes)} 人 ({report.workers} 並列, {report.seconds:.1f} 秒)"]
    width = max([len(o.learner) for o in report.outcomes] + [8])
    lines.append(f"  {'learner'.ljust(width)}  状態      自動採点  手動待ち  備考")
    label = {"graded": "採点済み", "failed": "0点記録", "skipped": "変更なし"}
    for o in report.outcomes:
        lines.append(f"  {o.learner.ljust(width)}  {label.get(o.status, o.status):<8}  "
                     f"{o.score:>4g}/{o.auto_max:<4g}  {o.manual_pending:>6}    {o.reason}")
    if report.failed:
        lines.append(f"0点として記録した提出物: {len(report.failed)} 件 (理由は grading_log.json と "
                     f"logs/grading_{report.assignment}.csv にもあります)")
    if report.backup:
        lines.append(f"採点前の gradebook のバックアップ: {report.backup}")
    return "\n".join(lines)
