"""Charts of notebook 08 (demand forecasting): history, Prophet's parts, backtests, coverage, forecast.

Models are drawn in registry order with their registry colour (:mod:`crm_utils.demand.models`);
a chart draws every model present in its data, registered or not.
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

from crm_utils.charts import concise_dates, skippable
from crm_utils.demand.models import colour, in_registry_order
from crm_utils.i18n import N_, _
from crm_utils.notebook import percent

ACTUAL = "#333333"
#: The registry's models (:data:`crm_utils.demand.models.REGISTRY`) as the charts name them: by code
#: where a chart shows the code, with spaces where it shows a name; a model not registered as written.
MODEL_LABELS = {code: label for code, label in (
    (N_("seasonal_naive"), N_("seasonal naive")), (N_("moving_average"), N_("moving average")),
    (N_("ets"), N_("ets")), (N_("prophet"), N_("prophet")))}
#: The levels of :data:`crm_utils.demand.series.LEVELS`, by code as the charts show them.
LEVEL_LABELS = (N_("total"), N_("category"), N_("region"), N_("category_region"))


def _model(code: str, spaced: bool = True) -> str:
    """A model's name in the current language: 'seasonal naive' (``spaced``) or its code 'seasonal_naive'."""
    if code in MODEL_LABELS:
        return _(MODEL_LABELS[code] if spaced else code)
    return code.replace("_", " ") if spaced else code


#: A series' unit per period (:attr:`crm_utils.demand.forecasting.ForecastConfig.unit`), as an axis label.
UNIT_LABELS = {"week": N_("units per week"), "day": N_("units per day")}


def per_unit(period: str) -> str:
    """The axis label of units per ``period`` ('week' or 'day'), marked for translation (the charts
    translate it); another period's as English words."""
    return UNIT_LABELS.get(period, f"units per {period}")


def _level(code: str) -> str:
    """A level's code in the current language ('category_region' stays the code in English)."""
    return _(code) if code in LEVEL_LABELS else code


def _label(name: str) -> str:
    """A series' name for a chart: 'Tents' for 'category=Tents'; the total in the current language."""
    return _(name.replace("category=", "").replace("region=", ""))  # N_("total") in the catalogue


def _dates(ax: plt.Axes) -> None:
    concise_dates(ax)  # month names in the report's language


def _grid(n: int, cols: int = 3, height: float = 2.4) -> tuple[plt.Figure, np.ndarray]:
    rows = int(np.ceil(n / cols))
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, height * rows), sharex=True, squeeze=False)
    for ax in axes.flat[n:]:
        ax.set_visible(False)
    return fig, axes.flat


def demand_chart(frame: pd.DataFrame, names: list[str], unit: str = "units per week") -> plt.Figure:
    """Weekly demand of a few series, each on its own scale."""
    fig, axes = _grid(len(names))
    for ax, name in zip(axes, names):
        s = frame[frame["series"] == name]
        ax.plot(s["ds"], s["y"], color=ACTUAL, lw=1)
        ax.set_title(_label(name), fontsize=10)
        ax.set_ylabel(_(unit), fontsize=8)
        ax.set_ylim(bottom=0)
        _dates(ax)
        ax.tick_params(labelsize=8)
    fig.suptitle(_("Demand: growth, a yearly rhythm and event spikes"), fontweight="bold")
    fig.tight_layout()
    return fig


def components_chart(parts: pd.DataFrame, changepoints: pd.DataFrame, name: str = "total",
                     unit: str = "units per week") -> plt.Figure:
    """Prophet's additive parts of one series: fit, trend g(t) with changepoints, yearly s(t),
    events and holidays h(t), residual e."""
    fig, axes = plt.subplots(5, 1, figsize=(10, 11), sharex=True)
    ax = axes[0]
    ax.plot(parts["ds"], parts["y"], color=ACTUAL, lw=1, label=_("actual"))
    ax.plot(parts["ds"], parts["fitted"], color=colour("prophet"), lw=1, label=_("fitted"))
    ax.set_ylabel(_(unit))
    ax.set_title(_("{series}: demand and Prophet's fit").format(series=_label(name)))
    ax.legend(loc="upper left", fontsize=8)
    ax = axes[1]
    ax.plot(parts["ds"], parts["trend"], color="#4c9a2a")
    big = changepoints[changepoints["growth_change_pct_per_year"].abs() >= 1]
    for ds in big["ds"]:
        ax.axvline(ds, color="#b0b0b0", ls=":", lw=1)
    ax.set_ylabel(_("trend ({unit})").format(unit=_(unit)))
    ax.set_title(_("g(t): trend; dotted: changepoints where growth moved by 1%/year or more ({count} of "
                   "{total} candidates)").format(count=len(big), total=len(changepoints)))
    for ax, col, title in ((axes[2], "yearly", _("s(t): yearly seasonality")),
                           (axes[3], None, _("h(t): retail events and public holidays"))):
        if col:
            ax.plot(parts["ds"], 100 * parts[col], color="#6c8ebf")
        else:
            ax.bar(parts["ds"], 100 * parts["events"], width=6, color="#d9534f", label=_("retail events"))
            ax.bar(parts["ds"], 100 * parts["holidays"], width=6, color="#6c8ebf", label=_("public holidays"))
            ax.legend(loc="upper left", fontsize=8)
        ax.axhline(0, color="black", lw=0.6)
        ax.set_ylabel(_("% of trend"))
        ax.set_title(title)
    ax = axes[4]
    ax.bar(parts["ds"], 100 * parts["residual"], width=6, color="#9e9e9e")
    ax.set_ylabel(_("log points (~%)"))
    ax.set_title(_("e: what is left (residual on the log scale)"))
    _dates(ax)
    fig.tight_layout()
    return fig


@skippable
def grid_chart(grid: pd.DataFrame) -> plt.Figure:
    """Mean backtest MASE of each prior-scale pair, per tuned level; the lowest bar is chosen."""
    g = grid[grid["level"] != "all"].copy()
    g["pair"] = [_("cps {cps}, sps {sps}").format(cps=f"{c:g}", sps=f"{s:g}")
                 for c, s in zip(g["changepoint_prior_scale"], g["seasonality_prior_scale"])]
    g["level"] = [_level(v) for v in g["level"]]
    fig, ax = plt.subplots(figsize=(9, 3.6))
    sns.barplot(data=g, x="pair", y="mean_mase", hue="level", ax=ax, palette="Blues")
    ax.set_xlabel(_("changepoint prior scale (cps), seasonality prior scale (sps)"))
    ax.set_ylabel(_("mean MASE (lower is better)"))
    ax.set_title(_("Prophet's prior scales on the backtests"))
    ax.legend(title=_("level"), loc="lower left", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    return fig


@skippable
def mase_chart(rows: pd.DataFrame, winners: pd.DataFrame, names: list[str]) -> plt.Figure:
    """Backtest MASE per series and model; the winner of each row is boxed."""
    shown = rows[rows["series"].isin(names)]
    models = in_registry_order(shown["model"])
    table = shown.groupby(["series", "model"])["mase"].mean().unstack()[models].reindex(names)
    fig, ax = plt.subplots(figsize=(8, 0.38 * len(names) + 1.4))
    sns.heatmap(table, annot=True, fmt=".2f", cmap="RdYlGn_r", vmin=0, vmax=1.5, cbar_kws={"label": "MASE"}, ax=ax)
    win = winners.set_index("series")["model"]
    for i, name in enumerate(table.index):
        if name in win.index and win[name] in models:
            ax.add_patch(plt.Rectangle((models.index(win[name]), i), 1, 1, fill=False, lw=2.5, ec="black"))
    ax.set_yticklabels([_label(n) for n in table.index], rotation=0)
    ax.set_xticklabels([_model(m, spaced=False) for m in table.columns])
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.set_title(_("Backtest MASE (1 = as good as last year's same week in-sample); box = winner"))
    fig.tight_layout()
    return fig


@skippable
def wins_chart(winners: pd.DataFrame) -> plt.Figure:
    """How many series of each level each model won."""
    t = winners.groupby(["level", "model"]).size().unstack(fill_value=0)
    t = t[in_registry_order(t.columns)]
    fig, ax = plt.subplots(figsize=(8, 2.8))
    left = np.zeros(len(t))
    for m in t.columns:
        ax.barh([_level(v) for v in t.index], t[m], left=left, color=colour(m), label=_model(m))
        left += t[m].to_numpy()
    ax.set_xlabel(_("series won"))
    ax.set_title(_("Which model won the backtest, per level"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def backtest_chart(predictions: pd.DataFrame, history: pd.DataFrame, name: str, model: str,
                   calibrated: pd.DataFrame | None = None, unit: str = "units per week") -> plt.Figure:
    """Held-out periods of every cutoff against the model's forecast and 80% interval."""
    p = predictions[(predictions["series"] == name) & (predictions["model"] == model)]
    fig, ax = plt.subplots(figsize=(10, 3.8))
    ax.plot(history["ds"], history["y"], color=ACTUAL, lw=1, label=_("actual"))
    for i, (cutoff, g) in enumerate(p.groupby("cutoff")):
        ax.fill_between(g["ds"], g["yhat_lower"], g["yhat_upper"], color=colour(model), alpha=0.25,
                        label=_("model's 80% interval") if i == 0 else None)
        if calibrated is not None:
            c = calibrated[(calibrated["series"] == name) & (calibrated["model"] == model)
                           & (calibrated["cutoff"] == cutoff)]
            ax.plot(c["ds"], c["yhat_lower"], color=colour(model), ls="--", lw=0.8,
                    label=_("calibrated interval") if i == 0 else None)
            ax.plot(c["ds"], c["yhat_upper"], color=colour(model), ls="--", lw=0.8)
        ax.plot(g["ds"], g["yhat"], color=colour(model), lw=1.5,
                label=_("{model} forecast").format(model=_model(model, spaced=False)) if i == 0 else None)
        ax.axvline(cutoff, color="#b0b0b0", ls=":", lw=1)
        out = g[(g["y"] < g["yhat_lower"]) | (g["y"] > g["yhat_upper"])]
        ax.scatter(out["ds"], out["y"], color="black", s=14, zorder=5,
                   label=_("outside the interval") if i == 0 else None)
    start = p["cutoff"].min() - pd.Timedelta(days=180) if len(p) else history["ds"].min()
    ax.set_xlim(start, history["ds"].max() + pd.Timedelta(days=7))
    _dates(ax)
    ax.set_ylim(bottom=0)
    ax.set_ylabel(_(unit))
    ax.set_title(_("{series}: rolling-origin backtest of {model} (dotted lines: cutoffs)").format(
        series=_label(name), model=_model(model)))
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return fig


@skippable
def coverage_chart(rows: pd.DataFrame, level: float = 0.8) -> plt.Figure:
    """Share of held-out periods inside each model's interval, raw and calibrated, against the target."""
    t = rows.groupby("model")[["coverage", "coverage_calibrated"]].mean()
    t = t.reindex(in_registry_order(t.index))
    fig, ax = plt.subplots(figsize=(8, 3.2))
    x = np.arange(len(t))
    ax.bar(x - 0.2, 100 * t["coverage"], width=0.4, color="#b0b0b0", label=_("model's own interval"))
    ax.bar(x + 0.2, 100 * t["coverage_calibrated"], width=0.4, color="#4c72b0",
           label=_("calibrated on earlier cutoffs"))
    ax.axhline(100 * level, color="black", ls="--", lw=1, label=_("target {share}").format(share=percent(level, 0)))
    ax.set_xticks(x, [_model(m) for m in t.index])
    ax.set_ylim(0, 100)
    ax.set_ylabel(_("held-out periods inside (%)"))
    ax.set_title(_("Interval coverage in the backtest"))
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    return fig


def forecast_chart(frame: pd.DataFrame, forecast: pd.DataFrame, names: list[str], unit: str = "units per week",
                   history_periods: int = 78) -> plt.Figure:
    """Recent history and the forecast with its 80% interval, one panel per series; the model is named."""
    fig, axes = _grid(len(names), cols=2, height=2.8)
    for ax, name in zip(axes, names):
        h = frame[frame["series"] == name].tail(history_periods)
        f = forecast[forecast["series"] == name]
        model = f["model"].iloc[0] if len(f) else "?"
        ax.plot(h["ds"], h["y"], color=ACTUAL, lw=1)
        ax.fill_between(f["ds"], f["yhat_lower"], f["yhat_upper"], color=colour(model), alpha=0.3)
        ax.plot(f["ds"], f["yhat"], color=colour(model), lw=1.5)
        ax.set_title(_("{series} ({model})").format(series=_label(name), model=_model(model)), fontsize=10)
        ax.set_ylabel(_(unit), fontsize=8)
        ax.set_ylim(bottom=0)
        _dates(ax)
        ax.tick_params(labelsize=8)
    fig.suptitle(_("Forecast with calibrated 80% interval (shaded) after the last {periods} periods of history"
                   ).format(periods=history_periods), fontweight="bold")
    fig.tight_layout()
    return fig


def chosen_backtest_chart(report, history: pd.DataFrame, name: str = "total") -> plt.Figure | None:
    """:func:`backtest_chart` of one series with the model chosen for it (``report`` a
    :class:`~crm_utils.demand.forecasting.ForecasterReport`); nothing without a backtest window."""
    if not report.compared:
        return None
    from crm_utils.demand.forecasting import calibrated_predictions

    f = report.f
    model = f.winners_.set_index("series").loc[name, "model"]
    return backtest_chart(f.predictions_, history, name, model, calibrated_predictions(f.predictions_),
                          unit=per_unit(f.config.unit))
