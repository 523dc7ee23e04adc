"""Lesson 01 end to end in a real kernel: papermill personalisation, practice answer keys, widgets.

One execution: the lesson runs unchanged (nothing may be written, every check shows "not answered"),
then appended cells fill in the practice answers, re-run the lesson's own check cells (all must be ✅),
and drive the widgets the way a learner's clicks would (files must appear in the learner's folder only).
"""
from __future__ import annotations

import json
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
LESSON = ROOT / "curriculum" / "01_mindset.ipynb"

ANSWERS = {
    "practice_cs_or_support": """{
    "ログインできないという問い合わせに、手順を案内して解決する": "サポート",
    "利用が3か月続けて落ちている顧客に、こちらから連絡して原因を一緒に探る": "CS",
    "更新の半年前に、導入目的をどこまで達成できたかを顧客と振り返る場を設ける": "CS",
    "不具合の報告を受けて再現手順を整理し、開発チームに引き継ぐ": "サポート",
    "顧客の推進役が社内勉強会を開けるよう、資料と進め方を一緒に準備する": "CS",
    "請求書の宛名を変えてほしいという依頼を受けて処理する": "サポート",
}""",
    "practice_self_running": '"B"',
    "practice_competency": """dict(zip(practice_competency, ["非言語コミュニケーション", "業界の知識", "概念的思考",
                                                 "交渉と対立の解消"]))""",
    "practice_trait": """dict(zip(practice_trait, ["感情より論理とデータ", "長期の関係と全体への目配り",
                                       "違うタイプの人との協働", "未知への好奇心"]))""",
    "practice_broken_ids": '{"M2", "M3"}',
    "practice_mission": '"C"',
    "practice_indicator_kind": """dict(zip(practice_indicator_kind, ["遅行", "先行", "遅行", "先行", "遅行", "先行"]))""",
    # computed independently of kpi.lagging_indicators, straight from the definition in the lesson text
    "practice_high_touch_grr": """(lambda h: (lambda s: 1 - s[s["churn_date"] <= as_of]["arr_jpy"].sum()
    / s["arr_jpy"].sum())(h[(h["contract_start"] <= start) & ~(h["churn_date"] <= start)]))(
    accounts[accounts["touch_model"] == "high"])""",
}

DRIVE_WIDGETS = """
import os
from cs_helpers import assess as _a, kpi as _k
interaction_quiz.set_answers(dict(zip(interaction_quiz.items, ["ファシリテーション", "リーダーシップと影響力", "チームワーク",
                                                          "交渉と対立の解消", "教えるスキル"])))
interaction_quiz.button.click()
v3_quiz.set_answers(dict(zip(v3_quiz.items, ["傾聴", "非言語コミュニケーション", "交渉と対立の解消", "ビジュアル思考",
                                            "方法論の知識"])))
v3_quiz.dropdowns["v4"].value = "概念的思考"  # one wrong pick: the feedback must name it and say why
v3_quiz.button.click()
mindset.areas["expected"].value = "担当顧客の更新を守り、活用を広げること"
mindset.button.click()
reflection.areas["shift"].value = "CSは依頼を待つ仕事ではないと分かった"
reflection.button.click()
self_assessment.set_scores({"communication.non_verbal": 5, "traits.logic": 2})
self_assessment.save_button.click()
builder.row("M2")["serves"].value = "S1"
builder.check_button.click()
builder.save_button.click()
print("REPORT", json.dumps({
    "notes": _a.load_notes("01_mindset", me),
    "profile_non_verbal": _a.load_profile(me).competencies["communication"]["non_verbal"],
    "cascade_broken": sorted(_k.check_cascade(_k.load_cascade(me)).broken),
    "interaction_ok": interaction_quiz.result.ok, "interaction_html": interaction_quiz.output.value,
    "v3_ok": v3_quiz.result.ok, "v3_details": v3_quiz.result.details,
    "builder_outputs": len(builder.output.outputs),
    "chart_outputs": len(self_assessment.output.outputs),
}, ensure_ascii=False))
"""


def _text(outputs) -> str:
    parts = []
    for o in outputs:
        if o.get("output_type") == "stream":
            parts.append(o["text"])
        for key in ("text/html", "text/plain"):
            if key in o.get("data", {}):
                parts.append(o["data"][key])
    return "\n".join(parts)


@pytest.mark.slow
def test_lesson_01_runs_personalised_checks_and_widgets(tmp_path, monkeypatch):
    import papermill as pm

    home = tmp_path / "home"
    monkeypatch.setenv("CS_DOJO_HOME", str(home))
    monkeypatch.delenv("CS_DOJO_LEARNER_ID", raising=False)
    nb = nbformat.read(LESSON, as_version=4)
    check_cells = [c for c in nb.cells if c.cell_type == "code" and c.source.startswith("# 答え合わせ")]
    assert len(check_cells) == len(ANSWERS)
    n_original = len(nb.cells)

    new = nbformat.v4.new_code_cell
    nb.cells.append(new("import json, os\nprint('HOME_BEFORE', json.dumps(sorted(os.listdir(os.environ['CS_DOJO_HOME'])) "
                        "if os.path.isdir(os.environ['CS_DOJO_HOME']) else []))"))
    for var, answer in ANSWERS.items():
        nb.cells.append(new(f"{var} = {answer}"))
        check = next(c for c in check_cells if var in c.source)
        nb.cells.append(new(check.source, metadata={"tags": ["solution-check"]}))
    nb.cells.append(new(DRIVE_WIDGETS))
    src = tmp_path / "lesson.ipynb"
    nbformat.write(nb, src)
    out = pm.execute_notebook(str(src), str(tmp_path / "out.ipynb"), parameters={"learner_id": "lesson_t1"},
                              cwd=str(LESSON.parent), kernel_name="python3", progress_bar=False)

    lesson_cells = out.cells[:n_original + 1]  # + the injected parameters cell
    for cell in lesson_cells:
        if cell.cell_type != "code":
            continue
        for o in cell.outputs:
            assert o.get("output_type") != "error", cell.source
            assert not (o.get("output_type") == "stream" and o.get("name") == "stderr"), (cell.source, o["text"])
    assert any("受講者ID: lesson_t1" in _text(c.outputs) for c in lesson_cells if c.cell_type == "code")
    # unchanged lesson: the practice checks say "not answered yet", and nothing was written
    unanswered = [_text(c.outputs) for c in lesson_cells if c.cell_type == "code" and c.source.startswith("# 答え合わせ")]
    assert len(unanswered) == len(ANSWERS) and all("❌" in t for t in unanswered)
    texts = [_text(c.outputs) for c in out.cells[n_original + 1:]]
    assert 'HOME_BEFORE []' in texts[0]
    solved = [_text(c.outputs) for c in out.cells if "solution-check" in c.metadata.get("tags", [])]
    assert len(solved) == len(ANSWERS)
    for t in solved:
        assert "✅" in t and "❌" not in t, t
    report_line = next(line for line in texts[-1].splitlines() if line.startswith("REPORT "))
    report = json.loads(report_line[len("REPORT "):])
    assert report["notes"] == {"expected": "担当顧客の更新を守り、活用を広げること",
                               "want_to_be": "", "ideal": "", "shift": "CSは依頼を待つ仕事ではないと分かった",
                               "next_action": "", "one_on_one": ""}
    assert report["profile_non_verbal"] == 5
    assert report["cascade_broken"] == ["M2"]
    assert report["interaction_ok"] is True and "5件中5件が正解です" in report["interaction_html"]
    assert report["v3_ok"] is False and len(report["v3_details"]) == 1
    assert "あなたの答えは「概念的思考」" in report["v3_details"][0] and "図" in report["v3_details"][0]
    assert report["builder_outputs"] == 2 and report["chart_outputs"] == 2
    written = sorted(str(p.relative_to(home)) for p in home.rglob("*") if p.is_file())
    assert written == ["kpi/lesson_t1.json", "notes/lesson_t1/01_mindset.json", "profiles/lesson_t1.json"]
