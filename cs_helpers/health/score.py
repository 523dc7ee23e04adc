"""Components, weights and bands of the course's hand-weighted health score, and the score itself.

Features are oriented (higher = healthier), z-normalised among the accounts at one cutoff, clipped to
+-3, weighted and put on a 偏差値 scale (mean 50, sd 10), then banded (赤 < 40 <= 黄 < 50 <= 緑).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd


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

COLUMN_JA = {
    "accounts": "社数", "churned": "解約数", "churn_rate": "解約率", "lift": "リフト", "share_of_churn": "解約に占める割合",
    "touch_minutes": "面談時間 (分, 90日)", "share_of_accounts": "社数の割合", "share_of_touch": "面談時間の割合",
    "minutes_per_account": "1社あたり面談時間 (分)", "company_name": "会社名", "csm_name": "担当CSM",
    "arr_jpy": "年間契約額 (円)", "score": "スコア", "band": "帯", "driver_ja": "主な要因", "playbook": "プレイブック",
    "first_action": "最初の一手", "priority": "優先順位", "reason": "きっかけ", "score_before": "前回スコア",
    "score_cut": "スコアの境目", "churned_reached": "接触できた解約顧客", "precision": "適合率", "recall": "再現率",
    "capacity": "対応できる件数", "first_red": "初めて赤になった時点", "lead_days": "解約までの日数",
    "churn_date": "解約日", "last_snapshot": "最後の計測時点", "detected": "事前に検知", "band_name": "帯",
    "cutoff": "カットオフ", "auc": "AUC", "naive_auc": "単純なスコアのAUC",
}


def to_japanese(df: pd.DataFrame) -> pd.DataFrame:
    """Rename known columns (and feature columns) to Japanese for display."""
    names = {c: COLUMN_JA.get(c, feature_label(c)) for c in df.columns}
    out = df.rename(columns=names)
    if out.index.name in COLUMN_JA:
        out.index.name = COLUMN_JA[out.index.name]
    return out
