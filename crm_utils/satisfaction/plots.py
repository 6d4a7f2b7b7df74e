"""Charts of notebook 09 (satisfaction clustering): answers, NPS, cluster choice, profiles, drivers,
consequences. Every function returns the figure; call ``plots.use_style()`` first."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from crm_utils.charts import skippable
from crm_utils.i18n import N_, _
from crm_utils.notebook import number, percent
from crm_utils.report.summary import cluster_label, segment_label
from crm_utils.satisfaction.analysis import item_label

MISSING_COLOUR = "#c8c8c8"
#: The driver analysis's targets (``SurveyStudy.fitted_drivers``), named in the current language.
TARGET_WORDS = {"overall": N_("overall"), "nps": N_("nps")}


def _target(target: str) -> str:
    return _(TARGET_WORDS[target]) if target in TARGET_WORDS else target


def _labels(items) -> list[str]:
    return [item_label(i) for i in items]


@skippable
def item_distribution_chart(dist: pd.DataFrame, scales: pd.DataFrame) -> plt.Figure:
    """Share of responses giving each answer to each item, lowest answer left, missing in grey."""
    items = scales["item"].tolist()
    low, high = int(scales["low"].min()), int(scales["high"].max())
    answers = [str(a) for a in range(low, high + 1)]
    colours = sns.color_palette("RdYlGn", len(answers))
    wide = dist.pivot(index="item", columns="answer", values="share").reindex(items) * 100
    fig, ax = plt.subplots(figsize=(10, 0.55 * len(items) + 1.6))
    left = np.zeros(len(items))
    for a, colour in zip(answers + ["missing"], colours + [MISSING_COLOUR]):
        if a not in wide.columns:
            continue
        v = wide[a].fillna(0).to_numpy()
        ax.barh(_labels(items), v, left=left, color=colour, label=_("missing") if a == "missing" else a,
                edgecolor="white", linewidth=0.5)
        left += v
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel(_("share of responses (%)"))
    ax.set_title(_("Answers per item (scale {low}-{high}; grey: not answered)").format(low=low, high=high))
    ax.legend(title=_("answer"), ncol=min(len(answers) + 1, 12), fontsize=8, loc="upper center",
              bbox_to_anchor=(0.5, -0.25 if len(items) > 3 else -0.4), frameon=False)
    fig.tight_layout()
    return fig


@skippable
def nps_trend_chart(monthly: pd.DataFrame, overall: dict) -> plt.Figure:
    """Monthly NPS with its 95% interval, and the window's NPS as a band."""
    fig, ax = plt.subplots(figsize=(10, 3.8))
    x = monthly["month"].dt.to_timestamp() if hasattr(monthly["month"], "dt") else pd.to_datetime(
        monthly["month"].astype(str))
    ax.axhspan(overall["ci_low"], overall["ci_high"], color="#6c8ebf", alpha=0.15,
               label=_("whole window: {nps} ({low} to {high})").format(
                   nps=number(overall["nps"], 1), low=number(overall["ci_low"], 1), high=number(overall["ci_high"], 1)))
    ax.errorbar(x, monthly["nps"], yerr=[monthly["nps"] - monthly["ci_low"], monthly["ci_high"] - monthly["nps"]],
                fmt="o-", color="#2a4d7f", capsize=3, label=_("month, with 95% interval"))
    ax.axhline(0, color="black", linewidth=0.8)
    ax.set_ylabel(_("NPS (% promoters − % detractors)"))
    ax.set_xlabel(_("month of response"))
    ax.set_title(_("Net Promoter Score by month"))
    ax.legend(fontsize=8, loc="best")
    fig.tight_layout()
    return fig


def _score_panel(ax: plt.Axes, scores: pd.DataFrame, column: str, colour: str, xlabel: str, ylabel: str,
                 title: str) -> None:
    ax.plot(scores["k"], scores[column], "o-", color=colour)
    best = scores[scores["chosen"]]
    ax.plot(best["k"], best[column], "o", ms=12, mfc="none", mec="#d9534f", mew=2, label=_("chosen"))
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax.legend(fontsize=8)


@skippable
def selection_chart(clusters) -> plt.Figure:
    """Left: K-means silhouette by k (higher is better). Right: mixture BIC by k (lower is better).

    ``clusters`` is a fitted :class:`~crm_utils.satisfaction.analysis.SatisfactionClusters`."""
    kmeans_scores, gmm_scores = clusters.kmeans_scores_, clusters.gmm_scores_
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3.6))
    _score_panel(a1, kmeans_scores, "silhouette", "#2a4d7f", _("clusters k"), _("silhouette (sampled responses)"),
                 _("K-means: k by silhouette"))
    _score_panel(a2, gmm_scores, "bic", "#4c9a2a", _("mixture components k"), _("BIC (lower is better)"),
                 _("Gaussian mixture: k by BIC"))
    fig.tight_layout()
    return fig


#: Items a heatmap lays out across the page; a longer questionnaire (the airline survey's 14) is
#: turned to run down it, where fourteen labels stay readable without a page-wide figure.
ITEMS_ACROSS = 8


@skippable
def profile_heatmap(clusters, scales: pd.DataFrame) -> plt.Figure:
    """Mean answer per cluster and item; colour by position on the scale (red low, green high)."""
    profile, positions, names, items = clusters.profile_, clusters.positions_, clusters.names_, clusters.items_
    scale_text = f"{scales['low'].min()}-{scales['high'].max()}"
    rows = [cluster_label(names[c]) + "\n" + _("({share} of responses)").format(
        share=percent(profile.loc[c, "share"], 0)) for c in profile.index]
    cells, answers = positions[items].set_axis(rows), profile[items].set_axis(rows)
    across = len(items) <= ITEMS_ACROSS
    if not across:  # a long questionnaire reads down the page: items as rows, clusters as columns
        cells, answers = cells.T, answers.T
    size = ((1.6 * len(items) + 3.5, 0.75 * len(profile) + 1.6) if across
            else (2.2 * len(profile) + 5.5, 0.42 * len(items) + 1.8))
    fig, ax = plt.subplots(figsize=size)
    labels = {"xticklabels": _labels(items)} if across else {"yticklabels": _labels(items)}
    sns.heatmap(cells, vmin=0, vmax=1, cmap="RdYlGn", annot=answers.to_numpy(), fmt=".1f", linewidths=0.5, ax=ax,
                cbar_kws={"label": _("position on the scale (0 lowest, 1 highest)")}, **labels)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(_("Mean answer per item and cluster (scale {scale})").format(scale=scale_text))
    ax.tick_params(axis="x", rotation=20 if across else 0)
    fig.tight_layout()
    return fig


@skippable
def profile_small_multiples(clusters, scales: pd.DataFrame) -> plt.Figure:
    """One panel per cluster: its mean answer per item, with all responses' mean as a tick."""
    profile, names, items, overall = clusters.profile_, clusters.names_, clusters.items_, clusters.item_means_
    low, high = scales["low"].min(), scales["high"].max()
    n = len(profile)
    cols = min(math.ceil(math.sqrt(n)), 3)
    rows = math.ceil(n / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 0.45 * len(items) * rows + 1.4 * rows),
                             sharex=True, sharey=True, squeeze=False)
    y = np.arange(len(items))
    for ax, cid in zip(axes.ravel(), profile.index):
        v = profile.loc[cid, items].astype(float).to_numpy()
        colours = sns.color_palette("RdYlGn", as_cmap=True)((v - low) / (high - low))
        ax.barh(y, v - low, left=low, color=colours)
        ax.plot(overall[items].to_numpy(), y, "|", color="black", ms=14, mew=2, label=_("all responses"))
        ax.set_yticks(y, _labels(items))
        ax.set_xlim(low, high)
        ax.set_title(f"{cluster_label(names[cid])} ({percent(profile.loc[cid, 'share'], 0)})", fontsize=10)
        ax.set_xlabel(_("mean answer ({low}-{high})").format(low=f"{low:g}", high=f"{high:g}"))
    axes[0, 0].invert_yaxis()  # once: the panels share it; first item on top, as in the heat map
    for ax in axes.ravel()[n:]:
        ax.axis("off")
    fig.suptitle(_("Each cluster's profile against all responses (black tick)"), fontweight="bold")
    fig.tight_layout()
    return fig


@skippable
def drivers_chart(drivers) -> plt.Figure:
    """Standardised coefficients (95% interval) beside permutation importance (± sd over repeats)."""
    t = drivers.table.iloc[::-1]
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 0.5 * len(t) + 1.8), sharey=True)
    y = np.arange(len(t))
    a1.barh(y, t["std_coef"], color="#6c8ebf",
            xerr=[t["std_coef"] - t["coef_low"], t["coef_high"] - t["std_coef"]], capsize=3)
    a1.set_yticks(y, _labels(t["item"]))
    a1.axvline(0, color="black", linewidth=0.8)
    a1.set_xlabel(_("standard deviations of {target} per SD of the item").format(target=_target(drivers.target)))
    a1.set_title(_("Standardised coefficient (linear, R² {r2})").format(r2=number(drivers.r2_linear, 2)), fontsize=10)
    a2.barh(y, t["perm_importance"], xerr=t["perm_sd"], color="#4c9a2a", capsize=3)
    a2.set_xlabel(_("drop in held-out R² when the item is shuffled"))
    a2.set_title(_("Permutation importance (boosted trees, held-out R² {r2})").format(
        r2=number(drivers.r2_model_test, 2)), fontsize=10)
    fig.suptitle(_("What moves {target}: two views").format(target=_target(drivers.target)), fontweight="bold")
    fig.tight_layout()
    return fig


@skippable
def outcomes_chart(outcomes: pd.DataFrame, repurchase_days: int, churn_days: int) -> plt.Figure:
    """Repurchase and churn rate per cluster with 95% Wilson intervals; the dashed line is all responses."""
    per = outcomes.dropna(subset=["cluster_id"]).iloc[::-1]
    total = outcomes[outcomes["cluster_id"].isna()].iloc[0]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.55 * len(per) + 1.8), sharey=True)
    y = np.arange(len(per))
    for ax, key, colour, title in (
            (axes[0], "repurchase", "#4c9a2a", _("Repurchase within {days} days").format(days=number(repurchase_days))),
            (axes[1], "churn", "#d9534f",
             _("Churned: no purchase in the last {days} days").format(days=number(churn_days)))):
        rate = per[f"{key}_rate"] * 100
        ax.barh(y, rate, color=colour, alpha=0.8,
                xerr=[rate - per[f"{key}_low"] * 100, per[f"{key}_high"] * 100 - rate], capsize=3)
        ax.axvline(total[f"{key}_rate"] * 100, color="black", linestyle="--", linewidth=1,
                   label=_("all clustered responses"))
        for yi, (r, n) in enumerate(zip(rate, per[f"{key}_measurable"])):
            ax.text(0.5, yi, f"n={number(n)}", va="center", fontsize=7, color="white")
        ax.set_xlabel(_("share of measurable responses (%)"))
        ax.set_title(title, fontsize=10)
    axes[0].set_yticks(y, [cluster_label(n) for n in per["cluster_name"]])
    axes[1].legend(fontsize=8, loc="lower right")
    fig.suptitle(_("What each satisfaction cluster does next"), fontweight="bold")
    fig.tight_layout()
    return fig


@skippable
def crosstab_chart(shares: pd.DataFrame) -> plt.Figure:
    """Within each customer segment, the share of its customers in each satisfaction cluster."""
    fig, ax = plt.subplots(figsize=(1.4 * shares.shape[1] + 4, 0.6 * shares.shape[0] + 1.8))
    shown = (shares * 100).rename(index=cluster_label, columns=segment_label)
    sns.heatmap(shown, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, linewidths=0.5, ax=ax,
                cbar_kws={"label": _("% of the segment's customers")})
    ax.set_xlabel(_("customer segment (notebook 03)"))
    ax.set_ylabel("")
    ax.set_title(_("How each segment feels: satisfaction clusters within segments"))
    ax.tick_params(axis="x", rotation=20)
    fig.tight_layout()
    return fig
