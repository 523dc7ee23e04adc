"""Module 06 (the commercial lifecycle): onboarding, the renewal calendar, silent renewal risk,
stakeholder coverage, ROI in the customer's numbers and the load of a book of business.

Retention figures (GRR, NRR, logo churn) live in ``revenue``; this module holds the lifecycle rules the
lesson teaches, each a small function with the rule in its docstring so a trainer can change it in one place.
The per-learner exercise variants (``exercise_*``) derive every number from ``sha256`` of the learner seed only,
so the trainer's hidden tests can recompute them without any function a learner's notebook could replace.
"""
from __future__ import annotations

import hashlib
import math

import pandas as pd

from .data import active_accounts, as_date

# --------------------------------------------------------------------------------------------------
# onboarding: the sales → CS handoff, time to first value, exit criteria
# --------------------------------------------------------------------------------------------------
HANDOFF_ITEMS = {
    "purpose": "導入目的 (お客様の言葉で、何をどう良くしたいか)",
    "success": "成功の基準 (いつまでに、どの数字がどうなれば成功か)",
    "people": "決裁者・推進役・現場の責任者の名前と役割",
    "scope": "導入範囲 (部署・拠点・人数) と、後から広げる予定",
    "promises": "営業が約束したこと・約束していないこと (機能・期日・価格)",
    "contract": "契約条件 (期間・自動更新・解約予告期間・決裁ルート)",
    "budget": "予算の出どころと稟議の経緯、顧客の決算月",
    "risks": "懸念・反対者・比較した他社と、選ばれた理由",
}
REASK_AT_KICKOFF = ("purpose", "success", "people")  # always confirmed again with the customer in person

FIRST_VALUE_UTILISATION = 0.5  # at least half the seats active in a month ...
FIRST_VALUE_FEATURES = 3       # ... using at least three key features


def handoff_gaps(memo: dict) -> list[str]:
    """Keys of ``HANDOFF_ITEMS`` the handoff ``memo`` leaves empty (missing, blank or 「不明」/「未定」)."""
    if not isinstance(memo, dict):
        raise TypeError("memo には {項目のキー: 内容} の辞書を渡してください。キーは lifecycle.HANDOFF_ITEMS を参照。")
    unknown = [k for k in memo if k not in HANDOFF_ITEMS]
    if unknown:
        raise ValueError(f"「{unknown[0]}」は引き継ぎ項目にありません。使えるキー: " + "、".join(HANDOFF_ITEMS))
    blank = {"", "不明", "未定", "なし", "-"}
    return [k for k in HANDOFF_ITEMS if str(memo.get(k) or "").strip() in blank]


def time_to_first_value(accounts: pd.DataFrame, usage: pd.DataFrame, since="2023-10-01") -> pd.DataFrame:
    """Per account that started on or after ``since``: days from contract start to the first month with
    ``FIRST_VALUE_UTILISATION`` of seats active and ``FIRST_VALUE_FEATURES`` key features used (``ttv_days``;
    empty if never reached), with ``touch_model`` and ``churned`` for comparison."""
    start = as_date(since, "since")
    new = accounts[pd.to_datetime(accounts["contract_start"]) >= start].set_index("account_id")
    u = usage[usage["account_id"].isin(new.index)]
    reached = u[(u["active_users"] / u["seats"] >= FIRST_VALUE_UTILISATION) & (u["key_features_used"] >= FIRST_VALUE_FEATURES)]
    first = reached.groupby(reached["account_id"].astype(str))["month"].min()
    out = new[["touch_model", "churned"]].copy()
    out["first_value_month"] = first.reindex(out.index)
    # the value shows at the end of that month at the latest; never count a start date after it
    month_end = out["first_value_month"] + pd.offsets.MonthEnd(0)
    out["ttv_days"] = (month_end - pd.to_datetime(new["contract_start"])).dt.days.astype("Float64")
    return out


# --------------------------------------------------------------------------------------------------
# renewal calendar
# --------------------------------------------------------------------------------------------------
RENEWAL_LEAD_DAYS = {"high": 180, "low": 120, "tech": 90}  # start preparing this many days before the term ends
NOTICE_BUFFER_DAYS = 60   # the value conversation happens this long before the customer's notice deadline
RINGI_LEAD_DAYS = 150     # an executive 稟議 or a board decision needs at least this long


def budget_month(term_end, fiscal_year_end_month: int) -> pd.Timestamp:
    """First day of the month in which the customer fixes the budget that pays for the renewal on ``term_end``:
    two months before the start of the customer's fiscal year containing ``term_end`` (March year end:
    budgets for April–March are set in January)."""
    end = as_date(term_end, "term_end")
    fy_start_month = fiscal_year_end_month % 12 + 1
    fy_start_year = end.year if end.month >= fy_start_month else end.year - 1
    return pd.Timestamp(year=fy_start_year, month=fy_start_month, day=1) - pd.DateOffset(months=2)


def prep_start(term_end, touch_model: str, auto_renew: bool, notice_days: int, approval_route: str) -> pd.Timestamp:
    """The day renewal preparation must start: the earliest of
    (a) ``term_end`` − ``RENEWAL_LEAD_DAYS[touch_model]``;
    (b) with 自動更新, the notice deadline (``term_end`` − ``notice_days``) − ``NOTICE_BUFFER_DAYS``;
    (c) when an executive 稟議 or the board decides (役員稟議・取締役会), ``term_end`` − ``RINGI_LEAD_DAYS``."""
    end = as_date(term_end, "term_end")
    if touch_model not in RENEWAL_LEAD_DAYS:
        raise ValueError(f"touch_model「{touch_model}」は使えません。high / low / tech のいずれかです。")
    days = [RENEWAL_LEAD_DAYS[touch_model]]
    if auto_renew:
        days.append(int(notice_days) + NOTICE_BUFFER_DAYS)
    if approval_route in ("役員稟議", "取締役会"):
        days.append(RINGI_LEAD_DAYS)
    return end - pd.Timedelta(days=max(days))


def next_renewal(accounts: pd.DataFrame, contracts: pd.DataFrame, on) -> pd.DataFrame:
    """``contracts`` as they stood on day ``on`` for the customers of that day.

    ``contracts.csv`` holds the current (or last) term only. On a day before that term began, the account
    was in an earlier term, and earlier terms were annual: its term then ended on the first contract-start
    anniversary after ``on``. Reading ``term_end`` as-is for a past day would leak the future: only the
    accounts that later churned have a term ending soon after a past day."""
    day = as_date(on, "on")
    live = active_accounts(accounts, day)[["account_id", "contract_start"]]
    out = live.merge(contracts, on="account_id", how="inner")
    earlier = out["term_start"] > day
    ends = []
    for began, in_earlier, end in zip(pd.to_datetime(out["contract_start"]), earlier, out["term_end"]):
        k = 1
        while in_earlier and began + pd.DateOffset(years=k) <= day:
            k += 1
        ends.append(began + pd.DateOffset(years=k) if in_earlier else end)
    out["term_end"] = pd.to_datetime(pd.Series(ends, index=out.index))
    out.loc[earlier, "term_months"] = 12
    out.loc[earlier, "term_start"] = out.loc[earlier, "term_end"] - pd.DateOffset(years=1)
    out.loc[earlier, "cancel_notice_on"] = pd.NaT
    return out.drop(columns="contract_start")


def renewal_calendar(accounts: pd.DataFrame, contracts: pd.DataFrame, on, horizon_days: int = 240) -> pd.DataFrame:
    """Customers on day ``on`` whose term ends within ``horizon_days``: term end, notice deadline, the day
    preparation must start (``prep_start``), whether that day has passed, and the customer's budget month.
    Sorted by ``prep_start``."""
    day = as_date(on, "on")
    live = active_accounts(accounts, day)[["account_id", "company_name", "csm_id", "touch_model", "arr_jpy"]]
    cal = live.merge(next_renewal(accounts, contracts, day), on="account_id", how="inner")
    cal = cal[(cal["term_end"] > day) & (cal["term_end"] <= day + pd.Timedelta(days=horizon_days))].copy()
    cal["notice_deadline"] = (cal["term_end"] - pd.to_timedelta(cal["notice_days"], unit="D")).where(cal["auto_renew"])
    cal["prep_start"] = [prep_start(r.term_end, r.touch_model, r.auto_renew, r.notice_days, r.approval_route)
                         for r in cal.itertuples(index=False)]
    cal["should_have_started"] = cal["prep_start"] <= day
    cal["budget_month"] = [budget_month(r.term_end, r.fiscal_year_end_month) for r in cal.itertuples(index=False)]
    cal["days_to_renewal"] = (cal["term_end"] - day).dt.days
    cols = ["account_id", "company_name", "csm_id", "touch_model", "arr_jpy", "term_end", "days_to_renewal",
            "auto_renew", "notice_deadline", "approval_route", "budget_month", "prep_start", "should_have_started"]
    return cal[cols].sort_values(["prep_start", "account_id"]).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# silent renewal risk and stakeholder coverage
# --------------------------------------------------------------------------------------------------
SILENT_SIGNALS = {
    "usage_falling": "直近3か月の利用率が、その前の3か月より10ポイント以上下がった",
    "no_meeting_90d": "90日以上、CSMとの面談がない",
    "champion_gone": "推進役 (チャンピオン) が異動・退職し、引き継ぎ面談がなかった",
}
SILENT_RENEWAL_DAYS = 180


def silent_risk(tables: dict, on) -> pd.DataFrame:
    """Customers on ``on`` with 自動更新 and a term ending within ``SILENT_RENEWAL_DAYS``, with one column per
    ``SILENT_SIGNALS`` entry, ``tickets_90d`` (a loud customer is not a silent one) and ``silent`` = two or more
    signals and at most one ticket in the last 90 days. Only data known on ``on`` is used."""
    day = as_date(on, "on")
    acc, con = tables["accounts"], tables["contracts"]
    live = active_accounts(acc, day)[["account_id", "company_name", "csm_id", "arr_jpy"]].merge(
        next_renewal(acc, con, day), on="account_id")
    live = live[live["auto_renew"] & (live["term_end"] > day)
                & (live["term_end"] <= day + pd.Timedelta(days=SILENT_RENEWAL_DAYS))].set_index("account_id")
    usage = tables["usage_monthly"]
    done = (day + pd.Timedelta(days=1)).to_period("M").start_time  # months before this one have ended
    u = usage[(usage["month"] < done) & usage["account_id"].isin(live.index)]
    u = u.assign(util=u["active_users"] / u["seats"])
    recent = u[u["month"] >= done - pd.DateOffset(months=3)].groupby("account_id")["util"].mean()
    before = u[(u["month"] < done - pd.DateOffset(months=3)) & (u["month"] >= done - pd.DateOffset(months=6))]
    before = before.groupby("account_id")["util"].mean()
    meetings = tables["meetings"]
    met = meetings[(meetings["date"] <= day) & (meetings["date"] > day - pd.Timedelta(days=90))]["account_id"]
    champions = set(tables["contacts"].loc[tables["contacts"]["is_champion"], "contact_id"])
    ch = tables["contact_changes"]
    gone = ch[(ch["csm_learned_on"] <= day) & ch["contact_id"].isin(champions) & ~ch["handover_meeting"]]["account_id"]
    tk = tables["tickets"]
    tickets = tk[(tk["opened_at"] <= day) & (tk["opened_at"] > day - pd.Timedelta(days=90))].groupby("account_id").size()
    out = live[["company_name", "csm_id", "arr_jpy", "term_end"]].copy()
    out["usage_falling"] = ((before.reindex(out.index) - recent.reindex(out.index)) >= 0.10).to_numpy()
    out["no_meeting_90d"] = ~out.index.isin(set(met))
    out["champion_gone"] = out.index.isin(set(gone))
    out["tickets_90d"] = tickets.reindex(out.index, fill_value=0).astype(int)
    out["signals"] = out[list(SILENT_SIGNALS)].sum(axis=1)
    out["silent"] = (out["signals"] >= 2) & (out["tickets_90d"] <= 1)
    return out.sort_values(["silent", "signals", "arr_jpy"], ascending=False)


def coverage(contacts: pd.DataFrame, changes: pd.DataFrame, on) -> pd.DataFrame:
    """Per account: relationships still in place on ``on`` by deal role (決裁者・管理者・利用者), whether the
    champion is still there, and ``single_threaded`` = at most one of the three roles still covered."""
    day = as_date(on, "on")
    left = set(changes.loc[changes["changed_on"] <= day, "contact_id"])
    here = contacts[~contacts["contact_id"].isin(left)]
    table = pd.crosstab(here["account_id"], here["deal_role"]).reindex(columns=["決裁者", "管理者", "利用者"], fill_value=0)
    table = table.reindex(sorted(contacts["account_id"].unique()), fill_value=0)
    table["champion_here"] = table.index.isin(set(here.loc[here["is_champion"], "account_id"]))
    table["single_threaded"] = (table[["決裁者", "管理者", "利用者"]] > 0).sum(axis=1) <= 1
    return table


# --------------------------------------------------------------------------------------------------
# value realisation and the book of business
# --------------------------------------------------------------------------------------------------
def roi(hours_saved_per_user_month: float, users: int, hourly_cost_jpy: float, annual_fee_jpy: float) -> dict:
    """An ROI story in the customer's own numbers: yearly value of the time saved, ROI and payback months."""
    if annual_fee_jpy <= 0 or users < 0 or hours_saved_per_user_month < 0 or hourly_cost_jpy < 0:
        raise ValueError("年間費用は正の数、削減時間・人数・時間単価は 0 以上で指定してください。")
    value = hours_saved_per_user_month * users * hourly_cost_jpy * 12
    monthly = value / 12
    return {"annual_value_jpy": value, "roi": (value - annual_fee_jpy) / annual_fee_jpy,
            "payback_months": annual_fee_jpy / monthly if monthly else math.inf}


HOURS_PER_ACCOUNT_MONTH = {"high": 6.0, "low": 1.5, "tech": 0.25}  # CSM hours per account per month by touch model
FOCUS_HOURS_PER_MONTH = 110.0  # of ~160 working hours: meetings, internal work and learning take the rest


def book_load(accounts: pd.DataFrame, on, by: str = "csm_id") -> pd.DataFrame:
    """Hours a month each CSM's book needs on ``on`` (``HOURS_PER_ACCOUNT_MONTH`` by touch model) against
    ``FOCUS_HOURS_PER_MONTH``; ``load`` above 1 means the book cannot be served as the touch model promises."""
    live = active_accounts(accounts, on)
    counts = pd.crosstab(live[by], live["touch_model"]).reindex(columns=list(HOURS_PER_ACCOUNT_MONTH), fill_value=0)
    counts["hours"] = sum(counts[t] * h for t, h in HOURS_PER_ACCOUNT_MONTH.items())
    counts["load"] = counts["hours"] / FOCUS_HOURS_PER_MONTH
    return counts.sort_values("load", ascending=False)


def week_plan(tables: dict, csm_id: str, on) -> pd.DataFrame:
    """One CSM's week on day ``on`` in four boxes: 更新 (preparation due and term ending within 240 days),
    赤 (silent renewal risk), オンボーディング (contract started within 90 days) and 拡大 (at least 85 % of seats
    used in each of the last two complete months). One row per account and box, with the reason."""
    day = as_date(on, "on")
    acc = tables["accounts"]
    mine = active_accounts(acc, day)
    mine = mine[mine["csm_id"] == csm_id]
    if mine.empty:
        raise ValueError(f"CSM「{csm_id}」の担当顧客が {day.date()} の時点で見つかりません。例: csm_id='C01'")
    ids = set(mine["account_id"])
    rows = []
    cal = renewal_calendar(acc, tables["contracts"], day)
    for r in cal[cal["account_id"].isin(ids) & cal["should_have_started"]].itertuples(index=False):
        rows.append(("更新", r.account_id, f"{r.term_end.date()} 更新、準備開始日 {r.prep_start.date()} を過ぎている"))
    silent = silent_risk(tables, day)
    for aid, r in silent[silent.index.isin(ids) & silent["silent"]].iterrows():
        rows.append(("赤", aid, f"静かな更新リスク (サイン {int(r['signals'])}つ、{r['term_end'].date()} 更新)"))
    for r in mine[pd.to_datetime(mine["contract_start"]) > day - pd.Timedelta(days=90)].itertuples(index=False):
        rows.append(("オンボーディング", r.account_id, f"{pd.Timestamp(r.contract_start).date()} 契約開始"))
    done = (day + pd.Timedelta(days=1)).to_period("M").start_time
    u = tables["usage_monthly"]
    u = u[u["account_id"].isin(ids) & (u["month"] < done) & (u["month"] >= done - pd.DateOffset(months=2))]
    full = (u["active_users"] / u["seats"] >= 0.85).groupby(u["account_id"]).agg(["all", "size"])
    for aid in full.index[full["all"] & (full["size"] == 2)]:
        rows.append(("拡大", aid, "直近2か月、ライセンスの85%以上が使われている"))
    out = pd.DataFrame(rows, columns=["箱", "account_id", "理由"])
    names = acc.set_index("account_id")["company_name"]
    out.insert(2, "company_name", out["account_id"].map(names))
    order = {"更新": 0, "赤": 1, "オンボーディング": 2, "拡大": 3}
    return out.sort_values(["箱", "account_id"], key=lambda c: c.map(order) if c.name == "箱" else c).reset_index(drop=True)


# --------------------------------------------------------------------------------------------------
# per-learner exercise variants (sha256 of the seed only; the hidden tests recompute them inline)
# --------------------------------------------------------------------------------------------------
def _u(seed: int, key: str) -> float:
    """A uniform number in [0, 1) from the seed and a key."""
    return int.from_bytes(hashlib.sha256(f"{seed}|{key}".encode()).digest()[:4], "big") / 2 ** 32


EXERCISE_TODAYS = ("2026-01-13", "2026-02-10", "2026-05-12", "2026-06-09", "2026-10-06", "2026-11-10")


def exercise_renewals(seed: int) -> tuple[pd.Timestamp, pd.DataFrame]:
    """``TODAY`` and six fictional contracts (R1–R6) for the renewal-calendar item."""
    today = pd.Timestamp(EXERCISE_TODAYS[int(_u(seed, "today") * len(EXERCISE_TODAYS))])
    rows = []
    for i in range(1, 7):
        k = f"R{i}"
        rows.append({
            "顧客": k,
            "契約終了日": today + pd.Timedelta(days=60 + int(_u(seed, k + "end") * 150)),
            "タッチモデル": ("high", "low", "tech")[int(_u(seed, k + "touch") * 3)],
            "自動更新": _u(seed, k + "auto") < 0.7,
            "解約予告日数": (30, 60, 90)[int(_u(seed, k + "notice") * 3)],
            "決裁ルート": ("部長決裁", "役員稟議", "取締役会")[int(_u(seed, k + "route") * 2.4)],
        })
    return today, pd.DataFrame(rows).set_index("顧客")


def exercise_cohort(seed: int) -> pd.DataFrame:
    """A finance team's ARR sheet (万円) for the GRR/NRR item: six cohort accounts and one won during the year."""
    def v(key: str, lo: int, hi: int) -> int:
        return lo + int(_u(seed, key) * (hi - lo + 1))

    a0 = {k: 10 * v(k + "a0", 8, 60) for k in "ABCDEF"}
    end = {
        "A": a0["A"] + 10 * v("Aup", 2, 20),                 # seats added
        "B": a0["B"] - 10 * v("Bdown", 1, a0["B"] // 20),   # seats reduced at renewal
        "C": 0,                                               # churned
        "D": a0["D"],                                         # unchanged
        "E": a0["E"] - 10 * v("Enet", 1, a0["E"] // 20),    # upsold mid-year, downgraded at renewal: net down
        "F": round(a0["F"] * (1 + (5, 8, 10)[v("Fpct", 0, 2)] / 100)),  # price revision at renewal
    }
    notes = {"A": "ライセンス追加", "B": "更新時にライセンス削減", "C": "更新時に解約", "D": "変更なし",
             "E": "期中に上位プランへ変更、更新時にオプション解約と下位プランへ戻す", "F": "更新時に価格改定 (値上げ)"}
    rows = [{"顧客": k, "契約開始日": "2024年以前", "期首ARR": a0[k], "期末ARR": end[k], "備考": notes[k]} for k in "ABCDEF"]
    rows.append({"顧客": "G", "契約開始日": "期中 (新規)", "期首ARR": 0, "期末ARR": 10 * v("G", 10, 80), "備考": "新規契約"})
    return pd.DataFrame(rows).set_index("顧客")


SILENT_ROLES = ("silent_usage", "silent_champion", "edge", "loud", "one_signal", "quiet_healthy")


def exercise_silent(seed: int) -> pd.DataFrame:
    """Six fictional auto-renewing accounts (S1–S6) renewing within 180 days, for the silent-risk item.

    Each learner gets the same six situations in a shuffled order, with their own numbers: two clearly
    silent, one silent exactly on the thresholds, one with every signal but many tickets (loud, not
    silent), one with a single signal and one healthy."""
    order = sorted(range(6), key=lambda j: _u(seed, f"perm{j}"))
    rows = []
    for i, j in enumerate(order, start=1):
        k, role = f"S{i}", SILENT_ROLES[j]
        r = lambda key, lo, hi: lo + int(_u(seed, k + key) * (hi - lo + 1))  # noqa: E731
        use, meet, champ, tickets = {
            "silent_usage": (-r("use", 11, 25), r("meet", 95, 160), False, r("tk", 0, 1)),
            "silent_champion": (-r("use", 0, 8), r("meet", 91, 150), True, 0),
            "edge": (-10, 90, False, 1),
            "loud": (-r("use", 11, 25), r("meet", 95, 160), True, r("tk", 3, 8)),
            "one_signal": (-r("use", 11, 25), r("meet", 10, 80), False, 0),
            "quiet_healthy": (r("use", 0, 8) - 4, r("meet", 10, 80), False, r("tk", 0, 2)),
        }[role]
        rows.append({"顧客": k, "利用率の変化 (pt)": use, "最後の面談からの日数": meet,
                     "推進役の異動 (引き継ぎなし)": champ, "直近90日の問い合わせ件数": tickets})
    return pd.DataFrame(rows).set_index("顧客")


def exercise_book(seed: int) -> dict:
    """Numbers of high / low / tech accounts in the book a learner takes over, and the hires' focus hours."""
    return {"high": 4 + int(_u(seed, "high") * 9), "low": 15 + int(_u(seed, "low") * 30),
            "tech": 40 + int(_u(seed, "tech") * 160)}


# --------------------------------------------------------------------------------------------------
# lesson practices: answer keys and reasons stay here, out of the cells a learner runs
# --------------------------------------------------------------------------------------------------
HANDOFF_EXAMPLE = {
    "purpose": "営業日報の作成時間を減らし、営業が顧客訪問に使える時間を増やしたい (営業部長談)",
    "success": "現場にしっかり定着させたい",
    "people": "決裁: 営業本部長 / 推進役: 営業企画課の主任 / 現場責任者: 未定",
    "scope": "営業部 3 拠点・60 名。来期にカスタマーサポート部へ広げたい意向あり",
    "promises": "",
    "contract": "12か月・自動更新・解約予告 60 日前・役員稟議",
    "budget": "不明",
    "risks": "他社の無料トライアルと比較。入力項目の多さに現場が不安を持っている",
}
_HANDOFF_WHY = {
    "success": "「定着させたい」は願いで、成功の基準ではありません。いつまでに、どの数字がどうなれば成功かが書かれていません。",
    "people": "現場の責任者が「未定」です。利用を広げる人が決まっていないまま、キックオフを迎えることになります。",
    "promises": "空欄です。営業が何を約束したかが分からないと、キックオフで初めて食い違いが見つかります。",
    "budget": "「不明」です。予算の出どころと顧客の決算月が分からないと、更新や拡大の時期を逆算できません。",
    "purpose": "導入目的は、誰の言葉かまで書かれています。キックオフで、決裁者の言葉でもう一度確かめれば十分です。",
    "scope": "部署・人数・広げる予定まで書かれています。",
    "contract": "期間・自動更新・解約予告・決裁ルートがそろっています。",
    "risks": "比較した他社と、現場の不安が具体的に書かれています。",
}

PREP_EXAMPLES = {
    "P1": {"契約終了日": "2027-03-31", "タッチモデル": "tech", "自動更新": True, "解約予告日数": 90, "決裁ルート": "部長決裁"},
    "P2": {"契約終了日": "2027-03-31", "タッチモデル": "high", "自動更新": True, "解約予告日数": 30, "決裁ルート": "役員稟議"},
    "P3": {"契約終了日": "2027-03-31", "タッチモデル": "low", "自動更新": False, "解約予告日数": 60, "決裁ルート": "取締役会"},
}
PREP_RULES = ("(a) タッチモデルの目安", "(b) 解約予告の締切から逆算", "(c) 稟議・取締役会の期間")
_PREP_KEY = {"P1": PREP_RULES[1], "P2": PREP_RULES[0], "P3": PREP_RULES[2]}
_PREP_WHY = {
    "P1": "tech の目安は90日前ですが、解約予告が90日前なので、締切のさらに60日前 (150日前) に始める必要があります。",
    "P2": "high の目安は180日前で、解約予告 (30+60=90日) や役員稟議 (150日) より早い日になります。",
    "P3": "自動更新がないので (b) は使いません。low の目安120日前より、取締役会に必要な150日前が早くなります。",
}

GRR_NRR_EXAMPLE = pd.DataFrame({
    "期首ARR (万円)": [300, 200, 100, 400, 0],
    "期末ARR (万円)": [360, 150, 0, 400, 250],
    "備考": ["ライセンス追加", "更新時にライセンス削減", "更新時に解約", "変更なし", "期中に新規契約"],
}, index=pd.Index(["甲", "乙", "丙", "丁", "戊"], name="顧客"))

QBR_EBR_ITEMS = {
    "q1": "先月追加した帳票機能の使い方と、現場から出た操作上の質問への回答",
    "q2": "導入時に決めた「残業時間2割減」が、いまどこまで達成できたかと、その金額換算",
    "q3": "来期の経営計画に合わせて、どの事業部まで利用を広げるかの方向性",
    "q4": "アクティブユーザー数の推移と、使われていない機能の一覧",
    "q5": "次の1年で、お客様の経営目標のどれに、どのように貢献するかの提案",
    "q6": "問い合わせの対応状況と、未解決のチケットの確認",
}
_QBR_EBR_KEY = {"q1": "QBR", "q2": "EBR", "q3": "EBR", "q4": "QBR", "q5": "EBR", "q6": "QBR"}
_QBR_EBR_WHY = {
    "q1": "操作の話は現場の担当者向けです。役員の時間を使う話題ではありません。",
    "q2": "導入目的の達成度を経営の言葉 (金額) で示すのは、役員が判断に使う情報です。",
    "q3": "利用範囲の方向性は予算と組織の判断なので、決裁者と話します。",
    "q4": "利用の数字は活用を進めるための材料で、現場と改善策を話す定例向きです。",
    "q5": "経営目標への貢献を示すことが、役員との場の中心です。",
    "q6": "チケットの確認は運用の話で、担当者との定例で扱います。",
}

SAVE_ACTIONS = {
    "s1": "すぐに20%の値引きを提示して、更新の確約をもらう",
    "s2": "導入目的と成功の基準に照らして、いまの達成度と止まっている原因を整理する",
    "s3": "社内で上長と営業に共有し、役員同行が必要かを一緒に決める",
    "s4": "新しい決裁者に時間をもらい、導入の経緯と成果をお客様の数字で説明する",
    "s5": "お客様の了解を得ずに、機能の追加開発を約束する",
    "s6": "次の更新までの回復計画 (誰が・いつまでに・何を) を、お客様と合意する",
    "s7": "解約理由を聞かずに、契約書の解約予告期間を理由に更新を求める",
    "s8": "規模を小さくした契約 (ライセンス削減・下位プラン) も、お客様の目的に合うなら選択肢として用意する",
}
_SAVE_KEY = {"s2", "s3", "s4", "s6", "s8"}
_SAVE_WHY = {
    "s1": "値引きは原因を解かず、次の更新でも同じことが起きます。価値が伝わっていないなら、まず価値を取り戻します。",
    "s5": "できるかどうか分からない約束は、信頼を先送りで失うだけです。開発の判断は社内で確かめてからです。",
    "s7": "契約条項で縛っても、1年後に確実に失います。理由を聞くことが最初の一歩です。",
}
_SAVE_CLUES = {
    "s2": "状況を整理する一手", "s3": "社内で誰を巻き込むかの一手", "s4": "新しい決裁者との関係をつくる一手",
    "s6": "お客様と先の計画を合意する一手", "s8": "全部か無しか、以外の選択肢",
}

CHAMPION_MOVED = {
    "A": "新しい担当者に、これまでの経緯をまとめた資料をメールで送り、質問があれば連絡してほしいと伝える",
    "B": "異動した推進役に異動先で時間をもらい、後任と社内の判断者を聞いたうえで、新しい担当者と決裁者に面談をお願いする",
    "C": "契約は続いているので、次の定例まで様子を見る",
}
_CHAMPION_WHY = {
    "A": "資料を送るだけでは、新しい担当者の目標も、誰が判断するかも分かりません。関係は会って作り直すものです。",
    "C": "推進役の交代は、解約のいちばん強い前触れの一つです。定例まで待つと、CSMが知るのがさらに遅れます。",
}

TAKEOVER_NOTES = {
    "A": "先方とは良い関係。例の件は来月あたりにまた相談予定。詳しくは本人に聞いてください。",
    "B": "9/12 定例 (先方: 営業企画 主任 中村様・情シス 課長 佐藤様)。決定: 10月から2拠点目で利用開始。"
         "宿題: 当社 → 10/3 までに拠点追加の手順書を送付。リスク: 推進役の中村様が4月に異動の可能性 (本人談)。",
    "C": "9/12 定例実施。いろいろ話した。先方はおおむね満足。次回は未定。",
}
_TAKEOVER_WHY = {
    "A": "「例の件」「本人に聞いて」では、担当が替わった瞬間に何も分からなくなります。属人化の典型です。",
    "C": "日付はありますが、誰と、何が決まり、次に誰が何をするかがありません。",
}


def practice(pid: str, answer, *, display: bool = True):
    """Check a lesson-06 practice: ``handoff`` (set of keys), ``prep_rule`` ({P1: rule}), ``grr_nrr``
    ((grr, nrr)), ``qbr_ebr`` ({q1: "QBR"/"EBR"}), ``champion_moved`` ("A"/"B"/"C"), ``save_play`` (set of
    s-keys), ``takeover`` ("A"/"B"/"C"). The lesson calls it as ``cs_helpers.practice.check("06.<id>", ...)``,
    the one entry point of every lesson's practices."""
    from . import checks

    if pid == "handoff":
        if isinstance(answer, set) and not answer <= set(HANDOFF_ITEMS):
            return checks._show(checks.CheckResult(False, "引き継ぎ項目にないキーがあります。使えるキー: "
                                                   + "、".join(HANDOFF_ITEMS)), display)
        return checks.check_set(answer, set(_HANDOFF_WHY) - {"purpose", "scope", "contract", "risks"},
                                why=_HANDOFF_WHY,
                                hint="空欄だけでなく、書いてあっても中身が足りない項目も数えます。", display=display)
    if pid == "prep_rule":
        return checks.check_labels(answer, _PREP_KEY, why=_PREP_WHY, hint="3つの日付を全部計算し、いちばん早いものを選びます。",
                                   display=display)
    if pid == "grr_nrr":
        return _check_grr_nrr(answer, display)
    if pid == "qbr_ebr":
        return checks.check_labels(answer, _QBR_EBR_KEY, why=_QBR_EBR_WHY, names={k: checks._short(v) for k, v in QBR_EBR_ITEMS.items()},
                                   hint="その話題で判断するのは、現場の担当者ですか、それとも役員ですか。", display=display)
    if pid == "save_play":
        return checks.check_set(answer, _SAVE_KEY, why=_SAVE_WHY, clues=_SAVE_CLUES,
                                hint="値引き・無理な約束・契約での縛りは、原因を解きません。", display=display)
    if pid == "champion_moved":
        return checks.check_choice(answer, "B", ("A", "B", "C"), why=_CHAMPION_WHY,
                                   hint="推進役がいなくなったあと、誰との関係が残っていますか。", display=display)
    if pid == "takeover":
        return checks.check_choice(answer, "B", ("A", "B", "C"), why=_TAKEOVER_WHY,
                                   hint="明日あなたが休んでも、別のCSMが次の一手を打てるのはどれですか。", display=display)
    raise ValueError(f"「{pid}」という練習はありません。handoff / prep_rule / grr_nrr / qbr_ebr / champion_moved / "
                     "save_play / takeover のいずれかです。")


def _check_grr_nrr(answer, display: bool):
    from . import checks

    ex = GRR_NRR_EXAMPLE
    cohort = ex[ex["期首ARR (万円)"] > 0]
    a0, a1 = cohort["期首ARR (万円)"], cohort["期末ARR (万円)"]
    grr, nrr = float((a0.combine(a1, min)).sum() / a0.sum()), float(a1.sum() / a0.sum())
    if not (isinstance(answer, tuple) and len(answer) == 2):
        return checks._show(checks.CheckResult(False, "答えは (GRR, NRR) のタプルで、小数で入力してください。例: (0.9, 1.05)"), display)
    try:
        g, n = float(answer[0]), float(answer[1])
    except (TypeError, ValueError):
        return checks._show(checks.CheckResult(False, "GRR と NRR は数値 (小数) で入力してください。"), display)
    details = []
    if abs(g - grr) > 0.005:
        if abs(g - nrr) <= 0.005:
            details.append("GRR が NRR と同じ値です。GRR では、増えた顧客も期首の額までしか数えません (上限100%)。")
        elif abs(g - (a0.sum() - a0[a1 == 0].sum()) / a0.sum()) <= 0.005:
            details.append("GRR に解約しか入っていません。ライセンス削減 (縮小) も GRR を下げます。")
        elif g > 1.5:
            details.append("GRR は % ではなく小数で入力してください (例: 0.85)。")
        else:
            details.append("GRR が違います。顧客ごとに min(期首, 期末) を足し、期首の合計で割ります。")
    if abs(n - nrr) > 0.005:
        if abs(n - float(ex["期末ARR (万円)"].sum() / a0.sum())) <= 0.005:
            details.append("NRR に期中の新規顧客 (戊) が入っています。コホートは期首にいた顧客だけです。")
        elif n > 3:
            details.append("NRR は % ではなく小数で入力してください (例: 1.05)。")
        else:
            details.append("NRR が違います。期首にいた顧客の期末ARRの合計を、期首ARRの合計で割ります。")
    if details:
        return checks._show(checks.CheckResult(False, "もう一度考えてみましょう。", "", details), display)
    return checks._show(checks.CheckResult(True, "GRR・NRR とも正解です。"), display)


# --------------------------------------------------------------------------------------------------
# lesson figures and tables that would otherwise be long notebook cells
# --------------------------------------------------------------------------------------------------
def plot_bridge(bridge: pd.Series, title: str = "ARRブリッジ", unit: float = 1e8, unit_label: str = "億円"):
    """Waterfall of ``revenue.bridge``: start and end as bars from zero, movements floating between them."""
    import matplotlib.pyplot as plt

    from .plotting import setup

    setup()
    b = bridge / unit
    fig, ax = plt.subplots(figsize=(8, 3.2))
    level = 0.0
    for i, (name, value) in enumerate(b.items()):
        total = name in ("期首ARR", "期末ARR")
        bottom = 0 if total else (level if value >= 0 else level + value)
        ax.bar(i, abs(value), bottom=bottom, color="#4c72b0" if total else ("#2e9d5b" if value >= 0 else "#d9534f"))
        level = value if name == "期首ARR" else (level if total else level + value)
    ax.set_xticks(range(len(b)), b.index)
    ax.set(ylabel=f"ARR ({unit_label})", title=title)
    return ax


def expansion_after_utilisation(usage: pd.DataFrame, movements: pd.DataFrame,
                                bins=(0, 0.5, 0.65, 0.85, 1.0)) -> pd.Series:
    """Share of account-months followed by a seat addition (ライセンス追加) in the next month, by the
    month's seat utilisation band."""
    adds = movements[movements["reason"] == "ライセンス追加"]
    following = set(zip(adds["account_id"].astype(str), pd.to_datetime(adds["month"])))
    u = usage.assign(util=usage["active_users"] / usage["seats"])
    nxt = pd.to_datetime(u["month"]) + pd.DateOffset(months=1)
    added = pd.Series([(a, m) in following for a, m in zip(u["account_id"].astype(str), nxt)], index=u.index)
    labels = [f"{lo:.0%}〜{hi:.0%}" for lo, hi in zip(bins[:-1], bins[1:])]
    band = pd.cut(u["util"], list(bins), labels=labels, include_lowest=True)
    return added.groupby(band, observed=True).mean().rename("翌月にライセンス追加した割合")


def champion_churn(tables: dict) -> pd.DataFrame:
    """Churn by what happened to the champion: no change / changed with a handover meeting / without one."""
    contacts, changes, acc = tables["contacts"], tables["contact_changes"], tables["accounts"].set_index("account_id")
    champions = set(contacts.loc[contacts["is_champion"], "contact_id"])
    lost = changes[changes["contact_id"].isin(champions)].drop_duplicates("account_id").set_index("account_id")
    group = pd.Series("推進役の交代なし", index=acc.index)
    group[lost.index[lost["handover_meeting"]]] = "交代あり・引き継ぎ面談あり"
    group[lost.index[~lost["handover_meeting"]]] = "交代あり・引き継ぎ面談なし"
    order = ["推進役の交代なし", "交代あり・引き継ぎ面談あり", "交代あり・引き継ぎ面談なし"]
    return acc["churned"].groupby(group).agg(顧客数="size", 解約した割合="mean").reindex(order)
