"""The trusted parent of ``cs-dojo grade``: what to grade, running the workers, recomputing and storing scores.

How one submission is graded (a *worker*):

1. The parent decides the isolation level once per run (``--sandbox auto|required|off``, see ``sandbox.py``) and
   builds, in memory, a copy of the gradebook holding only the assignment definitions (no learners). For each
   submission it makes a private folder and writes that learner's own gradebook copy into it: nothing is shared
   between workers, and no common template file exists while learner code runs.
2. It forks a fresh worker (from a ``forkserver`` that has nbgrader imported once, so a worker starts in
   milliseconds). The worker starts its own session, sets ``RLIMIT_AS`` (memory), ``RLIMIT_FSIZE`` and
   ``RLIMIT_CORE``, replaces its environment (``CS_DOJO_LEARNER_ID=<learner>``, a private ``HOME``) and builds a
   throwaway nbgrader course in its folder: ``nbgrader_config.py``, ``source/<assignment>/`` and a *copy* of this
   learner's ``submitted/<learner>/<assignment>/``.
3. Graded cells the learner deleted are put back from the released notebook and duplicated graded cells are
   reduced to one copy (``worker.deduplicate_graded_cells``); nbgrader then overwrites edited test cells from the
   gradebook copy, runs the notebook (per-cell timeout) and writes the autograded notebook. At the ``sandbox``
   level the kernel, the only process running learner code, starts inside bubblewrap and sees only its copy of
   the submission, a private home and the read-only interpreter and course data.
4. The worker exits. The parent kills anything left of it (kernels included), enforces the wall-clock limit, and
   recomputes the scores from the autograded notebook with nbgrader's own ``determine_grade`` against the *real*
   gradebook's cell definitions (``scores.py``: stderr noise is ignored, exceptions still fail a test). Roleplay
   questions are scored here, from the submission's ``responses/`` against the trainer's scenarios.
5. The parent, the only writer, checks that ``gradebook.db`` is intact, stores the grades through nbgrader's
   ``Gradebook`` API and copies the autograded notebook into ``autograded/<learner>/<assignment>/``.

A submission that cannot be graded (kernel crash, wall-clock timeout, memory limit, a file that is not a notebook)
gets a recorded zero: every graded cell scores 0, the submission is flagged in the gradebook, and the reason and the
command that regrades it are printed and kept in ``grading_log.json`` and ``logs/grading_<assignment>.csv``. Other
learners are not affected. If the gradebook itself was damaged during the run (only possible without the sandbox),
grading stops and says how to restore the backup taken before the run.

Re-running is idempotent: learners whose submission did not change since their last grading are skipped
(``force=True`` regrades them and gives the same result); manual scores given in the formgrader are kept.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shlex
import shutil
import signal
import sys
import tempfile
import time
import uuid
from pathlib import Path

from dataclasses import dataclass, field

from ..common import CourseError, course_lock, course_root, iter_files, read_grading_log, say, source_notebooks
from .logs import FAILED, GRADED, NOTED, SKIPPED, GradeReport, Outcome, write_logs
from .sandbox import MODES, SandboxUnavailable, font_cache_files, kill_tree, resolve_isolation
from .settings import grade_settings
from .scores import definitions, nb_of, roleplay_cells, scores_from_autograded
from .store import (backup_gradebook, gradebook_problem, graded_learners, make_template_db, reused_gradebook_engines,
                    store_grades, submission_timestamp)
from .worker import _worker_main, make_work_dirs, skip_slow_iri_checker

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




def regrade_command(root: Path, assignment: str, learner: str) -> str:
    return (f"cs-dojo grade {shlex.quote(assignment)} --learner {shlex.quote(learner)} --force "
            f"--course-dir {shlex.quote(str(root))}")


def grade_assignment(*, course_dir: str | Path = ".", assignment: str, workers: int | None = None,
                     timeout: int | None = None, memory_mb: int | None = None, cell_timeout: int | None = None,
                     learners: list[str] | None = None, force: bool = False, progress: bool = True,
                     sandbox: str | None = None) -> GradeReport:
    """Autograde every submission of ``assignment`` in isolated workers; see the module docstring.

    ``sandbox``: ``auto`` (default, or ``c.CsDojoGrade.sandbox``), ``required`` or ``off`` (see ``sandbox.py``).
    """
    import multiprocessing as mp

    started = time.perf_counter()
    skip_slow_iri_checker()
    root = course_root(course_dir)
    notebooks = [p.stem for p in source_notebooks(root, assignment)]
    _start_forkserver()  # imports nbgrader in the forkserver while this process does the same below
    settings = grade_settings(root)
    timeout = int(timeout or settings["timeout"])
    memory_mb = int(memory_mb or settings["memory_mb"])
    cell_timeout = int(cell_timeout or settings["cell_timeout"])
    mode = sandbox or settings["sandbox"]
    workers = max(1, int(workers or os.cpu_count() or 1))
    if timeout <= 0 or memory_mb < 256 or cell_timeout <= 0:
        raise CourseError("--timeout と --cell-timeout は正の秒数、--memory-mb は 256 以上を指定してください。")
    if mode not in MODES:
        raise CourseError(f"--sandbox (c.CsDojoGrade.sandbox) は {' / '.join(MODES)} のどれかです (指定: {mode!r})。")
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
    try:
        isolation = resolve_isolation(mode)
    except SandboxUnavailable as exc:
        raise CourseError(f"採点のサンドボックスを使えないため、採点しませんでした (--sandbox required)。理由: {exc.reason}。"
                          f" 直し方: {exc.fix}") from None
    if isolation.warning:
        say(f"警告: 採点のサンドボックスを使えないため、プロセス分離だけで採点します。受講者のコードは講師と同じ"
            f"権限で動き、講座フォルダに届く可能性があります (warning: grading without the sandbox). "
            f"{isolation.warning}", err=True)

    with course_lock(root, f"grade {assignment}"):
        defs = definitions(root, assignment)
        auto_max = sum(d["max"] for cells in defs.values() for d in cells.values() if not d["manual"])
        previous = read_grading_log(root).get(assignment, {})
        graded_in_db = graded_learners(root, assignment)
        jobs, outcomes = [], []
        for learner in available:
            digest = submission_hash(sub_root / learner / assignment)
            prev = previous.get(learner)
            if (not force and prev and prev.get("submission") == digest
                    and prev.get("status") in {GRADED, NOTED, FAILED} and learner in graded_in_db):
                outcomes.append(Outcome(learner, SKIPPED, prev.get("score", 0.0), prev.get("auto_max", auto_max),
                                        prev.get("manual_pending", 0), prev.get("reason", ""), 0.0,
                                        prev.get("questions", {}), digest, prev.get("timestamp", ""),
                                        prev.get("graded_at", ""), list(prev.get("notes") or []),
                                        prev.get("isolation", ""), prev.get("regrade", ""),
                                        roleplay=dict(prev.get("roleplay") or {})))
                continue
            jobs.append((learner, digest))
        backup = backup_gradebook(root) if jobs else None
        if jobs:
            run = _Run(root=root, assignment=assignment, notebooks=notebooks, defs=defs, auto_max=auto_max,
                       workers=workers, timeout=timeout, memory_mb=memory_mb, cell_timeout=cell_timeout,
                       isolation=isolation.level, bwrap=isolation.bwrap, backup=backup,
                       roleplay=roleplay_cells(root, assignment))
            with reused_gradebook_engines():
                outcomes += _run_jobs(run, jobs, progress, mp)
        outcomes.sort(key=lambda o: o.learner)
        write_logs(root, assignment, outcomes)
    return GradeReport(assignment, outcomes, time.perf_counter() - started, workers, backup, isolation.level,
                       isolation.warning)


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


@dataclass
class _Run:
    """What every job of one run shares (all of it stays in the parent)."""
    root: Path
    assignment: str
    notebooks: list[str]
    defs: dict
    auto_max: float
    workers: int
    timeout: int
    memory_mb: int
    cell_timeout: int
    isolation: str
    bwrap: str | None
    backup: Path | None
    roleplay: dict = field(default_factory=dict)
    prestart: int = 1                # workers started ahead of a free slot (they warm up, then wait)


@dataclass
class _Running:
    proc: object
    started: float
    learner: str
    digest: str
    work: Path
    token: str
    go: object = None
    killed: bool = False
    ended: float = 0.0


def _run_jobs(run: _Run, jobs: list[tuple[str, str]], progress: bool, mp) -> list[Outcome]:
    from multiprocessing.connection import wait

    from tqdm import tqdm

    from ... import paths
    run_dir = Path(tempfile.mkdtemp(prefix="cs-dojo-grade-"))
    outcomes: list[Outcome] = []
    try:
        template = make_template_db(run.root)
        datasets = str(paths.datasets_dir())
        fonts = font_cache_files()
        ctx = mp.get_context("forkserver")
        queue = list(jobs)
        running: dict[int, _Running] = {}
        pending: dict[int, _Running] = {}  # started ahead of a free slot, warming up or waiting for "go"
        bar = tqdm(total=len(jobs), desc=f"採点中 {run.assignment}", unit="人", disable=not progress, file=sys.stderr)
        old_cwd = os.getcwd()
        os.chdir(run_dir)  # the forkserver (started on first use) keeps this neutral folder as its cwd
        finished: list[_Running] = []  # workers that ended, waiting for the parent's (serial) bookkeeping

        def spawn(go_now: bool) -> _Running:
            learner, digest = queue.pop(0)
            work = Path(tempfile.mkdtemp(prefix="w-", dir=run_dir))
            make_work_dirs(work)
            (work / "db" / "gradebook.db").write_bytes(template)
            for font_list in fonts:
                shutil.copyfile(font_list, work / "box" / "mpl" / font_list.name)
            token = uuid.uuid4().hex
            job = {"learner": learner, "assignment": run.assignment, "root": str(run.root), "work": str(work),
                   "notebooks": run.notebooks, "memory_mb": run.memory_mb, "cell_timeout": run.cell_timeout,
                   "token": token, "isolation": run.isolation, "bwrap": run.bwrap, "datasets": datasets,
                   "t0": time.perf_counter()}
            go = ctx.Event()
            if go_now:
                go.set()
            proc = ctx.Process(target=_worker_main, args=(job, go), name=f"cs-dojo-grade-{learner}", daemon=False)
            with _NoMainReimport():
                proc.start()
            return _Running(proc, time.monotonic(), learner, digest, work, token, go)

        def top_up() -> None:
            while len(running) < run.workers and (pending or queue):
                if pending:
                    sentinel = next(iter(pending))
                    job = pending.pop(sentinel)
                    job.started = time.monotonic()  # the wall-clock limit counts from here
                    job.go.set()
                else:
                    job = spawn(True)
                    sentinel = job.proc.sentinel
                running[sentinel] = job
            while queue and len(pending) < run.prestart:
                job = spawn(False)
                pending[job.proc.sentinel] = job

        try:
            while queue or running or pending:
                top_up()
                ready = wait([*running, *pending], timeout=0.5)
                now = time.monotonic()
                for sentinel in [s for s in pending if s in ready]:  # ended before its turn (e.g. not a notebook)
                    job = pending.pop(sentinel)
                    kill_tree(job.token, job.proc.pid)
                    job.proc.join(5)
                    job.started = job.ended = now
                    finished.append(job)
                for sentinel in list(running):
                    job = running[sentinel]
                    timed_out = now - job.started > run.timeout
                    if sentinel not in ready and not timed_out:
                        continue
                    del running[sentinel]
                    kill_tree(job.token, job.proc.pid)
                    job.proc.join(5)
                    job.killed, job.ended = timed_out and sentinel not in ready, now
                    finished.append(job)
                # Refill the free slots *before* the bookkeeping below (scores, gradebook write, copies: ~60 ms per
                # learner, serial in this process), so that no core waits for the parent between two submissions.
                top_up()
                while finished:
                    job = finished.pop(0)
                    outcome = _finish(run, job)
                    outcomes.append(outcome)
                    bar.update(1)
                    if outcome.status == FAILED:
                        bar.write(f"  ✗ {job.learner}: 0 点として記録 — {outcome.reason}")
                    shutil.rmtree(job.work, ignore_errors=True)
        except BaseException:
            for job in [*running.values(), *pending.values()]:
                kill_tree(job.token, job.proc.pid)
            raise
        finally:
            os.chdir(old_cwd)
            bar.close()
    finally:
        shutil.rmtree(run_dir, ignore_errors=True)
    return outcomes


def _score_roleplay(run: _Run, learner: str, produced: Path | None, scores: dict, notes: list[str],
                   endings: dict[str, str]) -> None:
    """Replace what the kernel computed for roleplay cells by the trusted scorer's result (see the module docstring).

    ``endings`` receives each scenario's outcome (success / partial / fail; "" when the record was rejected), which
    the cohort report shows instead of anything read from the learner's own files."""
    import nbformat
    try:
        from ...roleplay.trusted import score_submission
    except ImportError as exc:
        score_submission = None
        notes.append(f"roleplay scorer unavailable ({exc}); roleplay questions scored 0")
    sub_dir = run.root / "submitted" / learner / run.assignment
    for nb_name, cells in run.roleplay.items():
        path = produced / f"{nb_name}.ipynb" if produced else None
        nb = nbformat.read(str(path), as_version=4) if path is not None and path.exists() else None
        for gid, scenario in cells.items():
            if nb_name not in scores or gid not in scores[nb_name]:
                continue
            points = run.defs[nb_name][gid]["max"]
            if score_submission is None:
                earned, message = 0.0, "ロールプレイの採点機能が見つからないため 0 点にしました。講師に連絡してください。"
            else:
                result = score_submission(scenario, submission_dir=sub_dir, learner=learner, points=points)
                earned, message = max(0.0, min(float(result.points), points)), str(result.message)
                if getattr(result, "reason", ""):
                    notes.append(f"roleplay {gid}: {result.reason}")
                if getattr(result, "restarts", 0):
                    notes.append(f"roleplay {gid}: restarts: {result.restarts}")
                report = getattr(result, "report", None)
                endings[scenario] = str(getattr(report, "outcome", "") or "") if getattr(result, "ok", False) else ""
            scores[nb_name][gid] = (earned, False, False)
            if nb is not None:
                for cell in nb.cells:
                    if cell.get("metadata", {}).get("nbgrader", {}).get("grade_id") == gid and cell.cell_type == "code":
                        cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text=message + "\n")]
        if nb is not None:
            nbformat.write(nb, str(path))


def _finish(run: _Run, job: _Running) -> Outcome:
    root, assignment, learner, defs, work = run.root, run.assignment, job.learner, run.defs, job.work
    sub_dir = root / "submitted" / learner / assignment
    timestamp = submission_timestamp(sub_dir)
    result = {}
    if (work / "result.json").exists():
        try:
            result = json.loads((work / "result.json").read_text(encoding="utf-8"))
        except ValueError:
            result = {}
    exitcode = job.proc.exitcode
    reason = ""
    if job.killed:
        reason = f"wall-clock limit of {run.timeout} s exceeded (制限時間 {run.timeout} 秒を超えたため打ち切りました)"
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
    notes = list(result.get("notes") or [])
    endings: dict[str, str] = {}
    if restored:
        notes.insert(0, f"restored deleted cells: {', '.join(restored)}")
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
            if run.roleplay:
                _score_roleplay(run, learner, produced, scores, notes, endings)
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
    problem = gradebook_problem(root, assignment)
    if problem:
        hint = f" cp {shlex.quote(str(run.backup))} {shlex.quote(str(root / 'gradebook.db'))}" if run.backup else ""
        raise CourseError(
            f"gradebook.db が採点中に壊されました ({problem})。採点を止めました。採点前のバックアップから戻してください:{hint}"
            f" — 受講者のコードが講座フォルダに届いた可能性があります (isolation: {run.isolation})。"
            " bubblewrap を入れて `--sandbox required` で採点し直してください。 (the gradebook was damaged during grading)")
    store_grades(root, assignment, learner, scores, failed, timestamp)
    questions = {gid: s[0] for cells in scores.values() for gid, s in cells.items()}
    score = sum(s[0] or 0.0 for cells in scores.values() for gid, s in cells.items()
                if not defs[nb_of(defs, gid)][gid]["manual"])
    pending = sum(1 for cells in scores.values() for s in cells.values() if s[1])
    status = FAILED if failed else (NOTED if notes else GRADED)
    return Outcome(learner, status, score, run.auto_max, pending, reason, round(job.ended - job.started, 2),
                   questions, job.digest, str(timestamp or ""),
                   dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), notes, run.isolation,
                   regrade_command(root, assignment, learner) if failed else "", roleplay=endings)
