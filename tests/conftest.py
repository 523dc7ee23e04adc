"""Shared test set-up.

* The venv's ``bin`` goes first on PATH: nbgrader shells out to ``alembic`` and ``jupyter``.
* Learner state goes to a temporary ``CS_DOJO_HOME`` so tests never touch a real profile.
* Matplotlib uses the non-interactive backend.
* A test that leaves a ``cs_helpers`` module replaced or removed in ``sys.modules`` fails (later tests in the same
  worker would otherwise meet second copies of its classes and fail far from the cause).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

VENV_BIN = str(Path(sys.executable).parent)
if not os.environ.get("PATH", "").startswith(VENV_BIN + os.pathsep):
    os.environ["PATH"] = VENV_BIN + os.pathsep + os.environ.get("PATH", "")
os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.pop("CS_DOJO_LEARNER_ID", None)


@pytest.fixture(autouse=True, scope="session")
def _cs_dojo_home(tmp_path_factory):
    home = tmp_path_factory.mktemp("cs_dojo_home")
    old = os.environ.get("CS_DOJO_HOME")
    os.environ["CS_DOJO_HOME"] = str(home)
    yield home
    if old is None:
        os.environ.pop("CS_DOJO_HOME", None)
    else:
        os.environ["CS_DOJO_HOME"] = old


@pytest.fixture(autouse=True)
def _cs_helpers_modules_stay_put():
    before = {k: v for k, v in sys.modules.items() if k == "cs_helpers" or k.startswith("cs_helpers.")}
    yield
    changed = sorted(k for k, v in before.items() if sys.modules.get(k) is not v)
    assert not changed, f"this test left cs_helpers modules replaced or removed in sys.modules: {changed[:5]}"
