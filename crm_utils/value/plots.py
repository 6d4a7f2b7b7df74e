"""The customer-value notebook's charts: tracking, predicted against actual, P(alive) trade-off,
value by tier, segment and cohort. Each is skipped (None) when its table is None."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_utils.charts import skippable
from crm_utils.i18n import N_, _
from crm_utils.notebook import date, money_label

#: The groupings :func:`value_by_chart` names by key (notebook 04 passes the key); any other
#: ``what`` is shown through ``_()`` as given.
GROUPINGS = {"segment": N_("segment"), "cohort": N_("acquisition cohort (month of first purchase)")}
#: Another grouping's name a caller may pass as ``what`` (tiers: ``actions.tier_summary``).
OTHER_GROUPINGS = (N_("value tier"),)
#: Group labels the kit writes into the value tables (``actions.by_segment``, ``clv.VALUE_TIERS``).
GROUP_WORDS = (N_("(no segment)"), N_("top 10%"), N_("next 20%"), N_("middle 40%"), N_("bottom 30%"))
#: The methods of ``HoldoutEvaluation.errors`` (spend), shown through ``_()`` on the baseline chart.
METHOD_WORDS = (N_("model (BG/NBD + Gamma-Gamma)"), N_("last period"), N_("average spend x frequency"))


def _group_label(value: object, what: str) -> str:
    """A group of the value tables as shown: segment names through the report's
    ``segment_label``, the kit's own labels (GROUP_WORDS) translated, cohorts as they are."""
    from crm_utils.report.summary import segment_label

    text = str(value)
    if text in GROUP_WORDS:
        return _(text)
    return segment_label(text) if what == "segment" else text


@skippable
def tracking_chart(tracking: pd.DataFrame) -> plt.Figure:
    """Cumulative repeat purchases through the holdout: actual against the model's expectation."""
    calibration_end = tracking["date"].iloc[0] - pd.to_timedelta(tracking["day"].iloc[0], unit="D")
    fig, ax = plt.subplots()
    ax.plot(tracking["date"], tracking["actual"], color="black", label=_("actual"))
    ax.plot(tracking["date"], tracking["expected"], color="tab:blue", linestyle="--", label=_("expected (BG/NBD)"))
    ax.set_xlabel(_("date (holdout: after the calibration end {date})").format(date=date(calibration_end)))
    ax.set_ylabel(_("cumulative purchases (orders)"))
    ax.set_title(_("Tracking: purchases of the calibration customers in the holdout, actual and expected"))
    ax.legend()
    fig.autofmt_xdate()
    return fig


@skippable
def conditional_chart(table: pd.DataFrame) -> plt.Figure:
    """Mean holdout purchases by calibration repeat purchases, predicted against actual (FHL 2005)."""
    fig, ax = plt.subplots()
    x = np.arange(len(table))
    ax.plot(x, table["actual"], "o-", color="black", label=_("actual"))
    ax.plot(x, table["predicted"], "s--", color="tab:blue", label=_("predicted (BG/NBD)"))
    ax.set_xticks(x, table.index)
    ax.set_xlabel(_("repeat purchases in the calibration period"))
    ax.set_ylabel(_("mean purchases per customer in the holdout (orders)"))
    ax.set_title(_("Holdout purchases by calibration purchases: predicted against actual"))
    ax.legend()
    return fig


@skippable
def baseline_chart(errors: pd.DataFrame, currency: str | None) -> plt.Figure:
    """Mean absolute error per customer of the model and the naive baselines, for spend."""
    spend = errors[errors["measure"] == "spend"].reset_index(drop=True)
    fig, ax = plt.subplots()
    colors = ["tab:blue"] + ["tab:gray"] * (len(spend) - 1)
    methods = [_(m) if m in METHOD_WORDS else m for m in spend["method"]]
    ax.barh(methods, spend["mae"], color=colors)
    low = (spend["mae"] - (spend["mae_minus_model"] - spend["low"])).fillna(spend["mae"])
    high = (spend["mae"] + (spend["high"] - spend["mae_minus_model"])).fillna(spend["mae"])
    ax.errorbar(spend["mae"], methods, xerr=[spend["mae"] - low, high - spend["mae"]], fmt="none",
                color="black", capsize=3)
    ax.invert_yaxis()
    ax.set_xlabel(money_label(N_("mean absolute error of holdout spend per customer"), currency))
    ax.set_title(_("The model against naive baselines (bars: 95% bootstrap interval of the gap)"))
    return fig


@skippable
def tradeoff_chart(tradeoff: pd.DataFrame, chosen: float) -> plt.Figure:
    """Flagging P(alive) < threshold as lapsed: precision and recall on the holdout."""
    fig, ax = plt.subplots()
    ax.plot(tradeoff["threshold"], tradeoff["precision"] * 100, "o-", label=_("precision: flagged who did not buy"))
    ax.plot(tradeoff["threshold"], tradeoff["recall"] * 100, "s-", label=_("recall: non-buyers flagged"))
    ax.plot(tradeoff["threshold"], tradeoff["share_flagged"] * 100, "^:", color="gray",
            label=_("customers flagged"))
    ax.axvline(chosen, color="black", linewidth=0.8)
    ax.set_xlabel(_("P(alive) threshold (customers below it are flagged as lapsed)"))
    ax.set_ylabel(_("share (%)"))
    ax.set_title(_("The P(alive) threshold's trade-off, judged on the holdout"))
    ax.legend(fontsize=9)
    return fig


@skippable
def value_by_chart(table: pd.DataFrame, what: str, currency: str | None) -> plt.Figure:
    """Mean CLV per group (segment, tier or cohort); nothing when no CLV was estimated. ``what``
    names the grouping: a key of :data:`GROUPINGS` ('segment', 'cohort') or a label ('value tier')."""
    if table["clv_mean"].isna().all():
        return None
    fig, ax = plt.subplots()
    ax.bar([_group_label(g, what) for g in table.index], table["clv_mean"], color="tab:blue")
    name = _(GROUPINGS.get(what, what))
    ax.set_xlabel(name)
    ax.set_ylabel(money_label(N_("mean CLV per customer"), currency))
    ax.set_title(_("Customer lifetime value by {what}").format(what=name))
    if len(table) > 8:
        ax.tick_params(axis="x", rotation=90, labelsize=8)
    else:
        ax.tick_params(axis="x", rotation=20)
    return fig


@skippable
def value_distribution(value: pd.DataFrame, currency: str | None) -> plt.Figure:
    """CLV and P(alive) across customers."""
    if value["clv"].isna().all():
        return None
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 4))
    clv = value["clv"].to_numpy(float)
    a1.hist(np.log10(np.clip(clv, 1e-2, None)), bins=40, color="tab:blue")
    a1.set_xlabel(money_label(N_("CLV, log10"), currency))
    a1.set_ylabel(_("customers"))
    a1.set_title(_("CLV across customers"))
    a2.hist(value["p_alive"], bins=20, range=(0, 1), color="tab:green")
    a2.set_xlabel(_("P(alive) (0-1)"))
    a2.set_ylabel(_("customers"))
    a2.set_title(_("Probability of still being a customer"))
    return fig
