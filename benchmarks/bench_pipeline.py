"""Time and peak memory of the whole monthly run, notebook by notebook, by data size (issue 9).

Each size's data are the default generator's (``.cache/bench/<size>``, made once, Parquet files).
A run is ``crm-report run --month 2026-10`` on them, in a fresh process, exactly as an operator
starts it. While it runs, the resident memory of each notebook's kernel (with any worker
processes it starts) is sampled every 0.2 s; the kernels start one after another, so the n-th
kernel seen is the n-th notebook.

Per notebook the record shows its wall time (from run.json), the time its cells took (papermill's
per-cell durations in the executed notebook) and the difference: the papermill and kernel
overhead, i.e. what the same steps would cost more than as a plain Python script.

    python benchmarks/bench_pipeline.py                          # 10k x3, 100k x1, 1M x1; recorded
    python benchmarks/bench_pipeline.py --sizes 10000 --repeats 1 --no-save   # the quick CI check
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_segmentation import CACHE, GENERATE
from harness import machine, measure, save

MONTH = "2026-10"
TABLES = ("customers", "orders", "interactions", "surveys")


def data_folder(size: int) -> Path:
    """The contract's four tables of a size (generated once), in a folder of their own."""
    folder = CACHE / str(size)
    if not (folder / "orders.parquet").exists():
        print(f"{size:>9,}: generating (once) in {folder}", flush=True)
        measure(GENERATE, str(folder), str(size))
    raw = folder / "raw"
    raw.mkdir(exist_ok=True)
    for t in TABLES:  # links, so the run reads exactly the generator's files and nothing else there
        link = raw / f"{t}.parquet"
        if not link.exists():
            link.symlink_to(folder / f"{t}.parquet")
    return raw


def _lines(folder: Path) -> int:
    """Order lines of a size's data as generated (before cleaning)."""
    import pyarrow.parquet as pq

    return pq.ParquetFile(folder / "orders.parquet").metadata.num_rows


def _processes() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, command line) of every process."""
    out = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmd = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            out[int(stat.parent.name)] = (ppid, cmd)
        except (OSError, IndexError, ValueError):
            continue
    return out


def _rss(pids: set[int]) -> int:
    page = os.sysconf("SC_PAGE_SIZE")
    total = 0
    for pid in pids:
        try:
            total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        except (OSError, IndexError, ValueError):
            continue
    return total


def _descendants(root: int, procs: dict[int, tuple[int, str]]) -> set[int]:
    tree, frontier = {root}, [root]
    while frontier:
        pid = frontier.pop()
        kids = [c for c, (p, _) in procs.items() if p == pid and c not in tree]
        tree.update(kids)
        frontier.extend(kids)
    return tree


def run_once(data: Path, size: int) -> dict:
    """One monthly run: wall time, the runner's own peak, and each kernel's peak (GiB)."""
    with tempfile.TemporaryDirectory(prefix=f"bench-pipeline-{size}-") as tmp:
        env = {**os.environ, "CRM_RUNS_DIR": str(Path(tmp) / "runs")}
        cmd = [sys.executable, "-m", "crm_utils.cli", "run", "--month", MONTH, "--data-dir", str(data),
               "--reports-dir", str(Path(tmp) / "reports")]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        kernels: list[int] = []  # in order of appearance: one per notebook
        peaks: dict[int, int] = {}
        total_peak = 0
        while proc.poll() is None:
            procs = _processes()
            tree = _descendants(proc.pid, procs)
            total_peak = max(total_peak, _rss(tree))
            for pid in sorted(tree):
                if "ipykernel" in procs.get(pid, (0, ""))[1] and pid not in kernels:
                    kernels.append(pid)
            for pid in kernels:
                if pid in procs:
                    peaks[pid] = max(peaks.get(pid, 0), _rss(_descendants(pid, procs)))
            time.sleep(0.2)
        wall = time.perf_counter() - t0
        log = proc.stdout.read() if proc.stdout else ""
        if proc.returncode != 0:
            raise RuntimeError(f"the {size:,}-customer run failed ({proc.returncode}):\n{log[-3000:]}")
        report = Path(tmp) / "reports" / MONTH
        info = json.loads((report / "run.json").read_text())
        notebooks = info["notebooks"]
        if len(kernels) != len(notebooks):
            raise RuntimeError(f"saw {len(kernels)} kernels for {len(notebooks)} notebooks; memory per "
                               f"notebook cannot be attributed")
        rows = {}
        for nb, pid in zip(notebooks, kernels):
            cells = json.loads((report / nb).read_text())["cells"]
            in_cells = sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in cells)
            total = float(info["durations_seconds"][nb])
            rows[nb] = {"seconds": total, "cells_seconds": round(in_cells, 2),
                        "overhead_seconds": round(total - in_cells, 2), "peak_gib": peaks.get(pid, 0) / 1024 ** 3}
        return {"wall_s": wall, "peak_gib": total_peak / 1024 ** 3, "notebooks": rows}


def summarise(size: int, runs: list[dict], data: Path) -> dict:
    med = statistics.median
    notebooks = list(runs[0]["notebooks"])
    per = {nb: {"seconds": round(med([r["notebooks"][nb]["seconds"] for r in runs]), 1),
                "cells_seconds": round(med([r["notebooks"][nb]["cells_seconds"] for r in runs]), 1),
                "overhead_seconds": round(med([r["notebooks"][nb]["overhead_seconds"] for r in runs]), 1),
                "peak_gib": round(max(r["notebooks"][nb]["peak_gib"] for r in runs), 2)} for nb in notebooks}
    return {"customers": size, "runs": len(runs), "order_lines": _lines(data.parent),
            "wall_s": round(med([r["wall_s"] for r in runs]), 1),
            "peak_gib": round(max(r["peak_gib"] for r in runs), 2), "notebooks": per}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=[3, 1, 1],
                    help="runs per size (one number for all, or one per size)")
    ap.add_argument("--save", action=argparse.BooleanOptionalAction, default=True,
                    help="record results/pipeline.json and RESULTS.md (--no-save prints only)")
    args = ap.parse_args()
    repeats = args.repeats * len(args.sizes) if len(args.repeats) == 1 else args.repeats
    rows = []
    for size, reps in zip(args.sizes, repeats):
        data = data_folder(size)
        runs = []
        for i in range(reps):
            runs.append(run_once(data, size))
            r = runs[-1]
            print(f"{size:>9,} run {i + 1}/{reps}: {r['wall_s']:.0f} s, peak {r['peak_gib']:.2f} GiB", flush=True)
            for nb, v in r["notebooks"].items():
                print(f"    {nb:<32} {v['seconds']:>7.1f} s (cells {v['cells_seconds']:.1f} s, overhead "
                      f"{v['overhead_seconds']:.1f} s), kernel peak {v['peak_gib']:.2f} GiB", flush=True)
        rows.append(summarise(size, runs, data))
    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "rows": rows, "section": section(rows)}
    if args.save:
        print(f"wrote {save('pipeline', result)} and RESULTS.md")
    else:
        print(json.dumps(rows, indent=2))


def section(rows: list[dict]) -> dict:
    notebooks = list(rows[0]["notebooks"]) if rows else []
    lines = []
    for r in rows:
        lines.append(f"| **{r['customers']:,}** ({r['order_lines']:,} lines, {r['runs']} runs) | **whole run** | "
                     f"**{r['wall_s']}** | | | **{r['peak_gib']}** |")
        for nb in notebooks:
            v = r["notebooks"][nb]
            lines.append(f"| | {nb} | {v['seconds']} | {v['cells_seconds']} | {v['overhead_seconds']} | "
                         f"{v['peak_gib']} |")
    notes = ["Targets (issue 9): the whole run at 1,000,000 customers within 20 minutes and 12 GiB peak."]
    if len(rows) >= 2:
        a, b = rows[-2], rows[-1]
        notes.append(f"From {a['customers']:,} to {b['customers']:,} customers ({b['order_lines'] / a['order_lines']:.1f}x "
                     f"the lines) the whole run took {b['wall_s'] / a['wall_s']:.1f}x the time.")
    return {
        "title": "The whole monthly run, notebook by notebook (crm-report run)",
        "intro": ["`python benchmarks/bench_pipeline.py`. `crm-report run --month 2026-10` on the generator's",
                  "Parquet files, in a fresh process. Per notebook: wall time, the time its cells took",
                  "(papermill's per-cell durations), the difference (kernel start, papermill, writing the",
                  "notebook: the overhead over running the same steps as a plain script), and the kernel's",
                  "peak resident memory with any workers it started. The whole run's peak is the runner and",
                  "its kernels together; its time includes rendering report.html."],
        "header": "| customers | notebook | time (s) | in cells (s) | overhead (s) | peak (GiB) |",
        "align": "|---|---|---:|---:|---:|---:|",
        "rows": lines,
        "notes": notes,
    }


if __name__ == "__main__":
    main()
