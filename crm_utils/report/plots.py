"""Charts of notebook 07, the monthly report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from crm_utils.demand.plots import forecast_chart


def forecast_overview(history: pd.DataFrame, forecast: pd.DataFrame, top: int = 3) -> plt.Figure:
    """Units per week: the total and the largest categories, history and forecast with 80% intervals.

    ``history`` is the weekly demand notebook 05 forecast from (its ``demand_history`` artifact).
    """
    units = forecast[forecast["measure"] == "units"] if "measure" in forecast.columns else forecast
    cats = (history[history["level"] == "category"].groupby("series")["y"].sum().nlargest(top).index.tolist())
    names = [n for n in ["total", *cats] if n in set(units["series"])]
    return forecast_chart(history, units, names, history_periods=52)


def forecast_check_chart(check: pd.DataFrame) -> plt.Figure:
    """Last month's forecast (with its 80% interval) against the weeks that have happened since."""
    names = list(dict.fromkeys(check["series"]))
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        c = check[check["series"] == name]
        ax.fill_between(c["ds"], c["yhat_lower"], c["yhat_upper"], color="#6c8ebf", alpha=0.3, label="80% interval")
        ax.plot(c["ds"], c["yhat"], color="#6c8ebf", marker="o", label="forecast")
        ax.plot(c["ds"], c["actual"], color="#333333", marker="s", label="actual")
        ax.set_title(f"{name}: last month's forecast vs actual", fontsize=10)
        ax.set_ylabel("units per week")
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
