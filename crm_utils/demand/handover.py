"""What the demand stage hands over: its headline figures for metrics.json.

Kept apart from the forecasting machinery so that what the report may quote is one short read.
"""

from __future__ import annotations

import pandas as pd

from crm_utils.demand import forecasting
from crm_utils.demand.forecasting import DemandForecaster
from crm_utils.demand.series import PERIOD_DAYS


def headline(runs: dict[str, DemandForecaster], cutoff: pd.Timestamp, horizon: int) -> dict:
    """The figures notebook 08 hands over in metrics.json.

    ``runs`` maps a measure (``units``, and ``revenue`` when forecast) to its finished forecaster.
    The backtest figures come from the units run; without a backtest window they are empty.
    """
    units = runs["units"]
    backtest, winners = units.backtest_, units.winners_
    windows = int(backtest["cutoff"].nunique())
    cfg = units.config
    first = units.forecast_["ds"].min() - pd.Timedelta(days=PERIOD_DAYS[cfg.freq] - 1)
    out = {
        "freq": cfg.freq, "horizon_periods": horizon, "forecast_start": str(first.date()),
        # The sanity gate and the reconciliation (crm_utils.demand.guards): what the report must say.
        "gate_fallbacks": {m: run.fallbacks_[["series", "model", "fallback", "reason", "fallback_passed"]]
                           .to_dict("records") for m, run in runs.items() if len(getattr(run, "fallbacks_", []))},
        "gate_after_reconciliation": {m: run.gate_after_reconciliation_[["series", "reason"]].to_dict("records")
                                      for m, run in runs.items()
                                      if len(getattr(run, "gate_after_reconciliation_", []))},
        "peak": str(units.peak_.date()) if getattr(units, "peak_", None) is not None else None,
        "peak_tested": bool(getattr(units, "peak_tested_", True)),
        # Per measure: how its levels were made to add up; absent where one level was forecast.
        "reconciliation": {m: run.anchor_ for m, run in runs.items()
                           if {"total"} < set(run.forecast_["level"]) and hasattr(run, "anchor_")},
        "series": {m: int(r.forecast_["series"].nunique()) for m, r in runs.items()},
        "backtest_cutoffs": windows,
        "prior_scales": {r.level: [r.changepoint_prior_scale, r.seasonality_prior_scale]
                         for r in units.prior_scales_.itertuples()},
        "winners": winners["model"].value_counts().to_dict(),
        "category": forecasting.headline(winners, backtest, "category") if windows else {},
        # Scored on cutoffs the choice did not see: what the monthly report monitors.
        "nested_share_beating_seasonal_naive": {},
        "total_units_next_horizon": units.forecast_.loc[units.forecast_["series"] == "total", "yhat"].sum(),
    }
    if windows:
        nested = forecasting.nested_selection(backtest, units.predictions_)
        out["nested_share_beating_seasonal_naive"] = (
            (nested["mase"] < nested["seasonal_naive_mase"]).groupby(nested["level"]).mean().to_dict())
    revenue = runs.get("revenue")
    if revenue is not None and "total" in set(revenue.forecast_["series"]):
        out["total_revenue_next_horizon"] = revenue.forecast_.query("series == 'total'")["yhat"].sum()
    return out
