"""Charts of the churn section (notebook 04): survival curves, hazard ratios, the P(alive) threshold trade-off.

Each takes what a :mod:`crm_utils.value.churn` step returned; given None (a step the data could not
support) it draws nothing (``charts.skippable``).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_utils.charts import skippable
from crm_utils.value.churn import RETAINED_AT_MONTHS, CoxDrivers, SurvivalCurves, attribute_label


@skippable
def survival_curves(curves: SurvivalCurves) -> plt.Figure:
    """Kaplan-Meier curves, one per group, with their confidence bands and the median line."""
    fig, ax = plt.subplots(figsize=(9, 4.2))
    level = round((1 - curves.alpha) * 100)
    for group, sub in curves.curves.groupby("group", sort=False):
        n = int(curves.summary.loc[curves.summary["group"] == group, "customers"].iloc[0])
        line, = ax.step(sub["months"], sub["retained"] * 100, where="post", label=f"{group} ({n:,})")
        ax.fill_between(sub["months"], sub["lower"] * 100, sub["upper"] * 100, step="post", alpha=0.15,
                        color=line.get_color(), linewidth=0)
    ax.axhline(50, color="#888888", linewidth=0.8, linestyle="--")
    ax.axvline(RETAINED_AT_MONTHS, color="#bbbbbb", linewidth=0.8, linestyle=":")
    ax.set_ylim(0, 102)
    ax.set_xlim(left=0)
    ax.set_xlabel("months since sign-up")
    ax.set_ylabel("still customers (%)")
    what = f"by {attribute_label(curves.by)}" if curves.by else "all customers"
    p = f"; log-rank p = {curves.logrank_p:.2g}" if curves.logrank_p is not None else ""
    ax.set_title(f"Share still customers by months since sign-up, {what} (Kaplan-Meier, {level}% bands{p})")
    ax.legend(fontsize=8, loc="lower left", title="group (customers)", title_fontsize=8)
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
    ax.set_yticks(y, [f"{r.term} (vs {r.reference})" + ("  [PH fails]" if not h else "")
                      for r, h in zip(t.itertuples(), holds)], fontsize=8)
    level = round((1 - drivers.alpha) * 100)
    ax.set_xlabel(f"hazard ratio of leaving (log scale; {level}% interval; >1 leaves sooner)")
    ax.set_title("Drivers of churn: Cox proportional hazards model")
    fig.tight_layout()
    return fig


@skippable
def threshold_tradeoff(tradeoff: pd.DataFrame, chosen: float | None = None) -> plt.Figure:
    """Share flagged, precision and recall against the P(alive) threshold, the base churn rate
    (a random pick's precision) dashed, and the chosen threshold marked."""
    fig, ax = plt.subplots(figsize=(9, 4))
    ax.plot(tradeoff["threshold"], tradeoff["share_flagged"] * 100, marker="o", ms=3, label="flagged (% of customers)")
    ax.plot(tradeoff["threshold"], tradeoff["precision"] * 100, marker="o", ms=3,
            label="precision (% of flagged who churned)")
    ax.plot(tradeoff["threshold"], tradeoff["recall"] * 100, marker="o", ms=3, label="recall (% of churners flagged)")
    ax.axhline(float(tradeoff["churn_rate"].iloc[0]) * 100, color="#888888", linestyle="--", linewidth=0.8,
               label="churn rate in the holdout (random pick's precision)")
    if chosen is not None:
        ax.axvline(chosen, color="#d98c2b", linewidth=1.2, label=f"threshold {chosen:.2f}")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 102)
    ax.set_xlabel("threshold: flag customers with P(alive) below it")
    ax.set_ylabel("percent")
    ax.set_title("Flagging by P(alive): what each threshold catches in the holdout window")
    ax.legend(fontsize=8, loc="center right")
    fig.tight_layout()
    return fig
