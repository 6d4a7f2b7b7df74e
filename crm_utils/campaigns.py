"""Campaign budget allocation: how many customers of each segment to contact on each channel.

The decision, as a linear programme: with :math:`x_{sj}` customers of segment *s* contacted on
channel *j*, each contact costing :math:`c_j` and expected to bring
:math:`v_{sj} = p_s \\cdot \\ell_j \\cdot m_s` of margin (the segment's purchase propensity,
the channel's response lift, the segment's margin per purchase),

.. math::

    \\max_x \\sum_{s,j} (v_{sj} - c_j)\\, x_{sj}
    \\quad\\text{s.t.}\\quad \\sum_{s,j} c_j x_{sj} \\le B,\\;
    \\sum_s x_{sj} \\le \\mathrm{cap}_j,\\;
    \\sum_j x_{sj} \\le n_s,\\; x \\ge 0.

The objective is margin *net* of contact costs, so a contact that costs more than it is
expected to bring is never bought, however large the budget. The dual value (shadow price) of
the budget constraint says how much net margin one more unit of budget would add: zero means
the budget is not what limits the campaign.

Honest caveat: a propensity is the probability of buying, not the extra probability of buying
*because* of the contact (uplift). Treating it as the response assumes contacts mostly reach
people who would not have bought otherwise; a hold-out group in the campaign measures the truth.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp


@dataclass(frozen=True)
class Channel:
    """A contact channel: cost per contact, how many contacts it can carry, its response lift."""

    name: str
    cost: float
    capacity: float
    lift: float = 1.0

    def __post_init__(self):
        if self.cost <= 0 or self.capacity < 0 or self.lift < 0:
            raise ValueError(f"channel {self.name!r}: cost must be > 0, capacity and lift >= 0; got "
                             f"cost={self.cost}, capacity={self.capacity}, lift={self.lift}")


def channels_from_table(table: dict[str, dict]) -> list[Channel]:
    """Channels from a ``{name: {cost, capacity, lift}}`` mapping (a notebook parameter)."""
    out = []
    for name, spec in table.items():
        unknown = set(spec) - {"cost", "capacity", "lift"}
        if unknown or "cost" not in spec or "capacity" not in spec:
            raise ValueError(f"channel {name!r} needs cost and capacity (and optionally lift), got {sorted(spec)}")
        out.append(Channel(name, float(spec["cost"]), float(spec["capacity"]), float(spec.get("lift", 1.0))))
    return out


def segment_values(scores: pd.DataFrame, margin_rate: float, segment: str = "segment_name",
                   propensity: str = "p_purchase", order_value: str = "avg_order_value") -> pd.DataFrame:
    """Per segment: customers, mean propensity and expected margin of one purchase.

    ``scores`` has one row per customer with their segment, purchase propensity and average
    order value; margin per purchase is the segment's median order value times ``margin_rate``
    (the median, so a few very large orders do not set the expectation for everyone).
    """
    if not 0 < margin_rate <= 1:
        raise ValueError(f"margin_rate is a share of the order value, between 0 and 1; got {margin_rate}")
    g = scores.groupby(segment, observed=True)
    out = pd.DataFrame({"customers": g.size(), "p_purchase": g[propensity].mean(),
                        "margin_per_purchase": g[order_value].median() * margin_rate})
    out["value_per_contact"] = out["p_purchase"] * out["margin_per_purchase"]
    return out.sort_values("value_per_contact", ascending=False)


@dataclass
class Allocation:
    plan: pd.DataFrame  # segment x channel: customers to contact
    expected_margin: float  # net of contact costs
    cost: float
    budget: float
    shadow_price: float  # net margin per extra unit of budget (from the LP relaxation)
    capacity_prices: pd.Series  # net margin per extra contact of capacity, per channel
    integer: bool

    def summary(self) -> dict:
        return {"budget": self.budget, "cost": self.cost, "expected_net_margin": self.expected_margin,
                "contacts": float(self.plan.to_numpy().sum()), "budget_shadow_price": self.shadow_price,
                "integer_plan": self.integer}


def allocate(values: pd.DataFrame, channels: list[Channel], budget: float, integer: bool = True) -> Allocation:
    """The contact plan maximising expected net margin within budget, capacities and segment sizes.

    ``values`` is :func:`segment_values`' table (customers, p_purchase, margin_per_purchase).
    With ``integer`` the plan is solved as a mixed-integer programme (whole customers); the
    shadow prices always come from the linear relaxation, where they are defined.
    """
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if not channels:
        raise ValueError("no channels given")
    segs = list(values.index)
    S, J = len(segs), len(channels)
    cost = np.array([c.cost for c in channels])
    lift = np.array([c.lift for c in channels])
    value = (values["p_purchase"].to_numpy()[:, None] * lift[None, :]
             * values["margin_per_purchase"].to_numpy()[:, None])  # S x J
    net = (value - cost[None, :]).ravel()  # variable x[s, j] at s * J + j

    a_budget = np.tile(cost, S)[None, :]
    a_channel = np.zeros((J, S * J))
    a_segment = np.zeros((S, S * J))
    for s in range(S):
        for j in range(J):
            a_channel[j, s * J + j] = 1
            a_segment[s, s * J + j] = 1
    a_ub = np.vstack([a_budget, a_channel, a_segment])
    b_ub = np.r_[budget, [c.capacity for c in channels], values["customers"].to_numpy(dtype=float)]

    lp = linprog(-net, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if lp.status != 0:
        raise RuntimeError(f"the allocation LP did not solve: {lp.message}")
    duals = -lp.ineqlin.marginals  # HiGHS reports d(objective)/d(b) for the minimisation
    x = lp.x
    if integer:
        res = milp(-net, constraints=LinearConstraint(a_ub, -np.inf, b_ub), integrality=np.ones(S * J),
                   bounds=Bounds(0, np.inf))
        if res.status != 0:
            raise RuntimeError(f"the integer allocation did not solve: {res.message}")
        x = np.round(res.x)
    plan = pd.DataFrame(x.reshape(S, J), index=pd.Index(segs, name="segment"),
                        columns=pd.Index([c.name for c in channels], name="channel"))
    return Allocation(plan=plan, expected_margin=float(net @ x), cost=float((a_budget @ x)[0]),
                      budget=float(budget), shadow_price=float(duals[0]),
                      capacity_prices=pd.Series(duals[1:1 + J], index=plan.columns, name="shadow_price"),
                      integer=integer)


def spend_down(scores: pd.DataFrame, values: pd.DataFrame, channels: list[Channel], budget: float, seed: int,
               order: str = "propensity", segment: str = "segment_name", propensity: str = "p_purchase") -> dict:
    """Expected net margin of the usual practice the optimiser is compared with.

    Go down a list of customers (``order="propensity"``: the target list, best first;
    ``"random"``: customers in random order) and send each through a channel drawn at random
    among those with capacity and budget left, until the budget is spent. Each contact is worth
    its customer's propensity x channel lift x segment margin, minus its cost. The loop runs
    over contacts made, which the budget bounds, not over all customers.
    """
    rng = np.random.default_rng(seed)
    if order == "propensity":
        ranked = scores.sort_values(propensity, ascending=False, kind="stable")
    elif order == "random":
        ranked = scores.iloc[rng.permutation(len(scores))]
    else:
        raise ValueError(f"order is 'propensity' or 'random', got {order!r}")
    cheapest = min(c.cost for c in channels)
    ranked = ranked.iloc[: int(budget // cheapest) + 1]
    margin = values["margin_per_purchase"].reindex(ranked[segment]).to_numpy()
    p = ranked[propensity].to_numpy()
    used = np.zeros(len(channels))
    spent = total = 0.0
    contacts = 0
    for pi, mi, draw in zip(p, margin, rng.random(len(ranked))):
        open_ = [j for j, c in enumerate(channels) if used[j] < c.capacity and spent + c.cost <= budget]
        if not open_:
            break
        j = open_[int(draw * len(open_))]
        used[j] += 1
        contacts += 1
        spent += channels[j].cost
        total += pi * channels[j].lift * mi - channels[j].cost
    return {"expected_net_margin": float(total), "cost": float(spent), "contacts": contacts}
