"""``cs-dojo collect ASSIGNMENT PATH``: place returned notebooks into nbgrader's ``submitted/`` folder.

``PATH`` is a folder or a ``.zip`` (mail attachments, an LMS download, a shared drive). Each ``.ipynb`` is matched to
a learner of ``roster.csv`` by, in this order:

1. a folder named after the learner id anywhere above the file (``sato_a/sample.ipynb``,
   ``export/sato_a/00_sample/sample.ipynb``);
2. a file name starting with the learner id and a separator (``sato_a_sample.ipynb``, ``sato_a-課題.ipynb``,
   ``SATO_A.ipynb``; the longest matching id wins, so ``sato_a2`` is not taken for ``sato_a``);
3. the notebook's metadata (``metadata.cs_dojo.learner_id``), written by the orientation notebook.

For several notebooks per assignment the file name must also contain the notebook name. Duplicates keep the newest
file (by modification time) and are reported; so are unmatched files, learners without a submission, files that are
not valid notebooks (they are still placed so that grading records a zero with the reason) and zip entries that try
to escape the extraction folder. A ``responses/`` folder beside a learner's notebook (roleplay answers) travels with
it. Each learner gets ``submitted/<learner>/<assignment>/`` with ``timestamp.txt``; a submission older than the
one already collected is not replaced, so collecting twice is harmless.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..fileio import ZipReadError, safe_extract
from .common import (CourseError, atomic_write_text, course_lock, course_root, read_roster, source_notebooks)

MAX_MEMBER_BYTES = 200 * 1024 * 1024
MAX_TOTAL_BYTES = 2 * 1024 * 1024 * 1024
_SEPARATORS = "_-. ＿－・"
_SKIP_PARTS = {"__MACOSX", ".ipynb_checkpoints", "__pycache__"}


@dataclass
class Candidate:
    path: Path
    display: str          # path as the trainer knows it (inside the folder or zip)
    learner: str
    notebook: str
    mtime: float
    how: str               # folder / filename / metadata
    responses: Path | None = None
    valid: bool = True


@dataclass
class CollectResult:
    assignment: str
    placed: dict[str, list[str]] = field(default_factory=dict)        # learner -> files placed
    timestamps: dict[str, str] = field(default_factory=dict)
    unmatched: list[tuple[str, str]] = field(default_factory=list)     # (file, why)
    duplicates: list[tuple[str, str, list[str]]] = field(default_factory=list)  # (learner, kept, dropped)
    kept_existing: list[tuple[str, str]] = field(default_factory=list)  # (learner, why)
    invalid: list[tuple[str, str]] = field(default_factory=list)       # (learner, file)
    unsafe: list[str] = field(default_factory=list)                   # zip members refused
    missing: list[str] = field(default_factory=list)                  # roster learners with nothing collected


def _format_ts(ts: float) -> str:
    return dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc).strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def _parse_ts(text: str) -> float | None:
    text = text.strip().replace(" UTC", "+00:00")
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.timestamp()


def _safe_extract(zpath: Path, dest: Path, result: CollectResult) -> None:
    try:
        _, refused = safe_extract(zpath, dest, max_member_bytes=MAX_MEMBER_BYTES, max_total_bytes=MAX_TOTAL_BYTES)
    except ZipReadError:
        raise CourseError(f"{zpath} は zip として読めません。ダウンロードし直してください。 (bad zip file)") from None
    result.unsafe.extend(refused)


def _match_prefix(stem: str, ids_lower: dict[str, str]) -> str | None:
    low = stem.lower()
    best = None
    for lid_low, lid in ids_lower.items():
        if low == lid_low or (low.startswith(lid_low) and low[len(lid_low)] in _SEPARATORS):
            if best is None or len(lid_low) > len(best.lower()):
                best = lid
    return best


def _metadata_learner(path: Path) -> tuple[str | None, bool]:
    try:
        nb = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, OSError, UnicodeDecodeError):
        return None, False
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return None, False
    meta = nb.get("metadata") or {}
    found = (meta.get("cs_dojo") or {}).get("learner_id") if isinstance(meta.get("cs_dojo"), dict) else None
    return (str(found) if found else None), True


def find_candidates(base: Path, learners: list[str], notebooks: list[str], result: CollectResult) -> list[Candidate]:
    ids_lower = {lid.lower(): lid for lid in learners}
    out: list[Candidate] = []
    for path in sorted(base.rglob("*.ipynb")):
        rel = path.relative_to(base)
        if any(p in _SKIP_PARTS or p.startswith(".") for p in rel.parts):
            continue
        display = str(rel)
        learner, how, learner_dir = None, "", None
        for depth in range(len(rel.parts) - 2, -1, -1):  # nearest folder first
            part = rel.parts[depth]
            if part.lower() in ids_lower:
                learner, how = ids_lower[part.lower()], "folder"
                learner_dir = base.joinpath(*rel.parts[: depth + 1])
                break
        if learner is None:
            learner = _match_prefix(path.stem, ids_lower)
            how = "filename" if learner else ""
        meta_learner, valid = _metadata_learner(path)
        if learner is None and meta_learner:
            learner = ids_lower.get(meta_learner.lower())
            how = "metadata" if learner else ""
        if learner is None:
            why = (f"notebook metadata names '{meta_learner}', who is not in roster.csv" if meta_learner
                   else "no learner id of roster.csv in its folder, file name or metadata")
            result.unmatched.append((display, why))
            continue
        if len(notebooks) == 1:
            notebook = notebooks[0]
        else:
            stem = path.stem.lower()
            hits = sorted((n for n in notebooks if n.lower() in stem), key=len, reverse=True)
            if not hits:
                result.unmatched.append((display, f"learner {learner}: file name names none of the notebooks "
                                                  f"{', '.join(notebooks)}"))
                continue
            notebook = hits[0]
        responses = None
        for folder in ([path.parent] + ([learner_dir] if learner_dir else [])):
            if how == "folder" and (folder / "responses").is_dir():
                responses = folder / "responses"
                break
        out.append(Candidate(path, display, learner, notebook, path.stat().st_mtime, how, responses, valid))
    return out


def collect_submissions(*, course_dir: str | Path = ".", assignment: str, path: str | Path) -> CollectResult:
    root = course_root(course_dir)
    notebooks = [p.stem for p in source_notebooks(root, assignment)]
    learners = [lr.learner_id for lr in read_roster(root)]
    if not learners:
        raise CourseError("roster.csv に受講者がいません。先に `cs-dojo roster import 名簿.csv` を実行してください。")
    src = Path(path).expanduser().resolve()
    if not src.exists():
        raise CourseError(f"{src} が見つかりません。提出物のフォルダか zip ファイルを指定してください。")
    result = CollectResult(assignment)
    with tempfile.TemporaryDirectory(prefix="cs-dojo-collect-") as tmp:
        if src.is_file():
            if src.suffix.lower() != ".zip":
                raise CourseError(f"{src} はフォルダでも .zip でもありません。 (expected a folder or a zip)")
            base = Path(tmp) / "unzipped"
            base.mkdir()
            _safe_extract(src, base, result)
        else:
            base = src
        candidates = find_candidates(base, learners, notebooks, result)

        chosen: dict[tuple[str, str], Candidate] = {}
        groups: dict[tuple[str, str], list[Candidate]] = {}
        for cand in candidates:
            groups.setdefault((cand.learner, cand.notebook), []).append(cand)
        for key, group in groups.items():
            group.sort(key=lambda c: (c.mtime, c.display))
            chosen[key] = group[-1]
            if len(group) > 1:
                result.duplicates.append((key[0], group[-1].display, [c.display for c in group[:-1]]))

        by_learner: dict[str, list[Candidate]] = {}
        for (learner, _), cand in sorted(chosen.items()):
            by_learner.setdefault(learner, []).append(cand)

        with course_lock(root, f"collect {assignment}"):
            for learner, cands in by_learner.items():
                _place(root, assignment, learner, cands, result)
    result.missing = [lid for lid in learners if not (root / "submitted" / lid / assignment).is_dir()]
    log = root / "logs" / f"collect_{assignment}.json"
    atomic_write_text(log, json.dumps(result.__dict__, ensure_ascii=False, indent=1, default=str))
    return result


def _place(root: Path, assignment: str, learner: str, cands: list[Candidate], result: CollectResult) -> None:
    dest = root / "submitted" / learner / assignment
    newest = max(c.mtime for c in cands)
    if (dest / "timestamp.txt").exists():
        old = _parse_ts((dest / "timestamp.txt").read_text(encoding="utf-8"))
        if old is not None and old > newest + 1e-6:
            result.kept_existing.append((learner, f"already collected a newer submission ({_format_ts(old)})"))
            return
    staging = dest.parent / f".{assignment}.collecting"
    if staging.exists():
        shutil.rmtree(staging)
    if dest.exists():
        shutil.copytree(dest, staging)  # keeps notebooks not returned this time (multi-notebook assignments)
    staging.mkdir(parents=True, exist_ok=True)
    placed = []
    for cand in cands:
        shutil.copy2(cand.path, staging / f"{cand.notebook}.ipynb")
        placed.append(cand.display)
        if not cand.valid:
            result.invalid.append((learner, cand.display))
        if cand.responses is not None:
            target = staging / "responses"
            if target.exists():
                shutil.rmtree(target)
            shutil.copytree(cand.responses, target, ignore=shutil.ignore_patterns(".*"))
            placed.append(str(Path(cand.display).parent / "responses") + "/")
    timestamp = _format_ts(newest)
    (staging / "timestamp.txt").write_text(timestamp + "\n", encoding="utf-8")
    if dest.exists():
        old_dir = dest.parent / f".{assignment}.old"
        if old_dir.exists():
            shutil.rmtree(old_dir)
        dest.rename(old_dir)
        staging.rename(dest)
        shutil.rmtree(old_dir)
    else:
        staging.rename(dest)
    result.placed[learner] = placed
    result.timestamps[learner] = timestamp
