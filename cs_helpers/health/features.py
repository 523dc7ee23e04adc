"""Features known at a cutoff: level and trend of each component, from data dated on or before it.

The leakage rules are listed in the package docstring and tested in ``tests/test_health_leakage.py``.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np
import pandas as pd

from ..data import active_accounts
from .score import FEATURES, NPS_DAYS, TICKET_DAYS, TOUCH_DAYS, USAGE_MONTHS


def _ts(value) -> pd.Timestamp:
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        raise ValueError(f"カットオフ日「{value}」を日付として読めません。\"2026-03-31\" のように指定してください。") from None
    if pd.isna(ts):
        raise ValueError("カットオフ日が空です。\"2026-03-31\" のように指定してください。")
    return ts.normalize()


def first_incomplete_month(cutoff) -> pd.Timestamp:
    """First day of the first month that has *not* ended by ``cutoff``. Months before it are usable.

    ``2026-03-31`` -> ``2026-04-01`` (March is complete); ``2026-03-15`` -> ``2026-03-01`` (March is not).
    """
    c = _ts(cutoff)
    return (c + pd.Timedelta(days=1)).to_period("M").start_time


def live_accounts(accounts: pd.DataFrame, cutoff) -> pd.DataFrame:
    """Accounts whose contract started on or before ``cutoff`` and that had not churned by then.

    The course's one definition of "a customer on that day" is ``cs_helpers.data.active_accounts``.
    """
    return active_accounts(accounts, _ts(cutoff))


class AccountIndex:
    """Positions of account ids among a set of accounts (e.g. those live at a cutoff), for any table's ids.

    String ids are hashed; categorical ids are matched once per category, and not at all when they share
    the categories of the accounts themselves (see ``prepare``), which makes repeated scoring cheap.
    """

    def __init__(self, ids: pd.Series | pd.Index):
        ids = pd.Series(ids) if isinstance(ids, pd.Index) else ids
        self.index = pd.Index(ids.astype(str).to_numpy(), name="account_id")
        self.dtype = ids.dtype if isinstance(ids.dtype, pd.CategoricalDtype) else None
        if self.dtype is not None:
            self.pos_map = np.full(len(self.dtype.categories), -1, dtype=np.int64)
            codes = ids.cat.codes.to_numpy()
            self.pos_map[codes[codes >= 0]] = np.flatnonzero(codes >= 0)
        self._per_categories: dict[int, np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.index)

    def codes(self, ids: pd.Series, mask: np.ndarray | None = None) -> np.ndarray:
        """Position of each id (of the rows selected by ``mask``); -1 when it is not among the accounts."""
        if isinstance(ids.dtype, pd.CategoricalDtype):
            codes = ids.cat.codes.to_numpy()
            codes = codes if mask is None else codes[mask]
            if self.dtype is not None and (ids.dtype is self.dtype or ids.dtype == self.dtype):
                per_category = self.pos_map
            else:
                key = id(ids.cat.categories)
                if key not in self._per_categories:
                    self._per_categories[key] = self.index.get_indexer(ids.cat.categories.astype(str))
                per_category = self._per_categories[key]
            return np.where(codes >= 0, per_category[np.maximum(codes, 0)], -1)
        values = ids.to_numpy()
        return self.index.get_indexer(values if mask is None else values[mask])


def _account_index(ids) -> AccountIndex:
    return ids if isinstance(ids, AccountIndex) else AccountIndex(ids)


def prepare(tables: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The same tables with every ``account_id`` as one shared categorical (the accounts' ids).

    Scoring at many cutoffs (``backtest_pooled``, ``snapshots``) does this once so that each cutoff avoids
    hashing millions of id strings again. Ids unknown to ``accounts`` become missing (they are never live).
    """
    accounts = tables["accounts"]
    if isinstance(accounts["account_id"].dtype, pd.CategoricalDtype) and all(
            df["account_id"].dtype == accounts["account_id"].dtype for df in tables.values() if "account_id" in df):
        return dict(tables)
    dtype = pd.CategoricalDtype(pd.Index(accounts["account_id"].astype(str).unique()))
    out = {}
    for name, df in tables.items():
        if "account_id" in df:
            df = df.copy(deep=False)
            df["account_id"] = pd.Categorical(df["account_id"].astype(str).to_numpy(), dtype=dtype)
        out[name] = df
    return out


class _Window:
    """Rows of a table whose date lies in a window, read column by column (no copy of the whole frame)."""

    def __init__(self, df: pd.DataFrame, date_col: str, lo, hi, *, ids: AccountIndex, id_col: str = "account_id",
                 closed: str = "right"):
        dates = df[date_col].to_numpy()
        lo, hi = np.datetime64(pd.Timestamp(lo)), np.datetime64(pd.Timestamp(hi))
        self.mask = (dates > lo) & (dates <= hi) if closed == "right" else (dates >= lo) & (dates < hi)
        self.df = df
        self.dates = dates[self.mask]
        self.codes = ids.codes(df[id_col], self.mask)

    def col(self, name: str) -> np.ndarray:
        column = self.df[name]
        if isinstance(column.dtype, np.dtype):  # plain numpy column: select first, then convert
            return column.to_numpy()[self.mask].astype(float)
        return column.to_numpy(dtype=float, na_value=np.nan)[self.mask]

    def split(self, boundary, *, closed: str = "right") -> tuple[np.ndarray, np.ndarray]:
        """Codes of the recent part (after ``boundary``) and of the earlier part; -1 elsewhere."""
        b = np.datetime64(pd.Timestamp(boundary))
        recent = self.dates > b if closed == "right" else self.dates >= b
        return np.where(recent, self.codes, -1), np.where(~recent, self.codes, -1)


def _sum_count(codes: np.ndarray, values: np.ndarray | None, n: int) -> tuple[np.ndarray, np.ndarray]:
    ok = codes >= 0
    c = codes[ok]
    counts = np.bincount(c, minlength=n).astype(float)
    if values is None:
        return counts, counts
    v = np.asarray(values, dtype=float)[ok]
    finite = np.isfinite(v)
    sums = np.bincount(c[finite], weights=v[finite], minlength=n)
    counts = np.bincount(c[finite], minlength=n).astype(float)
    return sums, counts


def _mean(sums: np.ndarray, counts: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(counts > 0, sums / np.where(counts > 0, counts, 1), np.nan)



def monthly_level_trend(rows: pd.DataFrame, ids: pd.Index | AccountIndex, cutoff, values: Mapping[str, object], *,
                        date_col: str = "month", id_col: str = "account_id",
                        months: int = USAGE_MONTHS) -> dict[str, np.ndarray]:
    """Level and trend of monthly signals for the accounts ``ids``, using complete months up to ``cutoff``.

    ``values`` maps a name to a column of ``rows`` or to a ``(numerator, denominator)`` pair of columns
    (a ratio per row; a denominator <= 0 gives a missing value). Only rows inside the window are read. Level = mean over the last ``months``
    complete months; trend = (level - mean over the ``months`` before) / ``months`` (change per month).
    Returns ``{name}_level`` and ``{name}_trend`` arrays aligned with ``ids`` plus ``months_observed``.
    """
    c = _ts(cutoff)
    ids = _account_index(ids)
    n = len(ids)
    m_end = first_incomplete_month(c)
    m_recent = m_end - pd.DateOffset(months=months)
    m_prev = m_end - pd.DateOffset(months=2 * months)
    w = _Window(rows, date_col, m_prev, m_end, ids=ids, id_col=id_col, closed="left")
    rc, pc = w.split(m_recent, closed="left")
    out: dict[str, np.ndarray] = {"months_observed": np.bincount(rc[rc >= 0], minlength=n)}
    cache: dict[str, np.ndarray] = {}

    def column(name: str) -> np.ndarray:
        if name not in cache:
            cache[name] = w.col(name)
        return cache[name]

    for name, how in values.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            if isinstance(how, tuple):
                denominator = column(how[1])
                v = column(how[0]) / np.where(denominator > 0, denominator, np.nan)
            else:
                v = column(how)
        level = _mean(*_sum_count(rc, v, n))
        out[f"{name}_level"] = level
        out[f"{name}_trend"] = (level - _mean(*_sum_count(pc, v, n))) / months
    return out


def data_end(tables: Mapping[str, pd.DataFrame]) -> pd.Timestamp:
    """Last day the data covers (latest complete usage month, ticket, NPS answer or meeting)."""
    ends = []
    usage = tables.get("usage_monthly")
    if usage is not None and len(usage):
        ends.append(usage["month"].max() + pd.offsets.MonthEnd(0))
    for name, col in (("tickets", "opened_at"), ("nps", "responded_at"), ("meetings", "date")):
        t = tables.get(name)
        if t is not None and len(t):
            ends.append(t[col].max())
    if not ends:
        raise ValueError("利用状況のデータがありません。usage_monthly を含めてください。")
    return pd.Timestamp(max(ends)).normalize()


def features_at(tables: Mapping[str, pd.DataFrame], cutoff) -> pd.DataFrame:
    """Level and trend of every component for each account live at ``cutoff``, using data <= cutoff only.

    ``tables`` holds at least ``accounts`` and ``usage_monthly`` (as from ``cs_helpers.data.load_all()``);
    ``tickets``, ``nps`` and ``meetings`` are optional (their components are then missing, i.e. neutral).

    Levels: utilisation, engagement and adoption are means over the last 3 complete months; support is
    tickets per month per log(1 + seats) over 90 days; sentiment is the mean ticket sentiment over 90 days;
    NPS is the mean answer over 200 days. Trends are "change per month": (recent window - the window
    before it) / months between them. Also returned: ``logins`` (raw monthly logins, the naive signal),
    ``touch_minutes`` / ``touch_meetings`` (CSM meetings in 90 days), ``tenure_days`` and account facts.
    """
    c = _ts(cutoff)
    accounts = tables["accounts"]
    live = live_accounts(accounts, c)
    if live.empty:
        raise ValueError(f"カットオフ {c.date()} の時点で契約中の顧客がいません。データの期間内の日付を指定してください。")
    accounts_at = AccountIndex(live["account_id"])
    ids = accounts_at.index
    n = len(ids)
    seats = live["seats"].to_numpy(dtype=float)
    out: dict[str, np.ndarray] = {}

    # usage: last 3 complete months vs the 3 before -----------------------------------------------
    lt = monthly_level_trend(tables["usage_monthly"], accounts_at, c, {
        "utilisation": ("active_users", "seats"),
        "engagement": ("logins", "seats"),
        "adoption": "key_features_used",
        "logins": "logins",
    }, date_col="month")
    months_recent = lt.pop("months_observed")
    out["logins"] = lt.pop("logins_level")
    lt.pop("logins_trend")
    out.update(lt)

    # tickets: 90 days vs the 90 days before ---------------------------------------------------------
    log_seats = np.log1p(np.where(seats > 0, seats, np.nan))
    tickets = tables.get("tickets")
    if tickets is not None:
        w = _Window(tickets, "opened_at", c - pd.Timedelta(days=2 * TICKET_DAYS), c, ids=accounts_at)
        rc, pc = w.split(c - pd.Timedelta(days=TICKET_DAYS))
        per_month = TICKET_DAYS / 30.4375
        n_recent = np.bincount(rc[rc >= 0], minlength=n) / per_month / log_seats
        n_before = np.bincount(pc[pc >= 0], minlength=n) / per_month / log_seats
        out["support_level"] = n_recent
        out["support_trend"] = (n_recent - n_before) / per_month
        sent = w.col("sentiment")
        s_recent = _mean(*_sum_count(rc, sent, n))
        out["sentiment_level"] = s_recent
        out["sentiment_trend"] = (s_recent - _mean(*_sum_count(pc, sent, n))) / per_month
    else:
        for f in ("support_level", "support_trend", "sentiment_level", "sentiment_trend"):
            out[f] = np.full(n, np.nan)

    # NPS: 200 days vs the 200 days before -------------------------------------------------------------
    nps = tables.get("nps")
    if nps is not None:
        w = _Window(nps, "responded_at", c - pd.Timedelta(days=2 * NPS_DAYS), c, ids=accounts_at)
        rc, pc = w.split(c - pd.Timedelta(days=NPS_DAYS))
        answers = w.col("score")
        level = _mean(*_sum_count(rc, answers, n))
        out["nps_level"] = level
        out["nps_trend"] = (level - _mean(*_sum_count(pc, answers, n))) / (NPS_DAYS / 30.4375)
    else:
        out["nps_level"] = out["nps_trend"] = np.full(n, np.nan)

    # touch: CSM meetings in the last 90 days --------------------------------------------------------
    meetings = tables.get("meetings")
    if meetings is not None:
        w = _Window(meetings, "date", c - pd.Timedelta(days=TOUCH_DAYS), c, ids=accounts_at)
        out["touch_minutes"], out["touch_meetings"] = _sum_count(w.codes, w.col("duration_min"), n)
    else:
        out["touch_minutes"] = out["touch_meetings"] = np.full(n, np.nan)

    frame = pd.DataFrame({f: out[f] for f in FEATURES}, index=ids)
    frame["logins"] = out["logins"]
    frame["months_observed"] = months_recent
    frame["touch_minutes"] = out["touch_minutes"]
    frame["touch_meetings"] = out["touch_meetings"]
    touch = pd.Series(out["touch_minutes"], index=ids)
    frame["touch_score"] = (touch.rank(pct=True, method="average") * 100).round(1).to_numpy()
    frame["tenure_days"] = (c - live["contract_start"]).dt.days.to_numpy()
    for col in ("company_name", "csm_name", "touch_model", "plan", "arr_jpy", "seats"):
        if col in live:
            frame[col] = live[col].to_numpy()
    frame.insert(0, "cutoff", c)
    return frame
