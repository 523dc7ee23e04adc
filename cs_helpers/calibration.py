"""Expectation calibration (module 03): touch models, responsibility scope, phases and success plans.

* ``touch_by_rule`` / ``touch_table``: the course's touch-model rule from ARR and implementation complexity.
* ``assign_touch``: the same rule under a CSM capacity constraint (hours per month), downgrading the
  lowest-priority accounts first and saying why.
* ``check_requests``: a responsibility-scope checker. Each request says who does what in which area;
  the checker flags work that belongs to the customer's operation and impossible processes (無理ゲー).
* ``phase_of`` / ``handover_schedule``: 代走 → 伴走 → 自走 helpers.
* ``Milestone`` / ``check_success_plan`` / ``plot_success_plan``: a success plan whose milestones are
  deliverables that act as phase gates.

Learner-facing messages are Japanese; identifiers and docstrings are English.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

import numpy as np
import pandas as pd

# --- touch models ------------------------------------------------------------------------------------------

TOUCH_MODELS = ("high", "low", "tech")
TOUCH_JA = {"high": "ハイタッチ", "low": "ロータッチ", "tech": "テックタッチ"}
TOUCH_ROLE = {"high": "パーソナルトレーナー", "low": "クラスの先生", "tech": "アナウンサー"}
TOUCH_DESCRIPTION = {
    "high": "一社ごとに目標と計画を一緒に作り、定例で進み具合を確かめる",
    "low": "似た状況の顧客を集め、勉強会やウェビナーでまとめて教える",
    "tech": "メール・ヘルプ記事・アプリ内メッセージで、必要な情報を必要な時に届ける",
}
# CSM hours per account per month that each model needs (course assumption, editable per team).
DEFAULT_HOURS = {"high": 6.0, "low": 1.5, "tech": 0.1}
HIGH_ARR = 3_000_000
HIGH_ARR_COMPLEX = 1_500_000
HIGH_COMPLEXITY = 4
LOW_ARR = 700_000


def touch_by_rule(arr_jpy: float, complexity: int) -> str:
    """high if ARR ≥ 3,000,000, or complexity ≥ 4 and ARR ≥ 1,500,000; low if ARR ≥ 700,000; else tech."""
    if arr_jpy is None or complexity is None or pd.isna(arr_jpy) or pd.isna(complexity):
        raise ValueError("ARR (年間契約額) と複雑さ (1〜5) の両方が必要です。空欄の顧客があります。")
    if not 1 <= int(complexity) <= 5:
        raise ValueError(f"複雑さは1〜5の整数です (受け取った値: {complexity})。")
    if arr_jpy >= HIGH_ARR or (complexity >= HIGH_COMPLEXITY and arr_jpy >= HIGH_ARR_COMPLEX):
        return "high"
    if arr_jpy >= LOW_ARR:
        return "low"
    return "tech"


def _require(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(f"{what}に列「{'」「'.join(missing)}」がありません。")


def touch_table(accounts: pd.DataFrame) -> pd.DataFrame:
    """Accounts with ``rule_touch`` (what the rule says) and ``matches`` (does the current touch_model agree)."""
    _require(accounts, ("account_id", "arr_jpy", "complexity"), "accounts")
    out = accounts.copy()
    out["rule_touch"] = [touch_by_rule(a, c) for a, c in zip(out["arr_jpy"], out["complexity"])]
    if "touch_model" in out.columns:
        out["matches"] = out["touch_model"].astype(str) == out["rule_touch"]
    return out


def exercise_sample(accounts: pd.DataFrame, seed: int, n: int = 8) -> pd.DataFrame:
    """One learner's accounts for exercise 03 問1: ``n`` accounts, 2–4 of them (by ``seed``) on a touch model the
    rule does not give, in shuffled order. Copying the current ``touch_model`` column therefore never passes."""
    table = touch_table(accounts)
    rng = np.random.default_rng(seed)
    off = table[~table["matches"]]
    k = min(2 + seed % 3, len(off), n)
    picked = pd.concat([off.sample(n=k, random_state=rng), table[table["matches"]].sample(n=n - k, random_state=rng)])
    picked = picked.sample(frac=1, random_state=rng)
    return picked[["account_id", "company_name", "arr_jpy", "complexity", "touch_model"]].reset_index(drop=True)


def capacity_needed(touches: Iterable[str], hours: Mapping[str, float] | None = None) -> float:
    """Monthly CSM hours needed to serve accounts with the given touch models."""
    hours = {**DEFAULT_HOURS, **(hours or {})}
    total = 0.0
    for t in touches:
        if t not in hours:
            raise ValueError(f"タッチモデル「{t}」は使えません。high・low・tech のいずれかです。")
        total += hours[t]
    return round(total, 6)


def assign_touch(accounts: pd.DataFrame, capacity_hours: float, *,
                 hours: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Touch model per account under a capacity of ``capacity_hours`` CSM hours per month.

    Start from the rule. While the total exceeds capacity, move the lowest-priority account one step down
    (high → low first, then low → tech). Priority = ARR, then complexity (higher keeps the richer touch),
    then account_id for a stable order. Columns added: ``rule_touch``, ``assigned_touch``, ``downgraded``,
    ``reason``. ``attrs['hours_needed']`` / ``attrs['hours_used']`` hold the totals; if even all-tech
    does not fit, ``attrs['over_capacity']`` is True (the team needs more people, not a smaller plan).
    """
    if capacity_hours is None or capacity_hours < 0:
        raise ValueError("capacity_hours (CSMが1か月に使える時間) は0以上の数で指定してください。")
    hours = {**DEFAULT_HOURS, **(hours or {})}
    table = touch_table(accounts)
    table["assigned_touch"] = table["rule_touch"]
    needed = capacity_needed(table["rule_touch"], hours)
    used = needed
    for src, dst in (("high", "low"), ("low", "tech")):
        if used <= capacity_hours:
            break
        cand = table[table["assigned_touch"] == src].sort_values(
            ["arr_jpy", "complexity", "account_id"], ascending=[True, True, False])
        for idx in cand.index:
            if used <= capacity_hours + 1e-9:
                break
            table.at[idx, "assigned_touch"] = dst
            used -= hours[src] - hours[dst]
    table["downgraded"] = table["assigned_touch"] != table["rule_touch"]
    table["reason"] = [
        f"工数上限のため{TOUCH_JA[r]}→{TOUCH_JA[a]}" if d else "ルールどおり"
        for r, a, d in zip(table["rule_touch"], table["assigned_touch"], table["downgraded"])
    ]
    table.attrs.update(hours_needed=round(needed, 6), hours_used=round(used, 6),
                       capacity_hours=capacity_hours, over_capacity=used > capacity_hours + 1e-9)
    return table



# --- exercise 03 問2・問3: capacity cases -------------------------------------------------------------------

RENEWAL_WINDOW_DAYS = 180   # a renewal this close to the snapshot puts an account first in line for high touch


def _high_order(high: pd.DataFrame, asof: pd.Timestamp, window_days: int) -> list[str]:
    """Rule-high accounts in the order they get a high-touch slot: renewing within the window first, then by
    ARR (larger first), complexity (higher first), account_id."""
    soon = ((high["renewal_date"] - asof).dt.days <= window_days) & (high["renewal_date"] >= asof)
    order = high.assign(_late=~soon).sort_values(["_late", "arr_jpy", "complexity", "account_id"],
                                                  ascending=[True, False, False, True])
    return [str(a) for a in order["account_id"]]


def capacity_case(accounts: pd.DataFrame, seed: int, *, window_days: int = RENEWAL_WINDOW_DAYS,
                  hours: Mapping[str, float] | None = None) -> tuple[str, int]:
    """One learner's capacity case for exercise 03 問2・問3: ``(csm_id, capacity_hours)``.

    The CSM has at least 6 continuing accounts the rule puts on high touch; the whole-hour capacity leaves room
    for ``k`` of them (2 ≤ k ≤ n − 2, the rest on low touch, nothing else changed), and for that ``k`` the
    renewal-first order keeps a different set than ARR order alone (so ``assign_touch`` does not answer 問3).
    The capacity is at least 0.05 h away from the limits of ``k`` so that rounding never decides the answer."""
    hours = {**DEFAULT_HOURS, **(hours or {})}
    saving = hours["high"] - hours["low"]
    from .data import SNAPSHOT   # the "today" of the shipped data
    asof = SNAPSHOT
    cases = []
    for csm in sorted(accounts["csm_id"].astype(str).unique()):
        book = accounts[(accounts["csm_id"].astype(str) == csm) & ~accounts["churned"].astype(bool)]
        table = touch_table(book)
        high = table[table["rule_touch"] == "high"]
        n = len(high)
        if n < 6:
            continue
        need = capacity_needed(table["rule_touch"], hours)
        by_arr = [str(a) for a in high.sort_values(["arr_jpy", "complexity", "account_id"],
                                                   ascending=[False, False, True])["account_id"]]
        first = _high_order(high, asof, window_days)
        for k in range(2, n - 1):
            if set(first[:k]) == set(by_arr[:k]):
                continue
            low = need - saving * (n - k)   # the smallest capacity that keeps k accounts on high touch
            caps = [c for c in range(int(np.ceil(low)), int(np.floor(low + saving)) + 1)
                    if c - low >= 0.05 and low + saving - c >= 0.05]
            cases += [(csm, c) for c in caps]
    if not cases:
        raise ValueError("工数の題材を作れる担当CSMが見つかりません。データを確認してください。")
    csm, cap = cases[int(np.random.default_rng(seed).integers(len(cases)))]
    return csm, int(cap)


def capacity_levers(book: pd.DataFrame, capacity_hours: float, seed: int, *,
                    hours: Mapping[str, float] | None = None) -> pd.DataFrame:
    """Five measures for exercise 03 問2, each judged on its own: does the rule-based plan fit in
    ``capacity_hours`` after it? Columns: ``id`` (P1–P5, shuffled by ``seed``), ``打ち手`` (the text), ``kind``,
    ``count`` (accounts moved or handed over; for ``mixed`` the high-touch ones; for ``high_hours`` and
    ``tech_zero`` the accounts of that touch model) and ``value`` (new hours
    per high-touch account for ``high_hours``, else NaN).

    Kinds: ``high_to_low`` (the k smallest-ARR high-touch accounts move to low), ``handover`` (they go to a new
    CSM), ``mixed`` (every low-touch account moves to tech, plus k high → low) or, when low → tech alone can close
    the gap, ``low_to_tech`` (the k smallest-ARR low-touch accounts move to tech), ``high_hours`` (fewer hours per
    high-touch account), ``tech_zero`` (no tech touch at all). The first four sit one step either side of the
    point where they close the gap (which side is random), so each must be worked out; the fifth is whatever the
    data says (almost never enough: the hours are not in tech touch)."""
    hours = {**DEFAULT_HOURS, **(hours or {})}
    rule = touch_table(book)["rule_touch"]
    n = {t: int((rule == t).sum()) for t in TOUCH_MODELS}
    gap = capacity_needed(rule, hours) - float(capacity_hours)
    if gap <= 0:
        raise ValueError("工数は上限に収まっています。打ち手を考える必要はありません。")
    rng = np.random.default_rng([seed, 3])   # a stream of its own: capacity_case draws from default_rng(seed)
    rows: list[tuple[str, str, int, float]] = []

    def boundary(need: float, per: float, lowest: int, most: int) -> int:
        m = int(np.ceil(need / per - 1e-9))          # fewest accounts that close what is left of the gap
        k = max(lowest, m - int(rng.integers(2)))
        if abs(k * per - need) < 0.05:                # never let rounding decide
            k += 1
        return min(k, most)

    k = boundary(gap, hours["high"] - hours["low"], 1, n["high"])
    rows.append((f"ハイタッチの顧客のうち、ARRの小さい方から{k}社をロータッチに移す", "high_to_low", k, float("nan")))
    k = boundary(gap, hours["high"], 1, n["high"])
    rows.append((f"ハイタッチの顧客のうち、ARRの小さい方から{k}社を、新しく入るCSMに引き継ぐ", "handover", k,
                 float("nan")))
    rest = gap - n["low"] * (hours["low"] - hours["tech"])
    if rest > 0:     # every low-touch account to tech is not enough on its own: add k high → low moves
        k = boundary(rest, hours["high"] - hours["low"], 1, n["high"])
        rows.append((f"ロータッチの{n['low']}社をすべてテックタッチに移す。あわせて、ハイタッチのARRの小さい方から"
                     f"{k}社をロータッチに移す", "mixed", k, float("nan")))
    else:            # low → tech alone can close the gap: j of them
        k = boundary(gap, hours["low"] - hours["tech"], 1, n["low"])
        rows.append((f"ロータッチの顧客のうち、ARRの小さい方から{k}社をテックタッチに移す", "low_to_tech", k,
                     float("nan")))
    best = hours["high"] - gap / n["high"]           # the highest new hours that still closes the gap
    value = float(np.floor((best - 1e-9) / 0.5) * 0.5 + 0.5 * int(rng.integers(2)))
    value = min(max(value, 0.5), hours["high"] - 0.5)
    if abs((hours["high"] - value) * n["high"] - gap) < 0.05:
        value = max(0.5, value - 0.5)
    rows.append((f"ハイタッチの定例を隔月にして、ハイタッチ{n['high']}社の1社あたりの工数を{value:g}時間にする", "high_hours",
                 n["high"], value))
    rows.append((f"テックタッチ{n['tech']}社へのメール配信とヘルプ記事の案内をやめ、テックタッチの工数を0にする", "tech_zero",
                 n["tech"], float("nan")))
    order = rng.permutation(len(rows))
    out = pd.DataFrame([rows[i] for i in order], columns=["打ち手", "kind", "count", "value"])
    out.insert(0, "id", [f"P{i + 1}" for i in range(len(out))])
    return out

# --- responsibility scope and impossible processes (無理ゲー) ---------------------------------------------

SERVICE, OPERATION = "サービス", "業務"
AREAS = (SERVICE, OPERATION)
DOERS = ("CSM", "顧客", "共同")


@dataclass
class Request:
    """One thing the customer asks for, described by who does it and what it needs.

    area: "サービス" (the product and how to use it: ours) or "業務" (the customer's own operation: theirs).
    doer: who would do the work: "CSM", "顧客" or "共同".
    promise_outcome: the request asks CS to guarantee a business result (売上・削減率など).
    days_needed / days_available: calendar days the work takes vs days until the deadline.
    customer_hours_needed / customer_hours_available: the customer's people-hours the process needs vs has.
    inputs_ready: the data or decisions the process starts from exist.
    owner_named: someone on the customer's side is named as the owner.
    in_plan: the feature the process relies on is in the customer's contract plan.
    """
    id: str
    text: str
    area: str
    doer: str
    promise_outcome: bool = False
    days_needed: float | None = None
    days_available: float | None = None
    customer_hours_needed: float | None = None
    customer_hours_available: float | None = None
    inputs_ready: bool = True
    owner_named: bool = True
    in_plan: bool = True

    def __post_init__(self) -> None:
        if self.area not in AREAS:
            raise ValueError(f"依頼 {self.id}: area は「サービス」か「業務」です (受け取った値: {self.area!r})。")
        if self.doer not in DOERS:
            raise ValueError(f"依頼 {self.id}: doer は「CSM」「顧客」「共同」のいずれかです (受け取った値: {self.doer!r})。")


def _as_request(item: Request | Mapping) -> Request:
    if isinstance(item, Request):
        return item
    try:
        return Request(**dict(item))
    except TypeError as exc:
        raise ValueError(f"依頼の書き方が違います: {exc}。id・text・area・doer は必須です。") from exc


def check_request(item: Request | Mapping) -> list[tuple[str, str]]:
    """Problems of one request as (kind, reason) pairs; kind is "責任範囲" or "無理ゲー". Empty = fine."""
    r = _as_request(item)
    problems: list[tuple[str, str]] = []
    if r.area == OPERATION and r.doer == "CSM":
        problems.append(("責任範囲", "顧客の業務そのものをCSMが引き受けています (代走の固定化)。"
                                  "やり方を一緒に作り、実行は顧客側に渡しましょう。"))
    if r.area == OPERATION and r.promise_outcome:
        problems.append(("責任範囲", "業務の成果 (数値) をCS側が保証しています。"
                                  "約束できるのはサービスの提供と支援までです。"))
    if r.days_needed is not None and r.days_available is not None and r.days_needed > r.days_available:
        problems.append(("無理ゲー", f"必要な日数 {r.days_needed:g}日 に対して期限まで {r.days_available:g}日 しかありません。"))
    if (r.customer_hours_needed is not None and r.customer_hours_available is not None
            and r.customer_hours_needed > r.customer_hours_available):
        problems.append(("無理ゲー", f"顧客側に {r.customer_hours_needed:g}時間 必要ですが、"
                                  f"割ける時間は {r.customer_hours_available:g}時間 です。"))
    if not r.inputs_ready:
        problems.append(("無理ゲー", "プロセスの出発点になるデータや決定がまだありません。"))
    if not r.owner_named:
        problems.append(("無理ゲー", "顧客側の担当者が決まっていません。誰も動けないプロセスです。"))
    if not r.in_plan:
        problems.append(("無理ゲー", "契約プランに含まれない機能が前提になっています。"))
    return problems


def check_requests(items: Sequence[Request | Mapping]) -> pd.DataFrame:
    """One row per request: ok, the kinds of problems found and the reasons (Japanese)."""
    rows = []
    seen = set()
    for item in items:
        r = _as_request(item)
        if r.id in seen:
            raise ValueError(f"依頼ID「{r.id}」が重複しています。IDは一意にしてください。")
        seen.add(r.id)
        problems = check_request(r)
        rows.append({
            "id": r.id, "依頼": r.text, "領域": r.area, "実行者": r.doer, "ok": not problems,
            "指摘": "・".join(sorted({k for k, _ in problems})),
            "理由": " / ".join(reason for _, reason in problems),
        })
    return pd.DataFrame(rows, columns=["id", "依頼", "領域", "実行者", "ok", "指摘", "理由"])


def flagged_ids(items: Sequence[Request | Mapping], kind: str | None = None) -> set[str]:
    """Ids of requests with a problem (optionally only of ``kind``: "責任範囲" or "無理ゲー")."""
    table = check_requests(items)
    if kind is None:
        return set(table.loc[~table["ok"], "id"])
    return set(table.loc[table["指摘"].str.contains(kind, regex=False), "id"])


# --- phases: 代走 → 伴走 → 自走 --------------------------------------------------------------------------------

PHASES = ("代走", "伴走", "自走")
PHASE_DESCRIPTION = {
    "代走": "CSMが手を動かし、顧客は見て覚える (初期設定・最初のデータ移行など)",
    "伴走": "顧客が手を動かし、CSMは横で助言し、つまずきを一緒に直す",
    "自走": "顧客だけで回り、CSMは定期的に成果を確かめて次の目標を一緒に考える",
}


def phase_of(csm_share: float) -> str:
    """Phase from the share of the work the CSM still does (0–1): ≥ 0.6 代走, ≥ 0.2 伴走, otherwise 自走."""
    if csm_share is None or not 0 <= float(csm_share) <= 1:
        raise ValueError(f"CSMが担う割合は0〜1の数で指定してください (受け取った値: {csm_share})。")
    if csm_share >= 0.6:
        return "代走"
    if csm_share >= 0.2:
        return "伴走"
    return "自走"


def handover_schedule(tasks: Sequence[str], start: str | pd.Timestamp, *,
                      weeks: Mapping[str, int] | None = None, stagger_weeks: int = 2) -> pd.DataFrame:
    """A handover plan: each task goes 代走 → 伴走 → 自走, later tasks start ``stagger_weeks`` later.

    ``weeks`` gives the length of 代走 and 伴走 (default 2 and 6 weeks); 自走 starts when 伴走 ends.
    """
    if not tasks:
        raise ValueError("引き継ぐ業務 (tasks) を1つ以上指定してください。")
    weeks = {"代走": 2, "伴走": 6, **(weeks or {})}
    start = pd.Timestamp(start)
    rows = []
    for i, task in enumerate(tasks):
        t0 = start + pd.Timedelta(weeks=i * stagger_weeks)
        t1 = t0 + pd.Timedelta(weeks=weeks["代走"])
        t2 = t1 + pd.Timedelta(weeks=weeks["伴走"])
        rows.append({"業務": task, "代走開始": t0, "伴走開始": t1, "自走開始": t2})
    return pd.DataFrame(rows)


# --- success plan -------------------------------------------------------------------------------------------

ACTIVITY_WORDS = ("する", "します", "実施", "対応", "支援", "サポート", "フォロー", "打ち合わせ", "説明")


@dataclass
class Milestone:
    """A phase gate: a deliverable someone can look at, who owns it, when, and the phase it opens."""
    name: str
    deliverable: str
    owner: str          # "顧客" or "CSM" or "共同"
    due: str
    phase: str          # the phase in which the deliverable is produced (who holds the pen)
    done_when: str = ""  # the observable condition that says the gate is passed
    extra: dict = field(default_factory=dict)


def _as_milestone(item: Milestone | Mapping) -> Milestone:
    if isinstance(item, Milestone):
        return item
    try:
        return Milestone(**dict(item))
    except TypeError as exc:
        raise ValueError(f"マイルストーンの書き方が違います: {exc}。name・deliverable・owner・due・phase は必須です。") from exc


def check_success_plan(plan: Sequence[Milestone | Mapping], *, purpose: str | None = None) -> list[str]:
    """Problems with a success plan, in Japanese. Empty list = the plan passes every check.

    Checks: at least 3 milestones; each deliverable is a thing (not an activity like 「〜を支援する」);
    each has an observable done_when; due dates strictly increase; phases never go back
    (代走 → 伴走 → 自走); the last gate reaches 自走 with the customer as owner; when ``purpose``
    is given, the final deliverable mentions at least one of its key words.
    """
    items = [_as_milestone(m) for m in plan]
    issues: list[str] = []
    if len(items) < 3:
        issues.append("マイルストーンが3つ未満です。最終成果物の手前に中間成果物 (フェーズゲート) を置きましょう。")
    prev_due, prev_phase = None, -1
    for i, m in enumerate(items, start=1):
        label = f"{i}番目「{m.name}」"
        if m.phase not in PHASES:
            issues.append(f"{label}: phase は 代走・伴走・自走 のいずれかです。")
            continue
        text = m.deliverable.strip()
        if not text:
            issues.append(f"{label}: 成果物が空欄です。")
        elif text.endswith(ACTIVITY_WORDS):
            issues.append(f"{label}: 成果物が活動 (「{text}」) になっています。見て確かめられる物 (表・手順書・レポート) にしましょう。")
        if not m.done_when.strip():
            issues.append(f"{label}: 通過の条件 (done_when) がありません。誰が見ても判定できる条件を書きましょう。")
        try:
            due = pd.Timestamp(m.due)
        except (ValueError, TypeError):
            issues.append(f"{label}: 期日「{m.due}」を日付として読めません。YYYY-MM-DD で書いてください。")
            due = None
        if due is not None and prev_due is not None and due <= prev_due:
            issues.append(f"{label}: 期日が前のマイルストーンより後になっていません。")
        prev_due = due if due is not None else prev_due
        rank = PHASES.index(m.phase)
        if rank < prev_phase:
            issues.append(f"{label}: フェーズが {PHASES[prev_phase]} から {m.phase} に戻っています。")
        prev_phase = max(prev_phase, rank)
    if items:
        last = items[-1]
        if last.phase != "自走":
            issues.append("最後のマイルストーンが自走に届いていません。CSがいなくても回る状態をゴールにしましょう。")
        if last.owner != "顧客":
            issues.append("最後の成果物の持ち主が顧客になっていません。自走のゴールは顧客のものです。")
        if purpose:
            words = [w for w in _key_words(purpose) if len(w) >= 2]
            if words and not any(w in last.deliverable or w in last.done_when for w in words):
                issues.append("最終成果物が導入目的とつながっていません。目的の言葉で成果を確かめられるようにしましょう。")
    return issues


def _key_words(text: str) -> list[str]:
    import re
    return re.findall(r"[一-龥ァ-ヴーA-Za-z0-9]{2,}", text)


def gate_status(plan: Sequence[Milestone | Mapping], passed: Iterable[str]) -> pd.DataFrame:
    """Which gates are passed and which one is next; ``passed`` holds milestone names."""
    items = [_as_milestone(m) for m in plan]
    passed = set(passed)
    unknown = passed - {m.name for m in items}
    if unknown:
        raise ValueError(f"計画にないマイルストーン名です: {'、'.join(sorted(unknown))}")
    rows, next_found = [], False
    for m in items:
        if m.name in passed:
            state = "通過"
        elif not next_found:
            state, next_found = "次のゲート", True
        else:
            state = "未着手"
        rows.append({"マイルストーン": m.name, "成果物": m.deliverable, "フェーズ": m.phase, "期日": m.due,
                     "状態": state})
    return pd.DataFrame(rows)


PHASE_COLOURS = {"代走": "#d9534f", "伴走": "#e8b22a", "自走": "#2e9d5b"}


def plot_success_plan(plan: Sequence[Milestone | Mapping], *, start: str | None = None, ax=None):
    """Timeline of the plan: coloured phase bands and one diamond per gate with its deliverable."""
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    from .plotting import setup

    setup()
    items = [_as_milestone(m) for m in plan]
    if not items:
        raise ValueError("マイルストーンが1つもありません。")
    dues = [pd.Timestamp(m.due) for m in items]
    t0 = pd.Timestamp(start) if start else dues[0] - pd.Timedelta(days=30)
    if ax is None:
        fig, ax = plt.subplots(figsize=(11, 3.6))
    else:
        fig = ax.figure
    left = t0
    for m, due in zip(items, dues):
        ax.axvspan(left, due, color=PHASE_COLOURS.get(m.phase, "#cccccc"), alpha=0.18, lw=0)
        left = due
    for i, (m, due) in enumerate(zip(items, dues)):
        y = 0.55 if i % 2 == 0 else -0.55
        ax.plot([due], [0], marker="D", markersize=11, color=PHASE_COLOURS.get(m.phase, "#888888"))
        ax.plot([due, due], [0, y * 0.7], color="#999999", lw=0.8)
        ax.text(due, y, f"{m.name}\n{m.deliverable}", ha="center", va="center", fontsize=8.5,
                bbox=dict(boxstyle="round,pad=0.3", fc="white", ec=PHASE_COLOURS.get(m.phase, "#888888")))
    ax.axhline(0, color="#555555", lw=1)
    ax.set_ylim(-1.1, 1.1)
    ax.set_yticks([])
    ax.set_xlim(t0, dues[-1] + pd.Timedelta(days=25))
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%Y-%m"))
    handles = [plt.Rectangle((0, 0), 1, 1, color=c, alpha=0.4) for c in PHASE_COLOURS.values()]
    ax.legend(handles, [f"{p}の期間" for p in PHASE_COLOURS], loc="upper left", fontsize=8, ncols=3,
              frameon=False, bbox_to_anchor=(0, 1.18))
    ax.grid(False)
    return fig
