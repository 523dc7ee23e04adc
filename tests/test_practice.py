"""Lesson practice keys (cs_helpers.practice) and item-level feedback (cs_helpers.checks).

The right answers below are typed out independently of the keys; wrong answers must be named with their
reason; missing items of a set are not named; the quiz widget is driven by setting dropdowns and clicking.
The last tests read the lesson notebooks: no cell a learner runs holds an answer key.
"""
from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from cs_helpers import checks, data, practice as P, understanding as U

ROOT = Path(__file__).resolve().parents[1]
# the lessons whose practices live in cs_helpers.practice
LESSONS = ["00_orientation", "01_mindset", "02_customer_understanding", "03_expectation_calibration",
           "04_health_data_analysis", "05_team_and_growth", "05.1_cs_ops_track", "06_commercial_lifecycle"]

# independent answers, in the order the items are listed
RIGHT = {
    "01.cs_or_support": ["サポート", "CS", "CS", "サポート", "CS", "サポート"],
    "01.competency": ["非言語コミュニケーション", "業界の知識", "概念的思考", "交渉と対立の解消"],
    "01.interaction": ["ファシリテーション", "リーダーシップと影響力", "チームワーク", "交渉と対立の解消", "教えるスキル"],
    "01.v3": ["傾聴", "非言語コミュニケーション", "交渉と対立の解消", "ビジュアル思考", "方法論の知識"],
    "01.trait": ["感情より論理とデータ", "長期の関係と全体への目配り", "違うタイプの人との協働", "未知への好奇心"],
    "01.indicator": ["遅行", "先行", "遅行", "先行", "遅行", "先行"],
    "02.prep": ["事前に調べる", "ヒアリングで聞く", "事前に調べる", "ヒアリングで聞く", "事前に調べる", "ヒアリングで聞く"],
    "03.phase": ["代走", "伴走", "自走", "伴走", "自走"],
    "03.daisou_or_bansou": ["代走", "伴走", "代走", "伴走", "伴走"],
    "03.stance": ["御用聞き", "突き放す", "フラット", "指導役", "フラット"],
    "03.trust": ["トラブルに速く誠実に", "苦手を手伝う", "大変な時期を共にする", "信頼につながりにくい", "苦手を手伝う",
                 "信頼につながりにくい"],
    "03.heat": ["熱量を生む", "報告だけ", "熱量を生む", "熱量を生む", "報告だけ"],
    "05.fit_ways": ["合わない", "合う", "合わない", "合う", "合わない", "合う"],
    "05.golden": ["Why (なぜ)", "How (どうやって)", "What (何を)", "Why (なぜ)", "How (どうやって)"],
    "04.leak": ["使える", "使えない", "使えない", "使える", "使える", "使えない"],
    "04.indicator": ["遅行", "先行", "遅行", "先行", "先行", "遅行"],
}
CHOICES = {"01.self_running": "B", "01.mission": "C", "02.mindset": 1, "02.first_move": "B", "03.opinion": "B",
           "05.modeling": "C"}


def _items(pid):
    p = P._STATIC[pid]
    return list(p.items) if p.items else list(p.expected)


@pytest.mark.parametrize("pid", sorted(RIGHT))
def test_labels_key_and_item_feedback(pid):
    keys = _items(pid)
    right = dict(zip(keys, RIGHT[pid]))
    assert len(keys) == len(RIGHT[pid])
    ok = P.check(pid, right, display=False)
    assert ok.ok and ok.message.startswith(f"{len(keys)}件中{len(keys)}件")
    assert ok.explanation  # a right answer is explained too
    options = P._STATIC[pid].options or sorted(set(RIGHT[pid]))
    for k in keys:  # one wrong item at a time: named, with its own reason, and only that one
        wrong_label = next(o for o in options if o != right[k])
        res = P.check(pid, {**right, k: wrong_label}, display=False)
        assert not res.ok and len(res.details) == 1
        shown = P._STATIC[pid].items.get(k, k)
        assert checks._short(shown) in res.details[0] and f"あなたの答えは「{wrong_label}」" in res.details[0]
        assert P._STATIC[pid].why[k] in res.details[0]


@pytest.mark.parametrize("pid", sorted(CHOICES))
def test_choice_key_and_reasons(pid):
    p = P._STATIC[pid]
    assert P.check(pid, CHOICES[pid], display=False).ok
    for option in p.options:
        if option == CHOICES[pid]:
            continue
        res = P.check(pid, option, display=False)
        assert not res.ok and res.details == [f"「{option}」: {p.why[option]}"]
    assert "選択肢にありません" in P.check(pid, "Z", display=False).message
    assert "まだ選択されていません" in P.check(pid, None, display=False).message


def test_every_static_practice_is_covered_here():
    assert set(P._STATIC) == set(RIGHT) | set(CHOICES)


def test_labels_report_typos_and_unanswered_items():
    keys = _items("01.indicator")
    res = P.check("01.indicator", {keys[0]: "遅行", "年間の解約率 ": "遅行"}, display=False)
    assert not res.ok and "問題にない項目" in res.message and res.details == ["「年間の解約率 」"]
    res = P.check("01.indicator", {keys[0]: "遅行"}, display=False)
    assert res.message == "6件中5件がまだ未回答です。" and len(res.details) == 5
    assert not P.check("01.indicator", "遅行", display=False).ok


def test_requests_set_names_extras_and_only_hints_at_missing():
    requests = P.requests_03()
    assert P.check("03.requests", {"R1", "R3", "R4", "R6"}, requests=requests, display=False).ok
    res = P.check("03.requests", {"R1", "R2", "R3"}, requests=requests, display=False)
    assert res.message == "足りないものが2件、余分なものが1件あります。"
    extra = [d for d in res.details if d.startswith("R2")]
    assert extra == ["R2 は入りません。サービスの設定を一緒に見直すのは自社の責任範囲で、伴走の形です。"]
    missing = [d for d in res.details if d.startswith("まだ入っていないもの")]
    assert len(missing) == 2 and all("R4" not in d and "R6" not in d for d in missing)
    assert any("条件がそろわず" in d for d in missing)
    assert "集合で" in P.check("03.requests", "R1", requests=requests, display=False).message


def test_broken_kpis_counts_links_and_leading_indicators_only():
    from cs_helpers import kpi

    broken = kpi.broken_example()
    assert P.check("01.broken_kpis", {"M2", "M3"}, cascade=broken, display=False).ok
    res = P.check("01.broken_kpis", {"M2", "M3", "S2"}, cascade=broken, display=False)
    assert not res.ok and res.details[0].startswith("S2 は入りません。") and "同僚" in res.details[0]
    res = P.check("01.broken_kpis", {"M3"}, cascade=broken, display=False)
    assert res.details == ["まだ入っていないもの: 結果が出たあとにしか分からない指標を、個人KPIにしているもの"] or \
        ("上の段とのつながり" in res.details[0] and "M2" not in res.details[0])


def test_computed_keys_follow_the_data():
    accounts = data.load("accounts")
    notes = data.load("hearing_notes")
    contacts = data.load("contacts")
    # lesson 02: the most frequent industry of one CSM's live book, recomputed with plain pandas
    for csm in sorted(accounts["csm_id"].unique())[:3]:
        book = accounts[(accounts["csm_id"] == csm) & ~accounts["churned"]]
        counts = book["industry"].value_counts()
        counts = counts[counts > 0]
        top = book.groupby("industry", observed=True).size().sort_values(ascending=False).index[0]
        assert P.check("02.first_industry", top, counts=counts, display=False).ok
        other = [i for i in counts.index if i != top][0]
        res = P.check("02.first_industry", other, counts=counts, display=False)
        assert not res.ok and f"{other} は{int(counts[other])}社です" in res.details[0]
    rows = notes[(notes["speaker_role"] == "情報システム部") & (notes["label"] == "利用用途")]
    rate = (rows["clarity"] == "明確").sum() / len(rows)
    assert P.check("02.it_usage_rate", round(rate, 3), notes=notes, display=False).ok
    assert not P.check("02.it_usage_rate", rate + 0.01, notes=notes, display=False).ok
    assert "% ではありません" in P.check("02.it_usage_rate", rate * 100, notes=notes, display=False).message
    assert not P.check("02.it_usage_rate", True, notes=notes, display=False).ok
    matrix = U.answer_matrix(notes)
    assert P.check("02.who_to_ask", {"導入目的": "CEO", "利用用途": "現場"}, matrix=matrix, display=False).ok
    res = P.check("02.who_to_ask", {"導入目的": "情報システム部", "利用用途": "現場"}, matrix=matrix, display=False)
    assert not res.ok and "CEO" in res.details[0]
    account = sorted(contacts["account_id"].unique())[5]
    people = contacts[(contacts["account_id"] == account) & (contacts["deal_role"].astype(str) == "利用者")]
    assert P.check("02.field_people", set(people["contact_id"]), contacts=contacts, account=account,
                   display=False).ok
    boss = contacts[(contacts["account_id"] == account) & (contacts["deal_role"].astype(str) == "決裁者")]
    if len(boss):
        res = P.check("02.field_people", set(people["contact_id"]) | {boss["contact_id"].iloc[0]},
                      contacts=contacts, account=account, display=False)
        assert not res.ok and "決裁者" in res.details[0]


def test_promotion_and_team_keys():
    members = pd.DataFrame({"目標の達成率": [1.6, 0.9, 1.1], "A": [True, True, True], "B": [False, True, True],
                            "C": [True, True, False]}, index=["青木", "井上", "上田"])
    assert P.check("05.promotable", {"井上"}, members=members, display=False).ok
    res = P.check("05.promotable", {"青木", "井上"}, members=members, display=False)
    assert not res.ok and res.details == ["青木 は入りません。青木さんは「B」をまだ満たしていません。"
                                          "達成率が高くても、定性要件がそろうまで昇格しません。"]
    assert P.check("05.1.ops", (2, 3), team_size=60, display=False).ok
    assert not P.check("05.1.ops", (1, 3), team_size=60, display=False).ok
    assert P.check("05.1.ops", (1, 1), team_size=20, display=False).ok


def test_missing_context_and_unknown_practice_are_clear_errors():
    with pytest.raises(P.PracticeError, match="counts=..."):
        P.check("02.first_industry", "製造")
    with pytest.raises(P.PracticeError, match="練習「02.nope」はありません"):
        P.check("02.nope", 1)
    with pytest.raises(P.PracticeError):
        P.quiz("01.self_running")


def test_quiz_widget_checks_on_click_and_names_wrong_items():
    quiz = P.quiz("03.trust")
    quiz.dropdowns["t1"].value = "苦手を手伝う"
    assert quiz.output.value == ""  # nothing is judged until the button is pressed
    quiz.button.click()
    assert "6件中5件がまだ未回答です" in quiz.output.value
    quiz.set_answers(dict(zip(quiz.items, RIGHT["03.trust"])))
    quiz.dropdowns["t4"].value = "苦手を手伝う"
    quiz.button.click()
    assert not quiz.result.ok and len(quiz.result.details) == 1
    assert "「お客様の要望はどんなものでも「できます」と即答した」" in quiz.result.details[0]
    assert "守れなかったとき" in quiz.output.value
    quiz.dropdowns["t4"].value = "信頼につながりにくい"
    quiz.button.click()
    assert quiz.result.ok and "解説" in quiz.output.value


def test_notes_quiz_follows_the_learner_seed():
    notes = data.load("hearing_notes")
    a, b = P.quiz("02.notes", notes=notes, seed=1), P.quiz("02.notes", notes=notes, seed=2)
    assert list(a.items) != list(b.items)
    labels = notes.drop_duplicates("note_id").set_index("note_id")["label"].astype(str)
    a.set_answers({k: labels[k] for k in a.items})
    assert a.check().ok


# --- the lessons: no answer key in a cell the learner runs ------------------------------------------------

KEY_CALLS = re.compile(r"\b(check_labels|check_set|check_choice|check_equal|sorting_quiz)\s*\(")


def _code_cells(name):
    nb = nbformat.read(ROOT / "curriculum" / f"{name}.ipynb", as_version=4)
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.mark.parametrize("name", LESSONS)
def test_lesson_cells_hold_no_answer_key(name):
    for cell in _code_cells(name):
        assert not KEY_CALLS.search(cell.source), f"{name}: a cell compares with a key itself:\n{cell.source}"
        assert not cell.metadata.get("jupyter", {}).get("source_hidden"), f"{name}: hidden cell:\n{cell.source}"
    # the literal keys of the static practices appear in no code cell (items may, labels next to them may not)
    for pid, p in P._STATIC.items():
        for item, label in (p.expected.items() if isinstance(p.expected, dict) else []):
            text = p.items.get(item, item)
            for cell in _code_cells(name):
                assert not re.search(re.escape(repr(text)[1:-1]) + r'"\s*:\s*"' + re.escape(str(label)), cell.source), \
                    f"{name}: the key of {pid} is in a cell"


def test_every_practice_is_used_by_a_lesson():
    used = set()
    for name in LESSONS:
        for cell in _code_cells(name):
            used |= set(re.findall(r'(?:P|practice)\.(?:check|quiz)\("([^"]+)"', cell.source))
    assert used == set(P.ids())


def test_model_answer_only_after_writing():
    assert not P.model("02.kickoff_questions", "  ", display=False).ok
    shown = P.model("02.kickoff_questions", "いま一番時間がかかっている業務は何ですか", display=False)
    assert shown.ok and len(shown.details) == 3
    with pytest.raises(P.PracticeError):
        P.model("02.nope", "x")
