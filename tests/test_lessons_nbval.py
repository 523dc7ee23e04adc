"""nbval for what it is good at: the cells a lesson marks ``# NBVAL_CHECK_OUTPUT`` must still show what is saved.

``tests/test_curriculum_notebooks.py`` runs every lesson for errors and warnings; this adds output comparison, with
``pytest --nbval-lax`` (only marked cells are compared, every cell must run), in a scratch copy of ``curriculum/``
and with the same network guard. ``make clean-notebooks`` keeps the saved outputs of marked cells.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cs_helpers.maint.nbclean import is_checked
from tests.notebook_runner import NETGUARD, copy_course

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
CHECKED = sorted(p.name for p in (ROOT / "curriculum").glob("*.ipynb")
                 if any(is_checked(c) and c.get("outputs") for c in nbformat.read(p, as_version=4).cells))


def test_some_lesson_promises_an_output():
    assert CHECKED, "no lesson has a # NBVAL_CHECK_OUTPUT cell with a saved output"


@pytest.mark.parametrize("name", CHECKED)
def test_marked_outputs_match(name, tmp_path):
    course = copy_course(ROOT, tmp_path)
    log = tmp_path / "network.log"
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH")])),
               CS_DOJO_NET_LOG=str(log), CS_DOJO_HOME=str(tmp_path / "home"), MPLBACKEND="Agg")
    proc = subprocess.run([sys.executable, "-m", "pytest", "--nbval-lax", "-p", "no:xdist", "-p", "no:cacheprovider",
                           "-q", "--rootdir", str(course), str(course / name)],
                          cwd=course, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert not (log.exists() and log.read_text(encoding="utf-8").strip()), log.read_text(encoding="utf-8")
