"""The monthly report's helpers: sentences that follow the numbers, honest checks, the forecast check."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import artifacts
from crm_utils.demand import monitoring as forecast_monitoring
from crm_utils.report import summary as report

METRICS = {
    "01_data_cleaning": {"tables": {"orders": {"rows_in": 1000, "quarantined": 30},
                                    "customers": {"rows_in": 100, "quarantined": 2}},
                         "quarantined_by_reason": {"orders.invalid_price": 20, "orders.unknown_customer": 10,
                                                   "customers.test_account": 2}},
    "02_customer_overview": {
        "kpis": {"revenue": 1200.0, "orders": 10, "active_customers": 8, "new_customers": 2, "returning_customers": 6,
                 "average_order_value": 120.0, "return_rate": 0.05},
        "previous_month": {"revenue": 1000.0, "orders": 10, "active_customers": 9, "new_customers": 3,
                           "returning_customers": 6, "average_order_value": 100.0, "return_rate": 0.04},
        "same_month_last_year": {"revenue": 1500.0},
        "retention": {"month_1": 0.4}},
    "03_customer_segmentation": {"customers": 100, "k": 3, "migration": {"stayed_share": 0.9},
                                 "segments": {"Loyal · Books": {"customers": 60, "share": 0.6},
                                              "Lost · Garden": {"customers": 40, "share": 0.4}}},
    "09_satisfaction_clustering": {"nps": {"nps": 12.0, "ci_low": 5.0, "ci_high": 19.0}},
}


def test_sentences_are_written_from_the_figures():
    s = report.month_sentences(METRICS, {"09_satisfaction_clustering": {"nps": {"nps": 20.0}}}, currency="EUR")
    assert len(s) == 5
    assert s[0].startswith("Net revenue was 1,200 EUR, up 20.0% on last month and down 20.0% on the same month")
    assert "larger baskets" in s[0]  # orders flat, order value up 20%
    assert "8 customers bought this month: 2 for the first time and 6 returning (75% of buyers)" in s[1]
    assert "'Loyal · Books' with 60%" in s[2] and "90% of last month's customers kept their segment" in s[2]
    assert "+12 (95% interval +5 to +19), against +20 in last month's report" in s[3]
    assert "Of 1,100 input rows, 32 (2.91%)" in s[4] and "'orders: invalid price' (20 rows)" in s[4]
    # Fewer orders at the same value read differently: the text follows the numbers.
    fewer = {**METRICS, "02_customer_overview": {**METRICS["02_customer_overview"],
                                                 "kpis": {**METRICS["02_customer_overview"]["kpis"], "orders": 8,
                                                          "revenue": 800.0, "average_order_value": 100.0}}}
    assert "fewer orders" in report.month_sentences(fewer)[0] and "down 20.0% on last month" in report.month_sentences(fewer)[0]


def test_missing_notebooks_leave_their_sentence_out():
    s = report.month_sentences({"01_data_cleaning": METRICS["01_data_cleaning"]})
    assert len(s) == 1 and s[0].startswith("Of 1,100 input rows")
    no_year = {"02_customer_overview": {**METRICS["02_customer_overview"], "same_month_last_year": {}}}
    assert "do not reach back a full year" in report.month_sentences(no_year)[0]
    first = {"02_customer_overview": {**METRICS["02_customer_overview"], "previous_month": {}, "same_month_last_year": {}}}
    assert "no earlier month in the data" in report.month_sentences(first)[0]  # never "unchanged"


def test_consistency_with_last_months_report():
    previous = {"02_customer_overview": {"kpis": METRICS["02_customer_overview"]["previous_month"]}}
    table = report.consistency_with_previous(METRICS, previous)
    assert table["agrees"].all() and len(table) == 7
    changed = {"02_customer_overview": {"kpis": {**METRICS["02_customer_overview"]["previous_month"], "revenue": 990.0}}}
    table = report.consistency_with_previous(METRICS, changed)
    assert list(table.index[~table["agrees"]]) == ["revenue"]
    assert report.consistency_with_previous(METRICS, None).empty


def test_monitoring_flags_warnings_and_never_calls_the_unknown_ok():
    checks = [{"check": "auc", "value": 0.6, "threshold": 0.65, "direction": "min"},
              {"check": "auc ok", "value": 0.7, "threshold": 0.65, "direction": "min"},
              {"check": "error", "value": 0.3, "threshold": 0.25, "direction": "max"},
              {"check": "unknown", "value": None, "threshold": 0.25, "direction": "max"},
              {"check": "nan", "value": float("nan"), "threshold": 0.5, "direction": "min"}]
    t = report.monitoring_table(checks)
    assert t["status"].tolist() == ["WARNING", "ok", "WARNING", "not measurable", "not measurable"]


def test_quarantine_table_by_reason():
    t = report.quarantine_table(METRICS)
    assert t.iloc[0].to_dict() == {"table": "orders", "reason": "invalid_price", "rows": 20}
    assert report.quarantine_table({}).empty


def test_last_months_forecast_is_checked_on_its_own_weeks():
    # Last month ended Wednesday 2026-09-30: its forecast weeks end on Wednesdays.
    weeks = pd.date_range("2026-10-07", periods=6, freq="7D")
    fc = pd.DataFrame({"series": "total", "level": "total", "measure": "units", "model": "prophet", "ds": weeks,
                       "yhat": 10.0, "yhat_lower": 8.0, "yhat_upper": 12.0})
    days = pd.date_range("2026-09-01", "2026-10-31", freq="D")
    units = np.where(days <= "2026-10-21", 1.0, 3.0)  # 7 units a week, then 21 from Oct 22
    orders = pd.DataFrame({"order_id": [f"O{i}" for i in range(len(days))], "customer_id": "C1", "order_date": days,
                           "product_id": "P", "category": "Books", "quantity": units, "unit_price": 1.0,
                           "is_return": False, "is_outlier": False})
    orders["line_revenue"] = orders["quantity"]
    check = forecast_monitoring.forecast_check(fc, orders, None, pd.Timestamp("2026-10-31 23:59:59"))
    assert list(check["ds"]) == list(weeks[:4])  # the weeks ending Oct 7, 14, 21 and 28 have ended
    assert check["actual"].tolist() == [7.0, 7.0, 7.0, 21.0]
    assert not check["inside"].any()  # 7 and 21 units against an interval of 8-12
    checks = report.monitoring_checks({}, check, min_auc=0.65, min_interval_coverage=0.6, max_forecast_error=0.25,
                                      min_share_beating_naive=0.5)
    by_name = {c["check"]: c["value"] for c in checks}
    assert by_name["last month's total forecast: relative error over the weeks since"] == pytest.approx(2 / 42)
    inside = [v for k, v in by_name.items() if "inside the 80% interval" in k]
    assert inside == [0.0]
    value_check = "last month's expected purchases (customer value): relative error over this month"
    assert by_name[value_check] is None  # notebook 04 did not run: not measurable, never 0
    value = {"04_customer_value": {"monitoring": {"error": -0.31, "source": "last month's report (2026-09)"}}}
    checks = report.monitoring_checks(value, check, min_auc=0.65, min_interval_coverage=0.6, max_forecast_error=0.25,
                                      min_share_beating_naive=0.5, max_value_error=0.25)
    row = next(c for c in checks if c["check"] == value_check)
    assert row["value"] == pytest.approx(0.31) and row["source"] == "last month's report (2026-09)"
    assert report.monitoring_table(checks).set_index("check").loc[value_check, "status"] != \
        report.monitoring_table(checks).set_index("check").loc["last month's total forecast: relative error over the weeks since", "status"]



def test_last_months_forecast_is_read_from_last_months_report(tmp_path):
    """The check reads last month's forecast from the sibling run folder, and says when there is none."""
    weeks = pd.date_range("2026-10-07", periods=6, freq="7D")
    fc = pd.DataFrame({"series": "total", "level": "total", "measure": "units", "model": "ets", "ds": weeks,
                       "yhat": 7.0, "yhat_lower": 6.0, "yhat_upper": 8.0})
    days = pd.date_range("2026-09-01", "2026-10-31", freq="D")
    orders = pd.DataFrame({"order_id": [f"O{i}" for i in range(len(days))], "customer_id": "C1", "order_date": days,
                           "product_id": "P", "category": "Books", "quantity": 1.0, "unit_price": 1.0,
                           "is_return": False, "is_outlier": False, "line_revenue": 1.0})
    cutoff = pd.Timestamp("2026-10-31 23:59:59")
    last = artifacts.LastMonth(tmp_path / "2026-10", "2026-10")
    assert last.month == "2026-09" and not last.exists
    check = forecast_monitoring.last_month_check(last, orders, None, cutoff)
    assert check.empty and "not in this reports folder" in forecast_monitoring.check_note(check, last)
    artifacts.write_table(tmp_path / "2026-09", "forecast", fc)
    check = forecast_monitoring.last_month_check(last, orders, None, cutoff)
    assert check["actual"].tolist() == [7.0] * 4 and check["inside"].all()
    assert forecast_monitoring.check_note(check, last).startswith("Last month's forecast (2026-09) against the 4 week(s)")

def test_the_forecast_check_table_shows_category_names_as_text():
    """The series of the check are named after the data's categories; its table is escaped HTML."""
    weeks = pd.date_range("2026-10-07", periods=2, freq="7D")
    bad = "category=Books<img src=x onerror=alert(1)><script>alert(2)</script>"
    check = pd.DataFrame({"series": ["total", "total", bad, bad], "ds": [*weeks, *weeks], "model": "ets",
                          "yhat": [10.0, 10.0, 4.0, 4.0], "yhat_lower": 8.0, "yhat_upper": 12.0,
                          "actual": [9.0, 11.0, 5.0, 3.0], "inside": [True, True, False, False]})
    out = forecast_monitoring.forecast_check_summary(check).to_html()
    assert "<img" not in out and "<script" not in out
    assert "category=Books&lt;img src=x onerror=alert(1)&gt;&lt;script&gt;alert(2)&lt;/script&gt;" in out
    assert ">0.0%<" in out and ">100%<" in out and ">0%<" in out  # the formats are kept; zero has no sign


def test_footer_names_the_files_or_the_database_tables_never_a_password():
    record = {"seed": 42, "started_utc": "2026-11-01T06:15:00", "parameters": {"report_month": "2026-10"},
              "versions": {"pandas": "2.3.3"},
              "input": {"source": "postgresql://crm_reader:***@db.example.com/crm", "combined_sha256": "ab12",
                        "tables": {"orders": {"rows": 1200, "rows_read": 1100}, "customers": {"rows": 80}}}}
    text = report.footer(record, "2026-10").data
    assert "orders (1,200 rows)" in text and "customers (80 rows)" in text and "`ab12`" in text
    assert "***" in text.replace("\\*", "*") and "secret" not in text
    files = report.footer({**record, "input": {"files": {"orders.csv": {}}, "combined_sha256": "cd34"}}, "2026-10").data
    assert "files: orders\\.csv" in files
    assert "no run record" in report.footer(None, "2026-10").data


# ------------------------------------------------------------------------------------------
# The report as a reader sees it (issue 19): currency, headers, missing values, zero, title, footer
# ------------------------------------------------------------------------------------------


def _header_texts(styler) -> list[str]:
    """The column headers and whether row labels are shown, as the rendered HTML table has them."""
    import re

    html = styler.to_html()
    heads = re.findall(r'<th[^>]*class="col_heading[^"]*"[^>]*>(.*?)</th>', html)
    return heads


def test_amounts_carry_the_declared_currency_and_none_when_none_is_declared():
    assert report.month_sentences(METRICS, currency="GBP")[0].startswith("Net revenue was 1,200 GBP, up 20.0%")
    bare = report.month_sentences(METRICS)[0]
    assert bare.startswith("Net revenue was 1,200, up 20.0% on last month") and "EUR" not in bare
    kpis = report.kpi_table(METRICS, "USD")
    assert list(kpis.index) == ["revenue (USD)", "orders", "active customers", "new customers", "returning customers",
                                "average order value (USD)", "return rate"]
    assert kpis.loc["revenue (USD)", "this month"] == "1,200" and kpis.loc["return rate", "this month"] == "5.0%"
    assert list(report.kpi_table(METRICS, None).index)[0] == "revenue"


def test_no_negative_zero_is_printed():
    from crm_utils import notebook
    from crm_utils.customers.overview import format_kpis

    assert [notebook.percent(v) for v in (-0.0, -0.00001, 0.0004, -0.0006)] == ["0.0%", "0.0%", "0.0%", "-0.1%"]
    assert notebook.percent(-0.00001, signed=True) == "0.0%" and notebook.percent(0.031, signed=True) == "+3.1%"
    assert notebook.number(-0.4) == "0" and notebook.money(-0.2, "GBP") == "0 GBP"
    kpis = pd.DataFrame({"this month": [-0.0], "change vs previous month": [-0.00002]}, index=["return_rate"])
    assert format_kpis(kpis).iloc[0].tolist() == ["0.0%", "0.0%"]


def test_the_target_list_reads_without_raw_names_row_numbers_or_na():
    from crm_utils import notebook

    propensity = pd.DataFrame({"customer_id": ["C2", "C1", "C3"], "p_purchase": [0.9712, 0.9712, 0.5],
                               "next_category": pd.array(["Books", None, "Garden"], dtype="string"),
                               "p_next_category": [0.318, np.nan, 0.2],
                               "voiced_need": pd.array([None, "Fashion", None], dtype="string")})
    shown = report.targets_table(report.top_targets(propensity, 2))
    styler = notebook.table(shown)
    assert _header_texts(styler) == ["customer", "chance of buying next month", "likely next category",
                                     "chance of that category", "need voiced in notes"]
    html = styler.to_html()
    assert "&lt;NA&gt;" not in html and "nan" not in html and 'class="row_heading' not in html  # no 0, 1, ...
    assert shown.values.tolist() == [["C1", "97.1%", "–", "–", "Fashion"], ["C2", "97.1%", "Books", "31.8%", "–"]]


def test_the_footer_shows_parameter_names_without_backslashes_and_the_currency():
    from nbconvert.filters import markdown2html

    record = {"seed": 42, "started_utc": "2026-11-01T06:15:00", "currency": "GBP",
              "parameters": {"report_month": "2026-10", "data_dir": "raw", "extra": {"k_max": "6"}},
              "versions": {}, "input": {"files": {"orders.csv": {}}, "combined_sha256": "ab12"}}
    html = markdown2html(report.footer(record, "2026-10", "GBP").data)
    assert "\\" not in html
    assert "Parameters: <code>report_month</code> = 2026-10, <code>data_dir</code> = raw</p>" in html
    assert "Given with -p: <code>k_max</code> = 6</p>" in html
    assert "Amounts in GBP, as the data declare it (their mapping).</p>" in html
    assert "amounts are shown without one" in markdown2html(report.footer({**record, "currency": None}, "2026-10").data)
    assert "Amounts in USD, as given with -p currency (the data declare GBP)." in report.footer(record, "2026-10", "USD").data


def test_the_report_page_is_titled_with_its_month(tmp_path):
    import nbformat

    from crm_utils.run import pipeline

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# Report")])
    nbformat.write(nb, tmp_path / "11_monthly_report.ipynb")
    out = pipeline.render_html(tmp_path / "11_monthly_report.ipynb", tmp_path / "report.html",
                               pipeline.REPORT_TITLE.format(month="2026-10"))
    assert "<title>CRM monthly report · 2026-10</title>" in out.read_text(encoding="utf-8")


def test_the_target_list_is_also_an_excel_file_in_which_no_cell_is_a_formula(tmp_path):
    """nb.write_csv writes <name>.xlsx beside <name>.csv; text that would start a formula stays text."""
    from openpyxl import load_workbook

    from crm_utils import notebook, safe

    targets = pd.DataFrame({"rank": [1, 2, 3], "customer_id": ["C1", "=cmd|' /C calc'!A0", "@SUM(1+1)"],
                            "p_purchase": [0.97, 0.5, np.nan],
                            "next_category": pd.array(["-5", None, "Books\x07"], dtype="string"),
                            "=header": ["+1", "a", "b"]})
    nb = notebook.start("05_need_prediction", "2026-10", str(tmp_path / "run"))
    csv_path = nb.write_csv("targets", targets)
    assert csv_path.name == "targets.csv" and nb.artifact_names() == ["targets.csv", "targets.xlsx"]
    sheet = load_workbook(csv_path.with_suffix(".xlsx"))["targets"]
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows == [["rank", "customer_id", "p_purchase", "next_category", "=header"],
                    [1, "C1", 0.97, "-5", "+1"],
                    [2, "=cmd|' /C calc'!A0", 0.5, None, "a"],
                    [3, "@SUM(1+1)", None, "Books\ufffd", "b"]]
    cells = {c.coordinate: c for row in sheet.iter_rows() for c in row}
    assert not [k for k, c in cells.items() if c.data_type == "f"]  # nothing Excel would run
    assert cells["B3"].data_type == "s" and cells["B3"].quotePrefix and cells["E1"].quotePrefix
    assert not cells["B2"].quotePrefix and cells["A2"].data_type == "n"
    with pytest.raises(ValueError, match="do not fit an Excel sheet"):
        safe.excel_file(pd.DataFrame({"a": range(safe.EXCEL_MAX_ROWS)}), tmp_path / "big.xlsx")


def test_signed_figures_never_read_minus_zero():
    """NPS and a forecast's error near zero: '0' and '0.0%', not '-0' and '-0.0%'."""
    near_zero = {**METRICS, "09_satisfaction_clustering": {"nps": {"nps": -0.3, "ci_low": -7.6, "ci_high": 0.4}}}
    assert "is 0 (95% interval -8 to 0)" in report.month_sentences(near_zero)[3]
    check = pd.DataFrame({"series": ["total"] * 2, "yhat": [1000.2, 999.6], "actual": [1000.0, 1000.0],
                          "inside": [True, True]})
    html = forecast_monitoring.forecast_check_summary(check).to_html()
    assert "-0.0%" not in html and ">0.0%<" in html
