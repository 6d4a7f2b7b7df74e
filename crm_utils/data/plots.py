"""Charts of the data stage (notebook 01, cleaning): the ledger, outliers and rows per month."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from crm_utils.data import reasons
from crm_utils.i18n import N_, _
from crm_utils.safe import chart_text

OUTCOME_COLOURS = {"kept": "#4c9a2a", "merged": "#6c8ebf", "held_back": "#b0b0b0", "quarantined": "#d9534f"}
#: What happened to the rows not kept, as the legend says it (the ledger's codes stay English).
OUTCOME_LABELS = {"kept": N_("kept"), "merged": N_("merged"), "held_back": N_("held back"),
                  "quarantined": N_("quarantined")}


def table_label(table: str) -> str:
    """A table's name in the current language (a table the contract does not name, as written)."""
    return chart_text(reasons.table_label(table))


def reason_label(table: str, reason: str) -> str:
    """'orders: invalid price' in the current language; a reason of the user's own rule as written."""
    return chart_text(reasons.quarantine_label(f"{table}.{reason}"))


def nothing_to_draw(title: str, why: str, figsize: tuple[float, float] = (10, 3.2)) -> plt.Figure:
    """A chart that says, under its usual title, why there is nothing to draw: a month where every
    line was quarantined or held back must reach the ledger that explains it, not crash on a chart."""
    fig, ax = plt.subplots(figsize=figsize)
    ax.set_axis_off()
    ax.set_title(title)
    ax.text(0.5, 0.5, why, ha="center", va="center", fontsize=11, color="#555555", transform=ax.transAxes)
    fig.tight_layout()
    return fig


def ledger_chart(ledger: pd.DataFrame, by_reason: pd.DataFrame) -> plt.Figure:
    """Left: rows not kept per table, by outcome (% of rows read). Right: quarantined rows by reason."""
    if ledger.empty or not ledger["rows_in"].gt(0).any():
        return nothing_to_draw(_("Rows not kept, by what happened to them"), _("No rows were read: nothing to draw."),
                               figsize=(12, 4))
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(12, 4), gridspec_kw={"width_ratios": [1, 1.3]})
    # Kept rows are ~99% everywhere; the interesting part is the rest, so that is what is drawn.
    outcomes = ["merged", "held_back", "quarantined"]
    led = ledger.set_index("table")
    share = led[outcomes].div(led["rows_in"].where(led["rows_in"] > 0), axis=0).fillna(0) * 100
    left = np.zeros(len(share))
    for o in outcomes:
        ax1.barh([table_label(t) for t in share.index], share[o], left=left, color=OUTCOME_COLOURS[o],
                 label=_(OUTCOME_LABELS[o]))
        left += share[o].to_numpy()
    for i, total in enumerate(left):
        ax1.text(total, i, f" {total:.2f}%", va="center", fontsize=8)
    ax1.set_xlim(0, max(left.max() * 1.25, 1))
    ax1.set_xlabel(_("rows not kept (% of rows read)"))
    ax1.set_title(_("Rows not kept, by what happened to them"))
    ax1.legend(loc="lower right", fontsize=8)
    if len(by_reason):
        lab = [reason_label(t, r) for t, r in zip(by_reason["table"], by_reason["reason"])]
        order = by_reason.assign(label=lab).sort_values("rows")
        ax2.barh(order["label"], order["rows"], color=OUTCOME_COLOURS["quarantined"])
        ax2.set_xscale("log")
        for y, v in enumerate(order["rows"]):
            ax2.text(v, y, f" {v:,}", va="center", fontsize=8)
    ax2.set_xlabel(_("rows quarantined (log scale)"))
    ax2.set_title(_("Quarantined rows by reason"))
    fig.tight_layout()
    return fig


#: Flagged lines drawn per category at most (a seeded sample beyond): the fence, not every point, is the message.
MAX_FLAGGED_POINTS = 500


def outlier_chart(orders: pd.DataFrame, fences: pd.DataFrame, seed: int = 42) -> plt.Figure:
    """Units per order line by category on a log scale, with each category's outlier fence.

    The boxes are drawn from per-category counts of each quantity (exact quartiles and whiskers
    without handing tens of millions of lines to the plotting library); flagged lines are drawn
    as points, a sample of ``MAX_FLAGGED_POINTS`` per category where there are more. Without
    order lines (all quarantined or held back) the chart says so instead.
    """
    if orders.empty or fences.empty:
        return nothing_to_draw(_("Bulk order lines stand far above each category's fence"),
                               _("No order lines are left after cleaning: nothing to draw."), figsize=(10, 4.5))
    fig, ax = plt.subplots(figsize=(10, 4.5))
    cats = fences.sort_values("category")["category"].astype(str).tolist()
    units = orders["quantity"].abs().to_numpy(dtype=float)
    code, names = pd.factorize(orders["category"])
    names = pd.Index([str(c) for c in names])
    flagged = orders["is_outlier"].to_numpy(dtype=bool)
    counts = pd.DataFrame({"c": code[~flagged], "u": units[~flagged]}).groupby(["c", "u"]).size()
    present = set(counts.index.get_level_values(0))
    stats = [_box_stats(counts.xs(names.get_loc(c), level=0)) if c in names and names.get_loc(c) in present
             else None for c in cats]
    drawn = [i for i, st in enumerate(stats) if st is not None]
    ax.bxp([stats[i] for i in drawn], positions=drawn, showfliers=False, patch_artist=True, widths=0.6,
           boxprops={"facecolor": "#dfe9f5", "edgecolor": "#555555"}, medianprops={"color": "#555555"},
           whiskerprops={"color": "#555555"}, capprops={"color": "#555555"})
    points = pd.DataFrame({"category": names[code[flagged]], "units": units[flagged]})
    sampled = bool((points["category"].value_counts() > MAX_FLAGGED_POINTS).any())
    if sampled:
        shuffled = points.iloc[np.random.default_rng(seed).permutation(len(points))]
        points = shuffled[shuffled.groupby("category").cumcount() < MAX_FLAGGED_POINTS].sort_index()
    sns.stripplot(data=points, x="category", y="units", order=cats, color="#d9534f", size=3, ax=ax,
                  label=_("flagged (sample of {count} per category)").format(count=MAX_FLAGGED_POINTS) if sampled
                  else _("flagged"))
    ax.scatter(range(len(cats)), fences.set_index("category").loc[cats, "fence_units"], marker="_",
               s=600, color="black", label=_("fence"), zorder=5)
    ax.set_yscale("log")
    ax.set_xticks(range(len(cats)), [chart_text(c) for c in cats])  # category names are data
    ax.set_xlabel("")
    ax.set_ylabel(_("units per order line (log scale)"))
    ax.set_title(_("Bulk order lines stand far above each category's fence"))
    ax.tick_params(axis="x", rotation=30)
    handles, labels = ax.get_legend_handles_labels()
    uniq = dict(zip(labels, handles))
    ax.legend(uniq.values(), uniq.keys(), loc="upper right")
    fig.tight_layout()
    return fig


def _box_stats(counts: pd.Series) -> dict:
    """Box-plot statistics (quartiles by linear interpolation, whiskers at 1.5 IQR, as matplotlib's
    ``boxplot_stats``) of the values in ``counts.index`` repeated ``counts`` times."""
    values = counts.index.to_numpy(dtype=float)
    order = np.argsort(values)
    values, weights = values[order], counts.to_numpy()[order]
    upto = np.cumsum(weights)
    n = int(upto[-1])

    def at(rank: int) -> float:  # the rank-th smallest value (0-based)
        return float(values[np.searchsorted(upto, rank + 1)])

    def percentile(q: float) -> float:
        pos = q * (n - 1)
        lo, frac = int(np.floor(pos)), pos - np.floor(pos)
        return at(lo) + frac * (at(min(lo + 1, n - 1)) - at(lo))

    q1, med, q3 = percentile(0.25), percentile(0.5), percentile(0.75)
    iqr = q3 - q1
    low = values[values >= q1 - 1.5 * iqr]
    high = values[values <= q3 + 1.5 * iqr]
    return {"med": med, "q1": q1, "q3": q3, "whislo": float(low.min()) if len(low) else q1,
            "whishi": float(high.max()) if len(high) else q3, "fliers": [], "label": ""}


#: Width of a month's bar in days: most of a month, with a gap between neighbours.
BAR_DAYS = 25


def monthly_rows_chart(orders: pd.DataFrame) -> plt.Figure:
    """Kept order lines per month: a sudden dip or jump points at an export problem."""
    if orders.empty:
        return nothing_to_draw(_("Kept order lines per month"),
                               _("No order lines are left after cleaning: nothing to draw."))
    fig, ax = plt.subplots(figsize=(10, 3.2))
    months, lines = np.unique(orders["order_date"].to_numpy(dtype="datetime64[ns]").astype("datetime64[M]"),
                              return_counts=True)
    # The width is a duration: a plain 25 on a datetime64[ns] axis is 25 nanoseconds, bars too
    # thin to draw (matplotlib adds the width to the dates in their own unit).
    ax.bar(months.astype("datetime64[ns]"), lines, width=np.timedelta64(BAR_DAYS, "D"), color="#6c8ebf")
    ax.set_ylabel(_("order lines"))
    ax.set_title(_("Kept order lines per month"))
    fig.tight_layout()
    return fig
