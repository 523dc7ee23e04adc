"""The trusted scorer (``cs_helpers.roleplay.trusted.score_submission``), as ``cs-dojo grade`` calls it: exact
points, the ending's cap, and a 0 with a reason for every record that must not count."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from cs_helpers import roleplay as rp
from cs_helpers.roleplay import grading, trainer
from cs_helpers.roleplay.analysis import best_by_ending, best_path
from cs_helpers.roleplay.responses import checksum
from cs_helpers.roleplay.trusted import MAX_GRADED_RESTARTS, score_submission
from cs_helpers.roleplay.widget import RoleplayWidget

SID = "overdemanding_request"
LEARNER = "sato_k"


@pytest.fixture(scope="module")
def scenario():
    return rp.load(SID)


@pytest.fixture
def sub(tmp_path):
    folder = tmp_path / "submitted" / LEARNER / "03_roleplay"
    folder.mkdir(parents=True)
    return folder


def _score(sub, learner=LEARNER, points=4.0):
    return score_submission(SID, submission_dir=sub, learner=learner, points=points)


def _play(sub, path, *, learner=LEARNER, graded=True):
    w = RoleplayWidget(rp.load(SID), graded=graded, base=sub, learner=learner)
    for cid in path:
        w.buttons[cid].click()
    return w


def _rewrite(path: Path, change, *, fix_checksum: bool = True) -> None:
    record = json.loads(path.read_text(encoding="utf-8"))
    change(record)
    if fix_checksum:
        record["checksum"] = checksum(record)
    path.write_text(json.dumps(record, ensure_ascii=False), encoding="utf-8")


def test_model_conversation_full_marks(sub, scenario):
    _play(sub, best_path(scenario)[0])
    result = _score(sub)
    assert (result.ok, result.points, result.max_points, result.reason, result.restarts) == (True, 4.0, 4.0, "", 0)
    assert result.report.outcome == "success" and "4 / 4 点" in result.message


def test_fail_ending_is_capped_below_the_pass_mark(sub, scenario):
    fails = {e: v for e, v in best_by_ending(scenario).items() if scenario.endings[e].outcome == "fail"}
    ending, (path, uncapped) = max(fails.items(), key=lambda kv: kv[1][1])
    _play(sub, path)
    result = _score(sub)
    assert result.ok and result.report.ending == ending
    assert result.points == round(4 * min(uncapped, 0.5), 2) and result.points <= 2.0
    assert result.points / 4 < scenario.pass_threshold


def test_exact_partial_credit(sub, scenario):
    partials = {e: v for e, v in best_by_ending(scenario).items() if scenario.endings[e].outcome == "partial"}
    ending, (path, uncapped) = next(iter(sorted(partials.items())))
    _play(sub, path)
    result = _score(sub)
    assert result.ok and result.report.ending == ending
    assert result.points == round(4 * min(uncapped, 0.8), 2) and result.points < 4


def test_one_restart_is_reported(sub, scenario):
    w = _play(sub, best_path(scenario)[0][:2])
    w.restart_button.click()
    w.restart_button.click()
    for cid in best_path(scenario)[0]:
        w.buttons[cid].click()
    result = _score(sub)
    assert result.ok and result.points == 4.0 and result.restarts == 1 == MAX_GRADED_RESTARTS
    assert "やり直し 1 回" in result.message


@pytest.mark.parametrize("case, reason, fragment", [
    ("practice", "practice", "練習モード"),
    ("foreign", "learner", "別の受講者ID"),
    ("missing", "missing", "見つかりません"),
    ("unfinished", "unfinished", "終わっていません"),
    ("hand_edited", "checksum", "書き換えられています"),
    ("restarts", "restarts", "やり直しは 1 回まで"),
    ("structure", "hash", "構成"),
    ("other_scenario", "scenario", "別のシナリオ"),
    ("symlink", "format", "リンク"),
    ("symlinked_folder", "format", "リンク"),
])
def test_records_that_must_not_count_score_zero(sub, scenario, tmp_path, case, reason, fragment):
    best = best_path(scenario)[0]
    target = sub / "responses" / f"{SID}.json"
    if case == "practice":
        _play(sub, best, graded=False)
    elif case == "foreign":
        _play(sub, best, learner="suzuki_m")
    elif case == "unfinished":
        _play(sub, best[:3])
    elif case == "hand_edited":
        _play(sub, best)
        _rewrite(target, lambda r: r.update(restarts=0, learner_id=LEARNER, mode="graded", ending=r["ending"],
                                            path=r["path"][:-1] + r["path"][-1:], started_at="x"), fix_checksum=False)
    elif case == "restarts":
        _play(sub, best)
        _rewrite(target, lambda r: r.update(restarts=2))
    elif case == "structure":
        _play(sub, best)
        _rewrite(target, lambda r: r.update(scenario_hash="0" * 64))
    elif case == "other_scenario":
        trainer.record_best("kickoff_hearing", base=sub, learner=LEARNER, quiet=True)
        os.replace(sub / "responses" / "kickoff_hearing.json", target)
    elif case == "symlink":
        elsewhere = tmp_path / "elsewhere"
        _play(elsewhere, best)
        target.parent.mkdir()
        target.symlink_to(elsewhere / "responses" / f"{SID}.json")
    elif case == "symlinked_folder":
        elsewhere = tmp_path / "elsewhere"
        _play(elsewhere, best)
        (sub / "responses").symlink_to(elsewhere / "responses", target_is_directory=True)
    result = _score(sub)
    assert (result.ok, result.points, result.reason) == (False, 0.0, reason), result.message
    assert fragment in result.message and result.message.startswith("「")


def test_a_wording_fix_keeps_records_valid_a_structural_change_does_not(sub, scenario, tmp_path, monkeypatch):
    _play(sub, best_path(scenario)[0])
    trainer_copy = tmp_path / "trainer" / "scenarios"
    trainer_copy.mkdir(parents=True)
    text = Path(scenario.path).read_text(encoding="utf-8")
    node = scenario.nodes[scenario.start]
    (trainer_copy / f"{SID}.yaml").write_text(text.replace(node.text.splitlines()[0],
                                                           node.text.splitlines()[0] + "（言い回しを修正）", 1),
                                              encoding="utf-8")
    monkeypatch.setenv("CS_DOJO_DATASETS", str(tmp_path / "trainer"))
    assert rp.load(SID).structure_hash == scenario.structure_hash and rp.load(SID).content_hash != scenario.content_hash
    assert _score(sub).points == 4.0
    first = best_path(scenario)[0][0]
    criterion, pts = scenario.choices[first].rubric[0]
    line = f"rubric: {{{criterion}: {pts}}}"
    assert line in text, "the model answer's first choice should carry a one-criterion rubric"
    (trainer_copy / f"{SID}.yaml").write_text(text.replace(line, f"rubric: {{{criterion}: {pts + 1}}}", 1), "utf-8")
    result = _score(sub)
    assert (result.points, result.reason) == (0.0, "hash") and "構成" in result.message


def test_scenarios_inside_the_submission_are_refused(sub, scenario, monkeypatch):
    """Even if the trainer's environment pointed into a submission, the learner's folder is never the key."""
    _play(sub, best_path(scenario)[0])
    shutil.copytree(Path(scenario.path).parent, sub / "datasets" / "scenarios")
    monkeypatch.setenv("CS_DOJO_DATASETS", str(sub / "datasets"))
    result = _score(sub)
    assert (result.points, result.reason) == (0.0, "trainer")


def test_unknown_or_malformed_scenario_id(sub):
    assert score_submission("no_such_one", submission_dir=sub, learner=LEARNER, points=2).reason == "trainer"
    assert score_submission("../etc", submission_dir=sub, learner=LEARNER, points=2).reason == "trainer"


def test_confirm_record_in_the_kernel_gives_no_score(sub, scenario, capsys):
    assert grading.confirm_record(SID, points=4, base=sub) == 0.0
    assert "見つかりません" in capsys.readouterr().out
    _play(sub, best_path(scenario)[0][:2])
    assert grading.confirm_record(SID, points=4, base=sub) == 0.0
    _play(sub, best_path(scenario)[0][2:])
    assert grading.confirm_record(SID, points=4, base=sub) == 4.0
    out = capsys.readouterr().out
    assert "講師側の採点" in out and "/ 4" not in out and "%" not in out
    practice = sub.parent / "practice"
    _play(practice, best_path(scenario)[0], graded=False)
    assert grading.confirm_record(SID, points=4, base=practice) == 0.0


def test_records_from_before_the_structure_hash_still_count(sub, scenario):
    _play(sub, best_path(scenario)[0])
    _rewrite(sub / "responses" / f"{SID}.json", lambda r: r.update(scenario_hash=scenario.content_hash))
    assert _score(sub).points == 4.0
