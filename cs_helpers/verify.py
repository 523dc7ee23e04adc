"""Trusted recomputation for the hidden tests of the exercises.

A hidden nbgrader test runs in the learner's kernel, after the learner's own code. Whatever the notebook
namespace holds by then (``data``, ``learner_seed``, ``kpi.check_cascade`` ...) may have been replaced, and an
answer may be an object whose ``__eq__`` always says yes. This module gives hidden tests a footing the learner's
cells did not touch:

* ``module(name)`` imports a *private, fresh copy* of a ``cs_helpers`` module from its file, under a package
  name of its own, so patches to ``cs_helpers.data`` & co. (attributes or ``sys.modules`` entries) do not reach it.
* ``learner_id()`` / ``seed(salt)`` read the learner id from the environment the kernel was *started* with
  (``/proc/self/environ`` on Linux), so setting ``os.environ["CS_DOJO_LEARNER_ID"]`` to a friend's id changes
  nothing; ``load(name)`` reads the shipped data the same way (``CS_DOJO_DATASETS`` as started).
* ``number``, ``integer``, ``same`` and ``close`` check EXACT builtin types before comparing: a subclass of
  ``float``, a ``dict`` subclass or an always-equal object fails.

A hidden test gets a fresh copy of this module first: a stale or fake ``cs_helpers``/``cs_helpers.verify`` entry
in ``sys.modules`` is set aside for the import, and the package entry is put back afterwards so the learner's
later ``import cs_helpers.x`` keeps working::

    import importlib as _il, sys as _sys
    _pkg, _ = _sys.modules.pop("cs_helpers", None), _sys.modules.pop("cs_helpers.verify", None)
    _V = _il.import_module("cs_helpers.verify")
    _sys.modules["cs_helpers"] = _pkg or _sys.modules["cs_helpers"]

Limits, said plainly: learner code can still rewrite the import system itself or the standard library. The
grading pipeline's isolation (one sandbox per submission, recomputed scores in the parent) is the defence for
that; this module closes the cheap attacks a learner can type in one line. Failure messages never contain the
expected answer (they reach the learner's feedback).
"""
from __future__ import annotations

import importlib
import importlib.util
import math
import os
import secrets
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

_HERE = Path(__file__).resolve().parent
_PACKAGE: str | None = None
WRONG = "答えが違います。"

_INT_TYPES: tuple[type, ...] = (int,)
_FLOAT_TYPES: tuple[type, ...] = (float,)
try:  # numpy scalars are what pandas hands back; accept them by exact type, never their subclasses
    import numpy as _np

    _INT_TYPES += (_np.int64, _np.int32)
    _FLOAT_TYPES += (_np.float64, _np.float32)
except ImportError:  # pragma: no cover - numpy is a dependency
    pass


def original_env(name: str) -> str | None:
    """The value ``name`` had when this process started (not what ``os.environ`` says now)."""
    try:
        raw = Path("/proc/self/environ").read_bytes()
    except OSError:
        return os.environ.get(name)
    prefix = name.encode() + b"="
    for entry in raw.split(b"\0"):
        if entry.startswith(prefix):
            return entry[len(prefix):].decode("utf-8", "replace")
    return None


def _package() -> str:
    global _PACKAGE
    if _PACKAGE is None:
        name = f"_cs_dojo_trusted_{secrets.token_hex(6)}"
        spec = importlib.util.spec_from_file_location(name, _HERE / "__init__.py",
                                                      submodule_search_locations=[str(_HERE)])
        pkg = importlib.util.module_from_spec(spec)
        sys.modules[name] = pkg
        spec.loader.exec_module(pkg)
        _PACKAGE = name
    return _PACKAGE


def module(name: str) -> ModuleType:
    """A fresh copy of ``cs_helpers.<name>`` loaded from this package's own files."""
    return importlib.import_module(f"{_package()}.{name}")


def learner_id() -> str:
    """The learner being graded: ``CS_DOJO_LEARNER_ID`` as the kernel started, else the nbgrader folder layout,
    else the learner's saved profile (read by a fresh copy of ``cs_helpers.learner``)."""
    env = original_env("CS_DOJO_LEARNER_ID")
    if env and env.strip():
        return env.strip()
    lr = module("learner")
    found = lr._from_nbgrader_layout(Path.cwd())
    return found or lr.learner_id()


def seed(salt: str) -> int:
    """The exercise's per-learner seed, as ``cs_helpers.learner.learner_seed(salt)`` computes it honestly."""
    return module("learner").learner_seed(salt, learner=learner_id())


def datasets_dir() -> Path:
    env = original_env("CS_DOJO_DATASETS")
    if env:
        return Path(env).resolve()
    root = original_env("CS_DOJO_ROOT")
    return (Path(root).resolve() if root else _HERE.parent) / "datasets"


def load(name: str):
    """A shipped table, loaded by a fresh ``cs_helpers.data`` from the data folder the kernel started with."""
    return module("data").load(name, directory=datasets_dir())


# --------------------------------------------------------------------------------------------------
# exact-type checks
# --------------------------------------------------------------------------------------------------
def number(value: Any) -> bool:
    """A real number of an exact builtin or numpy type (no bool, no subclass, no NaN)."""
    t = type(value)
    return (t in _INT_TYPES or t in _FLOAT_TYPES) and not math.isnan(float(value))


def integer(value: Any) -> bool:
    return type(value) in _INT_TYPES


def close(value: Any, expected: float, tol: float) -> bool:
    """``value`` is an exact-type number within ``tol`` of ``expected``."""
    return number(value) and abs(float(value) - float(expected)) <= tol


class _Mismatch(Exception):
    pass


def plain(value: Any) -> Any:
    """Rebuild ``value`` from exact builtin types only (dict, set/frozenset → frozenset, list/tuple → tuple,
    str, int, float, bool, None; numpy integers → int). Anything else raises ``_Mismatch``, so the result holds
    no learner-defined object and comparing it is safe."""
    t = type(value)
    if value is None or t is bool or t is str:
        return value
    if t in _INT_TYPES:
        return int(value)
    if t in _FLOAT_TYPES:
        return float(value)
    if t is dict:
        return {plain(k): plain(v) for k, v in value.items()}
    if t is set or t is frozenset:
        return frozenset(plain(v) for v in value)
    if t is list or t is tuple:
        return tuple(plain(v) for v in value)
    raise _Mismatch(t.__name__)


def same(value: Any, expected: Any) -> bool:
    """``value`` equals ``expected`` and is built from the same kinds of exact builtin types."""
    try:
        got = plain(value)
    except _Mismatch:
        return False
    want = plain(expected)
    return _kinds(got) == _kinds(want) and got == want


def _kinds(value: Any) -> Any:
    """The container shape of a plain value (dict / frozenset / tuple / scalar), so a list does not pass for
    a dict with the same items. Scalars compare by value only (1 and 1.0 are both numbers)."""
    if isinstance(value, dict):
        return ("dict", frozenset(value))
    if isinstance(value, frozenset):
        return "set"
    if isinstance(value, tuple):
        return ("tuple", len(value))
    return "scalar"


def as_set(value: Any) -> frozenset | None:
    """An exact ``set``/``frozenset``/``list``/``tuple`` of exact-type scalars as a frozenset, else None."""
    if type(value) not in (set, frozenset, list, tuple):
        return None
    try:
        return frozenset(plain(v) for v in value)
    except _Mismatch:
        return None
