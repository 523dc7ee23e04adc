"""From a scored book to action: attention vs risk, capacity, the weekly call list, playbook triggers."""
from __future__ import annotations

from typing import Iterable

import numpy as np
import pandas as pd

from .metrics import _labels
from .score import BANDS, band_key, canonical_bands

#: What to do when an account is flagged, by the component that pulls its score down the most.
PLAYBOOKS: dict[str, tuple[str, str]] = {
    "utilisation": ("利用定着プレイブック", "使われていない席がどの部署か確認し、現場の利用者に困りごとを聞く"),
    "engagement": ("利用定着プレイブック", "ログインが減った部署の責任者と、業務のどこで使うかを決め直す"),
    "adoption": ("機能活用プレイブック", "導入目的に効く主要機能のうち未活用のものを1つ選び、短い勉強会を提案する"),
    "support": ("サポート連携プレイブック", "未解決の問い合わせをサポート担当と洗い出し、解決の見通しを顧客に伝える"),
    "sentiment": ("関係修復プレイブック", "不満の出ている問い合わせの当事者に連絡し、経緯の説明と再発防止策を伝える"),
    "nps": ("経営層レビュー・プレイブック", "決裁者との面談を設定し、導入目的に対する成果を一緒に振り返る"),
}

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
