"""Time of the value stage's model fit (notebook 04) at a million customers, against the BG/NBD fit
the needs stage already does on the same customers.

The input is a purchase summary per customer (repeat purchases, recency, age, mean repeat-order
value), the table :func:`crm_utils.value.clv.rfm_summary` hands the models, drawn from the models
themselves with parameters near those fitted on the default data (BG/NBD r=1.0, alpha=24 days,
a=0.17, b=2.9; Gamma-Gamma p=3.3, q=2.4, v=60; customers' ages uniform over three years), so the
fit has a known answer. Written once to .cache/bench/value_<n>.parquet (not timed).

Each run is a fresh process, timed inside it after reading the summary: **BG/NBD** is the needs
stage's fit alone (``crm_utils.needs.bgnbd.BGNBD.fit``); **value** is the value stage's whole model
step as the stage runs it (``CustomerValueModel.fit`` on a seeded sample of ``MAX_FIT_CUSTOMERS``
= 100,000 customers, then ``predict`` for all: expected purchases over the horizon and next month,
P(alive), discounted CLV over 12 months, tiers); **value, all customers** the same fitted on every
customer. All include PyTensor's graph compilation, as a monthly run pays it.

    python benchmarks/bench_value.py                  # 1,000,000 customers, 3 runs of each
    python benchmarks/bench_value.py --customers 100000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
import pandas as pd

from harness import HERE, machine, measure, save

CACHE = HERE.parent / ".cache" / "bench"
BGNBD_PARAMS = {"r": 1.0, "alpha": 24.0, "a": 0.17, "b": 2.9}
GG_PARAMS = {"p": 3.3, "q": 2.4, "v": 60.0}

INTRO = ['`python benchmarks/bench_value.py`. The input is the purchase summary per customer that `crm_utils.value.clv.rfm_summary`',
         'hands the models (repeat purchases, recency, age, mean repeat-order value), drawn for 1,000,000 customers from the',
         'models themselves with parameters near those fitted on the default data, so the fit has a known answer; written once',
         'to .cache/bench/value_1000000.parquet (not timed). Each run is a fresh process, timed inside it after reading the', "summary, PyTensor's graph compilation included (a monthly run pays it). **BG/NBD** is the needs stage's fit alone", '(`crm_utils.needs.bgnbd.BGNBD.fit` on every customer); **value as the stage runs** is `CustomerValueModel.fit` on a',
         'seeded sample of `MAX_FIT_CUSTOMERS` = 100,000 customers then `predict` for all 1,000,000 (expected purchases over', "the 12-month horizon and next month, P(alive), discounted CLV by PyMC-Marketing's `customer_lifetime_value`, tiers);", '**value fitted on every customer** is the same without the sample (one run).']
#: Written after the runs of 2026-12-05 (what they showed); rewrite it when the numbers move.
NOTE = "The machine was shared (load average 12-16 on 2 cores during the runs): read the spread of the runs, not the second decimal. Predicting for every customer, not fitting, is most of the value step: the CLV sums 12 monthly expected-purchase evaluations over all customers, so the sample saves the fit's share only (58 s against 72 s). The notebook also refits at the calibration end for the holdout check and draws the tracking chart from weekly expectations over the calibration customers; at a million customers expect roughly two to three times the step above for the whole notebook (not measured here)."

RUN = """
import json, sys, time
import pandas as pd
from crm_utils.needs.bgnbd import BGNBD
from crm_utils.value import clv
summary = pd.read_parquet(sys.argv[1])
t0 = time.perf_counter()
if sys.argv[2] == "bgnbd":
    params = BGNBD().fit(clv.as_bgnbd_features(summary)).params_
    rows = len(summary)
else:
    sample = clv.MAX_FIT_CUSTOMERS if sys.argv[2] == "value" else 0
    model = clv.CustomerValueModel(max_fit_customers=sample).fit(summary)
    table = model.predict(summary)
    params, rows = model.params_, len(table)
print(json.dumps({"seconds": time.perf_counter() - t0, "params": params, "rows": rows}))
"""


def simulate(n: int, seed: int = 42) -> pd.DataFrame:
    """A purchase summary of ``n`` customers drawn from BG/NBD and Gamma-Gamma."""
    rng = np.random.default_rng(seed)
    r, alpha, a, b = BGNBD_PARAMS.values()
    lam, drop = rng.gamma(r, 1 / alpha, n), rng.beta(a, b, n)
    T = rng.uniform(1, 3 * 365, n)
    t, x, tx = np.zeros(n), np.zeros(n), np.zeros(n)
    alive = np.arange(n)
    while len(alive):
        t[alive] += rng.exponential(1 / lam[alive])
        alive = alive[t[alive] <= T[alive]]
        x[alive] += 1
        tx[alive] = t[alive]
        alive = alive[rng.random(len(alive)) >= drop[alive]]
    p, q, v = GG_PARAMS.values()
    nu = rng.gamma(q, 1 / v, n)
    repeat = x > 0
    mean = np.zeros(n)
    mean[repeat] = rng.gamma(p * x[repeat], 1 / (nu[repeat] * x[repeat]))  # mean of x Gamma(p, nu) orders
    first = rng.gamma(p, 1 / nu)
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "monetary_value": mean, "orders": x + 1,
                         "total_spend": first + mean * x,
                         "first_purchase": pd.Timestamp("2026-10-31") - pd.to_timedelta(T, unit="D"),
                         "last_purchase": pd.Timestamp("2026-10-31") - pd.to_timedelta(T - tx, unit="D")},
                        index=pd.Index([f"B{i:07d}" for i in range(n)], name="customer_id"))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--customers", type=int, default=1_000_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--full-repeats", type=int, default=1, help="runs of the value fit on every customer")
    args = ap.parse_args()
    path = CACHE / f"value_{args.customers}.parquet"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        simulate(args.customers).to_parquet(path)
    runs: dict[str, list] = {"bgnbd": [], "value": [], "value_full": []}
    peaks: dict[str, float] = {w: 0.0 for w in runs}
    plan = [w for _ in range(args.repeats) for w in ("bgnbd", "value")] + ["value_full"] * args.full_repeats
    for what in plan:  # alternating, so a busy spell of the machine hits both
        wall, peak, out = measure(RUN, str(path), what)
        runs[what].append({"wall": wall, **json.loads(out.strip().splitlines()[-1])})
        peaks[what] = max(peaks[what], peak)
        print(what, runs[what][-1]["seconds"], flush=True)
    runs = {w: r for w, r in runs.items() if r}
    med = {w: statistics.median(r["seconds"] for r in runs[w]) for w in runs}  # median of the runs made
    ratio = med["value"] / med["bgnbd"]
    listed = {w: ", ".join(f"{r['seconds']:.1f}" for r in runs[w]) for w in runs}
    n = args.customers
    result = {
        "machine": machine(), "measured": time.strftime("%Y-%m-%d"), "customers": n, "runs": runs,
        "median_s": med, "ratio_value_vs_bgnbd": ratio, "peak_gib": peaks, "true_params": {**BGNBD_PARAMS, **GG_PARAMS},
        "section": {
            "title": "Customer value (notebook 04): the model fit at a million customers",
            "intro": INTRO,
            "header": "| customers | step | median (s) | runs (s) | peak (GiB) | vs BG/NBD alone |",
            "align": "|---:|---|---:|---|---:|---:|",
            "rows": [f"| {n:,} | {label} | {med[w]:.1f} | {listed[w]} | "
                     f"{peaks[w]:.2f} | {med[w] / med['bgnbd']:.2f}x |"
                     for w, label in (("bgnbd", "BG/NBD fit on every customer (what needs does)"),
                                      ("value", "value, as the stage runs: BG/NBD + Gamma-Gamma fitted on a "
                                                "100,000-customer sample, every customer predicted (CLV, P(alive))"),
                                      ("value_full", "value fitted on every customer, every customer predicted"))
                     if w in runs],
            "notes": ["Fitted parameters (last run of the stage's sampled fit): "
                      + ", ".join(f"{k} {v:.3g}" for k, v in runs['value'][-1]["params"].items())
                      + "; drawn with " + ", ".join(f"{k} {v:g}" for k, v in {**BGNBD_PARAMS, **GG_PARAMS}.items())
                      + ". `python benchmarks/bench_value.py`.", NOTE],
        },
    }
    save("value", result)
    print(json.dumps({"median_s": med, "ratio": ratio}))


if __name__ == "__main__":
    main()
