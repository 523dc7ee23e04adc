"""Where the course's files live, whether run from a checkout or an installed wheel.

A checkout keeps ``datasets/``, ``grading/``, ``curriculum/`` and ``exercises/`` beside the package. A wheel built by
``setup.py`` carries datasets and lessons in ``cs_helpers/_bundle/`` and the trainer's material (exercises with
solutions, grading templates) in the ``cs_dojo_course`` folder, kept outside ``cs_helpers`` so that solutions are
never part of what a learner's environment needs to see.
"""
from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
BUNDLE_DIR = PACKAGE_DIR / "_bundle"


def is_checkout() -> bool:
    """True when running from a source checkout (editable install or plain ``PYTHONPATH``)."""
    return (PACKAGE_DIR.parent / "pyproject.toml").is_file() and (PACKAGE_DIR.parent / "datasets").is_dir()


def project_root() -> Path:
    """The folder holding ``datasets/`` and ``curriculum/`` (and, in a checkout, everything else).

    ``CS_DOJO_ROOT`` overrides the guess, e.g. for a course workspace outside the checkout.
    """
    env = os.environ.get("CS_DOJO_ROOT")
    if env:
        return Path(env).resolve()
    if is_checkout() or not BUNDLE_DIR.is_dir():
        return PACKAGE_DIR.parent
    return BUNDLE_DIR


def datasets_dir() -> Path:
    """Folder of shipped data; ``CS_DOJO_DATASETS`` overrides it."""
    env = os.environ.get("CS_DOJO_DATASETS")
    if env:
        return Path(env).resolve()
    return project_root() / "datasets"


def scenarios_dir() -> Path:
    return datasets_dir() / "scenarios"


def grading_dir() -> Path:
    """nbgrader configuration, rubrics and the workspace template (trainer material)."""
    return _trainer_dir("grading")


def curriculum_dir() -> Path:
    return project_root() / "curriculum"


def exercises_dir() -> Path:
    """nbgrader source assignments (with solutions and hidden tests): trainer material."""
    return _trainer_dir("exercises")


def _trainer_dir(name: str) -> Path:
    root = project_root()
    if os.environ.get("CS_DOJO_ROOT") or root == PACKAGE_DIR.parent:
        return root / name
    try:
        return Path(str(resources.files("cs_dojo_course"))) / name
    except ModuleNotFoundError:
        return root / name
