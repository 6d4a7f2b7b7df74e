"""Campaign budget allocation: how many customers of each segment to contact on each channel.

Customers are grouped into *cells*: their segment crossed with a propensity band (deciles of
purchase propensity within the segment), so the plan can prefer a segment's likeliest buyers
rather than treat the segment as one average. With :math:`x_{cj}` customers of cell *c*
contacted on channel *j*, each contact costing :math:`c_j` and expected to bring
:math:`v_{cj}` of margin (the cell's mean of :math:`\\min(p_i \\ell_j, 1)\\, m_s`: the customer's
purchase propensity times the channel's response lift, capped at one purchase, times the
segment's margin per purchase), the linear programme is

.. math::

    \\max_x \\sum_{c,j} (v_{cj} - c_j)\\, x_{cj}
    \\quad\\text{s.t.}\\quad \\sum_{c,j} c_j x_{cj} \\le B,\\;
    \\sum_c x_{cj} \\le \\mathrm{cap}_j,\\;
    \\sum_j x_{cj} \\le n_c,\\; x \\ge 0.

The objective is margin *net* of contact costs, so a contact that costs more than it is
expected to bring is never bought, however large the budget. The dual value (shadow price) of
the budget constraint says how much net margin one more unit of budget would add: zero means
the budget is not what limits the campaign. Executed, a plan contacts the likeliest buyers of
each cell first, on the channel with the highest lift first (:func:`executed_margin`).

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


def contact_values(p: np.ndarray, margin: np.ndarray, channels: list[Channel]) -> np.ndarray:
    """Expected margin of contacting each customer on each channel: min(p x lift, 1) x margin."""
    lift = np.array([c.lift for c in channels])
    return np.minimum(np.asarray(p, float)[:, None] * lift[None, :], 1.0) * np.asarray(margin, float)[:, None]


def score_cells(scores: pd.DataFrame, margin_rate: float, bands: int = 10, segment: str = "segment_name",
                propensity: str = "p_purchase", order_value: str = "avg_order_value") -> pd.DataFrame:
    """Each scored customer with their segment's margin per purchase and their cell (segment, band).

    Margin per purchase is the segment's median order value times ``margin_rate`` (the median, so
    a few very large orders do not set the expectation for everyone); bands are propensity
    quantiles within the segment, 0 = likeliest buyers.
    """
    if not 0 < margin_rate <= 1:
        raise ValueError(f"margin_rate is a share of the order value, between 0 and 1; got {margin_rate}")
    out = scores[[segment, propensity, *([c for c in ("customer_id",) if c in scores])]].copy()
    out["margin_per_purchase"] = scores.groupby(segment, observed=True)[order_value].transform("median") * margin_rate
    rank = out.groupby(segment, observed=True)[propensity].rank(method="first", ascending=False, pct=True)
    out["band"] = np.minimum(np.ceil(rank * bands) - 1, bands - 1).astype(int)
    return out


def cell_values(cells: pd.DataFrame, channels: list[Channel], segment: str = "segment_name",
                propensity: str = "p_purchase") -> pd.DataFrame:
    """Per cell: customers, mean propensity, margin per purchase and the mean value of a contact per channel."""
    v = contact_values(cells[propensity].to_numpy(), cells["margin_per_purchase"].to_numpy(), channels)
    frame = pd.DataFrame(v, columns=[c.name for c in channels], index=cells.index)
    frame[segment], frame["band"] = cells[segment].to_numpy(), cells["band"].to_numpy()
    g = frame.groupby([segment, "band"], observed=True)
    out = g[[c.name for c in channels]].mean()
    out.insert(0, "customers", g.size())
    out.insert(1, "p_purchase", cells.groupby([segment, "band"], observed=True)[propensity].mean())
    out.insert(2, "margin_per_purchase", cells.groupby([segment, "band"], observed=True)["margin_per_purchase"].first())
    return out


@dataclass
class Allocation:
    plan: pd.DataFrame  # cell (segment, band) x channel: customers to contact
    expected_margin: float  # net of contact costs, as the LP values it (cell means)
    cost: float
    budget: float
    shadow_price: float  # net margin per extra unit of budget (from the LP relaxation)
    capacity_prices: pd.Series  # net margin per extra contact of capacity, per channel
    integer: bool

    def by_segment(self) -> pd.DataFrame:
        """The plan summed over propensity bands: customers to contact per segment and channel."""
        level = self.plan.index.names[0] if self.plan.index.nlevels > 1 else None
        return self.plan.groupby(level=level).sum() if level else self.plan

    def summary(self) -> dict:
        return {"budget": self.budget, "cost": self.cost, "expected_net_margin": self.expected_margin,
                "contacts": float(self.plan.to_numpy().sum()), "budget_shadow_price": self.shadow_price,
                "integer_plan": self.integer}


def allocate(values: pd.DataFrame, channels: list[Channel], budget: float, integer: bool = True) -> Allocation:
    """The contact plan maximising expected net margin within budget, capacities and cell sizes.

    ``values`` has one row per cell with ``customers`` and one column per channel holding the
    mean expected margin of a contact (:func:`cell_values`). With ``integer`` the plan is solved
    as a mixed-integer programme (whole customers); the shadow prices always come from the
    linear relaxation, where they are defined.
    """
    if budget < 0:
        raise ValueError(f"budget must be >= 0, got {budget}")
    if not channels:
        raise ValueError("no channels given")
    S, J = len(values), len(channels)
    cost = np.array([c.cost for c in channels])
    value = values[[c.name for c in channels]].to_numpy(float)  # S x J
    net = (value - cost[None, :]).ravel()  # variable x[s, j] at s * J + j

    a_budget = np.tile(cost, S)[None, :]
    a_channel = np.tile(np.eye(J), S)  # J x S*J: contacts per channel
    a_cell = np.kron(np.eye(S), np.ones(J))  # S x S*J: contacts per cell
    a_ub = np.vstack([a_budget, a_channel, a_cell])
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
    plan = pd.DataFrame(x.reshape(S, J), index=values.index,
                        columns=pd.Index([c.name for c in channels], name="channel"))
    return Allocation(plan=plan, expected_margin=float(net @ x), cost=float((a_budget @ x)[0]),
                      budget=float(budget), shadow_price=float(duals[0]),
                      capacity_prices=pd.Series(duals[1:1 + J], index=plan.columns, name="shadow_price"),
                      integer=integer)


def executed_margin(allocation: Allocation, cells: pd.DataFrame, channels: list[Channel],
                    segment: str = "segment_name", propensity: str = "p_purchase") -> float:
    """Expected net margin of carrying the plan out customer by customer.

    Within each cell the likeliest buyers are contacted first, and on the channel with the
    highest lift first: at least what the LP's cell averages promise.
    """
    order = sorted(range(len(channels)), key=lambda j: -channels[j].lift)
    total = 0.0
    for key, grp in cells.groupby([segment, "band"], observed=True):
        counts = allocation.plan.loc[key].to_numpy() if key in allocation.plan.index else np.zeros(len(channels))
        p = np.sort(grp[propensity].to_numpy())[::-1]
        margin = grp["margin_per_purchase"].iloc[0]
        start = 0
        for j in order:
            n = int(round(counts[j]))
            chunk = p[start:start + n]
            total += float((np.minimum(chunk * channels[j].lift, 1.0) * margin).sum() - channels[j].cost * len(chunk))
            start += n
    return total


def spend_down(cells: pd.DataFrame, channels: list[Channel], budget: float, seed: int, order: str = "propensity",
               channel: str = "random", propensity: str = "p_purchase") -> dict:
    """Expected net margin of the usual practice the optimiser is compared with.

    Go down a list of customers (``order="propensity"``: the target list, best first;
    ``"random"``: customers in random order) and send each through a channel (``channel=
    "cheapest"``, or ``"random"`` among those with capacity and budget left) until the budget is
    spent. Each contact is worth min(propensity x lift, 1) x the segment's margin, minus its cost.
    The loop runs over contacts made, which the budget bounds, not over all customers.
    """
    rng = np.random.default_rng(seed)
    if order == "propensity":
        ranked = cells.sort_values(propensity, ascending=False, kind="stable")
    elif order == "random":
        ranked = cells.iloc[rng.permutation(len(cells))]
    else:
        raise ValueError(f"order is 'propensity' or 'random', got {order!r}")
    if channel not in ("random", "cheapest"):
        raise ValueError(f"channel is 'random' or 'cheapest', got {channel!r}")
    cheapest = min(c.cost for c in channels)
    ranked = ranked.iloc[: int(budget // cheapest) + 1]
    value = contact_values(ranked[propensity].to_numpy(), ranked["margin_per_purchase"].to_numpy(), channels)
    by_cost = sorted(range(len(channels)), key=lambda j: channels[j].cost)
    used = np.zeros(len(channels))
    spent = total = 0.0
    contacts = 0
    for row, draw in zip(value, rng.random(len(ranked))):
        open_ = [j for j in by_cost if used[j] < channels[j].capacity and spent + channels[j].cost <= budget]
        if not open_:
            break
        j = open_[int(draw * len(open_))] if channel == "random" else open_[0]
        used[j] += 1
        contacts += 1
        spent += channels[j].cost
        total += row[j] - channels[j].cost
    return {"expected_net_margin": float(total), "cost": float(spent), "contacts": contacts}
