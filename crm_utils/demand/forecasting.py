"""Demand forecasting: rolling-origin backtests of Prophet against honest baselines, a per-series
choice of the model that goes into the report, calibrated intervals, and the forecast.

The steps, in the order notebook 08 runs them (:class:`DemandForecaster` runs them in turn):

1. ``tune``: Prophet's prior scales from a small grid, scored on rolling-origin backtests of
   the big series (total, categories) and chosen per level (:func:`choose_prior_scales`).
2. ``backtest``: every candidate model (``MODELS``, from the model registry) at each rolling
   origin of every series;
   MASE, sMAPE and the coverage of the 80% interval on the held-out periods.
3. ``select``: per series, the model with the lowest backtest MASE (:func:`select_models`).
4. ``calibrate``: each model's interval stretched so that 80% of held-out values fall inside
   (:func:`interval_factors`), checked on cutoffs it did not learn from.
5. ``forecast``: each series' winner refitted on the whole history, ``horizon`` periods ahead.

Series and calendar come from :mod:`crm_utils.demand.series`, models, their registry and scores
from :mod:`crm_utils.demand.models`. Per-series work is fanned out with
:func:`crm_utils.fanout.fan_out` (joblib processes, or Dask distributed). Every random step is
seeded from the run's seed and the series' name, so results do not depend on which process ran
what, or in which order.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from crm_utils.demand import guards
from crm_utils.demand.models import (LogScale, baseline_names, compare_scores, coverage, mase, mase_scale, model_names,
                                     model_spec, smape)
from crm_utils.demand.series import PERIOD_DAYS, DemandSeries, EventCalendar, calendar_counts, calendar_regressors
from crm_utils.fanout import fan_out
from crm_utils.i18n import NC_, _, pgettext

#: Candidate models, simplest first: a tie in the backtest goes to the simpler model. Derived from
#: the registry (:data:`crm_utils.demand.models.REGISTRY`); register a model there, not here.
MODELS = model_names()
#: (changepoint_prior_scale, seasonality_prior_scale) pairs tried on the backtests, within the
#: ranges Prophet's documentation suggests (0.001-0.5 and 0.01-10; its defaults are 0.05 and 10):
#: a stiff (0.01), the default (0.05) and a flexible (0.5) trend, and a seasonality that is shrunk
#: (0.1) or left alone (10). On log demand a seasonal effect is a few tenths (+30% is 0.26), so a
#: prior scale of 0.1 shrinks it noticeably and 10 not at all.
DEFAULT_GRID: tuple[tuple[float, float], ...] = (
    (0.01, 0.1), (0.01, 10.0), (0.05, 0.1), (0.05, 10.0), (0.5, 0.1), (0.5, 10.0))
#: Seasonal period of the seasonal-naive and ETS baselines, per frequency.
SEASON_LENGTH = {"W": 52, "D": 7}
#: Period-counted defaults per frequency: the same spans of time in weeks and in days (a daily
#: horizon stops at four weeks, where daily detail still helps planning and Prophet's daily fits stay quick).
FREQ_DEFAULTS = {"W": {"horizon": 13, "min_train": 26, "ma_window": 8},
                 "D": {"horizon": 28, "min_train": 56, "ma_window": 28}}
PERIOD_NAMES = {"W": "week", "D": "day"}
#: A period's name in sentences, one and several (the English sentences always wrote the unit
#: plural after a count, '13 weeks'); translated with :func:`period_word`.
PERIOD_WORDS = {"week": (NC_("period", "week"), NC_("period", "weeks")),
                "day": (NC_("period", "day"), NC_("period", "days"))}


def period_word(unit: str, plural: bool = True) -> str:
    """'weeks' (or 'week') in the current language for a config's ``unit``; another unit as the
    English code (plural with an 's')."""
    if unit not in PERIOD_WORDS:
        return f"{unit}s" if plural else unit
    return pgettext("period", PERIOD_WORDS[unit][1 if plural else 0])


# -- Per-series work (what fan_out sends to the workers) ------------------------------------

@dataclass(frozen=True)
class ForecastConfig:
    """Everything the per-series work depends on besides the data."""

    horizon: int = 13  # periods ahead
    freq: str = "W"
    n_origins: int = 4  # rolling origins of the backtest (fewer when the history is short)
    step: int | None = None  # periods between origins; default the horizon, so test windows tile
    min_train: int = 26  # shortest training window a backtest origin may have
    level: float = 0.8  # interval coverage
    ma_window: int = 8
    uncertainty_samples: int = 500
    log_scale: bool = True  # models see log(1 + demand); see LogScale
    seasonality_mode: str = "additive"  # Prophet's; additive on the log scale is multiplicative in demand
    holidays_prior_scale: float = 10.0
    seed: int = 42
    min_periods: int = 4  # fewer than this: no model is fitted beyond the moving average
    peak: pd.Timestamp | None = None  # the history's seasonal peak: a backtest window must hold it

    @property
    def season_length(self) -> int:
        return SEASON_LENGTH[self.freq]

    @classmethod
    def for_freq(cls, freq: str = "W", horizon: int | None = None, **kwargs) -> "ForecastConfig":
        """A config whose period-counted settings fit ``freq``: 13 weeks or 28 days ahead, a
        shortest training window of half a year or 8 weeks, a moving average over 8 weeks or 28 days
        (``horizon`` 0 or None takes the default; any other setting can be passed on)."""
        if freq not in FREQ_DEFAULTS:
            raise ValueError(f"freq must be 'W' (weekly) or 'D' (daily), got {freq!r}")
        settings = {**FREQ_DEFAULTS[freq], **kwargs}
        if horizon:
            settings["horizon"] = int(horizon)
        return cls(freq=freq, **settings)

    @property
    def unit(self) -> str:
        """The period's name, for sentences: 'week' or 'day'."""
        return PERIOD_NAMES[self.freq]


@dataclass
class SeriesTask:
    """One series' data and instructions for a worker."""

    series: str
    level: str
    history: pd.DataFrame  # ds, y, regressors
    future: pd.DataFrame  # ds, regressors over the horizon (forecast tasks)
    config: ForecastConfig
    prophet_params: tuple[tuple[float, float], ...] = ()
    model: str | None = None  # forecast tasks: the model to fit
    baselines: tuple[str, ...] = baseline_names()


def derive_seed(seed: int, *parts: object) -> int:
    """A seed from the run's seed and names (series, cutoff, ...): stable across processes and
    Python sessions, unlike ``hash()``."""
    text = "|".join([str(seed), *map(str, parts)])
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "little")


def make_model(name: str, cfg: ForecastConfig, seed: int, params: tuple[float, float] | None = None):
    """A fresh registered model (its registry entry builds it), on the log scale when ``cfg.log_scale``.

    An unregistered ``name`` raises a ValueError listing the registered ones."""
    model = model_spec(name).build(cfg, seed, params)
    return LogScale(model) if cfg.log_scale else model


def origins(n: int, horizon: int, n_origins: int, step: int | None, min_train: int,
            cover: int | None = None) -> list[int]:
    """Training lengths of the rolling origins, earliest first; each is followed by a full horizon.

    ``cover``: the position of a period (the seasonal peak) that some test window must hold. When
    the regular origins miss it and there is ``min_train`` history before it, one origin is added
    whose window holds it, as close to the window's middle as the history allows.
    """
    step = step or horizon
    out = sorted(o for o in (n - horizon - i * step for i in range(n_origins)) if o >= min_train)
    if cover is not None and 0 <= cover < n and not any(o <= cover < o + horizon for o in out):
        o = min(max(cover - horizon // 2, min_train), n - horizon)
        if o >= min_train and o <= cover < o + horizon:
            out = sorted({*out, o})
    return out


def series_problem(y: np.ndarray, cfg: ForecastConfig) -> str | None:
    """Why a series gets the fallback instead of models, or None when it is fit to model."""
    if len(y) == 0 or not np.any(y != 0):
        return "no sales in its history: forecast 0"
    if len(y) < cfg.min_periods:
        return f"fewer than {cfg.min_periods} periods of history: their mean, no interval"
    return None


def backtest_series(task: SeriesTask) -> dict:
    """Fit every candidate at each rolling origin of one series and score the held-out periods.

    Not statsforecast's ``cross_validation``: it runs statsforecast's own models only, and here
    Prophet with the calendar regressors is scored at the same origins, with the seasonal peak's
    origin added (:func:`origins`), one series per worker task.

    Returns ``rows`` (one per model, params and cutoff: mase, smape, coverage, mae),
    ``predictions`` (held-out values with forecasts and intervals) and ``notes``.
    """
    cfg = task.config
    h = task.history
    y = h["y"].to_numpy(float)
    notes: list[str] = []
    problem = series_problem(y, cfg)
    cover = None
    if cfg.peak is not None:
        at = np.flatnonzero(h["ds"].to_numpy() == np.datetime64(cfg.peak))
        cover = int(at[0]) if len(at) else None
    cuts = [] if problem else origins(len(h), cfg.horizon, cfg.n_origins, cfg.step, cfg.min_train, cover)
    if problem:
        notes.append(f"{problem}; no backtest")
    elif not cuts:
        notes.append(f"too short for a backtest (needs {cfg.min_train + cfg.horizon} periods); "
                     f"moving-average fallback")
    elif len(cuts) < cfg.n_origins:
        notes.append(f"history holds {len(cuts)} backtest origin(s), not {cfg.n_origins}")
    elif len(cuts) > cfg.n_origins:
        notes.append(f"one backtest origin added so that a test window holds the seasonal peak ({cfg.peak:%Y-%m-%d})")
    rows, preds = [], []
    for o in cuts:
        train, test = h.iloc[:o], h.iloc[o:o + cfg.horizon]
        cutoff = train["ds"].iloc[-1]
        scale = mase_scale(train["y"].to_numpy(), cfg.season_length)
        candidates = [(b, None) for b in task.baselines] + [("prophet", p) for p in task.prophet_params]
        for name, params in candidates:
            seed = derive_seed(cfg.seed, task.series, cutoff.date(), name, params)
            try:
                model = make_model(name, cfg, seed, params).fit(train)
                f = model.predict(test.drop(columns="y"))
            except Exception as exc:  # a model that cannot fit this window is noted, not fatal
                notes.append(f"{name} failed at cutoff {cutoff:%Y-%m-%d}: {type(exc).__name__}: {exc}")
                continue
            notes += [f"{w} (cutoff {cutoff:%Y-%m-%d})" for w in model.warnings_]
            if o == cuts[-1]:  # what the models had to do without, as of the latest origin
                notes += [n for n in model.notes_ if n not in notes]
            yt = test["y"].to_numpy(float)
            rows.append({"series": task.series, "level": task.level, "model": name,
                         "changepoint_prior_scale": params[0] if params else np.nan,
                         "seasonality_prior_scale": params[1] if params else np.nan,
                         "cutoff": cutoff, "periods": len(yt),
                         "mase": mase(yt, f["yhat"], scale), "smape": smape(yt, f["yhat"]),
                         "coverage": coverage(yt, f["yhat_lower"], f["yhat_upper"]),
                         "mae": float(np.mean(np.abs(yt - f["yhat"].to_numpy())))})
            preds.append(f.assign(series=task.series, level=task.level, model=name, cutoff=cutoff, y=yt,
                                  changepoint_prior_scale=params[0] if params else np.nan,
                                  seasonality_prior_scale=params[1] if params else np.nan))
    return {"series": task.series, "rows": rows, "predictions": preds, "notes": notes}


def forecast_series(task: SeriesTask) -> dict:
    """Fit ``task.model`` on the whole history and forecast ``task.future``."""
    cfg = task.config
    y = task.history["y"].to_numpy(float)
    notes: list[str] = []
    problem = series_problem(y, cfg)
    # A series without a backtest winner, or unfit for models, gets the moving average: over
    # all zeros it forecasts 0 with a zero-width interval; over a handful of periods their mean,
    # with no interval (too few residuals to size one).
    name = "moving_average" if problem or task.model is None else task.model
    if problem:
        notes.append(problem)
    if len(y) == 0:
        f = pd.DataFrame({"ds": task.future["ds"], "yhat": 0.0, "yhat_lower": 0.0, "yhat_upper": 0.0})
    else:
        params = task.prophet_params[0] if (name == "prophet" and task.prophet_params) else None
        seed = derive_seed(cfg.seed, task.series, "forecast", name, params)
        try:
            model = make_model(name, cfg, seed, params).fit(task.history)
        except Exception as exc:  # the backtest winner failing on the full history: say so, fall back
            notes.append(f"{name} failed on the full history ({type(exc).__name__}: {exc}); moving average instead")
            name = "moving_average"
            model = make_model(name, cfg, seed).fit(task.history)
        f = model.predict(task.future)
        notes += [n for n in model.notes_ + model.warnings_ if n not in notes]
    f = f.assign(series=task.series, level=task.level, model=name)
    return {"series": task.series, "forecast": f, "notes": notes}


# -- Tasks, backtests, choices --------------------------------------------------------------

def future_periods(cutoff: pd.Timestamp, horizon: int, freq: str) -> pd.DatetimeIndex:
    """The ``horizon`` periods after the cutoff, labelled by their last day."""
    step = PERIOD_DAYS[freq]
    return pd.date_range(cutoff.normalize() + pd.Timedelta(days=step), periods=horizon, freq=f"{step}D")


def make_tasks(series: DemandSeries, calendar: EventCalendar | None, cfg: ForecastConfig,
               names: Iterable[str] | None = None,
               prophet_params: dict[str, tuple[tuple[float, float], ...]] | None = None,
               models: dict[str, str] | None = None,
               baselines: tuple[str, ...] = baseline_names()) -> list[SeriesTask]:
    """One task per series: its history and horizon, each with the calendar regressors."""
    names = list(names) if names is not None else series.names
    fut = future_periods(series.end, cfg.horizon, cfg.freq)
    frame = series.frame[series.frame["series"].isin(set(names))]
    counts = None
    if calendar is not None:
        periods = pd.DatetimeIndex(frame["ds"].drop_duplicates().sort_values()).append(fut)
        counts = calendar_counts(calendar, periods, cfg.freq)
    tasks = []
    for name, grp in frame.groupby("series", sort=False):
        hist = grp[["ds", "y"]].reset_index(drop=True)
        region = grp["region"].iloc[0]
        future = pd.DataFrame({"ds": fut})
        if counts is not None:
            weights = pd.Series({region: 1.0}) if pd.notna(region) else series.region_weights
            regs = calendar_regressors(counts, weights)
            hist = hist.join(regs, on="ds")
            future = future.join(regs, on="ds")
        tasks.append(SeriesTask(name, grp["level"].iloc[0], hist, future, cfg,
                                (prophet_params or {}).get(name, ()), (models or {}).get(name), baselines))
    order = {n: i for i, n in enumerate(names)}
    return sorted(tasks, key=lambda t: order[t.series])


@dataclass
class Backtest:
    """Scores per series, model, prior scales and cutoff, the held-out predictions, and notes."""

    rows: pd.DataFrame
    predictions: pd.DataFrame
    notes: pd.DataFrame


ROW_COLUMNS = ["series", "level", "model", "changepoint_prior_scale", "seasonality_prior_scale", "cutoff",
               "periods", "mase", "smape", "coverage", "mae"]
PRED_COLUMNS = ["series", "level", "model", "changepoint_prior_scale", "seasonality_prior_scale", "cutoff", "ds",
                "y", "yhat", "yhat_lower", "yhat_upper"]


def _notes(results: list[dict], stage: str) -> pd.DataFrame:
    rows = [(r["series"], stage, n) for r in results for n in r["notes"]]
    return pd.DataFrame(rows, columns=["series", "stage", "note"])


def summarise_notes(notes: pd.DataFrame) -> pd.DataFrame:
    """Notes grouped by text (dates stripped): how many series carry each, and a few of them."""
    n = notes.assign(note=notes["note"].str.replace(r" \(cutoff \d{4}-\d{2}-\d{2}\)", "", regex=True))
    g = n.groupby(["stage", "note"], sort=False)["series"]
    out = pd.DataFrame({"series": g.nunique(), "examples": g.agg(lambda s: ", ".join(s.drop_duplicates()[:3]))})
    return out.reset_index().sort_values(["stage", "series"], ascending=[True, False], ignore_index=True)


def run_backtests(tasks: Sequence[SeriesTask], *, engine: str = "joblib", n_jobs: int | None = None,
                  dask_address: str | None = None) -> Backtest:
    """Backtest every task's series (fanned out); see :func:`backtest_series`."""
    results = fan_out(backtest_series, tasks, engine=engine, n_jobs=n_jobs, dask_address=dask_address)
    rows = pd.DataFrame([r for res in results for r in res["rows"]], columns=ROW_COLUMNS)
    preds = [p for res in results for p in res["predictions"]]
    predictions = (pd.concat(preds, ignore_index=True)[PRED_COLUMNS] if preds
                   else pd.DataFrame(columns=PRED_COLUMNS))
    return Backtest(rows, predictions, _notes(results, "backtest"))


#: Prophet's own defaults (changepoint, seasonality prior scale), used when nothing can be tuned.
DEFAULT_PRIOR_SCALES = (0.05, 10.0)


def grid_scores(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean backtest MASE of each (changepoint, seasonality) prior-scale pair, per level and over
    all levels (``all``). Each series' MASE is averaged over its cutoffs first, so every series
    weighs the same."""
    p = rows[(rows["model"] == "prophet")].dropna(subset=["mase"])
    if p.empty:
        raise ValueError("no Prophet backtest scores to choose prior scales from")
    keys = ["changepoint_prior_scale", "seasonality_prior_scale"]
    per_series = p.groupby(["level", "series", *keys], sort=False)["mase"].mean().reset_index()
    parts = [grp.groupby(keys, sort=False)["mase"].agg(["mean", "count"]).reset_index().assign(level=level)
             for level, grp in [*per_series.groupby("level", sort=False), ("all", per_series)]]
    out = pd.concat(parts, ignore_index=True).rename(columns={"mean": "mean_mase", "count": "series"})
    return out[["level", *keys, "mean_mase", "series"]]


def choose_prior_scales(rows: pd.DataFrame) -> pd.DataFrame:
    """Per level, the prior-scale pair with the lowest mean MASE (:func:`grid_scores`).

    Pooled over the level's series, so one noisy series cannot pick the setting; a tie goes to
    the earlier grid entry. The ``all`` row serves levels that were not tuned themselves.
    """
    scores = grid_scores(rows)
    best = scores.loc[scores.groupby("level", sort=False)["mean_mase"].idxmin()]
    return best.reset_index(drop=True)


def prior_scales_for(level: str, chosen: pd.DataFrame) -> tuple[float, float]:
    """The chosen pair for a level, or the pooled ``all`` pair for a level that was not tuned."""
    row = chosen[chosen["level"] == level]
    if row.empty:
        row = chosen[chosen["level"] == "all"]
    r = row.iloc[0]
    return float(r["changepoint_prior_scale"]), float(r["seasonality_prior_scale"])


def at_chosen_scales(frame: pd.DataFrame, chosen: pd.DataFrame) -> pd.DataFrame:
    """Backtest rows (or predictions) with Prophet only at its level's chosen prior scales."""
    keep = frame["model"] != "prophet"
    for level in frame["level"].unique():
        cps, sps = prior_scales_for(level, chosen)
        keep |= ((frame["level"] == level) & (frame["model"] == "prophet")
                 & np.isclose(frame["changepoint_prior_scale"], cps)
                 & np.isclose(frame["seasonality_prior_scale"], sps))
    return frame[keep].reset_index(drop=True)


def select_models(rows: pd.DataFrame, series: Sequence[str] | None = None,
                  levels: dict[str, str] | None = None) -> pd.DataFrame:
    """Per series, the model with the lowest mean MASE over the backtest's cutoffs.

    ``rows`` must hold one Prophet setting per series (see :func:`at_chosen_scales`). Only models
    scored at every cutoff compete; a tie goes to the simpler model (registry order). Where
    MASE is undefined (a flat training window) the mean absolute error decides. Series without
    backtest rows get the fallback, with the reason in ``note``.
    """
    out = []
    order = {m: i for i, m in enumerate(model_names())}  # tie-break: registry order
    for name, grp in rows.groupby("series", sort=False):
        n_cut = grp["cutoff"].nunique()
        agg = grp.groupby("model").agg(mase=("mase", "mean"), smape=("smape", "mean"),
                                       coverage=("coverage", "mean"), mae=("mae", "mean"),
                                       cutoffs=("cutoff", "nunique"))
        agg = agg[agg["cutoffs"] == n_cut]
        if agg.empty:  # no model was scored at every cutoff: the fallback below takes the series
            continue
        key = "mase" if agg["mase"].notna().all() else "mae"
        agg = agg.assign(rank=agg.index.map(order)).sort_values([key, "rank"])
        best = agg.iloc[0]
        sn = agg["mase"].get("seasonal_naive", np.nan)
        out.append({"series": name, "level": grp["level"].iloc[0], "model": agg.index[0],
                    "mase": best["mase"], "smape": best["smape"], "coverage": best["coverage"],
                    "seasonal_naive_mase": sn, "beats_seasonal_naive": bool(best["mase"] < sn),
                    "runner_up": agg.index[1] if len(agg) > 1 else None, "cutoffs": n_cut,
                    "decided_by": key, "note": ""})
    done = {r["series"] for r in out}
    for name in series or []:
        if name not in done:
            out.append({"series": name, "level": (levels or {}).get(name), "model": "moving_average",
                        "mase": np.nan, "smape": np.nan, "coverage": np.nan, "seasonal_naive_mase": np.nan,
                        "beats_seasonal_naive": False, "runner_up": None, "cutoffs": 0, "decided_by": "fallback",
                        "note": "no backtest possible: moving-average fallback"})
    return pd.DataFrame(out)


def nested_selection(rows: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """An honest score of "pick the backtest winner": at each cutoff, the model with the lowest
    mean MASE over the earlier origins whose held-out window had ended by then is scored on
    this cutoff's window, beside the seasonal naive.

    Choosing and scoring on the same periods flatters the winner (it was picked for being lucky
    there too); this measures the selection rule on periods it did not see.
    """
    order = {m: i for i, m in enumerate(model_names())}  # tie-break: registry order
    window_end = predictions.groupby(["series", "cutoff"])["ds"].max().rename("window_end")
    r = rows.join(window_end, on=["series", "cutoff"])
    out = []
    for name, grp in r.groupby("series", sort=False):
        for cutoff, now in grp.groupby("cutoff"):
            past = grp[grp["window_end"] <= cutoff].groupby("model")["mase"].agg(["mean", "count"])
            past = past[past["count"] == past["count"].max()].dropna() if len(past) else past
            if past.empty:
                continue
            pick = past.assign(rank=past.index.map(order)).sort_values(["mean", "rank"]).index[0]
            scores = now.set_index("model")["mase"]
            if pick in scores.index and "seasonal_naive" in scores.index:
                out.append({"series": name, "level": now["level"].iloc[0], "cutoff": cutoff, "model": pick,
                            "mase": scores[pick], "seasonal_naive_mase": scores["seasonal_naive"]})
    return pd.DataFrame(out, columns=["series", "level", "cutoff", "model", "mase", "seasonal_naive_mase"])


# -- Interval calibration on the backtest ---------------------------------------------------

def interval_scores(pred: pd.DataFrame) -> np.ndarray:
    """How far each actual lies out, in units of the interval's half on its side: 1 = on the bound.

    Points whose side of the interval has zero width (a flat series) are left out (NaN).
    """
    y, yhat = pred["y"].to_numpy(float), pred["yhat"].to_numpy(float)
    side = np.where(y >= yhat, pred["yhat_upper"].to_numpy(float) - yhat, yhat - pred["yhat_lower"].to_numpy(float))
    err = np.abs(y - yhat)
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.where(side > 0, err / side, np.where(err == 0, 0.0, np.nan))
    return r


def _conformal_quantile(r: np.ndarray, level: float) -> float:
    """The ceil((n + 1) * level)-th smallest score: the split-conformal quantile."""
    r = np.sort(r[np.isfinite(r)])
    if not len(r):
        return np.nan
    k = int(np.ceil((len(r) + 1) * level))
    return float(r[min(k, len(r)) - 1])


def interval_factors(predictions: pd.DataFrame, level: float = 0.8, min_points: int = 20) -> pd.DataFrame:
    """Per series level and model: the factor that stretches the model's own interval so that
    ``level`` of the backtest's held-out values fall inside it (split-conformal calibration).

    A factor above 1 means the model's interval was too narrow: Prophet's, for example, comes
    from the residual noise of an in-sample fit, which is smaller than the error out of sample.
    Pooled over the level's series; a level with fewer than ``min_points`` scored points takes
    the model's factor pooled over all levels.
    """
    p = predictions.assign(r=interval_scores(predictions)).dropna(subset=["r"])
    by_model = {m: (_conformal_quantile(g["r"].to_numpy(), level), len(g)) for m, g in p.groupby("model")}
    out = []
    for (lv, model), g in p.groupby(["level", "model"], sort=False):
        if len(g) >= min_points:
            out.append({"level": lv, "model": model, "factor": _conformal_quantile(g["r"].to_numpy(), level),
                        "points": len(g), "pooled_over": lv})
        else:
            f, n = by_model[model]
            out.append({"level": lv, "model": model, "factor": f, "points": n, "pooled_over": "all levels"})
    return pd.DataFrame(out, columns=["level", "model", "factor", "points", "pooled_over"])


def apply_factors(frame: pd.DataFrame, factors: pd.DataFrame) -> pd.DataFrame:
    """Stretch (or shrink) each row's interval around ``yhat`` by its level and model's factor."""
    f = frame.merge(factors[["level", "model", "factor"]], on=["level", "model"], how="left")["factor"]
    f = f.fillna(1.0).to_numpy()
    out = frame.copy()
    yhat = out["yhat"].to_numpy(float)
    out["yhat_lower"] = np.maximum(yhat - f * (yhat - out["yhat_lower"].to_numpy(float)), 0.0)
    out["yhat_upper"] = yhat + f * (out["yhat_upper"].to_numpy(float) - yhat)
    return out


def calibrated_predictions(predictions: pd.DataFrame, level: float = 0.8, min_points: int = 20) -> pd.DataFrame:
    """The backtest's predictions with intervals calibrated as they could have been at each cutoff:
    factors learnt only from held-out periods known by then (earlier origins, dated up to the
    cutoff). The first cutoff has nothing to learn from and is left out."""
    out = []
    for cutoff in sorted(predictions["cutoff"].unique()):
        known = predictions[(predictions["cutoff"] < cutoff) & (predictions["ds"] <= cutoff)]
        if len(known):
            now = predictions[predictions["cutoff"] == cutoff]
            out.append(apply_factors(now, interval_factors(known, level, min_points)))
    return pd.concat(out, ignore_index=True) if out else predictions.iloc[:0]


def calibrated_coverage(predictions: pd.DataFrame, level: float = 0.8, min_points: int = 20) -> pd.DataFrame:
    """Per series, model and cutoff: the share of held-out values inside the calibrated interval
    (:func:`calibrated_predictions`)."""
    c = calibrated_predictions(predictions, level, min_points)
    inside = (c["y"] >= c["yhat_lower"]) & (c["y"] <= c["yhat_upper"])
    return (c.assign(coverage_calibrated=inside.astype(float))
            .groupby(["series", "model", "cutoff"], sort=False)["coverage_calibrated"].mean().reset_index())


def run_forecasts(tasks: Sequence[SeriesTask], *, engine: str = "joblib", n_jobs: int | None = None,
                  dask_address: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Forecast every task's series with its chosen model (fanned out); returns (forecast, notes)."""
    results = fan_out(forecast_series, tasks, engine=engine, n_jobs=n_jobs, dask_address=dask_address)
    cols = ["series", "level", "ds", "yhat", "yhat_lower", "yhat_upper", "model"]
    forecast = pd.concat([r["forecast"] for r in results], ignore_index=True)[cols]
    return forecast, _notes(results, "forecast")


def headline(winners: pd.DataFrame, rows: pd.DataFrame, level: str = "category") -> dict:
    """The checks the report states for a level's series: how many winners beat the seasonal
    naive on backtest MASE, and the share of held-out periods inside the winners' 80% intervals,
    raw and calibrated (the calibrated one only at cutoffs that had earlier ones to learn from)."""
    w = winners[(winners["level"] == level) & (winners["cutoffs"] > 0)]
    chosen = rows.merge(w[["series", "model"]], on=["series", "model"])

    def pooled(col: str) -> float:
        c = chosen.dropna(subset=[col])
        return float((c[col] * c["periods"]).sum() / c["periods"].sum()) if len(c) else np.nan

    return {"series": int(len(w)), "beat_seasonal_naive": int(w["beats_seasonal_naive"].sum()),
            "share_beating_seasonal_naive": float(w["beats_seasonal_naive"].mean()) if len(w) else np.nan,
            "interval_coverage_raw": pooled("coverage"),
            "interval_coverage": pooled("coverage_calibrated") if "coverage_calibrated" in chosen else np.nan}


# -- The run, step by step ------------------------------------------------------------------

class DemandForecaster:
    """One measure's forecasting run, one step per method so the notebook can show each.

    ``tune`` -> ``backtest`` -> ``select`` -> ``calibrate`` -> ``forecast`` (or ``run`` for all).
    Prophet's prior scales are tuned on the series of ``tune_levels`` (big enough to tell the
    grid's pairs apart); other levels take the pair pooled over the tuned ones. Pass
    ``prior_scales`` (a ``prior_scales_`` table of an earlier run) to skip tuning.
    Fitted state: ``prior_scales_``, ``grid_``, ``backtest_``, ``predictions_``, ``winners_``,
    ``factors_``, ``forecast_``, ``notes_`` and ``seconds_`` (wall time per step).
    """

    def __init__(self, config: ForecastConfig | None = None, *, calendar: EventCalendar | None = None,
                 grid: Sequence[tuple[float, float]] = DEFAULT_GRID,
                 tune_levels: Sequence[str] = ("total", "category"), prior_scales: pd.DataFrame | None = None,
                 engine: str = "joblib", n_jobs: int | None = None, dask_address: str | None = None):
        self.config = config or ForecastConfig()
        self.calendar, self.grid, self.tune_levels = calendar, tuple(map(tuple, grid)), tuple(tune_levels)
        self.prior_scales = prior_scales
        self.engine, self.n_jobs, self.dask_address = engine, n_jobs, dask_address
        self.notes_ = pd.DataFrame(columns=["series", "stage", "note"])
        self.seconds_: dict[str, float] = {}

    def _fan(self) -> dict:
        return {"engine": self.engine, "n_jobs": self.n_jobs, "dask_address": self.dask_address or None}

    def _note(self, notes: pd.DataFrame) -> None:
        self.notes_ = pd.concat([self.notes_, notes], ignore_index=True).drop_duplicates(ignore_index=True)

    def _find_peak(self, series: DemandSeries) -> None:
        """The shop's seasonal peak (:func:`guards.seasonal_peak` of the total demand), which the
        backtest's windows must hold; found from the series each step is given, so a forecaster run
        again on other series does not keep the first one's peak."""
        frame = series.frame
        first = "total" if "total" in set(frame["level"]) else frame["level"].iloc[0]
        total = frame[frame["level"] == first].groupby("ds", as_index=False)["y"].sum()
        self.peak_ = guards.seasonal_peak(total, self.config.freq)
        self.config = replace(self.config, peak=self.peak_)

    def tune(self, series: DemandSeries) -> pd.DataFrame:
        """Backtest Prophet's grid on the tuned levels' series; returns the grid's mean MASE per level."""
        t0 = time.perf_counter()
        self._find_peak(series)
        names = series.frame.loc[series.frame["level"].isin(self.tune_levels), "series"].unique().tolist()
        if not names:
            raise ValueError(f"no series of the tuned levels {self.tune_levels} to tune Prophet on")
        tasks = make_tasks(series, self.calendar, self.config, names, {n: self.grid for n in names})
        self.grid_backtest_ = run_backtests(tasks, **self._fan())
        self._note(self.grid_backtest_.notes)
        scored = self.grid_backtest_.rows
        if scored[scored["model"] == "prophet"]["mase"].notna().any():
            self.grid_ = grid_scores(scored)
            self.prior_scales_ = choose_prior_scales(scored)
        else:
            # Too little history for a single backtest window: nothing to choose on, so Prophet
            # keeps its own defaults, and the backtest's fallback picks the model honestly.
            keys = ["changepoint_prior_scale", "seasonality_prior_scale"]
            self.grid_ = pd.DataFrame(columns=["level", *keys, "mean_mase", "series"])
            self.prior_scales_ = pd.DataFrame([{"level": "all", "changepoint_prior_scale": DEFAULT_PRIOR_SCALES[0],
                                                "seasonality_prior_scale": DEFAULT_PRIOR_SCALES[1],
                                                "mean_mase": np.nan, "series": 0}])
            self._note(pd.DataFrame([{"series": "all", "stage": "tune",
                                      "note": "too little history to backtest Prophet's prior scales; "
                                              f"Prophet's defaults {DEFAULT_PRIOR_SCALES} are used"}]))
        self.seconds_["tune"] = time.perf_counter() - t0
        return self.grid_

    def backtest(self, series: DemandSeries) -> pd.DataFrame:
        """Backtest every series (Prophet at its level's chosen pair); tuned series reuse their runs."""
        t0 = time.perf_counter()
        self._find_peak(series)
        if not hasattr(self, "prior_scales_"):
            if self.prior_scales is None:
                raise RuntimeError("call tune() first, or pass prior_scales")
            self.prior_scales_ = self.prior_scales
        done = Backtest(pd.DataFrame(columns=ROW_COLUMNS), pd.DataFrame(columns=PRED_COLUMNS), pd.DataFrame())
        if hasattr(self, "grid_backtest_"):
            g = self.grid_backtest_
            done = Backtest(at_chosen_scales(g.rows, self.prior_scales_),
                            at_chosen_scales(g.predictions, self.prior_scales_), g.notes)
        levels = series.frame.drop_duplicates("series").set_index("series")["level"]
        rest = [n for n in series.names if n not in set(done.rows["series"])]
        params = {n: (prior_scales_for(levels[n], self.prior_scales_),) for n in rest}
        new = run_backtests(make_tasks(series, self.calendar, self.config, rest, params), **self._fan())
        self._note(new.notes)
        rows = pd.concat([r for r in (done.rows, new.rows) if len(r)] or [done.rows], ignore_index=True)
        preds = pd.concat([p for p in (done.predictions, new.predictions) if len(p)] or [done.predictions],
                          ignore_index=True)
        cov = calibrated_coverage(preds, self.config.level)
        self.backtest_ = rows.merge(cov, on=["series", "model", "cutoff"], how="left")
        self.predictions_ = preds
        windows = preds.groupby("cutoff", as_index=False)["ds"].max().rename(columns={"ds": "end"})
        self.peak_tested_ = guards.peak_tested(self.peak_, windows)
        self.seconds_["backtest"] = time.perf_counter() - t0
        return self.backtest_

    def select(self, series: DemandSeries) -> pd.DataFrame:
        """Each series' backtest winner (series too short for a backtest get the fallback)."""
        levels = series.frame.drop_duplicates("series").set_index("series")["level"].to_dict()
        self.winners_ = select_models(self.backtest_, series.names, levels)
        return self.winners_

    def calibrate(self) -> pd.DataFrame:
        """Interval factors per level and model from every held-out period of the backtest."""
        self.factors_ = interval_factors(self.predictions_, self.config.level)
        return self.factors_

    def forecast(self, series: DemandSeries) -> pd.DataFrame:
        """Refit each series' winner on its whole history; calibrated intervals over the horizon."""
        t0 = time.perf_counter()
        levels = series.frame.drop_duplicates("series").set_index("series")["level"]
        models = self.winners_.set_index("series")["model"].to_dict()
        params = {n: (prior_scales_for(levels[n], self.prior_scales_),) for n in series.names}
        tasks = make_tasks(series, self.calendar, self.config, series.names, params, models)
        raw, notes = run_forecasts(tasks, **self._fan())
        self._note(notes)
        gated = self._gate(series, self._calibrated(raw), tasks)
        self.anchor_, self.anchor_scores_ = guards.choose_anchor(getattr(self, "predictions_", pd.DataFrame(
            columns=PRED_COLUMNS)), self.winners_)
        categories = series.frame.drop_duplicates("series").set_index("series")["category"]
        self.forecast_ = guards.reconcile(gated, categories, self.anchor_)
        self.coherence_ = guards.incoherence(self.forecast_, categories)
        if (self.coherence_["largest_gap"] > guards.RECONCILE_TOLERANCE).any():
            raise RuntimeError(f"forecast levels do not add up after reconciliation:\n{self.coherence_}")
        # What ships is the reconciled forecast: the gate looks at it once more, and says what fails.
        after = guards.sanity_gate(series.frame, self.forecast_, self.config.horizon, self.untested_peak())
        self.gate_after_reconciliation_ = after[~after["passed"]].reset_index(drop=True)
        self.seconds_["forecast"] = time.perf_counter() - t0
        return self.forecast_

    def untested_peak(self) -> pd.Timestamp | None:
        """The seasonal peak when no backtest window held it (the gate is stricter around it), else None."""
        peak = getattr(self, "peak_", None)
        return None if peak is None or getattr(self, "peak_tested_", False) else peak

    def _calibrated(self, raw: pd.DataFrame) -> pd.DataFrame:
        factors = getattr(self, "factors_", None)
        return apply_factors(raw, factors) if factors is not None and len(factors) else raw

    def _gate(self, series: DemandSeries, forecast: pd.DataFrame, tasks: list[SeriesTask]) -> pd.DataFrame:
        """The sanity gate (:func:`guards.sanity_gate`): a series whose forecast fails falls back to
        its best baseline, then to the moving average if that fails too. ``gate_`` keeps every
        series' check, ``fallbacks_`` the series that changed model and why."""
        band = self.untested_peak()
        horizon = self.config.horizon
        self.gate_ = guards.sanity_gate(series.frame, forecast, horizon, band)
        failed = self.gate_[~self.gate_["passed"]]
        self.fallbacks_ = pd.DataFrame(columns=["series", "model", "reason", "fallback", "fallback_passed"])
        if failed.empty:
            return forecast
        rows = getattr(self, "backtest_", pd.DataFrame(columns=ROW_COLUMNS))
        lengths = series.frame.groupby("series").size()
        best = guards.best_baselines(rows, failed["series"].tolist(), baseline_names(),
                                     (lengths > self.config.season_length).to_dict())
        by_name = {t.series: t for t in tasks}
        out = forecast[~forecast["series"].isin(failed["series"])]
        fixed, records = [], []
        for r in failed.itertuples():
            # The best baseline first, then the simplest; never the model that just failed.
            candidates = [m for m in dict.fromkeys([best[r.series], "moving_average"]) if m != r.model]
            f, fallback, passed = forecast[forecast["series"] == r.series], r.model, False
            for candidate in candidates:
                g, _ = run_forecasts([replace(by_name[r.series], model=candidate)], engine="serial")
                g = self._calibrated(g)
                f, fallback = g, candidate
                passed = bool(guards.sanity_gate(series.frame, g, horizon, band).iloc[0]["passed"])
                if passed:
                    break
            fixed.append(f)
            records.append({"series": r.series, "model": r.model, "reason": r.reason, "fallback": fallback,
                            "fallback_passed": passed})
            what = (f"{fallback} instead" if fallback != r.model else "no baseline left to fall back to, so it is "
                    "shipped with this warning")
            self._note(pd.DataFrame([{"series": r.series, "stage": "gate",
                                      "note": f"{r.model} forecast failed the sanity gate ({r.reason}); {what}"}]))
        self.fallbacks_ = pd.DataFrame(records, columns=self.fallbacks_.columns)
        order = {n: i for i, n in enumerate(forecast["series"].drop_duplicates())}
        return (pd.concat([out, *fixed], ignore_index=True)
                .sort_values(["series", "ds"], key=lambda c: c.map(order) if c.name == "series" else c,
                             kind="stable", ignore_index=True))

    def run(self, series: DemandSeries) -> "DemandForecaster":
        """All steps in order (tuning skipped when ``prior_scales`` was given)."""
        if self.prior_scales is None:
            self.tune(series)
        self.backtest(series)
        self.select(series)
        self.calibrate()
        self.forecast(series)
        return self


class ForecasterReport:
    """What notebook 08 shows of a :class:`DemandForecaster`, step by step. Each step returns None (a
    table, a chart's input) or "" (a sentence) when the history held no backtest window, and the
    backtest step says once why, so the notebook's cells need no branches."""

    def __init__(self, forecaster: DemandForecaster):
        self.f = forecaster

    @property
    def compared(self) -> bool:
        """Whether the backtest had at least one window to compare the models on."""
        rows = getattr(self.f, "backtest_", None)
        return rows is not None and rows["cutoff"].nunique() > 0

    def tune_note(self, engine: str) -> str:
        grid = self.f.grid_
        if grid.empty:
            return _("Too little history for a backtest window: Prophet keeps its default prior scales {scales}."
                     ).format(scales=DEFAULT_PRIOR_SCALES)
        where = engine if not self.f.dask_address else "dask"
        return _("Prophet grid: {pairs} pairs x {series} series on {engine} in {seconds} s").format(
            pairs=len(self.f.grid), series=grid["series"].max(), engine=where, seconds=f"{self.f.seconds_['tune']:.0f}")

    def tuned_grid(self) -> pd.DataFrame | None:
        return None if self.f.grid_.empty else self.f.grid_

    def backtest_note(self, series: DemandSeries) -> str:
        rows = self.f.backtest_
        if self.compared:
            return _("Backtest: {series} series, cutoffs {cutoffs}; {seconds} s").format(
                series=rows["series"].nunique(),
                cutoffs=", ".join(sorted(rows["cutoff"].dt.strftime("%Y-%m-%d").unique())),
                seconds=f"{self.f.seconds_['backtest']:.0f}")
        return _("The history ({periods} {units}) is too short for a single backtest window of {horizon} {units} after "
                 "a minimal training stretch: no model comparison, each series gets the fallback model named in the "
                 "notes, and the sections that compare models below stay empty.").format(
            periods=series.summary()["periods"].max(), horizon=self.f.config.horizon,
            units=period_word(self.f.config.unit))

    def notes(self) -> pd.DataFrame | None:
        """Why some series lack a model (:func:`summarise_notes`); None when every series had them all."""
        notes = summarise_notes(self.f.notes_)
        return notes if len(notes) else None

    def rows(self) -> pd.DataFrame | None:
        return self.f.backtest_ if self.compared else None

    def winners(self) -> pd.DataFrame | None:
        return self.f.winners_ if self.compared else None

    def fallback_note(self) -> str:
        return "" if self.compared else _("Every series uses the fallback: {models}").format(
            models=self.f.winners_["model"].value_counts().to_dict())

    def level_summary(self) -> pd.DataFrame | None:
        return level_summary(self.f.backtest_, self.f.winners_) if self.compared else None

    def nested_summary(self) -> pd.DataFrame | None:
        return nested_summary(self.f.backtest_, self.f.predictions_) if self.compared else None

    def calibration_factors(self) -> pd.DataFrame | None:
        """The interval factors learnt on earlier cutoffs (:meth:`DemandForecaster.calibrate`), model x level."""
        if not self.compared:
            return None
        return self.f.calibrate().pivot(index="model", columns="level", values="factor")

    def gate_table(self) -> pd.DataFrame | None:
        """The series whose forecast failed the sanity gate, why, and what was shipped instead."""
        fb = getattr(self.f, "fallbacks_", None)
        return fb if fb is not None and len(fb) else None

    def gate_note(self) -> str:
        """One sentence on the sanity gate: how many series passed, and the band used."""
        gate, unit = self.f.gate_, self.f.config.unit
        strict = (_(" ({band} times within {days} days of the untested peak's anniversary)").format(
            band=f"{guards.UNTESTED_PEAK_BAND:g}", days=guards.PEAK_WINDOW_DAYS)
            if self.f.untested_peak() is not None else "")
        failed = int((~gate["passed"]).sum())
        out = _("Sanity gate: {passed} of {total} forecasts stay within {level_band} times their recent level and the "
                "same {units} a year earlier, and within {peak_band} times their history's highest {unit}{strict}."
                ).format(passed=len(gate) - failed, total=len(gate), level_band=f"{guards.LEVEL_BAND:g}",
                         units=period_word(unit), peak_band=f"{guards.PEAK_BAND:g}",
                         unit=period_word(unit, plural=False), strict=strict)
        fb = getattr(self.f, "fallbacks_", pd.DataFrame())
        if len(fb):
            replaced = fb[fb["fallback"] != fb["model"]]
            still = replaced[~replaced["fallback_passed"]]
            kept = fb[fb["fallback"] == fb["model"]]
            # One whole sentence per case (the counts that are zero are left out); English as it always read.
            sentences = {
                (True, False, False): _(" {replaced} failed and were replaced by a baseline (below)."),
                (True, True, False): _(" {replaced} failed and were replaced by a baseline (below), {still} of which "
                                       "are still outside the band."),
                (False, False, True): _("; {kept} failed with no baseline left to fall back to and are shipped with "
                                        "that warning."),
                (True, False, True): _(" {replaced} failed and were replaced by a baseline (below); {kept} failed with "
                                       "no baseline left to fall back to and are shipped with that warning."),
                (True, True, True): _(" {replaced} failed and were replaced by a baseline (below), {still} of which are "
                                      "still outside the band; {kept} failed with no baseline left to fall back to and "
                                      "are shipped with that warning."),
            }
            out += sentences[(bool(len(replaced)), bool(len(still)), bool(len(kept)))].format(
                replaced=len(replaced), still=len(still), kept=len(kept))
        after = getattr(self.f, "gate_after_reconciliation_", pd.DataFrame())
        if len(after):
            out += _(" After reconciliation {count} forecast(s) fall outside the band: {forecasts}.").format(
                count=len(after), forecasts="; ".join(f"{r.series} ({r.reason})" for r in after.itertuples()))
        return out

    def peak_note(self) -> str:
        """Whether a backtest window held the history's seasonal peak."""
        peak = getattr(self.f, "peak_", None)
        if peak is None:
            return _("The history has no seasonal peak that stands out (or under a year of it): nothing to test.")
        if self.f.untested_peak() is None:
            return _("The history's seasonal peak ({date}) lies in a backtest window: the models were tested on it."
                     ).format(date=f"{peak:%Y-%m-%d}")
        return _("The history's seasonal peak ({date}) was never in a backtest window (too little history before it), "
                 "so no model was tested on a peak: around its anniversary the sanity gate allows at most {band} times "
                 "the history's highest {unit}.").format(date=f"{peak:%Y-%m-%d}", band=f"{guards.UNTESTED_PEAK_BAND:g}",
                                                         unit=period_word(self.f.config.unit, plural=False))

    def reconciliation_note(self) -> str:
        """How the levels were made to add up, and what it changed."""
        anchor = getattr(self.f, "anchor_", "total")
        scores = getattr(self.f, "anchor_scores_", pd.DataFrame())
        levels = set(self.f.forecast_["level"])
        below = tuple(lv for lv in ("category", "region") if lv in levels)
        if "total" not in levels or not below:
            return _("Only one level is forecast: nothing to reconcile.")
        if anchor == "total":  # one whole clause per case: the levels' words sit differently in other languages
            how = {("category",): _("top-down: the total forecast is kept and the categories are scaled to it"),
                   ("region",): _("top-down: the total forecast is kept and the regions are scaled to it"),
                   ("category", "region"): _("top-down: the total forecast is kept and the categories and regions "
                                             "are scaled to it")}[below]
        else:
            how = (_("bottom-up: the total is the sum of the category forecasts, and the regions are scaled to it")
                   if "region" in levels else _("bottom-up: the total is the sum of the category forecasts"))
        why = (_(", because it forecast the total better in the backtest (mean absolute error {best} against {worst} "
                 "over {cutoffs} cutoffs)").format(best=f"{scores['mae'].min():,.1f}", worst=f"{scores['mae'].max():,.1f}",
                                                   cutoffs=int(scores["cutoffs"].iloc[0]))
               if len(scores) else _(" (no backtest to choose by: the total is kept)"))
        return _("Reconciliation, {how}{why}. Each level now adds up to the total in every {unit}.").format(
            how=how, why=why, unit=period_word(self.f.config.unit, plural=False))

    def headline_note(self) -> str:
        if not self.compared:
            return ""
        head = headline(self.f.winners_, self.f.backtest_, "category")
        beat = _("Category series whose chosen model beats the seasonal naive on backtest MASE: {beat} of {series} "
                 "({share})").format(beat=head["beat_seasonal_naive"], series=head["series"],
                                     share=f"{head['share_beating_seasonal_naive']:.0%}")
        covered = _("Held-out {units} inside the chosen models' 80% intervals: {raw} (own interval), {calibrated} "
                    "(calibrated on earlier cutoffs)").format(units=period_word(self.f.config.unit),
                                                              raw=f"{head['interval_coverage_raw']:.0%}",
                                                              calibrated=f"{head['interval_coverage']:.0%}")
        return f"{beat}\n{covered}"


def decompose(series: DemandSeries, calendar: EventCalendar | None, name: str, config: ForecastConfig,
              prior_scales: tuple[float, float] = (0.05, 10.0)) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Prophet's parts of one series' history, on the demand scale, and its changepoints.

    The model is the one the forecasts use: on log(1 + demand), log(1 + y) = g + s + h + e, so
    ``trend`` is exp(g) - 1 in demand units and ``yearly``, ``events`` and ``holidays`` are the
    lifts exp(s) - 1 etc. as shares of the trend (0.2 = 20% above it). ``changepoints``: each
    candidate date and the change in the trend's growth there, in % per year.
    """
    task = make_tasks(series, calendar, config, [name])[0]
    model = make_model("prophet", config, derive_seed(config.seed, name, "decompose"), prior_scales)
    model.fit(task.history)
    prophet = model.model if isinstance(model, LogScale) else model
    comp = prophet.components(task.history)
    cols = comp.columns
    events = [c for c in cols if c.startswith("event_") and not c.endswith(("_lower", "_upper"))]
    log_scale = isinstance(model, LogScale)
    back = np.expm1 if log_scale else (lambda v: v)
    lift = (lambda v: np.exp(v) - 1) if log_scale else (lambda v: v)
    y = task.history["y"].to_numpy(float)
    out = pd.DataFrame({
        "ds": task.history["ds"].to_numpy(), "y": y, "fitted": back(comp["yhat"].to_numpy()),
        "trend": back(comp["trend"].to_numpy()),
        "yearly": lift(comp["yearly"].to_numpy()) if "yearly" in cols else 0.0,
        "events": lift(comp[events].sum(axis=1).to_numpy()) if events else 0.0,
        "holidays": lift(comp["public_holidays"].to_numpy()) if "public_holidays" in cols else 0.0,
        "residual": (np.log1p(y) if log_scale else y) - comp["yhat"].to_numpy()})
    cps = prophet.changepoints()
    per_year = cps["slope_change"] * 365.25 / PERIOD_DAYS[config.freq]
    cps["growth_change_pct_per_year"] = 100 * (np.exp(per_year) - 1) if log_scale else per_year
    return out, cps


# -- Tables for the notebook and the artifacts ------------------------------------------------

def compare_on_holdout(history: pd.DataFrame, holdout: int, season_length: int) -> pd.DataFrame:
    """MAPE, sMAPE and MASE of three simple forecasts of the last ``holdout`` periods: the seasonal
    naive, the mean of the preceding ``holdout`` periods, and a flat zero. Shows how the scores
    behave on an intermittent series (many zero periods)."""
    train, test = history.iloc[:-holdout], history.iloc[-holdout:]
    y = train["y"].to_numpy(float)
    sn = y[-season_length:][np.arange(holdout) % season_length]
    forecasts = {"seasonal naive": sn, f"mean of last {holdout}": np.full(holdout, y[-holdout:].mean()),
                 "always zero": np.zeros(holdout)}
    actual = test["y"].to_numpy(float)
    out = compare_scores(y, actual, forecasts, season_length)
    # Absolute-error scores favour the median, which for a mostly-zero series is zero; the
    # total over the window shows what such a forecast would leave on the shelf.
    out["total_vs_actual_pct"] = [100 * (f.sum() - actual.sum()) / actual.sum() if actual.sum() else np.nan
                                  for f in forecasts.values()]
    return out.assign(zero_periods_held_out=int((actual == 0).sum()), periods_held_out=holdout)


def sparsest_series(series: DemandSeries, holdout: int) -> str:
    """The series that sells nothing most often among those whose last ``holdout`` periods hold
    both zero and non-zero demand (the case MAPE cannot score); failing that, the sparsest."""
    tail = series.frame.groupby("series", sort=False).tail(holdout)
    mixed = tail.groupby("series", sort=False)["y"].agg(lambda y: bool((y == 0).any() and (y > 0).any()))
    summary = series.summary()
    pool = summary[summary["series"].map(mixed).fillna(False).astype(bool)]
    pool = pool if len(pool) else summary
    return pool.sort_values(["zero_share", "series"], ascending=[False, True])["series"].iloc[0]


def level_summary(rows: pd.DataFrame, winners: pd.DataFrame) -> pd.DataFrame:
    """Per level: series, how many each model won, and each model's mean backtest MASE."""
    wins = winners.groupby(["level", "model"]).size().unstack(fill_value=0).add_prefix("won_")
    mase_ = rows.groupby(["level", "model"])["mase"].mean().unstack().add_prefix("mase_")
    out = pd.concat([winners.groupby("level").size().rename("series"), wins, mase_], axis=1)
    order = [lv for lv in ("total", "category", "region", "category_region") if lv in out.index]
    return out.reindex(order).fillna({c: 0 for c in wins.columns}).reset_index()


def horizon_totals(forecast: pd.DataFrame, names: Sequence[str] | None = None) -> pd.DataFrame:
    """Per series: the model, the forecast summed over the horizon, and its first and last period."""
    f = forecast if names is None else forecast[forecast["series"].isin(names)]
    g = f.groupby("series", sort=False)
    return pd.DataFrame({"model": g["model"].first(), "from": g["ds"].min(), "to": g["ds"].max(),
                         "forecast_total": g["yhat"].sum().round().astype("int64")}).reset_index()


FORECAST_COLUMNS = ["series", "level", "measure", "ds", "yhat", "yhat_lower", "yhat_upper", "model"]
BACKTEST_COLUMNS = ["series", "level", "measure", "model", "cutoff", "mase", "smape", "coverage",
                    "coverage_calibrated", "periods", "changepoint_prior_scale", "seasonality_prior_scale"]


def artifact_tables(runs: dict[str, "DemandForecaster"]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """forecast.parquet and backtest.parquet from the runs of each measure ('units', 'revenue')."""
    fc_parts, bt_parts = [], []
    for measure, run in runs.items():
        fc_parts.append(run.forecast_.assign(measure=measure)[FORECAST_COLUMNS])
        bt_parts.append(run.backtest_.assign(measure=measure)[BACKTEST_COLUMNS])
    forecast = pd.concat(fc_parts, ignore_index=True)
    backtest = pd.concat(bt_parts, ignore_index=True)
    for frame in (forecast, backtest):
        for col in ("series", "level", "measure", "model"):
            frame[col] = frame[col].astype("string")
    return forecast, backtest


def nested_summary(rows: pd.DataFrame, predictions: pd.DataFrame) -> pd.DataFrame:
    """Per level: mean MASE of the model chosen on earlier cutoffs only, against the seasonal naive's,
    and the share of series where it beats the seasonal naive (see :func:`nested_selection`)."""
    nested = nested_selection(rows, predictions)
    nested = nested.assign(beats_seasonal_naive=nested["mase"] < nested["seasonal_naive_mase"])
    return nested.groupby("level", sort=False)[["mase", "seasonal_naive_mase", "beats_seasonal_naive"]].mean()
