"""Forecasts that cannot mislead (issue 18): events learnt only from two seasons, the sanity gate
and its fallback, reconciled levels, a backtest window on the seasonal peak, the incomplete last
period, daily forecasts, and short-history ETS against statsforecast's AutoETS on a real export."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import realdata
from crm_utils import coverage
from crm_utils.demand import forecasting, guards, models, monitoring, series as demand
from crm_utils.demand.models import ETS, LogScale, mase, mase_scale

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")
GERMANY = pd.DataFrame({"customer_id": ["A"], "region": ["Germany"]})


def _daily_orders(days: pd.DatetimeIndex, units: np.ndarray, category: str | np.ndarray = "All") -> pd.DataFrame:
    o = pd.DataFrame({"order_date": days, "category": category, "customer_id": "A", "quantity": units.astype(float),
                      "is_outlier": False, "is_return": False})
    return o.assign(line_revenue=o["quantity"] * 10)


@pytest.fixture(scope="module")
def one_off_december():
    """One year of daily sales (level 20) whose only December sold eight times as much."""
    rng = np.random.default_rng(5)
    days = pd.date_range("2025-11-02", "2026-10-31", freq="D")
    lam = np.where(days.month == 12, 160.0, 20.0)
    s = demand.build_series(_daily_orders(days, rng.poisson(lam)), GERMANY, cutoff=CUTOFF, levels=["total"])
    return s, demand.calendar_for(s, 13, holidays={"country": "DE"})


def test_an_event_seen_in_one_season_is_not_learnt(one_off_december):
    s, cal = one_off_december
    cfg = forecasting.ForecastConfig(uncertainty_samples=50)
    task = forecasting.make_tasks(s, cal, cfg, ["total"])[0]
    model = forecasting.make_model("prophet", cfg, 1, (0.05, 10.0)).fit(task.history)
    f = model.predict(task.future)
    level = s.history("total").query("ds.dt.month != 12")["y"].mean()  # about 140 units a week
    december = f.loc[f["ds"].dt.month == 12, "yhat"]
    # The old model (unstandardised event-day counts, any event learnt) put next December at 7 to 8
    # times the level; a one-season event is now left out, so December stays near the level.
    assert december.max() < 2 * level
    assert any("event_christmas_shopping occurs in only 1 season" in n for n in model.notes_)


def test_two_seasons_of_an_event_are_learnt():
    hist = pd.DataFrame({"ds": pd.date_range("2024-11-02", periods=105, freq="7D"), "y": 1.0})
    hist["event"] = (hist["ds"].dt.month == 12).astype(float)
    assert models.event_seasons(hist, "event") == 2
    assert models.supported_regressors(hist)[0] == ["event"]
    assert models.supported_regressors(hist.iloc[-60:])[1] == {"event": 1}


def test_the_gate_flags_what_the_history_cannot_explain():
    hist = pd.DataFrame({"ds": pd.date_range("2025-11-01", periods=52, freq="7D"), "y": 100.0})
    future = pd.DataFrame({"ds": pd.date_range("2026-10-31", periods=13, freq="7D")})
    fine = guards.check_forecast(hist, future.assign(yhat=120.0), 13)
    assert fine["passed"] and fine["reason"] == ""
    # The shape of the report: a first week fifteen times anything sold before.
    wild = guards.check_forecast(hist, future.assign(yhat=[1500.0] + [100.0] * 12), 13)
    assert not wild["passed"] and "over 2 times the history's highest (100)" in wild["reason"]
    level = guards.check_forecast(hist, future.assign(yhat=350.0), 13)
    assert not level["passed"] and "over 3 times the higher of its recent level (100)" in level["reason"]
    collapse = guards.check_forecast(hist, future.assign(yhat=20.0), 13)
    assert not collapse["passed"] and "under 1/3 of the lower" in collapse["reason"]
    # A small series is not judged on single units: 2 units in 13 weeks, then none forecast.
    tiny = hist.assign(y=0.0)
    tiny.loc[40, "y"] = tiny.loc[45, "y"] = 1.0
    assert guards.check_forecast(tiny, future.assign(yhat=0.0), 13)["passed"]
    assert guards.check_forecast(tiny, future.assign(yhat=[3.0] + [0.0] * 12), 13)["passed"]
    # An untested peak gets the stricter band, around its anniversary only (a growing series is not
    # held to last year's highest in every month).
    assert guards.check_forecast(hist, future.assign(yhat=150.0), 13)["passed"]
    peak_last_december = pd.Timestamp("2025-12-13")
    strict = guards.check_forecast(hist, future.assign(yhat=150.0), 13, peak_last_december)
    assert not strict["passed"] and "near the untested seasonal peak" in strict["reason"]
    in_march = pd.DataFrame({"ds": pd.date_range("2027-03-06", periods=13, freq="7D"), "yhat": 150.0})
    assert guards.check_forecast(hist, in_march, 13, peak_last_december)["passed"]


def test_a_forecast_that_fails_the_gate_is_replaced_by_a_baseline_and_named():
    """A history that ends by doubling every week, forecast by a flexible Prophet on the log scale,
    extrapolates the doubling: the gate replaces it and the notes say why."""
    days = pd.date_range("2025-05-03", "2026-10-31", freq="D")
    units = np.random.default_rng(3).poisson(10, len(days)).astype(float)
    units[-42:] *= 2 ** (np.arange(42) / 7)  # the last six weeks double weekly
    s = demand.build_series(_daily_orders(days, units), None, cutoff=CUTOFF, levels=["total"])
    cfg = forecasting.ForecastConfig(uncertainty_samples=50)
    run = forecasting.DemandForecaster(cfg, grid=[(0.5, 10.0)], engine="serial")
    run.tune(s)
    run.backtest(s)
    run.select(s)
    run.winners_ = run.winners_.assign(model="prophet")  # ship Prophet whatever the backtest said
    run.calibrate()
    fc = run.forecast(s)
    hist_max = s.history("total")["y"].max()
    assert run.fallbacks_["series"].tolist() == ["total"]
    assert run.fallbacks_["model"].iloc[0] == "prophet" and run.fallbacks_["fallback"].iloc[0] != "prophet"
    assert fc["model"].iloc[0] == run.fallbacks_["fallback"].iloc[0]
    assert fc["yhat"].max() <= guards.PEAK_BAND * hist_max
    assert run.notes_.query("stage == 'gate'")["note"].str.contains("failed the sanity gate").any()
    shown = forecasting.ForecasterReport(run)
    assert "0 of 1 forecasts stay within" in shown.gate_note() and shown.gate_table() is not None


def test_reconcile_top_down_and_bottom_up_by_hand():
    ds = pd.to_datetime(["2026-11-07", "2026-11-14"])
    rows = [("total", "total", None, [100.0, 60.0]), ("category=A", "category", "A", [30.0, 20.0]),
            ("category=B", "category", "B", [50.0, 20.0]),
            ("category=A, region=X", "category_region", "A", [10.0, 10.0]),
            ("category=A, region=Y", "category_region", "A", [10.0, 30.0])]
    f = pd.concat([pd.DataFrame({"series": n, "level": lv, "ds": ds, "yhat": y, "yhat_lower": np.array(y) / 2,
                                 "yhat_upper": np.array(y) * 2, "model": "ets"}) for n, lv, _, y in rows])
    cats = pd.Series({n: c for n, _, c, _ in rows})
    top = guards.reconcile(f, cats, "total").set_index(["series", "ds"])["yhat"]
    assert top["category=A"].tolist() == pytest.approx([100 * 30 / 80, 60 * 20 / 40])
    assert top["category=A, region=X"].tolist() == pytest.approx([37.5 / 2, 30 * 10 / 40])
    assert guards.incoherence(guards.reconcile(f, cats, "total"), cats)["largest_gap"].max() < 1e-12
    assert guards.incoherence(f, cats).set_index("level")["largest_gap"]["category"] == pytest.approx(20 / 60)
    bottom = guards.reconcile(f, cats, "category").set_index(["series", "ds"])
    assert bottom.loc["total", "yhat"].tolist() == [80.0, 40.0]
    assert bottom.loc["category=B", "yhat"].tolist() == [50.0, 20.0]
    # An interval keeps its relative width.
    assert bottom.loc["total", "yhat_upper"].tolist() == [160.0, 80.0]
    with pytest.raises(ValueError, match="anchor must be"):
        guards.reconcile(f, cats, "region")


def test_a_period_where_every_category_forecasts_zero_still_adds_up():
    """A shop shut on Sundays: every category's seasonal naive says 0, the total's model a little."""
    ds = pd.to_datetime(["2026-11-01", "2026-11-02"])
    f = pd.concat([pd.DataFrame({"series": n, "level": lv, "ds": ds, "yhat": y, "yhat_lower": 0.0,
                                 "yhat_upper": np.array(y) * 2, "model": "ets"})
                   for n, lv, y in (("total", "total", [5.0, 100.0]), ("category=A", "category", [0.0, 60.0]),
                                    ("category=B", "category", [0.0, 20.0]))], ignore_index=True)
    out = guards.reconcile(f, pd.Series({"category=A": "A", "category=B": "B"}), "total")
    assert guards.incoherence(out)["largest_gap"].max() < 1e-12
    sunday = out[out["ds"] == ds[0]].set_index("series")["yhat"]
    assert sunday["category=A"] == pytest.approx(5 * 60 / 80) and sunday["category=B"] == pytest.approx(5 * 20 / 80)


def test_a_run_ships_levels_that_add_up(small_run):
    s, run = small_run
    fc = run.forecast_
    gaps = guards.incoherence(fc)
    assert set(gaps["level"]) >= {"category"} and (gaps["largest_gap"] <= guards.RECONCILE_TOLERANCE).all()
    assert run.anchor_ in ("total", "category") and len(run.anchor_scores_) == 2
    # What ships is checked too: a shipped series outside the band after reconciliation is named.
    after = guards.sanity_gate(s.frame, fc, 13, run.untested_peak())
    assert set(after.loc[~after["passed"], "series"]) == set(run.gate_after_reconciliation_["series"])


@pytest.fixture(scope="module")
def small_run(cleaned):
    _, result = cleaned
    s = demand.build_series(result.tables["orders"], result.tables["customers"], cutoff=CUTOFF,
                            levels=["total", "category"])
    cfg = forecasting.ForecastConfig(uncertainty_samples=50)
    return s, forecasting.DemandForecaster(cfg, calendar=demand.calendar_for(s, 13), grid=[(0.05, 10.0)],
                                           engine="serial").run(s)


def test_a_backtest_window_holds_the_peak_when_the_history_allows():
    assert forecasting.origins(60, 13, 2, None, 26) == [34, 47]
    # The peak at position 28 is in neither window: an origin is added whose window holds it.
    assert forecasting.origins(60, 13, 2, None, 26, cover=28) == [26, 34, 47]
    # With less than min_train before the peak it cannot be tested.
    assert forecasting.origins(60, 13, 2, None, 26, cover=10) == [34, 47]
    hist = pd.DataFrame({"ds": pd.date_range("2025-01-04", periods=60, freq="7D"), "y": 10.0})
    hist.loc[28, "y"] = hist.loc[27, "y"] = 40.0
    assert guards.seasonal_peak(hist, "W") == hist["ds"][27] or guards.seasonal_peak(hist, "W") == hist["ds"][28]
    assert guards.seasonal_peak(hist.iloc[:40], "W") is None  # under a year: no seasonal peak
    flat = hist.assign(y=10.0)
    assert guards.seasonal_peak(flat, "W") is None


def test_a_peak_the_backtest_could_not_reach_tightens_the_gate(one_off_december):
    s, cal = one_off_december
    run = forecasting.DemandForecaster(forecasting.ForecastConfig(uncertainty_samples=50), calendar=cal,
                                       grid=[(0.05, 10.0)], engine="serial").run(s)
    assert run.peak_.month == 12 and not run.peak_tested_  # four weeks into the history: untested
    shown = forecasting.ForecasterReport(run)
    assert "was never in a backtest window" in shown.peak_note()
    assert f"({guards.UNTESTED_PEAK_BAND:g} times within {guards.PEAK_WINDOW_DAYS} days of the untested peak" in shown.gate_note()


def test_the_incomplete_last_week_is_left_out_not_counted_as_zero():
    days = pd.date_range("2026-06-01", "2026-10-21", freq="D")  # stops on a Wednesday, 10 days early
    s = demand.build_series(_daily_orders(days, np.full(len(days), 5.0)), None, cutoff=CUTOFF, levels=["total"])
    h = s.history("total")
    assert h["ds"].max() == pd.Timestamp("2026-10-17") == s.end  # the last Saturday the data reach
    assert (h["y"] == 35).all()  # no week of zeros, no half week
    assert any("the data end on 2026-10-21" in n and "not counted as zero demand" in n for n in s.notes)
    led = s.ledger.set_index("what")
    assert led.loc["sale lines in the incomplete period the data end in", "lines"] == 4
    assert forecasting.future_periods(s.end, 2, "W")[0] == pd.Timestamp("2026-10-24")
    # A shop that is shut on Sundays has not lost its Sunday.
    shut = pd.Series(days[days.dayofweek != 6])
    assert coverage.data_end(shut, pd.Timestamp("2026-10-18 23:59")) == pd.Timestamp("2026-10-18")
    assert coverage.data_end(pd.Series(days), CUTOFF) == pd.Timestamp("2026-10-21")


def test_daily_forecasts_run_reconcile_and_are_checked_next_month():
    rng = np.random.default_rng(2)
    days = pd.date_range("2025-09-01", "2026-10-31", freq="D")
    cats = np.where(np.arange(len(days)) % 2 == 0, "A", "B")
    orders = _daily_orders(days, rng.poisson(20 + 10 * (days.dayofweek >= 5)), cats)
    cfg = forecasting.ForecastConfig.for_freq("D", uncertainty_samples=50, n_origins=2)
    assert (cfg.horizon, cfg.min_train, cfg.ma_window, cfg.season_length) == (28, 56, 28, 7)
    s = demand.build_series(orders, None, cutoff=CUTOFF, freq="D", levels=["total", "category"])
    run = forecasting.DemandForecaster(cfg, grid=[(0.05, 10.0)], engine="serial").run(s)
    fc = run.forecast_
    assert fc["ds"].min() == pd.Timestamp("2026-11-01") and fc["ds"].nunique() == 28
    assert guards.incoherence(fc)["largest_gap"].max() <= guards.RECONCILE_TOLERANCE
    # Next month's check reads the daily grid off the stored forecast.
    assert monitoring.forecast_freq(fc) == "D"
    later = _daily_orders(pd.date_range("2026-11-01", "2026-11-30", freq="D"), np.full(30, 30.0))
    check = monitoring.forecast_check(fc.assign(measure="units"), pd.concat([orders, later]), None,
                                      pd.Timestamp("2026-11-30 23:59:59"))
    assert check["ds"].nunique() == 28 and (check.query("series == 'total'")["actual"] == 30).all()
    with pytest.raises(ValueError, match="freq must be 'W'"):
        forecasting.ForecastConfig.for_freq("M")


def test_short_history_ets_is_as_good_as_statsforecast_autoets_on_a_real_export(tmp_path, key):
    """Superstore's weekly total and categories, 82 weeks to 2017-12: the kit's ETS against
    statsforecast's AutoETS (season length 52) on the same rolling origins."""
    from statsforecast.models import AutoETS

    from crm_utils.data import cleaning, importer, io

    importer.import_export(realdata.path("superstore/Sample - Superstore.csv"), realdata.mapping("superstore"),
                           tmp_path / "raw")
    run = cleaning.CleaningRun(io.load_raw(tmp_path / "raw"), "2017-12", key=key)
    for step in cleaning.CleaningRun.STEPS:
        getattr(run, step)()
    orders = run.finish().tables["orders"]
    s = demand.build_series(orders[orders["order_date"] >= "2016-06-01"], None,
                            cutoff=pd.Timestamp("2017-12-31 23:59:59"), levels=["total", "category"])
    kit, sf = [], []
    for name in s.names:
        h = s.history(name)
        y = h["y"].to_numpy(float)
        for o in forecasting.origins(len(y), 13, 4, None, 26):
            scale = mase_scale(y[:o], 52)
            kit.append(mase(y[o:o + 13], LogScale(ETS(52)).fit(h.iloc[:o]).predict(h.iloc[o:o + 13])["yhat"], scale))
            sf.append(mase(y[o:o + 13], AutoETS(season_length=52).fit(y[:o]).predict(13)["mean"], scale))
    assert len(kit) == 16
    assert np.mean(kit) <= np.mean(sf) + 1e-9


def test_the_declared_calendar_travels_with_imported_and_generated_data(tmp_path, small_data):
    from crm_utils.config import PROJECT_ROOT
    from crm_utils.data import importer
    from crm_utils.data.mapping import declared_holidays

    out = importer.import_export(PROJECT_ROOT / "data" / "examples" / "generic_crm", "generic_crm", tmp_path / "raw").out
    assert declared_holidays(out / "mapping.yml") == {"regions_are": "countries"}
    assert declared_holidays(importer.resolve_mapping("online_retail")) == {"country": "GB"}
    assert declared_holidays(small_data / "mapping.yml") == {"regions_are": "countries"}


def test_a_notebook_resolves_the_declared_calendar_and_currency(small_data):
    from crm_utils.data.mapping import data_currency, data_holidays
    from crm_utils.run import pipeline

    # None (opened in JupyterLab): the data folder's declaration; "" or {} (from the runner): none.
    assert data_holidays(None, small_data) == {"regions_are": "countries"} and data_holidays({}, small_data) is None
    assert data_currency(None, small_data) == "EUR" and data_currency("", small_data) is None
    assert pipeline.holidays_parameter("{'country': 'gb'}") == {"country": "gb"}
    with pytest.raises(ValueError, match="-p holidays expects a mapping"):
        pipeline.holidays_parameter("GB")


def test_a_calendar_the_holidays_package_lacks_stops_at_reading_and_one_window_is_one_season():
    from crm_utils.data.mapping import document_holidays
    from crm_utils.data.schema import ContractError

    with pytest.raises(ContractError, match="'XX' is not a country the holidays package has a calendar for"):
        document_holidays({"holidays": {"country": "XX"}}, "mapping.yml")
    with pytest.raises(ContractError, match="subdivisions need the country"):
        document_holidays({"holidays": {"subdivisions": "region"}}, "mapping.yml")
    # Four weeks of an event that straddle the history's year boundary are one occurrence.
    h = pd.DataFrame({"ds": pd.date_range("2025-10-04", "2026-10-31", freq="7D"), "y": 1.0, "e": 0.0})
    h.loc[h["ds"].between("2025-10-20", "2025-11-15"), "e"] = 1.0  # ages 350 to 376 days: across the year
    ages = (h["ds"].max() - h.loc[h["e"] > 0, "ds"]).dt.days
    assert ages.min() < 365 <= ages.max() and models.event_seasons(h, "e") == 1
