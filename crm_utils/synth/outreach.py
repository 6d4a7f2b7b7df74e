"""The shop's own outreach: campaign contacts targeted as a real team targets, with a planted effect.

Every month of the window but the first (which has no history to target on; at most the last
:data:`~crm_utils.synth.world.OUTREACH_MONTHS`) the shop draws a contact list from its
**active customers** (an order in the 365 days before the month starts): each gets at most one
contact that month, by e-mail, SMS, phone or a visit, on a promotion or a reminder. The list
favours frequent and recent buyers (the weight grows with the square root of their orders so
far times their orders in the last 90 days, an RFM-style list), so the contacted would have
bought more often anyway: a treated-minus-untreated
difference overstates what the contacts did. Targeting reads nothing but the order history the
shop sees, so the features a model can compute hold all the confounding (the assumption
:mod:`crm_utils.contacts.effects` states).

The planted effect is additive: a contact by channel ``c`` brings an extra order, within
:data:`~crm_utils.synth.world.OUTREACH_WINDOW_DAYS` days after it, with probability
``OUTREACH_CHANNELS[c]["lift"]`` (while the customer has not churned); SMS has none. Whether that
changes "bought within the window" depends on whether the customer would have bought anyway, so
the truth records both for every contact and the realised effect per channel (see
:func:`effect_truth`).

Everything is drawn from a stream of its own (the seed, the chunk and :data:`OUTREACH_STREAM`) and
appended to the chunk's tables after the dirt, so every other row of every table, and every
dirty row, is what it was without outreach.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from crm_utils.synth.behaviour import Activity, Orders, People, _draw_lines, _Job, _OrderHeads
from crm_utils.synth.dirt import DirtyChunk, OrderLines, render_orders
from crm_utils.synth.text import format_dates, format_ids
from crm_utils.synth.world import (OUTREACH_CHANNELS, OUTREACH_MONTHS, OUTREACH_TOPICS, OUTREACH_WINDOW_DAYS,
                                   ChunkSpec, World)

#: Third key of the outreach stream (``default_rng([seed, chunk, OUTREACH_STREAM])``): any constant
#: other streams do not use; 21 after the issue that asked for it.
OUTREACH_STREAM = 21
#: Outreach ids start this far into each chunk's own order and interaction number ranges (10**8
#: wide), above the numbers the chunk's own orders and contacts use.
ID_BASE = 9 * 10 ** 7
#: How strongly the list favours frequent and recent buyers:
#: weight = ((1 + orders so far) * (1 + orders in the last 90 days)) ** power.
TARGETING_POWER = 0.5
#: No customer is contacted with certainty: the month's contact probabilities are scaled down when
#: they would add up to more than this (so every customer could also have been left out).
MAX_CONTACT_PROBABILITY = 0.9


@dataclass
class Outreach:
    """One chunk's outreach: contacts (export columns), the extra orders' numeric lines, the truth."""

    interactions: pd.DataFrame
    orders: pd.DataFrame  # numeric lines, as Behaviour.orders before the dirt
    truth: pd.DataFrame  # one row per contact


def _month_starts(world: World) -> np.ndarray:
    """Calendar indices of the campaign months' first days (the window's first month excepted)."""
    days = world.calendar.days
    starts = np.flatnonzero(days.day == 1)
    starts = starts[starts > 0]
    return starts[-OUTREACH_MONTHS:]


def _contact_lists(rng: np.random.Generator, world: World, act: Activity, orders: Orders
                   ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Customer, channel index, topic index and calendar day of every contact, month by month."""
    channels = list(OUTREACH_CHANNELS)
    reach = np.array([OUTREACH_CHANNELS[c]["reach"] for c in channels])
    n = len(act.span)
    out = []
    for start in _month_starts(world):
        before = orders.day < start
        in_year = (orders.day >= start - 365) & before
        in_quarter = (orders.day >= start - 90) & before
        active = np.flatnonzero(np.bincount(orders.cust[in_year], minlength=n) > 0)
        if not len(active):
            continue
        # The team's list: frequent and recent buyers first (all orders so far, orders in the last 90 days).
        w = ((1.0 + np.bincount(orders.cust[before], minlength=n)[active]) *
             (1.0 + np.bincount(orders.cust[in_quarter], minlength=n)[active])) ** TARGETING_POWER
        p = reach[None, :] * (w / w.mean())[:, None]  # (customers, channels)
        total = p.sum(1, keepdims=True)
        p = np.where(total > MAX_CONTACT_PROBABILITY, p * MAX_CONTACT_PROBABILITY / total, p)
        u = rng.random(len(active))
        chosen = (u[:, None] > np.cumsum(p, 1)).sum(1)  # == len(channels): not contacted
        hit = chosen < len(channels)
        cust, ch = active[hit], chosen[hit]
        topic = (rng.random(len(cust)) >= OUTREACH_TOPICS["promotion"]).astype(int)
        spread = np.array([OUTREACH_CHANNELS[c]["days"] for c in channels])[ch]
        day = start + np.floor(rng.random(len(cust)) * spread).astype(int)
        out.append((cust, ch, topic, day))
    if not out:
        return (np.array([], int),) * 4
    return tuple(np.concatenate(parts) for parts in zip(*out))


def draw_outreach(world: World, spec: ChunkSpec, people: People, act: Activity, orders: Orders) -> Outreach:
    """The chunk's campaign contacts, the orders they caused and the truth of both."""
    rng = np.random.default_rng([world.cfg.seed, spec.index, OUTREACH_STREAM])
    cal, n_days = world.calendar, len(world.calendar.days)
    channels, topics = list(OUTREACH_CHANNELS), list(OUTREACH_TOPICS)
    cust, ch, topic, day = _contact_lists(rng, world, act, orders)
    order = np.lexsort((cust, day))
    cust, ch, topic, day = cust[order], ch[order], topic[order], day[order]
    secs = rng.integers(9 * 3600, 18 * 3600, len(cust))
    ts = cal.days.values[day] + (secs * 1_000_000_000).astype("timedelta64[ns]")
    window = np.timedelta64(OUTREACH_WINDOW_DAYS, "D")

    # The planted effect: an extra order 1..window-1 days later (sooner more likely), if still a customer.
    lift = np.array([OUTREACH_CHANNELS[c]["lift"] for c in channels])[ch]
    caused = rng.random(len(cust)) < lift
    lag = 1 + np.floor(rng.random(len(cust)) ** 2 * (OUTREACH_WINDOW_DAYS - 1)).astype(int)
    o_day = day + lag
    caused &= (o_day < n_days) & (o_day >= act.a[cust]) & (o_day <= act.b[cust])
    o_secs = (np.clip(rng.normal(19.5, 3.5, len(cust)), 0, 23.99) * 3600).astype(int)
    o_time = cal.days.values[np.minimum(o_day, n_days - 1)] + (o_secs * 1_000_000_000).astype("timedelta64[ns]")
    heads = _OrderHeads(cust[caused], o_day[caused], o_time[caused],
                        spec.order_offset + ID_BASE + np.arange(1, int(caused.sum()) + 1))
    lines, _, _ = _draw_lines(_Job(rng, world, spec), people, heads)

    ids = format_ids("I", spec.interaction_offset + ID_BASE + np.arange(1, len(cust) + 1), 9)
    interactions = pd.DataFrame({
        "interaction_id": ids, "customer_id": people.customer_id[cust],
        "timestamp": format_dates(ts, "%Y-%m-%dT%H:%M:%S"),
        "channel": np.array(channels, dtype=object)[ch], "topic": np.array(topics, dtype=object)[topic],
        "note": np.full(len(cust), None, dtype=object), "outcome": np.full(len(cust), "sent", dtype=object),
    })
    bought_anyway = _bought_anyway(orders, cust, ts, caused, o_time, window)
    truth = pd.DataFrame({
        "interaction_id": ids, "customer_id": people.customer_id[cust], "timestamp": ts,
        "channel": interactions["channel"], "topic": interactions["topic"],
        "full_window": ts + window <= np.datetime64(world.cfg.end_ts + pd.Timedelta(days=1)),
        "bought_anyway": bought_anyway, "caused_order": caused,
        "caused_purchase": caused & ~bought_anyway,
    })
    return Outreach(interactions, lines, truth)


def _bought_anyway(orders: Orders, cust: np.ndarray, ts: np.ndarray, caused: np.ndarray,
                   o_time: np.ndarray, window: np.timedelta64) -> np.ndarray:
    """Per contact: would the customer have bought in ``(ts, ts + window]`` without it?

    Counts the customer's own purchases and the extra orders other contacts caused (a contact's
    own extra order always falls inside its window, so it is the one purchase taken off).
    """
    buys = ~orders.is_return
    b_cust = np.concatenate([orders.lines["cust"].to_numpy()[buys], cust[caused]]).astype(np.int64)
    b_time = np.concatenate([orders.lines["order_date"].to_numpy()[buys], o_time[caused]])
    origin = np.datetime64("1970-01-01T00:00:00", "ns")

    def key(c: np.ndarray, t: np.ndarray) -> np.ndarray:  # customer, then seconds: one sortable integer
        return c.astype(np.int64) * (1 << 34) + ((t - origin) // np.timedelta64(1, "s")).astype(np.int64)

    keys = np.sort(key(b_cust, b_time))
    lo = np.searchsorted(keys, key(cust, ts), "right")
    hi = np.searchsorted(keys, key(cust, ts + window), "right")
    return (hi - lo - caused.astype(int)) > 0


def effect_truth(contacts: pd.DataFrame) -> pd.DataFrame:
    """The planted effect per channel (topic ``all``) and per (channel, topic): contacts with a full window.

    ``lift`` is the planted probability that a contact brings an extra order within the window;
    ``effect`` the realised change in the share who bought within it (the lift, less the contacted
    who would have bought anyway): what an estimator of the effect on the contacted should find.
    """
    full = contacts[contacts["full_window"]]
    rows = []
    for keys, g in [((c, "all"), g) for c, g in full.groupby("channel", sort=True)] + \
            [(k, g) for k, g in full.groupby(["channel", "topic"], sort=True)]:
        rows.append({"channel": keys[0], "topic": keys[1], "window_days": OUTREACH_WINDOW_DAYS,
                     "lift": OUTREACH_CHANNELS[keys[0]]["lift"], "n_contacts": len(g),
                     "bought_anyway": float(g["bought_anyway"].mean()),
                     "effect": float(g["caused_purchase"].mean())})
    return pd.DataFrame(rows, columns=["channel", "topic", "window_days", "lift", "n_contacts", "bought_anyway",
                                       "effect"])


def with_outreach(chunk: DirtyChunk, outreach: Outreach, world: World) -> DirtyChunk:
    """The chunk's tables with the outreach contacts and the orders they caused appended (clean rows)."""
    lines = render_orders(OrderLines.of(outreach.orders), chunk.customers["customer_id"], world.catalogue)
    return replace(chunk, orders=pd.concat([chunk.orders, lines], ignore_index=True),
                   interactions=pd.concat([chunk.interactions, outreach.interactions], ignore_index=True))
