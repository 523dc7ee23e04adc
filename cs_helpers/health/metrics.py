"""Validation metrics written out as the lesson teaches them: rank AUC, ROC points, churn by band,
precision and recall.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from .features import _ts, live_accounts
from .score import BANDS, canonical_bands


def _risk(score_values, higher_means: str) -> np.ndarray:
    s = np.asarray(score_values, dtype=float)
    if higher_means in ("healthy", "健全"):
        return -s
    if higher_means in ("risk", "危険"):
        return s
    raise ValueError("higher_means は \"healthy\" (高いほど健全) か \"risk\" (高いほど危険) で指定してください。")


def _labels(churned) -> np.ndarray:
    y = pd.Series(churned)
    if y.isna().any():
        raise ValueError("解約ラベルに空欄があります。True / False (1 / 0) で埋めてください。")
    values = y.to_numpy()
    if values.dtype == bool:
        return values
    uniq = set(pd.unique(values).tolist())
    if not uniq <= {0, 1, True, False}:
        raise ValueError(f"解約ラベルは True / False (1 / 0) にしてください。見つかった値: {sorted(map(str, uniq))[:5]}")
    return values.astype(bool)


def auc(churned, score_values, *, higher_means: str = "healthy") -> float:
    """Rank-based ROC AUC: the chance that a random churner looks riskier than a random stayer (ties = 1/2).

    ``higher_means="healthy"`` (default) for health scores (low score = risk); ``"risk"`` for risk scores.
    Equals the Mann-Whitney U statistic divided by n_churned x n_stayed. Rows with a missing score are dropped.
    """
    y = _labels(churned)
    risk = _risk(score_values, higher_means)
    if len(y) != len(risk):
        raise ValueError(f"解約ラベル ({len(y)}件) とスコア ({len(risk)}件) の件数が違います。")
    keep = np.isfinite(risk)
    y, risk = y[keep], risk[keep]
    n1 = int(y.sum())
    n0 = len(y) - n1
    if n1 == 0 or n0 == 0:
        raise ValueError("AUC には解約した顧客と継続した顧客の両方が必要です。期間やカットオフを見直してください。")
    ranks = pd.Series(risk).rank(method="average").to_numpy()
    return float((ranks[y].sum() - n1 * (n1 + 1) / 2) / (n1 * n0))


def roc_curve(churned, score_values, *, higher_means: str = "healthy") -> pd.DataFrame:
    """ROC curve points: for each threshold, share of churners caught (tpr) vs share of stayers flagged (fpr).

    ``threshold`` is on the original score scale: for a health score, accounts with score <= threshold are
    flagged. Starts at (0, 0) and ends at (1, 1).
    """
    y = _labels(churned)
    risk = _risk(score_values, higher_means)
    keep = np.isfinite(risk)
    y, risk = y[keep], risk[keep]
    order = np.argsort(-risk, kind="mergesort")
    r, yy = risk[order], y[order]
    last_of_tie = np.r_[r[1:] != r[:-1], True]
    tp = np.cumsum(yy)[last_of_tie]
    fp = np.cumsum(~yy)[last_of_tie]
    n1, n0 = max(int(y.sum()), 1), max(int((~y).sum()), 1)
    thr = r[last_of_tie]
    thr = -thr if higher_means in ("healthy", "健全") else thr
    return pd.DataFrame({"fpr": np.r_[0.0, fp / n0], "tpr": np.r_[0.0, tp / n1],
                         "threshold": np.r_[np.nan, thr]})


def churn_by_band(frame: pd.DataFrame, *, band: str = "band", label: str = "churned") -> pd.DataFrame:
    """Per band: accounts, churned, churn_rate, lift (churn rate / overall rate), share_of_churn.

    Bands may be ``赤/黄/緑`` or ``red/yellow/green``; rows come out in the order 赤, 黄, 緑.
    """
    b = canonical_bands(frame[band])
    y = _labels(frame[label]).astype(float)
    g = pd.DataFrame({"band": pd.Categorical(b, categories=list(BANDS), ordered=True), "y": y})
    agg = g.groupby("band", observed=False)["y"].agg(["size", "sum"])
    agg.columns = ["accounts", "churned"]
    agg["churned"] = agg["churned"].astype(int)
    overall = y.mean() if len(y) else np.nan
    with np.errstate(invalid="ignore", divide="ignore"):
        agg["churn_rate"] = agg["churned"] / agg["accounts"].where(agg["accounts"] > 0)
        agg["lift"] = agg["churn_rate"] / overall if overall > 0 else np.nan
        agg["share_of_churn"] = agg["churned"] / max(agg["churned"].sum(), 1)
    agg.index = pd.Index(list(BANDS), name="band")
    return agg


def precision_recall(flagged, churned) -> tuple[float, float]:
    """Precision (churners among flagged) and recall (flagged among churners) of a yes/no flag."""
    f = np.asarray(flagged, dtype=bool)
    y = _labels(churned)
    tp = int((f & y).sum())
    precision = tp / f.sum() if f.sum() else float("nan")
    recall = tp / y.sum() if y.sum() else float("nan")
    return float(precision), float(recall)


def red_precision_recall(frame: pd.DataFrame, *, band: str = "band", label: str = "churned") -> tuple[float, float]:
    """Precision and recall of "the account is red" as a churn warning."""
    red = canonical_bands(frame[band]) == "赤"
    return precision_recall(red, frame[label])


def churn_within(accounts: pd.DataFrame, cutoff, horizon_days: int = 90) -> pd.Series:
    """For accounts live at ``cutoff``: did they churn in (cutoff, cutoff + horizon_days]? Indexed by account_id."""
    c = _ts(cutoff)
    live = live_accounts(accounts, c)
    end = c + pd.Timedelta(days=int(horizon_days))
    churn = live["churn_date"]
    y = (churn > c) & (churn <= end)
    return pd.Series(y.to_numpy(dtype=bool), index=pd.Index(live["account_id"].astype(str), name="account_id"),
                     name="churned")
