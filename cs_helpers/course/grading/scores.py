"""Scores recomputed by the trusted parent from an autograded notebook and the real gradebook's cell definitions."""
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

