"""The report in every language the catalogues offer: nothing left in English, no glyph missing.

The report's sentences, tables and charts are built by the report functions from one set of
figures, once in English and once in Chinese (zh-CN); the Chinese texts must contain none of
the catalogue's English words, every chart must draw without matplotlib's "Glyph ... missing"
warning (an error here), and every wrapped string of the code must be translated.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import matplotlib
import nbformat
import numpy as np
import pandas as pd
import pytest
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from crm_utils import charts, i18n, notebook
from crm_utils.customers import plots as overview_plots
from crm_utils.demand import monitoring as forecast_monitoring
from crm_utils.report import plots as report_plots
from crm_utils.report import summary as report
from crm_utils.run import pipeline
from crm_utils.satisfaction import plots as sat_plots

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in i18n.available() if lang != i18n.SOURCE_LANGUAGE]

#: Words that stay as they are in every language: abbreviations and codes a Chinese report also
#: writes in Latin letters (KPI, ROC-AUC, NPS, ISO currency codes, UTC, SHA), the command line's
#: words, and the names of the data's own things (categories, items, models, reasons) that the
#: report quotes. Nothing else of the catalogue's English may appear in a translated report.
KEPT_WORDS = {"kpi", "roc", "auc", "nps", "utc", "sha", "crm", "eur", "prophet", "seasonal_naive",
              "currency", "exact_duplicates", "keep"}  # the last three: `-p currency`, `exact_duplicates: keep`


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the process in English, as the other tests expect."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def extracted_messages() -> set[str]:
    """What `make messages` puts into messages.pot: every _()/N_() string and the report's markdown."""
    method_map, options_map = parse_mapping_cfg(open(ROOT / "babel.cfg"))
    return {msg for _, _, msg, *_ in extract_from_dir(str(ROOT), method_map, options_map)
            if isinstance(msg, str) and msg}


def placeholders(text: str) -> set[str]:
    return set(re.findall(r"\{(\w+)\}", text))


# ------------------------------------------------------------------------------------------
# The catalogues
# ------------------------------------------------------------------------------------------

def test_languages_are_the_catalogues_present():
    assert i18n.available()[0] == "en" and "zh-CN" in i18n.available()
    assert {i18n.parse_language(v) for v in ("zh-CN", "zh_CN", "ZH-cn")} == {"zh-CN"}
    assert i18n.parse_language(None) == i18n.parse_language("") == "en"
    with pytest.raises(ValueError, match=r"language 'fr' has no message catalogue; available: en, zh-CN"):
        i18n.parse_language("fr")


def test_the_template_holds_what_the_code_wraps():
    """messages.pot is current: rerun `make messages` after wrapping or changing text."""
    with open(i18n.LOCALE_DIR / "messages.pot", "rb") as f:
        template = {m.id for m in read_po(f) if m.id}
    extracted = extracted_messages()
    assert extracted - template == set(), "new text not in messages.pot: run make messages"
    assert template - extracted == set(), "messages.pot holds text the code no longer has: run make messages"


@pytest.mark.parametrize("language", TRANSLATED)
def test_every_message_is_translated_with_its_placeholders(language):
    cat = i18n.catalogue(language)
    messages = extracted_messages()
    assert len(messages) > 150  # the report's sentences, headers, chart labels and markdown cells
    assert sorted(m for m in messages if m not in cat) == []
    wrong = {m: cat[m] for m in messages if placeholders(m) != placeholders(cat[m])}
    assert wrong == {}, "a translation must keep every {placeholder} of its message"


# ------------------------------------------------------------------------------------------
# Formatting for the locale
# ------------------------------------------------------------------------------------------

def test_numbers_dates_and_amounts_follow_the_language():
    assert (notebook.number(1234567.891, 1), notebook.percent(-0.0004), notebook.money(1234.5, "CNY"),
            notebook.date("2026-10-09")) == ("1,234,567.9", "0.0%", "1,234 CNY", "2026-10-09")
    i18n.set_language("zh-CN")
    assert notebook.date("2026-10-09") == "2026年10月9日"
    assert notebook.money(1234.5, "CNY", 2) == "1,234.50 CNY" and notebook.percent(0.031, signed=True) == "+3.1%"
    assert notebook.money_label("revenue", "CNY", "thousand") == "收入（千 CNY）"
    note = notebook.partial_month_note("2026-10-09", "2026-10-31")
    assert note.startswith("不完整月份：数据截至 2026年10月9日。")


# ------------------------------------------------------------------------------------------
# The report, rendered in both languages
# ------------------------------------------------------------------------------------------

METRICS = {
    "01_data_cleaning": {"tables": {"orders": {"rows_in": 1000, "quarantined": 30}},
                         "quarantined_by_reason": {"orders.invalid_price": 20, "orders.unknown_customer": 10},
                         "merged_duplicate_lines": 3, "merged_duplicate_revenue": 90.0,
                         "merged_duplicate_revenue_share": 0.01},
    "02_customer_overview": {
        "kpis": {"revenue": 1200.0, "orders": 10, "active_customers": 8, "new_customers": 2, "returning_customers": 6,
                 "average_order_value": 120.0, "return_rate": 0.05},
        "previous_month": {"revenue": 1000.0, "orders": 10, "active_customers": 9, "new_customers": 3,
                           "returning_customers": 6, "average_order_value": 100.0, "return_rate": 0.04},
        "same_month_last_year": {"revenue": 1500.0}, "retention": {"month_1": 0.4},
        "guest_lines": 4, "guest_revenue": 50.0, "guest_revenue_share": 0.04},
    "03_customer_segmentation": {"customers": 100, "k": 2, "migration": {"stayed_share": 0.9},
                                 "segments": {"At risk · mixed basket": {"customers": 60, "share": 0.6},
                                              "Champions · Books": {"customers": 40, "share": 0.4}}},
    "05_need_prediction": {"propensity": {"selected": "logistic", "test": {"logistic": {"roc_auc": 0.6}},
                                          "buyers_check": {"within_tolerance": False, "expected": 90,
                                                           "realised": 120, "ratio": 0.75, "tolerance": 0.1}}},
    "08_demand_forecasting": {"gate_fallbacks": {"units": [{"series": "total", "model": "prophet",
                                                            "reason": "x", "fallback": "seasonal_naive"}]},
                              "peak": "2025-12", "peak_tested": False, "reconciliation": {"units": "total"}},
    "09_satisfaction_clustering": {"nps": {"nps": 12.0, "ci_low": 5.0, "ci_high": 19.0},
                                   "cluster_share": {"Delighted": 0.5, "Unhappy with delivery": 0.3,
                                                     "Not clustered (too few answers)": 0.2},
                                   "churn_rate": {"Delighted": 0.1}, "repurchase_rate": {"Delighted": 0.9}},
}
RUN_RECORD = {"seed": 42, "started_utc": "2026-11-01T00:00:00", "currency": "EUR",
              "parameters": {"report_month": "2026-10", "extra": {}},
              "input": {"combined_sha256": "ab", "files": {"orders.csv": {}}}, "versions": {"python": "3.11"}}
#: Names from the data that the report quotes as the data write them.
DATA_WORDS = {"books", "delivery", "invalid_price", "unknown_customer", "orders", "csv", "logistic"}
#: A word of English: letters (and the underscores of a name), three or more.
WORD = re.compile(r"[A-Za-z][A-Za-z_']{2,}")


def report_texts() -> list[str]:
    """Every sentence, table label and footer line of the report built from :data:`METRICS`."""
    texts = report.month_sentences(METRICS, None, "EUR")
    texts += [report.prediction_note(METRICS, 0.65), report.forecast_note(METRICS)]
    tables = [report.kpi_table(METRICS, "EUR"), report.satisfaction_table(METRICS["09_satisfaction_clustering"]),
              report.consistency_table(report.consistency_with_previous(METRICS, METRICS), "EUR"),
              report.targets_table(pd.DataFrame({"customer_id": ["c1"], "p_purchase": [0.5],
                                                 "next_category": ["Books"], "p_next_category": [0.4]}))]
    segments = pd.DataFrame({"segment_id": [0, 1], "segment_name": ["At risk · mixed basket", "Champions · Books"],
                             "monetary": [10.0, 20.0], "frequency": [1, 2], "recency_days": [30, 3]})
    headers = notebook.table(report.segment_table(segments), money_columns=("median net spend",), currency="EUR",
                             index=True).data.columns
    texts += [str(c) for c in headers]
    monitoring = report.monitoring_table(report.monitoring_checks(
        METRICS, pd.DataFrame(columns=["series", "yhat", "actual", "inside"]), min_auc=0.65,
        min_interval_coverage=0.6, max_forecast_error=0.25, min_share_beating_naive=0.5))
    tables.append(monitoring_shown := report.monitoring_view(monitoring).data)
    texts += [str(v) for v in monitoring_shown.to_numpy().ravel() if isinstance(v, str)]  # numbers show as numbers
    quarantine = report.quarantine_table(METRICS)
    tables.append(report.quarantine_view(quarantine).data)
    texts += [report.quarantine_sentence(quarantine), *report.monitoring_warnings(monitoring)]
    for t in tables:
        texts += [str(x) for x in [*t.columns, *t.index, t.index.name, t.columns.name] if x is not None]
    texts.append(report.footer(RUN_RECORD, "2026-10", "EUR").data)
    texts += [report.nothing(section) for section in report.NOTHING]
    texts += [report.not_covered({"customers": True}), report.no_previous_report("2026-10"),
              report.shadow_price_sentence(0.0, "EUR"), report.shadow_price_sentence(1.5, None)]
    check = pd.DataFrame({"series": ["total", "category=Books"], "ds": pd.Timestamp("2026-10-04"), "yhat": 10.0,
                          "actual": 11.0, "inside": True})
    texts += [str(c) for c in forecast_monitoring.forecast_check_summary(check).data.columns]
    texts += [str(i) for i in forecast_monitoring.forecast_check_summary(check).data.index]
    return [t for t in texts if t]


def chart_texts() -> list[str]:
    """Every title, axis label, legend entry and tick label of the report's charts, drawn fully;
    a missing glyph is an error."""
    months = pd.period_range("2025-11", "2026-10", freq="M")
    monthly = pd.DataFrame({"revenue": np.linspace(1e4, 2e4, 12), "active_customers": np.arange(12) + 50.0},
                           index=months)
    weeks = pd.date_range("2025-01-05", periods=60, freq="W")
    history = pd.DataFrame({"ds": list(weeks) * 2, "y": np.arange(120.0), "series": ["total"] * 60 + ["Books"] * 60,
                            "level": ["total"] * 60 + ["category"] * 60})
    ahead = pd.date_range(weeks[-1] + pd.Timedelta(weeks=1), periods=8, freq="W")
    forecast = pd.DataFrame({"ds": list(ahead) * 2, "yhat": 10.0, "yhat_lower": 8.0, "yhat_upper": 12.0,
                             "series": ["total"] * 8 + ["Books"] * 8, "model": "prophet", "measure": "units"})
    check = forecast[forecast["series"] == "total"].assign(actual=11.0, inside=True)
    nps = pd.DataFrame({"month": months, "nps": 10.0, "ci_low": 5.0, "ci_high": 15.0})
    texts = []
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=r"Glyph \d+ .* missing from font")
        for fig in (overview_plots.monthly_trend(monthly, "2026-10", "EUR"),
                    report_plots.forecast_overview(history, forecast),
                    report_plots.forecast_check_chart(check),
                    sat_plots.nps_trend_chart(nps, {"nps": 10.0, "ci_low": 5.0, "ci_high": 15.0})):
            fig.canvas.draw()  # lays out every text with the fonts: where a missing glyph would warn
            texts += [t.get_text() for t in fig.findobj(matplotlib.text.Text) if t.get_visible() and t.get_text()]
            texts.append(charts.alt_text(fig))
            matplotlib.pyplot.close(fig)
    return texts


def english_words() -> set[str]:
    """The catalogue's English words (three letters or more, placeholders left out)."""
    words = set()
    for message in extracted_messages():
        words |= {w.lower() for w in WORD.findall(re.sub(r"\{\w+\}|%\w", " ", message))}
    return words - KEPT_WORDS - DATA_WORDS


def test_the_report_in_english_reads_as_before():
    charts.use_style()
    texts = " ".join(report_texts() + chart_texts())
    for phrase in ("Net revenue was 1,200 EUR, up 20.0% on last month", "'At risk · mixed basket' with 60%",
                   "chance of buying next month", "median net spend (EUR)", "Unhappy with delivery",
                   "Net Promoter Score by month", "units per week", "Amounts in EUR, as the data declare it",
                   "Not covered this month (missing data or notebook): segments, purchase predictions, demand "
                   "forecast, satisfaction.",
                   "No report for 2026-09 in this reports folder: nothing to reconcile with.",
                   "one more EUR of budget would add 0.00 EUR of expected net margin (the budget is not what limits",
                   "inside 80% interval"):
        assert phrase in texts


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_translated_report_leaves_no_english_and_no_glyph_missing(language):
    i18n.set_language(language)
    charts.use_style()
    assert charts.font_problem(language) == ""  # CI installs fonts-noto-cjk (.ci/run)
    texts = report_texts() + chart_texts()
    english = english_words()
    left = {w for t in texts for w in WORD.findall(re.sub(r"`[^`]*`", " ", t))
            if w.lower() in english}
    assert left == set(), f"English left in the {language} report"
    assert any("净收入为 1,200 EUR" in t for t in texts) if language == "zh-CN" else True
    assert any("流失风险 · 混合购物篮" in t for t in texts) if language == "zh-CN" else True


def test_a_font_without_the_characters_is_named_with_the_fix():
    assert charts.missing_glyphs("净收入 revenue", ["DejaVu Sans"]) == {"净", "收", "入"}
    message = charts.font_problem("zh-CN", ["DejaVu Sans"])
    assert "No installed font draws the zh-CN report's characters" in message
    assert "apt-get install fonts-noto-cjk" in message and "Noto Sans CJK SC" in message
    assert charts.font_problem("en", ["DejaVu Sans"]) == ""  # English needs no more than DejaVu Sans


# ------------------------------------------------------------------------------------------
# The page and the runner
# ------------------------------------------------------------------------------------------

def test_report_html_is_marked_as_chinese_with_a_cjk_font_stack(tmp_path):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("## The month in brief"),
                                         nbformat.v4.new_markdown_cell("## Not in any catalogue")])
    nbformat.write(nb, tmp_path / "11.ipynb")
    zh = pipeline.render_html(tmp_path / "11.ipynb", tmp_path / "zh.html", "t", "zh-CN").read_text()
    en = pipeline.render_html(tmp_path / "11.ipynb", tmp_path / "en.html", "t").read_text()
    assert '<html lang="zh-CN">' in zh and '<html lang="en">' in en
    assert "本月概要" in zh and "The month in brief" not in zh and "The month in brief" in en
    assert "Not in any catalogue" in zh  # a cell without a translation shows as written
    assert '--jp-content-font-family: "Noto Sans CJK SC"' in zh


def test_the_runner_gives_the_language_and_refuses_an_unknown_one(small_data, tmp_path):
    src = pipeline.open_source(small_data)
    base = pipeline.base_parameters(src, "2026-10", tmp_path, 1)
    params = pipeline.notebook_parameters(src, base, {**dict.fromkeys(base), "language": "en"}, {}, language="zh-CN")
    assert params["language"] == "zh-CN"
    assert "language" not in pipeline.notebook_parameters(src, base, dict.fromkeys(base), {}, language="zh-CN")
    with pytest.raises(ValueError, match="language 'xx' has no message catalogue; available: en, zh-CN"):
        pipeline.run_month("2026-10", small_data, tmp_path / "reports", language="xx")
    with pytest.raises(ValueError, match="set language with --language, not -p"):
        pipeline.run_month("2026-10", small_data, tmp_path / "reports", extra={"language": "zh-CN"})
    assert not (tmp_path / "reports").exists()  # refused before anything was written
