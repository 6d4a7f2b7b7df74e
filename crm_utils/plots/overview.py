"""Charts of notebook 02, the customer overview."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns


def monthly_trend(series: pd.DataFrame, month: str, currency: str = "currency units") -> plt.Figure:
    """Revenue bars and active customers line per month, the report month highlighted."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = series.index.to_timestamp()
    colours = ["#d98c2b" if str(p) == month else "#6c8ebf" for p in series.index]
    ax.bar(x, series["revenue"] / 1000, width=25, color=colours)
    ax.set_ylabel(f"revenue (thousand {currency})")
    ax2 = ax.twinx()
    ax2.plot(x, series["active_customers"], color="#333333", marker="o", ms=3, label="active customers")
    ax2.set_ylabel("active customers")
    ax2.grid(False)
    ax2.set_ylim(0, series["active_customers"].max() * 1.15 or 1)
    ax2.legend(loc="upper left", fontsize=8)
    ax.set_title(f"Net revenue and active customers per month ({month} highlighted)")
    fig.tight_layout()
    return fig


def group_means(tables: dict[str, pd.DataFrame], tests: dict[str, dict], value_label: str) -> plt.Figure:
    """One panel per grouping: group means with 95% confidence intervals, and the test's verdict."""
    n = len(tables)
    cols = 2 if n > 1 else 1
    rows = -(-n // cols)
    height = max(len(t) for t in tables.values()) * 0.42 + 1.3
    fig, axes = plt.subplots(rows, cols, figsize=(12, height * rows), squeeze=False)
    for ax, (group, table) in zip(axes.flat, tables.items()):
        t = table.iloc[::-1]
        ax.errorbar(t["mean"], t.index.astype(str), xerr=[t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]],
                    fmt="o", color="#6c8ebf", ecolor="#333333", capsize=3)
        for y, (m, k) in enumerate(zip(t["mean"], t["customers"])):
            ax.annotate(f" n={k:,}", (m, y), fontsize=7, va="bottom", color="#555555")
        p = tests[group]["p_value"]
        verdict = "differences beyond noise" if p < 0.05 else "no difference beyond noise"
        ax.set_title(f"by {group.replace('_', ' ')}: {verdict} (p = {p:.2g})", fontsize=10)
        ax.set_xlabel(f"{value_label}, mean and 95% CI")
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(f"{value_label} per customer, by group", fontweight="bold")
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame) -> plt.Figure:
    """Lower triangle of a correlation matrix, annotated."""
    fig, ax = plt.subplots(figsize=(7.5, 6))
    mask = np.triu(np.ones_like(corr, dtype=bool))
    labels = [c.replace("_", " ") for c in corr.columns]
    sns.heatmap(corr, mask=mask, annot=True, fmt=".2f", cmap="RdBu_r", vmin=-1, vmax=1, center=0,
                square=True, cbar_kws={"label": "Spearman correlation", "shrink": 0.7}, ax=ax,
                xticklabels=labels, yticklabels=labels, annot_kws={"size": 8})
    ax.grid(False)
    ax.set_title("How customer behaviours move together (rank correlation)")
    fig.tight_layout()
    return fig


def retention_heatmap(table: pd.DataFrame, sizes: pd.Series) -> plt.Figure:
    """Cohort retention: share of each first-purchase cohort buying N months later."""
    fig, ax = plt.subplots(figsize=(10, 0.38 * len(table) + 1.5))
    ylabels = [f"{c} (n={sizes.get(c, 0):,})" for c in table.index]
    sns.heatmap(table * 100, annot=True, fmt=".0f", cmap="YlGnBu", vmin=0, vmax=100, ax=ax,
                yticklabels=ylabels, cbar_kws={"label": "% of cohort buying"}, annot_kws={"size": 8})
    ax.grid(False)
    ax.set_xlabel("months after the first purchase")
    ax.set_ylabel("first-purchase month (cohort size)")
    ax.set_title("Cohort retention: % of each cohort buying again N months later")
    fig.tight_layout()
    return fig
