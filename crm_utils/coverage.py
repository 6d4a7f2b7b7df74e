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

    The cutoff's day when the days since the last sale are no more than the shop's usual silence
    (:data:`QUIET_LOOKBACK_DAYS`); otherwise the last sale day.
    """
    cut = pd.Timestamp(cutoff).normalize()
    days = pd.DatetimeIndex(pd.to_datetime(order_dates[order_dates <= pd.Timestamp(cutoff)]).dt.normalize().unique())
    if days.empty:
        raise ValueError(f"no order dated on or before {cut:%Y-%m-%d}: the data do not reach the month")
    days = days.sort_values()
    last = days[-1]
    recent = days[days >= last - pd.Timedelta(days=QUIET_LOOKBACK_DAYS)]
    usual = int(np.diff(recent.asi8).max() // 86_400_000_000_000) if len(recent) > 1 else 1
    return cut if (cut - last).days < max(usual, 1) else last


def is_partial(order_dates: pd.Series, cutoff: pd.Timestamp) -> bool:
    """Whether the data stop before the cutoff's day (see :func:`data_end`)."""
    return data_end(order_dates, cutoff) < pd.Timestamp(cutoff).normalize()
