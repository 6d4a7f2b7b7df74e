"""Forecasting models with one interface, and the scores they are compared by.

Every model is fitted on a history frame (``ds``, ``y`` and regressor columns) and predicts a
future frame (``ds`` and regressors) as ``ds, yhat, yhat_lower, yhat_upper``: the seasonal naive,
a moving average, ETS (statsforecast) and Prophet. :class:`LogScale` runs any of them on
log(1 + demand). Prophet and statsforecast are imported when first used, so importing this
module stays cheap.

:data:`REGISTRY` is the one list of the models: name, how each is built from the forecast
config, whether it is a baseline, its chart colour, and (by its order) who wins a tie. Adding a
model is its class (with a ``from_config``) and one :class:`ModelSpec` there.
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.stats import norm

from crm_utils.demand.series import PERIOD_DAYS

if TYPE_CHECKING:  # forecasting imports this module; the config is only named here
    from crm_utils.demand.forecasting import ForecastConfig

#: Periods in a year, per frequency (Prophet's yearly seasonality needs two of them).
PERIODS_PER_YEAR = {"W": 52, "D": 365}


def _interval(yhat: np.ndarray, half_width: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Demand is never negative: bounds below zero are cut at zero.
    return np.maximum(yhat - half_width, 0.0), np.maximum(yhat + half_width, 0.0)


def _frame(ds, yhat, lo, hi) -> pd.DataFrame:
    return pd.DataFrame({"ds": pd.DatetimeIndex(ds), "yhat": np.maximum(np.asarray(yhat, float), 0.0),
                         "yhat_lower": np.asarray(lo, float), "yhat_upper": np.asarray(hi, float)})


class SeasonalNaive:
    """Each period repeats the same period one season earlier (``season_length`` back):
    statsforecast's SeasonalNaive, with its interval (Hyndman & Athanasopoulos, FPP3 5.5: the
    residual spread sigma, times sqrt(k) for the k-th season ahead). With less than a season and
    one period of history it is statsforecast's Naive (last value), with a note.
    """

    name = "seasonal_naive"

    def __init__(self, season_length: int = 52, level: float = 0.8):
        self.season_length, self.level = season_length, level

    @classmethod
    def from_config(cls, cfg: ForecastConfig, seed: int, params: tuple[float, float] | None = None) -> "SeasonalNaive":
        return cls(cfg.season_length, cfg.level)

    def fit(self, history: pd.DataFrame) -> "SeasonalNaive":
        from statsforecast.models import Naive
        from statsforecast.models import SeasonalNaive as StatsSeasonalNaive

        y = history["y"].to_numpy(float)
        seasonal = len(y) > self.season_length
        self.notes_ = [] if seasonal else [
            "seasonal naive: no more than one season of history; naive forecast (last value)"]
        self.model_ = (StatsSeasonalNaive(season_length=self.season_length) if seasonal else Naive()).fit(y)
        # Fewer than two residuals cannot size an interval: the forecast then has none (NaN bounds).
        self.sized_ = len(y) - (self.season_length if seasonal else 1) >= 2
        self.warnings_ = []
        return self

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        pct = int(round(self.level * 100))
        f = self.model_.predict(h=len(future), level=[pct])
        lo, hi = (np.maximum(f[f"lo-{pct}"], 0.0), np.maximum(f[f"hi-{pct}"], 0.0)) if self.sized_ else (
            np.full(len(future), np.nan), np.full(len(future), np.nan))
        return _frame(future["ds"], f["mean"], lo, hi)


class MovingAverage:
    """The mean of the last ``window`` periods, flat over the horizon (statsforecast's
    WindowAverage); interval from its one-step residuals.

    WindowAverage gives intervals only by conformal calibration over extra refits
    (``prediction_intervals``); the backtest calibrates every model's interval already
    (``interval_factors``), so the one-step residual spread is kept as the raw interval.
    """

    name = "moving_average"

    def __init__(self, window: int = 8, level: float = 0.8):
        self.window, self.level = window, level

    @classmethod
    def from_config(cls, cfg: ForecastConfig, seed: int, params: tuple[float, float] | None = None) -> "MovingAverage":
        return cls(cfg.ma_window, cfg.level)

    def fit(self, history: pd.DataFrame) -> "MovingAverage":
        from statsforecast.models import WindowAverage

        y = history["y"].to_numpy(float)
        w = min(self.window, len(y))
        self.notes_ = [] if w == self.window else ["moving average: fewer periods than its window; mean of all"]
        self.model_, self.warnings_ = WindowAverage(window_size=w).fit(y), []
        c = np.concatenate([[0.0], np.cumsum(y)])
        prior_means = (c[w:-1] - c[:-w - 1]) / w  # mean of the w periods before each period t >= w
        resid = y[w:] - prior_means
        self.sigma_ = float(np.sqrt(np.mean(resid ** 2))) if len(resid) >= 2 else np.nan
        return self

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        yhat = self.model_.predict(h=len(future))["mean"]
        half = np.full(len(future), norm.ppf(0.5 + self.level / 2) * self.sigma_)
        return _frame(future["ds"], yhat, *_interval(yhat, half))


class ETS:
    """Exponential smoothing, statsforecast's AutoETS (error, trend and damping chosen by AICc).

    With at least two seasons of history the seasonality is taken out first by STL and forecast
    by repeating it (statsforecast's MSTL with AutoETS on the rest, the "STL + ETS" of FPP3,
    12.1): a seasonal ETS with 52 weekly states is slow (2.3 s against 0.03 s on a 156-week series,
    measured on this kit's 2-core machine) and has more states than three years of weeks can pin
    down. Shorter histories get a
    non-seasonal AutoETS, with a note.
    """

    name = "ets"

    def __init__(self, season_length: int = 52, level: float = 0.8):
        self.season_length, self.level = season_length, level

    @classmethod
    def from_config(cls, cfg: ForecastConfig, seed: int, params: tuple[float, float] | None = None) -> "ETS":
        return cls(cfg.season_length, cfg.level)

    def prefers_raw_scale(self, history: pd.DataFrame) -> bool:
        """Under two seasons the model is a non-seasonal AutoETS, which picks a multiplicative error
        itself when noise grows with the level; on log demand its trend would compound instead.
        Measured on Superstore's weekly total and categories (4 origins of 13 weeks,
        benchmarks/bench_forecast_realdata.py, cases superstore-ets-short-*): with 82 weeks, mean
        MASE 1.203 on the log scale and 1.173 on the raw scale, as statsforecast's AutoETS
        (season length 52, which picks a non-seasonal form on these windows); with 104 weeks
        (training windows of 52 to 91), 1.533 on the log scale, 1.590 raw, 1.624 for AutoETS. Raw
        is never worse than statsforecast's AutoETS, which is the promise made; log is not."""
        return len(history) < 2 * self.season_length

    def fit(self, history: pd.DataFrame) -> "ETS":
        from statsforecast.models import MSTL, AutoETS

        y = history["y"].to_numpy(float)
        if len(y) >= 2 * self.season_length:
            self.model_ = MSTL(season_length=self.season_length, trend_forecaster=AutoETS(model="ZZN"))
            self.notes_ = []
        else:
            self.model_ = AutoETS(model="ZZN")
            self.notes_ = ["ets: under two seasons of history; no seasonal component"]
        self.model_.fit(y)
        self.warnings_ = []
        return self

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        pct = int(round(self.level * 100))
        f = self.model_.predict(h=len(future), level=[pct])
        return _frame(future["ds"], f["mean"], np.maximum(f[f"lo-{pct}"], 0), np.maximum(f[f"hi-{pct}"], 0))


#: Prophet warns when yearly seasonality is on with a history spanning under 730 days between its
#: first and last label. Two years of weekly periods labelled by their last day span 721 days while
#: covering 728 days of sales; yearly seasonality is switched on here from two full years of periods
#: (see ProphetModel), so that warning says nothing new and is not kept as a note.
_EXPECTED_WARNINGS = ("Yearly seasonality is enabled with less than 730 days",)


@contextmanager
def _captured_warnings(names: Sequence[str]):
    """Collect the warnings of the named loggers in a list instead of printing them, so a
    worker's Stan chatter becomes a note on its series rather than noise in the notebook."""
    caught: list[str] = []

    class _Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            msg = record.getMessage()
            if not msg.startswith(_EXPECTED_WARNINGS):
                caught.append(msg)

    saved = []
    for name in names:
        lg = logging.getLogger(name)
        saved.append((lg, lg.handlers[:], lg.propagate))
        lg.handlers, lg.propagate = [_Keep(logging.WARNING)], False
    try:
        yield caught
    finally:
        for lg, handlers, propagate in saved:
            lg.handlers, lg.propagate = handlers, propagate


class LogScale:
    """Fit the wrapped model to log(1 + demand); return its forecast and interval as demand.

    Demand's noise grows with its level (a busy December swings by more units than a quiet
    February), and seasonal lifts are shares of the level. On the log scale both become
    additive and steady, which is what every model here assumes. Quantiles survive the way
    back, so the 80% interval stays an 80% interval; the point forecast becomes a median,
    which is what an absolute-error score such as MASE rewards.
    """

    def __init__(self, model):
        self.model, self.name = model, model.name

    def fit(self, history: pd.DataFrame) -> "LogScale":
        # A model may say that on this history it is better left on the demand scale.
        self.raw_ = bool(getattr(self.model, "prefers_raw_scale", lambda h: False)(history))
        self.model.fit(history if self.raw_ else history.assign(y=np.log1p(history["y"].clip(lower=0))))
        self.notes_, self.warnings_ = self.model.notes_, getattr(self.model, "warnings_", [])
        return self

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        f = self.model.predict(future)
        if not self.raw_:
            for col in ("yhat", "yhat_lower", "yhat_upper"):
                f[col] = np.expm1(f[col])
        return f


def quiet_prophet() -> None:
    """Silence Stan's per-fit chatter (ENVIRONMENT.md: cmdstanpy resets its logger's level on import,
    so the level is set through its own accessor, after import) and Prophet's info lines."""
    logging.getLogger("prophet.plot").setLevel(logging.CRITICAL)  # "Importing plotly failed"
    with warnings.catch_warnings():  # tqdm, imported by cmdstanpy, warns about Jupyter widgets
        warnings.filterwarnings("ignore", message="IProgress not found")
        import cmdstanpy
        import prophet  # noqa: F401  (imported here, under the filter)

    cmdstanpy.utils.get_logger().setLevel(logging.WARNING)
    logging.getLogger("prophet").setLevel(logging.WARNING)


#: An event or holiday regressor must occur in at least this many seasons (years) of the history
#: for a model to learn its effect: from one December alone, "Christmas" and "that December was
#: odd" are the same coefficient, and it would be applied in full to every December ahead.
MIN_EVENT_SEASONS = 2


def event_seasons(history: pd.DataFrame, column: str) -> int:
    """In how many distinct seasons (years counted back from the history's end) ``column`` starts
    an occurrence: a run of consecutive non-zero periods counts once, where it starts, so one
    multi-week window that straddles a year boundary is still one season."""
    on = history[column].to_numpy(float) != 0
    if not on.any():
        return 0
    starts = on & ~np.concatenate([[False], on[:-1]])
    age = (history["ds"].max() - pd.DatetimeIndex(history["ds"])).days.to_numpy()
    return int(np.unique(age[starts] // 365).size)


def supported_regressors(history: pd.DataFrame) -> tuple[list[str], dict[str, int]]:
    """The regressor columns the history can support, and the dropped ones with their season counts.

    A regressor is kept when it varies and occurs in at least :data:`MIN_EVENT_SEASONS` seasons.
    """
    keep, dropped = [], {}
    for col in (c for c in history.columns if c not in ("ds", "y")):
        seasons = event_seasons(history, col)
        if history[col].nunique() > 1 and seasons >= MIN_EVENT_SEASONS:
            keep.append(col)
        else:
            dropped[col] = seasons
    return keep, dropped


class ProphetModel:
    """Prophet with yearly seasonality when the history holds two full years, and event regressors.

    The forecasts run it on log(1 + demand) (:class:`LogScale`) in additive mode, where
    log(1 + y) = g(t) + s(t) + h(t) + e: on the demand scale the seasonal and event parts are
    then shares of the trend, as in retail demand that grows. ``uncertainty_samples`` sets the
    simulated paths behind the interval: with 500 the 10% and 90% quantiles are within about
    1.5 percentage points of their coverage, and they cost little because only the horizon is
    predicted. Prophet draws them from NumPy's global generator; it is seeded from ``seed``
    for the prediction and restored afterwards, so the caller's random stream is untouched.
    """

    name = "prophet"

    def __init__(self, changepoint_prior_scale: float = 0.05, seasonality_prior_scale: float = 10.0,
                 holidays_prior_scale: float = 10.0, seasonality_mode: str = "additive",
                 freq: str = "W", level: float = 0.8, uncertainty_samples: int = 500, seed: int = 0,
                 yearly: bool | None = None):
        self.changepoint_prior_scale = changepoint_prior_scale
        self.seasonality_prior_scale = seasonality_prior_scale
        self.holidays_prior_scale = holidays_prior_scale
        self.seasonality_mode = seasonality_mode
        self.freq, self.level, self.uncertainty_samples = freq, level, uncertainty_samples
        self.seed, self.yearly = seed, yearly

    @classmethod
    def from_config(cls, cfg: ForecastConfig, seed: int, params: tuple[float, float] | None = None) -> "ProphetModel":
        """``params``: (changepoint, seasonality) prior scales; Prophet's defaults when not given.

        The event and holiday regressors share the seasonality prior scale: both say how far a
        known calendar effect may move demand, so the backtest that chooses one chooses both
        (``cfg.holidays_prior_scale`` applies only when nothing was tuned).
        """
        cps, sps, hps = (*params, params[1]) if params else (0.05, 10.0, cfg.holidays_prior_scale)
        return cls(cps, sps, hps, cfg.seasonality_mode, cfg.freq, cfg.level, cfg.uncertainty_samples, seed)

    def fit(self, history: pd.DataFrame) -> "ProphetModel":
        quiet_prophet()
        from prophet import Prophet

        n, year = len(history), PERIODS_PER_YEAR[self.freq]
        yearly = n >= 2 * year if self.yearly is None else self.yearly
        self.notes_ = [] if yearly else ["prophet: under two years of history; yearly seasonality off"]
        m = Prophet(growth="linear", yearly_seasonality=yearly, weekly_seasonality=self.freq == "D",
                    daily_seasonality=False, seasonality_mode=self.seasonality_mode,
                    changepoint_prior_scale=self.changepoint_prior_scale,
                    seasonality_prior_scale=self.seasonality_prior_scale,
                    holidays_prior_scale=self.holidays_prior_scale, interval_width=self.level,
                    uncertainty_samples=self.uncertainty_samples)
        self.regressors_, dropped = supported_regressors(history)
        self.notes_ += [f"prophet: {name} occurs in only {seasons} season(s) of the history; "
                        f"no effect is learnt for it (one season cannot tell it from noise)"
                        for name, seasons in dropped.items() if seasons > 0]
        for col in self.regressors_:
            # Standardised, so one prior scale means the same for a one-day event and a 23-day
            # shopping season; Prophet scales them back in its components.
            m.add_regressor(col, prior_scale=self.holidays_prior_scale, standardize=True)
        with _captured_warnings(["prophet", "cmdstanpy"]) as caught:
            m.fit(history[["ds", "y", *self.regressors_]], seed=self.seed)
        self.warnings_ = [f"prophet: {msg}" for msg in dict.fromkeys(caught)]
        self.model_ = m
        return self

    def predict(self, future: pd.DataFrame) -> pd.DataFrame:
        return self.components(future)[["ds", "yhat", "yhat_lower", "yhat_upper"]].pipe(
            lambda f: _frame(f["ds"], f["yhat"], np.maximum(f["yhat_lower"], 0), np.maximum(f["yhat_upper"], 0)))

    def components(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Prophet's full output for ``frame``: trend, yearly, extra regressors, yhat and bounds."""
        state = np.random.get_state()
        np.random.seed(self.seed)
        try:
            return self.model_.predict(frame[["ds", *self.regressors_]])
        finally:
            np.random.set_state(state)

    def changepoints(self) -> pd.DataFrame:
        """Candidate changepoints and the fitted change in trend slope at each (in y's units per period)."""
        m = self.model_
        delta = np.asarray(m.params["delta"]).mean(axis=0)
        per_day = m.y_scale / (m.history["ds"].max() - m.history["ds"].min()).days
        return pd.DataFrame({"ds": m.changepoints.to_numpy(),
                             "slope_change": delta * per_day * PERIOD_DAYS[self.freq]})


# -- The registry ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ModelSpec:
    """One forecasting model as the rest of the kit knows it.

    ``build(cfg, seed, params)`` returns an unfitted model from a ``ForecastConfig``, the seed
    derived for this fit and, for a tuned model, its (changepoint, seasonality) prior scales.
    ``baseline``: one of the simple rules every model must beat, backtested without tuning.
    ``colour``: its colour in every chart.
    """

    name: str
    build: Callable[..., object]
    colour: str
    baseline: bool = False


#: Every forecasting model, simplest first: a tie in the backtest goes to the earlier entry.
REGISTRY: tuple[ModelSpec, ...] = (
    ModelSpec("seasonal_naive", SeasonalNaive.from_config, colour="#9e9e9e", baseline=True),
    ModelSpec("moving_average", MovingAverage.from_config, colour="#c49a6c", baseline=True),
    ModelSpec("ets", ETS.from_config, colour="#6c8ebf", baseline=True),
    ModelSpec("prophet", ProphetModel.from_config, colour="#d9534f"),
)
#: Colour of a model name the registry does not know (e.g. from an old artifact).
UNREGISTERED_COLOUR = "#999"

_BY_NAME = {spec.name: spec for spec in REGISTRY}
if len(_BY_NAME) != len(REGISTRY):
    raise ValueError(f"model names must be unique in REGISTRY: {[s.name for s in REGISTRY]}")


def model_names() -> tuple[str, ...]:
    """Every registered model's name, in registry (tie-break) order."""
    return tuple(spec.name for spec in REGISTRY)


def baseline_names() -> tuple[str, ...]:
    """The registered baselines, in registry order."""
    return tuple(spec.name for spec in REGISTRY if spec.baseline)


def model_spec(name: str) -> ModelSpec:
    """The registry entry of ``name``; a ValueError naming the registered models otherwise."""
    try:
        return _BY_NAME[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown model {name!r}; models are {model_names()}") from None


def colour(name: str) -> str:
    """A model's chart colour; grey (:data:`UNREGISTERED_COLOUR`) for a name not registered."""
    spec = _BY_NAME.get(name)
    return spec.colour if spec else UNREGISTERED_COLOUR


def in_registry_order(names: Iterable[str]) -> list[str]:
    """The distinct ``names`` in registry order, any unregistered ones after them (sorted), so a
    chart drawing them drops none."""
    present = set(names)
    return [n for n in model_names() if n in present] + sorted(present - set(_BY_NAME), key=str)


# -- Scores ----------------------------------------------------------------------------------

def mase_scale(train: np.ndarray, season_length: int) -> float:
    """In-sample mean absolute error of the seasonal naive forecast (naive when under a season)."""
    train = np.asarray(train, float)
    m = season_length if len(train) > season_length else 1
    if len(train) <= m:
        return np.nan
    return float(np.mean(np.abs(train[m:] - train[:-m])))


def mase(y: np.ndarray, yhat: np.ndarray, scale: float) -> float:
    """Mean absolute error over the in-sample seasonal-naive error: < 1 beats that benchmark."""
    if not scale or not np.isfinite(scale):
        return np.nan
    return float(np.mean(np.abs(np.asarray(y, float) - np.asarray(yhat, float))) / scale)


def smape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Symmetric MAPE in percent (0-200); a period where both are zero counts as a perfect 0."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    den = np.abs(y) + np.abs(yhat)
    terms = np.where(den > 0, 2 * np.abs(y - yhat) / np.where(den > 0, den, 1), 0.0)
    return float(100 * terms.mean())


def coverage(y: np.ndarray, lower: np.ndarray, upper: np.ndarray) -> float:
    """Share of actual values inside [lower, upper]; NaN when the model gave no interval."""
    lower, upper = np.asarray(lower, float), np.asarray(upper, float)
    if np.isnan(lower).any() or np.isnan(upper).any():
        return np.nan
    y = np.asarray(y, float)
    return float(np.mean((y >= lower) & (y <= upper)))


def mape(y: np.ndarray, yhat: np.ndarray) -> float:
    """Mean absolute percentage error; infinite as soon as one actual is zero (shown, not used)."""
    y, yhat = np.asarray(y, float), np.asarray(yhat, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.abs(y - yhat) / np.abs(y)
    terms = np.where((y == 0) & (yhat == 0), 0.0, terms)
    return float(100 * np.mean(terms))


def compare_scores(train: np.ndarray, actual: np.ndarray, forecasts: dict[str, np.ndarray],
                   season_length: int) -> pd.DataFrame:
    """MAPE, sMAPE and MASE of several forecasts of the same held-out values, side by side."""
    scale = mase_scale(train, season_length)
    rows = [{"forecast": name, "mape": mape(actual, f), "smape": smape(actual, f),
             "mase": mase(actual, f, scale)} for name, f in forecasts.items()]
    return pd.DataFrame(rows)
