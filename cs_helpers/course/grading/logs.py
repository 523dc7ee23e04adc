"""Outcomes of a grading run: the per-learner record, ``grading_log.json``, the CSV log and the printed summary."""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..common import GRADING_LOG, atomic_write_text, read_grading_log


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


def write_logs(root: Path, assignment: str, outcomes: list[Outcome]) -> None:
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
