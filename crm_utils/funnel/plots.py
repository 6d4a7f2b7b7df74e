"""Charts of notebook 10 (sales funnel): stage conversion by source, the cohort curves, the
scorers compared. Every function returns the figure (None when it has nothing to draw)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.metrics import roc_curve

from crm_utils.charts import skippable
from crm_utils.funnel.analysis import COHORT_HORIZONS
from crm_utils.i18n import N_, _
from crm_utils.notebook import number

#: The funnel's stages (``data.schema.LEAD_STAGES``), shown through ``_()``.
STAGE_WORDS = (N_("created"), N_("contacted"), N_("qualified"), N_("proposal"), N_("won"))


@skippable
def stage_rates_chart(by_source: pd.DataFrame) -> plt.Figure:
    """Conversion into each stage per source, with 95% Wilson intervals."""
    stages = list(dict.fromkeys(by_source["stage"]))
    sources = sorted(by_source["source"].unique())
    fig, ax = plt.subplots(figsize=(10, 4.2))
    width = 0.8 / max(len(sources), 1)
    x = np.arange(len(stages))
    for i, src in enumerate(sources):
        part = by_source[by_source["source"] == src].set_index("stage").reindex(stages)
        rate = part["rate"].to_numpy(dtype=float) * 100
        err = np.vstack([rate - part["ci_low"].to_numpy(dtype=float) * 100,
                         part["ci_high"].to_numpy(dtype=float) * 100 - rate])
        ax.bar(x + (i - (len(sources) - 1) / 2) * width, rate, width, yerr=err, capsize=2, label=src)
    ax.set_xticks(x, [_("into {stage}").format(stage=_(s) if s in STAGE_WORDS else s) for s in stages])
    ax.set_ylim(0, 100)
    ax.set_ylabel(_("moved on, of the leads decided at the stage before (%)"))
    ax.set_title(_("Conversion at each stage by source (95% Wilson intervals)"))
    ax.legend(title=_("source"), fontsize=8, ncol=min(len(sources), 5), loc="upper center",
              bbox_to_anchor=(0.5, -0.12), frameon=False)
    fig.tight_layout()
    return fig


@skippable
def cohort_chart(cohorts: pd.DataFrame | None) -> plt.Figure | None:
    """Share of each month's leads won within 30, 60, 90, 180 days of coming in."""
    if cohorts is None or cohorts.empty:
        return None
    fig, ax = plt.subplots(figsize=(10, 3.8))
    x = pd.PeriodIndex(cohorts["month"], freq="M").to_timestamp()
    for h in COHORT_HORIZONS:
        ax.plot(x, cohorts[f"won_{h}d"] * 100, marker="o", markersize=3,
                label=_("within {days} days").format(days=number(h)))
    ax.set_ylabel(_("leads of the month won (%)"))
    ax.set_xlabel(_("month the leads came in"))
    ax.set_title(_("Cohorts: of the leads created in a month, how many were won by when"))
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


@skippable
def scorers_chart(scores: pd.DataFrame) -> plt.Figure:
    """ROC curves of the model and the by-source baseline on the test leads."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for col, label in (("model", _("model (boosted trees)")), ("baseline", _("won rate by source"))):
        fpr, tpr, _thresholds = roc_curve(scores["won"], scores[col])
        ax.plot(fpr * 100, tpr * 100, label=label)
    ax.plot([0, 100], [0, 100], color="grey", linestyle=":", label=_("chance"))
    ax.set_xlabel(_("lost leads scored above the cut (%)"))
    ax.set_ylabel(_("won leads scored above the cut (%)"))
    ax.set_title(_("Lead scoring on the test leads: ROC curves"))
    ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig
