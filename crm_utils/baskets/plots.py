"""Charts of notebook 06 (market baskets): the rules as a lift matrix, and support against confidence.
Every function returns the figure (None when there are no rules to draw)."""

from __future__ import annotations

import matplotlib.pyplot as plt
import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
import seaborn as sns

from crm_utils.baskets.study import rule_text
from crm_utils.charts import skippable
from crm_utils.i18n import N_, _
from crm_utils.notebook import number

#: The levels rules are mined at (``BasketStudy``), shown through ``_()``.
LEVEL_WORDS = {"product": N_("product"), "category": N_("category")}


def _level(level: str) -> str:
    return _(LEVEL_WORDS[level]) if level in LEVEL_WORDS else level


@skippable
def lift_matrix(rules: pd.DataFrame, top: int = 10) -> plt.Figure:
    """Left side (rows) against right side (columns) of the ``top`` strongest rules of one level
    (``BasketStudy.level_rules``), coloured by lift; empty cells are pairs no kept rule links."""
    level = _level(rules["level"].iloc[0])
    rules = rules.head(top)
    frame = pd.DataFrame({"if": rules["antecedents"].map(rule_text), "then": rules["consequents"].map(rule_text),
                          "lift": rules["lift"].astype(float)})
    wide = frame.pivot_table(index="if", columns="then", values="lift", aggfunc="max")
    fig, ax = plt.subplots(figsize=(1.1 * wide.shape[1] + 4, 0.5 * wide.shape[0] + 2.5))
    sns.heatmap(wide, annot=True, fmt=".1f", cmap="YlOrRd", vmin=1, linewidths=0.5, linecolor="white",
                cbar_kws={"label": _("lift (times the chance rate)")}, ax=ax)
    ax.set_title(_("Strongest {level} rules: how many times more often the right side is bought with the left")
                 .format(level=level))
    ax.set_xlabel(_("then the basket also holds ({level})").format(level=level))
    ax.set_ylabel(_("if the basket holds ({level})").format(level=level))
    ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    return fig


@skippable
def support_confidence_chart(rules: pd.DataFrame) -> plt.Figure:
    """Every kept rule of one level as a point: support (how common) against confidence (how
    reliable), sized by the baskets holding it and coloured by lift."""
    level = _level(rules["level"].iloc[0])
    fig, ax = plt.subplots(figsize=(8, 5))
    n = rules["n_baskets"].astype(float).to_numpy()
    points = ax.scatter(rules["support"] * 100, rules["confidence"] * 100, c=rules["lift"].astype(float),
                        s=20 + 180 * np.sqrt(n / n.max()), cmap="viridis", alpha=0.8, edgecolor="white")
    fig.colorbar(points, ax=ax, label=_("lift (times the chance rate)"))
    ax.set_xscale("log")
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _: f"{v:g}%"))
    ax.set_xlabel(_("support (% of all baskets, log scale)"))
    ax.set_ylabel(_("confidence (% of baskets with the left side)"))
    ax.set_title(_("{count} {level} rules that beat chance: common against reliable (size: baskets)").format(
        count=number(len(rules)), level=level))
    fig.tight_layout()
    return fig
