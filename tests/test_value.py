"""Customer value: the models recover planted parameters, rank the planted personas by value,
beat naive baselines in a holdout, degrade on one-purchase shops, and hand over what they promise."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from crm_utils import stages
from crm_utils.artifacts import LastMonth, write_table
from crm_utils.synth.world import ARCHETYPES, CATEGORIES, CATEGORY_NAMES, PERSONAS, Catalogue
from crm_utils.value import actions, clv, evaluation, handover, monitoring, plots as charts

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")
#: Relative tolerance of the recovered parameters with 3,000-4,000 simulated customers. The rates (r,
#: alpha; p, q, v) are pinned down by every purchase; the dropout shape (a, b) only by the customers
#: who stopped, so its sampling error is about twice as large (FHL 2005 report similar spreads).
RATE_TOLERANCE = 0.15
DROPOUT_TOLERANCE = 0.30


def simulate_bgnbd(n: int, r: float, alpha: float, a: float, b: float, seed: int) -> pd.DataFrame:
    """Customers drawn from BG/NBD: rate ~ Gamma(r, alpha), dropout after each repeat purchase with
    p ~ Beta(a, b); ages T uniform over 1-2 years (days). Returns the summary the models read."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = rng.uniform(365, 730, n)
    t = np.zeros(n)
    x = np.zeros(n)
    tx = np.zeros(n)
    alive = np.ones(n, bool)
    while alive.any():
        t = t + rng.exponential(1 / lam)
        alive &= t <= T
        x[alive] += 1
        tx[alive] = t[alive]
        alive &= rng.random(n) >= p
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "monetary_value": np.where(x > 0, 20.0, 0.0)},
                        index=pd.Index([f"S{i}" for i in range(n)], name="customer_id"))


def simulate_gamma_gamma(n: int, p: float, q: float, v: float, seed: int) -> pd.DataFrame:
    """Repeat buyers drawn from Gamma-Gamma: each order's value ~ Gamma(p, nu), nu ~ Gamma(q, v)."""
    rng = np.random.default_rng(seed)
    x = 1 + rng.poisson(3, n)
    nu = rng.gamma(q, 1 / v, n)
    mean = np.array([rng.gamma(p, 1 / nu_i, k).mean() for nu_i, k in zip(nu, x)])
    return pd.DataFrame({"frequency": x.astype(float), "monetary_value": mean})


def test_bgnbd_recovers_its_parameters_from_a_seeded_sample_and_predicts_for_everyone():
    """The value model as a large shop runs it: BG/NBD (the needs stage's) learns from a seeded
    sample of customers (max_fit_customers) and every customer is predicted."""
    truth = {"r": 0.8, "alpha": 30.0, "a": 0.8, "b": 2.5}
    data = simulate_bgnbd(4000, seed=1, **truth)
    spend = simulate_gamma_gamma(4000, 6.0, 4.0, 15.0, seed=5)["monetary_value"].to_numpy()
    data["monetary_value"] = np.where(data["frequency"] > 0, spend, 0.0)
    data = data.assign(orders=data["frequency"] + 1, total_spend=data["monetary_value"] * (data["frequency"] + 1),
                       first_purchase=CUTOFF - pd.to_timedelta(data["T"], unit="D"),
                       last_purchase=CUTOFF - pd.to_timedelta(data["T"] - data["recency"], unit="D"))
    model = clv.CustomerValueModel(max_fit_customers=3000, seed=3).fit(data)
    assert "sample of 3,000 of the 4,000 customers" in model.fit_note
    fitted = model.bgnbd_.params_
    for k, true in truth.items():
        tol = DROPOUT_TOLERANCE if k in ("a", "b") else RATE_TOLERANCE
        assert abs(fitted[k] - true) / true < tol, (k, fitted[k], true)
    table = model.predict(data)
    assert len(table) == 4000 and table["clv"].notna().all() and table["p_alive"].between(0, 1).all()
    assert (table.loc[data["frequency"].to_numpy() == 0, "p_alive"] == 1).all()  # BG/NBD: no repeat, no dropout


def test_gamma_gamma_recovers_its_parameters_and_the_assumption_holds():
    truth = {"p": 6.0, "q": 4.0, "v": 15.0}
    data = simulate_gamma_gamma(4000, seed=2, **truth)
    model = clv.GammaGamma().fit(data)
    for k, true in truth.items():
        assert abs(model.params_[k] - true) / true < RATE_TOLERANCE, (k, model.params_[k], true)
    assert model.population_mean == pytest.approx(15 * 6 / 3, rel=RATE_TOLERANCE)
    check = clv.gamma_gamma_check(data)  # planted independent of frequency
    assert check["holds"] and abs(check["correlation"]) < 0.1
    assert clv.gamma_gamma_note(check) == ""


def test_gamma_gamma_check_fails_when_spend_grows_with_frequency():
    data = simulate_gamma_gamma(2000, 6.0, 4.0, 15.0, seed=3)
    data["monetary_value"] *= data["frequency"]  # frequent buyers spend more per order
    check = clv.gamma_gamma_check(data)
    assert check["holds"] is False and check["correlation"] > clv.MAX_SPEND_FREQUENCY_CORRELATION
    assert "assumption fails" in clv.gamma_gamma_note(check)


def _orders(rows: list[tuple[str, str, str, float]]) -> pd.DataFrame:
    o = pd.DataFrame(rows, columns=["customer_id", "order_id", "order_date", "line_revenue"])
    o["order_date"] = pd.to_datetime(o["order_date"])
    o["is_return"] = False
    return o


def test_rfm_summary_counts_orders_and_repeat_spend():
    o = _orders([("A", "1", "2026-01-01", 10), ("A", "1", "2026-01-01", 5), ("A", "2", "2026-01-11", 30),
                 ("A", "3", "2026-01-21", 50), ("B", "4", "2026-10-01", 7), ("A", "9", "2026-11-05", 99),
                 (None, "5", "2026-02-01", 40)])
    s = clv.rfm_summary(o, CUTOFF)
    assert list(s.index) == ["A", "B"]  # the guest line belongs to nobody; November is after the cutoff
    a = s.loc["A"]
    assert (a["frequency"], a["recency"], a["orders"], a["total_spend"]) == (2, 20, 3, 95)
    assert a["monetary_value"] == 40  # mean of the repeat orders (30, 50): the first is left out
    assert s.loc["B", "monetary_value"] == 0 and s.loc["B", "frequency"] == 0


def test_one_purchase_shop_degrades_with_the_reason():
    o = _orders([(f"C{i}", str(i), "2026-03-01", 20.0) for i in range(300)]
                + [("C1", "x", "2026-05-01", 20.0)])
    table, model = clv.customer_value(o, CUTOFF)
    assert model.skipped and "Repeat-purchase models need repeat purchases" in model.skip_note
    assert table["clv"].isna().all() and table["p_alive"].isna().all() and len(table) == 300
    assert actions.slipping_away(table).empty
    sentences, tiers = handover.report_section({"skipped": model.skip_note})
    assert sentences == [model.skip_note] and tiers is None
    held = evaluation.HoldoutEvaluation(o, "2026-10", holdout_months=3).run()
    assert held.skipped and "Repeat-purchase models need repeat purchases" in held.verdict()
    assert held.errors() is None and held.tracking() is None and held.figures() == {"skipped": held.skip_note}
    cohorts = actions.by_cohort(table)
    assert cohorts["clv_total"].isna().all() and cohorts["customers"].sum() == 300  # no value, not a value of 0
    assert charts.value_by_chart(cohorts, "cohort", None) is None  # no CLV: no chart
    assert model.params_ is None
    assert monitoring.note(None, "nothing was predicted.").endswith("nothing was predicted.")


def test_value_tiers_hold_their_shares():
    tiers = clv.value_tiers(np.arange(1000.0))
    counts = tiers.value_counts()
    for name, share in clv.VALUE_TIERS:
        assert counts[name] == share * 1000
    assert tiers.iloc[-1] == "top 10%" and tiers.iloc[0] == "bottom 30%"


def planted_value(seed: int, horizon_months: int = 12) -> pd.Series:
    """Each persona's planted value: the revenue a customer alive at the cutoff brings in the horizon,
    from the generator's parameters (orders a month, category mix, the catalogue's prices under the
    persona's price taste, extra units, lines per order, churn hazard times the mean archetype factor)."""
    cat = Catalogue.build(seed)
    mult = sum(a.share * a.churn_multiplier for a in ARCHETYPES)
    season = np.array([CATEGORIES[c]["season"] for c in CATEGORY_NAMES])
    extra = np.array([CATEGORIES[c]["extra_units"] for c in CATEGORY_NAMES])
    lines_per_order = 1 + 0.8  # behaviour._draw_lines: 1 + Poisson(0.8)
    out = {}
    for p in PERSONAS:
        w = np.asarray(p.category_weights)[:, None] * season
        share = (w / w.sum(0)).mean(1)
        price = []
        for ci in range(len(CATEGORY_NAMES)):
            idx = np.flatnonzero(cat.category == ci)
            weight = cat.popularity[idx] * (cat.price[idx] / np.median(cat.price[idx])) ** p.price_preference
            price.append((cat.price[idx] * weight).sum() / weight.sum())
        order_value = lines_per_order * (share * np.array(price) * (1 + extra)).sum()
        months_alive = sum((1 - p.monthly_churn * mult) ** m for m in range(horizon_months))
        out[p.name] = p.orders_per_month * order_value * months_alive
    return pd.Series(out)


@pytest.fixture(scope="module")
def default_value(default_cleaned):
    orders = default_cleaned.tables["orders"]
    table, model = clv.customer_value(orders, CUTOFF)
    return orders, table, model


def test_personas_rank_by_planted_value(default_value, default_data):
    _, table, model = default_value
    assert not model.skipped
    truth = pd.read_parquet(default_data / "_truth" / "customers.parquet")
    persona = truth.drop_duplicates("canonical_id").set_index("canonical_id")["persona"]
    mean_clv = table.groupby(persona.reindex(table["customer_id"].astype(str)).to_numpy())["clv"].mean()
    planted = planted_value(42)
    assert list(mean_clv.sort_values(ascending=False).index) == list(planted.sort_values(ascending=False).index), \
        (mean_clv.round(0).to_dict(), planted.round(0).to_dict())


def test_value_table_columns_and_identities(default_value):
    _, table, _ = default_value
    for col in ("customer_id", "expected_purchases", "expected_spend", "clv", "p_alive"):
        assert col in table.columns
    assert table["customer_id"].is_unique
    assert ((table["p_alive"] >= 0) & (table["p_alive"] <= 1)).all()
    assert np.allclose(table["value_at_risk"], table["clv"] * (1 - table["p_alive"]))
    # Discounting can only lower the value over the horizon below undiscounted purchases x spend.
    assert (table["clv"] <= table["expected_purchases"] * table["expected_spend"] * 1.001).all()
    assert (table["expected_purchases_next_month"] <= table["expected_purchases"]).all()


def test_holdout_beats_naive_baselines_on_the_default_data(default_value):
    orders, _, _ = default_value
    ev = evaluation.HoldoutEvaluation(orders, "2026-10", holdout_months=6).run()
    f = ev.figures()
    assert f["beats_baselines_significantly"], ev.errors()
    assert abs(f["spend_error"]) < 0.25 and abs(f["purchases_error"]) < 0.25  # totals within a quarter
    track = ev.tracking()
    assert track["actual"].iloc[-1] == f["actual_purchases"]  # the chart ends at the holdout's total
    assert track["expected"].is_monotonic_increasing
    trade = ev.p_alive_tradeoff()
    assert trade["flagged"].is_monotonic_increasing
    lapsed, flag = ev.table_["actual_purchases"] == 0, ev.table_["p_alive"] < 0.5  # the shared trade-off's figures
    row = trade.set_index("threshold").loc[0.5]
    assert row["flagged"] == flag.sum() and row["buyers_written_off"] == (flag & ~lapsed).sum()
    assert row["precision"] == pytest.approx(lapsed[flag].mean()) and row["recall"] == pytest.approx(flag[lapsed].mean())
    assert row["churn_rate"] == pytest.approx(lapsed.mean())
    assert "below both naive baselines" in ev.verdict()


def test_actions_list_only_valuable_slipping_customers(default_value, default_cleaned):
    _, table, _ = default_value
    at_risk = actions.slipping_away(table)
    assert list(at_risk.columns) == actions.AT_RISK_COLUMNS  # ids and scores: no personal data
    assert (at_risk["p_alive"] < actions.SLIPPING_P_ALIVE).all()
    assert at_risk["total_spend"].min() >= table["total_spend"].quantile(1 - actions.VALUABLE_SHARE)
    assert at_risk["value_at_risk"].is_monotonic_decreasing
    cohorts = actions.by_cohort(table)
    assert cohorts["customers"].sum() == len(table)
    segments = pd.DataFrame({"customer_id": table["customer_id"].iloc[: len(table) // 2],
                             "segment_name": "half"})
    by_seg = actions.by_segment(table, segments)
    assert by_seg.loc["(no segment)", "customers"] == len(table) - len(table) // 2  # none dropped


def test_monitoring_reads_last_months_predictions(default_value, tmp_path):
    """Last month's artifact (here: September's value table, fitted on what was known then) against October."""
    orders, _, _ = default_value
    september = orders[orders["order_date"] <= pd.Timestamp("2026-09-30 23:59:59")]
    predicted, model = clv.customer_value(september, pd.Timestamp("2026-09-30 23:59:59"))
    write_table(tmp_path / "2026-09", "customer_value", predicted)
    figures, source = monitoring.last_month_outcome(LastMonth(tmp_path / "2026-10", "2026-10"), "2026-10", orders)
    assert source.startswith("last month's report (2026-09")
    october = orders[(orders["order_date"] > pd.Timestamp("2026-09-30 23:59:59")) & ~orders["is_return"]
                     & orders["customer_id"].isin(predicted["customer_id"])]
    assert figures["actual_purchases"] == october["order_id"].nunique()
    assert figures["customers"] == len(predicted)
    assert abs(figures["error"]) < 0.3 and figures["spearman"] > 0.3
    assert "purchases expected" in monitoring.note(figures, source)
    # Without last month's report the predictions are refitted (BG/NBD alone): exactly the column
    # September's full fit wrote, so the figures are those of the artifact.
    refitted, source = monitoring.last_month_predictions(LastMonth(tmp_path / "elsewhere" / "2026-10", "2026-10"),
                                                         "2026-10", orders)
    assert source.startswith("recomputed: no report of last month")
    pd.testing.assert_frame_equal(refitted, predicted[["customer_id", "expected_purchases_next_month"]],
                                  check_exact=True)
    assert monitoring.realised(refitted, orders, "2026-10") == figures


def test_headline_and_report_section_say_what_the_table_holds(default_value):
    orders, table, model = default_value
    at_risk = actions.slipping_away(table)
    held = evaluation.HoldoutEvaluation(orders, "2026-10", holdout_months=6)  # not run: no holdout figures
    held.skip_note = "No holdout evaluation: not run in this test."
    figures = handover.headline(table, model, held, at_risk, "nowhere", None)
    assert set(figures) == set(stages.stage("value").headline_figures) - {"churn"}  # churn: recorded beside, by churn.headline
    assert figures["total_clv"] == pytest.approx(table["clv"].sum())
    assert figures["at_risk_customers"] == len(at_risk)
    sentences, tiers = handover.report_section(figures, "EUR")
    assert f"{figures['total_clv']:,.0f} EUR" in sentences[0]
    top = tiers.loc["top 10%"]
    assert top["customers"] == (table["value_tier"] == "top 10%").sum()
    assert top["clv_share"] == pytest.approx(table.loc[table["value_tier"] == "top 10%", "clv"].sum() / table["clv"].sum())
    assert held.skip_note in sentences
    # The holdout sentence names the model's error as the model's, also after metrics.json sorted the keys.
    figures["evaluation"] = json.loads(json.dumps({
        "holdout_months": 6, "calibration_end": "2026-04-30", "spend_error": 0.002, "purchases_error": 0.098,
        "beats_baselines": True, "mae_spend": {"model (BG/NBD + Gamma-Gamma)": 843.0, "last period": 1102.0,
                                               "average spend x frequency": 1179.0}}, sort_keys=True))
    held_out = next(s for s in handover.report_section(figures, "EUR")[0] if s.startswith("Checked on"))
    assert "(MAE 843 EUR against average spend x frequency 1,179 EUR, last period 1,102 EUR)" in held_out


def test_stage_entry_sits_between_segments_and_needs():
    keys = [s.key for s in stages.STAGES]
    assert keys.index("segments") + 1 == keys.index("value") == keys.index("needs") - 1
    value = stages.stage("value")
    assert value.needs_customers and value.headline_function() is handover.headline
