"""Features at a cutoff use data up to the cutoff only: changing anything later changes nothing."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cs_helpers import health
from cs_helpers.data import load_all


@pytest.fixture(scope="module")
def tables():
    return load_all()


def _copy(tables):
    return {k: v.copy() for k, v in tables.items()}


def _mutate_after(tables, cutoff, seed=0):
    """Scramble every fact dated after ``cutoff`` (and the future of each account), add future rows."""
    rng = np.random.default_rng(seed)
    c = pd.Timestamp(cutoff)
    t = _copy(tables)
    u = t["usage_monthly"]
    later = u["month"] >= health.first_incomplete_month(c)  # months not complete at the cutoff
    assert later.any()
    u.loc[later, "active_users"] = rng.integers(0, 5, later.sum())
    u.loc[later, "logins"] = rng.integers(0, 10_000, later.sum())
    u.loc[later, "key_features_used"] = 0
    for name, col, value in (("tickets", "opened_at", "sentiment"), ("nps", "responded_at", "score"),
                             ("meetings", "date", "duration_min")):
        df = t[name]
        m = df[col] > c
        assert m.any()
        df.loc[m, value] = -df.loc[m, value]
        extra = df[~m].head(50).copy()  # the same accounts get many more future rows
        extra[col] = c + pd.Timedelta(days=1)
        t[name] = pd.concat([df, extra], ignore_index=True)
    a = t["accounts"]
    future = a["churn_date"] > c
    a.loc[future, "churn_date"] = a.loc[future, "churn_date"] + pd.Timedelta(days=400)
    a.loc[future, "renewal_date"] = pd.Timestamp("2030-01-01")
    still = a["churn_date"].isna()
    a.loc[still, "churn_date"] = c + pd.Timedelta(days=30)  # everyone active now "churns" next month
    a.loc[still, "churned"] = True
    newcomers = a.head(20).copy()
    newcomers["account_id"] = [f"Z{i:04d}" for i in range(20)]
    newcomers["contract_start"] = c + pd.Timedelta(days=1)
    t["accounts"] = pd.concat([a, newcomers], ignore_index=True)
    return t


@pytest.mark.parametrize("cutoff", ["2025-06-30", "2025-12-31", "2026-02-15"])
def test_changing_the_future_changes_nothing_at_the_cutoff(tables, cutoff):
    before = health.score(health.features_at(tables, cutoff))
    after = health.score(health.features_at(_mutate_after(tables, cutoff), cutoff))
    pd.testing.assert_frame_equal(before, after)


def test_the_leakage_check_can_fail(tables):
    """Control: the same comparison notices a change on or before the cutoff."""
    cutoff = pd.Timestamp("2025-12-31")
    t = _copy(tables)
    u = t["usage_monthly"]
    last = u["month"] == pd.Timestamp("2025-12-01")
    u.loc[last, "active_users"] = 0
    a = health.features_at(tables, cutoff)
    b = health.features_at(t, cutoff)
    assert not np.allclose(a["utilisation_level"], b["utilisation_level"])
    assert (b["utilisation_trend"] < a["utilisation_trend"]).mean() > 0.9


def test_incomplete_month_is_not_used(tables):
    """A mid-month cutoff must not use that month's usage row (the month has not ended)."""
    t = _copy(tables)
    u = t["usage_monthly"]
    feb = u["month"] == pd.Timestamp("2026-02-01")
    u.loc[feb, "active_users"] = 0
    mid = "2026-02-15"
    pd.testing.assert_frame_equal(health.features_at(tables, mid), health.features_at(t, mid))
    end = "2026-02-28"
    assert not health.features_at(tables, end)["utilisation_level"].equals(health.features_at(t, end)["utilisation_level"])
    assert health.first_incomplete_month("2026-03-31") == pd.Timestamp("2026-04-01")
    assert health.first_incomplete_month("2026-03-30") == pd.Timestamp("2026-03-01")


def test_backtest_scores_do_not_depend_on_labels(tables):
    cutoff = "2025-09-30"
    a = health.backtest(tables, cutoff)
    b = health.backtest(_mutate_after(tables, cutoff, seed=3), cutoff)
    pd.testing.assert_series_equal(a.frame["score"], b.frame["score"])
    assert not a.frame["churned"].equals(b.frame["churned"])  # only the outcome moved


def test_live_accounts_and_labels(tables):
    c = pd.Timestamp("2025-12-31")
    live = health.live_accounts(tables["accounts"], c)
    assert (live["contract_start"] <= c).all()
    assert (live["churn_date"].isna() | (live["churn_date"] > c)).all()
    y = health.churn_within(tables["accounts"], c, 90)
    churn = tables["accounts"].set_index("account_id")["churn_date"].reindex(y.index)
    assert (churn[y] > c).all() and (churn[y] <= c + pd.Timedelta(days=90)).all()
    assert not ((churn > c) & (churn <= c + pd.Timedelta(days=90)))[~y].any()


def test_horizon_beyond_the_data_is_refused(tables):
    with pytest.raises(ValueError, match="確定していません"):
        health.backtest(tables, "2026-08-31", horizon_days=90)
    health.backtest(tables, "2026-06-30", horizon_days=90)  # ends 2026-09-28, inside the data
    with pytest.raises(ValueError, match="契約中の顧客がいません"):
        health.features_at(tables, "2000-01-01")
    with pytest.raises(ValueError, match="日付として読めません"):
        health.features_at(tables, "三月末")


def test_features_hand_example():
    """Level, trend, support, sentiment, NPS and touch on a two-account book, computed by hand."""
    months = pd.date_range("2025-07-01", periods=7, freq="MS")  # Jul .. Jan; cutoff 2025-12-31 -> Jul..Dec
    accounts = pd.DataFrame({
        "account_id": ["A", "B"], "contract_start": pd.to_datetime(["2024-01-01", "2025-10-15"]),
        "churn_date": pd.to_datetime([None, None]), "seats": [10, 20], "arr_jpy": [1, 2],
    })
    usage = pd.DataFrame({
        "account_id": ["A"] * 7 + ["B"] * 3,
        "month": list(months) + list(months[3:6]),
        "seats": [10] * 7 + [20] * 3,
        "active_users": [8, 8, 8, 6, 5, 4, 0, 10, 12, 14],
        "logins": [80, 80, 80, 60, 50, 40, 0, 100, 120, 140],
        "key_features_used": [5, 5, 5, 4, 4, 4, 0, 2, 3, 4],
    })
    c = pd.Timestamp("2025-12-31")
    tickets = pd.DataFrame({"account_id": ["A", "A", "A", "B"],
                            "opened_at": pd.to_datetime(["2025-12-01", "2025-11-20", "2025-08-01", "2026-01-05"]),
                            "sentiment": [-0.5, 0.1, 0.4, -1.0]})
    nps = pd.DataFrame({"account_id": ["A", "A", "B"],
                        "responded_at": pd.to_datetime(["2025-09-10", "2025-03-10", "2025-12-31"]),
                        "score": [6, 9, 10]})
    meetings = pd.DataFrame({"account_id": ["A", "B", "B"],
                             "date": pd.to_datetime(["2025-10-10", "2025-12-31", "2026-01-02"]),
                             "duration_min": [30, 60, 90]})
    f = health.features_at({"accounts": accounts, "usage_monthly": usage, "tickets": tickets, "nps": nps,
                            "meetings": meetings}, c)
    a, b = f.loc["A"], f.loc["B"]
    assert a["utilisation_level"] == pytest.approx(0.5)            # Oct-Dec: 6,5,4 of 10
    assert a["utilisation_trend"] == pytest.approx((0.5 - 0.8) / 3)  # Jul-Sep: 0.8
    assert a["adoption_level"] == pytest.approx(4) and a["adoption_trend"] == pytest.approx(-1 / 3)
    assert a["engagement_level"] == pytest.approx(5.0) and a["logins"] == pytest.approx(50)
    assert b["utilisation_level"] == pytest.approx(0.6) and np.isnan(b["utilisation_trend"])  # too new
    per_month = 90 / 30.4375
    assert a["support_level"] == pytest.approx(2 / per_month / np.log1p(10))
    assert a["support_trend"] == pytest.approx((2 - 1) / per_month / np.log1p(10) / per_month)
    assert a["sentiment_level"] == pytest.approx(-0.2)
    assert b["support_level"] == 0 and np.isnan(b["sentiment_level"])  # B's ticket is after the cutoff
    assert a["nps_level"] == 6 and a["nps_trend"] == pytest.approx((6 - 9) / (200 / 30.4375))
    assert b["nps_level"] == 10  # answered on the cutoff day: known at the cutoff
    assert a["touch_minutes"] == 30 and b["touch_minutes"] == 60 and b["touch_meetings"] == 1
    assert a["tenure_days"] == (c - pd.Timestamp("2024-01-01")).days
