"""``cs-dojo grade ASSIGNMENT``: parallel, isolated autograding with nbgrader.

Modules: ``scheduler`` (the trusted parent: what to grade, running workers, recording results), ``worker`` (the
untrusted side: nbgrader on one submission in a private folder), ``sandbox`` (how a worker is isolated),
``scores`` (scores recomputed by the parent), ``store`` (gradebook writes), ``logs`` (grading log and summary),
``settings`` (``c.CsDojoGrade`` in ``nbgrader_config.py``, checked).

How one submission is graded is described in ``scheduler``'s docstring.
"""
from __future__ import annotations

from .logs import GradeReport, Outcome, format_report, write_logs
from .scheduler import grade_assignment, submission_hash
from .settings import DEFAULT_CELL_TIMEOUT, DEFAULT_MEMORY_MB, DEFAULT_TIMEOUT
from .scores import definitions, scores_from_autograded
from .worker import restore_missing_cells, skip_slow_iri_checker

__all__ = ["DEFAULT_CELL_TIMEOUT", "DEFAULT_MEMORY_MB", "DEFAULT_TIMEOUT", "GradeReport", "Outcome", "definitions",
           "format_report", "grade_assignment", "restore_missing_cells", "scores_from_autograded",
           "skip_slow_iri_checker", "submission_hash", "write_logs"]
