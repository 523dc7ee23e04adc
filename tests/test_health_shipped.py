"""The default score on the shipped data: predictive, better than the naive one, and usable."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from cs_helpers import health
from cs_helpers.data import load_all

CUTOFFS = health.quarter_ends("2024-06-30", "2026-06-30")


@pytest.fixture(scope="module")
def tables():
    return load_all()


@pytest.fixture(scope="module")
def pooled(tables):
    return health.backtest_pooled(tables, CUTOFFS, horizon_days=90)


def test_pooled_cutoffs_are_quarter_ends():
    assert [c.strftime("%Y-%m-%d") for c in CUTOFFS][:2] == ["2024-06-30", "2024-09-30"]
    assert len(CUTOFFS) == 9


def test_default_score_predicts_churn_and_beats_naive(pooled):
    assert 0.75 <= pooled.auc <= 0.85
    assert pooled.naive_auc < 0.65
    assert pooled.auc - pooled.naive_auc >= 0.15
    # an independent check of the pooled AUC
    f = pooled.frame
    y = f["churned"].to_numpy()
    s = f["score"].to_numpy()
    pos, neg = s[y], s[~y]
    wins = (pos[:, None] < neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    assert pooled.auc == pytest.approx(wins / (len(pos) * len(neg)))


def test_trend_adds_to_level(tables):
    level_only = health.backtest_pooled(tables, CUTOFFS, weights={"utilisation_level": 1.0})
    with_trend = health.backtest_pooled(tables, CUTOFFS, weights={"utilisation_level": 1.0, "utilisation_trend": 1.5})
    assert 0.65 <= level_only.auc <= 0.76
    assert with_trend.auc > level_only.auc + 0.05


def test_bands_order_churn_rates(pooled):
    b = pooled.bands
    assert b.loc["赤", "churn_rate"] > b.loc["黄", "churn_rate"] > b.loc["緑", "churn_rate"]
    assert b.loc["赤", "lift"] > 3
    assert pooled.red_recall > 0.5 and pooled.red_precision > 2 * pooled.churn_rate
    assert b["accounts"].sum() == len(pooled.frame)


def test_lead_time_on_monthly_snapshots(tables):
    panel = health.snapshots(tables, "2024-01-31", "2026-09-30")
    assert panel["cutoff"].nunique() == 33
    lt = health.lead_times(panel, tables["accounts"])
    assert lt["detected"].mean() > 0.6
    assert 30 <= lt["lead_days"].median() <= 180
    assert (lt.loc[lt["detected"], "lead_days"] > 0).all()


def test_touch_follows_value_not_risk(pooled):
    f = pooled.frame
    touch_auc = health.auc(f["churned"], f["touch_minutes"], higher_means="risk")
    assert abs(touch_auc - 0.5) < 0.12  # meetings barely point at the accounts that churn
    assert np.corrcoef(f["touch_minutes"], f["arr_jpy"])[0, 1] > 0.2
    att = health.attention_table(f)
    assert att.loc["赤", "share_of_churn"] > 2 * att.loc["赤", "share_of_touch"]


def test_capacity_call_list_and_triggers(tables):
    bt = health.backtest(tables, "2026-03-31")
    calls = health.call_list(bt.frame, capacity=20)
    assert len(calls) == 20 and (calls["band"] == "赤").all()
    assert calls["score"].is_monotonic_increasing
    assert calls["score"].max() == health.capacity_threshold(bt.frame.loc[bt.frame["band"] == "赤", "score"], 20)
    cap = health.capacity_table(bt.frame, [20])
    assert cap.loc[20, "precision"] > 3 * bt.churn_rate
    prev = health.score(health.features_at(tables, "2026-02-28"))
    trig = health.playbook_triggers(prev, bt.frame)
    assert len(trig) > 0 and trig["playbook"].notna().all()


def test_rescore_and_by_cutoff_match_fresh_backtests(tables, pooled):
    w = {"utilisation_level": 1.0, "nps_level": 0.5}
    again = health.rescore(pooled, w)
    fresh = health.backtest_pooled(tables, CUTOFFS, weights=w)
    assert again.auc == pytest.approx(fresh.auc)
    assert again.frame["score"].tolist() == fresh.frame["score"].tolist()
    per = pooled.by_cutoff()
    assert list(per.index.astype(str)) == [str(c.date()) for c in CUTOFFS]
    one = health.backtest(tables, CUTOFFS[3])
    assert per.iloc[3]["auc"] == pytest.approx(one.auc) and per.iloc[3]["churned"] == one.frame["churned"].sum()
    assert per["accounts"].sum() == len(pooled.frame)


def test_prepared_tables_give_identical_features(tables):
    """Shared categorical ids (used for many cutoffs) change nothing in the result."""
    prepared = health.prepare(tables)
    assert isinstance(prepared["usage_monthly"]["account_id"].dtype, pd.CategoricalDtype)
    for cutoff in ("2025-02-14", "2026-03-31"):
        pd.testing.assert_frame_equal(health.features_at(prepared, cutoff), health.features_at(tables, cutoff))
    assert health.prepare(prepared)["usage_monthly"] is prepared["usage_monthly"]
    mixed = dict(tables, tickets=tables["tickets"].assign(account_id=tables["tickets"]["account_id"].astype("category")))
    pd.testing.assert_frame_equal(health.features_at(mixed, "2025-09-30"), health.features_at(tables, "2025-09-30"))
