"""Time and peak memory of scoring customers with a trained need-prediction scorer (notebook 05's
last step), by data size.

Training is done once, before any timing: notebook 05's studies (propensity model chosen on
validation, next-category model, note classifiers) on the 10,000-customer data, saved with
joblib to .cache/bench/scorer.joblib. Each size's data are the default generator's, prepared as
in ``bench_segmentation.py`` (orders and interactions in the shape notebook 01 hands over; the
interactions keep their topic and note here). Then, in a fresh process: load the scorer, read the
tables, and ``NeedScorer.score`` every customer active on 2026-10-31 (features, BG/NBD features,
p_purchase, category pairs and next category, notes of the month classified), and write the
propensity table.

Baseline, run alongside: reading the same prepared tables (pure I/O).

    python benchmarks/bench_prediction.py                    # 10k x5, 100k x3, 1M x1
    python benchmarks/bench_prediction.py --sizes 10000 --repeats 1
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench_segmentation import CACHE, GENERATE, PREPARE, _lines
from harness import machine, measure, save

TRAIN_SIZE = 10_000
SCORER = CACHE / "scorer.joblib"

PREPARE_NOTES = """
import sys, pathlib
import pandas as pd
d = pathlib.Path(sys.argv[1])
i = pd.read_parquet(d / "interactions.parquet", columns=["interaction_id", "customer_id", "timestamp", "topic", "note"])
i["timestamp"] = pd.to_datetime(i["timestamp"].astype(str), format="ISO8601", errors="coerce")
i = i.dropna(subset=["customer_id", "timestamp"])
i.astype({"interaction_id": "string[pyarrow]", "customer_id": "string[pyarrow]", "topic": "category",
          "note": "string[pyarrow]"}).to_parquet(d / "prepared_notes.parquet", index=False)
"""

TRAIN = """
import sys, pathlib, joblib
import pandas as pd
from crm_utils.needs import need_text, next_category, prediction, propensity
d, out = pathlib.Path(sys.argv[1]), sys.argv[2]
orders = pd.read_parquet(d / "prepared_orders.parquet")
notes = pd.read_parquet(d / "prepared_notes.parquet")
cats = sorted(orders["category"].dropna().unique().astype(str))
cutoff = pd.Timestamp("2026-10-31 23:59:59")
study = propensity.PropensityStudy(orders, "2026-10", interactions=notes, categories=cats).run()
labelled = need_text.labelled_notes(notes, orders, cutoff)
train, val, _ = need_text.split_by_time(labelled)
table, _ = need_text.compare_methods(train, val)
method = need_text.METHODS[table.index[table["selected"]][0]]
report_text = need_text.NeedTextClassifier(method).fit(labelled)
feature_text = need_text.classifier_as_of(notes, orders, study.plan.earliest, method)
needs = need_text.note_needs(notes, feature_text)
nxt = next_category.NextNeedStudy(orders, study.plan, study.sets_, cats, needs)
nxt.evaluate()
scorer = prediction.NeedScorer.from_studies(study, nxt.fit_final(), feature_text, report_text)
joblib.dump(scorer, out)
print(f"{study.selected_}; next category: {scorer.sources['next_category']}")
"""

# Tables are read as ``artifacts.read_table`` reads notebook 01's output: text Arrow-backed.
READ_AS_NOTEBOOKS = """
import pyarrow as pa, pyarrow.parquet as pq
text = {pa.string(): pd.StringDtype("pyarrow"), pa.large_string(): pd.StringDtype("pyarrow")}.get
def read(path):
    return pq.read_table(path).to_pandas(types_mapper=text)
"""

READ = """
import sys, pathlib, pandas as pd
""" + READ_AS_NOTEBOOKS + """
d = pathlib.Path(sys.argv[1])
read(d / "prepared_orders.parquet"); read(d / "prepared_notes.parquet")
"""

SCORE = """
import sys, json, time, pathlib
t0 = time.perf_counter()
import joblib
import pandas as pd
from crm_utils import artifacts
""" + READ_AS_NOTEBOOKS + """
d, scorer_path, out = pathlib.Path(sys.argv[1]), sys.argv[2], sys.argv[3]
t = {"import": time.perf_counter() - t0}
t0 = time.perf_counter()
scorer = joblib.load(scorer_path)
t["load_scorer"] = time.perf_counter() - t0
t0 = time.perf_counter()
orders = read(d / "prepared_orders.parquet")
notes = read(d / "prepared_notes.parquet")
t["read"] = time.perf_counter() - t0
t0 = time.perf_counter()
scored = scorer.score(orders, pd.Timestamp("2026-10-31 23:59:59"), notes)
t["score"] = time.perf_counter() - t0
t0 = time.perf_counter()
artifacts.write_table(out, "propensity", scored)
t["write"] = time.perf_counter() - t0
print(json.dumps({**t, "scored": len(scored), "voiced": int(scored["voiced_need"].notna().sum())}))
"""


def prepare(size: int) -> Path:
    """Generate and prepare a size's tables once (kept in .cache/bench/<size>/)."""
    folder = CACHE / str(size)
    if not (folder / "prepared_orders.parquet").exists():
        print(f"{size:>9,}: generating and preparing (once) in {folder}", flush=True)
        measure(GENERATE, str(folder), str(size))
        measure(PREPARE, str(folder))
    if not (folder / "prepared_notes.parquet").exists():
        measure(PREPARE_NOTES, str(folder))
    return folder


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=[5, 3, 1],
                    help="runs per size (one number for all, or one per size)")
    ap.add_argument("--save", action=argparse.BooleanOptionalAction, default=True,
                    help="record results/prediction.json and RESULTS.md (--no-save for a trial run)")
    args = ap.parse_args()
    repeats = args.repeats * len(args.sizes) if len(args.repeats) == 1 else args.repeats

    print(f"training on {TRAIN_SIZE:,} customers (not timed)", flush=True)
    SCORER.parent.mkdir(parents=True, exist_ok=True)
    train_seconds, _, out = measure(TRAIN, str(prepare(TRAIN_SIZE)), str(SCORER))
    selected = out.strip().splitlines()[-1]
    rows = []
    for size, reps in zip(args.sizes, repeats):
        folder = prepare(size)
        runs, base = [], []
        for i in range(reps):
            seconds, peak, out = measure(SCORE, str(folder), str(SCORER), str(folder / "run"))
            runs.append((seconds, peak, json.loads(out.strip().splitlines()[-1])))
            base.append(measure(READ, str(folder))[0])
            r = runs[-1][2]
            print(f"{size:>9,} run {i + 1}/{reps}: {seconds:.1f} s ({r['score']:.1f} s scoring {r['scored']:,} "
                  f"customers), {peak:.2f} GiB", flush=True)
        med = statistics.median
        total = med([x[0] for x in runs])
        rows.append({"customers": size, "runs": reps, "scored_customers": runs[0][2]["scored"],
                     "order_lines": _lines(folder), "total_s": round(total, 2),
                     "score_s": round(med([x[2]["score"] for x in runs]), 2),
                     "read_in_run_s": round(med([x[2]["read"] for x in runs]), 2),
                     "peak_gib": round(max(x[1] for x in runs), 2), "read_s": round(med(base), 2),
                     "total_vs_read": round(total / med(base), 1)})
    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "rows": rows,
              "trained": {"customers": TRAIN_SIZE, "model": selected, "seconds": round(train_seconds, 1)},
              "section": section(rows, selected)}
    if args.save:
        print(f"wrote {save('prediction', result)} and RESULTS.md")
    else:
        print(json.dumps(rows, indent=2))


def section(rows: list[dict], selected: str) -> dict:
    return {
        "title": "Scoring customers with a trained need-prediction scorer (notebook 05)",
        "intro": ["`python benchmarks/bench_prediction.py`. Total = loading the scorer (trained once on",
                  f"{TRAIN_SIZE:,} customers; model: {selected}), reading the prepared orders and",
                  "interactions, and scoring every customer active at the cutoff: features, BG/NBD features,",
                  "p_purchase, next category over all (customer, category) pairs, the month's notes",
                  "classified; then writing propensity.parquet. Text is read Arrow-backed, as",
                  "`artifacts.read_table` hands it to the notebooks. Prediction uses every core from",
                  "`propensity.PARALLEL_ROWS` rows, one below. In a fresh process (Python start-up and",
                  "imports included). The baseline, run alongside, only reads the same tables."],
        "header": "| customers | runs | scored customers | order lines | total (s) | scoring (s) | "
                  "read in run (s) | peak (GiB) | read alone (s) | total / read |",
        "align": "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "rows": [f"| {r['customers']:,} | {r['runs']} | {r['scored_customers']:,} | {r['order_lines']:,} | "
                 f"{r['total_s']} | {r['score_s']} | {r['read_in_run_s']} | {r['peak_gib']} | {r['read_s']} | "
                 f"{r['total_vs_read']}x |" for r in rows],
        "notes": ["Target (issue 4): scoring 1,000,000 customers in under 2 minutes once the model is trained."],
    }


if __name__ == "__main__":
    main()
