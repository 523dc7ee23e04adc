"""Per-learner material for the module 04 exercise (statements to judge, a precision goal).

These helpers only *state* the problems; they never say which statement is true or which threshold meets
the goal. The exercise's hidden tests recompute the answers themselves from the data.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

#: Candidate red thresholds for question 4 (赤 = score below the threshold).
THRESHOLDS = tuple(range(30, 51))
#: Lift goals for question 4 (the red band's churn rate as a multiple of the overall churn rate).
LIFT_GOALS = (2.5, 3.0, 3.5, 4.0)
#: Accounts younger than this many days are handled by onboarding, not by the weekly call list (question 5).
ONBOARDING_DAYS = 180


def _rng(seed: int, salt: int) -> np.random.Generator:
    return np.random.default_rng([int(seed) % (2 ** 32), salt])


def lowest(frame: pd.DataFrame, column: str, n: int) -> pd.Index:
    """The ``n`` accounts with the lowest ``column`` (ties: account id), missing values last."""
    keys = pd.DataFrame({"v": frame[column].to_numpy(dtype=float), "id": frame.index.astype(str)})
    order = keys.sort_values(["v", "id"], kind="stable", na_position="last").index[: int(n)]
    return frame.index[order]


def _shift(rng: np.random.Generator, low: float, high: float) -> float:
    return float(rng.choice([-1.0, 1.0]) * rng.uniform(low, high))


def level_trend_claims(frame: pd.DataFrame, capacity: int, seed: int) -> pd.DataFrame:
    """Question 3: seven statements about level-only vs trend-only scores at the learner's cutoff.

    The numbers in the statements are moved away from the true values by a random amount in a random direction,
    so each numeric statement is true for some learners and false for others. Columns: ``id``, ``文`` (the text)
    and the parameter the statement uses (``param``).
    """
    from .metrics import auc

    rng = _rng(seed, 3)
    n = int(capacity)
    y = frame["churned"].to_numpy(dtype=bool)
    lev = frame["utilisation_level"].to_numpy(dtype=float)
    tr = frame["utilisation_trend"].to_numpy(dtype=float)
    auc_level = auc(y, lev)
    ok = ~np.isnan(tr)
    auc_trend = auc(y[ok], tr[ok])
    by_level = lowest(frame, "utilisation_level", n)
    by_score = lowest(frame, "score", n)
    new = int((frame.loc[by_level, "tenure_days"] < ONBOARDING_DAYS).sum())
    gap = int(frame.loc[by_score, "churned"].sum()) - int(frame.loc[by_level, "churned"].sum())

    a = round(auc_level + _shift(rng, 0.02, 0.05), 2)
    d = round(max(auc_trend - auc_level + _shift(rng, 0.02, 0.04), 0.01), 2)
    k = new + int(rng.choice([-1, 1]) * rng.integers(1, 4))
    k = k if k >= 1 else new + 1
    m = gap + int(rng.choice([-1, 1]) * rng.integers(1, 3))
    m = m if m >= 1 else gap + 2 if gap + 2 >= 1 else 1
    rows = [
        ("A", f"利用率の水準だけをスコアとみなしたときのAUCは {a:.2f} より高い", a),
        ("B", f"利用率の傾きだけをスコアとみなしたときのAUC (傾きが空欄の顧客を除く) は、水準だけのAUCより {d:.2f} 以上高い", d),
        ("C", f"利用率の水準の低い順に {n} 社を選ぶと、その中に契約から{ONBOARDING_DAYS}日未満の顧客が {k} 社以上入る", k),
        ("D", f"利用率の水準の低い順の {n} 社で90日以内に解約した顧客は、ヘルススコアの低い順の {n} 社より {m} 社以上少ない", m),
        ("E", "傾きが空欄なのは契約して間もない顧客なので、2つのAUCは同じ顧客の集まりで測ったものではない", None),
        ("F", "水準だけのAUCが傾きだけのAUCより低いのは、利用率が解約と関係のない数字だからだ。利用率の部品はスコアから外してよい", None),
        ("G", "利用率の傾きが0以上の顧客は、水準がどれほど低くても解約の心配はない", None),
    ]
    return pd.DataFrame(rows, columns=["id", "文", "param"])


def lift_goal(seed: int) -> float:
    """Question 4: the learner's goal for the red band's lift (churn rate in red / overall churn rate)."""
    return float(LIFT_GOALS[int(_rng(seed, 4).integers(len(LIFT_GOALS)))])
