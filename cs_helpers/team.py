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
