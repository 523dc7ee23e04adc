"""The shipped data is reproducible from its seed and behaves like a real book of business."""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cs_helpers import data, synth

ROOT = Path(__file__).resolve().parents[1]


def _digest(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.glob("*.csv"))}


@pytest.fixture(scope="module")
def regenerated(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("regen")
    synth.write(out)
    return out


def test_regenerating_gives_byte_identical_files(regenerated: Path):
    shipped = {k: v for k, v in _digest(ROOT / "datasets").items() if k[:-4] in synth.TABLE_ORDER}
    assert _digest(regenerated) == shipped, "datasets/ is stale or the generator is not deterministic: run make data"


def test_other_seed_gives_other_data(tmp_path: Path):
    a = synth.generate(seed=1)["accounts"]
    b = synth.generate(seed=2)["accounts"]
    assert not a.equals(b)


def test_shipped_tables_load_with_checked_types():
    tables = data.load_all()
    acc = tables["accounts"]
    assert 550 <= len(acc) <= 650
    assert set(acc["industry"].unique()) == set(data.INDUSTRIES)
    assert acc.loc[acc.churned, "churn_date"].notna().all() and acc.loc[~acc.churned, "churn_date"].isna().all()
    months = tables["usage_monthly"].groupby("account_id")["month"].nunique()
    assert months.max() == synth.N_MONTHS and months.median() >= 24
    assert (tables["usage_monthly"]["active_users"] <= tables["usage_monthly"]["seats"]).all()
    notes = tables["hearing_notes"]
    assert set(notes["speaker_role"]) == {"CEO", "情報システム部", "現場"}
    # "who can answer what": the CEO mostly speaks to purpose, field users to usage
    share = pd.crosstab(notes["speaker_role"], notes["label"], normalize="index")
    assert share.loc["CEO", "導入目的"] > 0.7 and share.loc["現場", "利用用途"] > 0.7
    assert 0.15 <= acc["churned"].mean() <= 0.45


def _auc(score: np.ndarray, positive: np.ndarray) -> float:
    """Probability that a random positive outranks a random negative (ties count half)."""
    pos, neg = score[positive], score[~positive]
    greater = (pos[:, None] > neg[None, :]).sum() + 0.5 * (pos[:, None] == neg[None, :]).sum()
    return greater / (len(pos) * len(neg))


def _backtest_frame() -> pd.DataFrame:
    """Simple signals per account at quarterly cutoffs, using only data up to each cutoff."""
    t = data.load_all()
    acc, usage, tickets, nps = t["accounts"], t["usage_monthly"], t["tickets"], t["nps"]
    usage = usage.assign(util=usage.active_users / usage.seats)
    frames = []
    for cutoff in pd.date_range("2024-06-30", "2026-06-30", freq="QE"):
        live = acc[(acc.contract_start <= cutoff) & (acc.churn_date.isna() | (acc.churn_date > cutoff))]
        live = live.set_index("account_id")
        horizon = cutoff + pd.Timedelta(days=90)
        y = (live.churn_date > cutoff) & (live.churn_date <= horizon)
        recent = usage[(usage.month <= cutoff) & (usage.month > cutoff - pd.DateOffset(months=3))]
        before = usage[(usage.month <= cutoff - pd.DateOffset(months=3)) & (usage.month > cutoff - pd.DateOffset(months=6))]
        tk = tickets[(tickets.opened_at <= cutoff) & (tickets.opened_at > cutoff - pd.Timedelta(days=90))]
        nn = nps[(nps.responded_at <= cutoff) & (nps.responded_at > cutoff - pd.Timedelta(days=200))]
        f = pd.DataFrame({
            "churn_next_90d": y,
            "util": recent.groupby("account_id").util.mean(),
            "trend": recent.groupby("account_id").util.mean() - before.groupby("account_id").util.mean(),
            "features": recent.groupby("account_id").key_features_used.mean(),
            "tickets": tk.groupby("account_id").size() / np.log1p(live.seats),
            "sentiment": tk.groupby("account_id").sentiment.mean(),
            "nps": nn.groupby("account_id").score.mean(),
            "logins": recent.groupby("account_id").logins.mean(),
        }).reindex(live.index)
        f["tickets"] = f["tickets"].fillna(0)
        f["sentiment"] = f["sentiment"].fillna(0)
        frames.append(f.fillna(f.median(numeric_only=True)))
    return pd.concat(frames)


def test_sensible_health_score_predicts_churn_and_naive_ones_less():
    f = _backtest_frame()
    z = (f - f.mean()) / f.std()
    health = z.util + 1.5 * z.trend + 0.5 * z.features - 0.5 * z.tickets + 0.5 * z.sentiment + 0.5 * z.nps
    churn = f.churn_next_90d.to_numpy(bool)
    assert churn.sum() >= 100, "too few churn events for a stable backtest"
    auc_health = _auc(-health.to_numpy(), churn)
    auc_logins = _auc(-f.logins.to_numpy(), churn)
    print(f"AUC sensible={auc_health:.3f} naive(logins)={auc_logins:.3f}")
    assert 0.75 <= auc_health <= 0.88
    assert auc_logins <= auc_health - 0.12
