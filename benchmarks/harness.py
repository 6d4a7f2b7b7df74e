"""Shared measuring tools of the benchmarks: fresh processes, peak memory, the machine, RESULTS.md.

Every benchmark writes ``results/<name>.json`` with a ``section`` (title, intro lines, table
header and rows as text); :func:`write_results_md` joins all of them into RESULTS.md, so running
one benchmark never erases another's record.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
#: Sections in this order first, the rest alphabetically.
ORDER = ("pipeline", "pipeline_nb05_issue18", "generate", "segmentation", "prediction", "forecasting")


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


def measure(code: str, *args: str) -> tuple[float, float, str]:
    """Wall seconds, peak resident memory (GiB, summed over the process and its workers, sampled
    every 0.2 s) and standard output of ``python -c code args`` in a fresh process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", code, *args], stdout=subprocess.PIPE, text=True)
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_bytes(proc.pid))
        time.sleep(0.2)
    seconds = time.perf_counter() - t0
    out = proc.stdout.read() if proc.stdout else ""
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark step failed with status {proc.returncode}: {args}")
    return seconds, peak / 1024 ** 3, out


def machine() -> str:
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1024 ** 3
    return f"{platform.machine()}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def save(name: str, result: dict) -> Path:
    """Write ``results/<name>.json`` and regenerate RESULTS.md from every result on disk."""
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(result, indent=2) + "\n")
    write_results_md()
    return path


def write_results_md() -> None:
    found = {p.stem: json.loads(p.read_text()) for p in sorted(RESULTS.glob("*.json"))}
    names = [n for n in ORDER if n in found] + sorted(n for n in found if n not in ORDER)
    lines = ["# Benchmark results", "",
             "Written by the scripts in this folder (`make bench` runs them all). Every figure is the",
             "median of the runs shown, each run in a fresh process; peak memory is the largest resident",
             "set of any run, summed over the process and its worker processes (sampled every 0.2 s).", ""]
    for n in names:
        sec = found[n]["section"]
        lines += [f"## {sec['title']}", "", f"Machine: {found[n]['machine']}. Measured {found[n]['measured']}.", "",
                  *sec["intro"], "", sec["header"], sec["align"], *sec["rows"], "", *sec.get("notes", []), ""]
    (HERE / "RESULTS.md").write_text("\n".join(lines).rstrip() + "\n")
