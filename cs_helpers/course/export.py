"""``cs-dojo export``: per-question scores as CSV and Excel (nbgrader's own CSV has totals only).

Reads ``gradebook.db`` (nbgrader's ``Gradebook`` API), ``roster.csv`` and ``grading_log.json`` and writes to
``exports/`` (or ``out_dir``):

* ``scores_long.csv`` — one row per learner × question: learner_id, name, cohort, assignment, module, notebook,
  question (問1…), grade_id, kind (auto/manual), score, max_score, needs_manual_grade, status (graded / graded with
  notes / failed / missing), reason, isolation (sandbox / process: how the submission was isolated), notes;
* ``scores_wide.csv`` — one row per learner, one column per ``<assignment> <question>`` plus totals;
* ``scores.xlsx`` — both tables plus a per-assignment summary, one sheet each.

CSV files are UTF-8 with BOM so that Excel shows Japanese correctly. Learners on the roster without a submission
appear with status ``missing`` and empty scores.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from .common import (CourseError, cell_source, course_root, db_url, nbgrader_meta, read_grading_log,
                     read_json_notebook, read_roster)

_QUESTION = re.compile(r"^#{1,6}\s*(問\s*\d+[^\s(（]*)", re.M)


@dataclass
class ExportResult:
    long_csv: Path
    wide_csv: Path
    xlsx: Path
    rows: int


def question_labels(root: Path, assignment: str) -> dict[str, str]:
    """grade_id -> the nearest preceding ``## 問N`` heading in the source notebook (falls back to the grade_id)."""
    labels: dict[str, str] = {}
    folder = root / "source" / assignment
    for path in sorted(folder.glob("*.ipynb")) if folder.is_dir() else []:
        current = None
        for cell in read_json_notebook(path).get("cells", []):
            if cell.get("cell_type") == "markdown":
                found = _QUESTION.findall(cell_source(cell))
                if found:
                    current = found[-1].replace(" ", "")
            gid = nbgrader_meta(cell).get("grade_id")
            if gid and nbgrader_meta(cell).get("grade"):
                labels[gid] = current or gid
    return labels


def module_of(assignment: str) -> str:
    match = re.match(r"^(\d{2})", assignment)
    return match.group(1) if match else assignment


def score_table(*, course_dir: str | Path = ".", assignments: list[str] | None = None):
    """The long per-question table as a pandas DataFrame."""
    import pandas as pd
    from nbgrader.api import Gradebook, MissingEntry

    root = course_root(course_dir)
    roster = {lr.learner_id: lr for lr in read_roster(root)}
    log = read_grading_log(root)
    rows = []
    with Gradebook(db_url(root), "cs-dojo") as gb:
        chosen = [a for a in gb.assignments if not assignments or a.name in assignments]
        if assignments:
            missing = sorted(set(assignments) - {a.name for a in chosen})
            if missing:
                raise CourseError(f"gradebook にない課題: {', '.join(missing)} (先に cs-dojo release を実行してください)")
        learner_ids = sorted(set(roster) | {s.id for s in gb.students})
        for assignment in sorted(chosen, key=lambda a: a.name):
            labels = question_labels(root, assignment.name)
            cells = []
            for nb in assignment.notebooks:
                manual = {c.name for c in nb.solution_cells}
                for gc in nb.grade_cells:
                    cells.append((nb.name, gc.name, float(gc.max_score), "manual" if gc.name in manual else "auto"))
            for learner in learner_ids:
                lr = roster.get(learner)
                entry = log.get(assignment.name, {}).get(learner, {})
                try:
                    gb.find_submission(assignment.name, learner)
                    status = entry.get("status") if entry.get("status") in {"failed", "graded with notes"} else "graded"
                except MissingEntry:
                    status = "missing"
                for nb_name, gid, max_score, kind in cells:
                    score, needs_manual = None, False
                    if status != "missing":
                        grade = gb.find_grade(gid, nb_name, assignment.name, learner)
                        score = grade.score if not (grade.needs_manual_grade and grade.manual_score is None) else None
                        if grade.auto_score is None and grade.manual_score is None:
                            score = None
                        needs_manual = bool(grade.needs_manual_grade)
                    rows.append({
                        "learner_id": learner, "name": lr.name if lr else "", "cohort": lr.cohort if lr else "",
                        "assignment": assignment.name, "module": module_of(assignment.name), "notebook": nb_name,
                        "question": labels.get(gid, gid), "grade_id": gid, "kind": kind, "score": score,
                        "max_score": max_score, "needs_manual_grade": needs_manual, "status": status,
                        "reason": entry.get("reason", "") if status == "failed" else "",
                        "isolation": entry.get("isolation", "") if status != "missing" else "",
                        "notes": "; ".join(entry.get("notes") or []) if status != "missing" else "",
                    })
    columns = ["learner_id", "name", "cohort", "assignment", "module", "notebook", "question", "grade_id", "kind",
               "score", "max_score", "needs_manual_grade", "status", "reason", "isolation", "notes"]
    return pd.DataFrame(rows, columns=columns)


def wide_table(long):
    import pandas as pd
    if long.empty:
        return pd.DataFrame(columns=["learner_id", "name", "cohort"])
    data = long.copy()
    data["column"] = data["assignment"] + " " + data["question"]
    order = list(dict.fromkeys(data["column"]))
    wide = data.groupby(["learner_id", "column"], sort=False)["score"].sum(min_count=1).unstack("column")
    wide = wide.reindex(columns=order)
    totals = data.groupby(["learner_id", "assignment"])["score"].sum(min_count=1).unstack("assignment")
    totals.columns = [f"{c} 合計" for c in totals.columns]
    people = data.drop_duplicates("learner_id").set_index("learner_id")[["name", "cohort"]]
    return people.join(wide).join(totals).reset_index()


def summary_table(long):
    import pandas as pd
    if long.empty:
        return pd.DataFrame()
    per = long.groupby(["assignment", "learner_id", "status"], as_index=False).agg(
        score=("score", lambda s: s.sum(min_count=1)), max_score=("max_score", "sum"))
    out = per.groupby("assignment").agg(
        learners=("learner_id", "nunique"),
        submitted=("status", lambda s: int((s != "missing").sum())),
        failed=("status", lambda s: int((s == "failed").sum())),
        graded_with_notes=("status", lambda s: int((s == "graded with notes").sum())),
        mean_score=("score", "mean"), max_score=("max_score", "max"))
    out["mean_percent"] = (out["mean_score"] / out["max_score"] * 100).round(1)
    return out.reset_index()


def export_scores(*, course_dir: str | Path = ".", assignments: list[str] | None = None,
                  out_dir: str | Path | None = None) -> ExportResult:
    import pandas as pd
    root = course_root(course_dir)
    out = Path(out_dir).expanduser().resolve() if out_dir else root / "exports"
    out.mkdir(parents=True, exist_ok=True)
    long = score_table(course_dir=root, assignments=assignments)
    if long.empty:
        raise CourseError("書き出す成績がありません。課題を release して採点してから実行してください。")
    wide = wide_table(long)
    summary = summary_table(long)
    paths = ExportResult(out / "scores_long.csv", out / "scores_wide.csv", out / "scores.xlsx", len(long))
    long.to_csv(paths.long_csv, index=False, encoding="utf-8-sig")
    wide.to_csv(paths.wide_csv, index=False, encoding="utf-8-sig")
    tmp = paths.xlsx.with_name(".scores.tmp.xlsx")
    with pd.ExcelWriter(tmp, engine="openpyxl") as writer:
        wide.to_excel(writer, sheet_name="受講者×設問", index=False)
        long.to_excel(writer, sheet_name="設問別 (long)", index=False)
        summary.to_excel(writer, sheet_name="課題別サマリー", index=False)
    tmp.replace(paths.xlsx)
    return paths
