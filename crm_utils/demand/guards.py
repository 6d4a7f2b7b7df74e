"""Guards on the forecasts the kit ships: a sanity gate against each series' own history, the
seasonal peak the backtest must see, and the reconciliation that makes the levels add up.

A model can pass its backtest and still forecast nonsense for weeks it was never tested on (a
December effect learnt from one December). The gate does not judge accuracy, which the backtest
does; it catches the absurd: a forecast far outside anything the series has done. Such a series
falls back to its best baseline, and the notebook and report say which series and why.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from crm_utils.demand.series import PERIOD_DAYS
from crm_utils.i18n import _
from crm_utils.notebook import number

#: A forecast's mean over the horizon may be at most this many times the higher of the series'
#: recent level and its level in the same periods a year earlier, and at least the lower of the
#: two divided by it. Three times is beyond any seasonal swing the history already shows (that
#: swing is in the year-earlier reference), so only a forecast the history cannot explain fails.
LEVEL_BAND = 3.0
#: No forecast period may exceed the history's highest period by more than this factor ...
PEAK_BAND = 2.0
#: ... or by more than this one in the weeks around the anniversary of a seasonal peak that was
#: never in a backtest window (within :data:`PEAK_WINDOW_DAYS`): the models' behaviour at the peak
#: is untested there, so the forecast may only repeat it, with room for a year's growth.
UNTESTED_PEAK_BAND = 1.25
#: Below this many units (or currency units) over the horizon, or in one period, no forecast is
#: called absurd: a small series that sold 3 units in its last 13 weeks may well sell none in the
#: next 13 (Poisson: P(0 | mean 3) = 5%), and a report cannot be misled by single units.
NOISE_FLOOR = 10.0
#: The seasonal peak is the highest centred rolling mean over this many days of total demand ...
PEAK_WINDOW_DAYS = 28
#: ... when it is at least this many times the median of that rolling mean (a flat history has
#: no peak to test) and the history spans a full year.
PEAK_PROMINENCE = 1.5
#: After reconciliation the category (and region) forecasts may differ from the total by at
#: most this share in any period: reconciliation is exact, zero-sum periods included, so a larger
#: gap is a bug and stops the run rather than ship forecasts that disagree.
RECONCILE_TOLERANCE = 1e-6

GATE_COLUMNS = ["series", "model", "passed", "reason", "recent_level", "year_ago_level", "history_max",
                "forecast_mean", "forecast_max"]


def seasonal_peak(history: pd.DataFrame, freq: str) -> pd.Timestamp | None:
    """The period at the centre of the history's highest stretch of demand, or None when the
    history is shorter than a year or has no stretch that stands out (:data:`PEAK_PROMINENCE`)."""
    days = PERIOD_DAYS[freq]
    if len(history) * days < 364:  # 52 weeks or 364 days: a full year
        return None
    window = max(1, PEAK_WINDOW_DAYS // days)
    smooth = history["y"].rolling(window, center=True, min_periods=1).mean()
    median = float(smooth.median())
    top = int(smooth.to_numpy().argmax())
    if smooth.iloc[top] <= 0 or smooth.iloc[top] < PEAK_PROMINENCE * median:
        return None
    return pd.Timestamp(history["ds"].iloc[top])


def peak_tested(peak: pd.Timestamp | None, windows: pd.DataFrame) -> bool:
    """Whether a backtest window (``cutoff``, ``end``) held the peak; True when there is no peak."""
    if peak is None:
        return True
    return bool(((windows["cutoff"] < peak) & (windows["end"] >= peak)).any())


def year_ago_level(history: pd.DataFrame, future_ds: pd.Series) -> float:
    """Mean demand in the periods one year (52 weeks) before the forecast's, when the history holds
    at least half of them; NaN otherwise."""
    earlier = pd.DatetimeIndex(future_ds) - pd.Timedelta(days=364)
    y = history.set_index("ds")["y"].reindex(earlier)
    return float(y.mean()) if y.notna().sum() * 2 >= len(y) else np.nan


def peak_bands(ds: pd.Series, untested_peak: pd.Timestamp | None) -> np.ndarray:
    """The band each forecast period's highest value is held to: :data:`UNTESTED_PEAK_BAND` within
    :data:`PEAK_WINDOW_DAYS` of an untested peak's anniversary, :data:`PEAK_BAND` elsewhere."""
    days = pd.DatetimeIndex(ds)
    if untested_peak is None:
        return np.full(len(days), PEAK_BAND)
    offset = ((days - pd.Timestamp(untested_peak)).days.to_numpy() % 364)
    near = np.minimum(offset, 364 - offset) <= PEAK_WINDOW_DAYS
    return np.where(near, UNTESTED_PEAK_BAND, PEAK_BAND)


def check_forecast(history: pd.DataFrame, forecast: pd.DataFrame, horizon: int,
                   untested_peak: pd.Timestamp | None = None) -> dict:
    """One series' forecast against its own history: the references and, when it fails, why.
    ``untested_peak``: a seasonal peak no backtest window held (see :func:`peak_bands`)."""
    y = history["y"].to_numpy(float)
    yhat = forecast["yhat"].to_numpy(float)
    recent = float(y[-horizon:].mean()) if len(y) else np.nan
    year_ago = year_ago_level(history, forecast["ds"])
    refs = [r for r in (recent, year_ago) if np.isfinite(r)]
    high, low = (max(refs), min(refs)) if refs else (np.nan, np.nan)
    top = float(y.max()) if len(y) else np.nan
    mean, peak = float(yhat.mean()), float(yhat.max())
    reasons = []
    small = max(mean, high if np.isfinite(high) else 0.0) * len(yhat) < NOISE_FLOOR
    if not small and np.isfinite(high) and mean > LEVEL_BAND * max(high, 0.0) and mean > 0:
        text = (_("its mean ({mean} per period) is over {band} times the higher of its recent level ({recent}) and "
                  "the same periods a year earlier ({year_ago})") if np.isfinite(year_ago) else
                _("its mean ({mean} per period) is over {band} times the higher of its recent level ({recent}) and "
                  "the same periods a year earlier (not in the history)"))
        reasons.append(text.format(mean=number(mean), band=f"{LEVEL_BAND:g}", recent=number(recent),
                                   year_ago=number(year_ago)))
    if not small and np.isfinite(low) and low > 0 and mean < low / LEVEL_BAND:
        reasons.append(_("its mean ({mean} per period) is under 1/{band} of the lower of its recent level and the "
                         "same periods a year earlier ({low})").format(mean=number(mean), band=f"{LEVEL_BAND:g}",
                                                                       low=number(low)))
    bands = peak_bands(forecast["ds"], untested_peak)
    over = (yhat > bands * top) & (yhat >= NOISE_FLOOR) if np.isfinite(top) and top > 0 else np.zeros(len(yhat), bool)
    if over.any():
        i = int(np.argmax(np.where(over, yhat / bands, -np.inf)))
        text = (_("its highest period ({peak}) is over {band} times the history's highest ({top}) near the untested "
                  "seasonal peak") if bands[i] < PEAK_BAND else
                _("its highest period ({peak}) is over {band} times the history's highest ({top})"))
        reasons.append(text.format(peak=number(yhat[i]), band=f"{bands[i]:g}", top=number(top)))
    return {"passed": not reasons, "reason": _("; ").join(reasons), "recent_level": recent,
            "year_ago_level": year_ago, "history_max": top, "forecast_mean": mean, "forecast_max": peak}


def sanity_gate(frame: pd.DataFrame, forecast: pd.DataFrame, horizon: int,
                untested_peak: pd.Timestamp | None = None) -> pd.DataFrame:
    """:func:`check_forecast` for every series of ``forecast`` against its history in ``frame``
    (a :class:`DemandSeries` frame): one row per series (:data:`GATE_COLUMNS`)."""
    histories = {name: g[["ds", "y"]] for name, g in frame.groupby("series", sort=False)}
    rows = []
    for name, f in forecast.groupby("series", sort=False):
        h = histories.get(name, pd.DataFrame({"ds": pd.Series(dtype="datetime64[ns]"), "y": pd.Series(dtype=float)}))
        rows.append({"series": name, "model": f["model"].iloc[0], **check_forecast(h, f, horizon, untested_peak)})
    return pd.DataFrame(rows, columns=GATE_COLUMNS)


# -- Reconciliation ----------------------------------------------------------------------------

def _fit_to(f: pd.DataFrame, rows: pd.Series, keys: list[str], target: pd.Series) -> None:
    """Make the series of ``rows`` add up to ``target`` in each ``keys`` group (``["ds"]``, or
    ``["category", "ds"]``), in place: each is scaled by target / their sum, with its interval.

    Where they sum to zero and the target does not (every category forecast 0 on a Sunday the
    total is not), the target is shared out by each series' share of the group's forecast over
    the whole horizon, equally when that is zero too. A group without a target is left alone.
    """
    sub = f.loc[rows]
    idx = pd.MultiIndex.from_frame(sub[keys]) if len(keys) > 1 else pd.Index(sub[keys[0]])
    tgt = target.reindex(idx).to_numpy(float)
    y = sub["yhat"].to_numpy(float)
    parts = sub.groupby(keys)["yhat"].transform("sum").to_numpy(float)
    group = [c for c in keys if c != "ds"]
    per = sub.groupby("series", sort=False).agg(total=("yhat", "sum"), **{c: (c, "first") for c in group})
    whole = per.groupby(group)["total"].transform("sum") if group else pd.Series(per["total"].sum(), per.index)
    count = per.groupby(group)["total"].transform("size") if group else pd.Series(len(per), per.index)
    share = np.where(whole > 0, per["total"] / whole.where(whole > 0), 1.0 / count)
    weight = sub["series"].map(pd.Series(share, index=per.index)).to_numpy(float)
    scaled = parts > 0
    shared = ~scaled & (tgt > 0)
    factor = np.where(scaled, tgt / np.where(scaled, parts, 1.0), 1.0)
    factor = np.where(np.isfinite(factor), factor, 1.0)
    new = np.where(shared, tgt * weight, y * factor)
    lower = np.where(shared, np.minimum(sub["yhat_lower"].to_numpy(float), new), sub["yhat_lower"].to_numpy(float) * factor)
    upper = np.where(shared, np.maximum(sub["yhat_upper"].to_numpy(float), new), sub["yhat_upper"].to_numpy(float) * factor)
    f.loc[rows, "yhat"], f.loc[rows, "yhat_lower"], f.loc[rows, "yhat_upper"] = new, lower, upper


def reconcile(forecast: pd.DataFrame, categories: pd.Series | None = None, anchor: str = "total") -> pd.DataFrame:
    """Forecasts whose levels add up, by proportional scaling (forecast proportions, FPP3 11.2).

    ``anchor="total"`` (top-down): the total forecast is kept; the category forecasts and the
    region forecasts are each scaled, period by period, to sum to it, and each category's
    category x region forecasts to sum to their reconciled category. ``anchor="category"``
    (bottom-up): the total becomes the sum of the category forecasts, then the same. Intervals are
    scaled with their forecast, so they keep their relative width. Levels that are absent are
    left alone; a level that is present alone needs nothing. ``categories`` maps a series name to
    its category (the :class:`DemandSeries` frame has it); category x region series are only
    reconciled with it.
    """
    f = forecast.reset_index(drop=True)
    levels = set(f["level"].astype(str))
    if "total" not in levels or not levels & {"category", "region"}:
        return f
    if anchor not in ("total", "category"):
        raise ValueError(f"anchor must be 'total' (top-down) or 'category' (bottom-up), got {anchor!r}")
    total_rows = f["level"] == "total"
    if anchor == "category" and "category" in levels:
        _fit_to(f, total_rows, ["ds"], f[f["level"] == "category"].groupby("ds")["yhat"].sum())
    total = f.loc[total_rows].groupby("ds")["yhat"].sum()
    for lv in ("category", "region"):
        rows = f["level"] == lv
        if rows.any():
            _fit_to(f, rows, ["ds"], total)
    cr = f["level"] == "category_region"
    if cr.any() and "category" in levels and categories is not None:
        f["category"] = f["series"].map(categories)
        _fit_to(f, cr, ["category", "ds"], f[f["level"] == "category"].groupby(["category", "ds"])["yhat"].sum())
        f = f.drop(columns="category")
    return f


def incoherence(forecast: pd.DataFrame, categories: pd.Series | None = None) -> pd.DataFrame:
    """Per level below the total: the largest relative gap, over the periods, between the level's
    sum and what it must add up to (0 when they add up): the total for categories and regions,
    each category for its category x region series (with ``categories``, as in :func:`reconcile`)."""
    forecast = forecast.reset_index(drop=True)
    total = forecast[forecast["level"] == "total"].groupby("ds")["yhat"].sum()
    rows = []

    def gap(parts: pd.Series, whole: pd.Series) -> float:
        g = ((parts.reindex(whole.index) - whole).abs() / whole.where(whole > 0)).max()
        return float(g) if pd.notna(g) else 0.0

    for lv in ("category", "region"):
        part = forecast[forecast["level"] == lv]
        if len(part) and len(total):
            s = part.groupby("ds")["yhat"].sum()
            rows.append({"level": lv, "sum_over_horizon": float(s.sum()), "parent_over_horizon": float(total.sum()),
                         "largest_gap": gap(s, total)})
    cr = forecast[forecast["level"] == "category_region"]
    if len(cr) and categories is not None:
        cat_of = forecast["series"].map(categories)
        whole = forecast[forecast["level"] == "category"].assign(c=cat_of).groupby(["c", "ds"])["yhat"].sum()
        parts = cr.assign(c=cat_of[cr.index]).groupby(["c", "ds"])["yhat"].sum()
        whole = whole.reindex(parts.index)
        rows.append({"level": "category_region", "sum_over_horizon": float(parts.sum()),
                     "parent_over_horizon": float(whole.sum()), "largest_gap": gap(parts, whole.dropna())})
    return pd.DataFrame(rows, columns=["level", "sum_over_horizon", "parent_over_horizon", "largest_gap"])


def choose_anchor(predictions: pd.DataFrame, winners: pd.DataFrame) -> tuple[str, pd.DataFrame]:
    """Top-down or bottom-up, whichever forecast the total better in the backtest.

    At every cutoff where the total and all categories have their chosen model's predictions, the
    total's own forecast and the sum of the category forecasts are scored against the actual total
    (mean absolute error). Returns the anchor (``"total"`` or ``"category"``) and the scores; the
    total is kept (top-down) when there is nothing to compare.
    """
    chosen = predictions.merge(winners[["series", "model"]], on=["series", "model"])
    tot = chosen[chosen["level"] == "total"]
    cat = chosen[chosen["level"] == "category"]
    n_cats = winners["level"].eq("category").sum()
    complete = cat.groupby("cutoff")["series"].nunique()
    cutoffs = sorted(set(tot["cutoff"]) & set(complete[complete == n_cats].index))
    if not cutoffs or not n_cats:
        return "total", pd.DataFrame(columns=["method", "mae", "cutoffs"])
    t = tot[tot["cutoff"].isin(cutoffs)].set_index(["cutoff", "ds"])
    s = cat[cat["cutoff"].isin(cutoffs)].groupby(["cutoff", "ds"])["yhat"].sum().reindex(t.index)
    scores = pd.DataFrame({"method": ["top-down (keep the total)", "bottom-up (sum of categories)"],
                           "mae": [float((t["y"] - t["yhat"]).abs().mean()), float((t["y"] - s).abs().mean())],
                           "cutoffs": len(cutoffs)})
    return ("category" if scores["mae"].iloc[1] < scores["mae"].iloc[0] else "total"), scores


def best_baselines(rows: pd.DataFrame, names: Sequence[str], baselines: Sequence[str],
                   season_periods: dict[str, bool]) -> dict[str, str]:
    """Per series, the baseline with the lowest backtest MASE (scored at every cutoff); without a
    backtest, the seasonal naive when the series holds more than a season, else the moving average."""
    out = {}
    for name in names:
        r = rows[(rows["series"] == name) & rows["model"].isin(baselines)]
        if len(r):
            n_cut = r["cutoff"].nunique()
            agg = r.groupby("model").agg(mase=("mase", "mean"), mae=("mae", "mean"), cutoffs=("cutoff", "nunique"))
            agg = agg[agg["cutoffs"] == n_cut]
            if len(agg):
                key = "mase" if agg["mase"].notna().all() else "mae"
                order = {b: i for i, b in enumerate(baselines)}
                out[name] = agg.assign(rank=agg.index.map(order)).sort_values([key, "rank"]).index[0]
                continue
        out[name] = "seasonal_naive" if season_periods.get(name) else "moving_average"
    return out
