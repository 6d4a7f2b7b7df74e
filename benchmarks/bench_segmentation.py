"""Time and peak memory of customer features and segmentation (notebook 03's work), by data size.

For each size the default generator writes Parquet tables into .cache/bench/<size>/ (kept, since
they depend only on the size and the seed). A preparation step, not timed, turns the raw orders
and interactions into the shape notebook 01 hands over (dates parsed, numbers typed, returns
marked): it keeps the lines in the generator's main date format and drops the ~13% written in
other formats or otherwise dirty, and unifies category spellings as notebook 01 does, which is enough to measure the cost of what follows without
running the full cleaning. Then, in a fresh process: features as of 2026-10-31, K-means with k
chosen by silhouette (the notebook's defaults: k 2-10, centroids learned on a 20,000-customer
sample, silhouette on 10,000), every customer assigned, segments named and profiled.

Baseline, run alongside: reading the same prepared tables (pure I/O), so the ratio says what the
computation costs beyond loading its input.

    python benchmarks/bench_segmentation.py                    # 10k x5, 100k x3, 1M x1
    python benchmarks/bench_segmentation.py --sizes 10000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from harness import HERE, machine, measure, save

CACHE = HERE.parent / ".cache" / "bench"

GENERATE = """
import sys
from crm_utils import synth
synth.generate(sys.argv[1], synth.SynthConfig(customers=int(sys.argv[2]), file_format="parquet"))
"""

PREPARE = """
import sys, pathlib
import numpy as np, pandas as pd
from crm_utils.data.cleaning import canonical_spelling
d = pathlib.Path(sys.argv[1])
o = pd.read_parquet(d / "orders.parquet", dtype_backend="pyarrow")
o["order_date"] = pd.to_datetime(o["order_date"].astype(str), format="%Y-%m-%d %H:%M:%S", errors="coerce")
o["quantity"] = pd.to_numeric(o["quantity"], errors="coerce")
o["unit_price"] = pd.to_numeric(o["unit_price"], errors="coerce")
o = o.dropna(subset=["order_date", "quantity", "unit_price", "customer_id"])
o = o[(o["unit_price"] > 0) & (o["quantity"] != 0)]
out = pd.DataFrame({
    "order_id": o["order_id"].astype("string[pyarrow]"), "customer_id": o["customer_id"].astype("string[pyarrow]"),
    "order_date": o["order_date"].astype("datetime64[ns]"), "category": canonical_spelling(o["category"]).astype("category"),
    "quantity": o["quantity"].astype(float), "unit_price": o["unit_price"].astype(float)})
out["is_return"] = out["quantity"] < 0
out["line_revenue"] = (out["quantity"] * out["unit_price"]).round(2)
out.to_parquet(d / "prepared_orders.parquet", index=False)
i = pd.read_parquet(d / "interactions.parquet", columns=["customer_id", "timestamp"])
i["timestamp"] = pd.to_datetime(i["timestamp"].astype(str), format="ISO8601", errors="coerce")
i.dropna().astype({"customer_id": "string[pyarrow]"}).to_parquet(d / "prepared_interactions.parquet", index=False)
print(len(o))
"""

READ = """
import sys, pathlib, pandas as pd, pyarrow as pa, pyarrow.parquet as pq
d = pathlib.Path(sys.argv[1])
text = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}.get
pq.read_table(d / "prepared_orders.parquet").to_pandas(types_mapper=text)
pq.read_table(d / "prepared_interactions.parquet").to_pandas(types_mapper=text)
"""

SEGMENT = """
import sys, json, time, pathlib
import pandas as pd
from crm_utils.customers import features, segmentation
d = pathlib.Path(sys.argv[1])
t = {}
import pyarrow as pa, pyarrow.parquet as pq
text = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}.get
t0 = time.perf_counter()
orders = pq.read_table(d / "prepared_orders.parquet").to_pandas(types_mapper=text)  # as artifacts.read_table does
inter = pq.read_table(d / "prepared_interactions.parquet").to_pandas(types_mapper=text)
t["read"] = time.perf_counter() - t0
cutoff = pd.Timestamp("2026-10-31 23:59:59")
t0 = time.perf_counter()
f = features.customer_features(orders, cutoff, inter)
t["features"] = time.perf_counter() - t0
t0 = time.perf_counter()
seg = segmentation.CustomerSegmenter(seed=42).fit(f)
names = segmentation.name_segments(f, seg.labels_)
segmentation.profile(f, seg.labels_, names)
t["segmentation"] = time.perf_counter() - t0
print(json.dumps({**t, "customers": len(f), "k": seg.k_}))
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=[5, 3, 1],
                    help="runs per size (one number for all, or one per size)")
    args = ap.parse_args()
    repeats = args.repeats * len(args.sizes) if len(args.repeats) == 1 else args.repeats
    rows = []
    for size, reps in zip(args.sizes, repeats):
        folder = CACHE / str(size)
        if not (folder / "prepared_orders.parquet").exists():
            print(f"{size:>9,}: generating and preparing (once) in {folder}", flush=True)
            measure(GENERATE, str(folder), str(size))
            measure(PREPARE, str(folder))
        runs, base = [], []
        for i in range(reps):
            seconds, peak, out = measure(SEGMENT, str(folder))
            runs.append((seconds, peak, json.loads(out.strip().splitlines()[-1])))
            base.append(measure(READ, str(folder))[0])
            r = runs[-1][2]
            print(f"{size:>9,} run {i + 1}/{reps}: {seconds:.1f} s ({r['features']:.1f} s features, "
                  f"{r['segmentation']:.1f} s segmentation), {peak:.2f} GiB, k={r['k']}", flush=True)
        med = lambda xs: statistics.median(xs)  # noqa: E731
        total = med([x[0] for x in runs])
        rows.append({"customers": size, "runs": reps, "buying_customers": runs[0][2]["customers"],
                     "order_lines": _lines(folder), "total_s": round(total, 2),
                     "features_s": round(med([x[2]["features"] for x in runs]), 2),
                     "segmentation_s": round(med([x[2]["segmentation"] for x in runs]), 2),
                     "peak_gib": round(max(x[1] for x in runs), 2), "read_s": round(med(base), 2),
                     "total_vs_read": round(total / med(base), 1), "k": runs[0][2]["k"]})
    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "rows": rows, "section": section(rows)}
    print(f"wrote {save('segmentation', result)} and RESULTS.md")


def _lines(folder: Path) -> int:
    import pyarrow.parquet as pq

    return pq.ParquetFile(folder / "prepared_orders.parquet").metadata.num_rows


def section(rows: list[dict]) -> dict:
    return {
        "title": "Customer features and segmentation (notebook 03)",
        "intro": ["`python benchmarks/bench_segmentation.py`. Total = reading the prepared orders and",
                  "interactions + features as of the cutoff + choosing k, fitting, assigning, naming and",
                  "profiling segments, in a fresh process (Python start-up and imports included). The",
                  "baseline, run alongside, only reads the same tables."],
        "header": "| customers | runs | buying customers | order lines | total (s) | features (s) | "
                  "segmentation (s) | peak (GiB) | read (s) | total / read | k |",
        "align": "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "rows": [f"| {r['customers']:,} | {r['runs']} | {r['buying_customers']:,} | {r['order_lines']:,} | "
                 f"{r['total_s']} | {r['features_s']} | {r['segmentation_s']} | {r['peak_gib']} | {r['read_s']} | "
                 f"{r['total_vs_read']}x | {r['k']} |" for r in rows],
        "notes": ["Target (issue 3): features and segmentation of 1,000,000 customers in under 5 minutes and 8 GiB."],
    }


if __name__ == "__main__":
    main()
