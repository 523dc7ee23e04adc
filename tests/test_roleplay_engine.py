"""The engine on the small fixture: choices and conditions, effects with clamping, undo/restart, transcript,
weighted scores computed by hand, the ending's cap, replay that rejects invalid paths, the per-learner order of
choices, and the content and structure hashes."""
from __future__ import annotations

from pathlib import Path

import pytest

from cs_helpers.roleplay.engine import InvalidChoice, ReplayError, Session, presentation_order, replay
from cs_helpers.roleplay.schema import FAIL_CAP, PARTIAL_CAP, content_hash, load_scenario, parse_text, read_yaml

FIXTURES = Path(__file__).parent / "fixtures" / "roleplay"


@pytest.fixture(scope="module")
def scenario():
    return load_scenario(FIXTURES / "minimal.yaml")


def test_start_and_conditions(scenario):
    s = Session(scenario)
    assert s.current == "hello" and not s.finished and s.ending is None
    assert [c.id for c in s.available_choices()] == ["ask", "ask_rushed", "pitch"]
    s.choose("pitch")
    assert s.state == {"trust": 0, "asked": False}          # 0 - 1 is clamped to the minimum
    assert [c.id for c in s.available_choices()] == ["close_bad"]   # close_good needs `asked`
    with pytest.raises(InvalidChoice, match="今の状況では選べません"):
        s.choose("close_good")


def test_branches_follow_state_after_effects(scenario):
    assert replay(scenario, ["ask", "close_good"]).ending.id == "win"          # trust 2
    assert replay(scenario, ["ask_rushed", "close_good"]).ending.id == "meh"   # trust 1
    assert replay(scenario, ["pitch", "close_bad"]).ending.id == "lose"


def test_undo_and_restart(scenario):
    s = Session(scenario)
    s.choose("ask")
    s.choose("close_good")
    assert s.finished and s.path == ["ask", "close_good"]
    with pytest.raises(InvalidChoice, match="終わっています"):
        s.choose("close_bad")
    assert s.undo() and s.current == "middle" and s.state == {"trust": 2, "asked": True}
    assert s.undo() and s.current == "hello" and s.state == scenario.initial_state()
    assert not s.undo()
    s.choose("pitch")
    s.restart()
    assert s.path == [] and s.current == "hello" and s.restarts == 1
    s.restart()
    assert s.restarts == 1  # restarting an empty conversation is not counted


def test_transcript(scenario):
    s = replay(scenario, ["ask", "close_good"])
    lines = s.transcript()
    assert [(line.kind, line.ref) for line in lines] == [
        ("customer", "hello"), ("learner", "ask"), ("narrator", "middle"), ("learner", "close_good"),
        ("ending", "win")]
    assert lines[0].speaker == "山田部長" and lines[1].speaker == "あなた" and lines[2].speaker == "状況"
    assert "「導入の目的を伺えますか」" in s.transcript_text()


@pytest.mark.parametrize("path, total, levels", [
    (["ask", "close_good"], 1.0, {"listen": 2, "close": 2, "honest": 2}),
    # listen 0, close 0, honest 2-1=1 → (2*0 + 1*0 + 1*0.5) / 4
    (["pitch", "close_bad"], 0.125, {"listen": 0, "close": 0, "honest": 1}),
    # listen 1 → 0.5, close 2 → 1, honest 2 → 1 → (2*0.5 + 1 + 1) / 4
    (["ask_rushed", "close_good"], 0.75, {"listen": 1, "close": 2, "honest": 2}),
])
def test_weighted_normalised_score(scenario, path, total, levels):
    report = replay(scenario, path).score()
    assert report.finished
    assert report.total == pytest.approx(total)
    assert {c.id: c.level for c in report.criteria} == levels
    assert report.passed is (total >= 0.6)


def test_unfinished_scores_zero(scenario):
    report = replay(scenario, ["ask"]).score()
    assert not report.finished and report.total == 0 and report.ending is None


@pytest.mark.parametrize("path, message", [
    (["nope"], "このシナリオにありません"),
    (["close_good"], "今の場面"),
    (["pitch", "close_good"], "今の状況では選べません"),
    (["ask", "close_good", "close_bad"], "終わっています"),
    ([3], "文字列ではありません"),
    (["ask"] * 500, "多すぎます"),
])
def test_replay_rejects_invalid_paths(scenario, path, message):
    with pytest.raises(ReplayError) as err:
        replay(scenario, path)
    assert message in str(err.value)


def test_replay_require_finished(scenario):
    with pytest.raises(ReplayError, match="最後まで"):
        replay(scenario, ["ask"], require_finished=True)


def test_deterministic(scenario):
    a = replay(scenario, ["ask_rushed", "close_good"])
    b = replay(scenario, ["ask_rushed", "close_good"])
    assert a.state == b.state and a.score() == b.score() and a.transcript() == b.transcript()


def test_content_hash_ignores_layout_but_not_wording():
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    base = parse_text(text)[0].content_hash
    relaid = "# another comment\n" + text.replace("    tags: [opening]", "    tags:\n      - opening")
    assert parse_text(relaid)[0].content_hash == base
    reworded = text.replace("相手が少し考え込んでいる。", "相手が考え込んでいる。")
    assert parse_text(reworded)[0].content_hash != base
    data, _ = read_yaml(text)
    assert content_hash(data) == base and len(base) == 64


@pytest.mark.parametrize("path, outcome, uncapped, total", [
    (["ask", "close_bad"], "fail", 0.75, FAIL_CAP),        # listen 1.0×2, close 0, honest 1.0×1 → 3 / 4
    (["pitch", "close_bad"], "fail", 0.125, 0.125),        # already below the cap
    (["ask_rushed", "close_good"], "partial", 0.75, 0.75),
    (["ask", "close_good"], "success", 1.0, 1.0),
])
def test_the_ending_caps_the_score(scenario, path, outcome, uncapped, total):
    report = replay(scenario, path).score()
    assert (report.outcome, report.uncapped, report.total) == (outcome, pytest.approx(uncapped), pytest.approx(total))
    assert report.capped is (uncapped > total)
    assert not (outcome == "fail" and report.passed)


def test_partial_ending_never_reaches_full_marks():
    sc = load_scenario(FIXTURES / "gameable.yaml")
    path = [f"s{i:02d}_good" for i in range(1, 9)] + ["s09_bad", "s10_good"]     # one gap: partial, criteria 1.0
    report = replay(sc, path).score()
    assert report.outcome == "partial" and report.uncapped == 1.0 and report.total == PARTIAL_CAP
    fail = replay(sc, [f"s{i:02d}_good" for i in range(1, 10)] + ["s10_bad"]).score()
    assert fail.outcome == "fail" and fail.uncapped == 1.0 and fail.total == FAIL_CAP < sc.pass_threshold


def test_pass_threshold_must_be_above_the_fail_cap():
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    sc, issues = parse_text(text.replace("grading:\n", "grading:\n  pass_threshold: 0.5\n"), "x.yaml")
    assert sc is None and any("pass_threshold" in i.message and "0.5" in i.message for i in issues)


def test_presentation_order_is_a_stable_per_learner_shuffle(scenario):
    node = scenario.nodes["hello"]
    orders = {learner: [c.id for c in presentation_order(node.choices, learner=learner, scenario_id="minimal",
                                                         node_id="hello")] for learner in ("a", "b", "c", "d", "e", "f")}
    assert all(sorted(o) == ["ask", "ask_rushed", "pitch"] for o in orders.values())
    assert len({tuple(o) for o in orders.values()}) > 1
    again = [c.id for c in presentation_order(node.choices, learner="a", scenario_id="minimal", node_id="hello")]
    assert again == orders["a"]
    # a choice hidden by a condition does not reorder the others
    subset = [c.id for c in presentation_order([c for c in node.choices if c.id != "pitch"], learner="a",
                                               scenario_id="minimal", node_id="hello")]
    assert subset == [c for c in orders["a"] if c != "pitch"]
    s = Session(scenario)
    assert [c.id for c in s.presented_choices("a")] == orders["a"]


def test_structure_hash_ignores_wording_but_not_structure():
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    base = parse_text(text)[0].structure_hash
    assert len(base) == 64
    for wording in (text.replace("相手が少し考え込んでいる。", "相手が考え込んでいる。"),
                    text.replace("「導入の目的を伺えますか」", "「導入の目的をお聞かせいただけますか」"),
                    text.replace("feedback: 目的から聞けました。", "feedback: 最初に目的を聞けました。"),
                    text.replace("title: 合意", "title: 合意できた"),
                    text.replace('if: "trust >= 2"', 'if: "trust>=2"'),
                    text.replace("label: 目的を聞いた, weight: 2", "label: 目的を確かめた, weight: 2")):
        assert wording != text
        assert parse_text(wording)[0].structure_hash == base
    for structure in (text.replace("effects: {trust: +2, asked: true}", "effects: {trust: +1, asked: true}"),
                      text.replace("rubric: {listen: 2}", "rubric: {listen: 1}"),
                      text.replace('if: "trust >= 2"', 'if: "trust >= 3"'),
                      text.replace("next: lose", "next: meh"),
                      text.replace("outcome: partial", "outcome: fail"),
                      text.replace("- id: pitch", "- id: pitch_x"),
                      text.replace("weight: 2}", "weight: 3}")):
        assert structure != text
        assert parse_text(structure)[0].structure_hash != base
