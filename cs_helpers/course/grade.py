"""``cs-dojo grade``: kept importable under its old name; the code lives in :mod:`cs_helpers.course.grading`."""
from __future__ import annotations

from .grading import (DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT, GradeReport, Outcome, definitions,
                      format_report, grade_assignment, restore_missing_cells, scores_from_autograded,
                      skip_slow_iri_checker, submission_hash, write_logs)

__all__ = ["DEFAULT_CELL_TIMEOUT", "DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "GradeReport", "Outcome", "definitions",
           "format_report", "grade_assignment", "restore_missing_cells", "scores_from_autograded",
           "skip_slow_iri_checker", "submission_hash", "write_logs"]
