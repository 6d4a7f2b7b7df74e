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
