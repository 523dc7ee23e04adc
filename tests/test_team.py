"""Lagging indicators, ops staffing and onboarding cost (cs_helpers.team)."""
from __future__ import annotations

import pandas as pd
import pytest

from cs_helpers import data, team


def toy() -> pd.DataFrame:
    return pd.DataFrame({
        "account_id": ["A", "B", "C", "D", "E"],
        "csm_id": ["X", "X", "Y", "Y", "Y"],
        "arr_jpy": [100, 300, 200, 400, 999],
        "contract_start": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-01-01", "2024-01-01", "2025-06-01"]),
        "churn_date": pd.to_datetime(["2025-03-01", None, "2025-12-31", "2024-12-31", None]),
    })


def test_retention_by_hand():
    r = team.retention(toy(), "2025-01-01", "2025-12-31").iloc[0]
    # cohort on 2025-01-01: A, B, C (D churned before, E not yet a customer); A and C churn in the window
    assert r["accounts_at_start"] == 3
    assert r["churned"] == 2
    assert r["logo_churn_rate"] == pytest.approx(2 / 3)
    assert r["logo_retention"] == pytest.approx(1 / 3)
    assert r["grr"] == pytest.approx(1 - 300 / 600)


def test_retention_per_csm_by_hand():
    r = team.retention(toy(), "2025-01-01", "2025-12-31", by="csm_id")
    assert r.loc["X", "accounts_at_start"] == 2 and r.loc["X", "churned"] == 1
    assert r.loc["Y", "accounts_at_start"] == 1 and r.loc["Y", "churned"] == 1


def test_window_edges():
    # churn exactly on the start day is *before* the window; exactly on the end day is inside
    r = team.retention(toy(), "2024-12-31", "2025-03-01").iloc[0]
    assert r["accounts_at_start"] == 3  # D churned on 2024-12-31, so it is not in the cohort
    assert r["churned"] == 1            # A on 2025-03-01


def test_shipped_data_is_consistent_with_monthly_view():
    acc = data.load("accounts")
    year = team.retention(acc, "2025-09-30", "2026-09-30").iloc[0]
    months = team.monthly_churn(acc, "2025-10-01", "2026-09-30")
    assert len(months) == 12
    assert months["churned"].sum() == year["churned"]
    assert 0 < year["logo_churn_rate"] < 0.5
    # compounding the monthly equivalent gives back the window's churn
    assert 1 - (1 - year["monthly_churn_rate"]) ** 12 == pytest.approx(year["logo_churn_rate"], rel=1e-6)
    per = team.per_csm_uncertainty(acc, "2025-09-30", "2026-09-30")
    assert per["accounts_at_start"].sum() == year["accounts_at_start"]
    assert ((per["ci_low"] <= per["logo_churn_rate"]) & (per["logo_churn_rate"] <= per["ci_high"])).all()
    # per-CSM intervals are wide: individual churn is a poor personal KPI
    assert ((per["ci_high"] - per["ci_low"]) > 0.15).all()


def test_bad_inputs_are_explained():
    with pytest.raises(ValueError, match="後"):
        team.retention(toy(), "2025-12-31", "2025-01-01")
    with pytest.raises(ValueError, match="日付"):
        team.retention(toy(), "someday", "2025-01-01")
    with pytest.raises(ValueError, match="churn_date"):
        team.retention(toy().drop(columns="churn_date"), "2025-01-01", "2025-12-31")


@pytest.mark.parametrize("size, lo, hi", [(5, 1, 1), (20, 1, 1), (40, 1, 2), (60, 2, 3), (100, 2, 5), (150, 3, 7)])
def test_ops_staffing(size, lo, hi):
    s = team.ops_staffing(size)
    assert (s.min_people, s.max_people) == (lo, hi)
    assert s.min_fte == pytest.approx(size * 0.02) and s.max_fte == pytest.approx(size * 0.05)
    assert ("外部" in s.note) == (size * 0.05 < 1)


def test_ops_staffing_rejects_nonsense():
    for bad in (0, -3, 2.5, True, "20"):
        with pytest.raises(ValueError):
            team.ops_staffing(bad)


def test_onboarding_capacity_dips_then_pays_back():
    plan = team.onboarding_capacity(10, 3, ramp_months=6, mentor_share=0.3)
    assert plan.loc[0, "capacity"] == pytest.approx(10 - 3 * 0.3)
    assert plan["capacity"].iloc[-1] == pytest.approx(13)
    assert team.payback_month(plan) == 4
    # a playbook that shortens the ramp and the mentoring pays back sooner
    faster = team.onboarding_capacity(10, 3, ramp_months=4, mentor_share=0.15)
    assert team.payback_month(faster) < team.payback_month(plan)
    # heavy mentoring with a slow ramp may not pay back inside the horizon
    assert team.payback_month(team.onboarding_capacity(5, 5, ramp_months=12, mentor_share=1.0, months=3)) is None
