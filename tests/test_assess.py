"""Self-assessment: definitions, profile format (validation, atomic save, history), widgets, radar chart."""
from __future__ import annotations

import io
import json
import math
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

from cs_helpers import assess  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_DOJO_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CS_DOJO_LEARNER_ID", raising=False)
    return tmp_path / "home"


def full_scores(value: int = 3) -> tuple[dict, dict]:
    comp = {g.key: {i.key: value for i in g.items} for g in assess.COMPETENCIES}
    return comp, {t: value for t in assess.TRAIT_KEYS}


# --- definitions ------------------------------------------------------------------------------------
def test_six_groups_with_babok_items_and_five_traits():
    sizes = {g.key: len(g.items) for g in assess.COMPETENCIES}
    assert sizes == {"analytical": 7, "behavioural": 5, "business": 5, "communication": 4, "interaction": 5,
                     "tools": 3}
    assert len(assess.TRAITS) == 5
    keys = [f"{g.key}.{i.key}" for g in assess.COMPETENCIES for i in g.items]
    assert len(keys) == len(set(keys))
    new = {i.key for g in assess.COMPETENCIES for i in g.items if i.new_in_v3}
    assert new == {"conceptual_thinking", "visual_thinking", "methodology_knowledge", "non_verbal", "listening",
                   "negotiation"}
    for g in assess.COMPETENCIES:
        assert g.name and g.description
        assert all(i.name and i.description for i in g.items)


def test_find_item_by_name_or_key():
    g, i = assess.find_item("非言語コミュニケーション")
    assert (g.key, i.key) == ("communication", "non_verbal")
    assert assess.find_item("business.industry_knowledge")[1].name == "業界の知識"
    with pytest.raises(KeyError, match="item_names"):
        assess.find_item("魔法")


# --- validation ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("bad", [0, 6, 3.5, "3", True, float("nan"), None])
def test_scores_must_be_integers_in_range(bad):
    with pytest.raises(assess.ProfileError, match="1〜5"):
        assess.Profile("t1", {"communication": {"listening": bad}})


def test_unknown_keys_are_named_in_the_error():
    with pytest.raises(assess.ProfileError, match="magic"):
        assess.Profile("t1", {"magic": {}})
    with pytest.raises(assess.ProfileError, match="listenin"):
        assess.Profile("t1", {"communication": {"listenin": 3}})
    with pytest.raises(assess.ProfileError, match="kindness"):
        assess.Profile("t1", traits={"kindness": 3})
    with pytest.raises(assess.ProfileError, match="受講者ID"):
        assess.Profile("../etc", {})


def test_group_scores_use_rated_items_only():
    p = assess.Profile("t1", {"communication": {"listening": 5, "verbal": 2}}, {"empathy": 4})
    scores = p.group_scores()
    assert list(scores) == [g.key for g in assess.COMPETENCIES]
    assert scores["communication"] == 3.5
    assert math.isnan(scores["tools"])
    assert p.trait_scores()["empathy"] == 4.0 and math.isnan(p.trait_scores()["logic"])
    assert not p.is_complete()
    assert assess.Profile("t1", *full_scores()).is_complete()


# --- save / load ----------------------------------------------------------------------------------------
def test_save_load_round_trip_and_documented_shape(home):
    comp, traits = full_scores(4)
    comp["business"]["industry_knowledge"] = 1
    path = assess.save_profile(assess.Profile("tanaka_h", comp, traits, note="業界知識が課題"))
    assert path == home / "profiles" / "tanaka_h.json"
    raw = json.loads(path.read_text(encoding="utf-8"))
    assert raw["format"] == "cs-dojo/self-assessment" and raw["version"] == 1 and raw["scale"] == [1, 5]
    assert raw["competencies"]["business"]["industry_knowledge"] == 1
    assert raw["taken_at"].endswith("+09:00") and raw["history"] == []
    back = assess.load_profile("tanaka_h")
    assert back.competencies == comp and back.traits == traits and back.note == "業界知識が課題"
    assert [p.name for p in path.parent.iterdir()] == ["tanaka_h.json"]  # no temporary files left


def test_history_keeps_earlier_assessments_only_when_scores_change(home):
    comp, traits = full_scores(2)
    assess.save_profile(assess.Profile("t1", comp, traits))
    assess.save_profile(assess.Profile("t1", comp, traits))  # unchanged: no new history entry
    assert assess.load_profile("t1").history == []
    comp2, _ = full_scores(2)
    comp2["communication"]["listening"] = 5
    assess.save_profile(assess.Profile("t1", comp2, traits))
    now = assess.load_profile("t1")
    assert len(now.history) == 1
    assert now.previous().competencies["communication"]["listening"] == 2
    assert now.competencies["communication"]["listening"] == 5


def test_history_is_capped(home):
    comp, traits = full_scores(1)
    for n in range(assess.MAX_HISTORY + 5):
        comp["tools"]["office_tools"] = 1 + n % 5
        comp["tools"]["analysis_tools"] = 1 + (n // 5) % 5
        assess.save_profile(assess.Profile("t1", comp, traits))
    assert len(assess.load_profile("t1").history) == assess.MAX_HISTORY


def test_failed_write_keeps_the_old_file_and_leaves_no_temp(home, monkeypatch):
    comp, traits = full_scores(3)
    path = assess.save_profile(assess.Profile("t1", comp, traits))
    before = path.read_bytes()

    def boom(*_a, **_k):
        raise OSError(28, "No space left on device")

    from cs_helpers import fileio

    monkeypatch.setattr(fileio.os, "fsync", boom)  # the disk fills up while the new file is written
    with pytest.raises(OSError):
        assess.save_profile(assess.Profile("t1", *full_scores(5)))
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["t1.json"]


def test_broken_files_are_explained(home):
    folder = home / "profiles"
    folder.mkdir(parents=True)
    (folder / "t1.json").write_text("{\n  \"format\": ", encoding="utf-8")
    with pytest.raises(assess.ProfileError, match="2 行目"):
        assess.load_profile("t1")
    (folder / "t1.json").write_text(json.dumps({"format": "other"}), encoding="utf-8")
    with pytest.raises(assess.ProfileError, match="自己診断ファイルではありません"):
        assess.load_profile("t1")
    good = assess.Profile("t1", *full_scores()).to_dict()
    good["version"] = 99
    (folder / "t1.json").write_text(json.dumps(good), encoding="utf-8")
    with pytest.raises(assess.ProfileError, match="version 99"):
        assess.load_profile("t1")
    with pytest.raises(assess.ProfileError, match="見つかりません"):
        assess.load_profile("nobody")


def test_load_profiles_skips_bad_files_only_when_asked(home):
    for lid, v in [("a1", 2), ("b2", 4)]:
        assess.save_profile(assess.Profile(lid, *full_scores(v)))
    folder = home / "profiles"
    (folder / "c3.json").write_text("not json", encoding="utf-8")
    mismatch = assess.Profile("d4", *full_scores()).to_dict()
    (folder / "zz.json").write_text(json.dumps(mismatch), encoding="utf-8")
    with pytest.raises(assess.ProfileError, match="c3.json"):
        assess.load_profiles()
    skipped: list = []
    got = assess.load_profiles(skipped=skipped)
    assert list(got) == ["a1", "b2"]
    assert [p.name for p, _ in skipped] == ["c3.json", "zz.json"]
    assert "ファイル名と一致しません" in skipped[1][1]
    frame = assess.profiles_frame(got)
    assert list(frame.index) == ["a1", "b2"]
    assert frame.loc["b2", "communication"] == 4 and frame.loc["a1", "empathy"] == 2
    assert assess.load_profiles(home / "missing") == {}


# --- widgets --------------------------------------------------------------------------------------------
def test_widget_writes_nothing_until_saved_then_saves_slider_values(home):
    w = assess.SelfAssessmentWidget(learner="t1")
    assert not home.exists()
    assert len(w.sliders) == 29 + 5 and all(s.value == 3 for s in w.sliders.values())
    w.set_scores({"communication.non_verbal": 5, "traits.logic": 1, "tools.office_tools": 2})
    w.note.value = "  沈黙に気づける  "
    w.save_button.click()
    saved = assess.load_profile("t1")
    assert saved.competencies["communication"]["non_verbal"] == 5
    assert saved.traits["logic"] == 1 and saved.note == "沈黙に気づける"
    assert "保存しました" in w.status.value
    assert w.output.outputs[0]["data"]["image/png"].startswith("iVBOR")  # the chart was drawn (base64 PNG)
    again = assess.SelfAssessmentWidget(learner="t1")  # re-opening starts from the saved answers
    assert again.sliders["communication.non_verbal"].value == 5 and again.note.value == "沈黙に気づける"
    again.set_scores({"communication.non_verbal": 4})
    again.save()
    assert assess.load_profile("t1").previous().competencies["communication"]["non_verbal"] == 5
    with pytest.raises(assess.ProfileError):
        again.set_scores({"traits.logic": 9})
    with pytest.raises(KeyError):
        again.set_scores({"traits.unknown": 3})


def test_notes_widget_refuses_empty_and_round_trips(home):
    n = assess.NotesWidget("01_mindset", {"expected": "期待されていること", "ideal": "理想のCS"}, learner="t1")
    n.button.click()
    assert n.saved_path is None and not home.exists() and "まだ何も" in n.status.value
    n.areas["ideal"].value = "顧客が自走できる状態をつくる"
    path = n.save()
    assert path == home / "notes" / "t1" / "01_mindset.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert data["answers"]["ideal"] == {"question": "理想のCS", "text": "顧客が自走できる状態をつくる"}
    assert assess.NotesWidget("01_mindset", {"ideal": "理想のCS"}, learner="t1").areas["ideal"].value.startswith("顧客")
    with pytest.raises(ValueError, match="モジュール名"):
        assess.notes_path("../x", "t1")


# --- chart ----------------------------------------------------------------------------------------------
def test_radar_chart_renders_japanese_without_warnings():
    import matplotlib.pyplot as plt

    prof = assess.example_profile()
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a missing glyph (tofu) is a warning at draw time
        fig = assess.radar_chart(prof, compare=assess.Profile("t1", *full_scores(3)))
        fig.savefig(io.BytesIO(), format="png")
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == [g.short for g in assess.COMPETENCIES]
    assert len(fig.axes[1].get_lines()) == 2  # "now" and "then"
    plt.close(fig)


def test_strengths_and_gaps():
    top, low = assess.strengths_and_gaps(assess.example_profile())
    assert top[0] == "学習" and "業界の知識" == low[0]
    assert assess.strengths_and_gaps(assess.Profile("t1", *full_scores(3))) == ([], [])


def test_notes_from_two_widgets_of_one_lesson_are_merged(home):
    a = assess.NotesWidget("01_mindset", {"q1": "問い1"}, learner="t1")
    b = assess.NotesWidget("01_mindset", {"r1": "ふりかえり"}, learner="t1")
    a.areas["q1"].value = "一つ目"
    a.save()
    b.areas["r1"].value = "二つ目"
    b.save()
    assert assess.load_notes("01_mindset", "t1") == {"q1": "一つ目", "r1": "二つ目"}
