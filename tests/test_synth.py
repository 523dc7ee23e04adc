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


@pytest.fixture(scope="module")
def lifecycle() -> dict[str, pd.DataFrame]:
    return data.load_all()


def test_lifecycle_tables_follow_the_churn_story(lifecycle):
    """ARR movements, contracts and contact changes agree with accounts.csv and with each other."""
    acc = lifecycle["accounts"].set_index("account_id")
    mov, con, chg = lifecycle["revenue_movements"], lifecycle["contracts"].set_index("account_id"), lifecycle["contact_changes"]
    # every account starts with one "new" movement on its contract start; the running sum is arr_after_jpy
    new = mov[mov.movement_type == "新規"].set_index("account_id")
    assert len(new) == len(acc) and (new.effective_date == acc.contract_start.reindex(new.index)).all()
    run = mov.groupby("account_id")["arr_change_jpy"].cumsum()
    assert (run == mov["arr_after_jpy"]).all() and (mov["arr_after_jpy"] >= 0).all()
    last = mov.groupby("account_id")["arr_after_jpy"].last()
    assert (last == acc["arr_jpy"].where(~acc["churned"], 0).reindex(last.index)).all()
    churn = mov[mov.movement_type == "解約"].set_index("account_id")
    assert set(churn.index) == set(acc.index[acc.churned])
    assert (churn.effective_date == acc.churn_date.reindex(churn.index)).all()
    # contraction and price changes happen at a renewal anniversary only, never inside a multi-year term
    at_renewal = mov[mov.movement_type.isin(["縮小", "価格改定"])]
    start = acc.contract_start.reindex(at_renewal.account_id).to_numpy()
    for when, began in zip(at_renewal.effective_date, start):
        began = pd.Timestamp(began)
        assert any(when == began + pd.DateOffset(years=k) for k in range(1, 10)), (when, began)
    assert (at_renewal.effective_date.to_numpy() <= con.term_start.reindex(at_renewal.account_id).to_numpy()).all()
    assert (at_renewal[at_renewal.movement_type == "価格改定"].effective_date >= synth.PRICE_REVISION_FROM).all()
    # contracts: the term ends on the renewal date; written notice came before the deadline, churners only
    assert (con.term_end == acc.renewal_date.reindex(con.index)).all()
    assert ((con.term_end - con.term_start).dt.days.between(con.term_months * 28, con.term_months * 31 + 3)).all()
    noticed = con.cancel_notice_on.notna()
    assert set(con.index[noticed]) == set(acc.index[acc.churned])
    assert (con.cancel_notice_on[noticed] <= con.term_end[noticed] - pd.to_timedelta(con.notice_days[noticed], "D")).all()
    assert 0.5 <= (con.fiscal_year_end_month == 3).mean() <= 0.75 and 0.7 <= con.auto_renew.mean() <= 0.9
    # contact changes: mostly on 1 April; losing the champion goes with churn; CSMs never learn before it happens
    assert (chg.changed_on.dt.strftime("%m-%d") == "04-01").mean() >= 0.5
    assert (chg.csm_learned_on >= chg.changed_on).all()
    champions = set(lifecycle["contacts"].loc[lifecycle["contacts"].is_champion, "contact_id"])
    lost = acc.index.isin(chg.loc[chg.contact_id.isin(champions), "account_id"])
    assert acc.churned[lost].mean() >= acc.churned[~lost].mean() + 0.3


def test_expansion_follows_seat_utilisation(lifecycle):
    """Seats are added after months of high utilisation, almost never after low utilisation."""
    usage = lifecycle["usage_monthly"].assign(util=lambda u: u.active_users / u.seats)
    adds = lifecycle["revenue_movements"].query("reason == 'ライセンス追加'")
    following = set(zip(adds.account_id, adds.month))
    usage["added_next_month"] = [(a, m + pd.DateOffset(months=1)) in following
                                 for a, m in zip(usage.account_id, usage.month)]
    high = usage.loc[usage.util >= 0.85, "added_next_month"].mean()
    low = usage.loc[usage.util < 0.65, "added_next_month"].mean()
    assert high >= 0.04 and low <= 0.01 and high >= 10 * low


def test_data_cli_prints_its_own_help_and_one_line_errors(tmp_path: Path):
    """`cs-dojo data` shows the data group's help; an unwritable --out is one Japanese line, exit 1, no traceback."""
    import subprocess
    import sys

    run = lambda *a: subprocess.run([sys.executable, "-m", "cs_helpers.cli", *a], capture_output=True, text=True)  # noqa: E731
    group = run("data")
    assert group.returncode == 2 and "usage: cs-dojo data" in group.stdout and "regenerate" in group.stdout
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder", encoding="utf-8")
    bad = run("data", "regenerate", "--out", str(blocker / "out"))
    assert bad.returncode == 1 and "Traceback" not in bad.stderr
    lines = [line for line in bad.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "書き込めません" in lines[0] and "--out" in lines[0]
