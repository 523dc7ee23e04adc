# nbgrader configuration for a CS Dojo course workspace.
#
# `cs-dojo init DIR` copies this file to DIR/nbgrader_config.py. Plain nbgrader commands run inside DIR use it
# too (e.g. `nbgrader generate_assignment 00_sample`), so both paths grade the same way.
# The settings a trainer may change are explained in docs/trainer.md.
import os

import cs_helpers.course

from nbconvert.preprocessors import ClearMetadataPreprocessor, CSSHTMLHeaderPreprocessor
from nbgrader.preprocessors import (AssignLatePenalties, CheckCellMetadata, Execute, GetGrades, IgnorePattern,
                                    LimitOutput, SaveAutoGrades)

from cs_helpers.course.preprocessors import AddRubric, HideHiddenTests, LimitOutputChars

c = get_config()  # noqa: F821  (provided by traitlets when nbgrader loads this file)

# The same variable names the course on JupyterHub (deploy/jupyterhub), so both always agree.
c.CourseDirectory.course_id = os.environ.get("CS_DOJO_COURSE_ID", "cs-dojo")
# The workspace also holds roster/rubrics/lessons; nbgrader should not copy their caches around.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback", ".DS_Store"]

# --- Student version (generate_assignment): Japanese stubs that learners see -----------------------------------
c.ClearSolutions.code_stub = {"python": "# ここに答えを書いてください (YOUR CODE HERE)\nraise NotImplementedError()"}
c.ClearSolutions.text_stub = "ここに答えを書いてください (YOUR ANSWER HERE)"

# --- Timeouts ---------------------------------------------------------------------------------------------------
# Per cell: a cell still running after this many seconds is interrupted and counts as an error for that cell only.
c.Execute.timeout = 60
c.Execute.interrupt_on_timeout = True
c.Execute.startup_timeout = 120
c.Execute.error_on_timeout = {
    "ename": "CellTimeoutError",
    "evalue": "",
    "traceback": ["CellTimeoutError: セルの実行が制限時間を超えたため中断しました (cell timed out)"],
}
# Per notebook / per submission: nbgrader has no such limit; `cs-dojo grade` enforces these (its --timeout and
# --memory-mb options override them). Plain `nbgrader autograde` ignores this section.
c.CsDojoGrade.timeout = 900          # seconds of wall-clock time for one learner's whole submission
c.CsDojoGrade.memory_mb = 4096       # address-space limit (RLIMIT_AS) for the grading process and its kernel
# Where learner code runs: "auto" = in a bubblewrap sandbox when it can start, else with process isolation only
# (one warning per run); "required" = refuse to grade without the sandbox; "off" = process isolation only.
# `cs-dojo grade --sandbox` overrides it. See docs/trainer.md, "採点のサンドボックス / The grading sandbox".
c.CsDojoGrade.sandbox = "auto"

# --- Deleted cells are put back --------------------------------------------------------------------------------
# `cs-dojo grade` restores deleted graded cells from the released notebook before nbgrader runs; nbgrader's own
# add_missing_cells is the backstop when the plain `nbgrader autograde` is used.
c.OverwriteCells.add_missing_cells = True
c.OverwriteCells.missing_cell_notification = "このセル (id:{cell_id}) は提出物から削除されていたため、採点時に元に戻しました。\n\n"

# --- stderr noise never zeroes a test cell ---------------------------------------------------------------------
# nbgrader scores a test cell 0 as soon as it printed anything to stderr, so a learner's warnings.warn() or a
# debug print(file=sys.stderr) would cost full points. Exceptions (error outputs) still fail the cell; stderr text
# is dropped before grading.
c.IgnorePattern.enabled = True
c.IgnorePattern.pattern = r"(?s).*"

# --- Output size -----------------------------------------------------------------------------------------------
c.LimitOutput.max_lines = 1000
c.LimitOutput.max_traceback = 100
c.LimitOutputChars.max_chars = 100_000

c.Autograde.autograde_preprocessors = [
    Execute,
    IgnorePattern,
    ClearMetadataPreprocessor,
    LimitOutput,
    LimitOutputChars,
    SaveAutoGrades,
    AssignLatePenalties,
    CheckCellMetadata,
]

# --- Feedback never shows hidden tests -------------------------------------------------------------------------
c.GenerateFeedback.preprocessors = [GetGrades, HideHiddenTests, AddRubric, CSSHTMLHeaderPreprocessor]
# ... and speaks Japanese: 「あなたの解答」「採点セル」「得点」, with the rubric's criteria under each written answer.
c.HTMLExporter.template_name = "feedback_ja"
c.HTMLExporter.extra_template_basedirs = [os.path.join(os.path.dirname(cs_helpers.course.__file__), "templates")]
