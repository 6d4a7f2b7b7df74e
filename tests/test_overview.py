"""Overview figures: KPIs by hand, honest comparisons, group tests, cohort retention."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils.customers import features, overview


def _orders(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "quantity", "unit_price"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["is_return"] = df["quantity"] < 0
    df["line_revenue"] = df["quantity"] * df["unit_price"]
    return df


HAND = _orders([
    ("O1", "A", "2026-08-03", 1, 100.0),
    ("O2", "A", "2026-09-10", 2, 50.0),
    ("O2", "A", "2026-09-10", 1, 20.0),   # a second line of the same order
    ("O3", "B", "2026-09-12", 1, 30.0),   # B's first purchase: new in September
    ("R1", "A", "2026-09-20", -1, 50.0),  # a return in September
    ("O4", "C", "2026-10-01", 1, 10.0),
])


def test_month_kpis_by_hand():
    k = overview.month_kpis(HAND, pd.Period("2026-09", freq="M"))
    assert k["revenue"] == pytest.approx(100 + 20 + 30 - 50)
    assert k["orders"] == 2 and k["active_customers"] == 2
    assert k["new_customers"] == 1 and k["returning_customers"] == 1
    assert k["average_order_value"] == pytest.approx((100 + 20 + 30) / 2)
    assert k["return_rate"] == pytest.approx(50 / 150)


def test_kpi_table_leaves_months_outside_the_data_empty():
    t = overview.kpi_table(HAND, "2026-09")
    assert t.loc["revenue", "previous month"] == pytest.approx(100)
    assert t.loc["revenue", "change vs previous month"] == pytest.approx(100 / 100 - 1)
    assert t["same month last year"].isna().all() and t["change vs last year"].isna().all()
    # The first month of the data cannot tell new from returning customers.
    first = overview.kpi_table(HAND, "2026-08")
    assert np.isnan(first.loc["new_customers", "this month"])
    second = overview.kpi_table(HAND, "2026-09")  # August, the first month, is the previous one here
    assert np.isnan(second.loc["new_customers", "previous month"]) and second.loc["orders", "previous month"] == 1
    text = overview.format_kpis(t)
    assert text.loc["return_rate", "this month"] == "33.3%" and text.loc["revenue", "same month last year"] == "–"


def test_kpis_against_the_default_data(default_cleaned):
    orders = default_cleaned.tables["orders"]
    t = overview.kpi_table(orders, "2026-10")
    oct_ = orders[orders["order_date"].dt.to_period("M") == pd.Period("2026-10", freq="M")]
    assert t.loc["revenue", "this month"] == pytest.approx(oct_["line_revenue"].sum())
    this = t["this month"]
    assert this["new_customers"] + this["returning_customers"] == this["active_customers"]
    # The generator grows the business about 30% a year through acquisition.
    assert t.loc["active_customers", "change vs last year"] > 0.1


def test_group_comparison_finds_a_real_difference_and_covers_the_mean():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"g": np.repeat(["a", "b", "c"], 400),
                          "v": np.r_[rng.lognormal(3, 1, 400), rng.lognormal(3, 1, 400), rng.lognormal(3.5, 1, 400)]})
    table, test = overview.compare_groups(frame, "g", "v")
    assert test["p_value"] < 1e-6 and 0 < test["epsilon_squared"] < 1
    assert table.index[0] == "c"  # largest mean first
    true_mean = np.exp(3 + 0.5)
    assert table.loc["a", "ci_low"] < true_mean < table.loc["a", "ci_high"]
    same, test_same = overview.compare_groups(frame[frame["g"] != "c"], "g", "v")
    assert test_same["p_value"] > test["p_value"] and test_same["epsilon_squared"] < test["epsilon_squared"]


def test_planted_group_differences_show_and_absent_ones_do_not(default_cleaned):
    """Personas differ in age and channel mix; region and gender are planted without effect."""
    t = default_cleaned.tables
    year = overview.customer_year(t["orders"], t["customers"], pd.Timestamp("2026-10-31 23:59:59"))
    p = {g: overview.compare_groups(year, g, "spend_12m")[1]["p_value"] for g in ("channel", "age_band", "region", "gender")}
    assert p["channel"] < 1e-6 and p["age_band"] < 1e-6
    assert p["region"] > 0.01 and p["gender"] > 0.01


def test_age_bands():
    bands = overview.age_band(pd.Series([2000, 1990, None, 1900]), pd.Timestamp("2026-10-31"))
    assert list(bands.astype(str)) == ["25-34", "35-44", "unknown", "unknown"]


def test_cohort_retention_by_hand():
    orders = _orders([
        ("1", "A", "2026-07-05", 1, 1.0), ("2", "A", "2026-08-05", 1, 1.0), ("3", "A", "2026-10-05", 1, 1.0),
        ("4", "B", "2026-07-20", 1, 1.0),
        ("5", "C", "2026-09-01", 1, 1.0), ("6", "C", "2026-10-02", 1, 1.0),
        ("7", "D", "2026-11-02", 1, 1.0),  # after the report month: ignored
    ])
    table, sizes = overview.cohort_retention(orders, "2026-10", cohorts=4, horizon=3)
    assert list(table.index) == ["2026-07", "2026-09"] and sizes.to_dict() == {"2026-07": 2, "2026-09": 1}
    assert table.loc["2026-07"].tolist() == [1.0, 0.5, 0.0, 0.5]
    assert table.loc["2026-09", 1] == 1.0 and table.loc["2026-09", [2, 3]].isna().all()  # not knowable yet
    summary = overview.retention_summary(table, sizes, months=(1, 3))
    assert summary["month_1"] == pytest.approx((0.5 * 2 + 1.0 * 1) / 3) and summary["month_3"] == 0.5


def test_correlations_are_rank_based(default_cleaned):
    f = features.customer_features(default_cleaned.tables["orders"], pd.Timestamp("2026-10-31 23:59:59"))
    corr = overview.behaviour_correlations(f)
    assert corr.loc["frequency", "monetary"] > 0.8  # more orders, more money: partly arithmetic
    assert corr.loc["frequency", "monetary"] == pytest.approx(
        f["frequency"].rank().corr(f["monetary"].rank()), abs=1e-9)
    assert "interactions" not in corr  # no interaction log given: no constant column


def test_monthly_series_counts_orders_like_nunique_even_without_an_order_id():
    orders = HAND.copy()
    orders.loc[5, "order_id"] = None  # C's October line has lost its order number
    series = overview.monthly_series(orders, "2026-10", months=3)
    assert series["orders"].tolist() == [1, 2, 0] and series["active_customers"].tolist() == [1, 2, 1]
    assert series["revenue"].tolist() == pytest.approx([100.0, 100.0, 10.0])
