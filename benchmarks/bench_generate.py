"""Time and peak memory of the synthetic data generator, and of the cleaning step, by data size.

Each measurement runs in a fresh process; peak memory is the resident set of that process and
its worker processes together, sampled every 0.2 s.
Baseline, run alongside: reading the generated tables back with pyarrow (pure I/O of the same
data), so the ratio says how much generation or cleaning costs beyond touching the bytes once.

    python benchmarks/bench_generate.py                       # 10k x5, 100k x3, 1M x1 (~6 min)
    python benchmarks/bench_generate.py --sizes 10000 --repeats 3

Writes benchmarks/results/generate.json and the table in benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from harness import machine, measure, save

GENERATE = """
import sys
from crm_utils import synth
synth.generate(sys.argv[1], synth.SynthConfig(customers=int(sys.argv[2]), file_format=sys.argv[3]))
"""
READ_BACK = """
import sys, pathlib
import pyarrow.csv as pacsv, pyarrow.parquet as pq
for p in sorted(pathlib.Path(sys.argv[1]).glob("*.*")):
    (pq.read_table if p.suffix == ".parquet" else pacsv.read_csv)(p)
"""
CLEAN = """
import sys, os
os.environ.setdefault("CRM_PSEUDONYM_KEY", "00" * 32)
from crm_utils.data import cleaning, io
cleaning.clean(io.load_raw(sys.argv[1]), "2026-10")
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=[5, 3, 1],
                    help="runs per size (one number for all, or one per size)")
    ap.add_argument("--format", default="parquet", choices=("csv", "parquet"))
    ap.add_argument("--clean-up-to", type=int, default=100_000,
                    help="also time the cleaning step for sizes up to this (default %(default)s)")
    args = ap.parse_args()
    repeats = args.repeats * len(args.sizes) if len(args.repeats) == 1 else args.repeats

    rows = []
    for size, reps in zip(args.sizes, repeats):
        gen, base, clean = [], [], []
        for i in range(reps):
            folder = Path(tempfile.mkdtemp(prefix=f"bench-{size}-"))
            try:
                gen.append(measure(GENERATE, str(folder), str(size), args.format)[:2])
                base.append(measure(READ_BACK, str(folder))[:2])
                if size <= args.clean_up_to:
                    clean.append(measure(CLEAN, str(folder))[:2])
                lines = sum(1 for _ in open(folder / "orders.csv")) - 1 if args.format == "csv" else \
                    __import__("pyarrow.parquet").parquet.ParquetFile(folder / "orders.parquet").metadata.num_rows
                disk = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 1024 ** 2
            finally:
                shutil.rmtree(folder, ignore_errors=True)
            print(f"{size:>9,} run {i + 1}/{reps}: generate {gen[-1][0]:.1f} s, {gen[-1][1]:.2f} GiB; "
                  f"read back {base[-1][0]:.1f} s" + (f"; clean {clean[-1][0]:.1f} s, {clean[-1][1]:.2f} GiB"
                                                      if clean else ""), flush=True)
        med = lambda xs, k: statistics.median(x[k] for x in xs) if xs else None  # noqa: E731
        rows.append({"customers": size, "runs": reps, "format": args.format, "order_lines": lines,
                     "disk_mib": round(disk, 1),
                     "generate_s": round(med(gen, 0), 2), "generate_peak_gib": round(max(x[1] for x in gen), 2),
                     "read_back_s": round(med(base, 0), 2),
                     "generate_vs_read": round(med(gen, 0) / med(base, 0), 1),
                     "clean_s": round(med(clean, 0), 2) if clean else None,
                     "clean_peak_gib": round(max(x[1] for x in clean), 2) if clean else None,
                     "clean_vs_read": round(med(clean, 0) / med(base, 0), 1) if clean else None})

    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "rows": rows, "section": section(rows)}
    print(f"wrote {save('generate', result)} and RESULTS.md")


def section(rows: list[dict]) -> dict:
    na = "–"
    return {
        "title": "Synthetic data generation and cleaning",
        "intro": ["`python benchmarks/bench_generate.py`. The baseline, run alongside, reads the generated",
                  "tables back with pyarrow: the ratios say what generating or cleaning costs beyond touching",
                  "the same bytes once."],
        "header": "| customers | runs | order lines | files (MiB) | generate (s) | peak (GiB) | read back (s) | "
                  "generate / read | clean (s) | clean peak (GiB) | clean / read |",
        "align": "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        "rows": [f"| {r['customers']:,} | {r['runs']} | {r['order_lines']:,} | {r['disk_mib']:,} | {r['generate_s']} | "
                 f"{r['generate_peak_gib']} | {r['read_back_s']} | {r['generate_vs_read']}x | "
                 f"{r['clean_s'] if r['clean_s'] is not None else na} | "
                 f"{r['clean_peak_gib'] if r['clean_peak_gib'] is not None else na} | "
                 f"{str(r['clean_vs_read']) + 'x' if r['clean_vs_read'] is not None else na} |" for r in rows],
        "notes": ["Targets (issue 2): 1,000,000 customers generated in under 3 minutes and 8 GiB."],
    }


if __name__ == "__main__":
    main()
