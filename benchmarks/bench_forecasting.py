"""Time and peak memory of forecasting many weekly series: fit and predict, no backtest.

The workload is the forecast step of notebook 08 for every series: Prophet on log demand with
yearly seasonality, the retail-event and public-holiday regressors, and a 13-week forecast with
its interval (``uncertainty_samples`` as in the notebook). The series are three years of weekly
demand, generated here (growth, a yearly wave of random phase and size, event weeks, Poisson
noise), each with one of five regions for its holidays.

Each measurement runs in a fresh process, so worker start-up (imports of Prophet and
statsforecast in every worker, a Dask LocalCluster's start) is part of the time, as in a real
run. Engines: ``joblib`` (local processes, the notebook's default) and ``dask`` (a LocalCluster
of one single-threaded worker process per core). Baseline, run alongside: the same work in one
process (``serial``) on a sample of the series, so the ratio says what the fan-out buys.

    python benchmarks/bench_forecasting.py                                # 1,000 series, 3 runs each
    python benchmarks/bench_forecasting.py --series 40 --repeats 1 --serial-sample 10 --out /tmp/f.json

``--record`` writes benchmarks/results/forecasting.json and its section of RESULTS.md; without
it the JSON goes to ``--out`` only.
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

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from harness import _tree_rss_bytes, machine, save  # noqa: E402  (same folder, shared helpers)

REGIONS = ["United Kingdom", "Germany", "France", "Spain", "Netherlands"]
CUTOFF = "2026-10-31"

#: Runs in a fresh process: build the series and tasks, then fan the forecasts out.
WORKER = r"""
import json, sys, time
t0 = time.perf_counter()
sys.path.insert(0, sys.argv[5])
from bench_forecasting import weekly_series
from crm_utils.demand import series as demand, forecasting
n, engine, seed, samples = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
series = weekly_series(n, seed)
config = forecasting.ForecastConfig(uncertainty_samples=samples, seed=seed)
calendar = demand.calendar_for(series, config.horizon)
tasks = forecasting.make_tasks(series, calendar, config, models={name: "prophet" for name in series.names},
                               prophet_params={name: ((0.05, 10.0),) for name in series.names})
t1 = time.perf_counter()
forecast, notes = forecasting.run_forecasts(tasks, engine=engine)
t2 = time.perf_counter()
assert forecast["series"].nunique() == n and len(forecast) == n * config.horizon
print("RESULT " + json.dumps({"setup_s": t1 - t0, "forecast_s": t2 - t1, "notes": len(notes),
                              "yhat_sum": float(forecast["yhat"].sum())}))
"""


def weekly_series(n: int, seed: int, weeks: int = 156):
    """``n`` weekly demand series of ``weeks`` weeks ending at the cutoff, as a DemandSeries."""
    import numpy as np
    import pandas as pd

    from crm_utils.demand import series as demand

    rng = np.random.default_rng(seed)
    cutoff = pd.Timestamp(CUTOFF)
    ds = pd.date_range(end=cutoff, periods=weeks, freq="7D")
    t = np.arange(weeks)
    level = np.exp(rng.normal(3.5, 1.2, n))[:, None]  # from a handful to a few hundred a week
    growth = (1 + rng.normal(0.25, 0.15, n)[:, None]) ** (t / 52)
    wave = 1 + rng.uniform(0, 0.5, n)[:, None] * np.sin(2 * np.pi * (t / 52 + rng.uniform(0, 1, n)[:, None]))
    events = np.where((ds.month == 11) & (ds.day >= 22) | (ds.month == 12) & (ds.day <= 28), 1.5, 1.0)
    y = rng.poisson(level * growth * wave * events).astype(float)
    regions = np.array(REGIONS)[rng.integers(0, len(REGIONS), n)]
    frame = pd.DataFrame({"series": np.repeat([f"series={i:04d}" for i in range(n)], weeks),
                          "level": "category_region", "category": None, "region": np.repeat(regions, weeks),
                          "ds": np.tile(ds, n), "y": y.ravel()})
    weights = pd.Series(1 / len(REGIONS), index=REGIONS)
    return demand.DemandSeries(frame, pd.DataFrame(), "W", "units", cutoff + pd.Timedelta(hours=23, minutes=59),
                               weights)


def run_once(n: int, engine: str, seed: int, samples: int) -> dict:
    """One measurement in a fresh process: wall seconds, peak memory of the process tree, inner timings."""
    out = tempfile.TemporaryFile(mode="w+")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-c", WORKER, str(n), engine, str(seed), str(samples), str(HERE)],
                            stdout=out, env={**os.environ, "PYTHONHASHSEED": "0"})
    peak = 0
    while proc.poll() is None:
        peak = max(peak, _tree_rss_bytes(proc.pid))
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    out.seek(0)
    lines = [ln for ln in out.read().splitlines() if ln.startswith("RESULT ")]
    if proc.returncode != 0 or not lines:
        raise RuntimeError(f"benchmark run failed (status {proc.returncode}): {n} series on {engine}")
    return {"wall_s": wall, "peak_gib": peak / 1024 ** 3, **json.loads(lines[-1][len("RESULT "):])}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--series", type=int, default=1000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--engines", nargs="+", default=["joblib", "dask"], choices=["joblib", "dask"])
    ap.add_argument("--serial-sample", type=int, default=100,
                    help="series in the single-process baseline run alongside (default %(default)s)")
    ap.add_argument("--uncertainty-samples", type=int, default=500)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--out", type=Path, default=Path(tempfile.gettempdir()) / "bench_forecasting.json",
                    help="where a trial run (without --record) writes its JSON")
    ap.add_argument("--record", action="store_true",
                    help="record results/forecasting.json and its section of RESULTS.md")
    args = ap.parse_args()

    runs: dict[str, list[dict]] = {e: [] for e in [*args.engines, "serial"]}
    for i in range(args.repeats):
        for engine in args.engines:
            r = run_once(args.series, engine, args.seed, args.uncertainty_samples)
            runs[engine].append(r)
            print(f"{args.series:,} series on {engine}, run {i + 1}/{args.repeats}: {r['wall_s']:.1f} s wall "
                  f"({r['forecast_s']:.1f} s forecasting), {r['peak_gib']:.2f} GiB", flush=True)
        r = run_once(args.serial_sample, "serial", args.seed, args.uncertainty_samples)
        runs["serial"].append(r)
        print(f"{args.serial_sample:,} series serial (baseline), run {i + 1}/{args.repeats}: "
              f"{r['forecast_s']:.1f} s forecasting", flush=True)

    med = lambda rs, k: statistics.median(r[k] for r in rs)  # noqa: E731
    serial_per_series = med(runs["serial"], "forecast_s") / args.serial_sample
    rows = []
    for engine in args.engines:
        rs = runs[engine]
        rows.append({"engine": engine, "series": args.series, "runs": len(rs),
                     "wall_s": round(med(rs, "wall_s"), 1), "forecast_s": round(med(rs, "forecast_s"), 1),
                     "peak_gib": round(max(r["peak_gib"] for r in rs), 2),
                     "ms_per_series": round(1000 * med(rs, "forecast_s") / args.series, 1),
                     "speedup_vs_serial": round(serial_per_series * args.series / med(rs, "forecast_s"), 2)})
    result = {"machine": machine(), "measured": time.strftime("%Y-%m-%d"), "weeks": 156, "horizon": 13,
              "uncertainty_samples": args.uncertainty_samples,
              "serial_baseline": {"series": args.serial_sample, "runs": len(runs["serial"]),
                                  "ms_per_series": round(1000 * serial_per_series, 1)},
              "rows": rows}
    result["section"] = section(result)
    if args.record:
        print(f"wrote {save('forecasting', result)} and RESULTS.md")
    else:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(result, indent=2) + "\n")
        print(f"wrote {args.out}")


def section(result: dict) -> dict:
    """The forecasting section of RESULTS.md (see ``harness.save``)."""
    b = result["serial_baseline"]
    return {
        "title": "Forecasting many series",
        "intro": ["`python benchmarks/bench_forecasting.py --record`: weekly series of three years, Prophet fit",
                  f"and {result['horizon']}-week forecast per series ({result['uncertainty_samples']} uncertainty "
                  "samples), no",
                  "backtest. Each run in a fresh process; wall time includes start-up and worker imports; figures are",
                  "medians of the runs shown; peak memory is the largest resident set of the process tree. Baseline, run",
                  f"alongside: the same work in one process on {b['series']} series ({b['ms_per_series']} ms per series)."],
        "header": "| engine | series | runs | wall (s) | forecasting (s) | ms per series | speed-up vs one process | "
                  "peak (GiB) |",
        "align": "|---|---:|---:|---:|---:|---:|---:|---:|",
        "rows": [f"| {r['engine']} | {r['series']:,} | {r['runs']} | {r['wall_s']} | {r['forecast_s']} | "
                 f"{r['ms_per_series']} | {r['speedup_vs_serial']}x | {r['peak_gib']} |" for r in result["rows"]],
        "notes": ["Target (issue 5): 1,000 weekly series of three years, fit and predict, under 4 minutes locally."],
    }


if __name__ == "__main__":
    main()
