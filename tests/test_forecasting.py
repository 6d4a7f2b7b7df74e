"""Demand forecasting: series rules, calendar, scores, models, backtests, selection, calibration, fan-out.

The headline claims are checked on the session's small generated data (1,500 customers, 36
months; see conftest.py) rather than the default 10,000 customers: the small set is already
generated and cleaned for the other tests, and its category series are about seven times
smaller, so noisier, which makes beating the seasonal naive harder, not easier. Prophet's prior
scales are not tuned there (one pair, Prophet's default changepoint scale): the claims are about
the backtest, the selection and the intervals, which do not depend on the grid.
"""

from __future__ import annotations

import dataclasses
import inspect
import re

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
from matplotlib.colors import is_color_like, to_rgba  # noqa: E402

from crm_utils import synth  # noqa: E402
from crm_utils.data import cleaning, io  # noqa: E402
from crm_utils.demand import series as demand, forecasting, models, plots as fplots  # noqa: E402
from crm_utils.demand.models import (ETS, REGISTRY, LogScale, MovingAverage, ProphetModel,  # noqa: E402
                                     SeasonalNaive, coverage, mape, mase, mase_scale, smape)
from crm_utils.fanout import fan_out  # noqa: E402

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")  # a Saturday: weeks run Sunday to Saturday


def _lines(rows: list[tuple]) -> pd.DataFrame:
    """Cleaned order lines: (date, category, customer, quantity, is_outlier)."""
    df = pd.DataFrame(rows, columns=["order_date", "category", "customer_id", "quantity", "is_outlier"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["unit_price"] = 10.0
    df["is_return"] = df["quantity"] < 0
    df["line_revenue"] = df["quantity"] * df["unit_price"]
    return df


CUSTOMERS = pd.DataFrame({"customer_id": ["A", "B"], "region": ["Germany", "France"]})


# -- series ----------------------------------------------------------------------------------

def test_series_rules_returns_outliers_zeros_and_weeks():
    orders = _lines([
        ("2026-09-30", "Books", "A", 5, False),  # Wednesday: the first, partial week -> left out
        ("2026-10-05", "Books", "A", 2, False),  # week ending Sat 10-10
        ("2026-10-06", "Books", "B", 3, False),
        ("2026-10-07", "Books", "A", 300, True),  # bulk line: left out
        ("2026-10-20", "Books", "B", -2, False),  # a return: not subtracted
        ("2026-10-31", "Toys", "A", 4, False),  # Saturday: the last week ends with the cutoff
    ])
    s = demand.build_series(orders, CUSTOMERS, cutoff=CUTOFF)
    books = s.history("category=Books")
    assert books["ds"].tolist() == list(pd.to_datetime(["2026-10-10", "2026-10-17", "2026-10-24", "2026-10-31"]))
    assert books["y"].tolist() == [5.0, 0.0, 0.0, 0.0]  # explicit zeros, no negative week
    assert s.history("category=Toys")["y"].tolist() == [4.0]  # a series starts at its first sale
    assert s.history("total")["y"].tolist() == [5.0, 0.0, 0.0, 4.0]
    assert s.history("category=Books, region=France")["y"].tolist() == [3.0, 0.0, 0.0, 0.0]
    led = s.ledger.set_index("what")
    assert led.loc["sale lines used", "units"] == 9
    assert led.loc["returns (not subtracted: see return rates)", "units"] == 2
    assert led.loc["bulk lines (is_outlier) left out", "lines"] == 1
    assert led.loc["sale lines before the first complete period", "units"] == 5
    assert s.region_weights.round(3).to_dict() == {"France": round(3 / 9, 3), "Germany": round(6 / 9, 3)}
    with_bulk = demand.build_series(orders, CUSTOMERS, cutoff=CUTOFF, include_outliers=True, levels=["total"])
    assert with_bulk.history("total")["y"].iloc[0] == 305.0
    revenue = demand.build_series(orders, CUSTOMERS, cutoff=CUTOFF, measure="revenue", levels=["total"])
    assert revenue.history("total")["y"].tolist() == [50.0, 0.0, 0.0, 40.0]
    rates = demand.return_rates(orders).set_index("category")["return_rate"]
    assert rates["Books"] == pytest.approx(2 / 310) and rates["Toys"] == 0


def test_series_errors_name_table_and_column():
    orders = _lines([("2026-10-05", "Books", "A", 2, False)])
    with pytest.raises(ValueError, match=r"orders: column\(s\) \['is_outlier'\] missing"):
        demand.build_series(orders.drop(columns="is_outlier"), None, cutoff=CUTOFF)
    late = _lines([("2026-10-05", "Books", "A", 2, False), ("2026-11-02", "Books", "A", 1, False)])
    with pytest.raises(ValueError, match=r"orders: 1 line\(s\) dated after the cutoff 2026-10-31.*2026-11-02"):
        demand.build_series(late, None, cutoff=CUTOFF)
    with pytest.raises(ValueError, match="no complete week"):
        demand.build_series(_lines([("2026-10-30", "Books", "A", 2, False)]), None, cutoff=CUTOFF)


def test_series_without_customers_skip_regions_and_say_so():
    s = demand.build_series(_lines([("2026-10-04", "Books", "A", 2, False), ("2026-10-31", "Books", "A", 1, False)]),
                            None, cutoff=CUTOFF)
    assert set(s.frame["level"]) == {"total", "category"}
    assert any("no customers table" in n for n in s.notes)
    assert demand.calendar_for(s, 13).frame["kind"].eq("retail event").all()


def test_sparsest_series_is_one_mape_cannot_score():
    ds = pd.date_range("2026-10-01", periods=10, freq="D")
    frame = pd.DataFrame({"series": np.repeat(["a", "b", "c"], 10), "level": "category", "category": None,
                          "region": None, "ds": np.tile(ds, 3),
                          "y": [1.0] * 6 + [0.0] * 4 + [0.0] * 8 + [1.0, 0.0] + [2.0, 0.0] * 5})
    s = demand.DemandSeries(frame, pd.DataFrame(), "D", "units", CUTOFF, pd.Series(dtype=float))
    # 'a' ends in zeros only, 'b' is the sparsest with a sale in the last 4 days, 'c' less sparse.
    assert forecasting.sparsest_series(s, holdout=4) == "b"
    assert forecasting.sparsest_series(s, holdout=1) == "b"  # nobody mixes: the sparsest overall


# -- calendar --------------------------------------------------------------------------------

#: The synthetic shop's declaration: its region values name countries.
COUNTRIES = demand.HolidayCalendar(regions_are="countries")


def test_holidays_come_only_from_a_declared_calendar():
    start, end = pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31")
    # Undeclared: no public holidays at all, and the note says how to declare them.
    bare = demand.event_calendar(["Germany", "MG"], start, end)
    assert bare.frame["kind"].eq("retail event").all() and "holidays: {country: GB}" in bare.note()
    # Brazilian state codes declared as subdivisions of BR: MG is Minas Gerais, never Madagascar,
    # PR never Puerto Rico, ES never Spain; a value that is not a BR code gets the national days.
    br = demand.event_calendar(["MG", "PR", "ES", "XX"], start, end,
                               holidays=demand.HolidayCalendar.from_declaration({"country": "br",
                                                                                 "subdivisions": "region"}))
    pub = br.frame[br.frame["kind"] == "public holiday"]
    assert set(pub["region"]) == {"MG", "PR", "ES", "XX"} and br.regions_without_calendar == ["XX"]
    national = set(pub.loc[pub["region"] == "XX", "ds"])
    assert pd.Timestamp("2025-09-07") in national  # Independence Day of Brazil
    assert pd.Timestamp("2025-06-26") not in set(pub["ds"])  # Madagascar's independence day: never
    assert pd.Timestamp("2025-07-25") not in set(pub["ds"])  # Puerto Rico's Constitution Day: never
    assert pd.Timestamp("2025-04-28") in set(pub.loc[pub["region"] == "ES", "ds"])  # Our Lady of Penha, Espírito Santo
    assert pd.Timestamp("2025-04-28") not in national
    # One country for the whole shop: one holiday column with weight 1 for every series.
    gb = demand.event_calendar(["North", "South"], start, end, holidays=demand.HolidayCalendar(country="GB"))
    assert set(gb.frame["region"].dropna()) == {demand.WHOLE_SHOP}
    weeks = pd.date_range("2025-12-06", "2026-01-03", freq="7D")
    regs = demand.calendar_regressors(demand.calendar_counts(gb, weeks, "W"), pd.Series(dtype=float))
    assert regs.loc[pd.Timestamp("2025-12-27"), "public_holidays"] == 2  # Christmas Day, Boxing Day
    with pytest.raises(ValueError, match="'XY' is not an ISO 3166-1"):
        demand.HolidayCalendar(country="XY")
    with pytest.raises(ValueError, match="subdivisions need the country"):
        demand.HolidayCalendar.from_declaration({"subdivisions": "region"})
    with pytest.raises(ValueError, match="unknown keys"):
        demand.HolidayCalendar.from_declaration({"country": "GB", "state": "ENG"})

def test_black_friday_cyber_monday_and_region_codes():
    assert [demand.black_friday(y).date().isoformat() for y in (2024, 2025, 2026)] == \
        ["2024-11-29", "2025-11-28", "2026-11-27"]
    assert demand.holiday_country("United Kingdom") == "GB"
    assert demand.holiday_country("Germany") == "DE" and demand.holiday_country("de") == "DE"
    assert demand.holiday_country("Atlantis") is None
    cal = demand.event_calendar(["Germany", "Atlantis"], pd.Timestamp("2025-01-01"), pd.Timestamp("2025-12-31"),
                                holidays=COUNTRIES)
    assert cal.regions_without_calendar == ["Atlantis"]
    f = cal.frame.set_index("holiday")
    assert f.loc["Cyber Monday", "ds"] == pd.Timestamp("2025-12-01")
    assert (f.loc["Black Friday weekend", ["lower_window", "upper_window"]] == [0, 2]).all()
    assert f.loc["Singles' Day 11.11", "ds"] == pd.Timestamp("2025-11-11")
    assert "Tag der Deutschen Einheit" in f.index or "German Unity Day" in f.index
    assert set(f["region"].dropna()) == {"Germany"}


def test_calendar_counts_event_days_per_week_and_weighted_holidays():
    weeks = pd.date_range("2025-11-01", "2026-01-03", freq="7D")  # Saturdays
    cal = demand.event_calendar(["Germany", "France"], weeks[0] - pd.Timedelta(days=6), weeks[-1], holidays=COUNTRIES)
    counts = demand.calendar_counts(cal, weeks, "W")
    bf = counts["event_black_friday_weekend"]
    # Black Friday 2025-11-28 (Fri) and Saturday fall in the week ending 11-29, Sunday in the next.
    assert bf[pd.Timestamp("2025-11-29")] == 2 and bf[pd.Timestamp("2025-12-06")] == 1 and bf.sum() == 3
    assert counts["event_christmas_shopping"].sum() == 23
    regs = demand.calendar_regressors(counts, pd.Series({"Germany": 0.75, "France": 0.25}))
    # Christmas week (12-21 to 12-27): Germany has the 25th and 26th, France the 25th.
    assert regs.loc[pd.Timestamp("2025-12-27"), "public_holidays"] == pytest.approx(0.75 * 2 + 0.25 * 1)
    # Armistice Day (France only) on 11-11.
    assert regs.loc[pd.Timestamp("2025-11-15"), "public_holidays"] == pytest.approx(0.25)


# -- scores and models -----------------------------------------------------------------------

def test_scores_on_known_values():
    train = np.array([1.0, 3, 1, 3, 1, 3])
    assert mase_scale(train, 2) == 0  # a perfectly seasonal history has nothing to scale by
    assert np.isnan(mase([1.0], [2.0], mase_scale(train, 2)))
    assert mase_scale(train, 1) == 2.0
    assert mase([4.0, 0.0], [2.0, 1.0], 2.0) == pytest.approx(0.75)
    assert smape([0.0, 10.0], [0.0, 30.0]) == pytest.approx(50.0)  # 0/0 counts as perfect
    assert smape([0.0], [5.0]) == 200.0
    assert np.isinf(mape([0.0, 10.0], [1.0, 10.0])) and mape([0.0, 10.0], [0.0, 5.0]) == 25.0
    assert coverage([1.0, 5.0, 9.0], [0.0, 0.0, 0.0], [4.0, 5.0, 8.0]) == pytest.approx(2 / 3)
    assert np.isnan(coverage([1.0], [np.nan], [2.0]))


def test_seasonal_naive_and_moving_average_by_hand():
    ds = pd.date_range("2026-01-03", periods=6, freq="7D")
    hist = pd.DataFrame({"ds": ds, "y": [1.0, 5, 2, 6, 3, 7]})
    future = pd.DataFrame({"ds": pd.date_range("2026-02-14", periods=5, freq="7D")})
    sn = SeasonalNaive(season_length=2).fit(hist).predict(future)
    assert sn["yhat"].tolist() == [3, 7, 3, 7, 3]
    half = sn["yhat_upper"] - sn["yhat"]
    assert half.iloc[2] / half.iloc[0] == pytest.approx(np.sqrt(2))  # second season ahead: sqrt(2) wider
    ma = MovingAverage(window=4).fit(hist)
    assert ma.predict(future)["yhat"].tolist() == [4.5] * 5
    assert ma.sigma_ == pytest.approx(np.sqrt(((3 - 3.5) ** 2 + (7 - 4) ** 2) / 2))
    short = SeasonalNaive(season_length=52).fit(hist)
    assert short.predict(future)["yhat"].tolist() == [7.0] * 5 and "naive forecast" in short.notes_[0]
    # The baselines are statsforecast's models: the same numbers as a direct call.
    from statsforecast.models import SeasonalNaive as StatsSeasonalNaive

    direct = StatsSeasonalNaive(season_length=2).fit(hist["y"].to_numpy()).predict(5, level=[80])
    assert sn["yhat_upper"].to_numpy() == pytest.approx(direct["hi-80"])


def test_our_mase_is_utilsforecasts():
    """MASE stays a three-line numpy function, as each backtest window holds plain arrays in a
    worker; it is checked here against utilsforecast's, the well-kept one."""
    from utilsforecast.losses import mase as uf_mase

    train = pd.DataFrame({"unique_id": "s", "ds": range(10), "y": [3.0, 5, 4, 6, 5, 7, 6, 8, 7, 9]})
    test = pd.DataFrame({"unique_id": "s", "ds": range(10, 14), "y": [8.0, 10, 9, 11], "f": [8.5, 9, 9, 12]})
    theirs = uf_mase(test, ["f"], seasonality=2, train_df=train)["f"].iloc[0]
    ours = mase(test["y"].to_numpy(), test["f"].to_numpy(), mase_scale(train["y"].to_numpy(), 2))
    assert ours == pytest.approx(theirs)


def _weekly(n: int, seed: int = 0, level: float = 100.0) -> pd.DataFrame:
    """A growing weekly series with a yearly wave and Poisson noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    lam = level * (1 + 0.004 * t) * (1 + 0.3 * np.sin(2 * np.pi * t / 52))
    return pd.DataFrame({"ds": pd.date_range("2023-11-04", periods=n, freq="7D"), "y": rng.poisson(lam).astype(float)})


def test_prophet_is_seeded_and_restores_the_global_generator():
    hist = _weekly(80)
    future = pd.DataFrame({"ds": pd.date_range(hist["ds"].iloc[-1] + pd.Timedelta(days=7), periods=4, freq="7D")})
    np.random.seed(1)
    a = ProphetModel(seed=7, uncertainty_samples=200).fit(hist).predict(future)
    after = np.random.random()
    np.random.seed(1)
    np.random.random()  # disturb the global generator: the forecast must not care
    b = ProphetModel(seed=7, uncertainty_samples=200).fit(hist).predict(future)
    pd.testing.assert_frame_equal(a, b)
    np.random.seed(1)
    ProphetModel(seed=7, uncertainty_samples=200).fit(hist).predict(future)
    assert np.random.random() == after  # the caller's random stream is left where it was
    c = ProphetModel(seed=8, uncertainty_samples=200).fit(hist).predict(future)
    assert not np.allclose(a["yhat_upper"], c["yhat_upper"])  # the seed does drive the sampling


# -- edge cases ------------------------------------------------------------------------------

def test_all_zero_and_handful_series_get_the_baseline_and_a_note():
    ds = pd.date_range("2024-11-02", "2026-10-31", freq="7D")
    normal = _weekly(len(ds)).assign(ds=ds)
    frame = pd.concat([
        normal.assign(series="total"),
        pd.DataFrame({"series": "category=Zero", "ds": ds[-30:], "y": 0.0}),
        pd.DataFrame({"series": "category=New", "ds": ds[-3:], "y": [4.0, 0.0, 6.0]}),
    ], ignore_index=True)
    frame["level"] = np.where(frame["series"] == "total", "total", "category")
    frame["category"] = frame["region"] = None
    s = demand.DemandSeries(frame, pd.DataFrame(), "W", "units", CUTOFF, pd.Series(dtype=float))
    cfg = forecasting.ForecastConfig(horizon=4, n_origins=2, uncertainty_samples=100)
    run = forecasting.DemandForecaster(cfg, grid=[(0.05, 10.0)], engine="serial").run(s)
    win = run.winners_.set_index("series")
    assert win.loc["category=Zero", "model"] == "moving_average" and win.loc["category=New", "model"] == "moving_average"
    assert "no backtest" in win.loc["category=New", "note"]
    fc = run.forecast_.set_index("series")
    assert (fc.loc["category=Zero", ["yhat", "yhat_lower", "yhat_upper"]] == 0).all().all()
    assert fc.loc["category=New", "yhat"].gt(0).all() and fc.loc["category=New", "yhat_lower"].isna().all()
    notes = run.notes_.groupby("series")["note"].apply(" | ".join)
    assert "no sales in its history" in notes["category=Zero"]
    assert "fewer than 4 periods" in notes["category=New"]
    assert len(fc.loc["total"]) == 4 and fc.loc["total", "yhat_lower"].notna().all()


@pytest.fixture(scope="module")
def fourteen_months(tmp_path_factory, key):
    """The end-to-end test's shape of data: 600 customers, 14 months."""
    out = tmp_path_factory.mktemp("fourteen")
    synth.generate(out, synth.SynthConfig(customers=600, months=14, seed=5))
    return cleaning.clean(io.load_raw(out), "2026-10", key=key)


def test_fourteen_months_forecast_without_yearly_seasonality(fourteen_months):
    res = fourteen_months
    s = demand.build_series(res.tables["orders"], res.tables["customers"], cutoff=res.cutoff, levels=["total"])
    assert 55 <= s.summary()["periods"].iloc[0] <= 60
    cfg = forecasting.ForecastConfig(uncertainty_samples=100)
    run = forecasting.DemandForecaster(cfg, calendar=demand.calendar_for(s, 13, holidays=COUNTRIES), grid=[(0.05, 10.0)],
                                       engine="serial").run(s)
    assert run.backtest_["cutoff"].nunique() == 2  # four do not fit: a note says so
    notes = set(run.notes_["note"])
    assert "history holds 2 backtest origin(s), not 4" in notes
    assert "prophet: under two years of history; yearly seasonality off" in notes
    assert len(run.forecast_) == 13 and run.forecast_["yhat_lower"].le(run.forecast_["yhat"]).all()
    assert run.forecast_["ds"].iloc[0] == pd.Timestamp("2026-11-07")


# -- the headline claims and the planted truth (small generated data) ------------------------

@pytest.fixture(scope="module")
def small_run(cleaned):
    _, res = cleaned
    s = demand.build_series(res.tables["orders"], res.tables["customers"], cutoff=res.cutoff,
                            levels=["total", "category"])
    cfg = forecasting.ForecastConfig()
    run = forecasting.DemandForecaster(cfg, calendar=demand.calendar_for(s, cfg.horizon, holidays=COUNTRIES), grid=[(0.05, 10.0)],
                                       engine="joblib").run(s)
    return s, run


def test_selected_models_beat_seasonal_naive_and_intervals_cover(small_run):
    _, run = small_run
    assert run.backtest_["cutoff"].nunique() == 4
    head = forecasting.headline(run.winners_, run.backtest_, "category")
    assert head["series"] == 10
    assert head["share_beating_seasonal_naive"] >= 0.8
    assert 0.7 <= head["interval_coverage"] <= 0.9
    # The selection rule holds up on cutoffs it did not choose on, too.
    nested = forecasting.nested_selection(run.backtest_, run.predictions_)
    cat = nested[nested["level"] == "category"]
    assert (cat["mase"] < cat["seasonal_naive_mase"]).mean() >= 0.8


def test_the_notebooks_view_of_a_run_matches_the_functions(small_run):
    s, run = small_run
    shown = forecasting.ForecasterReport(run)
    assert shown.compared and shown.rows() is run.backtest_ and shown.winners() is run.winners_
    assert shown.backtest_note(s).startswith(f"Backtest: {run.backtest_['series'].nunique()} series, cutoffs ")
    pd.testing.assert_frame_equal(shown.level_summary(), forecasting.level_summary(run.backtest_, run.winners_))
    pd.testing.assert_frame_equal(shown.nested_summary(), forecasting.nested_summary(run.backtest_, run.predictions_))
    head = forecasting.headline(run.winners_, run.backtest_, "category")
    assert f"{head['beat_seasonal_naive']} of {head['series']}" in shown.headline_note()
    assert shown.fallback_note() == "" and shown.calibration_factors().index.name == "model"
    assert fplots.chosen_backtest_chart(shown, s.history("total")) is not None


def test_without_a_backtest_window_every_comparison_says_so_once(fourteen_months):
    res = fourteen_months
    s = demand.build_series(res.tables["orders"], res.tables["customers"], cutoff=res.cutoff, levels=["total"])
    cfg = forecasting.ForecastConfig(horizon=52, uncertainty_samples=50)  # a year ahead: no window fits in 14 months
    run = forecasting.DemandForecaster(cfg, grid=[(0.05, 10.0)], engine="serial").run(s)
    shown = forecasting.ForecasterReport(run)
    assert not shown.compared and "too short for a single backtest window of 52 weeks" in shown.backtest_note(s)
    assert shown.tuned_grid() is None and shown.tune_note("serial").startswith("Too little history")
    assert shown.rows() is None and shown.winners() is None and shown.level_summary() is None
    assert shown.nested_summary() is None and shown.calibration_factors() is None and shown.headline_note() == ""
    assert shown.fallback_note().startswith("Every series uses the fallback: {")
    for chart in (fplots.grid_chart, fplots.mase_chart, fplots.wins_chart, fplots.coverage_chart):
        assert chart(None) is None
    assert fplots.chosen_backtest_chart(shown, s.history("total")) is None


def test_calibration_is_learnt_only_from_earlier_cutoffs():
    cut1, cut2 = pd.Timestamp("2026-01-03"), pd.Timestamp("2026-01-17")
    pred = pd.DataFrame({
        "series": "s", "level": "total", "model": "ets",
        "cutoff": [cut1] * 2 + [cut2] * 2,
        "ds": pd.to_datetime(["2026-01-10", "2026-01-17", "2026-01-24", "2026-01-31"]),
        "y": [12.0, 7.0, 30.0, 10.0], "yhat": 10.0, "yhat_lower": 9.0, "yhat_upper": 11.0})
    f = forecasting.interval_factors(pred[pred["cutoff"] == cut1], level=0.5, min_points=1)
    assert f["factor"].iloc[0] == pytest.approx(3.0)  # misses by 2 and 3 half-widths: ceil(1.5)-th of [2, 3]
    cal = forecasting.calibrated_predictions(pred, level=0.5, min_points=1)
    assert set(cal["cutoff"]) == {cut2}  # the first cutoff has nothing earlier to learn from
    assert cal["yhat_upper"].tolist() == [13.0, 13.0]  # 30 stays outside: the later miss is not peeked at
    cov = forecasting.calibrated_coverage(pred, level=0.5, min_points=1)
    assert cov["coverage_calibrated"].tolist() == [0.5]


def test_prophet_recovers_planted_seasonality_and_events(small_run):
    s, run = small_run
    planted = np.log(synth.CATEGORIES["Garden"]["season"])
    garden, _ = forecasting.decompose(s, run.calendar, "category=Garden", run.config)
    by_month = np.log1p(garden.groupby(garden["ds"].dt.month)["yearly"].mean()).to_numpy()
    assert np.corrcoef(by_month, planted)[0, 1] > 0.9
    assert garden.groupby(garden["ds"].dt.month)["yearly"].mean().idxmax() in (4, 5, 6)  # planted peak: May
    total, _ = forecasting.decompose(s, run.calendar, "total", run.config)
    week = total.set_index("ds")
    assert week.loc["2025-11-29", "events"] > 0.1  # Black Friday 2025-11-28 (planted boost 2.6 on the day)
    assert week.loc["2025-11-15", "events"] > 0  # Singles' Day
    assert week.loc[week.index.month == 12, "events"].mean() > 0.1  # Christmas shopping
    assert week.loc["2025-12-27", "holidays"] < 0  # Christmas Day everywhere: fewer orders (planted x0.6)


def test_forecast_and_backtest_tables(small_run):
    s, run = small_run
    forecast, backtest = forecasting.artifact_tables({"units": run})
    assert list(forecast.columns) == forecasting.FORECAST_COLUMNS
    assert {"series", "model", "cutoff", "mase", "smape", "coverage"} <= set(backtest.columns)
    assert forecast.groupby("series").size().eq(13).all() and set(forecast["series"]) == set(s.names)
    assert (forecast["yhat_lower"] <= forecast["yhat"]).all() and (forecast["yhat"] <= forecast["yhat_upper"]).all()
    assert forecast["ds"].min() == pd.Timestamp("2026-11-07")
    win = run.winners_.set_index("series")["model"]
    assert (forecast.drop_duplicates("series").set_index("series")["model"] == win.reindex(
        forecast["series"].unique())).all()  # the report's forecast is each series' backtest winner


# -- fan-out ---------------------------------------------------------------------------------

def test_fan_out_keeps_order_and_rejects_unknown_engines():
    assert fan_out(abs, [-3, 1, -2], engine="joblib", n_jobs=2) == [3, 1, 2]
    assert fan_out(abs, [-3, 1, -2], engine="serial") == [3, 1, 2]
    with pytest.raises(ValueError, match="engine must be one of"):
        fan_out(abs, [1], engine="spark")


def test_dask_local_cluster_gives_the_same_backtest_as_joblib(small_run):
    from distributed import LocalCluster

    s, run = small_run
    names = ["total", "category=Garden"]
    tasks = forecasting.make_tasks(s, run.calendar, run.config, names, {n: run.grid for n in names})
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        on_dask = forecasting.run_backtests(tasks, dask_address=cluster.scheduler_address)
    local = run.grid_backtest_.rows  # the same tasks, run with joblib by the fixture
    local = local[local["series"].isin(names)].reset_index(drop=True)
    pd.testing.assert_frame_equal(on_dask.rows, local)
    lp = run.grid_backtest_.predictions
    pd.testing.assert_frame_equal(on_dask.predictions, lp[lp["series"].isin(names)].reset_index(drop=True))
    assert fan_out(abs, [-1, 2], engine="dask", n_jobs=1) == [1, 2]  # a LocalCluster of its own


# -- the model registry ----------------------------------------------------------------------

#: The models, tie-break order, baselines and colours before the registry existed: outputs must not move.
BEFORE = {"seasonal_naive": "#9e9e9e", "moving_average": "#c49a6c", "ets": "#6c8ebf", "prophet": "#d9534f"}


def test_registry_is_the_single_source_of_models_order_baselines_and_colours():
    names = tuple(spec.name for spec in REGISTRY)
    flagged = tuple(spec.name for spec in REGISTRY if spec.baseline)
    assert forecasting.MODELS == models.model_names() == names
    assert len(set(names)) == len(names)
    assert models.baseline_names() == flagged
    empty = pd.DataFrame()
    assert forecasting.SeriesTask("s", "total", empty, empty, forecasting.ForecastConfig()).baselines == flagged
    assert inspect.signature(forecasting.make_tasks).parameters["baselines"].default == flagged
    # The models that were there before keep their order, baseline status and colour.
    assert [n for n in names if n in BEFORE] == list(BEFORE)
    assert [n for n in flagged if n in BEFORE] == ["seasonal_naive", "moving_average", "ets"]
    assert "prophet" in names and "prophet" not in flagged
    for spec in REGISTRY:
        assert is_color_like(spec.colour), spec
        assert models.colour(spec.name) == spec.colour
        if spec.name in BEFORE:
            assert spec.colour == BEFORE[spec.name]
    assert len({to_rgba(spec.colour) for spec in REGISTRY}) == len(REGISTRY)  # every model told apart
    assert models.colour("not a model") == models.UNREGISTERED_COLOUR
    # The roles the forecasting code names: seasonal-naive benchmark, moving-average fallback.
    assert {"seasonal_naive", "moving_average"} <= set(flagged)
    with pytest.raises(dataclasses.FrozenInstanceError):
        REGISTRY[0].colour = "red"


def test_make_model_builds_every_registered_model_and_it_forecasts_a_tiny_series():
    hist = _weekly(30, seed=3, level=20.0)
    future = pd.DataFrame({"ds": pd.date_range(hist["ds"].iloc[-1] + pd.Timedelta(days=7), periods=4, freq="7D")})
    for log_scale in (True, False):
        cfg = forecasting.ForecastConfig(uncertainty_samples=50, log_scale=log_scale)
        for spec in REGISTRY:
            model = forecasting.make_model(spec.name, cfg, seed=3)
            assert isinstance(model, LogScale) == log_scale
            assert model.name == spec.name
            f = model.fit(hist).predict(future)
            assert list(f.columns) == ["ds", "yhat", "yhat_lower", "yhat_upper"], spec.name
            assert len(f) == 4 and f["yhat"].notna().all() and (f["yhat"] >= 0).all(), spec.name
            assert (f["yhat_lower"] <= f["yhat"] + 1e-9).all() and (f["yhat"] <= f["yhat_upper"] + 1e-9).all()


def test_make_model_builds_each_model_from_the_config_as_before():
    cfg = forecasting.ForecastConfig(freq="D", level=0.9, ma_window=5, uncertainty_samples=77,
                                     holidays_prior_scale=3.0, seasonality_mode="multiplicative", log_scale=False)
    expected = {"seasonal_naive": SeasonalNaive(7, 0.9), "moving_average": MovingAverage(5, 0.9), "ets": ETS(7, 0.9),
                "prophet": ProphetModel(0.05, 10.0, 3.0, "multiplicative", "D", 0.9, 77, 11)}
    for name, want in expected.items():
        got = forecasting.make_model(name, cfg, 11)
        assert type(got) is type(want) and vars(got) == vars(want), name
    tuned = forecasting.make_model("prophet", cfg, 11, (0.5, 0.1))
    assert (tuned.changepoint_prior_scale, tuned.seasonality_prior_scale, tuned.seed) == (0.5, 0.1, 11)
    logged = forecasting.make_model("moving_average", dataclasses.replace(cfg, log_scale=True), 11)
    assert isinstance(logged.model, MovingAverage) and logged.model.window == 5


def test_an_unknown_model_name_is_a_clear_value_error():
    listed = re.escape(str(models.model_names()))
    with pytest.raises(ValueError, match=rf"^unknown model 'arima'; models are {listed}$"):
        forecasting.make_model("arima", forecasting.ForecastConfig(), 0)
    with pytest.raises(ValueError, match="unknown model 'Prophet'"):  # names are exact
        models.model_spec("Prophet")


def test_ties_go_to_the_earlier_registered_model():
    names = list(models.model_names())
    cuts = pd.to_datetime(["2026-01-03", "2026-02-07", "2026-03-14"])
    # Every model scores the same at every cutoff; listed in reverse so neither the rows' nor the
    # alphabet's order can pass for the registry's.
    rows = pd.DataFrame([{"series": "s", "level": "total", "model": m, "cutoff": c, "mase": 0.8, "smape": 10.0,
                          "coverage": 0.8, "mae": 1.0} for c in cuts for m in reversed(names)])
    win = forecasting.select_models(rows).iloc[0]
    assert (win["model"], win["runner_up"]) == (names[0], names[1])
    win = forecasting.select_models(rows[rows["model"] != names[0]]).iloc[0]
    assert (win["model"], win["runner_up"]) == (names[1], names[2])
    preds = pd.DataFrame({"series": "s", "cutoff": cuts, "ds": cuts + pd.Timedelta(days=28)})
    nested = forecasting.nested_selection(rows, preds)
    assert nested["model"].tolist() == [names[0]] * 2  # the two cutoffs with an earlier one to choose on


def _chart_frames(names: list[str]):
    """A small backtest of every model in ``names``: each wins one series."""
    series = [f"category={chr(65 + i)}" for i in range(len(names))]
    cuts = pd.to_datetime(["2026-06-06", "2026-09-05"])
    rows, preds = [], []
    for i, s in enumerate(series):
        for j, m in enumerate(names):
            for c in cuts:
                rows.append({"series": s, "level": "category", "model": m, "cutoff": c, "periods": 3,
                             "mase": 0.5 + 0.1 * ((i + j) % len(names)), "coverage": 0.7, "coverage_calibrated": 0.8})
                ds = c + pd.to_timedelta([7, 14, 21], unit="D")
                preds.append(pd.DataFrame({"series": s, "level": "category", "model": m, "cutoff": c, "ds": ds,
                                           "y": [10.0, 30.0, 12.0], "yhat": 11.0, "yhat_lower": 8.0,
                                           "yhat_upper": 14.0}))
    winners = pd.DataFrame({"series": series, "level": "category", "model": names})
    ds = pd.date_range("2025-11-01", "2026-10-31", freq="7D")
    history = pd.DataFrame({"series": np.repeat(series, len(ds)), "ds": np.tile(ds, len(series)), "y": 10.0})
    future = pd.date_range("2026-11-07", periods=3, freq="7D")
    forecast = pd.DataFrame({"series": np.repeat(series, 3), "model": np.repeat(names, 3),
                             "ds": np.tile(future, len(series)), "yhat": 11.0, "yhat_lower": 8.0, "yhat_upper": 14.0})
    return series, pd.DataFrame(rows), pd.concat(preds, ignore_index=True), winners, history, forecast


def test_every_chart_draws_every_model_in_its_data_in_registry_order_and_colour():
    registered = list(models.model_names())
    # "zz_mystery" is not registered (an old artifact, say): charts draw it in grey after the
    # registered ones rather than dropping it or failing.
    names = registered + ["zz_mystery"]
    series, rows, preds, winners, history, forecast = _chart_frames(names)
    try:
        heat = fplots.mase_chart(rows, winners, series).axes[0]
        assert [t.get_text() for t in heat.get_xticklabels()] == names
        assert len(heat.patches) == len(series)  # every series' winner is boxed

        wins = fplots.wins_chart(winners).axes[0]
        labels = [t.get_text() for t in wins.get_legend().get_texts()]
        assert labels == [n.replace("_", " ") for n in names]
        drawn = {c.get_label(): c.patches[0].get_facecolor() for c in wins.containers}
        assert drawn == {n.replace("_", " "): to_rgba(models.colour(n)) for n in names}
        assert to_rgba(models.colour("zz_mystery")) == to_rgba(models.UNREGISTERED_COLOUR)

        cov = fplots.coverage_chart(rows).axes[0]
        assert [t.get_text() for t in cov.get_xticklabels()] == [n.replace("_", " ") for n in names]

        cal = forecasting.calibrated_predictions(preds, min_points=1)
        for name in names:
            ax = fplots.backtest_chart(preds, history[history["series"] == series[0]], series[0], name, cal).axes[0]
            line = next(ln for ln in ax.get_lines() if ln.get_label() == f"{name} forecast")
            assert to_rgba(line.get_color()) == to_rgba(models.colour(name))

        fig = fplots.forecast_chart(history, forecast, series)
        for ax, name in zip(fig.axes, names):
            assert ax.get_title().endswith(f"({name.replace('_', ' ')})")
            assert to_rgba(ax.get_lines()[-1].get_color()) == to_rgba(models.colour(name))
    finally:
        plt.close("all")
