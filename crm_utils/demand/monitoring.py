"""How last month's forecast turned out, for the weeks that have ended since.

Notebook 08 runs the check once, with the same demand definitions it forecasts with, and hands
the result over as the ``forecast_check`` artifact; the report reads it and never rebuilds demand.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_utils import safe
from crm_utils.artifacts import LastMonth
from crm_utils.i18n import N_, _
from crm_utils.notebook import number, percent
from crm_utils.demand.series import build_series

CHECK_COLUMNS = ["series", "ds", "model", "yhat", "yhat_lower", "yhat_upper", "actual", "inside"]


def forecast_check(previous_forecast: pd.DataFrame, orders: pd.DataFrame, customers: pd.DataFrame | None,
                   cutoff: pd.Timestamp, levels: tuple[str, ...] = ("total", "category"), measure: str = "units",
                   include_outliers: bool = False) -> pd.DataFrame:
    """Last month's forecast against what happened, for the weeks that have ended since.

    Actual demand is rebuilt with the same definitions as the forecast (:func:`build_series`)
    on last month's week grid, so each forecast week is compared with exactly the days it
    covered. Returns one row per series and week: forecast, interval, actual, inside interval.
    The total and every category are checked, so the interval coverage rests on dozens of
    series-weeks, not on the four weeks of one series (where a well-calibrated 80% interval
    would still miss three of four about one month in five).
    """
    fc = previous_forecast
    if "measure" in fc.columns:
        fc = fc[fc["measure"] == measure]
    fc = fc[fc["level"].astype(str).isin(levels)]
    known = fc[fc["ds"] <= cutoff.normalize()]
    if known.empty:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    last = known["ds"].max() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1)
    levels = sorted(known["level"].astype(str).unique())
    actual = build_series(orders[orders["order_date"] <= last], customers, cutoff=last, measure=measure,
                          levels=levels, include_outliers=include_outliers, freq=forecast_freq(fc)).frame
    out = known.merge(actual[["series", "ds", "y"]].rename(columns={"y": "actual"}), on=["series", "ds"], how="left")
    # Periods the data do not cover to their end have no actual yet (build_series leaves them out).
    out = out.dropna(subset=["actual"])
    out["inside"] = (out["actual"] >= out["yhat_lower"]) & (out["actual"] <= out["yhat_upper"])
    return out[CHECK_COLUMNS]


def forecast_freq(forecast: pd.DataFrame) -> str:
    """'D' or 'W': the period of a stored forecast, from the spacing of its periods (a forecast
    made at either frequency is checked on its own grid)."""
    steps = pd.Series(forecast["ds"].drop_duplicates().sort_values()).diff().dropna()
    return "D" if len(steps) and steps.min() == pd.Timedelta(days=1) else "W"


def last_month_check(last: LastMonth, orders: pd.DataFrame, customers: pd.DataFrame | None, cutoff: pd.Timestamp,
                     include_outliers: bool = False) -> pd.DataFrame:
    """Last month's forecast, as its report stated it, against what happened since (see :func:`forecast_check`).

    Empty when last month has no forecast in this reports folder, or none of its weeks has ended yet.
    """
    previous = last.table("forecast")
    if previous is None:
        return pd.DataFrame(columns=CHECK_COLUMNS)
    return forecast_check(previous, orders, customers, cutoff, include_outliers=include_outliers)


def forecast_check_summary(check: pd.DataFrame) -> "pd.io.formats.style.Styler":
    """Per series: periods (weeks or days) compared, forecast and actual units, relative error, share inside the interval.

    The series are named after the data (``category=<name>``): the table is styled through
    :func:`crm_utils.safe.styler`, which escapes them for the report's HTML.
    """
    g = check.groupby("series", sort=False)
    out = pd.DataFrame({"periods": g.size(), "forecast": g["yhat"].sum().round(0), "actual": g["actual"].sum().round(0),
                        "inside 80% interval": g["inside"].mean()})
    out.insert(3, "error", (out["forecast"] / out["actual"].replace(0, np.nan) - 1))
    # Headers and the total in the report's language (crm_utils.i18n); categories as the data name them.
    words = {c: _(c) for c in (N_("periods"), N_("forecast"), N_("actual"), N_("error"), N_("inside 80% interval"))}
    out = out.rename(columns=words, index=series_label).rename_axis(_("series"))
    # The error through notebook.percent: a forecast that hit to 0.05% reads '0.0%', never '-0.0%'.
    return safe.styler(out, {words["error"]: lambda v: percent(v, 1, signed=True),
                             words["inside 80% interval"]: lambda v: percent(v, 0),
                             words["forecast"]: number, words["actual"]: number})


#: The levels a series name is made of ('category=Books, region=North'), for the catalogue, and
#: 'unknown', the kit's name for a missing category or region.
LEVEL_WORDS = (N_("total"), N_("category"), N_("region"), N_("unknown"))


def series_label(name: str) -> str:
    """A series' name in the current language: 'total', the levels and 'unknown' translated, the
    data's names as they are ('category=Books, region=unknown' -> '品类=Books，地区=未知')."""
    parts = []
    for part in str(name).split(", "):
        level, sep, value = part.partition("=")
        if not sep:
            parts.append(_(level) if level in LEVEL_WORDS else part)
            continue
        value = _(value) if value == "unknown" else value
        parts.append(_("{level}={value}").format(level=_(level), value=value) if level in LEVEL_WORDS else part)
    return _(", ").join(parts)


def check_note(check: pd.DataFrame, last: LastMonth) -> str:
    """One sentence on what the check compared, or why it compared nothing."""
    if not last.has("forecast"):
        return _("Last month's forecast is not in this reports folder: nothing to compare yet.")
    if check.empty:
        return _("None of last month's forecast periods has ended yet.")
    text = (_("Last month's forecast ({month}) against the {periods} day(s) that have ended since, "
              "for {series} series:") if forecast_freq(check) == "D" else
            _("Last month's forecast ({month}) against the {periods} week(s) that have ended since, "
              "for {series} series:"))
    return text.format(month=last.month, periods=check["ds"].nunique(), series=check["series"].nunique())
