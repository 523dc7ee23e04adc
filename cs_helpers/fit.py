"""CSM–account skill fit (スキルの適合度) and account assignment under capacity, for the optional lesson 05.1.

This is a staffing tool, not 相性: lesson 05 teaches 相性 as personality and communication fit, which this
model does not see. The model is deliberately simple so that a leader can see — and argue with — every step:

1. **What each account asks of its CSM** (``account_needs``): six needs, one per BABOK competency
   group, read from the shipped data (implementation complexity, integration tickets, ARR, ticket
   sentiment and NPS, number of stakeholders, severe incidents), each as a percentile rank, then
   normalised so an account's needs sum to 1 (its *mix* of needs).
2. **What each CSM is relatively good at** (``relative_strengths``): self-assessment scores centred
   on the person's own average and scaled by their own spread — self-ratings are not comparable
   between people (some rate everything 4, others everything 2), but the *shape* of one person's
   profile is informative.
3. **Fit** = needs · strengths (``fit_matrix``): positive when an account needs what the CSM is
   relatively strong at.
4. **Assignment under capacity**: ``optimal_assignment`` maximises total fit exactly (min-cost flow by
   successive shortest paths; pure numpy, because with only a handful of CSMs the residual graph can be
   condensed onto the CSMs), ``greedy_assignment`` takes the best pairs first, ``naive_assignment``
   deals accounts out in turn. ``evaluate`` and ``compare`` put them side by side, including what the
   model cannot see (owner changes, concentration of big accounts, load).

The limits (self-reported profiles, a fit formula that is only a hypothesis, continuity with the
customer, growth of the CSM) are discussed in the lesson; ``fit_vs_churn`` checks the hypothesis
against the data and, on the shipped data, finds no evidence for it.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Mapping

import numpy as np
import pandas as pd

# Six BABOK competency groups, as used by the module 01 self-assessment.
COMPETENCIES: dict[str, str] = {
    "analytical": "分析的思考・問題解決",
    "behavioural": "行動特性",
    "business": "ビジネス知識",
    "communication": "コミュニケーション",
    "interaction": "対人関係スキル",
    "tools": "ツール・テクノロジー",
}
NEED_LABELS: dict[str, str] = {
    "analytical": "導入の複雑さ",
    "tools": "データ連携の問い合わせ",
    "business": "契約規模 (ARR)",
    "communication": "不満のサイン (感情・NPS)",
    "interaction": "関係者の多さ",
    "behavioural": "重大な障害対応",
}

# A fictional team matching the shipped CSM ids and names (1–5 self-assessment per competency group).
_DEMO_TEAM = [
    # csm_id, name,         analytical, behavioural, business, communication, interaction, tools
    ("C01", "佐藤 美咲", 3, 4, 3, 5, 4, 2),
    ("C02", "鈴木 大輔", 4, 3, 4, 3, 3, 4),
    ("C03", "高橋 彩", 2, 4, 3, 4, 5, 2),
    ("C04", "田中 健一", 5, 3, 2, 2, 2, 5),
    ("C05", "伊藤 麻衣", 3, 3, 5, 4, 4, 3),
    ("C06", "渡辺 拓也", 4, 4, 3, 3, 3, 4),
    ("C07", "山本 千尋", 2, 5, 2, 4, 4, 3),
    ("C08", "中村 亮", 4, 2, 4, 3, 3, 5),
    ("C09", "小林 結衣", 3, 3, 3, 3, 3, 3),
    ("C10", "加藤 誠", 3, 4, 5, 4, 3, 2),
]


class FitError(ValueError):
    """A problem with profiles, fit matrices or capacities, explained in Japanese."""


def demo_team() -> pd.DataFrame:
    """Self-assessment scores (1–5) of the fictional CSM team C01–C10, indexed by ``csm_id``."""
    cols = ["csm_id", "csm_name", *COMPETENCIES]
    return pd.DataFrame(_DEMO_TEAM, columns=cols).set_index("csm_id")


# --- profiles ---------------------------------------------------------------------------------

def _mean_of(value) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    if isinstance(value, Mapping):
        nums = [_mean_of(v) for v in value.values()]
        nums = [v for v in nums if v is not None]
        return float(np.mean(nums)) if nums else None
    return None


def profile_scores(profile) -> pd.Series:
    """The six competency-group scores of one self-assessment, as a Series keyed like ``COMPETENCIES``.

    Accepts a module 01 ``assess.Profile``, its JSON dict (``{"format": "cs-dojo/self-assessment",
    "competencies": {group: {item: score}}, ...}``), or a plain ``{group: score}`` mapping. A group
    with no rated item raises ``FitError`` (the model needs all six).
    """
    from . import assess

    if isinstance(profile, Mapping) and profile.get("format") == assess.FORMAT:
        try:
            profile = assess.Profile.from_dict(profile)
        except assess.ProfileError as exc:
            raise FitError(str(exc)) from None
    if isinstance(profile, assess.Profile):
        scores = profile.group_scores()
    elif isinstance(profile, Mapping):
        source = profile.get("competencies", profile)
        scores = {k: _mean_of(source.get(k)) if source.get(k) is not None else None for k in COMPETENCIES}
    else:
        raise FitError("プロフィールは自己診断 (assess.Profile) か、能力ごとの点数の辞書で渡してください。")
    missing = [label for key, label in COMPETENCIES.items()
               if scores.get(key) is None or scores[key] != scores[key]]
    if missing:
        raise FitError("自己診断に次の能力の点数がありません: " + "、".join(missing)
                       + "。モジュール01の自己診断で、各グループに少なくとも1項目は回答してください。")
    return pd.Series({k: float(scores[k]) for k in COMPETENCIES})


def load_profiles(directory: str | Path | None = None, skipped: list | None = None) -> dict:
    """Module 01 self-assessment profiles by learner id (default folder ``home_dir()/profiles``).

    Delegates to ``assess.load_profiles``; pass a list as ``skipped`` to collect unreadable files
    instead of failing on the first one.
    """
    from . import assess

    return assess.load_profiles(directory, skipped=skipped)


def team_with(profile, *, csm_id: str = "YOU", name: str = "あなた",
              team: pd.DataFrame | None = None) -> pd.DataFrame:
    """The demo team plus one more member built from a self-assessment ``profile`` (if given)."""
    base = demo_team() if team is None else team.copy()
    if profile is None:
        return base
    row = profile_scores(profile)
    extra = pd.DataFrame([{"csm_name": name, **row.to_dict()}], index=pd.Index([csm_id], name=base.index.name))
    base = base.astype({k: float for k in COMPETENCIES})
    base = pd.concat([base.drop(index=csm_id, errors="ignore"), extra[base.columns]])
    return base


def relative_strengths(team: pd.DataFrame) -> pd.DataFrame:
    """Each person's scores centred on their own mean and divided by their own spread.

    A flat profile (every score the same) has no relative strength: all zeros.
    """
    missing = [k for k in COMPETENCIES if k not in team.columns]
    if missing:
        raise FitError("チーム表に次の列がありません: " + "、".join(missing))
    scores = team[list(COMPETENCIES)].astype(float)
    centred = scores.sub(scores.mean(axis=1), axis=0)
    spread = scores.std(axis=1, ddof=0).replace(0, np.nan)
    return centred.div(spread, axis=0).fillna(0.0)


# --- account needs ----------------------------------------------------------------------------

def account_needs(accounts: pd.DataFrame, tickets: pd.DataFrame | None = None,
                  contacts: pd.DataFrame | None = None, nps: pd.DataFrame | None = None) -> pd.DataFrame:
    """What each account asks of its CSM, one column per competency group; each row sums to 1.

    Signals (percentile ranks across the given accounts): complexity → analytical; share of
    data-integration tickets → tools; ARR → business; negative ticket sentiment and low NPS →
    communication (listening); number of contacts → interaction; share of high/urgent tickets →
    behavioural (accountability under pressure). Missing tables count as "no signal" (rank 0.5).
    """
    for col in ("account_id", "complexity", "arr_jpy"):
        if col not in accounts.columns:
            raise FitError(f"accounts に列「{col}」がありません。data.load('accounts') の表を渡してください。")
    ids = accounts["account_id"].astype(str)
    idx = pd.Index(ids, name="account_id")
    raw = pd.DataFrame(index=idx)
    raw["analytical"] = accounts["complexity"].to_numpy(dtype=float)
    raw["business"] = accounts["arr_jpy"].to_numpy(dtype=float)
    if tickets is not None and len(tickets):
        t = tickets.assign(account_id=tickets["account_id"].astype(str))
        g = t.groupby("account_id")
        raw["tools"] = g["category"].apply(lambda s: float((s == "データ連携").mean())).reindex(idx)
        raw["behavioural"] = g["severity"].apply(lambda s: float(s.isin(["高", "緊急"]).mean())).reindex(idx)
        sentiment = -g["sentiment"].mean().reindex(idx)
    else:
        raw["tools"] = np.nan
        raw["behavioural"] = np.nan
        sentiment = pd.Series(np.nan, index=idx)
    if nps is not None and len(nps):
        low_nps = -nps.assign(account_id=nps["account_id"].astype(str)).groupby("account_id")["score"].mean()
        raw["communication"] = (sentiment.rank(pct=True).fillna(0.5) + low_nps.reindex(idx).rank(pct=True).fillna(0.5)) / 2
    else:
        raw["communication"] = sentiment
    if contacts is not None and len(contacts):
        raw["interaction"] = contacts.assign(account_id=contacts["account_id"].astype(str)) \
            .groupby("account_id").size().reindex(idx).astype(float)
    else:
        raw["interaction"] = np.nan
    ranks = raw[list(COMPETENCIES)].rank(pct=True).fillna(0.5)
    return ranks.div(ranks.sum(axis=1), axis=0)


def fit_matrix(needs: pd.DataFrame, team: pd.DataFrame) -> pd.DataFrame:
    """Fit of every account (rows) with every CSM (columns): needs · relative strengths."""
    strengths = relative_strengths(team)
    missing = [k for k in COMPETENCIES if k not in needs.columns]
    if missing:
        raise FitError("needs に次の列がありません: " + "、".join(missing))
    values = needs[list(COMPETENCIES)].to_numpy(float) @ strengths[list(COMPETENCIES)].to_numpy(float).T
    return pd.DataFrame(values, index=needs.index, columns=strengths.index)


def with_continuity(fit: pd.DataFrame, current: pd.Series, bonus: float) -> pd.DataFrame:
    """Fit plus ``bonus`` for each account's current CSM: the value of an existing relationship.

    Raising the bonus trades fit for fewer owner changes; at a large enough bonus nobody moves
    unless capacity forces it."""
    if bonus < 0:
        raise FitError("bonus は0以上の数値で指定してください (今の担当を続ける価値)。")
    out = fit.copy()
    cur = current.reindex(fit.index)
    cols = fit.columns.get_indexer(cur.to_numpy())
    rows = np.flatnonzero(cols >= 0)
    values = out.to_numpy(float, copy=True)
    values[rows, cols[rows]] += bonus
    return pd.DataFrame(values, index=fit.index, columns=fit.columns)


# --- assignment -------------------------------------------------------------------------------

def _capacities(fit: pd.DataFrame, capacity) -> np.ndarray:
    if not isinstance(fit, pd.DataFrame) or fit.empty:
        raise FitError("fit には 顧客×CSM の適合度の表 (DataFrame) を渡してください。")
    if fit.isna().to_numpy().any():
        raise FitError("適合度の表に空欄 (NaN) があります。すべての組み合わせに数値を入れてください。")
    if fit.index.has_duplicates or fit.columns.has_duplicates:
        raise FitError("適合度の表の顧客IDまたはCSM IDが重複しています。")
    if isinstance(capacity, Mapping) or isinstance(capacity, pd.Series):
        cap = pd.Series(capacity)
        missing = [c for c in fit.columns if c not in cap.index]
        if missing:
            raise FitError("次のCSMのキャパシティ (担当できる社数) が指定されていません: " + "、".join(map(str, missing)))
        cap = cap.reindex(fit.columns)
    else:
        cap = pd.Series(capacity, index=fit.columns)
    try:
        values = cap.to_numpy(dtype=float)
    except (TypeError, ValueError):
        raise FitError("キャパシティは0以上の整数 (担当できる社数) で指定してください。") from None
    if np.isnan(values).any() or (values < 0).any() or (values != np.round(values)).any():
        raise FitError("キャパシティは0以上の整数 (担当できる社数) で指定してください。")
    if values.sum() < len(fit):
        raise FitError(f"キャパシティの合計 ({int(values.sum())}社) が顧客数 ({len(fit)}社) より少なく、"
                       "全員に担当を付けられません。キャパシティを増やすか、対象の顧客を絞ってください。")
    return values.astype(int)


def optimal_assignment(fit: pd.DataFrame, capacity) -> pd.Series:
    """Assignment maximising total fit with at most ``capacity`` accounts per CSM (exact).

    ``capacity`` is one int for everyone or a mapping ``csm_id -> int``. Successive shortest paths
    on the min-cost-flow network source → account → CSM → sink; the residual paths between CSMs are
    condensed to a k × k graph (k = number of CSMs), so each step costs O(n·k²).
    """
    cap = _capacities(fit, capacity)
    cost = -fit.to_numpy(float)
    n, k = cost.shape
    owner = np.full(n, -1)
    load = np.zeros(k, dtype=int)
    members: list[list[int]] = [[] for _ in range(k)]
    for _ in range(n):
        # condensed edges j -> j2: cheapest move of an account currently at j over to j2
        move = np.full((k, k), np.inf)
        who = np.full((k, k), -1)
        for j in range(k):
            if members[j]:
                rows = np.asarray(members[j])
                delta = cost[rows] - cost[rows, j][:, None]
                best = delta.argmin(axis=0)
                move[j] = delta[best, np.arange(k)]
                who[j] = rows[best]
                move[j, j] = np.inf
        # distance from each CSM to a CSM with spare capacity (Bellman-Ford; no negative cycles in SSP)
        dist = np.where(load < cap, 0.0, np.inf)
        nxt = np.full(k, -1)
        for _ in range(k):
            cand = move + dist[None, :]
            best = cand.argmin(axis=1)
            val = cand[np.arange(k), best]
            better = val < dist - 1e-12
            if not better.any():
                break
            dist = np.where(better, val, dist)
            nxt = np.where(better, best, nxt)
        free = np.flatnonzero(owner < 0)
        total = cost[free] + dist[None, :]
        flat = int(np.argmin(total))
        a, j = free[flat // k], flat % k
        owner[a] = j
        members[j].append(a)
        while load[j] >= cap[j]:  # push one account along the path until a CSM with spare capacity
            j2 = int(nxt[j])
            moved = int(who[j, j2])
            members[j].remove(moved)
            members[j2].append(moved)
            owner[moved] = j2
            j = j2
        load[j] += 1
    return pd.Series(fit.columns[owner], index=fit.index, name="csm_id")


def greedy_assignment(fit: pd.DataFrame, capacity) -> pd.Series:
    """Best pairs first: walk (account, CSM) pairs from the highest fit down, take a pair when the
    account is still free and the CSM has room. Fast and intuitive, but not optimal."""
    cap = _capacities(fit, capacity).copy()
    values = fit.to_numpy(float)
    n, k = values.shape
    order = np.argsort(-values, axis=None, kind="stable")
    owner = np.full(n, -1)
    left = n
    for flat in order:
        a, j = divmod(int(flat), k)
        if owner[a] < 0 and cap[j] > 0:
            owner[a] = j
            cap[j] -= 1
            left -= 1
            if not left:
                break
    return pd.Series(fit.columns[owner], index=fit.index, name="csm_id")


def naive_assignment(fit: pd.DataFrame, capacity, order: Iterable | None = None) -> pd.Series:
    """Deal accounts out in turn (in ``order``, default the table's order), skipping full CSMs.

    This ignores fit entirely: what a team does when it assigns by "whoever is next"."""
    cap = _capacities(fit, capacity).copy()
    index = list(fit.index) if order is None else list(order)
    if sorted(map(str, index)) != sorted(map(str, fit.index)):
        raise FitError("order には適合度の表のすべての顧客IDを1回ずつ並べてください。")
    k = len(fit.columns)
    out = {}
    turn = 0
    for account in index:
        while cap[turn % k] == 0:
            turn += 1
        j = turn % k
        out[account] = fit.columns[j]
        cap[j] -= 1
        turn += 1
    return pd.Series(out, name="csm_id").reindex(fit.index)


def total_fit(assignment: pd.Series, fit: pd.DataFrame) -> float:
    """Sum of the fit of each account with its assigned CSM."""
    _check_assignment(assignment, fit)
    rows = fit.index.get_indexer(assignment.index)
    cols = fit.columns.get_indexer(assignment.to_numpy())
    return float(fit.to_numpy(float)[rows, cols].sum())


def _check_assignment(assignment: pd.Series, fit: pd.DataFrame) -> None:
    if not isinstance(assignment, pd.Series):
        raise FitError("割り当ては 顧客ID→CSM ID の Series で渡してください。")
    unknown = [a for a in assignment.index if a not in fit.index]
    if unknown:
        raise FitError("適合度の表にない顧客IDがあります: " + "、".join(map(str, unknown[:5])))
    unknown = sorted({c for c in assignment.to_numpy() if c not in fit.columns}, key=str)
    if unknown:
        raise FitError("適合度の表にないCSM IDがあります: " + "、".join(map(str, unknown[:5])))


def evaluate(assignment: pd.Series, fit: pd.DataFrame, *, current: pd.Series | None = None,
             arr: pd.Series | None = None, capacity=None, top_n: int = 20) -> pd.Series:
    """Numbers a leader should look at for one assignment, including what the fit model hides.

    ``total_fit`` / ``mean_fit`` / ``worst_fit`` / ``poor_matches`` (accounts with negative fit);
    ``max_load`` / ``min_load``; ``over_capacity`` (accounts beyond capacity, when given);
    ``owner_changes`` vs ``current`` (each one restarts a relationship); ``top_accounts_with_one_csm``:
    the largest number of the ``top_n`` biggest-ARR accounts held by a single CSM (concentration).
    """
    _check_assignment(assignment, fit)
    rows = fit.index.get_indexer(assignment.index)
    cols = fit.columns.get_indexer(assignment.to_numpy())
    values = fit.to_numpy(float)[rows, cols]
    load = assignment.value_counts().reindex(fit.columns, fill_value=0)
    out = {"total_fit": float(values.sum()), "mean_fit": float(values.mean()), "worst_fit": float(values.min()),
           "poor_matches": int((values < 0).sum()), "max_load": int(load.max()), "min_load": int(load.min())}
    if capacity is not None:
        cap = pd.Series(capacity, index=fit.columns) if not isinstance(capacity, (Mapping, pd.Series)) \
            else pd.Series(capacity).reindex(fit.columns)
        out["over_capacity"] = int((load - cap).clip(lower=0).sum())
    if current is not None:
        cur = current.reindex(assignment.index)
        out["owner_changes"] = int((cur != assignment).sum())
    if arr is not None:
        top = arr.reindex(assignment.index).nlargest(min(top_n, len(assignment))).index
        out["top_accounts_with_one_csm"] = int(assignment.loc[top].value_counts().max())
    return pd.Series(out)


def compare(fit: pd.DataFrame, capacity, *, current: pd.Series | None = None, arr: pd.Series | None = None,
            order: Iterable | None = None) -> pd.DataFrame:
    """Naive, greedy and optimal assignments (and ``current`` when given) side by side."""
    plans = {}
    if current is not None:
        plans["現在の担当"] = current.reindex(fit.index)
    plans["順番に割り当て"] = naive_assignment(fit, capacity, order)
    plans["貪欲法 (適合度の高い順)"] = greedy_assignment(fit, capacity)
    plans["最適化 (適合度の合計が最大)"] = optimal_assignment(fit, capacity)
    table = pd.DataFrame({name: evaluate(plan, fit, current=current, arr=arr, capacity=capacity)
                          for name, plan in plans.items()}).T
    counts = [c for c in table.columns if c not in ("total_fit", "mean_fit", "worst_fit")]
    return table.astype({c: "Int64" for c in counts})


def fit_vs_churn(fit: pd.DataFrame, assignment: pd.Series, churned: pd.Series, bins: int = 4) -> pd.DataFrame:
    """Churn rate by fit quartile of the *actual* pairs: does better fit go with less churn here?"""
    _check_assignment(assignment, fit)
    rows = fit.index.get_indexer(assignment.index)
    cols = fit.columns.get_indexer(assignment.to_numpy())
    frame = pd.DataFrame({"fit": fit.to_numpy(float)[rows, cols],
                          "churned": churned.reindex(assignment.index).astype(float).to_numpy()},
                         index=assignment.index)
    labels = [f"適合度 {i + 1}/{bins}" for i in range(bins)]
    frame["band"] = pd.qcut(frame["fit"].rank(method="first"), bins, labels=labels)
    return frame.groupby("band", observed=True).agg(accounts=("fit", "size"), mean_fit=("fit", "mean"),
                                                     churn_rate=("churned", "mean"))


# --- exercise 05 問5: a reassignment with few owner changes ------------------------------------------------------

REASSIGN_CSMS = ("C01", "C02", "C03", "C04")


def reassignment_case(seed: int, *, accounts: int = 8, max_changes: int = 2) -> tuple[pd.DataFrame, pd.Series]:
    """One learner's case for exercise 05 問5: ``(fit, current)``.

    ``fit`` is an ``accounts`` × 4 table of skill fit (K1…, C01–C04, two decimals); ``current`` the present owner of
    each account, two accounts per CSM, so every CSM is at capacity and a single move is impossible: with at most
    ``max_changes`` owner changes the only plans are the current one and swaps of two accounts. The draw makes the
    best such plan unique (by at least 0.02), better than the current one, and different from the unconstrained
    optimum (which changes more owners), so ``optimal_assignment`` does not answer the question."""
    if max_changes != 2 or accounts % len(REASSIGN_CSMS):
        raise ValueError("担当替えは2社まで、顧客数はCSMの人数の倍数で指定してください。")
    rng = np.random.default_rng(seed)
    index = [f"K{i + 1}" for i in range(accounts)]
    cols = list(REASSIGN_CSMS)
    capacity = accounts // len(cols)
    while True:
        fit = pd.DataFrame(np.round(rng.uniform(-1, 1, size=(accounts, len(cols))), 2), index=index, columns=cols)
        current = pd.Series([cols[i] for i in rng.permutation(np.repeat(np.arange(len(cols)), capacity))],
                            index=index, name="csm_id")
        gains = []
        for i in range(accounts):
            for j in range(i + 1, accounts):
                a, b = index[i], index[j]
                if current[a] != current[b]:
                    gains.append(fit.loc[a, current[b]] + fit.loc[b, current[a]]
                                 - fit.loc[a, current[a]] - fit.loc[b, current[b]])
        gains = sorted(gains, reverse=True)
        best = optimal_assignment(fit, capacity)
        changes = int((best != current).sum())
        if gains[0] >= 0.05 and gains[0] - gains[1] >= 0.02 and changes > max_changes:
            return fit, current
