"""Who is learning: the learner id and values derived from it.

Resolution order for ``learner_id()``:
1. the ``CS_DOJO_LEARNER_ID`` environment variable (set by ``cs-dojo grade`` and by papermill runs);
2. an nbgrader layout around the working directory (``.../submitted|autograded/<student>/<assignment>``);
3. the profile written by ``set_learner_id`` in the orientation notebook (``$CS_DOJO_HOME`` or ``~/.cs_dojo``);
4. ``"guest"``.
Exercises derive per-learner variations from this id, so a learner's own run and the trainer's autograde agree.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path

from .fileio import atomic_write_json

ENV_VAR = "CS_DOJO_LEARNER_ID"
GUEST = "guest"
_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
_NBGRADER_STEPS = {"submitted", "autograded", "feedback"}


def home_dir() -> Path:
    return Path(os.environ.get("CS_DOJO_HOME") or Path.home() / ".cs_dojo")


def profile_path() -> Path:
    return home_dir() / "learner.json"


def learner_file(kind: str, learner: str | None = None, name: str | None = None) -> Path:
    """Where a learner's saved work of one ``kind`` lives (the one layout for every helper that stores JSON):
    ``home_dir()/<kind>/<learner_id>.json``, or ``home_dir()/<kind>/<learner_id>/<name>.json`` with ``name``
    (e.g. one file per module). ``learner`` defaults to the current learner; every part is validated."""
    lid = validate_learner_id(learner if learner is not None else learner_id())
    if name is None:
        return home_dir() / kind / f"{lid}.json"
    if not name or any(c in name for c in "/\\") or name.startswith("."):
        raise ValueError(f"モジュール名「{name}」は使えません (例: 01_mindset)。")
    return home_dir() / kind / lid / f"{name}.json"


def validate_learner_id(value: str) -> str:
    value = (value or "").strip()
    if not _ID_RE.match(value):
        raise ValueError(
            f"受講者ID「{value}」は使えません。半角英数字と _ . - の組み合わせ (64文字以内) で入力してください。"
            "例: tanaka_h, 2026-cs-01"
        )
    return value


def _from_nbgrader_layout(cwd: Path) -> str | None:
    parts = cwd.resolve().parts
    if len(parts) >= 3 and parts[-3] in _NBGRADER_STEPS:
        return parts[-2]
    return None


def learner_id() -> str:
    env = os.environ.get(ENV_VAR)
    if env:
        return env.strip()
    found = _from_nbgrader_layout(Path.cwd())
    if found:
        return found
    try:
        data = json.loads(profile_path().read_text(encoding="utf-8"))
        return validate_learner_id(data.get("learner_id", ""))
    except (OSError, ValueError, AttributeError):
        return GUEST


def set_learner_id(value: str, name: str | None = None) -> Path:
    """Save the learner id (and optional display name) to the learner's profile. Returns the file path."""
    value = validate_learner_id(value)
    data = {"learner_id": value}
    if name:
        data["name"] = name
    return atomic_write_json(profile_path(), data)


def learner_seed(salt: str = "", learner: str | None = None) -> int:
    """A stable 32-bit seed from the learner id (and a salt naming the exercise)."""
    key = f"{learner if learner is not None else learner_id()}|{salt}".encode("utf-8")
    return int.from_bytes(hashlib.sha256(key).digest()[:4], "big")
