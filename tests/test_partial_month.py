"""A month the data do not cover to its end (issue 19): found by cleaning, compared on the same days."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import coverage
from crm_utils.customers import overview


def _orders(days: pd.DatetimeIndex, per_day: float = 10.0) -> pd.DataFrame:
    n = len(days)
    return pd.DataFrame({"order_id": [f"O{i}" for i in range(n)], "customer_id": [f"C{i % 7}" for i in range(n)],
                         "order_date": days, "line_revenue": per_day, "is_return": False})


def test_a_partial_month_is_compared_on_the_same_days():
    # Data to 9 December: ten a day every day since September.
    orders = _orders(pd.date_range("2011-09-01", "2011-12-09", freq="D"))
    whole = overview.kpi_table(orders, "2011-12")
    # Compared with the whole of November, nine days look like a collapse (the "down 69.7%").
    assert whole.loc["revenue", "change vs previous month"] == pytest.approx(90 / 300 - 1)
    same_days = overview.kpi_table(orders, "2011-12", data_end=coverage.data_end(orders["order_date"],
                                                                                pd.Timestamp("2011-12-31 23:59")))
    assert same_days.loc["revenue", "previous month"] == 90  # 1 to 9 November
    assert same_days.loc["revenue", "change vs previous month"] == pytest.approx(0.0)
    assert same_days.attrs["days"] == 9
    assert overview.headline("2011-12", same_days, {}, {})["compared_days"] == 9
    # A whole month is unchanged by the argument.
    full = overview.kpi_table(orders, "2011-11", data_end=pd.Timestamp("2011-11-30"))
    assert full.attrs["days"] is None and full.loc["revenue", "this month"] == 300


def test_cleaning_records_how_far_the_data_reach(cleaned):
    _, result = cleaned
    m = result.metrics()
    assert m["data_end"] == "2026-10-31" and m["month_complete"] is True


def test_the_runner_refuses_a_partial_month_unless_asked(tmp_path):
    """Data cut on 2026-10-09: --month 2026-10 stops with exit 2 and one line; --allow-partial runs
    it, and the overview compares days 1 to 9 of each month."""
    import json
    import os
    import subprocess
    import sys

    cli = [sys.executable, "-m", "crm_utils.run.cli"]

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([*cli, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=600)

    data, reports = tmp_path / "data", tmp_path / "reports"
    assert run("generate", "--customers", "300", "--months", "14", "--seed", "3", "--out", str(data)).returncode == 0
    orders = pd.read_csv(data / "orders.csv", dtype=str, keep_default_na=False)
    dates = pd.to_datetime(orders["order_date"], errors="coerce", format="mixed", dayfirst=True)
    orders[~(dates >= "2026-10-10")].to_csv(data / "orders.csv", index=False)

    refused = run("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(reports), "--quiet")
    assert refused.returncode == 2
    line = refused.stderr.strip().splitlines()[-1]
    assert "2026-10 is not complete in the data: they end on 2026-10-09" in line and "--allow-partial" in line
    assert not (reports / "2026-10").exists() and not (reports / "2026-10.failed").exists()

    done = run("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(reports), "--only", "01,02",
               "--allow-partial", "--quiet")
    assert done.returncode == 0, done.stderr
    metrics = json.loads((reports / "2026-10" / "metrics.json").read_text())
    assert metrics["01_data_cleaning"]["data_end"] == "2026-10-09"
    assert metrics["01_data_cleaning"]["month_complete"] is False
    assert metrics["02_customer_overview"]["compared_days"] == 9
    assert json.loads((reports / "2026-10" / "run.json").read_text())["allow_partial"] is True


def test_a_usual_closure_is_not_the_end_of_the_data():
    cutoff = pd.Timestamp("2026-12-31 23:59:59")
    # Monday to Friday, shut from 24 to 31 December, this year and last.
    weekdays = pd.Series(d for d in pd.date_range("2025-01-01", "2026-12-31") if d.dayofweek < 5
                         and not (d.month == 12 and d.day >= 24))
    assert coverage.data_end(weekdays, cutoff) == cutoff.normalize()
    # The same closure with no year before to show it: the export looks cut.
    this_year = weekdays[weekdays >= "2026-06-01"]
    assert coverage.data_end(this_year, cutoff) == pd.Timestamp("2026-12-23")
    # A one-off fortnight's holiday in the weeks before does not make a 13-day silence usual.
    daily = pd.Series(d for d in pd.date_range("2026-08-01", "2026-10-18") if not ("2026-09-01" <= str(d.date()) <= "2026-09-14"))
    assert coverage.data_end(daily, pd.Timestamp("2026-10-31 23:59")) == pd.Timestamp("2026-10-18")
