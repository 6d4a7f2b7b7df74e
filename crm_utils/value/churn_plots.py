"""Charts of the churn section (notebook 04): survival curves, hazard ratios, the P(alive) threshold trade-off.

Each takes what a :mod:`crm_utils.value.churn` step returned; given None (a step the data could not
support) it draws nothing (``charts.skippable``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_utils.charts import skippable
from crm_utils.i18n import N_, _
from crm_utils.notebook import number
from crm_utils.value.churn import (LEVEL_WORDS, RETAINED_AT_MONTHS, TERM_WORDS, CoxDrivers, SurvivalCurves,
                                   attribute_label, shown_term)

#: The group ``churn.survival_curves`` gives all customers when it groups by nothing.
ALL_CUSTOMERS = N_("all customers")
#: The reference of a numeric attribute's ratio (per SD against the mean), as ``churn.design_matrix`` writes it.
MEAN = N_("mean")


def _group(group: str, by: str | None) -> str:
    """A survival curve's group in the current language: the kit's levels translated, segment names
    through the report's ``segment_label``, the data's levels as they are."""
    from crm_utils.report.summary import segment_label

    if group == ALL_CUSTOMERS or group in LEVEL_WORDS:
        return _(group)
    return segment_label(group) if by == "segment" else group


def _attribute(column: str) -> str:
    """A grouping column's name in the current language (``churn.TERM_WORDS``), an export's own as named."""
    name = attribute_label(column)
    return _(TERM_WORDS[name]) if name in TERM_WORDS else name


@skippable
def survival_curves(curves: SurvivalCurves) -> plt.Figure:
    """Kaplan-Meier curves, one per group, with their confidence bands and the median line."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    level = round((1 - curves.alpha) * 100)
    for group, sub in curves.curves.groupby("group", sort=False):
        n = int(curves.summary.loc[curves.summary["group"] == group, "customers"].iloc[0])
        line, = ax.step(sub["months"], sub["retained"] * 100, where="post",
                        label=f"{_group(group, curves.by)} ({number(n)})")
        ax.fill_between(sub["months"], sub["lower"] * 100, sub["upper"] * 100, step="post", alpha=0.15,
                        color=line.get_color(), linewidth=0)
    ax.axhline(50, color="#888888", linewidth=0.8, linestyle="--")
    ax.axvline(RETAINED_AT_MONTHS, color="#bbbbbb", linewidth=0.8, linestyle=":")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.set_xlabel(_("months since sign-up"))
    ax.set_ylabel(_("still customers (%)"))
    p = f"{curves.logrank_p:.2g}" if curves.logrank_p is not None else None
    if curves.by and p is not None:
        title = _("Share still customers by months since sign-up, by {attribute} (Kaplan-Meier, {level}% bands; "
                  "log-rank p = {p})")
    elif curves.by:
        title = _("Share still customers by months since sign-up, by {attribute} (Kaplan-Meier, {level}% bands)")
    elif p is not None:
        title = _("Share still customers by months since sign-up, all customers (Kaplan-Meier, {level}% bands; "
                  "log-rank p = {p})")
    else:
        title = _("Share still customers by months since sign-up, all customers (Kaplan-Meier, {level}% bands)")
    ax.set_title(title.format(attribute=_attribute(curves.by) if curves.by else "", level=level, p=p))
    ax.legend(fontsize=8, loc="lower left", title=_("group (customers)"), title_fontsize=8)
    fig.tight_layout()
    return fig


@skippable
def hazard_ratios(drivers: CoxDrivers) -> plt.Figure:
    """Hazard ratios with their intervals on a log scale; terms failing the proportional-hazards
    test are drawn hollow and marked in their label."""
    t = drivers.hazard_ratios.sort_values("hazard_ratio").reset_index(drop=True)
    fig, ax = plt.subplots(figsize=(9, 0.38 * len(t) + 1.4))
    y = np.arange(len(t))
    colours = np.where(t["hazard_ratio"] > 1, "#c0504d", "#4f81bd")
    ax.hlines(y, t["lower"], t["upper"], color=colours, linewidth=2)
    holds = t["ph_holds"].fillna(True).to_numpy(bool)
    ax.scatter(t["hazard_ratio"][holds], y[holds], color=colours[holds], zorder=3, s=30)
    ax.scatter(t["hazard_ratio"][~holds], y[~holds], facecolors="white", edgecolors=colours[~holds], zorder=3, s=30)
    ax.axvline(1, color="#555555", linewidth=0.8)
    ax.set_xscale("log")
    ax.set_yticks(y, [_("{term} (vs {reference})").format(
        term=shown_term(r.term), reference=_(MEAN) if r.reference == MEAN else shown_term(r.reference))
        + ("  " + _("[PH fails]") if not h else "") for r, h in zip(t.itertuples(), holds)], fontsize=8)
    level = round((1 - drivers.alpha) * 100)
    ax.set_xlabel(_("hazard ratio of leaving (log scale; {level}% interval; >1 leaves sooner)").format(level=level))
    ax.set_title(_("Drivers of churn: Cox proportional hazards model"))
    fig.tight_layout()
    return fig


@skippable
def threshold_tradeoff(tradeoff: pd.DataFrame, chosen: float | None = None) -> plt.Figure:
    """Share flagged, precision and recall against the P(alive) threshold, the base churn rate
    (a random pick's precision) dashed, and the chosen threshold marked."""
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(tradeoff["threshold"], tradeoff["share_flagged"] * 100, marker="o", ms=3,
            label=_("flagged (% of customers)"))
    ax.plot(tradeoff["threshold"], tradeoff["precision"] * 100, marker="o", ms=3,
            label=_("precision (% of flagged who churned)"))
    ax.plot(tradeoff["threshold"], tradeoff["recall"] * 100, marker="o", ms=3,
            label=_("recall (% of churners flagged)"))
    ax.axhline(float(tradeoff["churn_rate"].iloc[0]) * 100, color="#888888", linestyle="--", linewidth=0.8,
               label=_("churn rate in the holdout (random pick's precision)"))
    if chosen is not None:
        ax.axvline(chosen, color="#d98c2b", linewidth=1.2, label=_("threshold {value}").format(value=number(chosen, 2)))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 102)
    ax.set_xlabel(_("threshold: flag customers with P(alive) below it"))
    ax.set_ylabel(_("percent"))
    ax.set_title(_("Flagging by P(alive): what each threshold catches in the holdout window"))
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig
