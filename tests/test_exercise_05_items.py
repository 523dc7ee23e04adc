"""Exercise 05 問1・問4〜問6: the per-learner cases ask for judgement. Over many learners, no single answer is
right for 10 % of them or more (a blind guess passes with < 10 % chance), and the one-helper-call answer is wrong
for every learner. The answers are worked out here on their own, from the rules the questions state."""
from __future__ import annotations

from collections import Counter

import pandas as pd
import pytest

from cs_helpers import data, fit, team
from cs_helpers.learner import learner_seed

SEEDS = [learner_seed("05_team_and_growth", learner=f"learner_{i:03d}") for i in range(300)]
ENDS = ["2025-06-30", "2025-09-30", "2025-12-31", "2026-03-31", "2026-06-30", "2026-09-30"]


@pytest.fixture(scope="module")
def accounts() -> pd.DataFrame:
    return data.load("accounts")


def _share_of_commonest(answers: list) -> float:
    return Counter(answers).most_common(1)[0][1] / len(answers)


def _q1_answer(accounts: pd.DataFrame, seed: int) -> frozenset:
    end = pd.Timestamp(ENDS[seed % 6])
    start = end - pd.DateOffset(years=1)
    begun, gone = accounts["contract_start"], accounts["churn_date"]

    def numbers(t0, t1):
        base = (begun <= t0) & (gone.isna() | (gone > t0))
        return int(base.sum()), int((base & gone.notna() & (gone <= t1)).sum())

    n, k = numbers(start, end)
    pn, pk = numbers(start - pd.DateOffset(years=1), start)
    rate = k / n
    at_end = int(((begun <= end) & (gone.isna() | (gone > end))).sum())
    joined = int(((begun > start) & (begun <= end)).sum())
    truth = {"rate_above": lambda v: rate > v, "monthly_times": lambda v: (1 - (1 - rate) ** (1 / 12)) / 0.003 > v,
             "end_denominator": lambda v: at_end > n, "prior_year": lambda v: rate > pk / pn,
             "new_joiners": lambda v: joined == v}
    claims = team.churn_claims(accounts, str(start.date()), str(end.date()), seed)
    assert list(claims["id"]) == [f"S{i}" for i in range(1, 6)] and set(claims["kind"]) == set(team.CLAIM_KINDS)
    return frozenset(c.id for c in claims.itertuples() if truth[c.kind](c.value))


def test_q1_no_answer_fits_many_learners(accounts):
    answers = [_q1_answer(accounts, s) for s in SEEDS]
    assert _share_of_commonest(answers) < 0.10
    assert 0 < sum(len(a) for a in answers) / len(answers) < 5


def _q4_answer(sizes: dict) -> tuple:
    plan = {t: "専任" if 5 * n >= 100 else "共有" for t, n in sizes.items()}
    pool = sum(n for t, n in sizes.items() if plan[t] == "共有")
    hires = sum(max(1, -(-2 * n // 100)) for t, n in sizes.items() if plan[t] == "専任") + max(1, -(-2 * pool // 100))
    return tuple(sorted(plan.items())), hires


def test_q4_no_answer_fits_many_learners_and_one_call_is_wrong():
    answers = []
    for seed in SEEDS:
        sizes = team.ops_teams(seed)
        answers.append(_q4_answer(sizes))
        hires = answers[-1][1]
        assert hires != team.ops_staffing(sum(sizes.values())).min_people           # the whole company in one call
        assert hires != sum(team.ops_staffing(n).min_people for n in sizes.values())  # one per team, no sharing
    assert _share_of_commonest(answers) < 0.10
    assert _share_of_commonest([h for _, h in answers]) < 0.5


def test_q5_best_swap_is_unique_and_optimal_assignment_breaks_the_limit():
    answers = []
    for seed in SEEDS[:120]:
        table, current = fit.reassignment_case(seed)
        ks = list(table.index)
        cur = {k: str(current[k]) for k in ks}
        plans = [cur] + [{**cur, a: cur[b], b: cur[a]} for i, a in enumerate(ks) for b in ks[i + 1:] if cur[a] != cur[b]]
        values = sorted((sum(float(table.loc[k, p[k]]) for k in ks), j) for j, p in enumerate(plans))
        assert values[-1][0] - values[-2][0] >= 0.02 - 1e-9 and values[-1][1] != 0   # unique, and not "keep all"
        best = plans[values[-1][1]]
        answers.append(tuple(sorted(best.items())))
        free = fit.optimal_assignment(table, 2)
        assert int((free != current).sum()) > 2 and free.to_dict() != best
    assert _share_of_commonest(answers) < 0.10


def test_q6_no_answer_fits_many_learners_and_payback_alone_is_wrong():
    answers = []
    for seed in SEEDS:
        now, floor, deadline, plans = team.hiring_plans(seed)
        ok, in_time = set(), set()
        for p in plans.itertuples():
            plan = team.onboarding_capacity(now, int(p.hires), ramp_months=int(p.ramp_months),
                                            mentor_share=float(p.mentor_share), months=60)
            back = team.payback_month(plan)
            if back is not None and back <= deadline:
                in_time.add(p.id)
                if plan["capacity"].min() >= floor - 1e-9:
                    ok.add(p.id)
        assert ok and ok != in_time
        answers.append(frozenset(ok))
    assert _share_of_commonest(answers) < 0.10
