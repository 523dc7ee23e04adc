"""Revenue retention: logo churn, GRR and NRR — the one implementation every module uses.

Two views of the same book of business:

* **Contract view** (``account_churn`` / ``churn_summary``): the ``accounts`` table only. The cohort is every
  account that was a customer on ``start`` (``data.active_mask``); an account counts as churned when its
  ``churn_date`` falls in ``(start, end]``. Revenue is the contracted ``arr_jpy``, so this GRR only sees churn.
  Modules 01 and 05 use it through ``kpi.lagging_indicators`` and ``team.retention``.
* **Movement view** (``arr_on``, ``retention``, ``bridge``): the ``revenue_movements`` table, one row per change
  of an account's ARR (新規・拡大・縮小・解約・価格改定) effective on a day. The usual cohort rules of SaaS reports:

  - the cohort is fixed at the start of the period: accounts with ARR > 0 on ``start``;
    customers won during the period are left out (they belong to the next cohort);
  - ``NRR = Σ ARR_end / Σ ARR_start`` over the cohort (expansion and price increases count);
  - ``GRR = Σ min(ARR_end, ARR_start) / Σ ARR_start``: each account contributes at most what it had,
    so expansion can never hide churn or contraction and GRR is at most 100 %;
  - an account whose ARR is 0 on ``end`` is a churned logo; its whole start ARR is churn, not contraction.

Rates are fractions (0.93 = 93 %). ARR is in yen; MRR is ARR / 12.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass

import pandas as pd

from .data import active_mask, as_date

MOVEMENT_COLUMNS = ("account_id", "effective_date", "movement_type", "arr_change_jpy")
ACCOUNT_COLUMNS = ("account_id", "arr_jpy", "contract_start", "churn_date")


def _window(start, end) -> tuple[pd.Timestamp, pd.Timestamp]:
    t0, t1 = as_date(start, "start"), as_date(end, "end")
    if t1 <= t0:
        raise ValueError(f"期間の終わり ({t1.date()}) が始まり ({t0.date()}) より後になるように指定してください。")
    return t0, t1


def _require(df, columns: tuple[str, ...], what: str, loader: str) -> None:
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"{what} には {loader} で読み込んだ表 (DataFrame) を渡してください。")
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what} の表に必要な列がありません: " + "、".join(missing) + f"。{loader} で読み込んだ表を渡してください。")


# --------------------------------------------------------------------------------------------------
# contract view (accounts table)
# --------------------------------------------------------------------------------------------------
def account_churn(accounts: pd.DataFrame, start, end) -> pd.DataFrame:
    """The cohort (customers on ``start``) with a boolean column ``churned_in_window``: ``churn_date`` in (start, end]."""
    _require(accounts, ACCOUNT_COLUMNS, "accounts", "data.load('accounts')")
    t0, t1 = _window(start, end)
    cohort = accounts.loc[active_mask(accounts, t0).to_numpy()].copy()
    churn = pd.to_datetime(cohort["churn_date"])
    cohort["churned_in_window"] = (churn.notna() & (churn > t0) & (churn <= t1)).to_numpy()
    return cohort


def churn_summary(cohort: pd.DataFrame) -> dict:
    """Logo churn and contract-view GRR of a cohort from ``account_churn`` (or any subset of it)."""
    n = len(cohort)
    lost = cohort["churned_in_window"].to_numpy(bool)
    arr0 = int(cohort["arr_jpy"].sum())
    lost_arr = int(cohort.loc[lost, "arr_jpy"].sum()) if n else 0
    rate = int(lost.sum()) / n if n else float("nan")
    return {"accounts_at_start": n, "churned_accounts": int(lost.sum()), "logo_churn_rate": rate,
            "logo_retention": 1 - rate if n else float("nan"), "arr_at_start": arr0, "churned_arr": lost_arr,
            "grr": (arr0 - lost_arr) / arr0 if arr0 else float("nan")}


# --------------------------------------------------------------------------------------------------
# movement view (revenue_movements table)
# --------------------------------------------------------------------------------------------------
def arr_on(movements: pd.DataFrame, on) -> pd.Series:
    """ARR of each account on day ``on`` (all movements effective on or before it), indexed by account_id.

    Accounts whose first movement is later than ``on`` are absent; churned accounts show 0."""
    _require(movements, MOVEMENT_COLUMNS, "movements", "data.load('revenue_movements')")
    day = as_date(on, "on")
    upto = movements[pd.to_datetime(movements["effective_date"]) <= day]
    return upto.groupby(upto["account_id"].astype(str), sort=True)["arr_change_jpy"].sum().astype("int64")


@dataclass(frozen=True)
class Retention:
    """Cohort retention over ``(start, end]``; ARR in yen, rates as fractions."""
    start: pd.Timestamp
    end: pd.Timestamp
    accounts_at_start: int
    churned_accounts: int
    arr_at_start: int
    arr_at_end: int      # the same cohort's ARR on ``end`` (new customers excluded)
    expansion: int       # per-account increases (upsell, cross-sell, seats, price increases)
    contraction: int     # per-account decreases of accounts still paying on ``end``
    churn: int           # start ARR of accounts at 0 on ``end``

    @property
    def grr(self) -> float:
        return (self.arr_at_start - self.contraction - self.churn) / self.arr_at_start if self.arr_at_start else float("nan")

    @property
    def nrr(self) -> float:
        return self.arr_at_end / self.arr_at_start if self.arr_at_start else float("nan")

    @property
    def logo_churn_rate(self) -> float:
        return self.churned_accounts / self.accounts_at_start if self.accounts_at_start else float("nan")

    def to_dict(self) -> dict:
        out = asdict(self)
        out.update(grr=self.grr, nrr=self.nrr, logo_churn_rate=self.logo_churn_rate)
        return out


def _retention_of(a0: pd.Series, a1: pd.Series, t0, t1) -> Retention:
    delta = a1 - a0
    lost = a1 <= 0
    return Retention(t0, t1, int(len(a0)), int(lost.sum()), int(a0.sum()), int(a1.clip(lower=0).sum()),
                     int(delta.clip(lower=0).sum()), int((-delta).clip(lower=0)[~lost].sum()), int(a0[lost].sum()))


def cohort_arr(movements: pd.DataFrame, start, end) -> pd.DataFrame:
    """Per cohort account: ``arr_start``, ``arr_end`` and the change, split as the cohort rules split it."""
    t0, t1 = _window(start, end)
    a0 = arr_on(movements, t0)
    a0 = a0[a0 > 0]
    a1 = arr_on(movements, t1).reindex(a0.index, fill_value=0)
    out = pd.DataFrame({"arr_start": a0, "arr_end": a1})
    delta = out["arr_end"] - out["arr_start"]
    lost = out["arr_end"] <= 0
    out["expansion"] = delta.clip(lower=0)
    out["contraction"] = (-delta).clip(lower=0).where(~lost, 0)
    out["churn"] = out["arr_start"].where(lost, 0)
    return out


def retention(movements: pd.DataFrame, start, end) -> Retention:
    """GRR, NRR and logo churn of the cohort of ``start`` over ``(start, end]`` (see the module docstring)."""
    t0, t1 = _window(start, end)
    c = cohort_arr(movements, t0, t1)
    return _retention_of(c["arr_start"], c["arr_end"], t0, t1)


def retention_by(movements: pd.DataFrame, start, end, groups: pd.Series) -> pd.DataFrame:
    """``retention`` per group; ``groups`` maps account_id to a label, e.g.
    ``accounts.set_index("account_id")["csm_id"]``. One row per group with GRR and NRR."""
    t0, t1 = _window(start, end)
    c = cohort_arr(movements, t0, t1)
    labels = pd.Series(groups).copy()
    labels.index = labels.index.astype(str)
    key = labels.reindex(c.index)
    if key.isna().any():
        raise ValueError(f"groups にない顧客があります (例: {key.index[key.isna()][0]})。"
                         "accounts.set_index('account_id')['列名'] のように、全顧客の対応表を渡してください。")
    rows = {g: _retention_of(part["arr_start"], part["arr_end"], t0, t1).to_dict()
            for g, part in c.groupby(key.to_numpy(), sort=True)}
    return pd.DataFrame.from_dict(rows, orient="index").drop(columns=["start", "end"])


BRIDGE_ORDER = ("新規", "拡大", "価格改定", "縮小", "解約")


def bridge(movements: pd.DataFrame, start, end) -> pd.Series:
    """The ARR bridge (waterfall) of the whole book over ``(start, end]``: ARR on ``start``, the sum of every
    movement by type (new customers included), and ARR on ``end``. Unlike ``retention`` this is not a cohort."""
    t0, t1 = _window(start, end)
    when = pd.to_datetime(movements["effective_date"])
    inside = movements[(when > t0) & (when <= t1)]
    sums = inside.groupby(inside["movement_type"].astype(str))["arr_change_jpy"].sum()
    out = {"期首ARR": int(arr_on(movements, t0).sum())}
    out.update({k: int(sums.get(k, 0)) for k in BRIDGE_ORDER})
    out["期末ARR"] = int(arr_on(movements, t1).sum())
    return pd.Series(out, dtype="int64")


def monthly_arr(movements: pd.DataFrame, start, end) -> pd.Series:
    """Total ARR at each month end from ``start`` to ``end`` (for a trend plot)."""
    t0, t1 = _window(start, end)
    ends = pd.date_range(t0, t1, freq="ME")
    return pd.Series([int(arr_on(movements, d).sum()) for d in ends], index=ends, name="arr_jpy")
