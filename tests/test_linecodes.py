"""Integer codes behind the whole-table summaries: they must give what pandas gives, only cheaper."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import linecodes


def test_months_and_days_are_pandas_calendar_months_and_days():
    dates = pd.Series(pd.to_datetime(["1969-12-31 23:59:59", "2024-02-29 00:00:00", "2024-02-29 23:59:59.999",
                                      "2024-03-01", "2026-10-31 23:59:59", "2026-11-01"], format="ISO8601"))
    months = linecodes.month_numbers(dates)
    assert list(linecodes.periods(months)) == list(dates.dt.to_period("M"))
    assert list(linecodes.day_numbers(dates)) == list((dates.dt.normalize() - pd.Timestamp("1970-01-01")).dt.days)
    assert pd.Period("2026-10", freq="M").ordinal == months[4]


def test_missing_dates_and_ids_are_errors_not_silent_codes():
    with pytest.raises(ValueError, match="order dates are missing"):
        linecodes.month_numbers(pd.Series(pd.to_datetime(["2026-01-01", None])))
    with pytest.raises(ValueError, match="customer_id: missing values"):
        linecodes.codes(pd.Series(["a", None], name="customer_id"))


@pytest.mark.parametrize("bitmap_max", [1 << 28, 1])  # the bitmap and the sorting path
def test_distinct_pairs_match_numpy_unique(monkeypatch, bitmap_max):
    monkeypatch.setattr(linecodes, "BITMAP_MAX", bitmap_max)
    rng = np.random.default_rng(0)
    # 50 x 3,000 possible keys, more than four per line: the bitmap_max decides the path.
    a, b = rng.integers(0, 50, 5000), rng.integers(0, 3000, 5000)
    b[:100] = b[100:200]  # some pairs repeat
    a[:100] = a[100:200]
    got_a, got_b = linecodes.distinct_pairs(a, b, 3000)
    want = np.unique(np.stack([a, b], axis=1), axis=0)
    np.testing.assert_array_equal(np.stack([got_a, got_b], axis=1), want)
    counts = linecodes.distinct_counts(a, b, 3000, 60)
    assert counts.tolist() == [len(set(b[a == g])) for g in range(60)]


def test_missing_codes_are_left_out_like_nunique():
    a, b = linecodes.distinct_pairs(np.array([0, 0, 1, 1]), np.array([2, -1, -1, 2]), 3)
    assert a.tolist() == [0, 1] and b.tolist() == [2, 2]
    code, _ = linecodes.codes(pd.Series(["x", None, "x"], name="order_id"), allow_missing=True)
    assert code.tolist() == [0, -1, 0]
