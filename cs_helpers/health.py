"""Customer health score: build it, validate it against churn without leakage, and act on it.

The pipeline, one row per account that is live at a cutoff date (all steps vectorised pandas/numpy)::

    feats = features_at(tables, "2026-03-31")     # level and trend of each component, data <= cutoff only
    scored = score(feats)                          # z-normalised components -> weighted score 0-100 -> band
    bt = backtest(tables, "2026-03-31")            # the same, joined with churn in (cutoff, cutoff + 90 days]
    bt.auc, bt.naive_auc, bt.bands                 # rank AUC, naive comparison, churn rate and lift per band
    call_list(bt.frame, capacity=20)               # who to call this week, with a playbook
    backtest_pooled(tables, quarter_ends(...))      # many cutoffs pooled; rescore(...) tries other weights
    lead_times(snapshots(tables, start, end), accounts)   # days between turning red and churning

What is "known at the cutoff" (the leakage rules, tested in ``tests/test_health_leakage.py``):

* a usage row for month ``m`` is used only if the month has ended by the cutoff (``m``'s last day <= cutoff);
* tickets, NPS answers and meetings are used only if dated on or before the cutoff;
* from ``accounts`` only static facts are used (seats, ARR, CSM, contract start); ``churned``,
  ``churn_date`` and ``renewal_date`` are never features. An account is live at the cutoff when its contract
  started on or before the cutoff and it has not churned by then.
* normalisation (means and standard deviations) is fitted on the accounts at the same cutoff, or on a
  reference ``Scale`` fitted earlier, never on later data.

Score scale: the weighted sum of oriented z-scores is re-standardised like a 偏差値 (mean 50, sd 10 among the
accounts at the cutoff) and clipped to 0-100, so 40 means "one standard deviation less healthy than the
average account". Bands: ``赤`` below 40, ``黄`` below 50, ``緑`` otherwise (English names accepted).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

# --------------------------------------------------------------------------------------------------
# components, weights, bands
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Component:
    key: str
    ja: str
    en: str
    direction: int  # +1: higher is healthier; -1: higher is riskier (flipped when normalising)


COMPONENTS: dict[str, Component] = {c.key: c for c in [
    Component("utilisation", "ライセンス利用率", "seat utilisation (active users / seats)", +1),
    Component("engagement", "ログイン頻度", "logins per seat per month", +1),
    Component("adoption", "主要機能の活用", "key features used (of 8)", +1),
    Component("support", "問い合わせ負荷", "tickets per month per log(1 + seats); fewer is healthier", -1),
    Component("sentiment", "問い合わせの温度感", "mean sentiment of ticket text (-1..1)", +1),
    Component("nps", "NPS回答", "mean NPS answer (0-10)", +1),
]}
ASPECTS = ("level", "trend")
ASPECT_JA = {"level": "水準", "trend": "傾き"}
FEATURES: tuple[str, ...] = tuple(f"{c}_{a}" for c in COMPONENTS for a in ASPECTS)

#: Default weights per feature (missing keys weigh 0). Trend of utilisation weighs most: a falling account
#: is a better churn signal than a low one (low can mean "still onboarding" or "small team").
DEFAULT_WEIGHTS: dict[str, float] = {
    "utilisation_level": 1.0,
    "utilisation_trend": 1.5,
    "adoption_level": 0.5,
    "support_level": 0.5,
    "sentiment_level": 0.5,
    "nps_level": 0.5,
}
#: ``赤`` when score < 40, ``黄`` when score < 50, ``緑`` otherwise.
DEFAULT_THRESHOLDS: dict[str, float] = {"赤": 40.0, "黄": 50.0}
BANDS: tuple[str, ...] = ("赤", "黄", "緑")
BANDS_EN = {"赤": "red", "黄": "yellow", "緑": "green"}
_BAND_ALIASES = {"赤": "赤", "red": "赤", "r": "赤", "黄": "黄", "黄色": "黄", "yellow": "黄", "y": "黄",
                 "緑": "緑", "green": "緑", "g": "緑"}

USAGE_MONTHS = 3        # level = mean of the last 3 complete months; trend compares with the 3 before
TICKET_DAYS = 90        # support and sentiment windows
NPS_DAYS = 200          # NPS is surveyed twice a year: 200 days always covers the latest wave
TOUCH_DAYS = 90         # touch (meetings) window

#: What to do when an account is flagged, by the component that pulls its score down the most.
PLAYBOOKS: dict[str, tuple[str, str]] = {
    "utilisation": ("利用定着プレイブック", "使われていない席がどの部署か確認し、現場の利用者に困りごとを聞く"),
    "engagement": ("利用定着プレイブック", "ログインが減った部署の責任者と、業務のどこで使うかを決め直す"),
    "adoption": ("機能活用プレイブック", "導入目的に効く主要機能のうち未活用のものを1つ選び、短い勉強会を提案する"),
    "support": ("サポート連携プレイブック", "未解決の問い合わせをサポート担当と洗い出し、解決の見通しを顧客に伝える"),
    "sentiment": ("関係修復プレイブック", "不満の出ている問い合わせの当事者に連絡し、経緯の説明と再発防止策を伝える"),
    "nps": ("経営層レビュー・プレイブック", "決裁者との面談を設定し、導入目的に対する成果を一緒に振り返る"),
}


def feature_label(feature: str) -> str:
    """Japanese label of a feature column, e.g. ``utilisation_trend`` -> ``ライセンス利用率（傾き）``."""
    comp, _, aspect = feature.rpartition("_")
    if comp in COMPONENTS and aspect in ASPECT_JA:
        return f"{COMPONENTS[comp].ja}（{ASPECT_JA[aspect]}）"
    return feature


def band_key(label: str) -> str:
    """Canonical Japanese band name for ``赤/黄/緑`` or ``red/yellow/green`` (any case)."""
    key = _BAND_ALIASES.get(str(label).strip().lower())
    if key is None:
        raise ValueError(f"帯「{label}」は使えません。赤・黄・緑 (または red / yellow / green) で指定してください。")
    return key


def canonical_bands(values) -> np.ndarray:
    """Band names mapped to ``赤/黄/緑`` (vectorised: each distinct value is checked once; missing stays None)."""
    codes, uniques = pd.factorize(pd.Series(values), use_na_sentinel=True)
    names = np.array([band_key(u) for u in uniques] + [None], dtype=object)
    return names[np.where(codes >= 0, codes, len(uniques))]


def _thresholds(thresholds: Mapping[str, float] | Sequence[float] | None) -> tuple[float, float]:
    if thresholds is None:
        thresholds = DEFAULT_THRESHOLDS
    if isinstance(thresholds, Mapping):
        t = {band_key(k): float(v) for k, v in thresholds.items()}
        if set(t) != {"赤", "黄"}:
            raise ValueError("しきい値は赤と黄の2つを指定してください。例: {\"赤\": 40, \"黄\": 50} "
                             "(赤 = 40点未満、黄 = 50点未満、それ以上は緑)")
        red, yellow = t["赤"], t["黄"]
    else:
        red, yellow = (float(x) for x in thresholds)
    if not red <= yellow:
        raise ValueError(f"赤のしきい値 ({red}) は黄のしきい値 ({yellow}) 以下にしてください。")
    return red, yellow


def bands(scores: pd.Series | np.ndarray, thresholds: Mapping[str, float] | Sequence[float] | None = None,
          *, labels: str = "ja") -> pd.Series:
    """Band of each score: ``赤`` below the red threshold, ``黄`` below the yellow one, else ``緑``.

    ``labels="en"`` returns ``red/yellow/green``. The result is an ordered categorical (赤 < 黄 < 緑).
    """
    red, yellow = _thresholds(thresholds)
    s = pd.Series(scores) if not isinstance(scores, pd.Series) else scores
    values = s.to_numpy(dtype=float)
    code = np.where(values < red, 0, np.where(values < yellow, 1, 2))
    names = list(BANDS) if labels == "ja" else [BANDS_EN[b] for b in BANDS]
    out = pd.Categorical.from_codes(np.where(np.isnan(values), -1, code), categories=names, ordered=True)
    return pd.Series(out, index=s.index, name="band")


def _weights(weights: Mapping[str, float] | None) -> dict[str, float]:
    w = dict(DEFAULT_WEIGHTS if weights is None else weights)
    unknown = [k for k in w if k not in FEATURES]
    if unknown:
        raise ValueError(f"重みの項目「{unknown[0]}」はありません。使える項目: " + "、".join(FEATURES))
    bad = [k for k, v in w.items() if not np.isfinite(float(v)) or float(v) < 0]
    if bad:
        raise ValueError(f"重み「{bad[0]}」は0以上の数にしてください (向きは自動でそろえます。問い合わせは少ないほど健全)。")
    if not any(float(v) > 0 for v in w.values()):
        raise ValueError("重みがすべて0です。少なくとも1つの項目に正の重みをつけてください。")
    return {k: float(v) for k, v in w.items() if float(v) > 0}


# --------------------------------------------------------------------------------------------------
# features at a cutoff (leakage-free)
# --------------------------------------------------------------------------------------------------


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
    """Accounts whose contract started on or before ``cutoff`` and that had not churned by then."""
    c = _ts(cutoff)
    churn = accounts["churn_date"] if "churn_date" in accounts else pd.Series(pd.NaT, index=accounts.index)
    mask = (accounts["contract_start"] <= c) & (churn.isna() | (churn > c))
    return accounts.loc[mask.to_numpy()]


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


# --------------------------------------------------------------------------------------------------
# normalisation and score
# --------------------------------------------------------------------------------------------------


@dataclass
class Scale:
    """Means and standard deviations used to normalise features, and those of the composite score.

    Fit it on the accounts at one cutoff (``fit_scale``) and reuse it elsewhere to keep scores comparable
    over time; by default ``score`` fits a fresh scale on the accounts it scores (same cutoff, no leakage).
    """
    mean: pd.Series
    std: pd.Series
    weights: dict[str, float]
    composite_mean: float
    composite_std: float
    clip: float = 3.0


def _oriented(features: pd.DataFrame, cols: Sequence[str]) -> np.ndarray:
    """Feature matrix (rows = accounts) with "fewer is healthier" columns sign-flipped."""
    missing = [c for c in cols if c not in features]
    if missing:
        raise ValueError(f"特徴量「{missing[0]}」がありません。features_at() の結果を渡してください。")
    out = np.empty((len(features), len(cols)))
    for j, col in enumerate(cols):
        comp = col.rpartition("_")[0]
        sign = COMPONENTS[comp].direction if comp in COMPONENTS else 1
        out[:, j] = features[col].to_numpy(dtype=float, na_value=np.nan) * sign
    return out


def _moments(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with np.errstate(invalid="ignore", divide="ignore"):
        finite = np.isfinite(x)
        n = finite.sum(axis=0)
        total = np.where(finite, x, 0.0).sum(axis=0)
        mean = np.where(n > 0, total / np.maximum(n, 1), np.nan)
        var = np.where(finite, (x - mean) ** 2, 0.0).sum(axis=0) / np.maximum(n, 1)
    return mean, np.where(n > 0, np.sqrt(var), np.nan)


def normalise(features: pd.DataFrame, mean: pd.Series | None = None, std: pd.Series | None = None,
              *, clip: float = 3.0, columns: Iterable[str] = FEATURES) -> pd.DataFrame:
    """Oriented z-scores (higher = healthier) clipped to +-``clip``; missing values become 0 (neutral).

    ``mean``/``std`` (per column, on the oriented scale) default to those of ``features`` itself.
    """
    cols = list(columns)
    x = _oriented(features, cols)
    m, sd = _moments(x)
    if mean is not None:
        m = mean.reindex(cols).to_numpy(dtype=float)
    if std is not None:
        sd = std.reindex(cols).to_numpy(dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = np.clip((x - m) / np.where(sd > 0, sd, np.nan), -clip, clip)
    return pd.DataFrame(np.nan_to_num(z, nan=0.0), index=features.index, columns=cols)


def _composite(z: pd.DataFrame, weights: dict[str, float]) -> np.ndarray:
    total = sum(weights.values())
    arr = np.zeros(len(z))
    for k, v in weights.items():
        arr += v * z[k].to_numpy()
    return arr / total


def fit_scale(features: pd.DataFrame, weights: Mapping[str, float] | None = None, *, clip: float = 3.0) -> Scale:
    """Fit normalisation on ``features`` (one cutoff) so that other cutoffs can be scored on the same scale."""
    w = _weights(weights)
    mean, std = _moments(_oriented(features, FEATURES))
    mean, std = pd.Series(mean, index=list(FEATURES)), pd.Series(std, index=list(FEATURES))
    comp = _composite(normalise(features, mean, std, clip=clip), w)
    return Scale(mean, std, w, float(np.mean(comp)), float(np.std(comp)), clip)


def contributions(features: pd.DataFrame, weights: Mapping[str, float] | None = None,
                  scale: Scale | None = None) -> pd.DataFrame:
    """Each component's share of the composite (weight x z / sum of weights), one column per component.

    Negative values pull the score down. Heavily weighted components dominate here; to see what is
    *unusual* about an account (the basis of its driver), use ``component_scores``.
    """
    w = _weights(weights) if scale is None else scale.weights
    z = normalise(features) if scale is None else normalise(features, scale.mean, scale.std, clip=scale.clip)
    total = sum(w.values())
    out = pd.DataFrame(0.0, index=features.index, columns=list(COMPONENTS))
    for k, v in w.items():
        out[k.rpartition("_")[0]] += v * z[k] / total
    return out


def _component_z(z: pd.DataFrame, w: dict[str, float]) -> pd.DataFrame:
    keys = [k for k in COMPONENTS if any(f.rpartition("_")[0] == k for f in w)]
    data = {}
    for k in keys:
        parts = {f: v for f, v in w.items() if f.rpartition("_")[0] == k}
        data[k] = sum(v * z[f].to_numpy() for f, v in parts.items()) / sum(parts.values())
    return pd.DataFrame(data, index=z.index)


def component_scores(features: pd.DataFrame, weights: Mapping[str, float] | None = None,
                     scale: Scale | None = None) -> pd.DataFrame:
    """Each weighted component's own standardised value (weight-averaged over its level and trend).

    0 is the average account, -1 one standard deviation less healthy. The lowest one is the account's
    main *driver*: what is most out of line for this account, whatever its weight in the score.
    """
    w = _weights(weights) if scale is None else scale.weights
    z = normalise(features) if scale is None else normalise(features, scale.mean, scale.std, clip=scale.clip)
    return _component_z(z, w)


def score(features: pd.DataFrame, weights: Mapping[str, float] | None = None,
          thresholds: Mapping[str, float] | Sequence[float] | None = None, *, scale: Scale | None = None,
          by: str | None = "cutoff") -> pd.DataFrame:
    """Score 0-100 (偏差値 scale: mean 50, sd 10), band and main driver for every account in ``features``.

    Normalisation is fitted per value of ``by`` (each cutoff separately) unless a fitted ``scale`` is given.
    Returns a copy of ``features`` with ``score``, ``band``, ``driver`` (component pulling the score down
    most), ``driver_ja`` and ``naive_score`` (raw logins on the same 0-100 scale) added.
    """
    if features.empty:
        raise ValueError("採点する顧客が0社です。")
    w = _weights(weights) if scale is None else scale.weights
    if scale is None and by is not None and by in features and features[by].nunique() > 1:
        parts = [score(g, w, thresholds, by=None) for _, g in features.groupby(by, sort=False)]
        return pd.concat(parts).loc[features.index] if features.index.is_unique else pd.concat(parts)
    if scale is None:  # fit on these accounts: one pass instead of fit_scale + normalise
        z = normalise(features)
        composite = _composite(z, w)
        scale = Scale(pd.Series(dtype=float), pd.Series(dtype=float), w, float(np.mean(composite)),
                      float(np.std(composite)))
    else:
        z = normalise(features, scale.mean, scale.std, clip=scale.clip)
        composite = _composite(z, w)
    sd = scale.composite_std if scale.composite_std > 0 else 1.0
    out = features.copy()
    out["score"] = np.clip(50 + 10 * (composite - scale.composite_mean) / sd, 0, 100).round(1)
    out["band"] = bands(out["score"], thresholds)
    # driver: the weighted component whose own (weight-averaged) z-score is lowest, i.e. what is most
    # unusual about this account, so that the playbook addresses it.
    comp_z = _component_z(z, w)
    keys = np.array(comp_z.columns)
    worst = comp_z.to_numpy().argmin(axis=1)
    out["driver"] = keys[worst]
    out["driver_ja"] = np.array([COMPONENTS[k].ja for k in keys])[worst]
    logins = features["logins"].to_numpy(dtype=float) if "logins" in features else np.full(len(features), np.nan)
    mu, sigma = np.nanmean(logins) if np.isfinite(logins).any() else 0.0, np.nanstd(logins)
    out["naive_score"] = np.clip(50 + 10 * (logins - mu) / (sigma if sigma > 0 else 1.0), 0, 100).round(1)
    return out


def weighted_score(frame: pd.DataFrame, weights: Mapping[str, float],
                   thresholds: Mapping[str, float] | Sequence[float] | None = None, *,
                   clip: float = 3.0) -> pd.DataFrame:
    """Generic score for any numeric columns (e.g. your own data): signed weights, no built-in orientation.

    A positive weight means "higher is healthier", a negative one "higher is riskier". Each column is
    z-normalised on ``frame`` (missing = 0), clipped to +-``clip``; the weighted mean is put on the 0-100
    偏差値 scale and banded. Returns a copy of ``frame`` with ``score`` and ``band``.
    """
    if not weights:
        raise ValueError("重みを1つ以上指定してください。例: {\"tenure\": 1.0, \"MonthlyCharges\": -0.5}")
    missing = [k for k in weights if k not in frame]
    if missing:
        raise ValueError(f"重みの項目「{missing[0]}」が表にありません。使える列: " + "、".join(map(str, frame.columns)))
    total = sum(abs(float(v)) for v in weights.values())
    if total == 0:
        raise ValueError("重みがすべて0です。少なくとも1つの項目に0以外の重みをつけてください。")
    composite = np.zeros(len(frame))
    for k, v in weights.items():
        x = pd.to_numeric(frame[k], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
        sd = np.nanstd(x) if np.isfinite(x).any() else 0.0
        z = (x - np.nanmean(x)) / sd if sd > 0 else np.zeros(len(x))
        composite += float(v) * np.nan_to_num(np.clip(z, -clip, clip), nan=0.0)
    composite /= total
    sd = composite.std()
    out = frame.copy()
    out["score"] = np.clip(50 + 10 * (composite - composite.mean()) / (sd if sd > 0 else 1.0), 0, 100).round(1)
    out["band"] = bands(out["score"], thresholds)
    return out


# --------------------------------------------------------------------------------------------------
# validation metrics
# --------------------------------------------------------------------------------------------------


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


# --------------------------------------------------------------------------------------------------
# backtest
# --------------------------------------------------------------------------------------------------


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
            (f"AUC (素朴なスコア: {self.naive_label})", round(self.naive_auc, 3)),
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


# --------------------------------------------------------------------------------------------------
# touch vs risk, capacity, call list, playbook triggers
# --------------------------------------------------------------------------------------------------


def attention_table(frame: pd.DataFrame, *, band: str = "band") -> pd.DataFrame:
    """Where CSM attention goes vs where the risk is: per band, accounts, meeting minutes (90 days),
    share of all minutes, minutes per account and, if ``churned`` is present, the share of churners."""
    b = pd.Categorical(canonical_bands(frame[band]), categories=list(BANDS), ordered=True)
    g = pd.DataFrame({"band": b, "minutes": frame["touch_minutes"].to_numpy(dtype=float)})
    if "churned" in frame:
        g["churned"] = _labels(frame["churned"]).astype(float)
    agg = g.groupby("band", observed=False).agg(accounts=("minutes", "size"), touch_minutes=("minutes", "sum"))
    agg["share_of_accounts"] = agg["accounts"] / max(agg["accounts"].sum(), 1)
    agg["share_of_touch"] = agg["touch_minutes"] / max(agg["touch_minutes"].sum(), 1)
    agg["minutes_per_account"] = agg["touch_minutes"] / agg["accounts"].where(agg["accounts"] > 0)
    if "churned" in g:
        churned = g.groupby("band", observed=False)["churned"].sum()
        agg["share_of_churn"] = churned / max(churned.sum(), 1)
    agg.index = pd.Index(list(BANDS), name="band")
    return agg


def _risk_order(frame: pd.DataFrame) -> pd.DataFrame:
    """Riskiest first: lowest score, then larger ARR (more revenue at stake), then account id."""
    keys = pd.DataFrame({"score": frame["score"].to_numpy(dtype=float),
                         "arr": -frame["arr_jpy"].to_numpy(dtype=float) if "arr_jpy" in frame else 0.0,
                         "id": frame.index.astype(str) if "account_id" not in frame else frame["account_id"].astype(str)})
    order = keys.sort_values(["score", "arr", "id"], kind="stable").index.to_numpy()
    return frame.iloc[order]


def call_list(frame: pd.DataFrame, capacity: int = 20, *, bands_to_call: Iterable[str] = ("赤",)) -> pd.DataFrame:
    """The accounts to call this week when the team can make ``capacity`` calls.

    Takes accounts in ``bands_to_call`` (default: red), riskiest first (lowest score; ties: larger ARR first,
    then account id), at most ``capacity`` of them, and attaches the playbook for each account's driver.
    """
    if int(capacity) < 0:
        raise ValueError("対応できる件数 (capacity) は0以上にしてください。")
    wanted = {band_key(b) for b in bands_to_call}
    pool = frame[np.isin(canonical_bands(frame["band"]), list(wanted))]
    chosen = _risk_order(pool).head(int(capacity))
    cols = [c for c in ("company_name", "csm_name", "arr_jpy", "score", "band", "driver_ja") if c in chosen]
    out = chosen[cols].copy()
    drivers = chosen["driver"] if "driver" in chosen else pd.Series("utilisation", index=chosen.index)
    out["playbook"] = [PLAYBOOKS[d][0] for d in drivers]
    out["first_action"] = [PLAYBOOKS[d][1] for d in drivers]
    out.insert(0, "priority", np.arange(1, len(out) + 1))
    return out


def capacity_threshold(scores, capacity: int) -> float:
    """The score of the ``capacity``-th riskiest account: with this capacity, you can reach accounts scoring
    at or below it. If there are fewer accounts than the capacity, the highest score."""
    s = np.sort(np.asarray(scores, dtype=float)[np.isfinite(np.asarray(scores, dtype=float))])
    if len(s) == 0 or int(capacity) <= 0:
        raise ValueError("スコアが1件以上、対応できる件数が1件以上必要です。")
    return float(s[min(int(capacity), len(s)) - 1])


def capacity_table(frame: pd.DataFrame, capacities: Iterable[int] = (10, 20, 40, 80, 160), *,
                   label: str = "churned") -> pd.DataFrame:
    """If we could reach only the k riskiest accounts: score cut, precision, recall and lift, for each k."""
    ordered = _risk_order(frame)
    y = _labels(ordered[label])
    base = y.mean()
    rows = []
    for k in capacities:
        k = min(int(k), len(ordered))
        hit = int(y[:k].sum())
        precision = hit / k if k else float("nan")
        rows.append({"capacity": k, "score_cut": float(ordered["score"].iloc[k - 1]) if k else float("nan"),
                     "churned_reached": hit, "precision": precision,
                     "recall": hit / y.sum() if y.sum() else float("nan"),
                     "lift": precision / base if base > 0 else float("nan")})
    return pd.DataFrame(rows).set_index("capacity")


def playbook_triggers(previous: pd.DataFrame, current: pd.DataFrame, *, drop: float = 10.0) -> pd.DataFrame:
    """Accounts that need a playbook now: newly red since the previous snapshot, or a score drop of at least
    ``drop`` points. Both frames come from ``score`` (indexed by account_id)."""
    prev = previous[["score", "band"]].rename(columns={"score": "score_before", "band": "band_before"})
    cur = current.join(prev, how="left")
    now_red = canonical_bands(cur["band"]) == "赤"
    was_red = cur["band_before"].astype(str).map(lambda b: b in ("赤", "red")).to_numpy()
    fell = (cur["score_before"] - cur["score"]).to_numpy(dtype=float) >= drop
    newly_red = now_red & ~was_red & cur["band_before"].notna().to_numpy()
    fire = newly_red | fell
    out = cur.loc[fire, [c for c in ("company_name", "csm_name", "score_before", "score", "band", "driver_ja")
                         if c in cur]].copy()
    out["reason"] = np.where(newly_red[fire], "赤に転落", f"{drop:g}点以上の低下")
    drivers = cur.loc[fire, "driver"]
    out["playbook"] = [PLAYBOOKS[d][0] for d in drivers]
    out["first_action"] = [PLAYBOOKS[d][1] for d in drivers]
    return _risk_order(out)


#: Cutoffs for the module 04 exercise: month ends and mid-month days (a mid-month cutoff must not use
#: that month's usage). All leave 90 days of known outcomes before the end of the shipped data.
EXERCISE_CUTOFFS = ("2025-06-15", "2025-08-31", "2025-09-15", "2025-11-30", "2025-12-20",
                    "2026-01-31", "2026-02-14", "2026-03-31", "2026-04-30", "2026-05-15")


def exercise_variant(seed: int) -> dict:
    """Per-learner settings of the module 04 exercise from ``learner_seed(...)``: cutoff and weekly capacity."""
    return {"cutoff": pd.Timestamp(EXERCISE_CUTOFFS[seed % len(EXERCISE_CUTOFFS)]),
            "capacity": 12 + (seed // len(EXERCISE_CUTOFFS)) % 13}


COLUMN_JA = {
    "accounts": "社数", "churned": "解約数", "churn_rate": "解約率", "lift": "リフト", "share_of_churn": "解約に占める割合",
    "touch_minutes": "面談時間 (分, 90日)", "share_of_accounts": "社数の割合", "share_of_touch": "面談時間の割合",
    "minutes_per_account": "1社あたり面談時間 (分)", "company_name": "会社名", "csm_name": "担当CSM",
    "arr_jpy": "年間契約額 (円)", "score": "スコア", "band": "帯", "driver_ja": "主な要因", "playbook": "プレイブック",
    "first_action": "最初の一手", "priority": "優先順位", "reason": "きっかけ", "score_before": "前回スコア",
    "score_cut": "スコアの境目", "churned_reached": "接触できた解約顧客", "precision": "適合率", "recall": "再現率",
    "capacity": "対応できる件数", "first_red": "初めて赤になった時点", "lead_days": "解約までの日数",
    "churn_date": "解約日", "last_snapshot": "最後の計測時点", "detected": "事前に検知", "band_name": "帯",
    "cutoff": "カットオフ", "auc": "AUC", "naive_auc": "素朴なスコアのAUC",
}


def to_japanese(df: pd.DataFrame) -> pd.DataFrame:
    """Rename known columns (and feature columns) to Japanese for display."""
    names = {c: COLUMN_JA.get(c, feature_label(c)) for c in df.columns}
    out = df.rename(columns=names)
    if out.index.name in COLUMN_JA:
        out.index.name = COLUMN_JA[out.index.name]
    return out
