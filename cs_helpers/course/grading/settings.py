"""The settings of ``cs-dojo grade`` that live in ``nbgrader_config.py`` (``c.CsDojoGrade.<name>``).

``CsDojoGrade`` is a traitlets ``Configurable``, so a value of the wrong type or outside its choices, and a name that
is not one of its settings (``c.CsDojoGrade.sandbx``), stop the run with the file, the line and the fix, instead of
being ignored as a plain dictionary lookup would. ``c.Execute.timeout`` (nbgrader's own per-cell limit) is read too.
"""
from __future__ import annotations

import difflib
import re
from pathlib import Path

from traitlets import Enum, Integer, TraitError
from traitlets.config import Configurable

from ..common import CONFIG_NAME, CourseError
from .sandbox import MODES

DEFAULT_TIMEOUT = 900
DEFAULT_MEMORY_MB = 4096
DEFAULT_CELL_TIMEOUT = 60
_STRICTNESS = {"off": 0, "auto": 1, "required": 2}


class CsDojoGrade(Configurable):
    """What ``cs-dojo grade`` enforces beyond nbgrader (plain ``nbgrader autograde`` ignores this section)."""

    timeout = Integer(DEFAULT_TIMEOUT, min=1,
                      help="Seconds of wall-clock time for one learner's whole submission.").tag(config=True)
    memory_mb = Integer(DEFAULT_MEMORY_MB, min=256,
                        help="Address-space limit (RLIMIT_AS, MB) of the grading process and its kernel.").tag(config=True)
    sandbox = Enum(MODES, default_value="auto",
                   help="Where learner code runs: auto, required or off (see sandbox.py).").tag(config=True)


def _line_of(path: Path, name: str) -> int | None:
    pattern = re.compile(rf"\bCsDojoGrade\s*(\.\s*{re.escape(name)}\b|\[\s*['\"]{re.escape(name)}['\"])")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    return next((i for i, line in enumerate(lines, 1) if pattern.search(line)), None)


def _where(path: Path, name: str) -> str:
    line = _line_of(path, name)
    return f"{path}:{line}" if line else str(path)


def read_section(folder: Path) -> tuple[CsDojoGrade, dict]:
    """The ``CsDojoGrade`` settings of ``folder/nbgrader_config.py`` (defaults where unset), and the whole config."""
    from .worker import load_config
    path = Path(folder) / CONFIG_NAME
    cfg = load_config(Path(folder)) if path.is_file() else {}
    section = dict(cfg.get("CsDojoGrade", {})) if cfg else {}
    known = CsDojoGrade.class_trait_names(config=True)
    for name in section:
        if name not in known:
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"c.CsDojoGrade.{close[0]} のことですか? " if close else ""
            raise CourseError(f"{_where(path, name)}: c.CsDojoGrade.{name} という設定はありません。{hint}"
                              f"使える設定: {', '.join(sorted(known))} (unknown setting)")
    settings = CsDojoGrade()
    for name, value in section.items():
        try:
            setattr(settings, name, value)
        except TraitError:
            allowed = {"sandbox": " / ".join(MODES), "timeout": "1 以上の整数 (秒)",
                       "memory_mb": "256 以上の整数 (MB)"}[name]
            raise CourseError(f"{_where(path, name)}: c.CsDojoGrade.{name} = {value!r} は使えません。"
                              f"{allowed} を指定してください (invalid value)") from None
    return settings, cfg


def configured_sandbox(root: Path) -> str:
    """``c.CsDojoGrade.sandbox`` from every ``nbgrader_config.py`` nbgrader would read (Jupyter's config path, e.g.
    the hub's ``JUPYTER_CONFIG_PATH``, and the course folder): the strictest value wins, so a course file copied
    with ``auto`` cannot relax a machine-wide ``required``. Default ``auto``."""
    from jupyter_core.paths import jupyter_config_path
    values = []
    for folder in [*jupyter_config_path(), str(root)]:
        if (Path(folder) / CONFIG_NAME).is_file():
            settings, cfg = read_section(Path(folder))
            if "sandbox" in cfg.get("CsDojoGrade", {}):
                values.append(settings.sandbox)
    return max(values, key=_STRICTNESS.get, default="auto")


def grade_settings(root: Path) -> dict:
    """The course's limits and the sandbox mode ``cs-dojo grade`` uses when no option overrides them."""
    settings, cfg = read_section(root)
    cell_timeout = cfg.get("Execute", {}).get("timeout", DEFAULT_CELL_TIMEOUT) if cfg else DEFAULT_CELL_TIMEOUT
    return {"timeout": settings.timeout, "memory_mb": settings.memory_mb, "cell_timeout": int(cell_timeout),
            "sandbox": configured_sandbox(root)}
