"""Next month's campaign plan, counting only the purchases a contact *adds*.

A customer who would have bought anyway is not a response to the campaign. So the value of
contacting customer *i* on channel *j* is the **uplift** :math:`\\delta_j` (the extra probability
of a purchase within the window that the contact causes; measured by
:mod:`crm_utils.contacts.effects` where the interactions log holds such contacts, otherwise a
stated assumption) times the margin of a purchase, minus the contact's cost. The purchase
probability :math:`p_i` only caps the uplift (nobody buys with a probability above one):
:math:`u_{ij} = \\min(p_i + \\delta_j, 1) - p_i`, or :math:`\\max(p_i + \\delta_j, 0) - p_i` for a
contact that puts customers off.

Customers are grouped into *cells* (segment x propensity decile within the segment). With
:math:`x_{cj}` customers of cell *c* contacted on channel *j*, :math:`u_{cj}` the cell's mean
uplift, :math:`m_c` its margin per purchase, :math:`k_j` the cost of a contact and
:math:`a_j` the capacity one contact uses (one contact, or the hours of a call), the
linear programme is

.. math::

    \\max_x \\sum_{c,j} (u_{cj} m_c - k_j)\\, x_{cj}
    \\quad\\text{s.t.}\\quad \\sum_{c,j} k_j x_{cj} \\le B,\\;
    \\sum_c a_j x_{cj} \\le \\mathrm{cap}_j,\\;
    \\sum_j x_{cj} \\le n_c,\\; x \\ge 0.

Its dual values (HiGHS, from the linear relaxation) are the **shadow prices**: the incremental
margin one more unit of budget, or one more unit of a channel's capacity (a contact, a call-centre
hour), would add. The plan itself is solved for whole customers (MILP).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import Bounds, LinearConstraint, linprog, milp

from crm_utils.i18n import N_, _

#: Where an uplift came from: the interactions log (with its interval) or a stated assumption.
MEASURED, ASSUMED = "measured", "assumed"
#: Propensity deciles within each segment: the cells of the plan and the strata of the hold-out.
BANDS = 10
#: Capacity units a channel may be given in: contacts, or hours (with minutes per contact).
UNITS = ("contacts", "hours")
#: Headers of the tables notebook 07 shows with ``notebook.table``, which looks each column name up
#: in the catalogue: marked here so that the catalogue has them (the columns themselves keep their names).
HEADERS = (N_("uplift"), N_("ci_low"), N_("ci_high"), N_("source"), N_("basis"), N_("unit"), N_("limit"), N_("used"),
           N_("shadow_price"), N_("contacts"), N_("cost"), N_("buyers_anyway"), N_("incremental_buyers_low"),
           N_("incremental_buyers_expected"), N_("incremental_buyers_high"), N_("incremental_margin_low"),
           N_("incremental_margin_expected"), N_("incremental_margin_high"))


#: The channels of notebook 07's default parameters, named in the catalogue ('direct_mail' is looked
#: up as 'direct mail', as the report's plan table writes it).
CHANNEL_WORDS = (N_("email"), N_("sms"), N_("phone"), N_("direct mail"), N_("visit"))


def channel_label(name: object) -> str:
    """A channel's name in the current language when the catalogue has it (email, phone, direct_mail,
    ...), otherwise exactly as the parameters or the data write it."""
    name = str(name)
    readable = name.replace("_", " ")
    translated = _(readable)
    return translated if translated != readable else name


#: Row labels and codes of this module's tables as a reader sees them (:func:`shown`); the tables
#: keep the codes, which :func:`headline`, :func:`price_sentences` and the charts read.
SHOWN_WORDS = {MEASURED: N_("measured"), ASSUMED: N_("assumed"), "budget": N_("budget"),
               "currency unit": N_("currency unit"), "contact": N_("contact"), "hour": N_("hour"),
               "optimised plan": N_("optimised plan"), "contact nobody": N_("contact nobody"),
               "contact everyone": N_("contact everyone"), "channel": N_("channel"), "constraint": N_("constraint")}
#: The columns whose values are codes to show in words.
CODE_COLUMNS = ("source", "unit")
CAPACITY = " capacity"


def shown(table: pd.DataFrame) -> pd.DataFrame:
    """:func:`uplift_table`, :func:`shadow_prices` or :func:`outlook` as notebook 07 shows it: row
    labels, the index's name and the ``source`` / ``unit`` codes in the current language (channels
    the catalogue knows translated, others as written); the columns keep their names, which
    ``notebook.table`` translates. In English the table is returned as it is."""
    def row(label: object) -> str:
        label = str(label)
        if label in SHOWN_WORDS:
            return _(SHOWN_WORDS[label])
        if label.endswith(CAPACITY):
            return _("{channel} capacity").format(channel=channel_label(label.removesuffix(CAPACITY)))
        return channel_label(label)

    out = table.rename(index=row)
    for col in CODE_COLUMNS:
        if col in out.columns:
            out[col] = out[col].map(lambda v: _(SHOWN_WORDS[v]) if v in SHOWN_WORDS else v)
    name = out.index.name
    return out.rename_axis(_(SHOWN_WORDS[name]) if name in SHOWN_WORDS else name)


def _names(names: list[str]) -> str:
    """Channels listed in the current language (:func:`channel_label`), as the report lists them."""
    return _(", ").join(channel_label(name) for name in names)


def _number(value: object, name: str, *, minimum: float | None = None, maximum: float | None = None) -> float:
    """A finite number for parameter ``name`` within bounds, or an error naming it and the value."""
    ok = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)
    if ok:
        value = float(value)
        ok = math.isfinite(value) and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        bounds = " and ".join(s for s in ((f">= {minimum:g}" if minimum is not None else ""),
                                          (f"<= {maximum:g}" if maximum is not None else "")) if s)
        raise ValueError(f"parameter {name} must be a number{' ' + bounds if bounds else ''}, got {value!r}")
    return value


@dataclass(frozen=True)
class Channel:
    """A contact channel: what a contact costs and how much of the channel one contact uses.

    ``capacity`` is in ``unit``: contacts (an e-mail server's daily limit), or hours (a call
    centre), in which case a contact uses ``per_contact`` hours.
    """

    name: str
    cost: float
    capacity: float
    unit: str = "contacts"
    per_contact: float = 1.0

    def __post_init__(self):
        _number(self.cost, f"channels[{self.name!r}]['cost']", minimum=0)
        _number(self.capacity, f"channels[{self.name!r}] capacity", minimum=0)
        if self.unit not in UNITS:
            raise ValueError(f"channel {self.name!r}: capacity unit must be one of {UNITS}, got {self.unit!r}")
        if self.per_contact <= 0:
            raise ValueError(f"channel {self.name!r}: a contact must use some capacity, got {self.per_contact}")


def channels_from_table(table: dict) -> list[Channel]:
    """Channels from the notebook parameter ``channels``: ``{name: {"cost": 0.05, "capacity": 50000}}``
    or, for a call centre, ``{"cost": 4.0, "hours": 150, "minutes_per_contact": 10}``."""
    if not isinstance(table, dict) or not table:
        raise ValueError(f"parameter channels must be a non-empty mapping of channel name to cost and capacity, "
                         f"got {table!r}")
    out = []
    for name, spec in table.items():
        where = f"channels[{name!r}]"
        if not isinstance(spec, dict):
            raise ValueError(f"parameter {where} must be a mapping with cost and capacity, got {spec!r}")
        unknown = set(spec) - {"cost", "capacity", "hours", "minutes_per_contact"}
        if unknown:
            raise ValueError(f"parameter {where} has unknown keys {sorted(unknown)}; it takes cost and capacity "
                             f"(contacts), or cost, hours and minutes_per_contact")
        if "cost" not in spec:
            raise ValueError(f"parameter {where}['cost'] is missing: give the cost of one contact")
        cost = _number(spec["cost"], f"{where}['cost']", minimum=0)
        if "hours" in spec or "minutes_per_contact" in spec:
            if "capacity" in spec or "hours" not in spec or "minutes_per_contact" not in spec:
                raise ValueError(f"parameter {where}: a capacity in hours needs hours and minutes_per_contact "
                                 f"(and no capacity), got {sorted(spec)}")
            hours = _number(spec["hours"], f"{where}['hours']", minimum=0)
            minutes = _number(spec["minutes_per_contact"], f"{where}['minutes_per_contact']", minimum=1e-9)
            out.append(Channel(str(name), cost, hours, "hours", minutes / 60))
        elif "capacity" in spec:
            out.append(Channel(str(name), cost, _number(spec["capacity"], f"{where}['capacity']", minimum=0)))
        else:
            raise ValueError(f"parameter {where} has no capacity: give capacity (contacts) or hours and "
                             f"minutes_per_contact")
    return out


def parse_assumed(assumed: dict) -> dict[str, tuple[float, float, float]]:
    """The parameter ``assumed_uplift`` as ``{channel: (low, expected, high)}`` shares.

    A value is one share (``0.01``: one percentage point, no range) or ``[low, expected, high]``.
    """
    if not isinstance(assumed, dict):
        raise ValueError(f"parameter assumed_uplift must be a mapping of channel to uplift, got {assumed!r}")
    out = {}
    for name, value in assumed.items():
        where = f"assumed_uplift[{name!r}]"
        if isinstance(value, (list, tuple)):
            if len(value) != 3:
                raise ValueError(f"parameter {where} must be one share or [low, expected, high], got {value!r}")
            low, mid, high = (_number(v, where, minimum=-1, maximum=1) for v in value)
        else:
            low = mid = high = _number(value, where, minimum=-1, maximum=1)
        if not low <= mid <= high:
            raise ValueError(f"parameter {where} must be ordered low <= expected <= high, got {value!r}")
        out[str(name)] = (low, mid, high)
    return out


def uplift_table(channels: list[Channel], measured: pd.DataFrame | None, assumed: dict) -> pd.DataFrame:
    """Per channel of the plan: uplift, interval and where it comes from.

    ``measured`` is :attr:`crm_utils.contacts.effects.ContactEffect.effects_` (the channel rows,
    ``topic == "all"``); a channel it measured (a finite ``effect``) takes its estimate and
    interval, every other channel the assumption in ``assumed`` (:func:`parse_assumed`), labelled
    ``assumed``. A channel with neither is an error naming it.
    """
    stated = parse_assumed(assumed)
    rows = {}
    found = pd.DataFrame()
    if measured is not None and len(measured):
        found = measured[measured["topic"].astype(str) == "all"].set_index("channel")
    for ch in channels:
        row = found.loc[ch.name] if ch.name in found.index else None
        if row is not None and pd.notna(row["effect"]):
            rows[ch.name] = {"uplift": float(row["effect"]), "ci_low": float(row["ci_low"]),
                             "ci_high": float(row["ci_high"]), "source": MEASURED,
                             "basis": _("measured on {contacts} contacts").format(
                                 contacts=f"{int(row['n_contacted']):,}")}
        elif ch.name in stated:
            low, mid, high = stated[ch.name]
            # the note is the effects' own, already in the run's language
            basis = (_("assumed (parameter assumed_uplift; not in the interactions log)") if row is None else
                     _("assumed (parameter assumed_uplift; not measured: {note})").format(note=row["note"]))
            rows[ch.name] = {"uplift": mid, "ci_low": low, "ci_high": high, "source": ASSUMED, "basis": basis}
        else:
            raise ValueError(f"channel {ch.name!r}: no measured effect in the interactions log and no "
                             f"assumed_uplift[{ch.name!r}]: state an assumed uplift for it")
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("channel")


def customer_cells(scores: pd.DataFrame, margin_rate: float, bands: int = BANDS) -> pd.DataFrame:
    """Each scored customer with their cell (segment, propensity ``band`` within it, 0 = likeliest)
    and their segment's margin per purchase (median order value x ``margin_rate``: the median, so a
    few very large orders do not set the expectation for everyone).

    ``scores`` has customer_id, segment_name, p_purchase and avg_order_value.
    """
    margin_rate = _number(margin_rate, "margin_rate", minimum=1e-9, maximum=1)
    missing = {"customer_id", "segment_name", "p_purchase", "avg_order_value"} - set(scores.columns)
    if missing:
        raise ValueError(f"the campaign scores lack columns {sorted(missing)}")
    out = scores[["customer_id", "segment_name", "p_purchase"]].copy()
    out["segment_name"] = out["segment_name"].astype(str)
    out["margin_per_purchase"] = (scores.groupby("segment_name", observed=True)["avg_order_value"]
                                  .transform("median").to_numpy() * margin_rate)
    rank = out.groupby("segment_name", observed=True)["p_purchase"].rank(method="first", ascending=False, pct=True)
    out["band"] = np.minimum(np.ceil(rank * bands) - 1, bands - 1).astype(int)
    return out.sort_values("customer_id", ignore_index=True)


def no_plan_reason(propensity: pd.DataFrame | None, segments: pd.DataFrame | None) -> str:
    """Why there can be no campaign plan this month, or '' when there can be one."""
    if propensity is None or not len(propensity):
        return _("Notebook 05 scored no customer this month: there is nobody to plan a campaign for.")
    if propensity["p_purchase"].isna().all():
        return _("Purchase prediction was not possible this month (notebook 05): without purchase probabilities "
                 "there is no campaign plan and no control group.")
    if segments is None:
        return _("No segments this month (notebook 03): without a segment's margin per purchase there is no "
                 "campaign plan and no control group.")
    return ""


def campaign_scores(propensity: pd.DataFrame | None, segments: pd.DataFrame | None) -> pd.DataFrame:
    """One row per scored customer with a purchase probability: segment, propensity and average order
    value (empty when :func:`no_plan_reason` gives one)."""
    columns = ["customer_id", "p_purchase", "segment_name", "avg_order_value"]
    if no_plan_reason(propensity, segments):
        return pd.DataFrame({c: pd.Series(dtype="float64" if c in ("p_purchase", "avg_order_value") else "object")
                             for c in columns})
    scored = propensity.loc[propensity["p_purchase"].notna(), ["customer_id", "p_purchase"]]
    return scored.merge(segments[["customer_id", "segment_name", "avg_order_value"]], on="customer_id", how="inner")


def added_probability(p: np.ndarray, uplift: np.ndarray) -> np.ndarray:
    """Customers x channels: the purchase probability a contact adds, kept inside [0, 1]."""
    p = np.asarray(p, float)[:, None]
    return np.clip(p + np.asarray(uplift, float)[None, :], 0.0, 1.0) - p


def cell_table(cells: pd.DataFrame, uplift: pd.Series) -> pd.DataFrame:
    """Per cell: customers, mean propensity, margin per purchase and, per channel, the mean added
    purchase probability of a contact (``uplift`` per channel name)."""
    added = pd.DataFrame(added_probability(cells["p_purchase"].to_numpy(), uplift.to_numpy()),
                         columns=uplift.index, index=cells.index)
    keys = [cells["segment_name"], cells["band"]]
    out = added.groupby(keys).mean()
    g = cells.groupby(["segment_name", "band"])
    out.insert(0, "customers", g.size())
    out.insert(1, "p_purchase", g["p_purchase"].mean())
    out.insert(2, "margin_per_purchase", g["margin_per_purchase"].first())
    return out


@dataclass
class CampaignPlan:
    """An optimised plan: customers of each cell to contact on each channel, and what the LP says."""

    counts: pd.DataFrame  # cell (segment_name, band) x channel: customers to contact
    objective: float  # incremental margin net of contact costs, at the expected uplifts
    cost: float
    budget: float
    budget_price: float  # incremental margin per extra unit of budget (dual of the budget row)
    capacity_prices: pd.Series  # per channel: incremental margin per extra unit of its capacity
    capacity_used: pd.Series  # per channel: capacity units the plan uses
    integer: bool

    def by_segment(self) -> pd.DataFrame:
        """Customers to contact per segment and channel (bands summed)."""
        return self.counts.groupby(level=0).sum()

    @property
    def contacts(self) -> int:
        return int(round(self.counts.to_numpy().sum()))


def optimise(table: pd.DataFrame, channels: list[Channel], budget: float, integer: bool = True) -> CampaignPlan:
    """The plan maximising incremental margin within the budget, each channel's capacity and the cells' sizes.

    ``table`` is :func:`cell_table`: ``customers``, ``margin_per_purchase`` and one column of added
    purchase probability per channel. The shadow prices come from the linear relaxation (HiGHS),
    where duals are defined; with ``integer`` the plan itself is in whole customers.
    """
    budget = _number(budget, "budget", minimum=0)
    if not channels:
        raise ValueError("no channels given")
    S, J = len(table), len(channels)
    names = pd.Index([c.name for c in channels], name="channel")
    if S == 0:  # nobody to contact: no plan, and no constraint has a price
        nothing = pd.Series(np.nan, index=names)
        return CampaignPlan(pd.DataFrame(columns=names, index=table.index, dtype=float), 0.0, 0.0, budget, np.nan,
                            nothing, nothing.fillna(0.0), integer)
    cost = np.array([c.cost for c in channels])
    use = np.array([c.per_contact for c in channels])
    margin = table["margin_per_purchase"].to_numpy(float)
    net = (table[[c.name for c in channels]].to_numpy(float) * margin[:, None] - cost[None, :]).ravel()
    a_budget = np.tile(cost, S)[None, :]  # x[c, j] is variable c * J + j
    a_channel = np.tile(np.diag(use), S)
    a_cell = np.kron(np.eye(S), np.ones(J))
    a_ub = np.vstack([a_budget, a_channel, a_cell])
    b_ub = np.r_[budget, [c.capacity for c in channels], table["customers"].to_numpy(float)]
    lp = linprog(-net, A_ub=a_ub, b_ub=b_ub, bounds=(0, None), method="highs")
    if lp.status != 0:
        raise RuntimeError(f"the campaign LP did not solve: {lp.message}")
    duals = -lp.ineqlin.marginals  # HiGHS gives d(objective)/d(b) of the minimisation
    x = lp.x
    if integer:
        res = milp(-net, constraints=LinearConstraint(a_ub, -np.inf, b_ub), integrality=np.ones(S * J),
                   bounds=Bounds(0, np.inf))
        if res.status != 0:
            raise RuntimeError(f"the integer campaign plan did not solve: {res.message}")
        x = np.round(res.x)
    counts = pd.DataFrame(x.reshape(S, J), index=table.index, columns=names)
    return CampaignPlan(counts=counts, objective=float(net @ x), cost=float((a_budget @ x)[0]), budget=budget,
                        budget_price=float(duals[0]), capacity_prices=pd.Series(duals[1:1 + J], index=names),
                        capacity_used=pd.Series(counts.sum().to_numpy() * use, index=names), integer=integer)


def everyone(table: pd.DataFrame, channels: list[Channel]) -> pd.DataFrame:
    """"Contact everyone": every customer once, on the cheapest channel while it has capacity, then
    the next cheapest (the usual blast), whatever the budget; customers beyond all capacity stay out."""
    counts = pd.DataFrame(0.0, index=table.index, columns=pd.Index([c.name for c in channels], name="channel"))
    left = table["customers"].to_numpy(float).copy()
    for ch in sorted(channels, key=lambda c: c.cost):
        room = math.floor(ch.capacity / ch.per_contact + 1e-9)
        take = np.minimum(left, np.maximum(room - np.r_[0, np.cumsum(left)[:-1]], 0))
        counts[ch.name] = take
        left -= take
    return counts


def evaluate(counts: pd.DataFrame, cells: pd.DataFrame, channels: list[Channel], uplift: pd.Series) -> dict:
    """Contacts, cost, added buyers and incremental margin (net of cost) of ``counts`` at ``uplift``,
    and the purchases the contacted customers were expected to make anyway."""
    table = cell_table(cells, uplift).reindex(counts.index)
    names = [c.name for c in channels]
    x = counts[names].to_numpy(float)
    added = table[names].to_numpy(float)
    cost = float((x * np.array([c.cost for c in channels])[None, :]).sum())
    buyers = float((x * added).sum())
    margin = float((x * added * table["margin_per_purchase"].to_numpy(float)[:, None]).sum())
    return {"contacts": float(x.sum()), "cost": cost, "incremental_buyers": buyers,
            "incremental_margin": margin - cost,
            "buyers_anyway": float((x.sum(axis=1) * table["p_purchase"].to_numpy(float)).sum())}


def outlook(plan: CampaignPlan, cells: pd.DataFrame, channels: list[Channel], uplifts: pd.DataFrame) -> pd.DataFrame:
    """The plan against "contact nobody" and "contact everyone", each at the expected uplifts and at
    the low and high ends of their intervals (every channel at its low end, then at its high end:
    wider than a joint interval, so the range is conservative)."""
    table = cell_table(cells, uplifts["uplift"])
    rows = {}
    for label, counts in (("optimised plan", plan.counts), ("contact nobody", plan.counts * 0),
                          ("contact everyone", everyone(table, channels))):
        at = {end: evaluate(counts, cells, channels, uplifts[col])
              for end, col in (("low", "ci_low"), ("expected", "uplift"), ("high", "ci_high"))}
        rows[label] = {"contacts": at["expected"]["contacts"], "cost": at["expected"]["cost"],
                       "buyers_anyway": at["expected"]["buyers_anyway"],
                       **{f"incremental_buyers_{e}": at[e]["incremental_buyers"] for e in at},
                       **{f"incremental_margin_{e}": at[e]["incremental_margin"] for e in at}}
    return pd.DataFrame(rows).T


#: Budgets the curve of :func:`budget_curve` solves at, as multiples of this month's budget: from
#: nothing to five times, enough to see where more money stops buying anything.
BUDGET_MULTIPLES = (0, 0.25, 0.5, 0.75, 1, 1.5, 2, 3, 5)


#: Shares of the plan's own spend added to the curve, so that the stretch where the budget binds
#: (and has a price) shows even when the plan spends a small part of the budget.
SPEND_SHARES = (0.25, 0.5, 0.75)


def budget_curve(table: pd.DataFrame, channels: list[Channel], budget: float,
                 multiples: tuple[float, ...] = BUDGET_MULTIPLES, spent: float | None = None) -> pd.DataFrame | None:
    """Incremental margin and the budget's shadow price of the LP relaxation at multiples of
    ``budget`` (and at :data:`SPEND_SHARES` of ``spent``, the plan's cost): the slope of the curve is
    the shadow price, and where it turns flat more budget buys nothing (None when there is nobody
    to plan for)."""
    if not len(table):
        return None
    grid = set(budget * np.asarray(multiples, float)) | (set(spent * np.asarray(SPEND_SHARES)) if spent else set())
    rows = [(b, (p := optimise(table, channels, float(b), integer=False)).objective, p.budget_price, p.cost)
            for b in sorted(grid)]
    return pd.DataFrame(rows, columns=["budget", "incremental_margin", "budget_price", "cost"])


def curve_note(curve: pd.DataFrame | None, currency: str | None) -> str:
    """Where the budget stops limiting the plan, and what a unit of budget is worth below that."""
    from crm_utils.notebook import money

    if curve is None:
        return ""
    binding = curve[curve["budget_price"] > 1e-9]
    if not len(binding):
        return _("At none of these budgets does the budget limit the plan: its shadow price is zero throughout.")
    row = binding.iloc[-1]
    return _("Below about {spend} the budget binds: at {budget}, one more {unit} would add {value} of incremental "
             "margin.").format(spend=money(curve["cost"].max(), currency), budget=money(row.budget, currency),
                               unit=currency or _("unit"), value=money(row.budget_price, currency, 2))


def shadow_prices(plan: CampaignPlan, channels: list[Channel]) -> pd.DataFrame:
    """Each constraint of the LP with its limit, what the plan uses and its shadow price: the
    incremental margin one more unit of it would add (0: it does not limit the plan)."""
    rows = [{"constraint": "budget", "unit": "currency unit", "limit": plan.budget, "used": plan.cost,
             "shadow_price": plan.budget_price}]
    for ch in channels:
        unit = "contact" if ch.unit == "contacts" else "hour"
        rows.append({"constraint": f"{ch.name} capacity", "unit": unit, "limit": ch.capacity,
                     "used": float(plan.capacity_used[ch.name]), "shadow_price": float(plan.capacity_prices[ch.name])})
    out = pd.DataFrame(rows).set_index("constraint")
    out["shadow_price"] = out["shadow_price"].mask(out["shadow_price"].abs() <= 1e-9, 0.0)  # no '-0.00'
    return out


def outlook_figures(row: pd.Series) -> dict:
    """One row of :func:`outlook` as the figures metrics.json holds."""
    return {"contacts": int(round(row["contacts"])), "cost": float(row["cost"]),
            "buyers_anyway": float(row["buyers_anyway"]),
            "incremental_buyers": {e: float(row[f"incremental_buyers_{e}"]) for e in ("low", "expected", "high")},
            "incremental_margin": {e: float(row[f"incremental_margin_{e}"]) for e in ("low", "expected", "high")}}


def headline(effects_status: str, effects_message: str, uplifts: pd.DataFrame, plan: CampaignPlan,
             channels: list[Channel], outlook_table: pd.DataFrame, campaign: pd.DataFrame, control_share: float,
             detectable: float, verdict, window_days: int, no_plan: str = "") -> dict:
    """The figures notebook 07 records: the effects measured (or why none), the uplift each channel
    was planned with and its source, the plan against contacting nobody and everyone with
    intervals, the shadow prices, the control group, and last month's verdict. With ``no_plan``
    (:func:`no_plan_reason`) the plan's figures are left out and the reason is recorded instead."""
    out = {
        "window_days": int(window_days),
        "effects_status": effects_status,
        "effects_message": effects_message,
        "uplifts": {ch: {"uplift": float(r.uplift), "ci_low": float(r.ci_low), "ci_high": float(r.ci_high),
                         "source": r.source} for ch, r in uplifts.iterrows()},
        "measured_channels": [ch for ch, r in uplifts.iterrows() if r.source == MEASURED],
        "assumed_channels": [ch for ch, r in uplifts.iterrows() if r.source == ASSUMED],
        "budget": float(plan.budget),
        "verdict": {"status": verdict.status, "month": verdict.month, "sentence": verdict.sentence,
                    **verdict.figures},
    }
    if no_plan:
        return {**out, "no_plan_reason": no_plan}
    prices = shadow_prices(plan, channels)
    groups = campaign["group"].value_counts()
    in_campaign = campaign["arm"] != ""
    return {
        **out,
        "plan": outlook_figures(outlook_table.loc["optimised plan"]),
        "nobody": outlook_figures(outlook_table.loc["contact nobody"]),
        "everyone": outlook_figures(outlook_table.loc["contact everyone"]),
        "contacts_by_channel": {k: int(round(v)) for k, v in plan.counts.sum().items()},
        "budget_shadow_price": float(prices.loc["budget", "shadow_price"]),
        "capacity_shadow_prices": {ch.name: {"unit": prices.loc[f"{ch.name} capacity", "unit"],
                                             "price": float(prices.loc[f"{ch.name} capacity", "shadow_price"])}
                                   for ch in channels},
        "control": {"share": float(control_share), "treatment": int(groups.get("treatment", 0)),
                    "control": int(groups.get("control", 0)),
                    "treated_in_campaign": int((in_campaign & (campaign["group"] == "treatment")).sum()),
                    "control_in_campaign": int((in_campaign & (campaign["group"] == "control")).sum()),
                    "detectable_uplift": detectable},
    }


def plan_note(plan: CampaignPlan, currency: str | None, no_plan: str = "") -> str:
    """The plan in one sentence, or why there is none."""
    from crm_utils.notebook import money

    if no_plan:
        return no_plan
    return _("{contacts} contacts for {cost} of a {budget} budget; incremental margin after contact costs {margin} "
             "at the expected uplifts.").format(contacts=f"{plan.contacts:,}", cost=money(plan.cost, currency),
                                                budget=money(plan.budget, currency),
                                                margin=money(plan.objective, currency))


def basis_note(uplifts: pd.DataFrame, effects_message: str) -> str:
    """What the plan rests on, in one or two sentences: the channels measured, those assumed, and
    (with nothing measured) that every figure below is only as good as the assumptions."""
    measured = [c for c, r in uplifts.iterrows() if r.source == MEASURED]
    assumed = [c for c, r in uplifts.iterrows() if r.source == ASSUMED]
    if not measured:
        return _("{message} So the effect of a contact cannot be measured here: every channel is planned on an "
                 "assumed uplift (parameter assumed_uplift: {channels}), and every figure below is only as good as "
                 "those assumptions. A hold-out group (section 5) measures them next month.").format(
            message=effects_message, channels=_names(assumed))
    if assumed:
        return _("Measured from the interactions log: {measured}. Assumed (parameter assumed_uplift, not measured): "
                 "{assumed}.").format(measured=_names(measured), assumed=_names(assumed))
    return _("Measured from the interactions log: {measured}.").format(measured=_names(measured))


def price_sentences(prices: pd.DataFrame, currency: str | None) -> list[str]:
    """Each shadow price in words: what one more unit of the budget or of a channel's capacity adds."""
    from crm_utils.notebook import money

    out = []
    for name, r in prices.iterrows():
        if pd.isna(r.shadow_price):  # no plan: no constraint has a price
            continue
        worth = money(r.shadow_price, currency, 2)
        # "unit of budget" / "hour of phone": the channel's name from the parameters, its unit the kit's word
        unit = (_("{unit} of budget").format(unit=currency or _("unit")) if name == "budget" else
                _("{unit} of {channel} capacity").format(unit=_(SHOWN_WORDS.get(r.unit, r.unit)),
                                                         channel=channel_label(str(name).removesuffix(CAPACITY))))
        if r.shadow_price == 0:
            out.append(_("One more {unit} would add nothing: the plan uses {used} of {limit}, so this limit does not "
                         "bind.").format(unit=unit, used=f"{r.used:,.1f}", limit=f"{r.limit:,.1f}"))
        else:
            out.append(_("One more {unit} would add {worth} of incremental margin (the plan uses all {limit}).").format(
                unit=unit, worth=worth, limit=f"{r.limit:,.1f}"))
    return out


def plan_frame(plan: CampaignPlan, table: pd.DataFrame, channels: list[Channel]) -> pd.DataFrame:
    """The plan as the ``campaign_plan`` artifact: one row per cell and channel contacted, with the
    contacts, the added purchase probability, the margin of a purchase and the cost of a contact."""
    long = plan.counts.stack().rename("contacts").reset_index()
    long = long[long["contacts"] > 0]
    cost = {c.name: c.cost for c in channels}
    keys = list(zip(long["segment_name"], long["band"]))
    long["added_probability"] = [float(table.loc[k, ch]) for k, ch in zip(keys, long["channel"])]
    long["margin_per_purchase"] = [float(table.loc[k, "margin_per_purchase"]) for k in keys]
    long["cost_per_contact"] = long["channel"].map(cost).astype(float)
    long["contacts"] = long["contacts"].round().astype(int)
    return long.reset_index(drop=True)
