"""``cs-dojo personalise``: per-learner (or per-cohort) copies of the lesson notebooks with papermill parameters.

Lessons are the notebooks under ``lessons/`` of the workspace (``cs-dojo init`` copies ``curriculum/`` there). A lesson
with a cell tagged ``parameters`` gets papermill's ``injected-parameters`` cell right after it with:

* ``learner_id`` — the learner (``""`` in cohort mode),
* ``cohort`` — from roster.csv,
* ``company_profile`` — roster.csv's ``company_profile`` column, else ``default_company_profile``,
* ``data_seed`` — ``cs_helpers.learner.learner_seed("data", <learner or cohort>)``, stable across runs.

Lessons without such a cell are copied unchanged so each folder is a complete course. A lesson in which an *nbgrader*
cell carries the ``parameters`` tag is refused (exercises must never be personalised that way).

``prepare_only=True`` only injects (papermill's parameterisation, no kernel; hundreds of notebooks per second).
Otherwise each notebook is executed by papermill in its output folder with ``CS_DOJO_LEARNER_ID`` set, and failures
are reported per notebook (the executed notebook with the error is still written).

Output: ``personalised/<learner_id>/<lesson path>`` (``personalised/cohort-<cohort>/...`` with ``per="cohort"``).
"""
from __future__ import annotations

import copy
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from ..learner import learner_seed
from .common import (CourseError, Learner, cell_tags, course_root, nbgrader_meta, read_roster)

DEFAULT_COMPANY_PROFILE = "saas_smb"


@dataclass
class PersonaliseResult:
    out_dir: Path
    targets: list[str] = field(default_factory=list)
    written: int = 0
    parameterised: list[str] = field(default_factory=list)
    copied: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)
    failures: list[tuple[str, str, str]] = field(default_factory=list)   # (target, lesson, error)


def _targets(roster: list[Learner], per: str, learners: list[str] | None, default_profile: str) -> list[tuple[str, dict]]:
    if learners:
        known = {lr.learner_id for lr in roster}
        unknown = [lid for lid in learners if lid not in known]
        if unknown:
            raise CourseError(f"roster.csv にない受講者: {', '.join(unknown)}")
        roster = [lr for lr in roster if lr.learner_id in learners]
    if per == "learner":
        return [(lr.learner_id, {"learner_id": lr.learner_id, "cohort": lr.cohort,
                                 "company_profile": lr.company_profile or default_profile,
                                 "data_seed": learner_seed("data", lr.learner_id)}) for lr in roster]
    if per == "cohort":
        cohorts: dict[str, str] = {}
        for lr in roster:
            cohorts.setdefault(lr.cohort or "none", lr.company_profile or default_profile)
        return [(f"cohort-{c}", {"learner_id": "", "cohort": "" if c == "none" else c, "company_profile": profile,
                                 "data_seed": learner_seed("data", f"cohort:{c}")}) for c, profile in cohorts.items()]
    raise CourseError("per は learner か cohort を指定してください。")


def _lessons(lessons_dir: Path) -> list[Path]:
    if not lessons_dir.is_dir():
        raise CourseError(f"教材フォルダ {lessons_dir} がありません。 (`cs-dojo init` が curriculum/ をコピーします)")
    found = []
    for path in sorted(lessons_dir.rglob("*.ipynb")):
        rel = path.relative_to(lessons_dir)
        if any(p.startswith(".") or p == "facilitator" for p in rel.parts):
            continue
        found.append(path)
    if not found:
        raise CourseError(f"{lessons_dir} にノートブックがありません。")
    return found


def _execute_one(args: tuple) -> tuple[str, str, str]:
    """Run one notebook with papermill (in a worker process). Returns (target, lesson, error or '')."""
    src, dest, params, kernel, timeout, target, rel = args
    import papermill as pm
    os.environ["CS_DOJO_LEARNER_ID"] = params.get("learner_id") or os.environ.get("CS_DOJO_LEARNER_ID", "")
    if not os.environ["CS_DOJO_LEARNER_ID"]:
        os.environ.pop("CS_DOJO_LEARNER_ID")
    os.environ.setdefault("MPLBACKEND", "Agg")
    try:
        pm.execute_notebook(src, dest, parameters=params, kernel_name=kernel, cwd=str(Path(dest).parent),
                            progress_bar=False, log_output=False, request_save_on_cell_execute=False,
                            execution_timeout=timeout)
        return target, rel, ""
    except Exception as exc:  # noqa: BLE001 - reported per notebook
        return target, rel, f"{type(exc).__name__}: {str(exc).strip().splitlines()[-1][:300] if str(exc).strip() else ''}"


def personalise(*, course_dir: str | Path = ".", lessons: str | Path | None = None, out: str | Path | None = None,
                per: str = "learner", learners: list[str] | None = None, prepare_only: bool = False,
                default_company_profile: str = DEFAULT_COMPANY_PROFILE, kernel: str = "python3",
                cell_timeout: int = 300, workers: int = 1, progress: bool = True) -> PersonaliseResult:
    import nbformat
    from papermill.iorw import load_notebook_node
    from papermill.parameterize import parameterize_notebook
    from tqdm import tqdm

    root = course_root(course_dir)
    lessons_dir = Path(lessons).expanduser().resolve() if lessons else root / "lessons"
    out_dir = Path(out).expanduser().resolve() if out else root / "personalised"
    roster = read_roster(root)
    if not roster:
        raise CourseError("roster.csv に受講者がいません。先に `cs-dojo roster import 名簿.csv` を実行してください。")
    targets = _targets(roster, per, learners, default_company_profile)
    result = PersonaliseResult(out_dir, [t for t, _ in targets])

    loaded = []
    for path in _lessons(lessons_dir):
        rel = str(path.relative_to(lessons_dir))
        try:
            nb = load_notebook_node(str(path))  # papermill's loader (adds the tags lists it expects)
        except Exception as exc:  # noqa: BLE001
            result.refused.append((rel, f"ノートブックとして読めません: {exc}"))
            continue
        tagged = [c for c in nb.cells if "parameters" in cell_tags(c)]
        if any(nbgrader_meta(c) for c in tagged):
            result.refused.append((rel, "nbgrader のセルに parameters タグが付いています (採点セルは個別化しません)"))
            continue
        (result.parameterised if tagged else result.copied).append(rel)
        loaded.append((path, rel, nb if tagged else None))

    jobs = []
    bar = tqdm(total=len(targets) * len(loaded), desc="個別化", unit="冊", disable=not progress)
    for target, params in targets:
        for path, rel, nb in loaded:
            dest = out_dir / target / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            if nb is None:
                shutil.copyfile(path, dest)
            elif prepare_only:
                shallow = nbformat.NotebookNode(nb)
                shallow.metadata = copy.deepcopy(nb.metadata)
                shallow.metadata.setdefault("papermill", {})
                shallow.cells = list(nb.cells)
                done = parameterize_notebook(shallow, dict(params), kernel_name=kernel, language="python")
                done.metadata.papermill.update({"input_path": str(path), "output_path": str(dest)})
                tmp = dest.with_name(f".{dest.name}.tmp")
                tmp.write_text(json.dumps(done, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
                os.replace(tmp, dest)
            else:
                jobs.append((str(path), str(dest), dict(params), kernel, cell_timeout, target, rel))
                continue
            result.written += 1
            bar.update(1)
    if jobs:
        if workers > 1:
            import multiprocessing as mp
            from concurrent.futures import ProcessPoolExecutor
            with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as pool:
                outcomes = pool.map(_execute_one, jobs)
                for target, rel, error in outcomes:
                    _record(result, target, rel, error, bar)
        else:
            saved = os.environ.get("CS_DOJO_LEARNER_ID")
            try:
                for job in jobs:
                    _record(result, *_execute_one(job), bar)
            finally:
                if saved is None:
                    os.environ.pop("CS_DOJO_LEARNER_ID", None)
                else:
                    os.environ["CS_DOJO_LEARNER_ID"] = saved
    bar.close()
    return result


def _record(result: PersonaliseResult, target: str, rel: str, error: str, bar) -> None:
    result.written += 1
    bar.update(1)
    if error:
        result.failures.append((target, rel, error))
