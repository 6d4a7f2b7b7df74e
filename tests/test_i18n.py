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
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po

from crm_utils import charts, i18n, notebook
from i18n_words import without_code
from crm_utils.baskets import section as basket_report
from crm_utils.customers import plots as overview_plots
from crm_utils.demand import monitoring as forecast_monitoring
from crm_utils.funnel import report as funnel_report
from crm_utils.report import campaigns
from crm_utils.report import plots as report_plots
from crm_utils.report import summary as report
from crm_utils.run import pipeline
from crm_utils.satisfaction import plots as sat_plots
from crm_utils.value import churn, clv
from crm_utils.value import handover as value_report

matplotlib.use("Agg")

ROOT = Path(__file__).resolve().parent.parent
TRANSLATED = [lang for lang in i18n.available() if lang != i18n.SOURCE_LANGUAGE]

#: Words that stay as they are in every language: abbreviations and codes a Chinese report also
#: writes in Latin letters (KPI, ROC-AUC, NPS, ISO currency codes, UTC, SHA), the command line's
#: words, and the names of the data's own things (categories, items, models, reasons) that the
#: report quotes. Nothing else of the catalogue's English may appear in a translated report.
KEPT_WORDS = {"kpi", "roc", "auc", "nps", "utc", "sha", "crm", "eur", "prophet", "seasonal_naive",
              "currency", "exact_duplicates", "keep",  # the last three: `-p currency`, `exact_duplicates: keep`
              # CLV and MAE, and the methods' names (Gamma-Gamma, Kaplan-Meier, Pearson's r): Chinese
              # analytics texts write these abbreviations and eponyms in Latin letters too.
              "clv", "mae", "gamma", "kaplan", "meier", "pearson"}


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the process in English, as the other tests expect."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def extracted_messages() -> set[str]:
    """What `make messages` puts into messages.pot: every _()/N_() string and the report's markdown."""
    method_map, options_map = parse_mapping_cfg(open(ROOT / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, **i18n.EXTRACT_KEYWORDS}
    return {msg for _, _, msg, *_ in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
            if isinstance(msg, str) and msg}


def extracted_keys() -> set[str]:
    """The catalogue's keys of every extracted message: the message, or ``context\x04message``."""
    method_map, options_map = parse_mapping_cfg(open(ROOT / "babel.cfg"))
    keywords = {**DEFAULT_KEYWORDS, **i18n.EXTRACT_KEYWORDS}
    return {f"{context}\x04{msg}" if context else msg
            for _, _, msg, _, context in extract_from_dir(str(ROOT), method_map, options_map, keywords=keywords)
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
    messages = extracted_keys()
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
DATA_WORDS = {"books", "delivery", "invalid_price", "unknown_customer", "orders", "csv", "logistic",
              "sms", "referral", "paid_search"}  # a channel code and lead sources, as the data write them
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
    texts += [report.not_covered({"customers": True}), report.no_previous_report("2026-10")]
    check = pd.DataFrame({"series": ["total", "category=Books"], "ds": pd.Timestamp("2026-10-04"), "yhat": 10.0,
                          "actual": 11.0, "inside": True})
    texts += [str(c) for c in forecast_monitoring.forecast_check_summary(check).data.columns]
    texts += [str(i) for i in forecast_monitoring.forecast_check_summary(check).data.index]
    return [t for t in texts if t] + section_texts()


# The four sections the value, baskets, funnel and contacts stages add to the report, each from
# figures as its stage records them in metrics.json (hand-made, small, every branch the report shows).
TIERS = {"top 10%": {"customers": 120, "clv_total": 98000.0, "clv_share": 0.392, "clv_mean": 816.7,
                     "p_alive_mean": 0.81, "value_at_risk": 9100.0},
         "next 20%": {"customers": 240, "clv_total": 76000.0, "clv_share": 0.304, "clv_mean": 316.7,
                      "p_alive_mean": 0.7, "value_at_risk": 12800.0},
         "middle 40%": {"customers": 480, "clv_total": 60000.0, "clv_share": 0.24, "clv_mean": 125.0,
                        "p_alive_mean": 0.55, "value_at_risk": 14000.0},
         "bottom 30%": {"customers": 360, "clv_total": 16000.0, "clv_share": 0.064, "clv_mean": 44.4,
                        "p_alive_mean": 0.3, "value_at_risk": 6100.0}}
VALUE = {"customers": 1200, "repeat_share": 0.42, "skipped": None, "horizon_months": 12, "discount_rate": 0.1,
         "gamma_gamma_check": {"holds": False, "correlation": 0.41, "repeat_buyers": 504, "threshold": 0.3},
         "total_clv": 250000.0, "mean_clv": 208.3, "median_clv": 121.0, "value_at_risk": 42000.0, "tiers": TIERS,
         "at_risk_customers": 35, "at_risk_value": 9800.0,
         "evaluation": {"holdout_months": 6, "calibration_end": "2026-04-30", "spend_error": 0.021,
                        "purchases_error": -0.048, "beats_baselines": True,
                        "mae_spend": {"average spend x frequency": 1179.0, "last period": 1102.0,
                                      "model (BG/NBD + Gamma-Gamma)": 843.0}},
         "monitoring": {"source": "2026-09", "predicted_purchases": 310.0, "actual_purchases": 322.0, "error": -0.037}}
CHURN = {"view": "survival", "source": "dates", "interval_level": 95, "customers": 1500, "departures": 612,
         "median_tenure_months": 20.5, "retained_at_months": 12, "retained": 0.62,
         "top_driver": {"term": "会员等级 = 金卡", "reference": "普通", "hazard_ratio": 0.55, "lower": 0.44, "upper": 0.69},
         "ph_failures": ["region = 华东"]}
RULES = [{"antecedents": ["P0012"], "consequents": ["P0040"], "n_baskets": 85, "confidence": 0.42, "lift": 3.1},
         {"antecedents": ["P0040"], "consequents": ["P0012"], "n_baskets": 85, "confidence": 0.37, "lift": 3.1},
         {"antecedents": ["P0007", "P0012"], "consequents": ["P0031"], "n_baskets": 40, "confidence": 0.3, "lift": 2.2}]
BASKETS = {"basket": "order", "levels": {"product": {"rules": 12, "top_rules": RULES},
                                         "category": {"rules": 0, "top_rules": []}},
           "next_best_offer": {"customers_with_offer": 640}}
FUNNEL = {"leads": 5000, "closed": 3200, "won": 800, "won_rate": 0.25, "won_rate_ci": [0.235, 0.265],
          "best_source": "referral", "worst_source": "paid_search",
          "won_rate_by_source": {"referral": 0.41, "paid_search": 0.12},
          "revenue_per_won_customer_by_source": {"referral": 540.0, "paid_search": 300.0}, "value_days": 90,
          "open_leads": 1800, "stalled_leads": 240}
FUNNEL_FRAME = pd.DataFrame(
    [{"section": "won", "group": g, "measure": "won_rate", "value": v, "n": n, "ci_low": v - 0.02, "ci_high": v + 0.02}
     for g, v, n in (("referral", 0.41, 900), ("paid_search", 0.12, 2300))]
    + [{"section": "value", "group": g, "measure": m, "value": v} for g, m, v in
       (("referral", "revenue_per_customer", 540.0), ("referral", "revenue_per_lead", 221.0),
        ("paid_search", "revenue_per_customer", 300.0), ("paid_search", "revenue_per_lead", 36.0))]
    + [{"section": "pipeline", "group": stage, "measure": m, "value": v} for stage in ("created", "qualified")
       for m, v in (("open_leads", 900.0), ("stalled", 120.0), ("value", 45000.0), ("weighted_value", 9000.0))])
OUTLOOK = {"plan": {"contacts": 2400, "cost": 290.0, "buyers_anyway": 180.0,
                    "incremental_buyers": {"low": 40.0, "expected": 61.0, "high": 83.0},
                    "incremental_margin": {"low": 900.0, "expected": 1500.0, "high": 2100.0}},
           "nobody": {"contacts": 0, "cost": 0.0, "buyers_anyway": 0.0,
                      "incremental_buyers": {"low": 0.0, "expected": 0.0, "high": 0.0},
                      "incremental_margin": {"low": 0.0, "expected": 0.0, "high": 0.0}},
           "everyone": {"contacts": 9000, "cost": 1800.0, "buyers_anyway": 700.0,
                        "incremental_buyers": {"low": 90.0, "expected": 140.0, "high": 190.0},
                        "incremental_margin": {"low": -800.0, "expected": 200.0, "high": 1200.0}}}
CONTACTS = {**OUTLOOK, "measured_channels": ["email"], "assumed_channels": ["sms", "direct_mail"], "budget": 300.0,
            "budget_shadow_price": 0.0, "control": {"share": 0.1, "control_in_campaign": 240}, "verdict": {}}
PLAN = pd.DataFrame({"segment_name": ["S1", "S1", "S2"], "channel": ["email", "sms", "direct_mail"],
                     "contacts": [1200, 400, 800]})


def section_texts() -> list[str]:
    """Every sentence, header and label the value, churn, baskets, funnel and campaign sections
    print from the figures above, in every branch that is the report's own text."""
    texts = []
    sentences, tiers = value_report.report_section(VALUE, "EUR")
    texts += sentences + [str(i) for i in tiers.index] + [tiers.index.name]
    shown = notebook.table(tiers, value_report.TIER_HEADERS, money_columns=("clv_total", "clv_mean", "value_at_risk"),
                           percent_columns=("clv_share", "p_alive_mean"), currency="EUR", index=True).data
    at_risk = pd.DataFrame({"rank": [1], "customer_id": ["c1"], "value_at_risk": [310.0], "clv": [620.0],
                            "p_alive": [0.4]})
    shown_at_risk = notebook.table(at_risk, value_report.AT_RISK_HEADERS, money_columns=("value_at_risk", "clv"),
                                   percent_columns=("p_alive",), currency="EUR").data
    texts += [str(c) for c in [*shown.columns, *shown_at_risk.columns]]
    worse = {**VALUE, "evaluation": {**VALUE["evaluation"], "beats_baselines": False}, "tiers": None}
    texts += value_report.report_section(worse, None)[0] + value_report.report_section({})[0]
    nobody_left = {**VALUE, "mean_p_alive": 1 - 1e-7}  # BG/NBD's dropout at about zero (Superstore's fit)
    texts += value_report.report_section(nobody_left, "EUR")[0]
    texts += [clv.gamma_gamma_note({"holds": None}),
              clv.gamma_gamma_note({"holds": False, "correlation": -0.4, "repeat_buyers": 90, "threshold": 0.3})]
    texts += churn.report_sentences(CHURN)
    texts += churn.report_sentences({**CHURN, "median_tenure_months": None, "retained": None,
                                     "top_driver": {**CHURN["top_driver"], "term": "年龄", "reference": "mean"}})
    texts += [churn.missing_reason(None)] + [churn.missing_reason(pd.DataFrame(columns=cols)) for cols in
                                             (["customer_id", "churn_date"], ["customer_id", "churned"],
                                              ["customer_id"])]
    few = pd.DataFrame({"customer_id": ["c1", "c2"], "signup_date": ["2025-01-05", "2025-02-01"],
                        "churn_date": [None, "2026-03-01"]})
    texts.append(churn.ChurnStudy(few, "2026-10-31").skipped)
    baskets = basket_report.report_section({"06_market_baskets": BASKETS})
    texts += [baskets["sentence"], *notebook.table(baskets["table"], percent_columns=("confidence",),
                                                   decimals={"lift": 1}).data.columns]
    texts += [basket_report.headline_sentence({**BASKETS, "basket": "customer"}),
              basket_report.headline_sentence({"levels": {"product": {"rules": 0, "top_rules": []}}}),
              basket_report.report_section({})["sentence"]]
    funnel = funnel_report.section(FUNNEL, FUNNEL_FRAME, "EUR")
    texts.append(funnel.sentence)
    for styled in funnel.shown("EUR"):
        texts += [str(x) for x in [*styled.data.columns, styled.data.index.name, *styled.data.index]]
    texts += [funnel_report.brief_sentence({**FUNNEL, "closed": 0}), funnel_report.section({}, None).sentence,
              funnel_report.section({"leads": 0}, None).sentence]
    campaign = campaigns.CampaignSection(CONTACTS, PLAN, "EUR")
    outlook = campaign.outlook_table()
    texts += campaign.sentences() + [*outlook.index, *outlook.columns, *campaign.plan_table().columns]
    texts.append(campaigns.CampaignSection({**CONTACTS, "assumed_channels": []}, None, None).basis())
    texts += campaigns.CampaignSection({}, None, None).sentences()
    for status in (*campaigns.VERDICTS, None):
        contacts = {"07_contact_effectiveness": {**CONTACTS, "verdict": {"status": status}}}
        texts.append(campaigns.campaign_sentence(contacts, "EUR"))
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
                   "inside 80% interval"):
        assert phrase in texts
    sections = " ".join(section_texts())
    for phrase in ("The 1,200 customers are expected to spend 250,000 EUR over the next 12 months (CLV discounted at "
                   "10% a year; mean 208 EUR, median 121 EUR); 42,000 EUR of it is at risk (CLV x P(churn)).",
                   "The top 10% of customers by CLV hold 39% of it.",
                   "35 valuable customers are slipping away (P(alive) under 50%), with 9,800 EUR of value at risk",
                   "total spend predicted +2.1% off, purchases -4.8%; the model beats the naive baselines per customer "
                   "(MAE 843 EUR against average spend x frequency 1,179 EUR, last period 1,102 EUR).",
                   "the model does NOT beat the naive baselines per customer (MAE 843 against",
                   "those who buy more often spend more per order (Pearson r = 0.41, beyond ±0.3)",
                   "Last month's prediction for this month: 310 purchases, 322 made (-3.7%).",
                   "1,500 contract customers followed, 612 of whom left.",
                   "The model sees no customer leaving (mean P(alive) 100.0%; fewer than one customer expected to "
                   "have left), so this history cannot say how much value is at risk",
                   "Half of all customers leave within 20.5 months of signing up (Kaplan-Meier median).",
                   "62% are still customers 12 months after signing up.",
                   "0.55x the hazard (95% interval 0.44-0.69)", "(against the mean)",
                   "Only 2 customers with 1 departures can be followed",
                   "Market baskets: 42.0% of the baskets with P0012 also hold P0040 (3.1 times chance, 85 baskets); "
                   "12 product rules beat chance, and 640 customers have a next best offer.",
                   "if the basket holds", "Sales funnel: 800 of 3,200 closed leads were won (25.0%, 95% interval "
                   "23.5%–26.5%); referral converts best (41.0%), paid_search worst (12.0%); referral's won "
                   "customers bought the most in their first 90 days (540 EUR each). 1,800 leads are open, 240 of them stalled.",
                   "revenue per won customer, first 90 days (EUR)", "open at stage",
                   "Uplifts measured from the interactions log for email; assumed for sms, direct_mail",
                   "The plan contacts 2,400 customers for 290 EUR of a 300 EUR budget and is expected to add 61 (40 to "
                   "83) buyers and 1,500 EUR (900 EUR to 2,100 EUR) of margin after contact costs.",
                   "One more EUR of budget would add 0.00 EUR of incremental margin (the budget does not limit the "
                   "plan).", "240 customers (10% of each segment", "incremental margin (range) (EUR)",
                   "counting only purchases the contacts add; last month's campaign paid.",
                   "; last month had no campaign plan to judge."):
        assert phrase in sections, phrase


@pytest.mark.parametrize("language", TRANSLATED)
def test_the_translated_report_leaves_no_english_and_no_glyph_missing(language):
    i18n.set_language(language)
    charts.use_style()
    assert charts.font_problem(language) == ""  # CI installs fonts-noto-cjk (.ci/run)
    texts = report_texts() + chart_texts()
    english = english_words()
    left = {w for t in texts for w in WORD.findall(without_code(t)) if w.lower() in english}
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
