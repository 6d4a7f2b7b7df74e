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
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench_segmentation import CACHE, GENERATE
from harness import RESULTS, machine, measure, save

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
    # Links, so the run reads exactly the generator's files and nothing else there: its tables and
    # its mapping.yml, which declares the currency and the holiday calendar as an operator's run has them.
    for name in [f"{t}.parquet" for t in TABLES] + ["mapping.yml"]:
        link = raw / name
        if not link.exists() and (folder / name).exists():
            link.symlink_to(folder / name)
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


#: The runner's progress lines: "[3/7] 03_customer_segmentation.ipynb ..." and "... done in 19.4 s".
STARTED = re.compile(r"\[\d+/\d+\] (\S+\.ipynb) \.\.\.")
DONE = re.compile(r"\[\d+/\d+\] (\S+\.ipynb) done in ([\d.]+) s")


def run_once(data: Path, size: int, timeout: float | None = None) -> dict:
    """One monthly run: wall time, the whole tree's peak, and per notebook its time, time in cells
    and kernel peak (GiB). A run that fails or passes ``timeout`` seconds is stopped and recorded
    as such, with the notebooks it finished."""
    with tempfile.TemporaryDirectory(prefix=f"bench-pipeline-{size}-") as tmp:
        env = {**os.environ, "CRM_RUNS_DIR": str(Path(tmp) / "runs")}
        reports = Path(tmp) / "reports"
        cmd = [sys.executable, "-m", "crm_utils.run.cli", "run", "--month", MONTH, "--data-dir", str(data),
               "--reports-dir", str(reports)]
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                                start_new_session=True)
        kernels: list[int] = []  # in order of appearance: one per notebook
        peaks: dict[int, int] = {}
        total_peak = 0
        stopped = ""
        while proc.poll() is None:
            if timeout and time.perf_counter() - t0 > timeout:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                stopped = f"stopped after {timeout / 60:.0f} min"
                break
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
        if proc.returncode != 0 and not stopped:
            stopped = f"failed (exit {proc.returncode}): " + " ".join(log.strip().splitlines()[-1:])[:300]
        # The executed notebooks: in the report, or in the folder a failed or stopped run left.
        folders = [reports / MONTH, reports / f"{MONTH}.failed", *reports.glob(f".{MONTH}.partial-*")]
        executed = {p.name: p for f in folders if f.exists() for p in f.glob("[0-9][0-9]_*.ipynb")}
        started = STARTED.findall(log)
        done = {nb: float(sec) for nb, sec in DONE.findall(log)}
        rows = {}
        for i, nb in enumerate(started):
            pid = kernels[i] if i < len(kernels) else None
            row = {"peak_gib": peaks.get(pid, 0) / 1024 ** 3}
            if nb in done:
                cells = json.loads(executed[nb].read_text())["cells"] if nb in executed else []
                in_cells = sum(float(c.get("metadata", {}).get("papermill", {}).get("duration") or 0) for c in cells)
                row.update(seconds=done[nb], cells_seconds=round(in_cells, 2),
                           overhead_seconds=round(done[nb] - in_cells, 2))
            else:  # the notebook that was running when the run failed or was stopped
                row.update(seconds=None, cells_seconds=None, overhead_seconds=None, unfinished=True)
            rows[nb] = row
        return {"wall_s": wall, "peak_gib": total_peak / 1024 ** 3, "notebooks": rows, "stopped": stopped}


def summarise(size: int, runs: list[dict], data: Path) -> dict:
    """Medians over the complete runs (peaks: the largest); a size whose runs all stopped keeps
    the first run's partial figures and why it stopped."""
    med = statistics.median
    complete = [r for r in runs if not r["stopped"]] or runs[:1]

    def middle(nb: str, key: str) -> float | None:
        values = [r["notebooks"][nb][key] for r in complete if r["notebooks"].get(nb, {}).get(key) is not None]
        return round(med(values), 1) if values else None

    notebooks = list(complete[0]["notebooks"])
    per = {nb: {"seconds": middle(nb, "seconds"), "cells_seconds": middle(nb, "cells_seconds"),
                "overhead_seconds": middle(nb, "overhead_seconds"),
                "peak_gib": round(max(r["notebooks"][nb]["peak_gib"] for r in complete if nb in r["notebooks"]), 2)}
           for nb in notebooks}
    return {"customers": size, "runs": len(complete), "order_lines": _lines(data.parent),
            "wall_s": round(med([r["wall_s"] for r in complete]), 1),
            "peak_gib": round(max(r["peak_gib"] for r in complete), 2), "notebooks": per,
            "stopped": complete[0]["stopped"]}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    ap.add_argument("--repeats", type=int, nargs="+", default=[3, 1, 1],
                    help="runs per size (one number for all, or one per size)")
    ap.add_argument("--timeout", type=float, default=60, help="minutes after which a run is stopped and "
                    "recorded as stopped, with the notebooks it finished (default %(default)s)")
    ap.add_argument("--keep-other-sizes", action="store_true",
                    help="keep the recorded rows of sizes not measured now (to add one size to the record)")
    ap.add_argument("--save", action=argparse.BooleanOptionalAction, default=True,
                    help="record results/pipeline.json and RESULTS.md (--no-save prints only)")
    args = ap.parse_args()
    repeats = args.repeats * len(args.sizes) if len(args.repeats) == 1 else args.repeats
    rows = []
    for size, reps in zip(args.sizes, repeats):
        data = data_folder(size)
        runs = []
        for i in range(reps):
            runs.append(run_once(data, size, args.timeout * 60))
            r = runs[-1]
            print(f"{size:>9,} run {i + 1}/{reps}: {r['wall_s']:.0f} s, peak {r['peak_gib']:.2f} GiB"
                  f"{'; ' + r['stopped'] if r['stopped'] else ''}", flush=True)
            for nb, v in r["notebooks"].items():
                if v["seconds"] is None:
                    print(f"    {nb:<32} unfinished, kernel peak {v['peak_gib']:.2f} GiB", flush=True)
                else:
                    print(f"    {nb:<32} {v['seconds']:>7.1f} s (cells {v['cells_seconds']:.1f} s, overhead "
                          f"{v['overhead_seconds']:.1f} s), kernel peak {v['peak_gib']:.2f} GiB", flush=True)
        rows.append(summarise(size, runs, data))
    recorded = RESULTS / "pipeline.json"
    if args.keep_other_sizes and recorded.exists():
        measured = {r["customers"] for r in rows}
        rows += [r for r in json.loads(recorded.read_text())["rows"] if r["customers"] not in measured]
        rows.sort(key=lambda r: r["customers"])
    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "rows": rows, "section": section(rows)}
    if args.save:
        chart(rows, RESULTS / "pipeline.png")
        print(f"wrote {save('pipeline', result)}, RESULTS.md and {RESULTS / 'pipeline.png'}")
    else:
        print(json.dumps(rows, indent=2))


def chart(rows: list[dict], path: Path) -> None:
    """Time against data size, whole run and per notebook, on log-log axes (a straight line of
    slope 1 is linear growth)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    done = [r for r in rows if not r.get("stopped")]
    if len(done) < 2:
        return
    fig, ax = plt.subplots(figsize=(7, 4.5))
    x = [r["customers"] for r in done]
    ax.plot(x, [r["wall_s"] for r in done], "o-", color="black", lw=2.5, label="whole run")
    for nb in done[0]["notebooks"]:
        y = [r["notebooks"].get(nb, {}).get("seconds") for r in done]
        if all(v is not None for v in y):
            ax.plot(x, y, "o--", lw=1, label=nb.split("_", 1)[0] + " " + nb.split("_", 1)[1].removesuffix(".ipynb"))
    ax.plot(x, [done[0]["wall_s"] * c / x[0] for c in x], ":", color="grey", label="linear from the smallest")
    ax.set(xscale="log", yscale="log", xlabel="customers", ylabel="wall time (s)",
           title="Monthly run time against data size")
    ax.legend(fontsize=7, loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def section(rows: list[dict]) -> dict:
    lines = []
    shown = lambda v: "–" if v is None else v  # noqa: E731
    for r in rows:
        whole = f"**{r['wall_s']}**" + (f" ({r['stopped']})" if r.get("stopped") else "")
        lines.append(f"| **{r['customers']:,}** ({r['order_lines']:,} lines, {r['runs']} "
                     f"run{'s' if r['runs'] > 1 else ''}) | **whole run** | {whole} | | | **{r['peak_gib']}** |")
        for nb, v in r["notebooks"].items():
            time_s = "unfinished" if v.get("unfinished") or v["seconds"] is None else v["seconds"]
            lines.append(f"| | {nb} | {time_s} | {shown(v['cells_seconds'])} | {shown(v['overhead_seconds'])} | "
                         f"{v['peak_gib']} |")
    notes = ["Targets (issue 9): the whole run at 1,000,000 customers within 20 minutes and 12 GiB peak.",
             "![Monthly run time against data size](results/pipeline.png)"]
    complete = [r for r in rows if not r.get("stopped")]
    if len(complete) >= 2:
        a, b = complete[-2], complete[-1]
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
