"""Replay grading without nbgrader: good, poor, tampered, mismatched, missing, unfinished and hostile files."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from cs_helpers import roleplay as rp
from cs_helpers.roleplay import trainer
from cs_helpers.roleplay import grading
from cs_helpers.roleplay.responses import checksum

GOOD = ["op_a", "mn_b", "st_c", "ic_a", "al_a", "fd_b", "cp_a"]
# Heard the need, split scope, showed the numbers, but dismissed the feature request and closed vaguely.
POOR = ["op_a", "mn_b", "st_c", "ic_a", "al_b", "cp_b"]
SID = "overdemanding_request"


@pytest.fixture
def saved(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_DOJO_LEARNER_ID", "sato")

    def save(path):
        return trainer.record_path(SID, path, base=tmp_path)
    return save


def _rewrite(path: Path, change, *, fix_checksum: bool) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    if fix_checksum:
        record["checksum"] = checksum(record)
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def test_good_path_full_marks(tmp_path, saved):
    saved(GOOD)
    result = grading.grade_response(SID, points=4, base=tmp_path)
    assert result.ok and result.points == 4.0 and result.report.outcome == "success"
    assert "4 / 4 点" in result.message


def test_poor_path_partial_credit(tmp_path, saved):
    saved(POOR)
    result = grading.grade_response(SID, points=4, base=tmp_path)
    scenario = rp.load(SID)
    expected = round(4 * trainer.replay(scenario, POOR).score().total, 2)
    assert result.ok and 0 < result.points < 4 and result.points == expected
    assert result.report.outcome == "partial"


def test_overpromise_fails_but_keeps_partial_credit(tmp_path, saved):
    saved(["op_c", "ym_b"])
    result = grading.grade_response(SID, points=4, base=tmp_path)
    assert result.ok and result.report.outcome == "fail" and result.points < 1


@pytest.mark.parametrize("kind, change, fix, fragment", [
    ("checksum", lambda r: r["path"].pop(), False, "書き換えられています"),
    ("checksum", lambda r: r.update(ending="fail_cold"), False, "書き換えられています"),
    ("hash", lambda r: r.update(scenario_hash="0" * 64), True, "ハッシュ"),
    ("scenario", lambda r: r.update(scenario_id="kickoff_hearing"), True, "別のシナリオ"),
    ("path", lambda r: r["path"].insert(1, {"choice": "cp_a", "node": "x", "at": ""}), True, "再現できません"),
    ("path", lambda r: r.update(ending="fail_cold"), True, "終わり方が"),
    ("unfinished", lambda r: r.update(path=r["path"][:3], ending=None, finished=False), True, "終わっていません"),
    ("format", lambda r: r.update(format="something/else"), True, "形式"),
    ("format", lambda r: r.update(path="op_a"), True, "読めません"),
])
def test_rejected_responses_score_zero(tmp_path, saved, kind, change, fix, fragment):
    path = saved(GOOD)
    _rewrite(path, change, fix_checksum=fix)
    result = grading.grade_response(SID, points=4, base=tmp_path)
    assert (result.ok, result.points, result.reason) == (False, 0.0, kind)
    assert fragment in result.message


@pytest.mark.parametrize("content", [b"", b"not json", b"[1, 2]", "{\"format\": 3}".encode(), b"\xff\xfe\x00"])
def test_garbage_files_score_zero(tmp_path, content):
    target = tmp_path / "responses" / f"{SID}.json"
    target.parent.mkdir()
    target.write_bytes(content)
    result = grading.grade_response(SID, points=4, base=tmp_path)
    assert not result.ok and result.points == 0.0


def test_missing_file_scores_zero(tmp_path):
    result = grading.grade_response(SID, points=4, base=tmp_path)
    assert (result.ok, result.points, result.reason) == (False, 0.0, "missing")
    assert "見つかりません" in result.message


def test_trainer_scenario_never_comes_from_the_submission(tmp_path, saved, monkeypatch):
    """A learner pointing CS_DOJO_DATASETS at their own folder gets 0, not their own scenario."""
    saved(GOOD)
    fake = tmp_path / "datasets" / "scenarios"
    fake.mkdir(parents=True)
    (fake / f"{SID}.yaml").write_text(rp.load(SID).path and Path(rp.load(SID).path).read_text("utf-8"), "utf-8")
    monkeypatch.setenv("CS_DOJO_DATASETS", str(tmp_path / "datasets"))
    result = grading.grade_response(SID, points=4, base=tmp_path)
    assert result.points == 0.0 and result.reason == "trainer"


def test_unknown_scenario_is_a_clear_zero(tmp_path):
    result = grading.grade_response("no_such_scenario", points=2, base=tmp_path)
    assert result.points == 0.0 and "見つかりません" in result.message


def test_autograde_prints_to_stdout_only_and_returns_a_float(tmp_path):
    """What the hidden test cell does, in a fresh interpreter: one stdout line, a float, nothing on stderr."""
    code = ("from cs_helpers.roleplay import grading\n"
            f"print(repr(grading.autograde({SID!r}, points=4)))\n")
    proc = subprocess.run([sys.executable, "-W", "default", "-c", code], cwd=tmp_path, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and proc.stderr == ""
    message, value = proc.stdout.strip().splitlines()
    assert value == "0.0" and "0 点" in message and "見つかりません" in message
