"""Outcomes of a grading run: the per-learner record, ``grading_log.json``, the CSV log and the printed summary.

States a trainer can act on (``Outcome.status``):

* ``graded``: scored as submitted.
* ``graded with notes``: scored, and something was repaired first (deleted cells restored, a duplicated cell
  de-duplicated); ``notes`` says what, and the learner's feedback says it too.
* ``failed``: could not be graded (recorded as 0); ``reason`` says why and ``regrade`` is the one command that
  grades this learner again.
* ``skipped``: not graded again in this run (the submission did not change since the recorded result).

``notes`` is a free-form list other scorers append to (e.g. the roleplay scorer's ``restarts: 2``).
``isolation`` is ``sandbox`` or ``process`` (see ``sandbox.py``).
"""
from __future__ import annotations

import csv
import io
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from ..common import GRADING_LOG, atomic_write_text, read_grading_log

GRADED = "graded"
NOTED = "graded with notes"
FAILED = "failed"
SKIPPED = "skipped"
STATE_LABELS = {GRADED: "採点済み", NOTED: "注記つき", FAILED: "0点記録", SKIPPED: "変更なし"}
ISOLATION_LABELS = {"sandbox": "サンドボックス", "process": "プロセス分離のみ"}


@dataclass
class Outcome:
    learner: str
    status: str                      # graded / graded with notes / failed / skipped
    score: float = 0.0               # autograded points
    auto_max: float = 0.0
    manual_pending: int = 0          # cells waiting for a person
    reason: str = ""                 # why grading failed (failed only)
    seconds: float = 0.0
    questions: dict[str, float | None] = field(default_factory=dict)
    submission: str = ""             # content hash of the submitted folder
    timestamp: str = ""
    graded_at: str = ""
    notes: list[str] = field(default_factory=list)
    isolation: str = ""              # sandbox / process
    regrade: str = ""                # the command that grades this learner again (failed only)
    roleplay: dict[str, str] = field(default_factory=dict)  # scenario -> ending outcome, from the trusted scorer


@dataclass
class GradeReport:
    assignment: str
    outcomes: list[Outcome]
    seconds: float
    workers: int
    backup: Path | None = None
    isolation: str = ""
    warning: str = ""                # why the sandbox was not used (``--sandbox auto`` fallback)

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.status == FAILED]

    def counts(self) -> dict[str, int]:
        out = {state: 0 for state in STATE_LABELS}
        for o in self.outcomes:
            out[o.status] = out.get(o.status, 0) + 1
        return out


def write_logs(root: Path, assignment: str, outcomes: list[Outcome]) -> None:
    log = read_grading_log(root)
    entries = log.setdefault(assignment, {})
    for o in outcomes:
        if o.status != SKIPPED:
            entries[o.learner] = {k: v for k, v in asdict(o).items() if k != "learner"}
    atomic_write_text(root / GRADING_LOG, json.dumps(log, ensure_ascii=False, indent=1, sort_keys=True))
    buf = io.StringIO()
    fields = ["learner", "status", "score", "auto_max", "manual_pending", "isolation", "reason", "notes", "regrade",
              "seconds", "timestamp", "graded_at"]
    writer = csv.DictWriter(buf, fieldnames=fields, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for learner, entry in sorted(entries.items()):
        writer.writerow({"learner": learner, **entry, "notes": "; ".join(entry.get("notes") or [])})
    atomic_write_text(root / "logs" / f"grading_{assignment}.csv", buf.getvalue())


def format_report(report: GradeReport) -> str:
    level = ISOLATION_LABELS.get(report.isolation, report.isolation)
    lines = [f"課題 {report.assignment}: {len(report.outcomes)} 人 ({report.workers} 並列, {report.seconds:.1f} 秒, "
             f"隔離: {level})"]
    width = max([len(o.learner) for o in report.outcomes] + [8])
    lines.append(f"  {'learner'.ljust(width)}  状態      自動採点  手動待ち  備考")
    for o in report.outcomes:
        remark = o.reason if o.status == FAILED else "; ".join(o.notes)
        lines.append(f"  {o.learner.ljust(width)}  {STATE_LABELS.get(o.status, o.status):<8}  "
                     f"{o.score:>4g}/{o.auto_max:<4g}  {o.manual_pending:>6}    {remark}")
    counts = report.counts()
    lines.append("状態: " + " / ".join(f"{STATE_LABELS[s]} ({s}) {counts[s]}" for s in STATE_LABELS))
    if report.failed:
        lines.append(f"0点として記録した提出物: {len(report.failed)} 件 (理由は grading_log.json と "
                     f"logs/grading_{report.assignment}.csv にもあります)。直してから採点し直すには:")
        lines += [f"  {o.regrade}" for o in report.failed if o.regrade]
    if report.warning:
        lines.append(f"注意: サンドボックスなしで採点しました (プロセス分離のみ)。{report.warning}")
    if report.backup:
        lines.append(f"採点前の gradebook のバックアップ: {report.backup}")
    return "\n".join(lines)
