"""Charts of notebook 07, contact effectiveness and the campaign plan."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_utils.charts import skippable
from crm_utils.i18n import N_, _
from crm_utils.notebook import money_label
from crm_utils.safe import chart_text

SOURCE_COLOURS = {"measured": "#2b6cb0", "assumed": "#d98c2b"}
#: The uplift sources (``plan.MEASURED``, ``plan.ASSUMED``), shown through ``_()`` in the legend.
SOURCE_WORDS = {"measured": N_("measured"), "assumed": N_("assumed")}
#: The kit's default channels (notebook 07's parameters) and the campaign's total row, translated
#: where shown; a channel the shop names otherwise is shown as it is named.
CHANNEL_WORDS = (N_("email"), N_("sms"), N_("phone"), N_("direct mail"), N_("visit"), N_("all"))
#: The outlook's rows (``plan.outlook``).
OUTLOOK_WORDS = (N_("optimised plan"), N_("contact nobody"), N_("contact everyone"))


def _channel(name: object) -> str:
    """A channel as a chart shows it: the kit's channel words (CHANNEL_WORDS, underscores read as
    spaces) in the current language, any other name as the data write it."""
    text = str(name)
    spaced = text.replace("_", " ")
    shown = _(spaced) if spaced in CHANNEL_WORDS else spaced
    return chart_text(shown if shown != spaced else text)  # untranslated: as named ('direct_mail')


def _segment(name: object) -> str:
    """A segment's name in the current language (the report's ``segment_label``)."""
    from crm_utils.report.summary import segment_label

    return chart_text(segment_label(str(name)))
CHANNEL_COLOURS = ["#2b6cb0", "#4c9a2a", "#d98c2b", "#9467bd", "#8c564b", "#7f7f7f"]


@skippable
def uplift_chart(uplifts: pd.DataFrame) -> plt.Figure:
    """The uplift each channel is planned with, with its interval: measured (blue) or assumed (orange)."""
    fig, ax = plt.subplots(figsize=(8, 0.5 * len(uplifts) + 1.6))
    y = np.arange(len(uplifts))
    for i, (name, r) in enumerate(uplifts.iterrows()):
        colour = SOURCE_COLOURS[r.source]
        ax.errorbar(r.uplift * 100, i, xerr=[[(r.uplift - r.ci_low) * 100], [(r.ci_high - r.uplift) * 100]],
                    fmt="o", color=colour, capsize=4, label=_(SOURCE_WORDS.get(r.source, r.source)))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [_channel(n) for n in uplifts.index])
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    ax.legend(unique.values(), unique.keys(), loc="lower right")
    ax.set_xlabel(_("added purchase probability per contact (percentage points, 95% interval or assumed range)"))
    ax.set_title(_("What a contact adds, by channel: measured where the log holds it, assumed elsewhere"))
    fig.tight_layout()
    return fig


@skippable
def plan_chart(by_segment: pd.DataFrame) -> plt.Figure:
    """Customers to contact per segment, stacked by channel (nothing drawn for a plan that contacts nobody)."""
    if not by_segment.to_numpy().sum():
        return None
    fig, ax = plt.subplots(figsize=(9, 0.5 * len(by_segment) + 1.8))
    left = np.zeros(len(by_segment))
    for i, ch in enumerate(by_segment.columns):
        ax.barh([_segment(s) for s in by_segment.index], by_segment[ch], left=left,
                color=CHANNEL_COLOURS[i % len(CHANNEL_COLOURS)], label=_channel(str(ch).replace("_", " ")))
        left += by_segment[ch].to_numpy(float)
    ax.set_xlabel(_("customers to contact next month"))
    ax.set_title(_("The plan: whom to contact on which channel"))
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


@skippable
def outlook_chart(outlook: pd.DataFrame, currency: str | None) -> plt.Figure:
    """Incremental margin of the plan, of contacting nobody and of contacting everyone, with the
    range from every channel's uplift at its low to its high end."""
    fig, ax = plt.subplots(figsize=(8, 3.2))
    mid = outlook["incremental_margin_expected"].to_numpy(float)
    err = [mid - outlook["incremental_margin_low"].to_numpy(float),
           outlook["incremental_margin_high"].to_numpy(float) - mid]
    ax.barh([_(r) if r in OUTLOOK_WORDS else chart_text(r) for r in outlook.index], mid, xerr=err, capsize=5,
            color=["#2b6cb0", "#b0b0b0", "#d98c2b"][:len(outlook)])
    ax.axvline(0, color="black", lw=0.8)
    ax.invert_yaxis()
    ax.set_xlabel(money_label(N_("incremental margin after contact costs"), currency))
    ax.set_title(_("Next month's campaign: added margin, with the range of the uplifts"))
    fig.tight_layout()
    return fig


@skippable
def budget_curve_chart(curve: pd.DataFrame, budget: float, currency: str | None) -> plt.Figure:
    """Incremental margin of the best plan at each budget: its slope is the budget's shadow price."""
    fig, ax = plt.subplots(figsize=(8, 3.6))
    ax.plot(curve["budget"], curve["incremental_margin"], marker="o", color="#2b6cb0")
    ax.axvline(budget, color="#d98c2b", ls="--", label=_("this month's budget"))
    ax.set_xlabel(money_label(N_("campaign budget"), currency))
    ax.set_ylabel(money_label(N_("incremental margin"), currency))
    ax.set_title(_("What more budget buys: the slope is the shadow price, flat where budget no longer limits"))
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig


@skippable
def verdict_chart(table: pd.DataFrame) -> plt.Figure:
    """Last month's purchase rate of contacted and held-out customers, per channel and overall."""
    fig, ax = plt.subplots(figsize=(8, 3.4))
    x = np.arange(len(table))
    ax.bar(x - 0.2, table["treated_rate"].astype(float) * 100, 0.4, label=_("contacted"), color="#2b6cb0")
    ax.bar(x + 0.2, table["control_rate"].astype(float) * 100, 0.4, label=_("held out"), color="#b0b0b0")
    ax.set_xticks(x, [_channel(a) for a in table.index])
    ax.set_ylabel(_("bought in the window (%)"))
    ax.set_title(_("Last month's campaign: contacted against held-out customers"))
    ax.legend()
    fig.tight_layout()
    return fig


@skippable
def effects_chart(effects: pd.DataFrame) -> plt.Figure | None:
    """Per channel: the naive contacted-minus-not difference (grey) against the weighted effect with
    its interval (blue). Nothing is drawn when no channel was measured."""
    rows = effects[(effects["topic"].astype(str) == "all") & effects["effect"].notna()] if len(effects) else effects
    if not len(rows):
        return None
    fig, ax = plt.subplots(figsize=(8, 0.55 * len(rows) + 1.6))
    y = np.arange(len(rows))
    ax.scatter(rows["naive"] * 100, y + 0.12, color="#b0b0b0", label=_("naive difference"), zorder=3)
    eff = rows["effect"].to_numpy(float) * 100
    ax.errorbar(eff, y - 0.12, xerr=[eff - rows["ci_low"].to_numpy(float) * 100,
                                     rows["ci_high"].to_numpy(float) * 100 - eff],
                fmt="o", color="#2b6cb0", capsize=4, label=_("effect (weighted comparison, 95% interval)"))
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, [_channel(c) for c in rows["channel"]])
    ax.set_xlabel(_("purchase within the window: contacted minus comparison (percentage points)"))
    ax.set_title(_("What contacts did: the naive difference against the effect"))
    ax.legend(loc="lower right")
    fig.tight_layout()
    return fig
