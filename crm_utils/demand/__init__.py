"""The demand stage (notebook 08): how much will we sell?

- ``series``: order lines to demand series per level (:func:`build_series`) and the event calendar;
- ``models``: the forecasting models (seasonal naive, moving average, ETS, Prophet) and their scores;
- ``forecasting``: :class:`DemandForecaster`, rolling-origin backtests, model choice, calibrated
  intervals and forecasts, fanned out per series;
- ``plots``: the notebook's charts.

Hands over ``forecast``, ``backtest`` and ``demand_history`` as artifacts.
"""

from crm_utils.demand.forecasting import DemandForecaster, ForecastConfig
from crm_utils.demand.series import build_series, calendar_for

__all__ = ["DemandForecaster", "ForecastConfig", "build_series", "calendar_for"]
