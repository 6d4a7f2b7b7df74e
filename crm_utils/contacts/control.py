"""The control group: a seeded, stratified hold-out that is not contacted, and next month's verdict.

Without a hold-out, nobody can tell the purchases a campaign caused from those that would have
happened anyway. So before the campaign, a share of the customers of each stratum (segment x
propensity decile within it) is set aside as ``control`` and never contacted; the plan only
contacts ``treatment`` customers. Each control customer also carries the channel they would have
been given (``arm``), allocated in the same proportions as the treatment customers of their cell,
so that the treated and the held-out customers of each channel have the same mix of segments
and propensities, and comparing their purchase rates measures what the contacts added.

A month later the purchases in the window after last month's end give the **realised uplift**
(purchase rate of the contacted minus that of their hold-out, with Newcombe's hybrid-score
interval for a difference of two proportions), and whether the campaign paid: the added buyers
times the margin of a purchase, against what the contacts cost.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import confint_proportions_2indep

from crm_utils.contacts.plan import channel_label
from crm_utils.i18n import N_, _
from crm_utils.needs.propensity import buyers_between

TREATMENT, CONTROL = "treatment", "control"
#: Default share held out. A tenth keeps nine in ten of the campaign's added purchases while giving
#: a control group large enough to see an uplift of a few percentage points on a campaign of a few
#: thousand customers (:func:`detectable_uplift` says which uplift, for the campaign at hand).
CONTROL_SHARE = 0.10
#: The interval level of the realised uplift (95%, the level of the effect intervals).
ALPHA = 0.05
#: The share of treated customers that the interactions log must show as reached on their channel
#: beyond the hold-out's rate (which have contacts of their own) before a verdict is given: below
#: one half, most of the treatment group was never contacted, and the treated-minus-control
#: difference would understate what the contacts do by more than half.
MIN_REACHED = 0.5
#: Statistical power for the smallest detectable uplift (the usual 80%).
POWER = 0.8
#: The whole campaign's row of :func:`realised_uplift` (beside one row per channel arm).
ALL_ARMS = "all"
#: Headers of the tables notebook 07 shows (:meth:`Verdict.shown`, :func:`arm_table`), translated
#: with ``_()`` there; the tables' own column names and the groups' codes stay as they are.
SHOWN_LABELS = {"treated": N_("treated"), "treated_rate": N_("treated_rate"), "control": N_("control"),
                "control_rate": N_("control_rate"), "uplift": N_("uplift"), "uplift_low": N_("uplift_low"),
                "uplift_high": N_("uplift_high"), "treated_reached": N_("treated_reached"),
                "control_reached": N_("control_reached"), "cost": N_("cost"),
                "incremental_margin": N_("incremental_margin"), "incremental_margin_low": N_("incremental_margin_low"),
                "incremental_margin_high": N_("incremental_margin_high"), "treatment": N_("treatment"),
                ALL_ARMS: N_("all"), "arm": N_("arm")}


def _label(name: object) -> str:
    """A header or row of a shown table in the current language: the kit's labels, and a channel
    the catalogue knows (email, phone, ...); any other name as the parameters or data write it."""
    name = str(name)
    return _(SHOWN_LABELS[name]) if name in SHOWN_LABELS else channel_label(name)


def stratified_holdout(frame: pd.DataFrame, share: float, seed: int,
                       strata: tuple[str, ...] = ("segment_name", "band")) -> pd.Series:
    """``treatment`` or ``control`` for each row: in each stratum ``floor(share x n)`` controls, and the
    remainders given out by largest fraction (ties by the seed) so that the total is
    ``round(share x N)``; who is held out within a stratum is drawn with ``seed``. The draw does
    not depend on the rows' order (rows are keyed by ``customer_id``)."""
    if isinstance(share, bool) or not isinstance(share, (int, float)) or not 0 <= share < 1:
        raise ValueError(f"parameter control_share must be a share in [0, 1), got {share!r}")
    rng = np.random.default_rng([seed, 2101])
    order = np.argsort(frame["customer_id"].astype(str).to_numpy(), kind="stable")
    key = np.empty(len(frame))
    key[order] = rng.random(len(frame))  # each customer's draw follows their id, not the row order
    stratum = frame.groupby(list(strata), sort=True, observed=True).ngroup().to_numpy()
    sizes = np.bincount(stratum)
    quota = share * sizes
    base = np.floor(quota + 1e-9).astype(int)
    extra = int(round(share * len(frame))) - base.sum()
    frac = quota - base
    tie = rng.random(len(sizes))
    for s in np.lexsort((tie, -frac))[:max(extra, 0)]:
        base[s] += 1
    rank = pd.Series(key).groupby(stratum).rank(method="first").to_numpy() - 1
    return pd.Series(np.where(rank < base[stratum], CONTROL, TREATMENT), index=frame.index, name="group")


def assign_arms(cells: pd.DataFrame, counts: pd.DataFrame, seed: int) -> pd.Series:
    """The channel of each customer (``""``: not in the campaign).

    Treatment customers of a cell get the plan's ``counts`` of that cell, channel by channel, in a
    seeded random order (the uplift does not differ within a cell, so any of them will do);
    control customers of the cell are given the same channels in the same proportions (largest
    remainder), the arm whose hold-out they are. ``cells`` has segment_name, band and group.
    """
    rng = np.random.default_rng([seed, 2102])
    arm = np.full(len(cells), "", dtype=object)
    channels = list(counts.columns)
    for key, idx in cells.groupby(["segment_name", "band"], observed=True).indices.items():
        if key not in counts.index:
            continue
        want = counts.loc[key, channels].to_numpy(float)
        grp = cells["group"].to_numpy()[idx]
        treated, held = idx[grp == TREATMENT], idx[grp == CONTROL]
        treated = treated[rng.permutation(len(treated))]
        taken = np.round(want).astype(int)
        if taken.sum() > len(treated):
            raise ValueError(f"cell {key}: the plan contacts {taken.sum()} customers, the cell has {len(treated)}")
        arm[treated] = np.repeat([*channels, ""], [*taken, len(treated) - taken.sum()])
        if len(held) and len(treated):
            quota = len(held) * taken / len(treated)
            n = np.floor(quota + 1e-9).astype(int)
            n[np.argsort(-(quota - n), kind="stable")[: int(round(quota.sum())) - n.sum()]] += 1
            held = held[rng.permutation(len(held))]
            arm[held] = np.repeat([*channels, ""], [*n, len(held) - n.sum()])
    return pd.Series(arm, index=cells.index, name="arm")


def campaign_targets(cells: pd.DataFrame, group: pd.Series, arm: pd.Series, costs: dict[str, float]) -> pd.DataFrame:
    """One row per scored customer: cell, group, arm, the channel to contact them on (treatment
    only) and the contact's cost: the record next month's verdict reads."""
    out = cells[["customer_id", "segment_name", "band", "p_purchase", "margin_per_purchase"]].copy()
    out["group"], out["arm"] = group.to_numpy(), arm.to_numpy()
    out["channel"] = np.where(out["group"] == TREATMENT, out["arm"], "")
    out["cost"] = out["channel"].map(costs).fillna(0.0).astype(float)
    return out


def target_columns(targets: pd.DataFrame, campaign: pd.DataFrame) -> pd.DataFrame:
    """The need stage's ranked target list with ``group`` and ``channel`` added (notebook 07 rewrites
    targets.csv with them); a customer the plan could not place (no segment) is in neither group."""
    out = targets.merge(campaign[["customer_id", "group", "channel"]], on="customer_id", how="left")
    return out.fillna({"group": "", "channel": ""})


def detectable_uplift(treated: int, control: int, base_rate: float, alpha: float = ALPHA,
                      power: float = POWER) -> float:
    """The smallest uplift a treated-vs-control comparison of these sizes detects with ``power``
    (two-sided test at ``alpha``; Cohen's h turned back into a difference of proportions)."""
    if treated < 1 or control < 1 or not 0 < base_rate < 1:
        return float("nan")
    h = NormalIndPower().solve_power(effect_size=None, nobs1=treated, ratio=control / treated, alpha=alpha,
                                     power=power)
    return float(np.sin(np.arcsin(np.sqrt(base_rate)) + h / 2) ** 2 - base_rate)


def realised_uplift(campaign: pd.DataFrame, bought: pd.Index, reached: pd.Series | None = None) -> pd.DataFrame:
    """Per channel arm and for the whole campaign: treated and control customers and buyers, purchase
    rates, their difference with Newcombe's interval, and (with ``reached``, whether the log shows
    a contact on the customer's arm in the window) the share reached in each group."""
    c = campaign[campaign["arm"] != ""].copy()
    c["bought"] = c["customer_id"].astype(str).isin(pd.Index(bought).astype(str))
    if reached is not None:
        c["reached"] = reached.reindex(c.index).fillna(False).astype(bool)
    rows = {}
    for name, g in [*c.groupby("arm", sort=True), (ALL_ARMS, c)]:
        t, k = g[g["group"] == TREATMENT], g[g["group"] == CONTROL]
        row = {"treated": len(t), "treated_buyers": int(t["bought"].sum()), "control": len(k),
               "control_buyers": int(k["bought"].sum()), "cost": float(t["cost"].sum()),
               "margin_per_purchase": float(t["margin_per_purchase"].mean()) if len(t) else np.nan}
        row["treated_rate"] = row["treated_buyers"] / len(t) if len(t) else np.nan
        row["control_rate"] = row["control_buyers"] / len(k) if len(k) else np.nan
        row["uplift"] = row["treated_rate"] - row["control_rate"]
        if len(t) and len(k):
            low, high = confint_proportions_2indep(row["treated_buyers"], len(t), row["control_buyers"], len(k),
                                                   method="newcomb", compare="diff", alpha=ALPHA)
        else:
            low = high = np.nan
        row["uplift_low"], row["uplift_high"] = float(low), float(high)
        if reached is not None:
            row["treated_reached"] = float(t["reached"].mean()) if len(t) else np.nan
            row["control_reached"] = float(k["reached"].mean()) if len(k) else np.nan
        rows[name] = row
    out = pd.DataFrame(rows).T
    for end in ("", "_low", "_high"):
        out[f"incremental_buyers{end}"] = out[f"uplift{end}"].astype(float) * out["treated"].astype(float)
        out[f"incremental_margin{end}"] = (out[f"incremental_buyers{end}"] * out["margin_per_purchase"].astype(float)
                                           - out["cost"].astype(float))
    return out.rename_axis("arm")


@dataclass
class Verdict:
    """Whether last month's campaign paid: ``status`` is one of "no run", "no plan", "window open",
    "not carried out", "paid", "did not pay", "cannot tell"; ``sentence`` says it in words."""

    status: str
    sentence: str
    month: str
    table: pd.DataFrame | None = None
    figures: dict = field(default_factory=dict)

    #: The columns a reader needs of :attr:`table`: groups, rates, the uplift and the margin with intervals.
    SHOWN = ("treated", "treated_rate", "control", "control_rate", "uplift", "uplift_low", "uplift_high",
             "treated_reached", "control_reached", "cost", "incremental_margin", "incremental_margin_low",
             "incremental_margin_high")

    def shown(self) -> pd.DataFrame | None:
        """:attr:`table` trimmed to :attr:`SHOWN`, headers and rows in the current language (None when
        nothing was measured)."""
        if self.table is None:
            return None
        shown = self.table[[c for c in self.SHOWN if c in self.table]].astype(float)
        name = shown.index.name
        return shown.rename(index=_label, columns=_label).rename_axis(_label(name) if name else name)


def reached_on_arm(campaign: pd.DataFrame, interactions: pd.DataFrame, start: pd.Timestamp,
                   end: pd.Timestamp) -> pd.Series:
    """Whether the interactions log shows each customer contacted on their arm's channel in (start, end]."""
    t = interactions["timestamp"]
    seen = interactions.loc[(t > start) & (t <= end), ["customer_id", "channel"]].astype(str).drop_duplicates()
    pairs = pd.MultiIndex.from_frame(seen)
    ask = pd.MultiIndex.from_arrays([campaign["customer_id"].astype(str), campaign["arm"].astype(str)])
    return pd.Series(ask.isin(pairs), index=campaign.index)


def judge(campaign: pd.DataFrame | None, month: str, orders: pd.DataFrame, cutoff: pd.Timestamp,
          data_end: pd.Timestamp, window_days: int, interactions: pd.DataFrame | None = None,
          last_run_exists: bool = True, money=lambda v: f"{v:,.0f}") -> Verdict:
    """Last month's campaign judged on the purchases in the ``window_days`` after ``cutoff`` (last
    month's end); ``campaign`` is last month's ``campaign_targets`` (None when it has none)."""
    from crm_utils.notebook import date  # the run's language writes the days (imports matplotlib: late)

    if not last_run_exists:
        return Verdict("no run", _("No run for {month} in this reports folder: there is no campaign of last month "
                                   "to judge.").format(month=month), month)
    if campaign is None:
        return Verdict("no plan", _("The run for {month} has no campaign plan (its contact stage did not run or "
                                    "could not plan): there is no campaign of last month to judge.").format(
            month=month), month)
    if (campaign["arm"] == "").all() or (campaign["group"] == CONTROL).sum() == 0:
        return Verdict("no plan", _("Last month's plan ({month}) contacted nobody or held nobody out: there is no "
                                    "treated-against-control comparison to make.").format(month=month), month)
    end = cutoff + pd.Timedelta(days=window_days)
    if end > data_end.normalize() + pd.Timedelta(days=1):  # the data reach to the end of data_end's day
        return Verdict("window open", _("The {days} days after {cutoff} run past the data ({data_end}): last month's "
                                        "campaign can be judged next month.").format(
            days=window_days, cutoff=date(cutoff), data_end=date(data_end)), month)
    reached = reached_on_arm(campaign, interactions, cutoff, end) if interactions is not None else None
    table = realised_uplift(campaign, buyers_between(orders, cutoff, end), reached)
    r = table.loc[ALL_ARMS]
    figures = {"window_end": end.date().isoformat(), **{k: (float(v) if k not in ("treated", "control") else int(v))
                                                         for k, v in r.items()}}
    # Figures formatted as before (the Chinese locale writes numbers with the same signs); the
    # sentence around them is the catalogue's.
    measured = _("contacted customers bought at {treated_rate}, their hold-out at {control_rate}: a realised uplift "
                 "of {uplift} points (95% interval {low} to {high}), {buyers} added buyers, an incremental margin of "
                 "{margin} ({margin_low} to {margin_high}) after {cost} of contacts").format(
        treated_rate=f"{r.treated_rate:.1%}", control_rate=f"{r.control_rate:.1%}", uplift=f"{r.uplift * 100:+.1f}",
        low=f"{r.uplift_low * 100:+.1f}", high=f"{r.uplift_high * 100:+.1f}", buyers=f"{r.incremental_buyers:,.0f}",
        margin=money(r.incremental_margin), margin_low=money(r.incremental_margin_low),
        margin_high=money(r.incremental_margin_high), cost=money(r.cost))
    if reached is not None and not r.treated_reached - r.control_reached >= MIN_REACHED:
        return Verdict("not carried out", _(
            "Last month's campaign ({month}) was not carried out as planned: the interactions log shows {treated} of "
            "the treated customers contacted on their channel within {days} days, against {control} of the "
            "hold-out, so no verdict on whether it paid; for the record, {measured}.").format(
            month=month, treated=f"{r.treated_reached:.0%}", days=window_days, control=f"{r.control_reached:.0%}",
            measured=measured), month, table, figures)
    unchecked = "" if reached is not None else _(" (no interactions table: whether the contacts were made is not "
                                                 "checked)")
    if r.incremental_margin_low > 0:
        status, said = "paid", _("Last month's campaign ({month}) paid: {measured}{unchecked}.")
    elif r.incremental_margin_high < 0:
        status, said = "did not pay", _("Last month's campaign ({month}) did not pay: {measured}{unchecked}.")
    else:
        status, said = "cannot tell", _("Last month's campaign ({month}) cannot be said to have paid or not (its "
                                        "interval spans zero): {measured}{unchecked}.")
    return Verdict(status, said.format(month=month, measured=measured, unchecked=unchecked), month, table, figures)


def holdout_note(campaign: pd.DataFrame, share: float) -> str:
    """How many customers are held out and how small an uplift the campaign can detect ('' without a plan)."""
    in_campaign = campaign[campaign["arm"] != ""]
    if not len(in_campaign):
        return ""
    treated = int((in_campaign["group"] == TREATMENT).sum())
    held = int((in_campaign["group"] == CONTROL).sum())
    smallest = campaign_detectable(campaign)
    return _("{customers} customers held out ({share} of each stratum), {held} of them standing for a planned contact "
             "against {treated} contacted. The smallest uplift this campaign can detect ({power} power, {alpha} "
             "two-sided) is {smallest} percentage points.").format(
        customers=f"{int((campaign['group'] == CONTROL).sum()):,}", share=f"{share:.0%}", held=f"{held:,}",
        treated=f"{treated:,}", power=f"{POWER:.0%}", alpha=f"{ALPHA:.0%}", smallest=f"{smallest * 100:.1f}")


def arm_table(campaign: pd.DataFrame) -> pd.DataFrame | None:
    """Customers per channel arm and group (None without a plan), headers in the current language."""
    in_campaign = campaign[campaign["arm"] != ""]
    if not len(in_campaign):
        return None
    table = in_campaign.groupby(["arm", "group"]).size().unstack(fill_value=0).rename_axis(None, axis=1)
    return table.rename(index=_label, columns=_label).rename_axis(_label("arm"))


def campaign_detectable(campaign: pd.DataFrame) -> float:
    """:func:`detectable_uplift` of the planned campaign (NaN without a plan)."""
    in_campaign = campaign[campaign["arm"] != ""]
    if not len(in_campaign):
        return float("nan")
    return detectable_uplift(int((in_campaign["group"] == TREATMENT).sum()),
                             int((in_campaign["group"] == CONTROL).sum()), float(in_campaign["p_purchase"].mean()))
