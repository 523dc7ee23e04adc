"""Backtests: score at past cutoffs with data up to each cutoff, then compare with churn in the horizon."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

from .features import _ts, data_end, features_at, prepare
from .metrics import auc, churn_by_band, churn_within, red_precision_recall
from .score import _weights, canonical_bands, score


@dataclass
class Backtest:
    """Result of scoring at cutoff(s) and comparing with churn in the following ``horizon_days``."""
    cutoffs: list[pd.Timestamp]
    horizon_days: int
    frame: pd.DataFrame  # one row per (cutoff, account): features, score, band, naive_score, churned, churn_date
    auc: float
    naive_auc: float
    bands: pd.DataFrame
    red_precision: float
    red_recall: float
    weights: dict[str, float] = field(default_factory=dict)
    naive_label: str = "ログイン数"

    @property
    def churn_rate(self) -> float:
        return float(self.frame["churned"].mean())

    def by_cutoff(self) -> pd.DataFrame:
        """Accounts, churners, AUC and naive AUC at each cutoff (one cutoff has few churners: expect noise)."""
        rows = []
        for c, g in self.frame.groupby("cutoff", sort=True):
            two_classes = 0 < g["churned"].sum() < len(g)
            rows.append({"cutoff": pd.Timestamp(c).date(), "accounts": len(g), "churned": int(g["churned"].sum()),
                         "auc": auc(g["churned"], g["score"]) if two_classes else float("nan"),
                         "naive_auc": auc(g["churned"], g["naive_score"]) if two_classes else float("nan")})
        return pd.DataFrame(rows).set_index("cutoff")

    def summary(self) -> pd.DataFrame:
        """The headline numbers with Japanese labels, for display in a notebook."""
        rows = [
            ("カットオフ", ", ".join(str(c.date()) for c in self.cutoffs)),
            ("予測期間 (日)", self.horizon_days),
            ("対象 (顧客×時点)", len(self.frame)),
            ("期間内の解約", int(self.frame["churned"].sum())),
            ("全体の解約率", round(self.churn_rate, 4)),
            ("AUC (ヘルススコア)", round(self.auc, 3)),
            (f"AUC (単純なスコア: {self.naive_label})", round(self.naive_auc, 3)),
            ("赤の適合率 (赤のうち解約)", round(self.red_precision, 3)),
            ("赤の再現率 (解約のうち赤)", round(self.red_recall, 3)),
        ]
        return pd.DataFrame(rows, columns=["指標", "値"]).set_index("指標")


def _check_horizon(tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, horizon_days: int) -> None:
    if int(horizon_days) <= 0:
        raise ValueError("予測期間 (horizon_days) は1日以上にしてください。")
    end = data_end(tables)
    if cutoff + pd.Timedelta(days=int(horizon_days)) > end:
        raise ValueError(
            f"カットオフ {cutoff.date()} から {int(horizon_days)} 日後はデータの最終日 {end.date()} を超えるため、"
            "解約したかどうかがまだ確定していません。カットオフを早めるか、予測期間を短くしてください。")


def _labelled(tables: Mapping[str, pd.DataFrame], cutoff: pd.Timestamp, horizon_days: int,
              weights, thresholds) -> pd.DataFrame:
    _check_horizon(tables, cutoff, horizon_days)
    scored = score(features_at(tables, cutoff), weights, thresholds)
    accounts = tables["accounts"]
    y = churn_within(accounts, cutoff, horizon_days)
    scored["churned"] = y.reindex(scored.index).to_numpy()
    churn_date = pd.Series(accounts["churn_date"].to_numpy(), index=accounts["account_id"].astype(str))
    scored["churn_date"] = churn_date.reindex(scored.index).where(scored["churned"].to_numpy()).to_numpy()
    return scored


def _result(frame: pd.DataFrame, cutoffs: list[pd.Timestamp], horizon_days: int, weights) -> Backtest:
    p, r = red_precision_recall(frame)
    return Backtest(cutoffs=cutoffs, horizon_days=int(horizon_days), frame=frame,
                    auc=auc(frame["churned"], frame["score"]),
                    naive_auc=auc(frame["churned"], frame["naive_score"]),
                    bands=churn_by_band(frame), red_precision=p, red_recall=r, weights=_weights(weights))


def backtest(tables: Mapping[str, pd.DataFrame], cutoff, horizon_days: int = 90,
             weights: Mapping[str, float] | None = None,
             thresholds: Mapping[str, float] | Sequence[float] | None = None) -> Backtest:
    """Score the accounts live at ``cutoff`` with data up to the cutoff only, then check who churned in the
    next ``horizon_days`` days: AUC, naive AUC (raw logins), churn rate and lift per band, red precision/recall.
    """
    c = _ts(cutoff)
    frame = _labelled(tables, c, horizon_days, weights, thresholds)
    return _result(frame, [c], horizon_days, weights)


def backtest_pooled(tables: Mapping[str, pd.DataFrame], cutoffs: Iterable, horizon_days: int = 90,
                    weights: Mapping[str, float] | None = None,
                    thresholds: Mapping[str, float] | Sequence[float] | None = None) -> Backtest:
    """Backtest at several cutoffs (each normalised on its own accounts) and pool the rows.

    One cutoff has few churners, so its AUC is noisy; pooling e.g. quarterly cutoffs gives a steadier figure.
    ``frame`` keeps a ``cutoff`` column; an account appears once per cutoff at which it was live.
    """
    cs = [_ts(c) for c in cutoffs]
    if not cs:
        raise ValueError("カットオフを1つ以上指定してください。")
    if len(cs) > 1:
        tables = prepare(tables)
    frame = pd.concat([_labelled(tables, c, horizon_days, weights, thresholds) for c in cs])
    return _result(frame, cs, horizon_days, weights)


def rescore(result: Backtest, weights: Mapping[str, float] | None = None,
            thresholds: Mapping[str, float] | Sequence[float] | None = None) -> Backtest:
    """The same backtest (same accounts, cutoffs and outcomes) scored again with other weights or thresholds.

    Features are reused, so comparing many weightings costs little; normalisation is still per cutoff.
    """
    derived = {"score", "band", "driver", "driver_ja", "naive_score"}
    frame = score(result.frame[[c for c in result.frame.columns if c not in derived]], weights, thresholds)
    return _result(frame, result.cutoffs, result.horizon_days, weights)


def quarter_ends(start, end) -> list[pd.Timestamp]:
    """Quarter-end dates between ``start`` and ``end`` inclusive (e.g. cutoffs for a pooled backtest)."""
    return list(pd.date_range(_ts(start), _ts(end), freq="QE"))


# --------------------------------------------------------------------------------------------------
# monthly snapshots and lead time
# --------------------------------------------------------------------------------------------------


def snapshots(tables: Mapping[str, pd.DataFrame], start, end, weights: Mapping[str, float] | None = None,
              thresholds: Mapping[str, float] | Sequence[float] | None = None) -> pd.DataFrame:
    """Score at every month end from ``start`` to ``end`` (each with data up to that day only).

    Returns long data with a ``cutoff`` column and ``account_id`` as a column (not the index).
    """
    cutoffs = pd.date_range(_ts(start), _ts(end), freq="ME")
    if len(cutoffs) == 0:
        raise ValueError("start から end までに月末がありません。期間を広げてください。")
    tables = prepare(tables)
    parts = [score(features_at(tables, c), weights, thresholds) for c in cutoffs]
    return pd.concat(parts).reset_index()


def lead_times(panel: pd.DataFrame, accounts: pd.DataFrame, *, band: str = "band") -> pd.DataFrame:
    """How many days before churning each churned account turned red (and stayed red until it churned).

    For every account in ``panel`` (from ``snapshots``) whose ``churn_date`` is after its first snapshot:
    ``first_red`` is the first snapshot of the uninterrupted red run that ends at its last snapshot before
    churn; ``lead_days`` = churn_date - first_red. If the account was not red at its last snapshot the
    warning was missed: ``first_red`` and ``lead_days`` are empty and ``detected`` is False.
    """
    churn = pd.Series(accounts["churn_date"].to_numpy(), index=accounts["account_id"].astype(str))
    p = panel[["account_id", "cutoff", band]].copy()
    p["account_id"] = p["account_id"].astype(str)
    p["churn_date"] = churn.reindex(p["account_id"]).to_numpy()
    p = p[p["churn_date"].notna() & (p["cutoff"] < p["churn_date"])]
    if p.empty:
        return pd.DataFrame(columns=["account_id", "churn_date", "last_snapshot", "first_red", "lead_days", "detected"])
    p = p.sort_values(["account_id", "cutoff"], kind="stable")
    red = canonical_bands(p[band]) == "赤"
    acc = p["account_id"].to_numpy()
    new_acc = np.r_[True, acc[1:] != acc[:-1]]
    # run id increases whenever the account changes or red/non-red flips; the last run decides.
    flip = new_acc | np.r_[True, red[1:] != red[:-1]]
    run = np.cumsum(flip)
    p["red"], p["run"] = red, run
    last = p.groupby("account_id", sort=True).agg(churn_date=("churn_date", "first"), last_snapshot=("cutoff", "last"),
                                                  last_red=("red", "last"), last_run=("run", "last"))
    run_start = p.groupby("run")["cutoff"].first()
    last["first_red"] = run_start.reindex(last["last_run"]).to_numpy()
    last.loc[~last["last_red"], "first_red"] = pd.NaT
    last["lead_days"] = (last["churn_date"] - last["first_red"]).dt.days
    last["detected"] = last["last_red"].astype(bool)
    return last[["churn_date", "last_snapshot", "first_red", "lead_days", "detected"]].reset_index()

#: Cutoffs for the module 04 exercise: month ends and mid-month days (a mid-month cutoff must not use
#: that month's usage). All leave 90 days of known outcomes before the end of the shipped data.
EXERCISE_CUTOFFS = ("2025-06-15", "2025-08-31", "2025-09-15", "2025-11-30", "2025-12-20",
                    "2026-01-31", "2026-02-14", "2026-03-31", "2026-04-30", "2026-05-15")


def exercise_variant(seed: int) -> dict:
    """Per-learner settings of the module 04 exercise from ``learner_seed(...)``: cutoff and weekly capacity."""
    return {"cutoff": pd.Timestamp(EXERCISE_CUTOFFS[seed % len(EXERCISE_CUTOFFS)]),
            "capacity": 12 + (seed // len(EXERCISE_CUTOFFS)) % 13}
