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
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

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
from crm_utils import cleaning, io
cleaning.clean(io.load_raw(sys.argv[1]), "2026-10")
"""


def _tree_rss_bytes(root: int) -> int:
    """Resident memory of a process and all its descendants (workers included), from /proc."""
    parents: dict[int, int] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            parents[int(stat.parent.name)] = int(fields[1])
        except (OSError, IndexError, ValueError):
            continue
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, p in parents.items() if p == pid and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in tree:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def measure(code: str, *args: str) -> tuple[float, float]:
    """Wall seconds and peak resident memory (GiB, summed over the process and its workers,
    sampled every 0.2 s) of ``python -c code args`` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args])
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_bytes(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed with status {proc.returncode}: {args}")
    return seconds, peak / 1024 ** 3


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=[5, 3, 1],
                    help="runs per size (one number for all, or one per size)")
    ap.add_argument("--format", default="parquet", choices=("csv", "parquet"))
    ap.add_argument("--clean-up-to", type=int, default=100_000,
                    help="also time the cleaning step for sizes up to this (default %(default)s)")
    ap.add_argument("--out", type=Path, default=HERE / "results" / "generate.json")
    args = ap.parse_args()
    repeats = args.repeats * len(args.sizes) if len(args.repeats) == 1 else args.repeats

    rows = []
    for size, reps in zip(args.sizes, repeats):
        gen, base, clean = [], [], []
        for i in range(reps):
            folder = Path(tempfile.mkdtemp(prefix=f"bench-{size}-"))
            try:
                gen.append(measure(GENERATE, str(folder), str(size), args.format))
                base.append(measure(READ_BACK, str(folder)))
                if size <= args.clean_up_to:
                    clean.append(measure(CLEAN, str(folder)))
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

    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "rows": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    write_results_md(result)
    print(f"wrote {args.out} and {HERE / 'RESULTS.md'}")


def write_results_md(result: dict) -> None:
    lines = [
        "# Benchmark results", "",
        "Recorded by `make bench` (`python benchmarks/bench_generate.py`); every figure is the median of",
        "the runs shown, each run in a fresh process; peak memory is the largest resident set of any run,",
        "summed over the process and its worker processes (sampled every 0.2 s).",
        "The baseline, run alongside, reads the generated tables back with pyarrow: the ratios say what",
        "generating or cleaning costs beyond touching the same bytes once.", "",
        f"Machine: {result['machine']}. Measured {result['measured']}.", "",
        "## Synthetic data generation and cleaning", "",
        "| customers | runs | order lines | files (MiB) | generate (s) | peak (GiB) | read back (s) | "
        "generate / read | clean (s) | clean peak (GiB) | clean / read |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in result["rows"]:
        na = "–"
        lines.append(
            f"| {r['customers']:,} | {r['runs']} | {r['order_lines']:,} | {r['disk_mib']:,} | {r['generate_s']} | "
            f"{r['generate_peak_gib']} | {r['read_back_s']} | {r['generate_vs_read']}x | "
            f"{r['clean_s'] if r['clean_s'] is not None else na} | "
            f"{r['clean_peak_gib'] if r['clean_peak_gib'] is not None else na} | "
            f"{str(r['clean_vs_read']) + 'x' if r['clean_vs_read'] is not None else na} |")
    lines += ["", "Targets (issue 2): 1,000,000 customers generated in under 3 minutes and 8 GiB.", ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines))


if __name__ == "__main__":
    main()
