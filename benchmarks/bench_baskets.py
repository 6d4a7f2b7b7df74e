"""Time and peak memory of market baskets (notebook 06's work) on a 1,000,000-customer run.

Input: the cleaned orders notebook 01 hands over (``artifacts/orders.parquet`` of a run folder made by
``crm-report run --month 2026-10 --data-dir .cache/bench/1000000 --only 01``). In a fresh process, as
notebook 06 does with its default parameters: read the orders' basket columns, mine the rules of the
12 months to 2026-10-31 at product and category level (minimum support 0.1%, a seeded sample of
``max_baskets`` baskets when there are more), then each active customer's next best offer from their
whole history. Baseline, run alongside: reading the same columns only.

    python benchmarks/bench_baskets.py --run-dir RUN [--repeats 3] [--max-baskets 1000000]
"""

from __future__ import annotations

import argparse
import json
import statistics
from pathlib import Path

from harness import machine, measure, save

READ = """
import sys, pyarrow.parquet as pq
from crm_utils import artifacts
from crm_utils.baskets import study
names = pq.read_schema(sys.argv[1] + "/artifacts/orders.parquet").names
artifacts.read_table(sys.argv[1], "orders", [c for c in study.BASKET_COLUMNS if c in names])
"""

BASKETS = """
import sys, json, time
import pandas as pd, pyarrow.parquet as pq
from crm_utils import artifacts
from crm_utils.baskets import study
from crm_utils.config import month_end
t = {}
t0 = time.perf_counter()
names = pq.read_schema(sys.argv[1] + "/artifacts/orders.parquet").names
orders = artifacts.read_table(sys.argv[1], "orders", [c for c in study.BASKET_COLUMNS if c in names])
t["read"] = time.perf_counter() - t0
t0 = time.perf_counter()
s = study.BasketStudy(orders, month_end("2026-10"), 12, 0.001, "both", int(sys.argv[2]), 42).fit()
t["rules"] = time.perf_counter() - t0
t0 = time.perf_counter()
offers = s.next_best_offers(365)
t["offers"] = time.perf_counter() - t0
c = s.results_["product"].counts()
print(json.dumps({**t, "lines": len(orders), "baskets_in_window": c["baskets_in_window"], "baskets": c["baskets"],
                  "product_rules": c["rules"], "category_rules": s.results_["category"].counts()["rules"],
                  "customers_scored": s.customers_scored_, "offers_made": len(offers)}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run-dir", required=True, help="a run folder with notebook 01's artifacts/orders.parquet")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--max-baskets", type=int, default=1_000_000)
    args = ap.parse_args()
    run_dir = str(Path(args.run_dir).resolve())
    runs, reads = [], []
    for _ in range(args.repeats):
        seconds, peak, out = measure(BASKETS, run_dir, str(args.max_baskets))
        runs.append({**json.loads(out.strip().splitlines()[-1]), "total": seconds, "peak": peak})
        r_seconds, r_peak, _ = measure(READ, run_dir)
        reads.append({"total": r_seconds, "peak": r_peak})
        print(runs[-1], reads[-1], flush=True)
    med = {k: round(statistics.median(r[k] for r in runs), 1) for k in ("total", "read", "rules", "offers")}
    first = runs[0]
    row = {**med, "runs": len(runs), "peak_gib": round(max(r["peak"] for r in runs), 2),
           "read_only_s": round(statistics.median(r["total"] for r in reads), 1),
           "read_only_peak_gib": round(max(r["peak"] for r in reads), 2),
           **{k: first[k] for k in ("lines", "baskets_in_window", "baskets", "product_rules", "category_rules",
                                    "customers_scored", "offers_made")},
           "max_baskets": args.max_baskets}
    save("baskets", {"machine": machine(), "measured": __import__("datetime").date.today().isoformat(),
                     "runs": runs, "reads": reads, "section": section(row)})


def section(r: dict) -> dict:
    return {
        "title": "Market baskets (notebook 06), 1,000,000 customers",
        "intro": ["`python benchmarks/bench_baskets.py --run-dir RUN`: notebook 06's work in a fresh process on the",
                  "cleaned orders of notebook 01 (`crm-report run --month 2026-10 --data-dir .cache/bench/1000000",
                  "--only 01`): read the basket columns, rules of the 12 months to 2026-10-31 at product and",
                  "category level (FP-growth and association rules, mlxtend; support >= 0.1%; a seeded sample of",
                  f"{r['max_baskets']:,} baskets when there are more), then each active customer's next best offer",
                  "from their whole history (sparse customer x item algebra). Total includes Python start-up",
                  "and imports; the baseline only reads the same columns."],
        "header": "| order lines | baskets in window | mined | runs | total (s) | read (s) | rules, both levels (s) | "
                  "offers (s) | peak (GiB) | read only (s) | read-only peak (GiB) | rules | offers |",
        "align": "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "rows": [f"| {r['lines']:,} | {r['baskets_in_window']:,} | {r['baskets']:,} | {r['runs']} | {r['total']} | "
                 f"{r['read']} | {r['rules']} | {r['offers']} | {r['peak_gib']} | {r['read_only_s']} | "
                 f"{r['read_only_peak_gib']} | {r['product_rules']} product, {r['category_rules']} category | "
                 f"{r['offers_made']:,} of {r['customers_scored']:,} customers |"],
        "notes": ["The whole run's budget (issue 9) is 20 minutes and 12 GiB at 1,000,000 customers; this stage",
                  "runs in its own kernel, so its peak is not added to the other notebooks'."],
    }


if __name__ == "__main__":
    main()
