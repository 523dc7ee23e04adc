"""The trainer quick start in docs/trainer.md runs exactly as written (its first ```bash block, in bash)."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
DOC = Path(__file__).resolve().parents[1] / "docs" / "trainer.md"


def quickstart_commands() -> str:
    blocks = re.findall(r"```bash\n(.*?)```", DOC.read_text(encoding="utf-8"), re.S)
    assert blocks, "docs/trainer.md has no ```bash block"
    return blocks[0]


def test_quickstart_block_walks_the_whole_pipeline():
    script = quickstart_commands()
    for step in ("init", "roster import", "personalise", "release", "collect", "grade", "feedback", "export",
                 "report"):
        assert f"cs-dojo {step}" in script


def test_quickstart_runs_as_written(tmp_path):
    import matplotlib
    env = dict(os.environ)
    env["HOME"] = str(tmp_path)  # so ~/cs-course lands in the test's folder
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    env["MPLCONFIGDIR"] = matplotlib.get_configdir()
    env.pop("CS_DOJO_LEARNER_ID", None)
    proc = subprocess.run(["bash", "-euo", "pipefail", "-c", quickstart_commands()], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    course = tmp_path / "cs-course"
    assert (course / "reports" / "cohort_report.html").exists()
    assert (course / "exports" / "scores.xlsx").exists()
    assert (course / "feedback" / "sato_a" / "00_sample" / "sample.html").exists()
    assert (course / "personalised" / "tanaka_h" / "00_sample_lesson.ipynb").exists()
    assert "sato_a" in proc.stdout and "未提出: tanaka_h" in proc.stdout
    assert re.search(r"sato_a\s+採点済み\s+7/7", proc.stdout), proc.stdout
    page = (course / "feedback" / "sato_a" / "00_sample" / "sample.html").read_text(encoding="utf-8")
    for japanese in ("あなたの解答", "得点:", "採点セル", "評価の観点"):
        assert japanese in page, f"feedback page lacks {japanese}"
    for english in ("Student's answer", "Grade cell", "Test cell", "Written response", "Score:"):
        assert english not in page, f"feedback page still shows nbgrader's English chrome: {english}"
