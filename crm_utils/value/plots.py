"""The customer-value notebook's charts: tracking, predicted against actual, P(alive) trade-off,
value by tier, segment and cohort. Each is skipped (None) when its table is None."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from crm_utils.charts import skippable
from crm_utils.notebook import money_label


@skippable
def tracking_chart(tracking: pd.DataFrame) -> plt.Figure:
    """Cumulative repeat purchases through the holdout: actual against the model's expectation."""
    calibration_end = tracking["date"].iloc[0] - pd.to_timedelta(tracking["day"].iloc[0], unit="D")
    fig, ax = plt.subplots()
    ax.plot(tracking["date"], tracking["actual"], color="black", label="actual")
    ax.plot(tracking["date"], tracking["expected"], color="tab:blue", linestyle="--", label="expected (BG/NBD)")
    ax.set_xlabel(f"date (holdout: after the calibration end {pd.Timestamp(calibration_end):%Y-%m-%d})")
    ax.set_ylabel("cumulative purchases (orders)")
    ax.set_title("Tracking: purchases of the calibration customers in the holdout, actual and expected")
    ax.legend()
    fig.autofmt_xdate()
    return fig


@skippable
def conditional_chart(table: pd.DataFrame) -> plt.Figure:
    """Mean holdout purchases by calibration repeat purchases, predicted against actual (FHL 2005)."""
    fig, ax = plt.subplots()
    x = np.arange(len(table))
    ax.plot(x, table["actual"], "o-", color="black", label="actual")
    ax.plot(x, table["predicted"], "s--", color="tab:blue", label="predicted (BG/NBD)")
    ax.set_xticks(x, table.index)
    ax.set_xlabel("repeat purchases in the calibration period")
    ax.set_ylabel("mean purchases per customer in the holdout (orders)")
    ax.set_title("Holdout purchases by calibration purchases: predicted against actual")
    ax.legend()
    return fig


@skippable
def baseline_chart(errors: pd.DataFrame, currency: str | None) -> plt.Figure:
    """Mean absolute error per customer of the model and the naive baselines, for spend."""
    spend = errors[errors["measure"] == "spend"].reset_index(drop=True)
    fig, ax = plt.subplots()
    colors = ["tab:blue"] + ["tab:gray"] * (len(spend) - 1)
    ax.barh(spend["method"], spend["mae"], color=colors)
    low = (spend["mae"] - (spend["mae_minus_model"] - spend["low"])).fillna(spend["mae"])
    high = (spend["mae"] + (spend["high"] - spend["mae_minus_model"])).fillna(spend["mae"])
    ax.errorbar(spend["mae"], spend["method"], xerr=[spend["mae"] - low, high - spend["mae"]], fmt="none",
                color="black", capsize=3)
    ax.invert_yaxis()
    ax.set_xlabel(money_label("mean absolute error of holdout spend per customer", currency))
    ax.set_title("The model against naive baselines (bars: 95% bootstrap interval of the gap)")
    return fig


@skippable
def tradeoff_chart(tradeoff: pd.DataFrame, chosen: float) -> plt.Figure:
    """Flagging P(alive) < threshold as lapsed: precision and recall on the holdout."""
    fig, ax = plt.subplots()
    ax.plot(tradeoff["threshold"], tradeoff["precision"] * 100, "o-", label="precision: flagged who did not buy")
    ax.plot(tradeoff["threshold"], tradeoff["recall"] * 100, "s-", label="recall: non-buyers flagged")
    ax.plot(tradeoff["threshold"], tradeoff["share_flagged"] * 100, "^:", color="gray", label="customers flagged")
    ax.axvline(chosen, color="black", linewidth=0.8)
    ax.set_xlabel("P(alive) threshold (customers below it are flagged as lapsed)")
    ax.set_ylabel("share (%)")
    ax.set_title("The P(alive) threshold's trade-off, judged on the holdout")
    ax.legend(fontsize=9)
    return fig


@skippable
def value_by_chart(table: pd.DataFrame, what: str, currency: str | None) -> plt.Figure:
    """Mean CLV per group (segment, tier or cohort); nothing when no CLV was estimated."""
    if table["clv_mean"].isna().all():
        return None
    fig, ax = plt.subplots()
    ax.bar(table.index.astype(str), table["clv_mean"], color="tab:blue")
    ax.set_xlabel(what)
    ax.set_ylabel(money_label("mean CLV per customer", currency))
    ax.set_title(f"Customer lifetime value by {what}")
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
    a1.set_xlabel(money_label("CLV, log10", currency))
    a1.set_ylabel("customers")
    a1.set_title("CLV across customers")
    a2.hist(value["p_alive"], bins=20, range=(0, 1), color="tab:green")
    a2.set_xlabel("P(alive) (0-1)")
    a2.set_ylabel("customers")
    a2.set_title("Probability of still being a customer")
    return fig
