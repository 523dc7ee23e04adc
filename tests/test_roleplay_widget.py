"""The widget driven headless by pressing its real buttons: response files, resume, restart, modes, classes,
the per-learner order of the buttons, and what graded mode keeps out of the page."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from cs_helpers import roleplay as rp
from cs_helpers.roleplay import trainer
from cs_helpers.roleplay.engine import InvalidChoice
from cs_helpers.roleplay.analysis import best_path
from cs_helpers.roleplay.engine import presentation_order
from cs_helpers.roleplay.responses import checksum, read_record, verify_record
from cs_helpers.roleplay.schema import load_scenario
from cs_helpers.roleplay.widget import GradedOnlyScenario, RoleplayWidget, ScenarioMenu

FIXTURES = Path(__file__).parent / "fixtures" / "roleplay"
KICKOFF_BEST = best_path(rp.load("kickoff_hearing"))[0]


@pytest.fixture
def learner(monkeypatch):
    monkeypatch.setenv("CS_DOJO_LEARNER_ID", "tanaka_h")
    return "tanaka_h"


@pytest.fixture(scope="module")
def minimal():
    return load_scenario(FIXTURES / "minimal.yaml")


def test_clicks_write_expected_response_file(tmp_path, learner):
    w = rp.play("kickoff_hearing", graded=True, base=tmp_path)
    target = tmp_path / "responses" / "kickoff_hearing.json"
    assert not target.exists(), "showing the widget must not write anything"
    for i, cid in enumerate(KICKOFF_BEST):
        w.buttons[cid].click()          # the real ipywidgets button, as a learner's click
        saved = json.loads(target.read_text(encoding="utf-8"))
        assert [s["choice"] for s in saved["path"]] == KICKOFF_BEST[: i + 1]
    assert w.finished
    record = read_record(target)
    scenario = rp.load("kickoff_hearing")
    assert record["scenario_id"] == "kickoff_hearing"
    assert record["scenario_hash"] == scenario.structure_hash
    assert record["learner_id"] == learner
    assert record["mode"] == "graded" and record["finished"] and record["ending"] is None   # no outcome in the file
    assert verify_record(record, scenario).session.ending.outcome == "success"
    assert record["restarts"] == 0 and record["checksum"] == checksum(record)
    assert all(s["at"] and s["at"] >= record["started_at"] for s in record["path"])
    assert record["updated_at"] >= record["started_at"]
    assert verify_record(record, scenario).session.score().total == pytest.approx(1.0)
    assert list(target.parent.iterdir()) == [target], "temporary files left behind"


def test_widget_shows_line_choices_and_end_screen(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    assert "こんにちは" in w.line.value and "山田部長" in w.line.value
    assert set(w.buttons) == {"ask", "ask_rushed", "pitch"}
    assert w.buttons["ask"].description == "「導入の目的を伺えますか」" and not w.buttons["ask"].tooltip
    assert w.end_view.layout.display == "none"
    w.click("ask")
    assert "相手が少し考え込んでいる" in w.line.value
    w.click("close_good")
    assert w.buttons == {} and w.end_view.layout.display is None
    end = w.end_view.value
    assert "合意" in end and "成功" in end and "現場の負担を減らしたい" in end   # hidden expectation revealed
    assert "目的から聞けました。" in end and "達成度 100%" in end
    assert "cs-rp-end-success" in w.end_view._dom_classes
    assert "あなた" in w.transcript_view.value and "ありがとうございます" in w.transcript_view.value


def test_css_classes_documented_for_browser_tests(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    assert {"cs-rp", "cs-rp-minimal"} <= set(w.root._dom_classes)
    for part in ("brief", "line", "hints", "transcript", "status", "end", "restart", "undo"):
        assert any(f"cs-rp-{part}" in c._dom_classes for c in _walk(w.root)), part
    assert {"cs-rp-choice", "cs-rp-choice-ask"} <= set(w.buttons["ask"]._dom_classes)
    readme = (Path(rp.__file__).resolve().parents[2] / "datasets" / "scenarios" / "README.md").read_text("utf-8")
    for cls in ("cs-rp-line", "cs-rp-choice-<choice_id>", "cs-rp-restart", "cs-rp-end", "cs-rp-transcript"):
        assert f"`{cls}`" in readme


def _walk(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _walk(child)


def test_resume_after_closing_the_tab(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    w.click("ask_rushed")
    before = (tmp_path / "responses" / "minimal.json").read_bytes()
    again = RoleplayWidget(minimal, base=tmp_path, learner="x")      # the cell is run again
    assert again.path == ["ask_rushed"] and again.session.current == "middle"
    assert "続きから" in again.status.value
    assert (tmp_path / "responses" / "minimal.json").read_bytes() == before
    again.click("close_good")
    assert read_record(tmp_path / "responses" / "minimal.json")["ending"] == "meh"


def test_unusable_saved_file_starts_fresh_without_overwriting(tmp_path, minimal):
    target = tmp_path / "responses" / "minimal.json"
    target.parent.mkdir()
    target.write_text("{ broken", encoding="utf-8")
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    assert w.path == [] and "最初から" in w.status.value
    assert target.read_text(encoding="utf-8") == "{ broken"
    w.click("pitch")
    assert read_record(target)["path"][0]["choice"] == "pitch"


def test_restart_asks_for_confirmation_and_is_saved(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x", graded=True)
    w.click("ask")
    w.restart_button.click()
    assert w.path == ["ask"] and "もう一度" in w.restart_button.description
    w.restart_button.click()
    assert w.path == [] and w.restart_button.description == "やり直す"
    record = read_record(tmp_path / "responses" / "minimal.json")
    assert record["path"] == [] and record["restarts"] == 1 and not record["finished"]
    w.click("ask")
    w.click("close_good")
    assert "あと 1 回" not in w.end_view.value and "この会話が提出されます" in w.end_view.value
    assert w.restart_button.disabled                # graded mode: one restart, already used
    w.restart_button.click()
    assert w.path == ["ask", "close_good"] and "1 回まで" in w.status.value
    with pytest.raises(InvalidChoice, match="1 回まで"):
        w.restart()
    assert read_record(tmp_path / "responses" / "minimal.json")["restarts"] == 1


def test_practice_restarts_are_unlimited(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    for expected in (1, 2, 3):
        w.click("pitch")
        w.restart_button.click()
        w.restart_button.click()
        assert w.path == [] and read_record(tmp_path / "responses" / "minimal.json")["restarts"] == expected


def test_practice_mode_hints_and_undo(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    assert "信頼" in w.hint_view.value and w.hint_view.layout.display is None
    assert w.undo_button in w.controls.children and w.undo_button.disabled
    w.click("ask")
    assert "■■□ (2/3)" in w.hint_view.value
    w.undo_button.click()
    assert w.path == [] and read_record(tmp_path / "responses" / "minimal.json")["path"] == []
    assert read_record(tmp_path / "responses" / "minimal.json")["mode"] == "practice"


def test_graded_mode_hides_hints_and_undo(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x", graded=True, hints=True)
    assert w.hint_view.value == "" and w.hint_view.layout.display == "none"
    assert w.undo_button not in w.controls.children
    w.click("ask")
    with pytest.raises(InvalidChoice, match="採点モード"):
        w.undo()


def test_invalid_click_is_reported_in_japanese(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    w.click("pitch")
    with pytest.raises(InvalidChoice, match="今表示されていません"):
        w.click("close_good")          # hidden: its condition is false


def test_save_failure_is_shown_not_raised(tmp_path, minimal):
    (tmp_path / "responses").write_text("a file where the folder should be", encoding="utf-8")
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    w.buttons["ask"].click()            # the callback must not raise into the front end
    assert "保存できませんでした" in w.status.value and w.last_error


def test_menu_starts_a_scenario(tmp_path):
    menu = ScenarioMenu(["kickoff_hearing", "overdemanding_request"], base=tmp_path)
    assert "cs-rp-menu" in menu.root._dom_classes
    menu.dropdown.value = "overdemanding_request"
    assert "社長報告" in menu.summary.value
    menu.start_button.click()
    assert menu.current is not None and menu.current.scenario.id == "overdemanding_request"
    assert menu.area.children == (menu.current.root,)


def test_record_path_and_check_response(tmp_path, learner, capsys):
    path = trainer.record_path("kickoff_hearing", KICKOFF_BEST, base=tmp_path)
    assert path == tmp_path / "responses" / "kickoff_hearing.json"
    assert "成功" in capsys.readouterr().out
    ok = rp.check_response("kickoff_hearing", base=tmp_path, display=False)
    assert ok and "提出できます" in ok.message
    missing = rp.check_response("overdemanding_request", base=tmp_path, display=False)
    assert not missing and "見つかりません" in missing.hint


# --- order, graded page, graded-only scenarios --------------------------------------------------------------

def _shown(w) -> list[str]:
    """Choice ids in the order the learner sees the buttons."""
    by_button = {id(b): cid for cid, b in w.buttons.items()}
    return [by_button[id(b)] for b in w.choice_box.children]


def test_button_order_is_per_learner_per_node_and_stable(tmp_path):
    sc = rp.load("kickoff_hearing")
    orders = {}
    for learner in ("tanaka_h", "sato_k", "suzuki_m", "ito_y", "kato_r", "abe_t"):
        w = RoleplayWidget(sc, graded=True, base=tmp_path / learner, learner=learner, autosave=False)
        first = _shown(w)
        again = RoleplayWidget(sc, graded=True, base=tmp_path / learner, learner=learner, autosave=False)
        assert _shown(again) == first, "the same learner must see the same order again"
        assert first == [c.id for c in presentation_order(w.session.available_choices(), learner=learner,
                                                          scenario_id=sc.id, node_id=sc.start)]
        orders[learner] = tuple(first)
    assert len(set(orders.values())) > 1, orders
    file_order = [c.id for c in sc.nodes[sc.start].choices]
    assert any(list(o) != file_order for o in orders.values())
    # Per node: along one learner's path the position of the model answer is not constant.
    w = RoleplayWidget(sc, graded=True, base=tmp_path / "walk", learner="tanaka_h", autosave=False)
    positions = []
    for cid in KICKOFF_BEST:
        positions.append(_shown(w).index(cid))
        w.click(cid)
    assert len(set(positions)) > 1, positions


def test_graded_page_reveals_no_verdict(tmp_path):
    sc = rp.load("kickoff_hearing")
    w = RoleplayWidget(sc, graded=True, base=tmp_path, learner="tanaka_h")
    for cid in KICKOFF_BEST:
        assert all(not b.tooltip for b in w.buttons.values())
        w.click(cid)
    page = "".join(getattr(c, "value", "") for c in _walk(w.root))
    classes = {cls for c in _walk(w.root) for cls in getattr(c, "_dom_classes", ())}
    assert w.finished and "会話は終わりました" in w.end_view.value
    for secret in ("達成度", "評価項目", "あなたの選択へのコメント", sc.persona.hidden_expectation,
                   sc.endings[w.session.ending.id].debrief, "成功", "失敗"):
        assert secret not in w.end_view.value, secret
    for ch, text in w.session.feedback():
        assert text not in page
    assert not {"cs-rp-end-success", "cs-rp-end-partial", "cs-rp-end-fail"} & classes
    record = json.loads(w.response_file.read_text(encoding="utf-8"))
    assert "score" not in record and "total" not in record and "feedback" not in json.dumps(record)
    assert record["ending"] is None and not any(e in json.dumps(record) for e in sc.endings)


def test_practice_end_screen_explains_the_cap(tmp_path, minimal):
    w = RoleplayWidget(minimal, base=tmp_path, learner="x")
    w.click("ask")
    w.click("close_bad")                              # criteria 0.75, but a fail ending: capped at 50 %
    report = w.session.score()
    assert report.outcome == "fail" and report.uncapped == pytest.approx(0.75) and report.total == 0.5
    assert "達成度 50%" in w.end_view.value and "75%" in w.end_view.value and "50%" in w.end_view.value


def test_graded_widget_does_not_resume_a_practice_record(tmp_path, minimal):
    practice = RoleplayWidget(minimal, base=tmp_path, learner="x")
    practice.click("ask")
    graded = RoleplayWidget(minimal, base=tmp_path, learner="x", graded=True)
    assert graded.path == [] and "練習モード" in graded.status.value
    graded.click("pitch")
    assert read_record(tmp_path / "responses" / "minimal.json")["mode"] == "graded"


@pytest.fixture
def datasets_with_graded_only(tmp_path, monkeypatch):
    folder = tmp_path / "datasets" / "scenarios"
    folder.mkdir(parents=True)
    text = (FIXTURES / "minimal.yaml").read_text(encoding="utf-8")
    (folder / "minimal.yaml").write_text(text, encoding="utf-8")
    (folder / "secret_call.yaml").write_text(text.replace("id: minimal", "id: secret_call\ngraded_only: true"),
                                             encoding="utf-8")
    monkeypatch.setenv("CS_DOJO_DATASETS", str(tmp_path / "datasets"))
    return folder


def test_graded_only_scenarios_are_not_for_practice(tmp_path, datasets_with_graded_only):
    assert rp.load("secret_call").graded_only and not rp.load("minimal").graded_only
    with pytest.raises(GradedOnlyScenario, match="練習モードでは開けません"):
        rp.play("secret_call", base=tmp_path)
    menu = ScenarioMenu(base=tmp_path)
    assert list(menu.scenarios) == ["minimal"]
    assert [v for _label, v in menu.dropdown.options] == ["minimal"]
    assert list(rp.catalogue()["id"]) == ["minimal"]
    with pytest.raises(GradedOnlyScenario):
        ScenarioMenu(["secret_call"], base=tmp_path)
    w = rp.play("secret_call", graded=True, base=tmp_path)       # the assignment's way in
    w.click("ask")
    assert read_record(w.response_file)["mode"] == "graded"
