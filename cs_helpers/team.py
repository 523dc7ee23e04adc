"""Team-level numbers for module 05: lagging indicators, ops staffing and the cost of onboarding.

* **Lagging indicators** (churn, logo retention, gross revenue retention) are computed from the
  shipped ``accounts`` table for a window ``(start, end]``: the cohort is every account that was a
  customer on ``start``; an account counts as churned when its ``churn_date`` falls inside the window.
  They judge the *team*; per-CSM figures are shown with their uncertainty to explain why.
* **Ops staffing**: a support / operations role of roughly 2–5 % of the team keeps playbooks alive.
* **Onboarding cost**: a new hire ramps up over a few months and takes mentoring time from the team
  meanwhile, so hiring first *lowers* capacity.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Mapping

import numpy as np
import pandas as pd

from .data import active_mask, as_date as _as_date
from .revenue import account_churn, churn_summary

OPS_SHARE = (0.02, 0.05)
_REQUIRED = ("account_id", "arr_jpy", "contract_start", "churn_date")


def _check_accounts(accounts: pd.DataFrame) -> None:
    if not isinstance(accounts, pd.DataFrame):
        raise TypeError("accounts には data.load('accounts') で読み込んだ表 (DataFrame) を渡してください。")
    missing = [c for c in _REQUIRED if c not in accounts.columns]
    if missing:
        raise ValueError("accounts の表に必要な列がありません: " + "、".join(missing)
                         + "。data.load('accounts') で読み込んだ表を渡してください。")


def active_on(accounts: pd.DataFrame, date) -> pd.Series:
    """Boolean mask: accounts that were customers on ``date`` (started on or before it, not yet churned)."""
    _check_accounts(accounts)
    _as_date(date, "date")
    return active_mask(accounts, date)


def retention(accounts: pd.DataFrame, start, end, by: str | None = None) -> pd.DataFrame:
    """Lagging indicators over the window ``(start, end]`` for the whole team, or per ``by`` group.

    Columns: ``accounts_at_start``, ``churned``, ``logo_churn_rate``, ``logo_retention``,
    ``arr_at_start``, ``churned_arr``, ``grr`` (the contract view of ``revenue.account_churn``: churn only;
    module 06 computes GRR and NRR from ARR movements) and ``monthly_churn_rate`` (the constant monthly rate that
    compounds to the window's churn). Rates are fractions (0.05 = 5 %).
    """
    _check_accounts(accounts)
    t0, t1 = _as_date(start, "start"), _as_date(end, "end")
    if t1 <= t0:
        raise ValueError(f"期間の終わり ({t1.date()}) が始まり ({t0.date()}) より後になるように指定してください。")
    cohort = account_churn(accounts, t0, t1)
    months = max((t1.year - t0.year) * 12 + (t1.month - t0.month) + (t1.day - t0.day) / 30.4375, 1e-9)

    def summarise(g: pd.DataFrame) -> pd.Series:
        s = churn_summary(g)
        n, rate = s["accounts_at_start"], s["logo_churn_rate"]
        return pd.Series({
            "accounts_at_start": n,
            "churned": s["churned_accounts"],
            "logo_churn_rate": rate,
            "logo_retention": s["logo_retention"],
            "arr_at_start": float(s["arr_at_start"]),
            "churned_arr": float(s["churned_arr"]),
            "grr": s["grr"],
            "monthly_churn_rate": 1 - (1 - rate) ** (1 / months) if n else float("nan"),
        })

    if by is None:
        return summarise(cohort).to_frame("チーム全体").T
    if by not in cohort.columns:
        raise ValueError(f"by に指定された列「{by}」が accounts にありません。例: by='csm_id'")
    out = cohort.groupby(by, observed=True)[list(cohort.columns)].apply(summarise)
    out[["accounts_at_start", "churned"]] = out[["accounts_at_start", "churned"]].astype(int)
    return out


def monthly_churn(accounts: pd.DataFrame, start, end) -> pd.DataFrame:
    """Month by month: customers at the start of each month, churned during it, and the rate."""
    _check_accounts(accounts)
    t0, t1 = _as_date(start, "start"), _as_date(end, "end")
    rows = []
    for month in pd.period_range(t0, t1, freq="M"):
        first = month.start_time.normalize()
        last = month.end_time.normalize()
        base = active_on(accounts, first - pd.Timedelta(days=1))
        churn = pd.to_datetime(accounts["churn_date"])
        lost = base & churn.notna() & (churn >= first) & (churn <= last)
        n = int(base.sum())
        rows.append({"month": first, "customers": n, "churned": int(lost.sum()),
                     "churn_rate": lost.sum() / n if n else float("nan")})
    return pd.DataFrame(rows)


def wilson_interval(successes: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """Wilson score interval for a proportion (95 % by default); ``(nan, nan)`` when ``n == 0``."""
    if n <= 0:
        return float("nan"), float("nan")
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def per_csm_uncertainty(accounts: pd.DataFrame, start, end, by: str = "csm_id") -> pd.DataFrame:
    """Per-CSM logo churn with a 95 % interval: small books make individual churn rates very noisy."""
    table = retention(accounts, start, end, by=by)
    bounds = [wilson_interval(int(r.churned), int(r.accounts_at_start)) for r in table.itertuples()]
    table["ci_low"] = [b[0] for b in bounds]
    table["ci_high"] = [b[1] for b in bounds]
    return table[["accounts_at_start", "churned", "logo_churn_rate", "ci_low", "ci_high"]]


# --- ops staffing -----------------------------------------------------------------------------

@dataclass(frozen=True)
class OpsStaffing:
    team_size: int
    min_fte: float       # team_size × 2 %
    max_fte: float       # team_size × 5 %
    min_people: int      # whole people needed at the low end (at least one)
    max_people: int      # whole people the high end allows (never below min_people)
    note: str            # advice in Japanese

    def __str__(self) -> str:
        people = (f"{self.min_people}人" if self.min_people == self.max_people
                  else f"{self.min_people}〜{self.max_people}人")
        return (f"チーム{self.team_size}人 → CS Ops (CSオペレーション) {self.min_fte:.1f}〜{self.max_fte:.1f}人分 "
                f"(人数にすると {people})。{self.note}")


def ops_staffing(team_size: int, low: float = OPS_SHARE[0], high: float = OPS_SHARE[1]) -> OpsStaffing:
    """Size an operations / enablement role at ``low``–``high`` of the team (2–5 % by default).

    ``min_people = ceil(team_size × low)`` (someone has to own it), ``max_people = floor(team_size ×
    high)`` but never below ``min_people``. Small teams get a note: part of one person is not a role,
    so share one across teams or get outside help instead of adding it to a CSM's job.
    """
    if isinstance(team_size, bool) or not isinstance(team_size, (int, np.integer)) or team_size < 1:
        raise ValueError(f"team_size はチームの人数を1以上の整数で指定してください (指定値: {team_size!r})。")
    if not 0 < low <= high < 1:
        raise ValueError("low と high は 0 < low ≤ high < 1 の割合で指定してください (例: 0.02 と 0.05)。")
    n = int(team_size)
    min_fte, max_fte = n * low, n * high
    min_people = max(1, math.ceil(round(min_fte, 9)))
    max_people = max(min_people, math.floor(round(max_fte, 9)))
    if max_fte < 1:
        note = ("1人分に満たない規模です。CSMとの兼務は型化が後回しになりがちなので、"
                "他チームと共有する・外部の支援を使うなどを検討しましょう。")
    else:
        note = "専任として置き、テンプレートやツールの持ち主を明確にしましょう。"
    return OpsStaffing(n, min_fte, max_fte, min_people, max_people, note)


# --- onboarding cost --------------------------------------------------------------------------

def onboarding_capacity(team_size: int, hires: int, *, ramp_months: int = 6, mentor_share: float = 0.3,
                        months: int = 12) -> pd.DataFrame:
    """Team capacity (in full-time CSMs) month by month after ``hires`` people join on month 1.

    A new hire's output grows linearly: ``min(1, (k - 1) / ramp_months)`` in month ``k`` (nothing in
    the first month). While ramping, each new hire takes ``mentor_share × (1 - output)`` of an
    experienced CSM's time. Columns: ``month``, ``new_hire_output`` (per person), ``mentoring``
    (team total), ``capacity``, ``change`` (vs. before hiring) and ``cumulative_change``.
    """
    for name, value, least in (("team_size", team_size, 1), ("hires", hires, 0), ("ramp_months", ramp_months, 1),
                               ("months", months, 1)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < least:
            raise ValueError(f"{name} は{least}以上の整数で指定してください (指定値: {value!r})。")
    if not 0 <= mentor_share <= 1:
        raise ValueError(f"mentor_share は 0〜1 の割合で指定してください (指定値: {mentor_share!r})。")
    k = np.arange(1, months + 1)
    output = np.minimum(1.0, (k - 1) / ramp_months)
    mentoring = hires * mentor_share * (1 - output)
    capacity = team_size + hires * output - mentoring
    change = capacity - team_size
    return pd.DataFrame({"month": k, "new_hire_output": output, "mentoring": mentoring, "capacity": capacity,
                         "change": change, "cumulative_change": np.cumsum(change)})


def payback_month(plan: pd.DataFrame) -> int | None:
    """First month in which the cumulative capacity gained from hiring is back to at least zero."""
    hit = plan.loc[plan["cumulative_change"] >= -1e-9, "month"]
    # month 1 always costs something when hires > 0; a plan with no hires pays back immediately
    return int(hit.iloc[0]) if len(hit) else None


# --- exercise 05: cases that ask for judgement ------------------------------------------------------------------
# Each function below builds one learner's case from a seed. The hidden tests take the case from a fresh copy of
# this module and work the answer out on their own; the functions never say which answer is right.

BENCHMARK_MONTHLY_CHURN = 0.003   # the low-churn SaaS company of lesson 05, section 1
CLAIM_KINDS = ("rate_above", "monthly_times", "end_denominator", "prior_year", "new_joiners")


def _window_numbers(accounts: pd.DataFrame, start, end) -> dict:
    t0, t1 = _as_date(start, "start"), _as_date(end, "end")
    begun = pd.to_datetime(accounts["contract_start"])
    gone = pd.to_datetime(accounts["churn_date"])
    base = (begun <= t0) & (gone.isna() | (gone > t0))
    lost = base & gone.notna() & (gone <= t1)
    at_end = (begun <= t1) & (gone.isna() | (gone > t1))
    joined = (begun > t0) & (begun <= t1)
    return {"base": int(base.sum()), "lost": int(lost.sum()), "at_end": int(at_end.sum()), "joined": int(joined.sum())}


def churn_claims(accounts: pd.DataFrame, start, end, seed: int) -> pd.DataFrame:
    """Five statements about the team's logo churn over ``(start, end]``, for exercise 05 問1.

    Columns: ``id`` (S1–S5, shuffled by ``seed``), ``文`` (the statement), ``kind`` (see ``CLAIM_KINDS``) and
    ``value`` (the threshold or count the statement names). The thresholds sit on a random side of the true value
    and never within rounding of it, so each statement has to be worked out: the rate against a threshold, the
    monthly rate against the benchmark company's 0.3 %, what dividing by the customers at ``end`` would do, the
    year before, and the customers who joined during the window (outside the cohort)."""
    _check_accounts(accounts)
    t0, t1 = _as_date(start, "start"), _as_date(end, "end")
    rng = np.random.default_rng(seed)
    now = _window_numbers(accounts, t0, t1)
    rate = now["lost"] / now["base"]
    threshold = round(rate + (1 if rng.integers(2) else -1) * float(rng.choice([0.004, 0.006, 0.008, 0.01, 0.012])), 3)
    ratio = (1 - (1 - rate) ** (1 / 12)) / BENCHMARK_MONTHLY_CHURN
    times = int(np.floor(ratio)) if rng.integers(2) else int(np.ceil(ratio))
    if abs(ratio - times) < 0.15:
        times += 1 if times > ratio else -1
    joined = max(now["joined"] + int(rng.choice([-4, -2, 0, 0, 2, 4])), 0)
    prior_start = (t0 - pd.DateOffset(years=1)).date()
    rows = [
        ("rate_above", f"期初の顧客のうち、この期間に解約した顧客の割合 (解約率) は {threshold:.1%} より高い。",
         float(threshold)),
        ("monthly_times", "この期間の解約率を、毎月同じ率で解約が続いたとして月次に直すと、月0.3%の企業の "
         f"{times}倍より高い。", float(times)),
        ("end_denominator", f"解約した社数を、期末 ({t1.date()}) に契約中の顧客数で割ると、正しい解約率 "
         "(期初の顧客数で割ったもの) より低い値になる。", float("nan")),
        ("prior_year", f"1年前の同じ長さの期間 ({prior_start} の翌日〜{t0.date()}) と比べて、解約率は上がった。",
         float("nan")),
        ("new_joiners", f"この期間に新しく契約を始めた顧客は {joined}社で、この顧客たちはこの期間の解約率の分母に"
         "入らない。", float(joined)),
    ]
    order = rng.permutation(len(rows))
    out = pd.DataFrame([rows[i] for i in order], columns=["kind", "文", "value"])
    out.insert(0, "id", [f"S{i + 1}" for i in range(len(out))])
    return out[["id", "文", "kind", "value"]]


OPS_TEAMS = ("エンタープライズ", "ミッドマーケット", "SMB", "パートナー", "公共")


def _ops_need(sizes: Mapping[str, int]) -> tuple[dict, int]:
    """The staffing rule of exercise 05 問4: own CS Ops where 5 % of the team is one person or more (starting
    at the 2 % end, at least one); the other teams share one pool, sized on their combined headcount."""
    plan = {t: "専任" if n * OPS_SHARE[1] >= 1 - 1e-9 else "共有" for t, n in sizes.items()}
    own = sum(ops_staffing(int(n)).min_people for t, n in sizes.items() if plan[t] == "専任")
    pool = sum(int(n) for t, n in sizes.items() if plan[t] == "共有")
    return plan, own + (ops_staffing(pool).min_people if pool else 0)


def ops_teams(seed: int) -> dict[str, int]:
    """The five CS teams of exercise 05 問4 as ``{team: headcount}``: at least two too small for their own CS Ops
    and at least one large enough, drawn so that neither ``ops_staffing`` on the whole company nor one person
    per team gives the right number of hires."""
    rng = np.random.default_rng(seed)
    while True:
        sizes = {t: int(n) for t, n in zip(OPS_TEAMS, rng.integers(6, 90, size=len(OPS_TEAMS)))}
        plan, hires = _ops_need(sizes)
        small = sum(v == "共有" for v in plan.values())
        whole = ops_staffing(sum(sizes.values())).min_people
        each = sum(ops_staffing(n).min_people for n in sizes.values())
        if 2 <= small < len(sizes) and hires not in (whole, each):
            return sizes


def hiring_plans(seed: int) -> tuple[int, float, int, pd.DataFrame]:
    """One learner's hiring case for exercise 05 問6: ``(team_now, floor, deadline, plans)``.

    ``plans`` has five plans (``id`` H1–H5, ``案``, ``hires``, ``ramp_months``, ``mentor_share``). A plan meets the
    case when its cumulative change is back to zero by month ``deadline`` (``payback_month``) and the team's
    capacity never falls below ``floor`` people. At least one plan pays back in time but dips below the floor and
    at least one stays above the floor but pays back late, so neither check alone is the answer."""
    rng = np.random.default_rng(seed)
    while True:
        team_now = int(rng.integers(8, 16))
        rows = set()
        while len(rows) < 5:
            rows.add((int(rng.integers(1, 6)), int(rng.integers(2, 9)), round(0.1 + 0.05 * int(rng.integers(0, 11)), 2)))
        rows = sorted(rows)
        pay = [payback_month(onboarding_capacity(team_now, h, ramp_months=r, mentor_share=m, months=60))
               for h, r, m in rows]
        dip = [team_now - h * m for h, _, m in rows]
        deadline = int(rng.integers(4, 10))
        floor = round(team_now - float(rng.choice([0.5, 1.0, 1.5, 2.0])), 1)
        in_time = [p is not None and p <= deadline for p in pay]
        above = [d >= floor - 1e-9 for d in dip]
        ok = [a and b for a, b in zip(in_time, above)]
        near = any(abs(d - floor) < 0.05 for d in dip)
        if (not near and 1 <= sum(ok) <= 3 and any(t and not a for t, a in zip(in_time, above))
                and any(a and not t for t, a in zip(in_time, above))):
            break
    order = rng.permutation(len(rows))
    text = "{h}人を採用する。立ち上がりに{r}か月、教える負担は新メンバー1人あたり{m:g}人分"
    plans = pd.DataFrame([(f"H{i + 1}", text.format(h=rows[j][0], r=rows[j][1], m=rows[j][2]), *rows[j])
                          for i, j in enumerate(order)], columns=["id", "案", "hires", "ramp_months", "mentor_share"])
    return team_now, float(floor), deadline, plans
