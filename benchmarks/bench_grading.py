"""Grading and personalisation speed, measured side by side in one run.

* ``grade 20 submissions``: ``cs-dojo grade 00_sample --workers 2 --sandbox required`` (every kernel in its own
  bubblewrap sandbox, one process and one private copy per submission) vs plain ``nbgrader autograde 00_sample``
  over the same 20 submissions, each in its own identical copy of one course workspace. Goal: baseline/ours ≥ 2.5×
  on 2 cores, with the same scores as nbgrader. The same run also grades a third copy with ``--sandbox off``: the
  second row gives the sandbox's own overhead (baseline = sandbox off, ours = sandbox on).
* ``personalise 100×6 prepare-only``: ``cs-dojo personalise --prepare-only`` for 100 learners × 6 lesson notebooks
  (whole command, process start included) vs papermill's own ``execute_notebook(prepare_only=True)`` called for each
  of the 600 notebooks. Goal: ours < 30 s.

Run: ``python -m benchmarks grading`` (or ``make bench``).
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
FIX = ROOT / "tests" / "fixtures" / "course" / "submissions"
VARIANTS = ["full", "partial", "blank", "edited", "noisy"]
N_SUBMISSIONS = 20
N_LEARNERS = 100
N_LESSONS = 6


def _env() -> dict:
    env = dict(os.environ)
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env.pop("CS_DOJO_LEARNER_ID", None)
    env.setdefault("MPLBACKEND", "Agg")
    return env


def _run(cmd: list[str], cwd: Path, check: bool = True) -> float:
    started = time.perf_counter()
    proc = subprocess.run(cmd, cwd=cwd, env=_env(), capture_output=True, text=True)
    seconds = time.perf_counter() - started
    (cwd / "bench_command.log").write_text(proc.stdout + proc.stderr, encoding="utf-8")
    if proc.returncode != 0 and check:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout[-2000:]}\n{proc.stderr[-2000:]}")
    return seconds


def _source(variant: str) -> Path:
    folder = FIX / variant / "sample.ipynb"
    return folder if folder.exists() else FIX / f"{variant}_sample.ipynb"


def _grading_course(tmp: Path) -> Path:
    from cs_helpers.course.collect import collect_submissions
    from cs_helpers.course.release import release_assignment
    from cs_helpers.course.roster import import_roster
    from cs_helpers.course.workspace import init_course
    empty = tmp / "empty"
    empty.mkdir()
    course = tmp / "base"
    init_course(course, exercises=empty, curriculum=empty)
    rows = ["learner_id,name,email,cohort"] + [f"b{i:02d},受講 者{i},,bench" for i in range(N_SUBMISSIONS)]
    (tmp / "roster.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_roster(course_dir=course, csv_path=tmp / "roster.csv")
    release_assignment(course_dir=course, assignment="00_sample", make_zip=False)
    box = tmp / "box"
    box.mkdir()
    for i in range(N_SUBMISSIONS):
        shutil.copyfile(_source(VARIANTS[i % len(VARIANTS)]), box / f"b{i:02d}_sample.ipynb")
    collect_submissions(course_dir=course, assignment="00_sample", path=box)
    return course


def bench_grade(tmp: Path) -> list[dict]:
    base = _grading_course(tmp)
    plain, ours, off = tmp / "plain", tmp / "ours", tmp / "off"
    for copy in (plain, ours, off):
        shutil.copytree(base, copy)
    _run([sys.executable, "-c", "import nbgrader.api, nbgrader.converters.autograde"], tmp)  # warm the file cache
    baseline = _run([sys.executable, "-m", "nbgrader", "autograde", "00_sample", "--force",
                     f"--CourseDirectory.root={plain}"], plain, check=False)
    cs_dojo = str(Path(sys.executable).parent / "cs-dojo")
    seconds = _run([cs_dojo, "grade", "00_sample", "--workers", "2", "-q", "--sandbox", "required"], ours)
    seconds_off = _run([cs_dojo, "grade", "00_sample", "--workers", "2", "-q", "--sandbox", "off"], off)
    from nbgrader.api import Gradebook

    def totals(course: Path) -> dict:
        with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
            return {s.student.id: s.score for s in gb.find_assignment("00_sample").submissions}
    plain_totals, our_totals, off_totals = totals(plain), totals(ours), totals(off)
    same, same_off = plain_totals == our_totals, plain_totals == off_totals
    if not (same and same_off):
        log = (plain / "bench_command.log").read_text(encoding="utf-8")
        errors = [line for line in log.splitlines() if "ERROR" in line or "Error" in line][-5:]
        print(f"[grading] plain nbgrader and cs-dojo differ: {plain_totals} vs {our_totals} (sandbox) / "
              f"{off_totals} (off)\n  " + "\n  ".join(errors), file=sys.stderr)
    overhead = (seconds / seconds_off - 1) * 100
    return [{"name": f"grade {N_SUBMISSIONS} submissions: cs-dojo grade --workers 2 --sandbox required vs "
                     "nbgrader autograde",
             "seconds": seconds, "baseline_seconds": baseline, "goal": ">= 2.5x",
             "notes": f"cores={os.cpu_count()}; same scores as nbgrader: {same}; sandbox off: {seconds_off:.1f} s "
                      f"({baseline / seconds_off:.2f}x, same scores: {same_off})"},
            {"name": f"grade {N_SUBMISSIONS} submissions: sandbox overhead (ours = on, baseline = off)",
             "seconds": seconds, "baseline_seconds": seconds_off,
             "notes": f"sandbox on vs off: {overhead:+.0f}% wall time"}]


def bench_personalise(tmp: Path) -> dict:
    from cs_helpers.course.roster import import_roster
    from cs_helpers.course.workspace import init_course
    empty = tmp / "empty-p"
    empty.mkdir()
    course = tmp / "lessons-course"
    init_course(course, exercises=empty, curriculum=empty)
    lesson = course / "lessons" / "00_sample_lesson.ipynb"
    for i in range(1, N_LESSONS):
        shutil.copyfile(lesson, course / "lessons" / f"0{i}_lesson_copy.ipynb")
    rows = ["learner_id,name,email,cohort"] + [f"p{i:03d},受講 者{i},,c{i % 4}" for i in range(N_LEARNERS)]
    (tmp / "roster100.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    import_roster(course_dir=course, csv_path=tmp / "roster100.csv")
    seconds = _run([str(Path(sys.executable).parent / "cs-dojo"), "personalise", "--prepare-only", "-q"], course)
    import papermill as pm
    out = tmp / "papermill-out"
    started = time.perf_counter()
    for i in range(N_LEARNERS):
        for nb in sorted((course / "lessons").glob("*.ipynb")):
            dest = out / f"p{i:03d}" / nb.name
            dest.parent.mkdir(parents=True, exist_ok=True)
            pm.execute_notebook(str(nb), str(dest), parameters={"learner_id": f"p{i:03d}", "cohort": f"c{i % 4}",
                                                               "company_profile": "saas_smb", "data_seed": i},
                                prepare_only=True, progress_bar=False, log_output=False)
    baseline = time.perf_counter() - started
    return {"name": f"personalise --prepare-only {N_LEARNERS} learners x {N_LESSONS} notebooks",
            "seconds": seconds, "baseline_seconds": baseline, "goal": "< 30 s",
            "notes": "baseline: papermill.execute_notebook(prepare_only=True) per notebook, in-process"}


def run() -> list[dict]:
    with tempfile.TemporaryDirectory(prefix="bench-grading-") as tmp:
        tmp = Path(tmp)
        return [*bench_grade(tmp), bench_personalise(tmp)]


if __name__ == "__main__":
    for row in run():
        print(row)
