"""Where the course's files live, whether run from a checkout or an installed package."""
from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent


def project_root() -> Path:
    """The CS Dojo checkout (the folder holding ``datasets/`` and ``curriculum/``).

    ``CS_DOJO_ROOT`` overrides the guess, e.g. for a course workspace outside the checkout.
    """
    env = os.environ.get("CS_DOJO_ROOT")
    if env:
        return Path(env).resolve()
    return PACKAGE_DIR.parent


def datasets_dir() -> Path:
    """Folder of shipped data; ``CS_DOJO_DATASETS`` overrides it."""
    env = os.environ.get("CS_DOJO_DATASETS")
    if env:
        return Path(env).resolve()
    return project_root() / "datasets"


def scenarios_dir() -> Path:
    return datasets_dir() / "scenarios"
