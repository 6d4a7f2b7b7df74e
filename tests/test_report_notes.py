"""The report's brief says what the figures leave out or cannot promise (issues 18 and 19): a
partial month, guest sales, merged duplicate lines, uncalibrated purchase predictions, forecasts
replaced by the sanity gate."""

from __future__ import annotations

from crm_utils.report import summary


def _metrics(**parts) -> dict:
    base = {"01_data_cleaning": {"tables": {"orders": {"rows_in": 100, "quarantined": 2}},
                                 "quarantined_by_reason": {"orders.invalid_price": 2}, "month_complete": True},
            "02_customer_overview": {"kpis": {"revenue": 1000.0, "orders": 10, "active_customers": 8,
                                              "new_customers": 2, "returning_customers": 6},
                                     "previous_month": {"revenue": 800.0}, "same_month_last_year": {},
                                     "retention": {}}}
    for key, value in parts.items():
        base.setdefault(key, {}).update(value)
    return base


def test_a_whole_month_has_no_partial_sentence_and_a_partial_one_leads_the_brief():
    assert summary.partial_sentence(_metrics()) == ""
    m = _metrics(**{"01_data_cleaning": {"month_complete": False, "data_end": "2011-12-09", "cutoff": "2011-12-31"},
                    "02_customer_overview": {"compared_days": 9}})
    brief = summary.month_sentences(m, None, "GBP")
    assert brief[0].startswith("Partial month: data to 2011-12-09. The KPI comparisons use the same days (1 to 9)")
    assert "every other figure here uses the data as they are" in brief[0]


def test_guest_sales_and_merged_duplicates_are_stated_in_the_brief():
    m = _metrics(**{"02_customer_overview": {"guest_lines": 250, "guest_revenue": 300.0, "guest_revenue_share": 0.3},
                    "01_data_cleaning": {"merged_duplicate_lines": 14, "merged_duplicate_revenue": 74.0,
                                         "merged_duplicate_revenue_share": 0.074}})
    brief = " ".join(summary.month_sentences(m, None, "BRL"))
    assert "customer figures leave out 250 guest order line(s) with no customer id (300 BRL, 30.0% of revenue)" in brief
    assert "14 order line(s) (74 BRL, 7.4% of revenue) were merged as exact duplicates" in brief


def test_uncalibrated_predictions_and_gate_fallbacks_are_said():
    assert summary.prediction_note(_metrics(), 0.65) == ""
    off = _metrics(**{"05_need_prediction": {"propensity": {"prediction_possible": True, "buyers_check": {
        "expected": 1412, "realised": 1806, "ratio": 1412 / 1806, "tolerance": 0.1, "within_tolerance": False}}}})
    assert "expected 1,412 buyers where 1,806 bought (-21.8%)" in summary.prediction_note(off, 0.65)
    none = _metrics(**{"05_need_prediction": {"propensity": {"prediction_possible": False,
                                                             "not_possible": "Purchase prediction is not possible"}}})
    assert summary.prediction_note(none, 0.65).startswith("Purchase prediction is not possible")
    demand = _metrics(**{"08_demand_forecasting": {
        "gate_fallbacks": {"units": [{"series": "total", "model": "prophet", "fallback": "ets",
                                      "reason": "its highest period (2,696,423) is over 2 times the history's highest"}]},
        "peak": "2010-12-05", "peak_tested": False, "reconciliation": {"units": "total"}}})
    note = summary.forecast_note(demand)
    assert "The units forecast of total by prophet failed the sanity gate" in note and "ets is shown instead" in note
    assert "never in a backtest window" in note and "top-down" in note


def test_a_shop_of_guest_sales_is_told_so():
    m = _metrics(**{"02_customer_overview": {"guest_lines": 3944, "guest_revenue": 3944.0, "guest_revenue_share": 1.0}})
    m["02_customer_overview"]["kpis"].update(active_customers=None, new_customers=None, returning_customers=None)
    brief = " ".join(summary.month_sentences(m, None, None))
    assert "Every one of this month's 3,944 order lines is a guest sale" in brief


def test_a_model_that_ranks_like_a_coin_toss_is_said_to():
    m = _metrics(**{"05_need_prediction": {"propensity": {"prediction_possible": True, "selected": "naive Bayes",
                                                          "test": {"naive Bayes": {"roc_auc": 0.497}}}}})
    assert "ROC-AUC 0.50, below the report's 0.65" in summary.prediction_note(m, 0.65)
    assert summary.prediction_note(m, 0.45) == ""


def test_a_fallback_that_is_itself_outside_the_band_or_absent_is_not_called_a_fix():
    rows = [{"series": "total", "model": "prophet", "fallback": "ets", "fallback_passed": False, "reason": "r1"},
            {"series": "category=A", "model": "moving_average", "fallback": "moving_average",
             "fallback_passed": False, "reason": "r2"}]
    note = summary.forecast_note(_metrics(**{"08_demand_forecasting": {"gate_fallbacks": {"units": rows},
                                                                       "reconciliation": {}}}))
    assert "ets is shown instead, and it too is outside the band" in note
    assert "category=A by moving_average failed the sanity gate (r2); no simpler model was left" in note
    assert "Categories add up" not in note  # one level: nothing was reconciled
