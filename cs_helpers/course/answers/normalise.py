"""Normalising free-text answers so that answers which differ only in form compare equal.

``normalise`` folds Unicode compatibility forms (NFKC: full-width ``３`` → ``3``, half-width katakana → full-width),
case, every kind of whitespace and punctuation (Japanese 、。「」！ and ASCII alike). Two answers with the same key
are exact duplicates for grading purposes. ``is_blank`` says whether a learner really answered.
"""
from __future__ import annotations

import re
import unicodedata

#: What nbgrader puts into a released free-text cell, and what our exercises use; an answer that still says this
#: (in any width or case) was left unchanged.
PLACEHOLDERS = ("YOUR ANSWER HERE", "ここに答えを書いてください", "ここに回答を書いてください")

_SPACE = re.compile(r"\s+")


_KEEP = set("%+-=<>~")  # signs that change what an answer says (10% off, +2, <3 days)


def _is_punct_or_symbol(ch: str) -> bool:
    if ch in _KEEP:
        return False
    return unicodedata.category(ch)[0] in "PS"


def normalise(text: str) -> str:
    """The comparison key of an answer: NFKC, lower case, no whitespace, no punctuation (``ー`` is kept)."""
    folded = unicodedata.normalize("NFKC", text or "").lower()
    folded = "".join(ch for ch in folded if not _is_punct_or_symbol(ch))
    return _SPACE.sub("", folded)


def display_text(text: str) -> str:
    """The answer as shown to a trainer: NFKC-folded and with runs of whitespace shortened (meaning kept)."""
    folded = unicodedata.normalize("NFKC", text or "")
    lines = [_SPACE.sub(" ", line).strip() for line in folded.splitlines()]
    return "\n".join(line for line in lines if line)


def is_blank(text: str, released: str | None = None) -> bool:
    """True when the answer is empty, only whitespace/punctuation, a placeholder, or the released text unchanged."""
    key = normalise(text)
    if not key:
        return True
    if released is not None and key == normalise(released):
        return True
    for placeholder in PLACEHOLDERS:
        stripped = key.replace(normalise(placeholder), "")
        if not stripped:
            return True
    return False
