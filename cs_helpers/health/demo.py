"""A synthetic telco-style customer table (one row per customer, churn Yes/No) for lessons, tests and benchmarks.

Its structure follows what public telco churn tables show, with invented numbers: many new and many
long-standing customers; long contracts held by long-standing customers; fibre customers paying more;
churn concentrated in month-to-month contracts, the first months, electronic-check payers and high bills.
Nothing here describes a real company.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

CONTRACTS = ("Month-to-month", "One year", "Two year")
INTERNET = ("DSL", "Fiber optic", "No")
PAYMENTS = ("Electronic check", "Mailed check", "Bank transfer (automatic)", "Credit card (automatic)")

#: The mapping ``cs-dojo health check`` and ``health_byo.load_byo`` read this table with.
MAPPING = {"account_id": "customerID", "churn": "Churn",
           "signals": ["tenure", "MonthlyCharges", "TotalCharges"],
           "categories": ["Contract", "PaymentMethod", "InternetService"], "optional": ["TotalCharges"]}


def telco_like(n: int = 7043, seed: int = 0) -> pd.DataFrame:
    """``n`` customers with ``customerID, tenure, MonthlyCharges, TotalCharges, Contract, PaymentMethod,
    InternetService, Churn`` (TotalCharges is blank for customers in their first month, as in the public
    tables). About a quarter churn."""
    rng = np.random.default_rng(seed)
    # tenure in months, 0-72: a bump of new customers and a bump of long-standing ones
    new = rng.random(n) < 0.45
    tenure = np.where(new, rng.exponential(9, n), 72 - rng.exponential(22, n))
    tenure = np.clip(np.round(tenure), 0, 72).astype(int)
    # contract: longer contracts for longer tenure
    t = tenure / 72
    logits = np.column_stack([1.6 - 3.2 * t, -0.4 + 0.6 * t, -1.6 + 3.0 * t])
    p = np.exp(logits) / np.exp(logits).sum(axis=1, keepdims=True)
    contract = np.array([CONTRACTS[i] for i in (p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)])
    internet = rng.choice(INTERNET, n, p=[0.34, 0.44, 0.22])
    pay_p = np.where((contract == CONTRACTS[0])[:, None], [0.45, 0.22, 0.16, 0.17], [0.2, 0.24, 0.28, 0.28])
    payment = np.array([PAYMENTS[i] for i in (pay_p.cumsum(axis=1) > rng.random((n, 1))).argmax(axis=1)])
    base_bill = np.select([internet == "No", internet == "DSL"], [20.0, 55.0], 85.0)
    monthly = np.round(np.clip(base_bill + rng.normal(0, 9, n) + 0.08 * tenure, 18.0, 119.0), 2)
    total = np.round(monthly * tenure * rng.normal(1.0, 0.03, n), 2)
    # churn log-odds: contract and the first months weigh most
    eta = (-1.05
           + np.select([contract == CONTRACTS[0], contract == CONTRACTS[1]], [1.05, -0.35], -1.4)
           - 0.036 * tenure
           + 0.018 * (monthly - 65)
           + np.select([internet == "Fiber optic", internet == "No"], [0.45, -0.45], 0.0)
           + np.where(payment == PAYMENTS[0], 0.4, 0.0)
           + rng.normal(0, 1.1, n))
    churn = rng.random(n) < 1 / (1 + np.exp(-eta))
    frame = pd.DataFrame({
        "customerID": [f"{i:04d}-{''.join(rng.choice(list('ABCDEFGHJKLMNPQRSTUVWXYZ'), 5))}" for i in range(n)],
        "tenure": tenure, "MonthlyCharges": monthly,
        "TotalCharges": np.where(tenure == 0, np.nan, total),
        "Contract": contract, "PaymentMethod": payment, "InternetService": internet,
        "Churn": np.where(churn, "Yes", "No"),
    })
    return frame
