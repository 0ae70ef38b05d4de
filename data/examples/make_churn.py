"""Writes churn.csv, the CSV example: text categories, missing values, an ID column.

A made-up telecom table (seeded): whether a customer churned, from plan, contract, region,
tenure, spend and support calls. Run `python data/examples/make_churn.py` to rebuild it.
"""

from pathlib import Path

import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
n = 1200
plan = rng.choice(["basic", "plus", "premium"], n, p=[0.5, 0.3, 0.2])
contract = rng.choice(["monthly", "yearly", "two_year"], n, p=[0.55, 0.3, 0.15])
region = rng.choice(["north", "south", "east", "west"], n).astype(object)
tenure = rng.integers(1, 73, n)
base_price = np.select([plan == "basic", plan == "plus"], [20.0, 45.0], 80.0)
spend = np.round(np.maximum(base_price + rng.normal(0, 8, n), 5.0), 2)
calls = rng.poisson(1.5, n)
logit = (
    -0.6
    + 1.4 * (contract == "monthly")
    - 1.0 * (contract == "two_year")
    - 0.045 * tenure
    + 0.55 * calls
    + 0.015 * (spend - 40)
    + 0.4 * (region == "south")
)
churned = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
frame = pd.DataFrame(
    {
        "customer_id": [f"C{i:05d}" for i in range(n)],
        "plan": plan,
        "contract": contract,
        "region": region,
        "tenure_months": tenure,
        "monthly_spend": spend,
        "support_calls": calls,
        "churned": churned,
    }
)
# Real exports have holes: some regions and spends were never recorded.
frame.loc[rng.random(n) < 0.06, "region"] = None
frame.loc[rng.random(n) < 0.04, "monthly_spend"] = None
frame.to_csv(Path(__file__).with_name("churn.csv"), index=False)
