"""Health-score metrics against hand-computed examples and an independent computation."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from cs_helpers import health


def pair_count_auc(churned, risk) -> float:
    """Independent O(n^2) AUC: share of (churner, stayer) pairs where the churner is riskier; ties count 1/2."""
    pos = [r for y, r in zip(churned, risk) if y]
    neg = [r for y, r in zip(churned, risk) if not y]
    wins = sum(1.0 if p > n else 0.5 if p == n else 0.0 for p, n in itertools.product(pos, neg))
    return wins / (len(pos) * len(neg))


def independent_auc(churned, risk) -> float:
    """scikit-learn's ROC AUC (trapezoids over the ROC curve), a different algorithm from the rank statistic."""
    from sklearn.metrics import roc_auc_score

    return float(roc_auc_score(np.asarray(churned, bool), np.asarray(risk, float)))


def mann_whitney_auc(churned, risk) -> float:
    from scipy.stats import mannwhitneyu

    y = np.asarray(churned, bool)
    r = np.asarray(risk, float)
    return float(mannwhitneyu(r[y], r[~y], alternative="two-sided").statistic) / (y.sum() * (~y).sum())


# --- AUC ------------------------------------------------------------------------------------------

def test_auc_hand_example():
    # scores (high = healthy): churners 10 and 35; stayers 20, 40, 50
    # pairs (churner riskier = lower score): 10<20,10<40,10<50, 35>20 (no), 35<40, 35<50 -> 5 of 6
    churned = [True, False, True, False, False]
    score = [10, 20, 35, 40, 50]
    assert health.auc(churned, score) == pytest.approx(5 / 6)
    assert health.auc(churned, [-s for s in score], higher_means="risk") == pytest.approx(5 / 6)


def test_auc_ties_count_half():
    churned = [True, False, True, False]
    score = [30, 30, 10, 50]  # pairs: (30,30)=0.5, (30,50)=1, (10,30)=1, (10,50)=1 -> 3.5/4
    assert health.auc(churned, score) == pytest.approx(3.5 / 4)


def test_auc_perfect_and_reversed():
    assert health.auc([1, 1, 0, 0], [1, 2, 3, 4]) == 1.0
    assert health.auc([1, 1, 0, 0], [4, 3, 2, 1]) == 0.0


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_auc_matches_independent_computation(seed):
    rng = np.random.default_rng(seed)
    n = 300
    y = rng.random(n) < 0.2
    score = np.round(rng.normal(50 - 8 * y, 10), 0)  # rounding creates many ties
    got = health.auc(y, score)
    assert got == pytest.approx(independent_auc(y, -score), abs=1e-12)
    assert got == pytest.approx(mann_whitney_auc(y, -score), abs=1e-12)
    assert got == pytest.approx(pair_count_auc(y, -score), abs=1e-12)
    assert health.auc(y, score, higher_means="risk") == pytest.approx(independent_auc(y, score), abs=1e-12)


def test_auc_drops_missing_scores_and_rejects_one_class():
    assert health.auc([1, 0, 1, 0], [10, 20, np.nan, 5]) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="両方"):
        health.auc([0, 0, 0], [1, 2, 3])
    with pytest.raises(ValueError, match="件数"):
        health.auc([0, 1], [1, 2, 3])
    with pytest.raises(ValueError, match="True / False"):
        health.auc(["yes", "no"], [1, 2])


def test_roc_curve_area_equals_auc():
    rng = np.random.default_rng(5)
    y = rng.random(200) < 0.3
    s = np.round(rng.normal(50 - 5 * y, 10))
    roc = health.roc_curve(y, s)
    assert (roc.iloc[0][["fpr", "tpr"]] == 0).all() and (roc.iloc[-1][["fpr", "tpr"]] == 1).all()
    assert roc["fpr"].is_monotonic_increasing and roc["tpr"].is_monotonic_increasing
    area = float(np.sum(np.diff(roc["fpr"]) * (roc["tpr"].to_numpy()[1:] + roc["tpr"].to_numpy()[:-1]) / 2))
    assert area == pytest.approx(health.auc(y, s), abs=1e-12)
    # thresholds are on the health-score scale: flagging score <= threshold
    row = roc.iloc[1]
    assert row["tpr"] == pytest.approx((s[y] <= row["threshold"]).mean())


# --- bands, churn per band, precision/recall ------------------------------------------------------

def test_bands_thresholds_and_labels():
    s = pd.Series([39.9, 40.0, 49.9, 50.0, np.nan])
    b = health.bands(s)
    assert list(b[:4]) == ["赤", "黄", "黄", "緑"] and pd.isna(b.iloc[4])
    assert b.cat.ordered and list(b.cat.categories) == ["赤", "黄", "緑"]
    assert list(health.bands(s[:4], {"red": 45, "yellow": 50}, labels="en").astype(str)) == [
        "red", "red", "yellow", "green"]
    assert list(health.bands(s[:4], (40, 40)).astype(str)) == ["赤", "緑", "緑", "緑"]
    with pytest.raises(ValueError, match="以下"):
        health.bands(s, {"赤": 60, "黄": 50})
    with pytest.raises(ValueError, match="赤と黄"):
        health.bands(s, {"赤": 40})
    assert health.band_key("Green") == "緑" and health.band_key(" RED ") == "赤"
    with pytest.raises(ValueError, match="赤・黄・緑"):
        health.band_key("blue")


def test_churn_by_band_hand_example():
    # 赤: 4 accounts, 2 churned; 黄: 2 accounts, 0; 緑: 4 accounts, 1 -> overall 3/10
    frame = pd.DataFrame({"band": ["red", "赤", "赤", "赤", "黄", "yellow", "緑", "green", "緑", "緑"],
                          "churned": [1, 1, 0, 0, 0, 0, 1, 0, 0, 0]})
    t = health.churn_by_band(frame)
    assert list(t.index) == ["赤", "黄", "緑"]
    assert list(t["accounts"]) == [4, 2, 4] and list(t["churned"]) == [2, 0, 1]
    assert t.loc["赤", "churn_rate"] == pytest.approx(0.5)
    assert t.loc["赤", "lift"] == pytest.approx(0.5 / 0.3)
    assert t.loc["緑", "share_of_churn"] == pytest.approx(1 / 3)
    p, r = health.red_precision_recall(frame)
    assert (p, r) == (pytest.approx(0.5), pytest.approx(2 / 3))


def test_churn_by_band_keeps_empty_bands():
    t = health.churn_by_band(pd.DataFrame({"band": ["緑", "緑"], "churned": [False, True]}))
    assert t.loc["赤", "accounts"] == 0 and np.isnan(t.loc["赤", "churn_rate"])


def test_precision_recall_edge_cases():
    p, r = health.precision_recall([False, False], [True, False])
    assert np.isnan(p) and r == 0.0


# --- score --------------------------------------------------------------------------------------

def _toy_features(n=50, seed=0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    data = {f: rng.normal(size=n) for f in health.FEATURES}
    data["logins"] = rng.integers(1, 1000, n).astype(float)
    data["arr_jpy"] = rng.integers(1, 10, n) * 100_000
    f = pd.DataFrame(data, index=pd.Index([f"A{i:03d}" for i in range(n)], name="account_id"))
    f.insert(0, "cutoff", pd.Timestamp("2026-03-31"))
    return f


def test_score_scale_direction_and_driver():
    f = _toy_features()
    s = health.score(f)
    assert s["score"].mean() == pytest.approx(50, abs=0.1) and s["score"].std(ddof=0) == pytest.approx(10, abs=0.1)
    # more tickets (support) must lower the score: support is oriented "fewer is healthier"
    worse = f.copy()
    worse.loc["A000", "support_level"] += 3
    assert health.score(worse, scale=health.fit_scale(f)).loc["A000", "score"] < s.loc["A000", "score"]
    # an account far below on NPS only is driven by NPS
    odd = f.copy()
    odd.loc["A001", [c for c in health.FEATURES]] = 0.0
    odd.loc["A001", "nps_level"] = -10
    assert health.score(odd).loc["A001", "driver"] == "nps"


def test_score_weights_validation():
    f = _toy_features()
    with pytest.raises(ValueError, match="ありません"):
        health.score(f, {"usage": 1.0})
    with pytest.raises(ValueError, match="0以上"):
        health.score(f, {"support_level": -1.0})
    with pytest.raises(ValueError, match="すべて0"):
        health.score(f, {"nps_level": 0})


def test_score_normalises_each_cutoff_separately():
    a, b = _toy_features(seed=1), _toy_features(seed=2)
    b["cutoff"] = pd.Timestamp("2026-06-30")
    b = b.copy()
    b[list(health.FEATURES)] += 5  # a whole cohort shifted: each cutoff is still centred on 50
    both = health.score(pd.concat([a, b]))
    assert both.groupby("cutoff")["score"].mean().round(0).tolist() == [50.0, 50.0]
    # with a scale fitted on the first cutoff the shift shows
    shifted = health.score(b, scale=health.fit_scale(a))
    assert shifted["score"].mean() > 60


def test_weighted_score_signed_weights():
    frame = pd.DataFrame({"good": [1.0, 2.0, 3.0, 4.0], "bad": [4.0, 3.0, 2.0, 1.0]})
    s = health.weighted_score(frame, {"good": 1.0, "bad": -1.0})
    assert s["score"].is_monotonic_increasing
    with pytest.raises(ValueError, match="表にありません"):
        health.weighted_score(frame, {"ugly": 1})


# --- capacity and call list -----------------------------------------------------------------------

def test_call_list_capacity_order_and_ties():
    frame = pd.DataFrame({
        "score": [30.0, 20.0, 30.0, 45.0, 10.0, 30.0],
        "band": ["赤", "赤", "赤", "黄", "緑", "赤"],
        "arr_jpy": [100, 100, 900, 100, 100, 900],
        "driver": ["support", "utilisation", "nps", "adoption", "nps", "sentiment"],
    }, index=pd.Index(["A1", "A2", "A3", "A4", "A5", "A6"], name="account_id"))
    calls = health.call_list(frame, capacity=3)
    # only red; lowest score first; equal scores: larger ARR first, then id
    assert list(calls.index) == ["A2", "A3", "A6"]
    assert list(calls["priority"]) == [1, 2, 3]
    assert calls.loc["A2", "playbook"] == health.PLAYBOOKS["utilisation"][0]
    assert len(health.call_list(frame, capacity=10)) == 4
    assert list(health.call_list(frame, 2, bands_to_call=["red", "green"]).index) == ["A5", "A2"]
    assert health.capacity_threshold(frame["score"], 2) == 20.0
    assert health.capacity_threshold(frame["score"], 99) == 45.0
    with pytest.raises(ValueError):
        health.call_list(frame, capacity=-1)


def test_capacity_table_hand_example():
    frame = pd.DataFrame({"score": [10.0, 20, 30, 40, 50], "churned": [1, 0, 1, 0, 0]},
                         index=pd.Index(list("abcde"), name="account_id"))
    t = health.capacity_table(frame, [1, 3, 10])
    assert t.loc[1, "precision"] == 1.0 and t.loc[1, "recall"] == 0.5 and t.loc[1, "score_cut"] == 10
    assert t.loc[3, "churned_reached"] == 2 and t.loc[3, "lift"] == pytest.approx((2 / 3) / 0.4)
    assert 5 in t.index  # capped at the number of accounts


def test_playbook_triggers_newly_red_and_drop():
    idx = pd.Index(["A1", "A2", "A3", "A4"], name="account_id")
    prev = pd.DataFrame({"score": [45.0, 35.0, 60.0, 55.0], "band": ["黄", "赤", "緑", "緑"]}, index=idx)
    cur = pd.DataFrame({"score": [38.0, 30.0, 49.0, 54.0], "band": ["赤", "赤", "黄", "緑"],
                        "driver": ["support", "nps", "adoption", "utilisation"]}, index=idx)
    t = health.playbook_triggers(prev, cur, drop=10)
    assert list(t.index) == ["A1", "A3"]
    assert t.loc["A1", "reason"] == "赤に転落" and t.loc["A3", "reason"].startswith("10点以上")


# --- lead time ------------------------------------------------------------------------------------

def test_lead_times_hand_panel():
    months = pd.to_datetime(["2025-01-31", "2025-02-28", "2025-03-31", "2025-04-30"])
    panel = pd.DataFrame({
        "account_id": ["A"] * 4 + ["B"] * 4 + ["C"] * 3 + ["D"] * 4,
        "cutoff": list(months) * 2 + list(months[:3]) + list(months),
        # A: red, green, red, red -> final red run starts 2025-03-31
        # B: red all along; C: last snapshot yellow -> missed; D: never churns
        "band": ["赤", "緑", "赤", "赤", "赤", "赤", "赤", "赤", "赤", "赤", "黄", "赤", "赤", "赤", "赤"],
    })
    accounts = pd.DataFrame({"account_id": ["A", "B", "C", "D"],
                             "churn_date": pd.to_datetime(["2025-05-15", "2025-05-15", "2025-04-10", None])})
    lt = health.lead_times(panel, accounts).set_index("account_id")
    assert set(lt.index) == {"A", "B", "C"}
    assert lt.loc["A", "first_red"] == pd.Timestamp("2025-03-31")
    assert lt.loc["A", "lead_days"] == (pd.Timestamp("2025-05-15") - pd.Timestamp("2025-03-31")).days
    assert lt.loc["B", "lead_days"] == (pd.Timestamp("2025-05-15") - pd.Timestamp("2025-01-31")).days
    assert not lt.loc["C", "detected"] and pd.isna(lt.loc["C", "lead_days"])
    # snapshots on or after the churn date are ignored
    late = pd.concat([panel, pd.DataFrame({"account_id": ["C"], "cutoff": [pd.Timestamp("2025-04-30")],
                                           "band": ["赤"]})])
    assert not health.lead_times(late, accounts).set_index("account_id").loc["C", "detected"]


def test_attention_table_shares():
    frame = pd.DataFrame({"band": ["赤", "赤", "緑", "緑"], "touch_minutes": [0.0, 30.0, 60.0, 90.0],
                          "churned": [True, True, False, True]})
    t = health.attention_table(frame)
    assert t.loc["赤", "share_of_touch"] == pytest.approx(30 / 180)
    assert t.loc["赤", "share_of_churn"] == pytest.approx(2 / 3)
    assert t.loc["緑", "minutes_per_account"] == 75 and t.loc["黄", "accounts"] == 0


def test_to_japanese_renames():
    t = health.to_japanese(pd.DataFrame({"churn_rate": [0.1], "utilisation_trend": [0.0]}))
    assert list(t.columns) == ["解約率", "ライセンス利用率（傾き）"]
