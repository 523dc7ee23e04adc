"""GRR, NRR and logo churn against hand-computed books, and the shipped data's movement view."""
from __future__ import annotations

import pandas as pd
import pytest

from cs_helpers import data, kpi, revenue, team


def book() -> pd.DataFrame:
    """Six accounts, one cohort year 2025-03-31 → 2026-03-31 (ARR in thousand-yen steps).

    K1 expands 1,000 → 1,300; K2 contracts 2,000 → 1,500; K3 churns (1,000 → 0); K4 stays at 500;
    K5 expands +500 then contracts −300 inside the year (net +200: 1,000 → 1,200);
    K6 is won during the year (800) and must stay out of the cohort.
    """
    rows = [
        ("K1", "2024-05-10", "新規", 1_000_000), ("K1", "2025-08-01", "拡大", 300_000),
        ("K2", "2023-04-01", "新規", 2_000_000), ("K2", "2025-04-01", "縮小", -500_000),
        ("K3", "2024-06-15", "新規", 1_000_000), ("K3", "2025-06-15", "解約", -1_000_000),
        ("K4", "2022-01-20", "新規", 500_000),
        ("K5", "2024-10-01", "新規", 1_000_000), ("K5", "2025-05-01", "拡大", 500_000),
        ("K5", "2025-10-01", "縮小", -300_000),
        ("K6", "2025-07-01", "新規", 800_000), ("K6", "2026-01-01", "拡大", 200_000),
        ("K2", "2026-04-01", "縮小", -1_500_000),  # after the window: ignored
    ]
    df = pd.DataFrame(rows, columns=["account_id", "effective_date", "movement_type", "arr_change_jpy"])
    df["effective_date"] = pd.to_datetime(df["effective_date"])
    return df


def test_grr_nrr_by_hand_with_expansion_contraction_and_churn_in_one_cohort():
    r = revenue.retention(book(), "2025-03-31", "2026-03-31")
    # cohort K1..K5: start 1,000 + 2,000 + 1,000 + 500 + 1,000 = 5,500 thousand yen
    assert (r.accounts_at_start, r.churned_accounts) == (5, 1)
    assert r.arr_at_start == 5_500_000
    # end: 1,300 + 1,500 + 0 + 500 + 1,200 = 4,500 (K6's 1,000 is new business, not retention)
    assert r.arr_at_end == 4_500_000
    assert (r.expansion, r.contraction, r.churn) == (500_000, 500_000, 1_000_000)
    assert r.nrr == pytest.approx(4_500 / 5_500)            # 81.8 %
    assert r.grr == pytest.approx((5_500 - 500 - 1_000) / 5_500)  # 72.7 %: expansion cannot offset losses
    assert r.logo_churn_rate == pytest.approx(1 / 5)
    per = revenue.cohort_arr(book(), "2025-03-31", "2026-03-31")
    assert list(per.index) == ["K1", "K2", "K3", "K4", "K5"]
    assert per.loc["K5", "expansion"] == 200_000 and per.loc["K3", "contraction"] == 0 and per.loc["K3", "churn"] == 1_000_000


def test_grr_is_capped_at_100_percent_and_nrr_is_not():
    r = revenue.retention(book(), "2025-09-30", "2026-03-31")
    # cohort K1 1,300, K2 1,500, K4 500, K5 1,500, K6 800 = 5,600; end 1,300+1,500+500+1,200+1,000 = 5,500
    assert r.arr_at_start == 5_600_000 and r.arr_at_end == 5_500_000
    assert r.grr == pytest.approx((5_600 - 300) / 5_600) and r.nrr == pytest.approx(5_500 / 5_600)
    growth_only = book()[book().account_id.isin(["K1", "K6"])]
    g = revenue.retention(growth_only, "2025-07-31", "2026-03-31")
    assert g.grr == 1.0 and g.nrr == pytest.approx(2_300 / 1_800)  # K1 1,000 + K6 800 → 1,300 + 1,000


def test_bridge_counts_new_business_that_the_cohort_leaves_out():
    b = revenue.bridge(book(), "2025-03-31", "2026-03-31")
    assert b.to_dict() == {"期首ARR": 5_500_000, "新規": 800_000, "拡大": 1_000_000, "価格改定": 0,
                           "縮小": -800_000, "解約": -1_000_000, "期末ARR": 5_500_000}
    assert b["期首ARR"] + b.drop(["期首ARR", "期末ARR"]).sum() == b["期末ARR"]


def test_retention_by_group_and_errors():
    groups = pd.Series({"K1": "A", "K2": "A", "K3": "B", "K4": "B", "K5": "B", "K6": "A"})
    t = revenue.retention_by(book(), "2025-03-31", "2026-03-31", groups)
    assert t.loc["A", "nrr"] == pytest.approx(2_800 / 3_000) and t.loc["B", "grr"] == pytest.approx(1_500 / 2_500)
    with pytest.raises(ValueError, match="groups"):
        revenue.retention_by(book(), "2025-03-31", "2026-03-31", groups.drop("K3"))
    with pytest.raises(ValueError, match="より後"):
        revenue.retention(book(), "2026-03-31", "2025-03-31")
    with pytest.raises(ValueError, match="arr_change_jpy"):
        revenue.retention(book().drop(columns="arr_change_jpy"), "2025-03-31", "2026-03-31")


def test_shipped_data_movement_view_agrees_with_the_contract_view():
    t = data.load_all()
    acc, mov = t["accounts"], t["revenue_movements"]
    r = revenue.retention(mov, "2025-09-30", "2026-09-30")
    contract = revenue.churn_summary(revenue.account_churn(acc, "2025-09-30", "2026-09-30"))
    # the same accounts are customers on the start day and the same ones are lost
    assert r.accounts_at_start == contract["accounts_at_start"] and r.churned_accounts == contract["churned_accounts"]
    assert 0.6 <= r.grr < r.nrr < 1.0  # this book loses more than it expands: NRR below 100 %
    assert revenue.arr_on(mov, "2026-09-30").sum() == acc.loc[~acc.churned, "arr_jpy"].sum()


def test_kpi_and_team_delegate_to_the_one_implementation():
    acc = data.load("accounts")
    k = kpi.lagging_indicators(acc, as_of="2026-09-30", months=12)
    tm = team.retention(acc, "2025-09-30", "2026-09-30").iloc[0]
    one = revenue.churn_summary(revenue.account_churn(acc, "2025-09-30", "2026-09-30"))
    assert (k["accounts_at_start"], k["churned_accounts"], k["arr_at_start"], k["churned_arr"]) == \
        (one["accounts_at_start"], one["churned_accounts"], one["arr_at_start"], one["churned_arr"])
    assert tm["churned"] == one["churned_accounts"] and tm["grr"] == pytest.approx(one["grr"]) == pytest.approx(k["grr"])
