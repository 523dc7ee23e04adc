"""Growth plan (four decompositions), monthly progress, promotion gate and widgets (cs_helpers.growth)."""
from __future__ import annotations

import json
import os
import warnings

import matplotlib
import pytest

matplotlib.use("Agg")

from cs_helpers import growth as G  # noqa: E402
from cs_helpers import learner  # noqa: E402


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("CS_DOJO_HOME", str(tmp_path / "home"))
    monkeypatch.setenv(learner.ENV_VAR, "tanaka_h")
    return tmp_path / "home"


def test_plan_path_is_under_home(home):
    assert G.plan_path() == home / "growth" / "tanaka_h.json"
    with pytest.raises(ValueError):
        G.plan_path("../evil")


def test_save_and_load_round_trip(home):
    plan = G.demo_plan()
    plan["learner_id"] = "tanaka_h"
    path = G.save_plan(plan)
    assert path == G.plan_path()
    loaded = G.load_plan()
    assert loaded["thinking"] == plan["thinking"]
    assert [e["month"] for e in loaded["progress"]] == ["2026-05", "2026-06", "2026-07", "2026-08", "2026-09"]
    # atomic write leaves no temporary files behind
    assert sorted(p.name for p in path.parent.iterdir()) == ["tanaka_h.json"]


def test_missing_file_gives_empty_plan(home):
    plan = G.load_plan()
    assert plan["learner_id"] == "tanaka_h" and plan["progress"] == []


def test_failed_write_keeps_the_old_file(home, monkeypatch):
    path = G.save_plan(G.empty_plan("tanaka_h", "2026-04"))
    before = path.read_bytes()

    def boom(*_a, **_k):
        raise OSError("disk full")

    from cs_helpers import fileio

    monkeypatch.setattr(fileio.os, "replace", boom)
    with pytest.raises(OSError):
        G.save_plan(G.demo_plan() | {"learner_id": "tanaka_h"})
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == ["tanaka_h.json"]


@pytest.mark.parametrize("mutate, message", [
    (lambda p: p.update(format="other"), "形式"),
    (lambda p: p.update(start_month="2026/04"), "YYYY-MM"),
    (lambda p: p["progress"].append({"month": "2026-05", "progress": 20}), "重複"),
    (lambda p: p["progress"].append({"month": "2026-10", "progress": 120}), "0〜100"),
    (lambda p: p["progress"].append({"month": "2025-10", "progress": 5}), "開始月"),
    (lambda p: p["actions"].append({"what": "x", "due": "来月"}), "期限"),
    (lambda p: p.update(actions="読む"), "リスト"),
])
def test_bad_plans_are_explained(mutate, message):
    plan = G.demo_plan()
    mutate(plan)
    with pytest.raises(G.GrowthPlanError, match=message):
        G.validate_plan(plan)


def test_broken_file_raises_clear_error(home):
    path = G.plan_path()
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(G.GrowthPlanError, match="退避"):
        G.load_plan()


def test_progress_frame_flags_months_behind_the_line():
    frame = G.progress_frame(G.demo_plan())
    assert frame["month_index"].tolist() == [1, 2, 3, 4, 5]
    assert frame.loc[2, "target"] == pytest.approx(25.0)
    assert frame["behind"].tolist() == [False, False, True, False, False]
    # month 6 (2026-10): the line is at 50 %, so 35 % is behind and 36 % is not
    assert bool(G.progress_frame(G.add_progress(G.demo_plan(), "2026-10", 35)).iloc[-1]["behind"])
    assert not bool(G.progress_frame(G.add_progress(G.demo_plan(), "2026-10", 36)).iloc[-1]["behind"])


def test_add_progress_replaces_the_same_month():
    plan = G.add_progress(G.demo_plan(), "2026-09", 50, "更新")
    entries = [e for e in plan["progress"] if e["month"] == "2026-09"]
    assert entries == [{"month": "2026-09", "progress": 50, "note": "更新", "next": ""}]


def test_promotion_is_gated_by_qualitative_requirements():
    reqs = {"導入目的と利用用途を分けて聞ける": True, "マイルストーンを合意できる": False}
    decision = G.promotion_decision(reqs, quantitative_rate=1.8)
    assert not decision and decision.unmet == ("マイルストーンを合意できる",)
    assert "180%" in decision.reason
    assert G.promotion_decision({k: True for k in reqs}, quantitative_rate=0.7)
    assert not G.promotion_decision([])


def test_one_on_one_sheet_is_filled_from_the_plan():
    sheet = G.one_on_one_sheet(G.demo_plan(), "2026-07")
    assert "2026-07" in sheet and "リカバリ" in sheet
    assert "- [ ] 顧客とマイルストーンの成果物を合意できる" in sheet
    for question in G.ONE_ON_ONE_QUESTIONS:
        assert question in sheet


def test_plot_progress_has_japanese_labels_and_no_font_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ax = G.plot_progress(G.demo_plan())
        ax.figure.canvas.draw()
    assert "1年後" in ax.get_title()
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert "遅れ: リカバリ策を相談" in labels


def test_plan_widget_saves_four_decompositions(home):
    w = G.plan_widget()
    w.goal.value = "一人でキックオフを回せる"
    w.as_is.value = "流れを説明できない"
    w.to_be.value = "オンボーディングを一人で回せる"
    w.gaps.value = "製品知識が足りない\n\n業界を知らない"
    w.actions.value = "マニュアルを読む / 2026-05 / 先輩に説明する\n5分迷ったら聞く"
    w.communication.value = "営業の先輩 / ロープレで講評をもらう"
    w.outcome_q.value = "初対面の顧客とキックオフを完了"
    w.requirements.value = "導入目的と利用用途を分けて聞ける"
    w.save_button.click()
    saved = json.loads(G.plan_path().read_text(encoding="utf-8"))
    assert saved["format"] == G.FORMAT and saved["learner_id"] == "tanaka_h"
    assert saved["thinking"]["gaps"] == ["製品知識が足りない", "業界を知らない"]
    assert saved["actions"] == [{"what": "マニュアルを読む", "due": "2026-05", "how": "先輩に説明する"},
                                {"what": "5分迷ったら聞く", "due": "", "how": ""}]
    assert saved["communication"] == [{"who": "営業の先輩", "how": "ロープレで講評をもらう"}]
    assert saved["requirements"] == [{"id": "r1", "text": "導入目的と利用用途を分けて聞ける", "met": False}]
    assert "4つの分解のうち 4 つ" in w.status.value
    # reopening shows what was saved
    again = G.plan_widget()
    assert again.gaps.value == "製品知識が足りない\n業界を知らない"


def test_plan_widget_reports_bad_due_date_and_keeps_file(home):
    w = G.plan_widget()
    w.actions.value = "マニュアルを読む / 来月"
    assert w.save() is None
    assert "YYYY-MM" in w.status.value and "#c62828" in w.status.value
    assert not G.plan_path().exists()


def test_plan_widget_moves_a_broken_file_aside(home):
    path = G.plan_path()
    path.parent.mkdir(parents=True)
    path.write_text("garbage", encoding="utf-8")
    w = G.plan_widget()
    assert "読めません" in w.status.value
    w.goal.value = "やり直し"
    assert w.save() == path
    assert json.loads(path.read_text(encoding="utf-8"))["one_year_goal"] == "やり直し"
    assert any(p.name.startswith("tanaka_h.broken-") for p in path.parent.iterdir())


def test_progress_widget_adds_entries_and_redraws(home):
    G.save_plan(G.empty_plan("tanaka_h", "2026-04"))
    w = G.progress_widget()
    w.month.value, w.value.value, w.note.value = "2026-05", 10, "入門書を読んだ"
    w.button.click()
    w.month.value, w.value.value = "2026-06", 15
    w.button.click()
    plan = G.load_plan()
    assert [(e["month"], e["progress"]) for e in plan["progress"]] == [("2026-05", 10), ("2026-06", 15)]
    assert "保存しました" in w.status.value
    assert w.last_frame["month"].tolist() == ["2026-05", "2026-06"]  # the chart was redrawn from the file
    w.month.value = "6月"
    assert w.add() is None and "YYYY-MM" in w.status.value
    assert len(G.load_plan()["progress"]) == 2


def test_nothing_written_without_a_click(home):
    G.plan_widget()
    G.progress_widget()
    assert not (home / "growth").exists() or not any((home / "growth").iterdir())
    assert not os.path.exists(G.plan_path())


def test_widgets_use_the_given_learner_id(home):
    w = G.plan_widget(learner_id="sato_k")
    w.goal.value = "顧客と成果物を合意できる"
    assert w.save() == G.plan_path("sato_k") == home / "growth" / "sato_k.json"
    assert json.loads(G.plan_path("sato_k").read_text(encoding="utf-8"))["learner_id"] == "sato_k"
    p = G.progress_widget(learner_id="sato_k")
    p.month.value, p.value.value = datetime_month(), 10
    assert p.add() == G.plan_path("sato_k")
    assert not G.plan_path().exists()  # the environment's learner (tanaka_h) was not touched


def datetime_month() -> str:
    from datetime import datetime

    return datetime.now().strftime("%Y-%m")
