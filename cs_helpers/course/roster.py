"""``cs-dojo roster import FILE``: load learners into ``roster.csv`` and nbgrader's gradebook.

The CSV needs a header with ``learner_id`` and ``name``; ``email``, ``cohort`` and ``company_profile`` are optional.
Japanese headers are accepted too (受講者ID, 氏名, メール, コホート, 企業プロファイル). UTF-8 (with or without BOM) and
Excel's Shift_JIS (cp932) files both work. Every bad row is reported with its line number and skipped; good rows
are kept. Importing again updates learners by id (merge), so a corrected file can simply be re-imported.
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field
from pathlib import Path

from ..learner import validate_learner_id
from .common import CourseError, Learner, course_root, db_url, read_roster, write_roster

HEADER_ALIASES = {
    "learner_id": "learner_id", "id": "learner_id", "student_id": "learner_id", "受講者id": "learner_id",
    "受講者ｉｄ": "learner_id", "学習者id": "learner_id",
    "name": "name", "氏名": "name", "名前": "name",
    "email": "email", "e-mail": "email", "mail": "email", "メール": "email", "メールアドレス": "email",
    "cohort": "cohort", "コホート": "cohort", "期": "cohort", "クラス": "cohort",
    "company_profile": "company_profile", "企業プロファイル": "company_profile", "担当企業": "company_profile",
}
_EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")


@dataclass
class ImportResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    bad_rows: list[tuple[int, str]] = field(default_factory=list)
    roster_path: Path | None = None

    @property
    def ok(self) -> bool:
        return not self.bad_rows


def _decode(data: bytes, path: Path) -> str:
    for encoding in ("utf-8-sig", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise CourseError(f"{path} の文字コードを読めません。UTF-8 で保存し直してください。 (cannot decode the file)")


def parse_roster(path: str | Path) -> tuple[list[Learner], list[tuple[int, str]]]:
    """Parse a roster CSV. Returns (good learners, [(line number, problem)])."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise CourseError(f"名簿ファイル {path} が見つかりません。 (roster file not found)")
    text = _decode(path.read_bytes(), path)
    reader = csv.reader(io.StringIO(text))
    try:
        header = next(reader)
    except StopIteration:
        raise CourseError(f"{path} が空です。1行目に learner_id,name,email,cohort の見出しを書いてください。") from None
    columns = [HEADER_ALIASES.get(h.strip().lower()) for h in header]
    if "learner_id" not in columns or "name" not in columns:
        raise CourseError(
            f"{path} の1行目に learner_id と name の列が必要です (見つかった列: {', '.join(header)})。"
            " 例: learner_id,name,email,cohort")
    good: list[Learner] = []
    bad: list[tuple[int, str]] = []
    seen: dict[str, int] = {}
    line = reader.line_num
    for row in reader:
        line_no, line = line + 1, reader.line_num
        if not any(cell.strip() for cell in row):
            continue
        if len(row) > len(header) and any(c.strip() for c in row[len(header):]):
            bad.append((line_no, f"列が多すぎます ({len(row)} 列、見出しは {len(header)} 列)。値の中のカンマは \"...\" で囲んでください"))
            continue
        values = {col: (row[i].strip() if i < len(row) else "") for i, col in enumerate(columns) if col}
        raw_id = values.get("learner_id", "")
        try:
            lid = validate_learner_id(raw_id)
        except ValueError as exc:
            bad.append((line_no, str(exc) if raw_id else "learner_id が空です"))
            continue
        if lid in seen:
            bad.append((line_no, f"learner_id「{lid}」は {seen[lid]} 行目と重複しています"))
            continue
        if not values.get("name"):
            bad.append((line_no, f"learner_id「{lid}」の name (氏名) が空です"))
            continue
        email = values.get("email", "")
        if email and not _EMAIL.match(email):
            bad.append((line_no, f"learner_id「{lid}」のメールアドレス「{email}」の形式が正しくありません"))
            continue
        seen[lid] = line_no
        good.append(Learner(lid, values.get("name", ""), email, values.get("cohort", ""),
                            values.get("company_profile", "")))
    return good, bad


def _split_name(name: str) -> tuple[str, str]:
    """(first, last) for nbgrader; Japanese order is family name first."""
    parts = name.replace("\u3000", " ").split()
    if len(parts) >= 2:
        return " ".join(parts[1:]), parts[0]
    return "", name


def import_roster(*, course_dir: str | Path = ".", csv_path: str | Path) -> ImportResult:
    """Merge a roster CSV into ``roster.csv`` and the gradebook's students table."""
    root = course_root(course_dir)
    good, bad = parse_roster(csv_path)
    existing = {lr.learner_id: lr for lr in read_roster(root)}
    result = ImportResult(bad_rows=bad)
    for learner in good:
        (result.updated if learner.learner_id in existing else result.added).append(learner.learner_id)
        existing[learner.learner_id] = learner
    from nbgrader.api import Gradebook
    with Gradebook(db_url(root), "cs-dojo") as gb:
        for learner in good:
            first, last = _split_name(learner.name)
            gb.update_or_create_student(learner.learner_id, first_name=first, last_name=last,
                                        email=learner.email or None)
    result.roster_path = write_roster(root, existing.values())
    return result


def show_roster(*, course_dir: str | Path = ".") -> list[Learner]:
    return read_roster(course_root(course_dir))
