"""Charts of notebook 11, the monthly report."""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd

from crm_utils.demand.monitoring import forecast_freq
from crm_utils.demand.plots import _label, forecast_chart
from crm_utils.i18n import N_, _

#: History drawn before the forecast: a year of weeks, or half a year of days.
HISTORY_PERIODS = {"W": 52, "D": 182}


def per_period(frame: pd.DataFrame) -> str:
    """'units per week' or 'units per day', from the spacing of the frame's periods."""
    return N_("units per day") if forecast_freq(frame) == "D" else N_("units per week")


def forecast_overview(history: pd.DataFrame, forecast: pd.DataFrame, top: int = 3) -> plt.Figure:
    """Units per week (or day): the total and the largest categories, history and forecast with 80%
    intervals. ``history`` is the demand notebook 08 forecast from (its ``demand_history`` artifact).
    """
    units = forecast[forecast["measure"] == "units"] if "measure" in forecast.columns else forecast
    cats = (history[history["level"] == "category"].groupby("series")["y"].sum().nlargest(top).index.tolist())
    names = [n for n in ["total", *cats] if n in set(units["series"])]
    return forecast_chart(history, units, names, unit=per_period(units),
                          history_periods=HISTORY_PERIODS[forecast_freq(units)])


def forecast_check_chart(check: pd.DataFrame) -> plt.Figure:
    """Last month's forecast (with its 80% interval) against the periods that have ended since."""
    names = list(dict.fromkeys(check["series"]))
    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 3.2), squeeze=False)
    for ax, name in zip(axes[0], names):
        c = check[check["series"] == name]
        ax.fill_between(c["ds"], c["yhat_lower"], c["yhat_upper"], color="#6c8ebf", alpha=0.3, label=_("80% interval"))
        ax.plot(c["ds"], c["yhat"], color="#6c8ebf", marker="o", label=_("forecast"))
        ax.plot(c["ds"], c["actual"], color="#333333", marker="s", label=_("actual"))
        ax.set_title(_("{series}: last month's forecast vs actual").format(series=_label(name)), fontsize=10)
        ax.set_ylabel(_(per_period(check)))
        ax.set_ylim(bottom=0)
        ax.tick_params(axis="x", rotation=30, labelsize=8)
        ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
