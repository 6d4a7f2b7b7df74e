"""Integer codes for whole-table passes over order lines: days, months, ids, distinct pairs.

At tens of millions of order lines, grouping by text ids or by ``Period`` objects takes
minutes, and every ``orders[mask]`` copies gigabytes of strings. The summaries of notebooks
02, 05 and 06 therefore hash each id column at most once, turn dates into integer day and
month numbers, and count with ``numpy.bincount`` over those codes. Counts come out the same;
sums of money may differ from pandas' in the last bit, as sums added in another order do.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

NS_PER_DAY = 86_400 * 10**9
#: Key spaces up to this size are deduplicated with a bitmap (one byte per possible key);
#: larger ones by sorting.
BITMAP_MAX = 1 << 28


def day_numbers(dates: pd.Series | pd.Index) -> np.ndarray:
    """Days since 1970-01-01 of each timestamp (the calendar day it falls on)."""
    values = np.asarray(dates, dtype="datetime64[ns]")
    if np.isnat(values).any():
        raise ValueError("order dates are missing on some lines: pass the cleaned orders of notebook 01")
    return np.floor_divide(values.view(np.int64), NS_PER_DAY)


def month_numbers(dates: pd.Series | pd.Index) -> np.ndarray:
    """Months since 1970-01 of each timestamp: the ordinals of pandas' monthly ``Period``.

    Looked up from a table over the days the data span, which is much cheaper than converting
    every timestamp to a calendar month.
    """
    days = day_numbers(dates)
    if not len(days):
        return days
    low = int(days.min())
    table = np.arange(low, int(days.max()) + 1).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return table[days - low]


def periods(ordinals: np.ndarray | list[int]) -> pd.PeriodIndex:
    """Monthly periods from :func:`month_numbers` ordinals."""
    return pd.PeriodIndex.from_ordinals(np.asarray(ordinals, dtype=np.int64), freq="M")


def codes(values: pd.Series, allow_missing: bool = False) -> tuple[np.ndarray, pd.Index]:
    """Dense integer codes (0..k-1, in order of first appearance) and the distinct values.

    One hash pass over the column; every later grouping by it is integer arithmetic. A missing
    value is an error unless ``allow_missing`` (then its code is -1, which
    :func:`distinct_pairs` leaves out, as ``nunique`` does).
    """
    code, uniques = pd.factorize(values)
    if not allow_missing and (code < 0).any():
        raise ValueError(f"{values.name}: missing values on some lines; pass the cleaned tables of notebook 01")
    return code, pd.Index(uniques)


def distinct_pairs(a: np.ndarray, b: np.ndarray, b_size: int) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs of two integer arrays, sorted by a then b; negative codes are left out.

    ``b_size`` bounds ``b`` (every b < b_size). A bitmap does it in one pass when the key space
    is small enough, sorting otherwise.
    """
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    if len(a) and (a.min() < 0 or b.min() < 0):  # missing values (code -1) are not a value
        keep = (a >= 0) & (b >= 0)
        a, b = a[keep], b[keep]
    if not len(a):
        return a, b
    key = a * b_size + b
    space = int(a.max() + 1) * b_size
    if space <= max(BITMAP_MAX, 4 * len(key)):
        seen = np.zeros(space, dtype=bool)
        seen[key] = True
        unique = np.flatnonzero(seen)
    else:
        key.sort()
        unique = key[np.r_[True, key[1:] != key[:-1]]]
    return unique // b_size, unique % b_size


def distinct_counts(group: np.ndarray, value: np.ndarray, value_size: int, n_groups: int) -> np.ndarray:
    """How many distinct values each group 0..n_groups-1 has (``nunique`` per group)."""
    g, _ = distinct_pairs(group, value, value_size)
    return np.bincount(g, minlength=n_groups)
