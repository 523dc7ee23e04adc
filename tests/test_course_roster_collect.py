"""Roster import and collect edge cases (no grading, real gradebook)."""
from __future__ import annotations

import json
import os
import shutil
import time
import zipfile
from pathlib import Path

import pytest

from cs_helpers.course.collect import collect_submissions
from cs_helpers.course.common import CourseError, read_roster
from cs_helpers.course.roster import import_roster, parse_roster
from cs_helpers.course.workspace import init_course

FIX = Path(__file__).parent / "fixtures" / "course"
A = "00_sample"
NB = FIX / "submissions" / "blank_sample.ipynb"


@pytest.fixture(scope="module")
def _fresh_course(tmp_path_factory):
    """One initialised workspace per module (creating a gradebook runs alembic, which is slow); tests copy it."""
    tmp = tmp_path_factory.mktemp("course_template")
    empty = tmp / "empty"
    empty.mkdir()
    init_course(tmp / "course", exercises=empty, curriculum=empty)
    return tmp / "course"


@pytest.fixture()
def course(tmp_path, _fresh_course):
    root = tmp_path / "course"
    shutil.copytree(_fresh_course, root)
    (tmp_path / "r.csv").write_text("learner_id,name,email,cohort\nsato_a,佐藤 彩,s@example.com,c1\n"
                                    "sato_a2,佐藤 明,s2@example.com,c1\nito,伊藤 純,,c2\n", encoding="utf-8")
    assert import_roster(course_dir=root, csv_path=tmp_path / "r.csv").ok
    return root


def test_bad_rows_are_reported_with_line_numbers_and_good_rows_kept(course, tmp_path):
    csv_path = tmp_path / "bad.csv"
    csv_path.write_text(
        "learner_id,name,email,cohort\n"
        "ok_1,山田 一郎,yamada@example.com,c1\n"
        "bad id,空白 入り,x@example.com,c1\n"          # line 3: space in id
        "ok_1,重複 太郎,d@example.com,c1\n"             # line 4: duplicate
        "ok_2,,n@example.com,c1\n"                     # line 5: no name
        "ok_3,形式 違い,not-an-email,c1\n"              # line 6: bad email
        "\n"
        "ok_4,\"鈴木, 花子\",suzuki@example.com,c2\n",  # line 8: quoted comma is fine
        encoding="utf-8")
    result = import_roster(course_dir=course, csv_path=csv_path)
    assert [line for line, _ in result.bad_rows] == [3, 4, 5, 6]
    assert "3 行目" not in result.bad_rows[0][1] and "2 行目" in result.bad_rows[1][1]
    assert sorted(result.added) == ["ok_1", "ok_4"]
    roster = {lr.learner_id: lr for lr in read_roster(course)}
    assert roster["ok_4"].name == "鈴木, 花子" and "sato_a" in roster  # merged with the earlier import
    from nbgrader.api import Gradebook
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", "cs-dojo") as gb:
        student = gb.find_student("ok_4")
        assert student.email == "suzuki@example.com"


def test_cp932_file_with_japanese_headers(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes("受講者ID,氏名,メール,コホート\r\ntanaka_h,田中 浩,t@example.com,4月\r\n".encode("cp932"))
    good, bad = parse_roster(path)
    assert not bad and good[0].name == "田中 浩" and good[0].cohort == "4月"


def test_missing_id_column_is_a_clear_error(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text("name,email\n佐藤,s@example.com\n", encoding="utf-8")
    with pytest.raises(CourseError, match="learner_id"):
        parse_roster(path)


def _put(path: Path, mtime: float, source: Path = NB) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, path)
    os.utime(path, (mtime, mtime))
    return path


def test_collect_folder_duplicates_prefixes_metadata_and_unmatched(course, tmp_path):
    box = tmp_path / "box"
    now = time.time()
    _put(box / "sato_a_sample.ipynb", now - 3600)
    newest = _put(box / "mail2" / "SATO_A-再提出.ipynb", now - 60)      # case-insensitive prefix, newer
    _put(box / "sato_a2_sample.ipynb", now - 100)                      # longest id wins: not sato_a
    nb = json.loads(NB.read_text(encoding="utf-8"))
    nb["metadata"]["cs_dojo"] = {"learner_id": "ito"}
    (box / "download (3).ipynb").write_text(json.dumps(nb), encoding="utf-8")
    _put(box / "someone_else.ipynb", now)
    (box / ".ipynb_checkpoints").mkdir()
    _put(box / ".ipynb_checkpoints" / "sato_a-checkpoint.ipynb", now)
    result = collect_submissions(course_dir=course, assignment=A, path=box)
    assert sorted(result.placed) == ["ito", "sato_a", "sato_a2"]
    assert result.duplicates == [("sato_a", str(newest.relative_to(box)), ["sato_a_sample.ipynb"])]
    assert [u[0] for u in result.unmatched] == ["someone_else.ipynb"]
    placed = course / "submitted" / "sato_a" / A / "sample.ipynb"
    assert placed.read_bytes() == newest.read_bytes()
    assert (course / "submitted" / "sato_a" / A / "timestamp.txt").read_text().startswith(
        time.strftime("%Y-%m-%d", time.gmtime(now - 60)))
    # collecting an older copy later does not replace the newer one
    old = tmp_path / "old"
    _put(old / "sato_a.ipynb", now - 7200)
    again = collect_submissions(course_dir=course, assignment=A, path=old)
    assert again.kept_existing and again.kept_existing[0][0] == "sato_a"
    assert placed.read_bytes() == newest.read_bytes()


def test_collect_zip_keeps_responses_and_refuses_escaping_paths(course, tmp_path):
    zpath = tmp_path / "lms.zip"
    with zipfile.ZipFile(zpath, "w") as zf:
        zf.write(NB, "export/ito/sample.ipynb")
        zf.writestr("export/ito/responses/renewal_call.json", json.dumps({"ending": "success"}))
        zf.writestr("../../evil.ipynb", "{}")
        zf.writestr("/abs/sato_a.ipynb", "{}")
    result = collect_submissions(course_dir=course, assignment=A, path=zpath)
    assert list(result.placed) == ["ito"]
    assert len(result.unsafe) == 2
    assert (course / "submitted" / "ito" / A / "responses" / "renewal_call.json").exists()
    assert not (tmp_path / "evil.ipynb").exists() and not (course.parent / "evil.ipynb").exists()
    assert sorted(result.missing) == ["sato_a", "sato_a2"]


def test_collect_needs_a_roster_and_a_real_path(tmp_path, _fresh_course):
    root = tmp_path / "c"
    shutil.copytree(_fresh_course, root)
    with pytest.raises(CourseError, match="roster import"):
        collect_submissions(course_dir=root, assignment=A, path=tmp_path)
    with pytest.raises(CourseError, match="課題「nope」"):
        collect_submissions(course_dir=root, assignment="nope", path=tmp_path)
