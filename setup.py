"""Build hook: ship the course materials inside the wheel.

Everything else about the package is declared in ``pyproject.toml``. A checkout keeps ``datasets/``, ``grading/``,
``curriculum/`` and ``exercises/`` at the top level. A built wheel carries what learners use (data, scenarios,
lessons) under ``cs_helpers/_bundle/`` and the trainer's material (source assignments with solutions and hidden
tests, the grading templates) in the separate ``cs_dojo_course/`` folder, so that code which exposes the
``cs_helpers`` package to a learner's kernel never exposes solutions.
``cs_helpers.paths`` finds whichever layout is present. Editable installs read the checkout and copy nothing.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
BUNDLED = {"datasets": "cs_helpers/_bundle/datasets", "curriculum": "cs_helpers/_bundle/curriculum",
           "grading": "cs_dojo_course/grading", "exercises": "cs_dojo_course/exercises"}
SKIP = shutil.ignore_patterns("__pycache__", "*.pyc", ".ipynb_checkpoints", "responses", ".cs_dojo")


class BuildWithCourse(build_py):
    def run(self):
        super().run()
        if getattr(self, "editable_mode", False):
            return
        for source, target in BUNDLED.items():
            dest = Path(self.build_lib) / target
            if dest.exists():
                shutil.rmtree(dest)
            shutil.copytree(HERE / source, dest, ignore=SKIP)
        marker = Path(self.build_lib) / "cs_dojo_course" / "__init__.py"
        marker.write_text('"""CS Dojo trainer material: source assignments (with solutions) and grading templates."""\n',
                          encoding="utf-8")


# JupyterLab defaults for learners: Japanese interface (English stays one click away in 設定 → 言語) and no
# "get notified about official Jupyter news?" prompt (the course runs offline).
LAB_OVERRIDES = ("share/jupyter/lab/settings/overrides.d", ["cs_helpers/maint/cs-dojo-lab.json"])

setup(cmdclass={"build_py": BuildWithCourse}, data_files=[LAB_OVERRIDES])
