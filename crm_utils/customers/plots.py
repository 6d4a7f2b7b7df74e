"""Charts of the customers stage: the overview (notebook 02), then segmentation (notebook 03)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from crm_utils.i18n import N_, _
from crm_utils.notebook import money_label, number, percent
from crm_utils.safe import chart_text

#: The amount notebook 02 compares between groups (a money label: ``money_label(SPEND_12M, currency)``).
SPEND_12M = N_("12-month spend")
#: The groupings notebook 02 compares, as the panels name them.
GROUP_LABELS = {"region": N_("region"), "channel": N_("channel"), "gender": N_("gender"), "age_band": N_("age band")}
#: The value :func:`crm_utils.customers.overview.customer_year` writes where a customer's group is not known.
UNKNOWN = "unknown"
#: Customer behaviour measures (:data:`crm_utils.customers.overview.BEHAVIOUR`) and the segmentation's
#: design columns (:func:`crm_utils.customers.segmentation.design_matrix`) as the charts name them.
MEASURE_LABELS = {"recency_days": N_("recency days"), "frequency": N_("frequency"), "monetary": N_("monetary"),
                  "avg_order_value": N_("avg order value"), "tenure_days": N_("tenure days"),
                  "return_rate": N_("return rate"), "price_index": N_("price index"),
                  "interactions": N_("interactions"), "log_recency_days": N_("recency days"),
                  "log_orders_per_month": N_("orders per month"), "log_avg_order_value": N_("avg order value"),
                  "return_rate_shrunk": N_("return rate shrunk"), "log_contacts_per_month": N_("contacts per month")}
#: Prefix of a design column holding the square root of a category's share (``sqrt_cat_<category>``).
MIX_PREFIX = "sqrt_cat_"


def measure_label(column: str) -> str:
    """A behaviour measure or design column in the current language; 'mix: Tents' for a category's
    share (the category is the data's name); another column as written, underscores as spaces."""
    if column in MEASURE_LABELS:
        return _(MEASURE_LABELS[column])
    if column.startswith(MIX_PREFIX):
        return _("mix: {category}").format(category=chart_text(column.removeprefix(MIX_PREFIX).replace("_", " ")))
    return chart_text(column.replace("_", " "))


def _group_value(value: object) -> str:
    """A group's name on a chart: the data's own, or 'unknown' (the kit's fill) in the current language."""
    return _(UNKNOWN) if str(value) == UNKNOWN else chart_text(value)


def monthly_trend(series: pd.DataFrame, month: str, currency: str | None = None) -> plt.Figure:
    """Revenue bars and active customers line per month, the report month highlighted; amounts
    labelled with ``currency``, or with none when the data declare none."""
    fig, ax = plt.subplots(figsize=(10, 3.6))
    x = series.index.to_timestamp()
    colours = ["#d98c2b" if str(p) == month else "#6c8ebf" for p in series.index]
    ax.bar(x, series["revenue"] / 1000, width=25, color=colours)
    ax.set_ylabel(money_label(N_("revenue"), currency, N_("thousand")))
    ax2 = ax.twinx()
    ax2.plot(x, series["active_customers"], color="#333333", marker="o", ms=3, label=_("active customers"))
    ax2.set_ylabel(_("active customers"))
    ax2.grid(False)
    known = series["active_customers"].dropna()  # NaN: a month of guest sales only, no customer known
    ax2.set_ylim(0, known.max() * 1.15 if len(known) and known.max() > 0 else 1)
    ax2.legend(loc="upper left", fontsize=8)
    ax.set_title(_("Net revenue and active customers per month ({month} highlighted)").format(month=month))
    fig.tight_layout()
    return fig


#: The p-value below which the group means' panel says the groups differ beyond noise (the usual 5% level).
SIGNIFICANCE = 0.05


def group_means(tables: dict[str, pd.DataFrame], tests: dict[str, dict], value_label: str) -> plt.Figure:
    """One panel per grouping: group means with 95% confidence intervals, and the test's verdict."""
    n = len(tables)
    cols = 2 if n > 1 else 1
    rows = -(-n // cols)
    height = max(len(t) for t in tables.values()) * 0.42 + 1.3
    fig, axes = plt.subplots(rows, cols, figsize=(12, height * rows), squeeze=False)
    for ax, (group, table) in zip(axes.flat, tables.items()):
        t = table.iloc[::-1]
        ax.errorbar(t["mean"], [_group_value(v) for v in t.index],
                    xerr=[t["mean"] - t["ci_low"], t["ci_high"] - t["mean"]],
                    fmt="o", color="#6c8ebf", ecolor="#333333", capsize=3)
        for y, (m, k) in enumerate(zip(t["mean"], t["customers"])):
            ax.annotate(f" n={number(k)}", (m, y), fontsize=7, va="bottom", color="#555555")
        p = tests[group]["p_value"]
        name = _(GROUP_LABELS[group]) if group in GROUP_LABELS else chart_text(group.replace("_", " "))
        if pd.isna(p):  # fewer than two groups large enough for the test (compare_groups' min_size)
            title = _("by {group}: too few customers in all but one group to test").format(group=name)
        elif p < SIGNIFICANCE:
            title = _("by {group}: differences beyond noise (p = {p})").format(group=name, p=f"{p:.2g}")
        else:
            title = _("by {group}: no difference beyond noise (p = {p})").format(group=name, p=f"{p:.2g}")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel(_("{value}, mean and 95% CI").format(value=value_label))
    for ax in list(axes.flat)[n:]:
        ax.set_visible(False)
    fig.suptitle(_("{value} per customer, by group").format(value=value_label), fontweight="bold")
    fig.tight_layout()
    return fig


def correlation_heatmap(corr: pd.DataFrame) -> plt.Figure:
    """Lower triangle of a correlation matrix, annotated."""
    fig, ax = plt.subplots(figsize=(7.5, 6))
    mask = np.triu(np.ones_like(corr, dtype=bool))
    labels = [measure_label(c) for c in corr.columns]
    sns.heatmap(corr, mask=mask, annot=True, fmt=".2f", cmap="RdBu_r", vmin=-1, vmax=1, center=0,
                square=True, cbar_kws={"label": _("Spearman correlation"), "shrink": 0.7}, ax=ax,
                xticklabels=labels, yticklabels=labels, annot_kws={"size": 8})
    ax.grid(False)
    ax.set_title(_("How customer behaviours move together (rank correlation)"))
    fig.tight_layout()
    return fig


def retention_heatmap(table: pd.DataFrame, sizes: pd.Series) -> plt.Figure:
    """Cohort retention: share of each first-purchase cohort buying N months later."""
    fig, ax = plt.subplots(figsize=(10, 0.38 * len(table) + 1.5))
    ylabels = [f"{c} (n={number(sizes.get(c, 0))})" for c in table.index]
    sns.heatmap(table * 100, annot=True, fmt=".0f", cmap="YlGnBu", vmin=0, vmax=100, ax=ax,
                yticklabels=ylabels, cbar_kws={"label": _("% of cohort buying")}, annot_kws={"size": 8})
    ax.grid(False)
    ax.set_xlabel(_("months after the first purchase"))
    ax.set_ylabel(_("first-purchase month (cohort size)"))
    ax.set_title(_("Cohort retention: % of each cohort buying again N months later"))
    fig.tight_layout()
    return fig


# Segmentation (notebook 03)

#: At most this many points are drawn in a scatter: more only hides the structure (and the file).
MAX_POINTS = 4_000


def k_selection(table: pd.DataFrame, chosen: int, elbow: int) -> plt.Figure:
    """Silhouette by k (the choice) beside the inertia curve with its elbow (for comparison)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    a1.plot(table["k"], table["silhouette"], marker="o", color="#6c8ebf")
    a1.axvline(chosen, color="#d98c2b", ls="--", label=_("chosen k = {k}").format(k=chosen))
    a1.set_xlabel(_("number of segments k"))
    a1.set_ylabel(_("mean silhouette (-1 to 1)"))
    a1.set_title(_("Silhouette: higher = tighter, better separated"))
    a1.legend(fontsize=8)
    a2.plot(table["k"], table["inertia"], marker="o", color="#6c8ebf")
    a2.axvline(elbow, color="#888888", ls=":", label=_("elbow at k = {k}").format(k=elbow))
    a2.set_xlabel(_("number of segments k"))
    a2.set_ylabel(_("inertia (within-segment sum of squares)"))
    a2.set_title(_("Elbow: where adding segments stops paying"))
    a2.legend(fontsize=8)
    fig.tight_layout()
    return fig


def pca_scatter(coords: np.ndarray, labels: np.ndarray, names: pd.Series, explained: np.ndarray,
                seed: int = 42) -> plt.Figure:
    """Customers on the first two principal components, coloured by segment (a sample if many)."""
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(coords), MAX_POINTS, replace=False) if len(coords) > MAX_POINTS else np.arange(len(coords))
    fig, ax = plt.subplots(figsize=(8, 5.5))
    palette = sns.color_palette("tab10", len(names))
    for i, seg in enumerate(sorted(np.unique(labels))):
        m = rows[labels[rows] == seg]
        ax.scatter(coords[m, 0], coords[m, 1], s=6, alpha=0.5, color=palette[i % 10], label=names[seg])
    ax.set_xlabel(_("PC 1 ({share} of variance)").format(share=percent(explained[0], 0)))
    ax.set_ylabel(_("PC 2 ({share} of variance)").format(share=percent(explained[1], 0)))
    if len(rows) < len(coords):
        title = _("Segments on the first two principal components ({shown} of {total} customers)").format(
            shown=number(len(rows)), total=number(len(coords)))
    else:
        title = _("Segments on the first two principal components ({total} customers)").format(
            total=number(len(coords)))
    ax.set_title(title)
    ax.legend(markerscale=3, fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def centroid_heatmap(centroids: pd.DataFrame) -> plt.Figure:
    """Segment centroids in standard units: how far above (red) or below (blue) average each is."""
    fig, ax = plt.subplots(figsize=(12, 0.5 * len(centroids) + 2.2))
    cols = [measure_label(c) for c in centroids.columns]
    sns.heatmap(centroids, cmap="RdBu_r", center=0, vmin=-2.5, vmax=2.5, annot=True, fmt=".1f",
                xticklabels=cols, ax=ax, cbar_kws={"label": _("standard deviations from the mean")},
                annot_kws={"size": 7})
    ax.set_ylabel("")
    ax.grid(False)
    ax.set_title(_("What sets each segment apart (centroids, standardised)"))
    ax.tick_params(axis="x", rotation=60, labelsize=8)
    fig.tight_layout()
    return fig


def profile_bars(profile: pd.DataFrame, currency: str | None = None) -> plt.Figure:
    """Size, frequency, value and recency of each segment, side by side."""
    fig, axes = plt.subplots(1, 4, figsize=(13, 0.45 * len(profile) + 1.8), sharey=True)
    names = profile["segment_name"].astype(str)
    for ax, (col, label) in zip(axes, [("customers", _("customers")), ("frequency", _("orders (median)")),
                                       ("monetary", money_label(N_("median net spend"), currency)),
                                       ("recency_days", _("days since last order (median)"))]):
        ax.barh(names, profile[col], color="#6c8ebf")
        ax.set_xlabel(label)
        ax.invert_yaxis() if ax is axes[0] else None
    fig.suptitle(_("Segment profiles"), fontweight="bold")
    fig.tight_layout()
    return fig


def kdistance(kd: np.ndarray, eps: float, min_samples: int) -> plt.Figure:
    """Sorted distances to the min_samples-th neighbour, with the eps chosen at the knee."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    ax.plot(np.arange(len(kd)), kd, color="#6c8ebf")
    ax.axhline(eps, color="#d98c2b", ls="--", label=_("eps = {eps}").format(eps=f"{eps:.2f}"))
    ax.set_xlabel(_("points, sorted by distance"))
    ax.set_ylabel(_("distance to {n}th neighbour (standard units)").format(n=min_samples))
    ax.set_title(_("k-distance plot: eps sits where distances start to climb"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def migration_heatmap(matrix: pd.DataFrame) -> plt.Figure:
    """Customers moving between last month's and this month's segments (row shares, counts annotated)."""
    share = matrix.div(matrix.sum(axis=1).replace(0, np.nan), axis=0) * 100
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(matrix) + 2))
    sns.heatmap(share, annot=matrix, fmt=",d", cmap="Blues", vmin=0, vmax=100, ax=ax,
                cbar_kws={"label": _("% of the previous segment")}, annot_kws={"size": 8})
    ax.grid(False)
    ax.set_xlabel(_("segment this month"))
    ax.set_ylabel(_("segment last month"))
    ax.set_title(_("Segment migration since last month (counts; colour = % of the row)"))
    ax.tick_params(axis="x", rotation=30)
    fig.tight_layout()
    return fig


def skew_before_after(values: pd.Series, currency: str | None = None) -> plt.Figure:
    """A skewed amount before and after the log transform."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.2))
    v = values.clip(lower=0)
    a1.hist(v, bins=60, color="#6c8ebf")
    a1.set_xlabel(money_label(N_("net spend"), currency))
    a1.set_ylabel(_("customers"))
    a1.set_title(_("Raw: a long tail of big customers"))
    a2.hist(np.log1p(v), bins=60, color="#6c8ebf")
    a2.set_xlabel(_("log(1 + net spend)"))
    a2.set_title(_("Logged: the tail pulled in"))
    fig.tight_layout()
    return fig
