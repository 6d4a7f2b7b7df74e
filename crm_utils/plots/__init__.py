"""Charts shared by the notebooks and the report: titled, labelled, with units.

The shared look (``use_style``) and the cleaning charts live here; each later stage keeps its
charts in a submodule of its own (``plots.overview``, ``plots.segmentation``, ...), imported by
the notebook that shows them.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from ..safe import chart_text

OUTCOME_COLOURS = {"kept": "#4c9a2a", "merged": "#6c8ebf", "held_back": "#b0b0b0", "quarantined": "#d9534f"}


def use_style() -> None:
    """One look for every notebook: readable fonts, light grid, figures sized for a report."""
    sns.set_theme(style="whitegrid", context="notebook")
    plt.rcParams.update({"figure.figsize": (9, 4), "figure.dpi": 100, "axes.titleweight": "bold"})


def ledger_chart(ledger: pd.DataFrame, by_reason: pd.DataFrame) -> plt.Figure:
    """Left: rows not kept per table, by outcome (% of rows read). Right: quarantined rows by reason."""
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1.3]})
    # Kept rows are ~99% everywhere; the interesting part is the rest, so that is what is drawn.
    outcomes = ["merged", "held_back", "quarantined"]
    led = ledger.set_index("table")
    share = led[outcomes].div(led["rows_in"], axis=0) * 100
    left = np.zeros(len(share))
    for o in outcomes:
        ax1.barh(share.index, share[o], left=left, color=OUTCOME_COLOURS[o], label=o.replace("_", " "))
        left += share[o].to_numpy()
    for i, total in enumerate(left):
        ax1.text(total, i, f" {total:.2f}%", va="center", fontsize=8)
    ax1.set_xlim(0, max(left.max() * 1.25, 1))
    ax1.set_xlabel("rows not kept (% of rows read)")
    ax1.set_title("Rows not kept, by what happened to them")
    ax1.legend(loc="lower right", fontsize=8)
    if len(by_reason):
        lab = by_reason["table"] + ": " + by_reason["reason"].str.replace("_", " ")
        order = by_reason.assign(label=lab).sort_values("rows")
        ax2.barh(order["label"], order["rows"], color=OUTCOME_COLOURS["quarantined"])
        ax2.set_xscale("log")
        for y, v in enumerate(order["rows"]):
            ax2.text(v, y, f" {v:,}", va="center", fontsize=8)
    ax2.set_xlabel("rows quarantined (log scale)")
    ax2.set_title("Quarantined rows by reason")
    fig.tight_layout()
    return fig


def outlier_chart(orders: pd.DataFrame, fences: pd.DataFrame) -> plt.Figure:
    """Units per order line by category on a log scale, with each category's outlier fence."""
    fig, ax = plt.subplots(figsize=(10, 4.5))
    q = orders.assign(units=orders["quantity"].abs())
    cats = fences.sort_values("category")["category"].astype(str).tolist()
    sns.stripplot(data=q[q["is_outlier"]], x="category", y="units", order=cats, color="#d9534f",
                  size=3, ax=ax, label="flagged")
    sns.boxplot(data=q[~q["is_outlier"]], x="category", y="units", order=cats, showfliers=False,
                color="#dfe9f5", ax=ax)
    ax.scatter(range(len(cats)), fences.set_index("category").loc[cats, "fence_units"], marker="_",
               s=600, color="black", label="fence", zorder=5)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cats)), [chart_text(c) for c in cats])  # category names are data
    ax.set_xlabel("")
    ax.set_ylabel("units per order line (log scale)")
    ax.set_title("Bulk order lines stand far above each category's fence")
    ax.tick_params(axis="x", rotation=30)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), loc="upper right")
    fig.tight_layout()
    return fig


def monthly_rows_chart(orders: pd.DataFrame) -> plt.Figure:
    """Kept order lines per month: a sudden dip or jump points at an export problem."""
    fig, ax = plt.subplots(figsize=(10, 3.2))
    per_month = orders.groupby(orders["order_date"].dt.to_period("M")).size()
    ax.bar(per_month.index.to_timestamp(), per_month.to_numpy(), width=25, color="#6c8ebf")
    ax.set_ylabel("order lines")
    ax.set_title("Kept order lines per month")
    fig.tight_layout()
    return fig
