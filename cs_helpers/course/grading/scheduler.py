"""The trusted parent of ``cs-dojo grade``: what to grade, running the workers, recomputing and storing scores.

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

import datetime as dt
import hashlib
import json
import os
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

from ..common import CourseError, course_lock, course_root, iter_files, read_grading_log, source_notebooks
from .logs import GradeReport, Outcome, write_logs
from .sandbox import kill_tree
from .scores import definitions, nb_of, scores_from_autograded
from .store import backup_gradebook, graded_learners, make_template_db, store_grades, submission_timestamp
from .worker import _worker_main, load_config, skip_slow_iri_checker

DEFAULT_TIMEOUT = 900
DEFAULT_MEMORY_MB = 4096
DEFAULT_CELL_TIMEOUT = 60
_PRELOAD = ["cs_helpers.course.grading", "cs_helpers.course._warm", "nbgrader.converters.autograde", "nbgrader.api",
            "nbgrader.coursedir", "nbclient", "jupyter_client", "nbformat", "psutil"]


def submission_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(iter_files(folder)):
        rel = path.relative_to(folder).as_posix()
        digest.update(rel.encode("utf-8") + b"\0")
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def _grade_config(root: Path) -> dict:
    cfg = load_config(root)
    section = cfg.get("CsDojoGrade", {})
    execute = cfg.get("Execute", {})
    return {"timeout": int(section.get("timeout", DEFAULT_TIMEOUT)),
            "memory_mb": int(section.get("memory_mb", DEFAULT_MEMORY_MB)),
            "cell_timeout": int(execute.get("timeout", DEFAULT_CELL_TIMEOUT))}



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
        defs = definitions(root, assignment)
        auto_max = sum(d["max"] for cells in defs.values() for d in cells.values() if not d["manual"])
        previous = read_grading_log(root).get(assignment, {})
        graded_in_db = graded_learners(root, assignment)
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
        backup = backup_gradebook(root) if jobs else None
        if jobs:
            outcomes += _run_jobs(root, assignment, notebooks, jobs, defs, auto_max, workers, timeout, memory_mb,
                                  cell_timeout, progress, mp, wait)
        outcomes.sort(key=lambda o: o.learner)
        write_logs(root, assignment, outcomes)
    return GradeReport(assignment, outcomes, time.perf_counter() - started, workers, backup)



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
        make_template_db(root, template)
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
                    kill_tree(token, proc.pid)
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
                kill_tree(token, proc.pid)
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
    timestamp = submission_timestamp(sub_dir)
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
    store_grades(root, assignment, learner, scores, failed, timestamp)
    questions = {gid: s[0] for cells in scores.values() for gid, s in cells.items()}
    score = sum(s[0] or 0.0 for cells in scores.values() for gid, s in cells.items()
                if not defs[nb_of(defs, gid)][gid]["manual"])
    pending = sum(1 for cells in scores.values() for s in cells.values() if s[1])
    note = f"restored deleted cells: {', '.join(restored)}" if restored and not failed else ""
    return Outcome(learner, "failed" if failed else "graded", score, auto_max, pending, reason or note,
                   round(seconds, 2), questions, digest, str(timestamp or ""),
                   dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"))

