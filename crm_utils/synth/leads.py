"""Sales leads with a planted funnel: conversion rates per source and stage, and stage durations.

Each chunk's leads are drawn from their own random stream (``[seed, chunk, LEADS_STREAM]``), after
the chunk's customers and orders exist and without touching the stream those are drawn from, so
the other tables are the same with or without leads. A lead passes each stage with its source's
planted probability; the last step (proposal to won) also depends on a latent intent that the
lead's ``num_email_opens`` shows, and the qualification step on another that ``num_web_visits``
shows, so a lead-scoring model has something real to find beyond the source. A won lead becomes one of the chunk's customers whose first order follows the win, so
converted leads link to customers that then have orders. Dates after the data's end have not
happened yet: those stages are left empty and the lead is open, as in a real export.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crm_utils.synth.text import format_ids

#: Second seed word of the leads' random stream: independent of every other table's stream.
LEADS_STREAM = 23
#: Leads per customer of the chunk: 0.5 gives the default data 5,000 leads over three years.
LEADS_PER_CUSTOMER = 0.5
#: The funnel's transitions, each with the stage it leads to.
TRANSITIONS = ("contacted", "qualified", "proposal", "won")


@dataclass(frozen=True)
class LeadSource:
    """One source: its share of leads, its pass probability at each transition, its deal size."""

    name: str
    share: float
    #: P(contacted | created), P(qualified | contacted), P(proposal | qualified), P(won | proposal)
    rates: tuple[float, float, float, float]
    value_median: float  # median expected deal value, EUR (times the locale's price factor)


SOURCES = (
    LeadSource("web_form", 0.35, (0.85, 0.40, 0.60, 0.35), 400.0),
    LeadSource("referral", 0.15, (0.95, 0.70, 0.75, 0.55), 900.0),
    LeadSource("trade_fair", 0.15, (0.90, 0.55, 0.65, 0.40), 1500.0),
    LeadSource("cold_call", 0.20, (0.60, 0.25, 0.50, 0.25), 700.0),
    LeadSource("partner", 0.15, (0.90, 0.60, 0.70, 0.50), 1200.0),
)
#: Mean days from reaching one stage to the next (gamma, shape DURATION_SHAPE), per transition;
#: a lead dropping out at a transition is marked lost after the same kind of wait.
MEAN_DAYS = {"contacted": 3.0, "qualified": 12.0, "proposal": 10.0, "won": 21.0}
DURATION_SHAPE = 2.0
#: How strongly the latent intent drives the last step (a Gaussian copula's correlation): the
#: proposal-to-won rate of each source stays exactly as planted, on average over intents.
INTENT_CORRELATION = 0.8
#: Share of the leads that fail a stage which nobody ever closes: they stay open with no outcome,
#: as unworked leads do in a real CRM, and are what the funnel's stalled-lead rule must find.
GHOST_SHARE = 0.15
#: Share of leads with each kind of planted dirt (no lead id; an unreadable created date).
DIRT_SHARE = 0.004


def _gamma_days(rng: np.random.Generator, mean: float, n: int) -> np.ndarray:
    """Whole days (at least 1) from a gamma distribution of the given mean."""
    return np.maximum(1, np.round(rng.gamma(DURATION_SHAPE, mean / DURATION_SHAPE, n))).astype(np.int64)


def draw_leads(rng: np.random.Generator, start: pd.Timestamp, end: pd.Timestamp, n_customers: int,
               first_orders: pd.Series, chunk: int, price_factor: float = 1.0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The chunk's leads table (as exported) and its truth (every lead's uncensored path).

    ``first_orders``: each of the chunk's customers' first purchase date, indexed by customer id.
    ``price_factor``: the locale's prices against the euro catalogue (deal values in its currency).
    """
    n = int(round(n_customers * LEADS_PER_CUSTOMER))
    days = (end - start).days + 1
    created = start + pd.to_timedelta(rng.integers(0, days, n), unit="D")
    src = rng.choice(len(SOURCES), n, p=[s.share for s in SOURCES])
    rates = np.array([s.rates for s in SOURCES])[src]  # n x 4
    intent = rng.standard_normal((n, 2))  # interest (qualification step), intent to buy (last step)
    # Contacted and proposal pass independently; qualified and won through Gaussian copulas on two
    # independent latents, so each step's rate given the stage before is exactly the planted rate
    # (passing one step says nothing about the other latent) and the latents predict who passes.
    u = rng.random((n, 4))
    mix = INTENT_CORRELATION * intent + np.sqrt(1 - INTENT_CORRELATION ** 2) * rng.standard_normal((n, 2))
    u[:, 1], u[:, 3] = stats.norm.cdf(mix[:, 0]), stats.norm.cdf(mix[:, 1])
    passed = u < rates
    reached = np.cumprod(passed, axis=1).astype(bool)  # reached[:, j]: reached TRANSITIONS[j]
    waits = np.column_stack([_gamma_days(rng, MEAN_DAYS[t], n) for t in TRANSITIONS])
    at = np.cumsum(waits, axis=1)  # day offsets of each stage, were it reached
    n_reached = reached.sum(axis=1)  # 0 .. 4 transitions passed
    won = reached[:, 3]
    # The outcome: won on reaching 'won'; otherwise lost after the wait of the transition it failed.
    last_at = np.where(n_reached > 0, at[np.arange(n), np.maximum(n_reached - 1, 0)], 0)
    fail_wait = waits[np.arange(n), np.minimum(n_reached, 3)]
    outcome_at = np.where(won, at[:, 3], last_at + fail_wait)
    visits = rng.poisson(np.exp(1.2 + 0.5 * intent[:, 0]))
    opens = rng.poisson(np.exp(0.8 + 0.6 * intent[:, 1]))
    value = np.round(np.array([s.value_median for s in SOURCES])[src] * price_factor
                     * np.exp(0.5 * rng.standard_normal(n)), 2)

    stage_dates = {}
    for j, t in enumerate(TRANSITIONS[:3]):
        d = created + pd.to_timedelta(at[:, j], unit="D")
        stage_dates[f"{t}_date"] = pd.Series(d).where(reached[:, j] & (d <= end))
    ghost = ~won & (rng.random(n) < GHOST_SHARE)  # failed, but never marked lost
    out_date = pd.Series(created + pd.to_timedelta(outcome_at, unit="D")).where(~ghost)
    known = out_date <= end
    outcome = pd.Series(np.where(won, "won", "lost"), dtype=object).where(known)

    # A won lead (whose win is already known) becomes the chunk's customer whose first order is the
    # earliest on or after the win, each customer at most once: its orders are then the lead's worth.
    customer = np.full(n, None, dtype=object)
    pool = first_orders.sort_values()
    pool_days, pool_ids, taken = pool.to_numpy(), pool.index.to_numpy(), np.zeros(len(pool), dtype=bool)
    for i in np.flatnonzero(won & known.to_numpy())[np.argsort(out_date[won & known.to_numpy()].to_numpy(),
                                                                kind="stable")]:
        j = np.searchsorted(pool_days, out_date.iloc[i].to_datetime64())
        while j < len(pool) and taken[j]:
            j += 1
        if j < len(pool):
            taken[j] = True
            customer[i] = pool_ids[j]

    ids = format_ids("L", chunk * 10 ** 7 + np.arange(1, n + 1), 9)
    frame = pd.DataFrame({
        "lead_id": ids, "created_date": created.strftime("%Y-%m-%d"),
        "source": [SOURCES[i].name for i in src],
        **{c: d.dt.strftime("%Y-%m-%d") for c, d in stage_dates.items()},
        "outcome": outcome, "outcome_date": out_date.dt.strftime("%Y-%m-%d").where(known),
        "value": value, "customer_id": customer, "num_web_visits": visits, "num_email_opens": opens,
    })
    truth = pd.DataFrame({"lead_id": ids, "source": frame["source"], "interest": intent[:, 0], "intent": intent[:, 1],
                          **{f"reached_{t}": reached[:, j] for j, t in enumerate(TRANSITIONS)},
                          **{f"days_to_{t}": waits[:, j] for j, t in enumerate(TRANSITIONS)},
                          "ghost": ghost, "customer_id": customer, "dirt": ""})
    # Planted dirt: a lead without its id, a created date nobody can read.
    dirty = rng.choice(n, size=2 * int(round(n * DIRT_SHARE)), replace=False)
    half = len(dirty) // 2
    frame.loc[dirty[:half], "lead_id"] = None
    frame.loc[dirty[half:], "created_date"] = "sometime in spring"
    truth.loc[dirty[:half], "dirt"] = "missing_lead_id"
    truth.loc[dirty[half:], "dirt"] = "unparseable_date"
    return frame, truth


def planted(price_factor: float = 1.0) -> dict:
    """What the generator plants, for ``_truth/funnel.json`` (deal values in the locale's currency)."""
    return {"sources": {s.name: {"share": s.share, "rates": dict(zip(TRANSITIONS, s.rates)),
                                 "won_per_lead": float(np.prod(s.rates)),
                                 "value_median": s.value_median * price_factor}
                        for s in SOURCES},
            "mean_days": MEAN_DAYS, "duration_shape": DURATION_SHAPE, "intent_correlation": INTENT_CORRELATION,
            "leads_per_customer": LEADS_PER_CUSTOMER, "dirt_share": DIRT_SHARE, "ghost_share": GHOST_SHARE,
            "note": "rates are P(next stage | this stage) per source; mean_days the planted mean wait from one "
                    "stage to the next (whole days, at least 1); stages after the data's end are left empty; a ghost failed a stage but was never closed (open)."}
