"""Atomic writes: the old file survives a failed write, no temp file is left, permissions follow the umask."""
from __future__ import annotations

import json
import os

import pytest

from cs_helpers import fileio


def test_write_replaces_and_keeps_japanese(tmp_path):
    path = fileio.atomic_write_json(tmp_path / "a" / "x.json", {"名前": "田中"})
    assert json.loads(path.read_text(encoding="utf-8")) == {"名前": "田中"}
    assert "田中" in path.read_text(encoding="utf-8")
    assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~_umask())


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


@pytest.mark.parametrize("step", ["fsync", "replace"])
def test_failure_keeps_old_file_and_leaves_no_temp(tmp_path, monkeypatch, step):
    path = fileio.atomic_write_text(tmp_path / "x.txt", "old")

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(fileio.os, step, boom)
    with pytest.raises(OSError):
        fileio.atomic_write_text(path, "new")
    assert path.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.txt"]
