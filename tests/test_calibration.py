"""cs_helpers.calibration: touch rule and capacity, responsibility-scope checker, phases, success plans."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import warnings

import pandas as pd
import pytest

from cs_helpers import calibration as K
from cs_helpers.data import load


@pytest.mark.parametrize("arr,complexity,expected", [
    (3_000_000, 1, "high"), (2_999_999, 3, "low"), (1_500_000, 4, "high"), (1_499_999, 5, "low"),
    (700_000, 5, "low"), (699_999, 1, "tech"), (0, 1, "tech"),
])
def test_touch_rule_boundaries(arr, complexity, expected):
    assert K.touch_by_rule(arr, complexity) == expected


def test_touch_rule_rejects_bad_complexity():
    with pytest.raises(ValueError, match="1〜5"):
        K.touch_by_rule(1_000_000, 7)


def test_shipped_accounts_mostly_follow_the_rule():
    table = K.touch_table(load("accounts"))
    mismatch = (~table["matches"]).mean()
    assert 0.01 < mismatch < 0.15  # the data deliberately contains some accounts to discuss


def _accounts(rows):
    return pd.DataFrame(rows, columns=["account_id", "arr_jpy", "complexity"])


def test_assign_touch_keeps_rule_when_capacity_allows():
    acc = _accounts([("A1", 5_000_000, 3), ("A2", 1_000_000, 2), ("A3", 100_000, 1)])
    out = K.assign_touch(acc, capacity_hours=100)
    assert list(out["assigned_touch"]) == ["high", "low", "tech"]
    assert not out["downgraded"].any()
    assert out.attrs["hours_needed"] == pytest.approx(6 + 1.5 + 0.1)


def test_assign_touch_downgrades_lowest_arr_high_first():
    acc = _accounts([("A1", 9_000_000, 3), ("A2", 4_000_000, 3), ("A3", 2_000_000, 5), ("A4", 800_000, 2)])
    # rule: high, high, high, low = 19.5 h; capacity 15 → one high must become low (the smallest ARR, A3)
    out = K.assign_touch(acc, capacity_hours=15).set_index("account_id")
    assert out.loc["A3", "assigned_touch"] == "low" and out.loc["A3", "downgraded"]
    assert out.loc["A1", "assigned_touch"] == "high" and out.loc["A2", "assigned_touch"] == "high"
    assert out.attrs["hours_used"] <= 15
    assert "工数上限" in out.loc["A3", "reason"]


def test_assign_touch_reports_when_even_tech_does_not_fit():
    acc = _accounts([(f"A{i}", 5_000_000, 3) for i in range(5)])
    out = K.assign_touch(acc, capacity_hours=0.2)
    assert out.attrs["over_capacity"]
    assert (out["assigned_touch"] == "tech").all()


def test_assign_touch_rejects_negative_capacity():
    with pytest.raises(ValueError):
        K.assign_touch(_accounts([("A1", 1, 1)]), capacity_hours=-1)


def test_check_requests_flags_scope_and_impossible_processes():
    reqs = [
        {"id": "R1", "text": "毎月の請求書をCSMが代わりに作る", "area": "業務", "doer": "CSM"},
        {"id": "R2", "text": "売上を20%伸ばすと約束してほしい", "area": "業務", "doer": "顧客", "promise_outcome": True},
        {"id": "R3", "text": "3日で全拠点の設定", "area": "サービス", "doer": "共同", "days_needed": 10, "days_available": 3},
        {"id": "R4", "text": "現場が週10時間入力", "area": "業務", "doer": "顧客",
         "customer_hours_needed": 10, "customer_hours_available": 4},
        {"id": "R5", "text": "未整備のマスタから移行", "area": "サービス", "doer": "共同", "inputs_ready": False},
        {"id": "R6", "text": "担当者未定", "area": "業務", "doer": "顧客", "owner_named": False},
        {"id": "R7", "text": "上位プランの機能前提", "area": "サービス", "doer": "顧客", "in_plan": False},
        {"id": "R8", "text": "操作説明会をCSMが開く", "area": "サービス", "doer": "CSM"},
    ]
    table = K.check_requests(reqs).set_index("id")
    assert table.loc["R8", "ok"]
    assert K.flagged_ids(reqs) == {f"R{i}" for i in range(1, 8)}
    assert K.flagged_ids(reqs, "責任範囲") == {"R1", "R2"}
    assert K.flagged_ids(reqs, "無理ゲー") == {"R3", "R4", "R5", "R6", "R7"}
    assert "3日" in table.loc["R3", "理由"]


def test_check_requests_errors_are_explicit():
    with pytest.raises(ValueError, match="area"):
        K.check_requests([{"id": "R1", "text": "x", "area": "営業", "doer": "CSM"}])
    with pytest.raises(ValueError, match="重複"):
        K.check_requests([{"id": "R1", "text": "x", "area": "業務", "doer": "顧客"}] * 2)
    with pytest.raises(ValueError, match="必須"):
        K.check_requests([{"id": "R1", "text": "x"}])


@pytest.mark.parametrize("share,phase", [(1.0, "代走"), (0.6, "代走"), (0.59, "伴走"), (0.2, "伴走"), (0.0, "自走")])
def test_phase_of(share, phase):
    assert K.phase_of(share) == phase


def test_handover_schedule_orders_phases():
    sched = K.handover_schedule(["設定", "入力", "集計"], "2026-04-01")
    assert (sched["代走開始"] < sched["伴走開始"]).all() and (sched["伴走開始"] < sched["自走開始"]).all()
    assert sched["代走開始"].is_monotonic_increasing


GOOD_PLAN = [
    K.Milestone("目的合意", "導入目的シート", "共同", "2026-05-01", "代走", "決裁者が指標に合意"),
    K.Milestone("初期設定", "設定済みの環境", "CSM", "2026-05-20", "代走", "全員がログインできる"),
    K.Milestone("運用設計", "運用手順書", "顧客", "2026-06-30", "伴走", "現場リーダーが新人に教えられる"),
    K.Milestone("定着", "月次の残業レポート", "顧客", "2026-09-30", "自走", "顧客自身が残業時間の削減を確認"),
]


def test_good_success_plan_passes():
    assert K.check_success_plan(GOOD_PLAN, purpose="残業時間を減らしたい") == []


def test_success_plan_problems_are_named():
    bad = [
        K.Milestone("支援", "操作を支援する", "CSM", "2026-05-01", "伴走", ""),
        K.Milestone("設定", "設定済みの環境", "CSM", "2026-04-01", "代走", "ログインできる"),
    ]
    issues = "\n".join(K.check_success_plan(bad, purpose="残業時間を減らしたい"))
    for needle in ("3つ未満", "活動", "done_when", "期日", "戻って", "自走に届いて", "持ち主", "導入目的"):
        assert needle in issues, needle


def test_gate_status_marks_next_gate():
    status = K.gate_status(GOOD_PLAN, ["目的合意", "初期設定"]).set_index("マイルストーン")["状態"]
    assert list(status) == ["通過", "通過", "次のゲート", "未着手"]
    with pytest.raises(ValueError, match="計画にない"):
        K.gate_status(GOOD_PLAN, ["存在しない"])


def test_plot_success_plan_draws_each_gate_without_font_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = K.plot_success_plan(GOOD_PLAN)
        fig.canvas.draw()
    texts = [t.get_text() for t in fig.axes[0].texts]
    assert all(any(m.deliverable in t for t in texts) for m in GOOD_PLAN)
    matplotlib.pyplot.close(fig)


# --- exercise 03 問2・問3 capacity cases ---------------------------------------------------------------------

def _book(accounts, csm):
    return accounts[(accounts["csm_id"] == csm) & ~accounts["churned"]]


def _fits(book, capacity, option) -> bool:
    rule = K.touch_table(book)["rule_touch"]
    n = {t: int((rule == t).sum()) for t in K.TOUCH_MODELS}
    save = {"high_to_low": 4.5 * option.count, "handover": 6.0 * option.count,
            "mixed": 1.4 * n["low"] + 4.5 * option.count, "low_to_tech": 1.4 * option.count,
            "high_hours": (6.0 - option.value) * n["high"], "tech_zero": 0.1 * n["tech"]}[option.kind]
    return K.capacity_needed(rule) - save <= capacity + 1e-9


def test_capacity_case_needs_judgement_beyond_assign_touch():
    """Every case keeps 2..n-2 of n ≥ 6 high-touch accounts, only high → low moves, and renewal-first differs."""
    accounts = load("accounts")
    for seed in range(40):
        csm, cap = K.capacity_case(accounts, seed)
        assert type(cap) is int
        plan = K.assign_touch(_book(accounts, csm), cap)
        high = plan[plan["rule_touch"] == "high"]
        kept = set(plan.loc[plan["assigned_touch"] == "high", "account_id"])
        assert len(high) >= 6 and 2 <= len(kept) <= len(high) - 2
        assert not (plan["assigned_touch"] == "tech").sum() > (plan["rule_touch"] == "tech").sum()
        first = K._high_order(high, pd.Timestamp("2026-09-30"), K.RENEWAL_WINDOW_DAYS)
        assert set(first[:len(kept)]) != kept
        assert cap - plan.attrs["hours_used"] >= 0.05 and plan.attrs["hours_used"] + 4.5 - cap >= 0.05


def test_capacity_levers_must_be_worked_out():
    """Each measure closes the gap for some learners and not for others (tech_zero never here); no fixed guess of
    ids passes more than 10 % of learners."""
    accounts = load("accounts")
    from cs_helpers.learner import learner_seed

    seen, answers = {}, {}
    for seed in [learner_seed("03_expectation_calibration", learner=f"learner_{i}") for i in range(120)]:
        csm, cap = K.capacity_case(accounts, seed)
        options = K.capacity_levers(_book(accounts, csm), cap, seed)
        assert list(options["id"]) == [f"P{i}" for i in range(1, 6)]
        fit = frozenset(o.id for o in options.itertuples() if _fits(_book(accounts, csm), cap, o))
        answers[fit] = answers.get(fit, 0) + 1
        for o in options.itertuples():
            seen.setdefault(o.kind, set()).add(o.id in fit)
    assert {k for k, v in seen.items() if v == {True, False}} >= {"high_to_low", "handover", "high_hours", "mixed"}
    assert seen["tech_zero"] == {False}
    assert max(answers.values()) / 120 < 0.10


def test_capacity_levers_refuse_a_book_that_fits():
    accounts = load("accounts")
    csm, _ = K.capacity_case(accounts, 0)
    with pytest.raises(ValueError, match="収まっています"):
        K.capacity_levers(_book(accounts, csm), 10_000, 0)
