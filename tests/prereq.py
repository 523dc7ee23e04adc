"""One policy for tests whose prerequisites (a browser, node, bubblewrap, root) may be missing.

On a contributor's machine a missing prerequisite skips the test with the reason and the fix. Under CI
(``CI=true``, as ``.ci/run`` runs) nothing may be silently skipped: the same reason fails the test instead.
"""
from __future__ import annotations

import os

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes"}


def missing(reason: str) -> None:
    """Skip with ``reason`` locally; fail with it under CI."""
    if in_ci():
        pytest.fail(f"CI では飛ばせない前提条件が欠けています (missing prerequisite under CI): {reason}")
    pytest.skip(reason)
