"""Time and peak memory of the churn survival view (notebook 04's contract-shop section), by size.

The default synthetic export has no contract columns, so each run draws a contract export of its
own in the measured process (seeded): sign-ups over 1,300 days, exponential lifetimes whose hazard
is a plan effect x a channel effect, censored at 2026-10-31, five regions with no effect and an age
attribute written as text, as an export has it. Then, as the notebook does: lifetimes as of the
report month's end (``churn.ChurnStudy``), Kaplan-Meier curves with medians and the log-rank test
for all customers and each grouping, and the Cox drivers (fitted on at most
``churn.MAX_COX_ROWS`` customers, the proportional-hazards test on ``churn.MAX_PH_ROWS``).

    python benchmarks/bench_churn.py                    # 10k x3, 100k x3, 1M x1
    python benchmarks/bench_churn.py --sizes 10000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

from harness import machine, measure, save

RUN = """
import json, sys, time
import numpy as np, pandas as pd
from crm_utils.value import churn
n = int(sys.argv[1])
rng = np.random.default_rng([n, 22])
signup = pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 1300, n), unit="D")
plan, channel = rng.integers(0, 4, n), rng.integers(0, 6, n)
hazard = np.array([0.01, 0.02, 0.03, 0.05])[plan] * np.array([1, 1.2, 0.8, 1, 1.5, 0.9])[channel]
customers = pd.DataFrame({
    "customer_id": np.char.add("C", np.arange(n).astype(str)), "signup_date": signup,
    "churn_date": signup + pd.to_timedelta(np.ceil(rng.exponential(churn.MONTH_DAYS / hazard)), unit="D"),
    "region": np.array(list("ABCDE"))[rng.integers(0, 5, n)],
    "channel": np.array(["web", "shop", "phone", "partner", "app", "mail"])[channel],
    "attr_plan": np.array(["basic", "plus", "pro", "max"])[plan],
    "attr_age": rng.normal(40, 10, n).round(1).astype(str)})
t = {}
t0 = time.perf_counter(); study = churn.ChurnStudy(customers, "2026-10-31 23:59:59"); t["lifetimes"] = time.perf_counter() - t0
t0 = time.perf_counter()
study.survival(None)
for g in study.groupings:
    study.survival(g)
t["kaplan_meier"] = time.perf_counter() - t0
t0 = time.perf_counter(); drivers = study.fit_drivers(); t["cox"] = time.perf_counter() - t0
t["events"] = study.lifetimes.events
row = drivers.hazard_ratios.set_index("term").loc["plan = max"]
t["plan_max_hr"] = float(row["hazard_ratio"])
t["plan_max_planted"] = 0.05 / {"basic": 0.01, "plus": 0.02, "pro": 0.03}[row["reference"]]  # against the largest plan
t["reference"] = row["reference"]
print(json.dumps(t))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=None, help="runs per size (default 3, 3, 1)")
    args = ap.parse_args()
    repeats = args.repeats or [3 if s < 1_000_000 else 1 for s in args.sizes]
    rows = []
    for size, reps in zip(args.sizes, repeats * len(args.sizes) if len(repeats) == 1 else repeats):
        runs = [measure(RUN, str(size)) for _ in range(reps)]
        steps = [json.loads(out.strip().splitlines()[-1]) for _, _, out in runs]
        med = {k: statistics.median(s[k] for s in steps) for k in ("lifetimes", "kaplan_meier", "cox")}
        first = steps[0]
        rows.append(f"| {size:,} ({reps} run{'s' if reps > 1 else ''}) | {statistics.median(r[0] for r in runs):.1f} | "
                    f"{med['lifetimes']:.1f} | {med['kaplan_meier']:.1f} | {med['cox']:.1f} | "
                    f"{max(r[1] for r in runs):.2f} | {first['events']:,} | {first['plan_max_hr']:.2f} vs "
                    f"{first['reference']} (planted {first['plan_max_planted']:.2f}) |")
        print(rows[-1], flush=True)
    save("churn", {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "section": {
        "title": "Churn survival view (notebook 04, contract shops)",
        "intro": ["`python benchmarks/bench_churn.py`. A seeded contract export of each size drawn in the",
                  "measured process (plan x channel hazards: plans basic, plus, pro, max at 0.01, 0.02, 0.03, 0.05",
                  "a month, equally likely, so the Cox reference is whichever drew most customers), then",
                  "lifetimes as of 2026-10-31, Kaplan-Meier with medians and log-rank for all customers and",
                  "each grouping (region, channel, plan), and the Cox drivers (at most 200,000 customers fitted,",
                  "the proportional-hazards test on 20,000). Whole = the fresh process, imports and drawing included."],
        "header": "| customers | whole (s) | lifetimes (s) | Kaplan-Meier (s) | Cox + PH test (s) | peak (GiB) | departures | HR plan max vs reference |",
        "align": "|---|---:|---:|---:|---:|---:|---:|---:|",
        "rows": rows}})


if __name__ == "__main__":
    main()
