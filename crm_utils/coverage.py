"""How far the data reach: the last day an export covers, told apart from a quiet end.

An export that ends on 9 December does not say that nothing sold from the 10th to the 31st; it
says nothing about those days. Counting them as zero demand, or comparing the month with a whole
one, turns a missing stretch into a slump. A shop that is closed on Sundays, though, ends a month
on a Sunday without missing anything. The rule: the data cover the days up to ``cutoff`` when
the silence before the cutoff is no longer than the longest silence between sale days in the
weeks before it; otherwise they end on the last sale day.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The weeks before the data's last sale day whose gaps between sale days set what a normal
#: silence is for this shop (a weekly rhythm needs a few weeks to show).
QUIET_LOOKBACK_DAYS = 91


def data_end(order_dates: pd.Series, cutoff: pd.Timestamp) -> pd.Timestamp:
    """The last day (midnight) the data cover, at most the cutoff's day.

    The cutoff's day when the silence since the last sale is usual for this shop: no longer than
    the longest gap between sale days that recurs (twice or more) in the :data:`QUIET_LOOKBACK_DAYS`
    before it (a weekly closing day recurs, a one-off fortnight's holiday does not), or a silence
    the shop also kept over the same days a year earlier (closed between Christmas and New Year).
    Otherwise the last sale day.
    """
    cut = pd.Timestamp(cutoff).normalize()
    # Distinct sale days by hashing whole days (tens of millions of lines become a few hundred days
    # without a per-line datetime object or a sort).
    # pd.to_datetime on a column that is already datetime still costs ~9 s per 36M lines (its cache).
    dates = order_dates if pd.api.types.is_datetime64_any_dtype(order_dates) else pd.to_datetime(order_dates, cache=False)
    stamps = pd.Series(dates).to_numpy(dtype="datetime64[ns]")
    stamps = stamps[~np.isnat(stamps) & (stamps <= np.datetime64(pd.Timestamp(cutoff).to_datetime64()))]
    days = pd.DatetimeIndex(pd.unique(stamps.astype("datetime64[D]")).astype("datetime64[ns]"))
    if days.empty:
        raise ValueError(f"no order dated on or before {cut:%Y-%m-%d}: the data do not reach the month")
    days = days.sort_values()
    last = days[-1]
    silence = (cut - last).days
    if silence == 0:
        return cut
    recent = days[days >= last - pd.Timedelta(days=QUIET_LOOKBACK_DAYS)]
    gaps = pd.Series(np.diff(recent.asi8) // 86_400_000_000_000)
    counts = gaps.value_counts()
    recurring = counts[counts >= 2].index
    usual = int(recurring.max()) if len(recurring) else 1
    if silence < usual:
        return cut
    # The same dates a year earlier (closures follow the calendar: Christmas, a summer fortnight):
    # silent then too, while open in the weeks before, is the shop's usual closure, not the end of
    # the export.
    year = pd.DateOffset(years=1)
    quiet_then = not ((days > last - year) & (days <= cut - year)).any()
    open_before = ((days > last - year - pd.Timedelta(days=QUIET_LOOKBACK_DAYS // 3)) & (days <= last - year)).any()
    return cut if quiet_then and open_before else last


def is_partial(order_dates: pd.Series, cutoff: pd.Timestamp) -> bool:
    """Whether the data stop before the cutoff's day (see :func:`data_end`)."""
    return data_end(order_dates, cutoff) < pd.Timestamp(cutoff).normalize()
