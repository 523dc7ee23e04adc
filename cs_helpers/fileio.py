"""Atomic file writes: a temporary file in the same folder, fsync, then ``os.replace``.

A reader (or a crash, or a closed browser tab) never sees half a file. New files get the usual
permissions for the user's umask (``mkstemp`` alone would make them owner-only).
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return path


def atomic_write_text(path: str | Path, text: str) -> Path:
    return atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: str | Path, data: Any) -> Path:
    """JSON with Japanese kept readable (``ensure_ascii=False``), indented, newline at the end."""
    return atomic_write_text(path, json.dumps(data, ensure_ascii=False, indent=2) + "\n")


class ZipReadError(ValueError):
    """The archive is not a readable zip file."""


def _member_name(info) -> str:
    """The member's name as the user wrote it: zips made on Japanese Windows store cp932 without the UTF-8 flag."""
    name = info.filename
    if info.flag_bits & 0x800 == 0:
        try:
            name = name.encode("cp437").decode("cp932")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return name


def safe_extract(archive: str | Path, dest: str | Path, *, max_member_bytes: int,
                 max_total_bytes: int) -> tuple[list[Path], list[str]]:
    """Extract ``archive`` into ``dest`` without writing outside it; returns (files written, members refused).

    Refused (and reported, never written): absolute names, ``..`` parts, drive letters, members larger than
    ``max_member_bytes`` or beyond ``max_total_bytes`` in all. Member names are decoded as cp932 when the zip does
    not flag them as UTF-8, and each file keeps the time stamp stored in the zip.
    """
    import datetime as dt
    import re
    import shutil
    import zipfile

    dest = Path(dest)
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ZipReadError(f"{archive} は zip として読めません ({exc})。作り直すかダウンロードし直してください。") from None
    written: list[Path] = []
    refused: list[str] = []
    total = 0
    with zf:
        for info in zf.infolist():
            name = _member_name(info)
            parts = Path(name.replace("\\", "/")).parts
            if name.startswith(("/", "\\")) or ".." in parts or (parts and re.match(r"^[A-Za-z]:", parts[0])):
                refused.append(name)
                continue
            if info.is_dir() or not parts:
                continue
            if info.file_size > max_member_bytes or total + info.file_size > max_total_bytes:
                refused.append(f"{name} (too large: {info.file_size} bytes)")
                continue
            total += info.file_size
            target = dest.joinpath(*parts)
            target.parent.mkdir(parents=True, exist_ok=True)
            with zf.open(info) as src, open(target, "wb") as out:
                shutil.copyfileobj(src, out)
            stamp = dt.datetime(*info.date_time).timestamp()
            os.utime(target, (stamp, stamp))
            written.append(target)
    return written, refused
