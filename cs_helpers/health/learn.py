"""Let the data propose weights: a points table learned from churn history, then judged honestly.

A scorecard is a logistic regression on encoded signals, rescaled into points a CSM can read::

    card = learn_scorecard(frame, signals=["tenure", "MonthlyCharges"], categories=["Contract"],
                 directions={"tenure": "healthy"})        # "more tenure is never riskier"
    card.points                                           # 契約形態 = 月ごと: -18 点 ...
    card.score(frame)                                     # 100 minus the points lost, 0-100
    cv = cross_validate(frame, signals=..., categories=..., folds=5)   # out-of-fold scores, AUC per fold
    split = validate_over_time(pooled_frame, split="2025-06-30", horizon_days=90, signals=...)  # later cutoffs

Encoding. Numeric signals are cut into quantile bins (``numeric="bins"``, the default: every row of the points
table is exact) or standardised (``numeric="linear"``). A text column gets one level per value; unseen values
score like the most common level. A missing number has its own level.

Directions. ``directions={"tenure": "healthy"}`` means "higher is never riskier": the fitted churn effect
cannot rise with the signal (bins: each step up costs no points; linear: the slope has the healthy sign).
SciPy's bounded L-BFGS-B fits the penalised log loss (the objective of scikit-learn's ``LogisticRegression``
with ``C``), so the constraint is part of the fit, not a correction afterwards.

Over time. ``validate_over_time`` fits on every cutoff whose outcome window had closed by the split date
(give it every month end, not only quarter ends) and weighs a training row by its recency (half-life
``HALF_LIFE_DAYS``), then scores the later cutoffs. ``numeric`` may also map signal -> "bins" / "linear".

Points. The churn log-odds is ``b0 + sum_s f_s(x_s)``. Each signal's best level loses 0 points and its worst
loses ``100 * range_s / sum(range)``: the maximum losses sum to 100, the score is ``100 - points lost`` and
``P(churn) = sigmoid(b0 + sum_s max_s f_s - score * sum(range) / 100)`` exactly, so the score is calibrated
by construction on the data it was fitted on (and checked on data it was not: Brier score, reliability).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit
from threadpoolctl import threadpool_limits

MISSING = "(空欄)"
_HEALTHY = {"healthy", "健全", "高いほど健全", "+", "+1", "1", "higher_is_healthier", "up"}
_RISKY = {"risk", "危険", "高いほど危険", "-", "-1", "higher_is_riskier", "down"}


def _direction(name: str, value) -> int:
    """+1 when higher values are stated to be never riskier, -1 when never healthier."""
    key = str(value).strip().lower()
    if key in _HEALTHY:
        return 1
    if key in _RISKY:
        return -1
    raise ValueError(f"向きの指定「{name}: {value}」を読めません。\"healthy\" (高いほど健全) か "
                     "\"risk\" (高いほど危険) で書いてください。")


def _label_array(frame: pd.DataFrame, label: str) -> np.ndarray:
    if label not in frame:
        raise ValueError(f"解約の列「{label}」が表にありません。")
    y = frame[label]
    if y.isna().any():
        raise ValueError("解約ラベルに空欄があります。True / False (1 / 0) で埋めてください。")
    values = y.to_numpy()
    if values.dtype != bool and not set(pd.unique(values).tolist()) <= {0, 1, True, False}:
        raise ValueError("解約ラベルは True / False (1 / 0) にしてください。")
    return values.astype(bool)


# --------------------------------------------------------------------------------------------------
# encoding
# --------------------------------------------------------------------------------------------------


@dataclass
class _Numeric:
    name: str
    mode: str                     # "bins" or "linear"
    direction: int                # +1 healthy, -1 risky, 0 free
    edges: np.ndarray             # interior bin edges (bins) or [lo, hi] clip range (linear)
    mean: float = 0.0
    std: float = 1.0
    has_missing: bool = False

    @property
    def n_columns(self) -> int:
        body = len(self.edges) if self.mode == "bins" else 1
        return body + int(self.has_missing)

    def bin_of(self, x: np.ndarray) -> np.ndarray:
        return np.searchsorted(self.edges, x, side="right")

    def encode(self, x: np.ndarray, out: np.ndarray) -> None:
        miss = ~np.isfinite(x)
        if self.mode == "bins":
            b = self.bin_of(np.where(miss, -np.inf, x))
            for j in range(len(self.edges)):  # thermometer: column j is "bin > j"
                out[:, j] = (b > j) & ~miss
        else:
            z = (np.clip(x, self.edges[0], self.edges[1]) - self.mean) / self.std
            out[:, 0] = np.where(miss, 0.0, z)
        if self.has_missing:
            out[:, -1] = miss

    def bounds(self) -> list[tuple[float | None, float | None]]:
        # churn log-odds must not rise with a healthy signal: coefficients <= 0 (and >= 0 for a risky one)
        free = (None, None)
        step = {1: (None, 0.0), -1: (0.0, None), 0: free}[self.direction]
        body = len(self.edges) if self.mode == "bins" else 1
        return [step] * body + [free] * int(self.has_missing)

    def levels(self) -> list[str]:
        if self.mode == "bins":
            e = [_fmt(v) for v in self.edges]
            names = [f"{e[0]} 未満"] if e else ["すべて"]
            names += [f"{e[j]} 以上 {e[j + 1]} 未満" for j in range(len(e) - 1)]
            names += [f"{e[-1]} 以上"] if e else []
        else:
            names = [f"{_fmt(self.edges[0])} (最小)", f"{_fmt(self.edges[1])} (最大)"]
        return names + ([MISSING] if self.has_missing else [])

    def level_effects(self, coef: np.ndarray) -> np.ndarray:
        """Churn log-odds contribution of every level (same order as ``levels``)."""
        if self.mode == "bins":
            body = np.r_[0.0, np.cumsum(coef[:len(self.edges)])]
        else:
            lo, hi = (self.edges - self.mean) / self.std
            body = np.array([coef[0] * lo, coef[0] * hi])
        return np.r_[body, coef[-1]] if self.has_missing else body

    def effect(self, x: np.ndarray, coef: np.ndarray) -> np.ndarray:
        miss = ~np.isfinite(x)
        if self.mode == "bins":
            table = np.r_[0.0, np.cumsum(coef[:len(self.edges)])]
            eff = table[self.bin_of(np.where(miss, -np.inf, x))]
        else:
            eff = coef[0] * (np.clip(x, self.edges[0], self.edges[1]) - self.mean) / self.std
        return np.where(miss, coef[-1] if self.has_missing else np.nan, eff)

    def level_of(self, x: np.ndarray) -> np.ndarray:
        names = np.array(self.levels(), dtype=object)
        miss = ~np.isfinite(x)
        if self.mode == "bins":
            idx = self.bin_of(np.where(miss, -np.inf, x))
        else:
            idx = np.zeros(len(x), dtype=int)
        if self.mode == "linear":
            out = np.array([_fmt(v) if np.isfinite(v) else MISSING for v in x], dtype=object)
        else:
            out = names[np.minimum(idx, len(names) - 1)].astype(object)
        if self.has_missing:
            out[miss] = MISSING
        return out


@dataclass
class _Category:
    name: str
    values: list[str]             # every level seen in training; values[0] is the reference (most common)

    @property
    def n_columns(self) -> int:
        return len(self.values) - 1

    def codes(self, col: pd.Series) -> np.ndarray:
        return _level_codes(col, self.values)

    def encode(self, col: pd.Series, out: np.ndarray) -> None:
        c = self.codes(col)
        for j in range(1, len(self.values)):
            out[:, j - 1] = c == j

    def bounds(self):
        return [(None, None)] * self.n_columns

    def levels(self) -> list[str]:
        return list(self.values)

    def level_effects(self, coef: np.ndarray) -> np.ndarray:
        return np.r_[0.0, coef]

    def effect(self, col: pd.Series, coef: np.ndarray) -> np.ndarray:
        return self.level_effects(coef)[self.codes(col)]

    def level_of(self, col: pd.Series) -> np.ndarray:
        return np.array(self.values, dtype=object)[self.codes(col)]


def _level_codes(col: pd.Series, values: Sequence[str]) -> np.ndarray:
    """Position of each value of ``col`` (as text; missing = ``MISSING``) in ``values``; unseen -> 0."""
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    lookup = pd.Index(list(values)).get_indexer([str(u) for u in uniques] + [MISSING])
    lookup = np.where(lookup < 0, 0, lookup)  # an unseen level scores like the reference level
    return lookup[np.where(codes >= 0, codes, len(uniques))]


def _level_counts(col: pd.Series) -> pd.Series:
    codes, uniques = pd.factorize(col, use_na_sentinel=True)
    names = [str(u) for u in uniques] + [MISSING]
    counts = np.bincount(np.where(codes >= 0, codes, len(uniques)), minlength=len(names))
    return pd.Series(counts, index=names).groupby(level=0).sum().loc[lambda s: s > 0]


def _fmt(v: float) -> str:
    v = float(v)
    return f"{v:.0f}" if abs(v) >= 100 or v == int(v) else f"{v:.3g}"


def _numeric_values(frame: pd.DataFrame, name: str) -> np.ndarray:
    if name not in frame:
        raise ValueError(f"信号の列「{name}」が表にありません。使える列: " + "、".join(map(str, frame.columns)))
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype=float, na_value=np.nan)


def _fit_encoders(frame: pd.DataFrame, signals: Sequence[str], categories: Sequence[str],
                  directions: Mapping[str, int], numeric: str, n_bins: int) -> list:
    encoders: list = []
    for s in signals:
        x = _numeric_values(frame, s)
        ok = x[np.isfinite(x)]
        if len(ok) == 0:
            raise ValueError(f"信号「{s}」に数値が1つもありません。")
        mode = numeric.get(s, "bins") if isinstance(numeric, Mapping) else numeric
        if mode == "bins":
            qs = np.quantile(ok, np.linspace(0, 1, n_bins + 1)[1:-1])
            edges = np.unique(qs[(qs > ok.min()) | (len(np.unique(ok)) == 1)])
            edges = edges[edges > ok.min()]
            encoders.append(_Numeric(s, "bins", directions.get(s, 0), edges, has_missing=len(ok) < len(x)))
        elif mode == "linear":
            sd = float(ok.std())
            encoders.append(_Numeric(s, "linear", directions.get(s, 0), np.array([ok.min(), ok.max()]),
                                     mean=float(ok.mean()), std=sd if sd > 0 else 1.0, has_missing=len(ok) < len(x)))
        else:
            raise ValueError("numeric は \"bins\" (区間に分ける) か \"linear\" (標準化) で指定してください。")
    for c in categories:
        if c not in frame:
            raise ValueError(f"カテゴリの列「{c}」が表にありません。")
        counts = _level_counts(frame[c])
        values = sorted(counts.index.tolist(), key=lambda v: (-counts[v], v))
        encoders.append(_Category(c, values))
    return encoders


def _design(encoders: list, frame: pd.DataFrame) -> np.ndarray:
    X = np.zeros((len(frame), sum(e.n_columns for e in encoders)))
    j = 0
    for e in encoders:
        block = X[:, j:j + e.n_columns]
        if isinstance(e, _Numeric):
            e.encode(_numeric_values(frame, e.name), block)
        else:
            e.encode(frame[e.name], block)
        j += e.n_columns
    return X


def fit_logistic(X: np.ndarray, y: np.ndarray, *, C: float = 1.0,
                 bounds: Sequence[tuple[float | None, float | None]] | None = None,
                 max_iter: int = 500, tol: float = 1e-6, sample_weight: np.ndarray | None = None,
                 ftol: float | None = None, maxls: int | None = None) -> tuple[float, np.ndarray]:
    """Penalised logistic regression ``C * sum(weight * log loss) + |w|^2 / 2`` (intercept not penalised), with
    optional bounds on each coefficient, by SciPy's L-BFGS-B. Returns ``(intercept, coefficients)``.

    ``sample_weight`` (default 1 per row) multiplies each row's log loss, as in scikit-learn. The fit stops
    when the largest projected gradient is below ``tol`` times the total weight, or after ``max_iter``
    iterations (``ftol`` and ``maxls``, default SciPy's, are L-BFGS-B's own options; the benchmark sets them to
    scikit-learn's to compare equal work). When every column is 0/1 (bins and categories), identical rows are fitted once with their
    summed weights: the objective is the same sum, over a few thousand distinct rows instead of every account.
    """
    n, k = X.shape
    y = np.asarray(y, dtype=bool)
    sw = np.ones(n) if sample_weight is None else np.asarray(sample_weight, dtype=float)
    if sw.shape != (n,) or not np.isfinite(sw).all() or (sw < 0).any() or sw.sum() <= 0:
        raise ValueError("sample_weight は行数と同じ長さの0以上の数にしてください。")
    rows, churned, total = X, sw * y, sw
    if 0 < k <= 62 and n > 4 * 2 ** min(k, 12) and np.isin(X, (0.0, 1.0)).all():
        key = X.astype(np.int64) @ (np.int64(1) << np.arange(k, dtype=np.int64))
        uniq, first, inverse = np.unique(key, return_index=True, return_inverse=True)
        rows = X[first]
        total = np.bincount(inverse, weights=sw, minlength=len(uniq))
        churned = np.bincount(inverse, weights=sw * y, minlength=len(uniq))
    base = float(np.clip(churned.sum() / total.sum(), 1e-6, 1 - 1e-6))

    def loss(theta: np.ndarray) -> tuple[float, np.ndarray]:
        b, w = theta[0], theta[1:]
        eta = b + rows @ w
        # sum of total * log(1 + e^eta) - churned * eta, computed stably
        value = C * float(total @ np.logaddexp(0.0, eta) - churned @ eta) + 0.5 * float(w @ w)
        r = C * (total * expit(eta) - churned)
        return value, np.r_[r.sum(), rows.T @ r + w]

    theta0 = np.r_[np.log(base / (1 - base)), np.zeros(k)]
    b_list = [(None, None)] + list(bounds if bounds is not None else [(None, None)] * k)
    options = {"maxiter": int(max_iter), "gtol": float(tol) * max(float(total.sum()), 1.0)}
    if ftol is not None:
        options["ftol"] = float(ftol)
    if maxls is not None:
        options["maxls"] = int(maxls)
    # one BLAS thread: the matrices are thin, and busy BLAS threads on a loaded machine cost 10x here
    with threadpool_limits(1, user_api="blas"):
        res = minimize(loss, theta0, jac=True, method="L-BFGS-B", bounds=b_list, options=options)
    return float(res.x[0]), res.x[1:]


# --------------------------------------------------------------------------------------------------
# the scorecard
# --------------------------------------------------------------------------------------------------


@dataclass
class Scorecard:
    """A learned points table. ``points`` has one row per (signal, level) with the points it loses (<= 0);
    ``weights`` the most each signal can lose (they sum to 100)."""
    encoders: list
    intercept: float
    coef: np.ndarray
    label: str
    train_index: pd.Index
    base_rate: float
    directions: dict[str, int] = field(default_factory=dict)
    _worst: dict[str, float] = field(default_factory=dict, repr=False)
    _range_total: float = 0.0

    def __post_init__(self) -> None:
        ranges, j = {}, 0
        for e in self.encoders:
            eff = e.level_effects(self.coef[j:j + e.n_columns])
            self._worst[e.name] = float(eff.max())
            ranges[e.name] = float(eff.max() - eff.min())
            j += e.n_columns
        self._range_total = float(sum(ranges.values()))
        if self._range_total <= 0:
            raise ValueError("どの信号も解約と関係がないという結果になりました (すべての重みが0)。"
                             "信号の列や解約の列が正しいか確かめてください。")

    # -- tables ---------------------------------------------------------------------------------
    def _blocks(self):
        j = 0
        for e in self.encoders:
            yield e, self.coef[j:j + e.n_columns]
            j += e.n_columns

    @property
    def points(self) -> pd.DataFrame:
        """signal, level and points (0 for the signal's best level, negative otherwise)."""
        rows = []
        for e, c in self._blocks():
            eff = e.level_effects(c)
            lost = -100.0 * (eff - eff.min()) / self._range_total
            kind = "数値" if isinstance(e, _Numeric) else "カテゴリ"
            for level, p in zip(e.levels(), lost):
                rows.append({"signal": e.name, "kind": kind, "level": level, "points": float(p) + 0.0})
        return pd.DataFrame(rows)

    @property
    def weights(self) -> pd.Series:
        """The most points each signal can lose; the values sum to 100."""
        out = {}
        for e, c in self._blocks():
            eff = e.level_effects(c)
            out[e.name] = 100.0 * float(eff.max() - eff.min()) / self._range_total
        return pd.Series(out, name="weight")

    # -- scoring --------------------------------------------------------------------------------
    def lost_points(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Points each signal costs each row (<= 0), one column per signal."""
        out = {}
        for e, c in self._blocks():
            col = _numeric_values(frame, e.name) if isinstance(e, _Numeric) else frame[e.name]
            eff = e.effect(col, c)
            lowest = float(e.level_effects(c).min())
            eff = np.where(np.isfinite(eff), eff, lowest)  # a missing value the fit never saw costs nothing
            out[e.name] = -100.0 * (eff - lowest) / self._range_total + 0.0
        return pd.DataFrame(out, index=frame.index)

    def score(self, frame: pd.DataFrame) -> pd.Series:
        """100 minus the points lost: 100 = every signal at its healthiest level, 0 = every one at its worst."""
        return (100.0 + self.lost_points(frame).sum(axis=1)).rename("score")

    def probability(self, frame: pd.DataFrame | None = None, *, scores=None) -> np.ndarray:
        """Churn probability the fitted model gives to each score (exact inverse of the points scaling)."""
        s = self.score(frame).to_numpy() if scores is None else np.asarray(scores, dtype=float)
        top = self.intercept + sum(self._worst.values())
        return expit(top - s * self._range_total / 100.0)

    def score_for_probability(self, p: float) -> float:
        """The score at which the model's churn probability equals ``p``."""
        top = self.intercept + sum(self._worst.values())
        return float((top - np.log(p / (1 - p))) * 100.0 / self._range_total)

    def thresholds(self) -> dict[str, float]:
        """Absolute bands: 赤 when the churn risk is at least twice the base rate, 黄 when above the base rate."""
        red = self.score_for_probability(min(2 * self.base_rate, 0.99))
        yellow = self.score_for_probability(self.base_rate)
        return {"赤": float(np.clip(red, 0, 100)), "黄": float(np.clip(max(yellow, red), 0, 100))}

    def levels(self, frame: pd.DataFrame) -> pd.DataFrame:
        """The level of every signal each row falls in (the row of the points table that applies)."""
        return pd.DataFrame({e.name: e.level_of(_numeric_values(frame, e.name) if isinstance(e, _Numeric)
                                                else frame[e.name]) for e, _ in self._blocks()}, index=frame.index)

    def explain(self, frame: pd.DataFrame, n: int = 2) -> pd.DataFrame:
        """The ``n`` signals that cost each row the most points, as text such as ``Contract=月ごと (-18)``."""
        lost = self.lost_points(frame)
        lv = self.levels(frame)
        names = np.array(lost.columns)
        order = np.argsort(lost.to_numpy(), axis=1, kind="stable")[:, :n]
        out = {}
        for k in range(min(n, len(names))):
            cols = names[order[:, k]]
            pts = lost.to_numpy()[np.arange(len(lost)), order[:, k]]
            levels = lv.to_numpy()[np.arange(len(lv)), order[:, k]]
            out[f"reason_{k + 1}"] = [f"{c}={lvl} ({p:+.0f}点)" if p < -0.5 else "" for c, lvl, p in
                                      zip(cols, levels, pts)]
        return pd.DataFrame(out, index=frame.index)


def learn_scorecard(frame: pd.DataFrame, *, signals: Sequence[str] = (), categories: Sequence[str] = (),
          label: str = "churned", directions: Mapping[str, object] | None = None, numeric: str = "bins",
          n_bins: int = 5, C: float = 1.0, sample_weight=None) -> Scorecard:
    """Fit a points table on ``frame`` (one row per account, ``label`` = churned yes/no).

    ``signals`` are numeric columns, ``categories`` text columns; ``directions`` states the sign a signal
    must have (``{"tenure": "healthy"}``: more tenure is never riskier). ``sample_weight`` (one number per row,
    default 1) weighs each row's log loss, e.g. recent cutoffs more than old ones (``validate_over_time``
    does so). See the module docstring.
    """
    signals, categories = list(signals), list(categories)
    if not signals and not categories:
        raise ValueError("信号 (signals) かカテゴリ (categories) を1つ以上指定してください。")
    dirs = {k: _direction(k, v) for k, v in (directions or {}).items()}
    stray = [k for k in dirs if k not in signals]
    if stray:
        raise ValueError(f"向きを指定した「{stray[0]}」が数値の信号 (signals) にありません。")
    y = _label_array(frame, label)
    if y.all() or not y.any():
        raise ValueError("学習には解約した顧客と継続した顧客の両方が必要です。")
    encoders = _fit_encoders(frame, signals, categories, dirs, numeric, int(n_bins))
    X = _design(encoders, frame)
    bounds = [b for e in encoders for b in e.bounds()]
    sw = None if sample_weight is None else np.asarray(sample_weight, dtype=float)
    b0, w = fit_logistic(X, y, C=C, bounds=bounds, sample_weight=sw)
    base_rate = float(y.mean()) if sw is None else float(sw @ y / sw.sum())
    return Scorecard(encoders=encoders, intercept=b0, coef=w, label=label, train_index=frame.index.copy(),
                     base_rate=base_rate, directions=dirs)


# --------------------------------------------------------------------------------------------------
# honest evaluation
# --------------------------------------------------------------------------------------------------


def _metrics(y: np.ndarray, score: np.ndarray, prob: np.ndarray | None = None) -> dict[str, float]:
    """AUC (the course's rank AUC), PR-AUC (average precision of "low score = risk") and Brier score."""
    from sklearn.metrics import average_precision_score, brier_score_loss

    from .metrics import auc

    out = {"auc": auc(y, score), "pr_auc": float(average_precision_score(y, -np.asarray(score, dtype=float)))}
    if prob is not None:
        out["brier"] = float(brier_score_loss(y, prob))
    return out


def capacity_metrics(y, score, k: int, *, arr=None) -> dict[str, float]:
    """If the team can reach only the ``k`` lowest-scoring accounts: precision, lift over the base rate,
    share of churners caught and, with ``arr``, share of churned ARR caught."""
    y = np.asarray(y, dtype=bool)
    s = np.asarray(score, dtype=float)
    k = int(min(max(int(k), 0), len(y)))
    if k == 0:
        raise ValueError("対応できる件数 (capacity) は1件以上にしてください。")
    top = np.argsort(s, kind="stable")[:k]
    hit = int(y[top].sum())
    base = float(y.mean())
    out = {"k": k, "precision": hit / k, "lift": (hit / k) / base if base > 0 else float("nan"),
           "churned_caught": hit, "recall": hit / y.sum() if y.sum() else float("nan")}
    if arr is not None:
        a = np.nan_to_num(np.asarray(arr, dtype=float), nan=0.0)
        total = float(a[y].sum())
        out["arr_share_caught"] = float(a[top][y[top]].sum() / total) if total > 0 else float("nan")
    return out


@dataclass
class Validation:
    """Out-of-sample scores of the learned card (and of the comparisons) on rows no fit has seen."""
    kind: str                     # "kfold" or "time"
    frame: pd.DataFrame           # test rows: label, learned_score, learned_prob, fold, plus comparisons
    folds: list[dict]             # per fold: train/test index, metrics
    card: Scorecard               # refitted on every row (what the report shows)
    label: str = "churned"

    def summary(self, columns: Mapping[str, str] | None = None) -> pd.DataFrame:
        """AUC, PR-AUC and (for the learned score) Brier of each score column on the test rows."""
        y = self.frame[self.label].to_numpy(dtype=bool)
        cols = {"learned_score": "学習したスコア"} | dict(columns or {})
        rows = []
        for col, name in cols.items():
            if col not in self.frame:
                continue
            s = self.frame[col].to_numpy(dtype=float)
            ok = np.isfinite(s)
            prob = self.frame["learned_prob"].to_numpy()[ok] if col == "learned_score" else None
            rows.append({"score": name, **_metrics(y[ok], s[ok], prob)})
        return pd.DataFrame(rows).set_index("score")

    @property
    def auc(self) -> float:
        return float(self.summary().loc["学習したスコア", "auc"])


def _categorical(frame: pd.DataFrame, categories: Sequence[str]) -> pd.DataFrame:
    """Text columns as pandas categoricals once, so that every fold reads their codes instead of the strings."""
    todo = [c for c in categories if c in frame and not isinstance(frame[c].dtype, pd.CategoricalDtype)]
    if not todo:
        return frame
    return frame.assign(**{c: frame[c].astype("category") for c in todo})


def cross_validate(frame: pd.DataFrame, *, signals: Sequence[str] = (), categories: Sequence[str] = (),
                   label: str = "churned", directions: Mapping[str, object] | None = None, folds: int = 5,
                   seed: int = 0, progress: bool = False, **options) -> Validation:
    """Stratified k-fold: each fold's card is fitted on the other folds only and scores its own rows."""
    from sklearn.model_selection import StratifiedKFold

    y = _label_array(frame, label)
    frame = _categorical(frame, categories)
    if min(int(y.sum()), int((~y).sum())) < folds:
        raise ValueError(f"{folds}分割の交差検証には、解約した顧客と継続した顧客がそれぞれ{folds}社以上必要です。")
    skf = StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=seed)
    out = frame[[label]].copy()
    out["learned_score"] = np.nan
    out["learned_prob"] = np.nan
    out["fold"] = -1
    records = []
    splits = list(skf.split(np.zeros(len(y)), y))
    if progress:
        from tqdm.auto import tqdm

        splits = tqdm(splits, desc="交差検証", unit="分割")
    for k, (train, test) in enumerate(splits):
        card = learn_scorecard(frame.iloc[train], signals=signals, categories=categories, label=label,
                     directions=directions, **options)
        part = frame.iloc[test]
        s = card.score(part).to_numpy()
        out.iloc[test, out.columns.get_loc("learned_score")] = s
        out.iloc[test, out.columns.get_loc("learned_prob")] = card.probability(scores=s)
        out.iloc[test, out.columns.get_loc("fold")] = k
        records.append({"fold": k, "train_index": card.train_index, "test_index": part.index,
                        **_metrics(y[test], s)})
    full = learn_scorecard(frame, signals=signals, categories=categories, label=label, directions=directions, **options)
    return Validation("kfold", out, records, full, label)


def plain_logistic_cv(frame: pd.DataFrame, *, signals: Sequence[str] = (), categories: Sequence[str] = (),
                      label: str = "churned", folds: int = 5, seed: int = 0) -> dict:
    """The reference: scikit-learn ``LogisticRegression`` on standardised numbers and one-hot text, with the
    same stratified folds as ``cross_validate``. Returns out-of-fold risk and AUC (pooled and per fold)."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    from .metrics import auc

    y = _label_array(frame, label)
    X = frame[list(signals) + list(categories)].copy()
    for s in signals:
        X[s] = pd.to_numeric(X[s], errors="coerce").astype(float)
    for c in categories:
        X[c] = X[c].astype("string").fillna(MISSING).astype(object)
    pre = ColumnTransformer([("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(signals)),
                             ("cat", OneHotEncoder(handle_unknown="ignore"), list(categories))])
    model = make_pipeline(pre, LogisticRegression(max_iter=1000))
    risk = np.zeros(len(y))
    per_fold = []
    for train, test in StratifiedKFold(n_splits=int(folds), shuffle=True, random_state=seed).split(np.zeros(len(y)), y):
        model.fit(X.iloc[train], y[train])
        risk[test] = model.predict_proba(X.iloc[test])[:, 1]
        per_fold.append(auc(y[test], risk[test], higher_means="risk"))
    return {"risk": risk, "auc": auc(y, risk, higher_means="risk"), "fold_auc": per_fold}


#: Half-life (days) of the recency weight ``validate_over_time`` gives training rows: a cutoff one year older
#: than the latest training cutoff counts half as much. See ``docs/design-notes.md`` ("learned health score").
HALF_LIFE_DAYS = 365


def recency_weights(cutoffs, half_life_days: float | None = HALF_LIFE_DAYS) -> np.ndarray:
    """``0.5 ** (age / half_life_days)`` per row, age = days from the row's cutoff to the latest cutoff given
    (so the latest rows weigh 1). ``None`` gives every row weight 1."""
    c = pd.to_datetime(pd.Series(cutoffs)).reset_index(drop=True)
    if half_life_days is None:
        return np.ones(len(c))
    if not float(half_life_days) > 0:
        raise ValueError("半減期 (half_life_days) は正の日数にしてください。")
    age = (c.max() - c).dt.days.to_numpy(dtype=float)
    return 0.5 ** (age / float(half_life_days))


def standardise_per_cutoff(frame: pd.DataFrame, signals: Sequence[str], cutoff: str = "cutoff") -> pd.DataFrame:
    """``frame`` with each numeric signal replaced by its z-score among the rows of the same cutoff
    ((x - mean) / sd over that cutoff's accounts; missing stays missing, a constant column becomes 0).

    This is how the course's hand-weighted score compares an account with its peers on the same date. It reads
    no label and no other cutoff, so it leaks nothing across the time split.
    """
    out = frame.copy()
    groups = pd.to_datetime(frame[cutoff]).to_numpy()
    for s in signals:
        x = pd.Series(_numeric_values(frame, s), index=frame.index)
        g = x.groupby(groups)
        mean, sd = g.transform("mean"), g.transform("std", ddof=0)
        out[s] = ((x - mean) / sd.where(sd > 0)).where(sd > 0, 0.0).where(x.notna())
    return out


def validate_over_time(frame: pd.DataFrame, *, split, horizon_days: int, signals: Sequence[str] = (),
                       categories: Sequence[str] = (), label: str = "churned", cutoff: str = "cutoff",
                       directions: Mapping[str, object] | None = None, test_cutoffs=None,
                       half_life_days: float | None = HALF_LIFE_DAYS, per_cutoff: bool = False,
                       **options) -> Validation:
    """Train on cutoffs whose outcome window had closed by ``split`` (cutoff + horizon <= split) and test on
    cutoffs on or after ``split``: what a team could really have done on the split date.

    ``frame`` holds one row per (cutoff, account) with features known at that cutoff only, such as the
    ``frame`` of ``health.backtest_pooled`` or pooled ``health_byo.byo_features`` rows. Give it every month
    end whose outcome is known: the fit uses all of them. ``test_cutoffs`` restricts the test rows to some
    cutoffs (e.g. quarter ends); by default every cutoff on or after ``split`` is tested.

    Training rows are weighted by recency (``recency_weights``: half-life ``half_life_days``, ``None`` = equal
    weights), because what predicted churn last year predicts next quarter's churn better than what predicted
    it three years ago. The weights depend only on the training cutoffs, never on the test rows.

    ``per_cutoff=True`` fits and scores each numeric signal as a z-score among the accounts of its own cutoff
    (``standardise_per_cutoff``), as the hand-weighted score does: a holiday month that lowers everyone's usage
    then moves no one. The points table's levels are then in standard deviations from that date's mean.
    ``frame`` of the result keeps the original values.
    """
    split = pd.Timestamp(split)
    c = pd.to_datetime(frame[cutoff])
    train_mask = (c + pd.Timedelta(days=int(horizon_days)) <= split).to_numpy()
    test_mask = (c >= split).to_numpy()
    if test_cutoffs is not None:
        test_mask = test_mask & c.isin(pd.to_datetime(pd.Index(list(test_cutoffs)))).to_numpy()
    if not train_mask.any() or not test_mask.any():
        raise ValueError(f"{split.date()} の前に結果の確定した時点と、後の時点の両方が必要です。分ける日付を見直してください。")
    fit_frame = standardise_per_cutoff(frame, signals, cutoff) if per_cutoff else frame
    train, test = fit_frame[train_mask], fit_frame[test_mask]
    sw = recency_weights(c[train_mask], half_life_days)
    card = learn_scorecard(train, signals=signals, categories=categories, label=label, directions=directions,
                           sample_weight=sw, **options)
    out = frame[test_mask].copy()
    out["learned_score"] = card.score(test).to_numpy()
    out["learned_prob"] = card.probability(scores=out["learned_score"].to_numpy())
    out["fold"] = 0
    y = _label_array(test, label)
    record = {"fold": 0, "train_index": train.index, "test_index": test.index,
              "train_cutoffs": sorted(pd.unique(c[train_mask])), "test_cutoffs": sorted(pd.unique(c[test_mask])),
              "half_life_days": half_life_days, "per_cutoff": bool(per_cutoff), **_metrics(y, out["learned_score"].to_numpy())}
    return Validation("time", out, [record], card, label)


def reliability(y, prob, bins: int = 10) -> pd.DataFrame:
    """Mean predicted vs observed churn per quantile bin of the predicted probability (a reliability plot)."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(np.asarray(y, dtype=bool), np.asarray(prob, dtype=float),
                                            n_bins=int(bins), strategy="quantile")
    return pd.DataFrame({"predicted": predicted, "observed": observed})

