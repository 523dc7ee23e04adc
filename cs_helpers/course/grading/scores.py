"""Scores recomputed by the trusted parent from an autograded notebook and the real gradebook's cell definitions.

Rules on top of nbgrader's ``determine_grade`` (documented in docs/trainer.md):

* stderr is noise, not failure: text a test cell wrote to stderr (``warnings.warn``, a library's deprecation
  notice, a debug ``print(..., file=sys.stderr)``) is ignored; an exception (an ``error`` output) still scores 0.
  nbgrader alone scores any stderr output in a test cell as 0.
* one copy per ``grade_id``: the worker already kept one copy of a duplicated graded cell (see
  ``worker.deduplicate_graded_cells``); here the first cell carrying the id counts.
* roleplay questions (a test cell whose source-notebook metadata has ``"cs_dojo": {"roleplay": "<scenario_id>"}``)
  are scored by the parent from ``responses/<scenario_id>.json`` (see ``scheduler``), never from the kernel.
"""
from __future__ import annotations

from pathlib import Path

from ..common import CourseError, db_url, nbgrader_meta


def definitions(root: Path, assignment: str) -> dict:
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
            if cell.cell_type == "code":
                cell.outputs = [o for o in cell.get("outputs", [])
                                if not (o.get("output_type") == "stream" and o.get("name") == "stderr")]
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



def nb_of(defs: dict, gid: str) -> str:
    for nb, cells in defs.items():
        if gid in cells:
            return nb
    raise KeyError(gid)


def roleplay_cells(root: Path, assignment: str) -> dict[str, dict[str, str]]:
    """{notebook: {grade_id: scenario_id}} for test cells the trusted source marks ``cs_dojo.roleplay``."""
    from ..common import read_json_notebook, source_notebooks
    out: dict[str, dict[str, str]] = {}
    for path in source_notebooks(root, assignment):
        for cell in read_json_notebook(path).get("cells", []):
            meta = (cell.get("metadata") or {}).get("cs_dojo") or {}
            gid = nbgrader_meta(cell).get("grade_id")
            if gid and isinstance(meta, dict) and meta.get("roleplay"):
                out.setdefault(path.stem, {})[gid] = str(meta["roleplay"])
    return out
