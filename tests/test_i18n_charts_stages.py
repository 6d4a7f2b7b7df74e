"""The charts of the value, churn, contact, basket, funnel and satisfaction stages in Chinese:
every title, axis label, legend entry, tick label the kit writes and the alt text translated, no
glyph missing; in English they read as before.

Each chart is drawn from a small hand-made input (the satisfaction charts from a small planted
survey fitted by the stage's own classes) that reaches every label the chart can show.
"""

from __future__ import annotations

import re

import matplotlib.pyplot
import numpy as np
import pandas as pd
import pytest
from i18n_words import english_left, figure_texts

from crm_utils import charts, i18n
from crm_utils.baskets import plots as basket_plots
from crm_utils.contacts import plots as contact_plots
from crm_utils.funnel import plots as funnel_plots
from crm_utils.satisfaction import analysis as sat
from crm_utils.satisfaction import plots as sat_plots
from crm_utils.value import churn_plots
from crm_utils.value import plots as value_plots
from crm_utils.value.churn import CoxDrivers, SurvivalCurves

MONTH = "2026-10"


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the process in English, as the other tests expect."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


#: Mathtext in a tick label: a log axis writes its ticks as ``$\mathdefault{10^{0}}$`` or
#: ``$\mathdefault{2\times10^{1}}$``, drawn as numbers; the markup is no word of the chart.
MATHTEXT = re.compile(r"\$[^$]*\$")


def drawn(*figures) -> list[str]:
    """The texts of every figure (None: a chart skipped is an error here: the input should draw),
    mathtext numbers left out."""
    assert all(f is not None for f in figures)
    return [MATHTEXT.sub(" ", t) for f in figures for t in figure_texts(f)]


def in_both(build) -> tuple[str, list[str]]:
    """``build()``'s chart texts in English (joined into one string, for phrases) and in Chinese
    (a list, for :func:`english_left`)."""
    charts.use_style()
    i18n.set_language("en")
    english = drawn(*build())
    i18n.set_language("zh-CN")
    chinese = drawn(*build())
    return " | ".join(english), chinese


# ------------------------------------------------------------------------------------------
# Customer value (notebook 04)
# ------------------------------------------------------------------------------------------

def value_charts():
    days = np.arange(7, 64, 7)
    tracking = pd.DataFrame({"date": pd.Timestamp("2026-05-01") + pd.to_timedelta(days, unit="D"), "day": days,
                             "actual": np.cumsum(np.full(len(days), 10.0)),
                             "expected": np.cumsum(np.full(len(days), 9.0))})
    conditional = pd.DataFrame({"customers": [50, 30, 10], "predicted": [0.2, 0.8, 2.0], "actual": [0.25, 0.7, 2.2]},
                               index=["0", "1", "2+"])
    errors = pd.DataFrame({"measure": "spend", "method": ["model (BG/NBD + Gamma-Gamma)", "last period",
                                                          "average spend x frequency"],
                           "mae": [40.0, 55.0, 50.0], "mae_minus_model": [0.0, 15.0, 10.0],
                           "low": [np.nan, 8.0, 4.0], "high": [np.nan, 22.0, 16.0]})
    tradeoff = pd.DataFrame({"threshold": [0.2, 0.4, 0.6], "precision": [0.8, 0.7, 0.6], "recall": [0.3, 0.5, 0.8],
                             "share_flagged": [0.1, 0.2, 0.4]})
    by_segment = pd.DataFrame({"clv_mean": [300.0, 120.0, 40.0]},
                              index=["Champions · Books", "At risk · mixed basket", "(no segment)"])
    by_cohort = pd.DataFrame({"clv_mean": [200.0, 150.0]}, index=["2025-11", "2025-12"])
    by_tier = pd.DataFrame({"clv_mean": [900.0, 300.0, 100.0, 20.0]},
                           index=["top 10%", "next 20%", "middle 40%", "bottom 30%"])
    value = pd.DataFrame({"clv": [10.0, 100.0, 1000.0, 50.0], "p_alive": [0.2, 0.5, 0.9, 0.7]})
    return (value_plots.tracking_chart(tracking), value_plots.conditional_chart(conditional),
            value_plots.baseline_chart(errors, "EUR"), value_plots.tradeoff_chart(tradeoff, 0.4),
            value_plots.value_by_chart(by_segment, "segment", "EUR"),
            value_plots.value_by_chart(by_cohort, "cohort", None),  # no currency declared: still drawn
            value_plots.value_by_chart(by_tier, "value tier", "EUR"), value_plots.value_distribution(value, "EUR"))


def test_the_value_charts_in_chinese_and_english():
    english, chinese = in_both(value_charts)
    assert english_left(chinese, allowed={"books"}) == set()
    text = " | ".join(chinese)
    for phrase in ("按获客同期群（首次购买月份）划分的客户终身价值", "每位客户的平均 CLV（EUR）", "流失风险 · 混合购物篮",
                   "冠军客户 · Books", "（无客户分群）", "上一期", "日期（留出期：校准期截至 2026年5月1日 之后）", "前 10%",
                   "按价值层级划分的客户终身价值"):
        assert phrase in text, phrase
    for phrase in ("Customer lifetime value by acquisition cohort (month of first purchase)",
                   "mean CLV per customer (EUR)", "date (holdout: after the calibration end 2026-05-01)",
                   "At risk · mixed basket", "(no segment)",
                   "The model against naive baselines (bars: 95% bootstrap interval of the gap)",
                   "Chart: CLV across customers – x: CLV, log10 (EUR), y: customers"):
        assert phrase in english, phrase


def test_a_chart_is_skipped_without_its_table_not_without_a_currency():
    """``charts.skippable``: None for a table skips the chart; None for the currency (the data
    declare none) draws it, with the amounts unlabelled."""
    assert value_plots.baseline_chart(None, "EUR") is None
    assert contact_plots.outlook_chart(None, None) is None
    fig = value_plots.value_distribution(pd.DataFrame({"clv": [10.0, 100.0], "p_alive": [0.3, 0.8]}), None)
    assert fig.axes[0].get_xlabel() == "CLV, log10"
    curve = pd.DataFrame({"budget": [0.0, 1000.0], "incremental_margin": [0.0, 600.0]})
    assert contact_plots.budget_curve_chart(curve, 1000.0, None).axes[0].get_ylabel() == "incremental margin"
    assert churn_plots.threshold_tradeoff(pd.DataFrame({"threshold": [0.5], "share_flagged": [0.2], "precision": [0.5],
                                                        "recall": [0.4], "churn_rate": [0.3]}), None) is not None
    matplotlib.pyplot.close("all")


# ------------------------------------------------------------------------------------------
# Churn (notebook 04)
# ------------------------------------------------------------------------------------------

def _curves(by: str | None, groups: list[str], logrank_p: float | None) -> SurvivalCurves:
    months = np.arange(0, 13, 3.0)
    curves = pd.concat([pd.DataFrame({"group": g, "months": months, "retained": np.linspace(1, 0.4 + 0.1 * i, 5),
                                      "lower": np.linspace(0.95, 0.3, 5), "upper": np.linspace(1, 0.6, 5)})
                        for i, g in enumerate(groups)])
    summary = pd.DataFrame({"group": groups, "customers": [1200 + i for i in range(len(groups))]})
    return SurvivalCurves(by, curves, summary, logrank_p, 0.05)


def churn_charts():
    drivers = CoxDrivers(pd.DataFrame({"term": ["region = North", "region = other", "birth year (per SD)"],
                                       "reference": ["South", "South", "mean"], "hazard_ratio": [1.4, 0.8, 1.1],
                                       "lower": [1.1, 0.6, 0.9], "upper": [1.8, 1.0, 1.3],
                                       "ph_holds": [True, False, True]}),
                         pd.DataFrame(), 0.6, 500, 120, False, 0.05)
    tradeoff = pd.DataFrame({"threshold": [0.2, 0.5, 0.8], "share_flagged": [0.1, 0.3, 0.6],
                             "precision": [0.7, 0.5, 0.3], "recall": [0.2, 0.6, 0.9], "churn_rate": 0.25})
    return (churn_plots.survival_curves(_curves(None, ["all customers"], None)),
            churn_plots.survival_curves(_curves("region", ["North", "other", "unknown"], 0.003)),
            churn_plots.survival_curves(_curves("segment", ["Champions · Books", "no segment"], None)),
            churn_plots.hazard_ratios(drivers), churn_plots.threshold_tradeoff(tradeoff, 0.5),
            churn_plots.threshold_tradeoff(tradeoff))


def test_the_churn_charts_in_chinese_and_english():
    english, chinese = in_both(churn_charts)
    assert english_left(chinese, allowed={"north", "south", "books"}) == set()
    text = " | ".join(chinese)
    for phrase in ("全部客户 (1,200)", "其他 (1,201)", "地区 = North（对比 South）", "地区 = 其他（对比 South）  [比例风险假设不成立]",
                   "阈值 0.50", "（对比 均值）", "按注册后月数计的留存客户占比，全部客户（Kaplan-Meier，95% 置信带）",
                   "按注册后月数计的留存客户占比，按地区分组（Kaplan-Meier，95% 置信带；对数秩检验 p = 0.003）"):
        assert phrase in text, phrase
    for phrase in ("all customers (1,200)", "region = other (vs South)  [PH fails]", "birth year (per SD) (vs mean)",
                   "Share still customers by months since sign-up, by region (Kaplan-Meier, 95% bands; "
                   "log-rank p = 0.003)", "threshold 0.50", "Champions · Books (1,200)"):
        assert phrase in english, phrase


# ------------------------------------------------------------------------------------------
# Contacts and the campaign plan (notebook 07)
# ------------------------------------------------------------------------------------------

def contact_charts():
    uplifts = pd.DataFrame({"uplift": [0.01, 0.005, 0.03], "ci_low": [0.002, 0.0, 0.01], "ci_high": [0.02, 0.01, 0.05],
                            "source": ["measured", "assumed", "assumed"]}, index=["email", "sms", "direct_mail"])
    by_segment = pd.DataFrame({"email": [100, 40], "direct_mail": [10, 0], "visit": [5, 2]},
                              index=["Champions · Books", "At risk · mixed basket"])
    outlook = pd.DataFrame({"incremental_margin_expected": [900.0, 0.0, -200.0],
                            "incremental_margin_low": [100.0, 0.0, -900.0],
                            "incremental_margin_high": [1500.0, 0.0, 400.0]},
                           index=["optimised plan", "contact nobody", "contact everyone"])
    curve = pd.DataFrame({"budget": [0.0, 1000.0, 2000.0], "incremental_margin": [0.0, 600.0, 800.0]})
    verdict = pd.DataFrame({"treated_rate": [0.12, 0.2, 0.13], "control_rate": [0.1, 0.15, 0.11]},
                           index=["email", "phone", "all"])
    effects = pd.DataFrame({"channel": ["email", "phone"], "topic": "all", "effect": [0.01, 0.04],
                            "naive": [0.03, 0.06], "ci_low": [-0.005, 0.01], "ci_high": [0.025, 0.07]})
    return (contact_plots.uplift_chart(uplifts), contact_plots.plan_chart(by_segment),
            contact_plots.outlook_chart(outlook, "EUR"), contact_plots.budget_curve_chart(curve, 1000.0, "EUR"),
            contact_plots.verdict_chart(verdict), contact_plots.effects_chart(effects))


def test_the_contact_charts_in_chinese_and_english():
    english, chinese = in_both(contact_charts)
    assert english_left(chinese, allowed={"books"}) == set()
    text = " | ".join(chinese)
    for phrase in ("直邮", "上门拜访", "短信", "实测", "假设", "优化方案", "全部", "增量利润（EUR）", "冠军客户 · Books"):
        assert phrase in text, phrase
    for phrase in ("direct_mail", "direct mail", "optimised plan", "measured", "assumed", "all",
                   "incremental margin after contact costs (EUR)", "Champions · Books",
                   "What contacts did: the naive difference against the effect"):
        assert phrase in english, phrase


def test_no_contact_chart_without_a_measured_channel():
    empty = pd.DataFrame({"channel": ["email"], "topic": "all", "effect": [np.nan], "naive": [0.01],
                          "ci_low": [np.nan], "ci_high": [np.nan]})
    assert contact_plots.effects_chart(empty) is None
    assert contact_plots.plan_chart(pd.DataFrame({"email": [0]}, index=["Champions · Books"])) is None


# ------------------------------------------------------------------------------------------
# Market baskets (notebook 06) and the sales funnel (notebook 10)
# ------------------------------------------------------------------------------------------

def basket_and_funnel_charts():
    figures = []
    for level, items in (("product", ["tent", "stove", "mug"]), ("category", ["Camping", "Kitchen", "Books"])):
        rules = pd.DataFrame({"level": level, "antecedents": [[items[0]], [items[1]], [items[0], items[1]]],
                              "consequents": [[items[1]], [items[2]], [items[2]]], "lift": [3.0, 2.0, 4.5],
                              "support": [0.01, 0.02, 0.005], "confidence": [0.4, 0.3, 0.6],
                              "n_baskets": [100, 200, 50]})
        figures += [basket_plots.lift_matrix(rules, 10), basket_plots.support_confidence_chart(rules)]
    stages = ["contacted", "qualified", "proposal", "won"]
    by_source = pd.DataFrame({"stage": stages * 2, "source": ["referral"] * 4 + ["paid_search"] * 4,
                              "rate": [0.8, 0.5, 0.4, 0.3] * 2, "ci_low": [0.7, 0.4, 0.3, 0.2] * 2,
                              "ci_high": [0.9, 0.6, 0.5, 0.4] * 2})
    cohorts = pd.DataFrame({"month": ["2026-08", "2026-09", "2026-10"],
                            **{f"won_{h}d": [0.1, 0.15, 0.2] for h in (30, 60, 90, 180)}})
    scores = pd.DataFrame({"won": [0, 1, 0, 1, 1, 0], "model": [0.1, 0.8, 0.3, 0.6, 0.9, 0.2],
                           "baseline": [0.2, 0.5, 0.5, 0.2, 0.5, 0.2]})
    figures += [funnel_plots.stage_rates_chart(by_source), funnel_plots.cohort_chart(cohorts),
                funnel_plots.scorers_chart(scores)]
    return figures


def test_the_basket_and_funnel_charts_in_chinese_and_english():
    english, chinese = in_both(basket_and_funnel_charts)
    assert english_left(chinese, allowed={"tent", "stove", "mug", "camping", "kitchen", "books", "referral",
                                          "paid_search"}) == set()
    text = " | ".join(chinese)
    for phrase in ("若购物篮包含（商品）", "3 条优于随机的品类规则", "进入成交阶段", "90 天内", "按来源的成交率"):
        assert phrase in text, phrase
    for phrase in ("if the basket holds (product)", "3 category rules that beat chance", "into won", "within 90 days",
                   "Lead scoring on the test leads: ROC curves", "tent + stove"):
        assert phrase in english, phrase
    assert funnel_plots.cohort_chart(pd.DataFrame()) is None


# ------------------------------------------------------------------------------------------
# Satisfaction (notebook 09)
# ------------------------------------------------------------------------------------------

def planted_survey() -> sat.SurveyStudy:
    """A small survey with two planted groups (happy with everything; unhappy with the price), an
    overall item and an NPS, answers missing here and there; fitted as notebook 09 does."""
    rng = np.random.default_rng(5)
    n = 240
    unhappy = np.arange(n) % 3 == 0
    answers = {item: np.where(unhappy & (item == "q_price"), rng.integers(1, 3, n), rng.integers(4, 6, n))
               .astype(float) for item in ("q_price", "q_delivery", "q_service")}
    frame = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)],
                          "date": pd.Timestamp("2026-05-01") + pd.to_timedelta(np.arange(n) % 180, unit="D"),
                          **answers, "overall": np.where(unhappy, 2.0, 4.5) + rng.normal(0, 0.3, n),
                          "nps": np.where(unhappy, rng.integers(0, 7, n), rng.integers(7, 11, n)).astype(float)})
    frame.loc[::17, "q_delivery"] = np.nan
    study = sat.SurveyStudy(frame, MONTH, 12, seed=1)
    study.detect_scales()
    study.nps_note()
    study.cluster(k_max=3, silhouette_sample=200)
    orders = pd.DataFrame({"customer_id": [f"C{i}" for i in range(0, n, 2)],
                           "order_date": pd.Timestamp("2026-06-15").as_unit("ns"), "quantity": 1.0,
                           "is_return": False})
    study.outcomes(orders, pd.Timestamp("2026-10-31 23:59:59"), 90, 180)
    segments = pd.DataFrame({"customer_id": [f"C{i}" for i in range(n)],
                             "segment_name": np.where(np.arange(n) % 2, "Champions · Books",
                                                      "At risk · mixed basket")})
    study.segments(segments)
    return study


@pytest.fixture(scope="module")
def survey():
    return planted_survey()


def drivers(target: str) -> sat.Drivers:
    """A driver analysis's result as ``sat.key_drivers`` returns it (its boosted trees take seconds to fit)."""
    table = pd.DataFrame({"item": ["q_price", "q_service", "q_delivery"], "std_coef": [0.6, 0.1, 0.05],
                          "coef_low": [0.5, 0.0, -0.05], "coef_high": [0.7, 0.2, 0.15],
                          "perm_importance": [0.5, 0.02, 0.01], "perm_sd": [0.05, 0.01, 0.01],
                          "vif": [1.1, 1.0, 1.0]})
    return sat.Drivers(target, table, 200, 0.55, 0.5, 0.2, ("q_price", "q_service"))


def satisfaction_charts(study):
    return [sat_plots.item_distribution_chart(study.distribution(), study.scales_),
            sat_plots.nps_trend_chart(study.monthly_nps_, study.overall_nps_),
            sat_plots.selection_chart(study.clusters_), sat_plots.profile_heatmap(study.clusters_, study.scales_),
            sat_plots.profile_small_multiples(study.clusters_, study.scales_),
            sat_plots.drivers_chart(drivers("overall")), sat_plots.drivers_chart(drivers("nps")),
            sat_plots.outcomes_chart(study.measurable_outcomes(), 90, 180),
            sat_plots.crosstab_chart(study.crosstab_shares())]


def test_the_satisfaction_charts_in_chinese_and_english(survey):
    assert survey.measurable_outcomes() is not None
    assert set(survey.clusters_.names_) == {"Delighted", "Unhappy with price"}  # the planted groups
    english, chinese = in_both(lambda: satisfaction_charts(survey))
    assert english_left(chinese, allowed={"price", "delivery", "service", "books"}) == set()
    text = " | ".join(chinese)
    for phrase in ("各题目的回答分布（量表 1-5；灰色：未作答）", "未作答", "影响总体满意度的因素：两种视角", "影响NPS的因素：两种视角",
                   "流失：最近 180 天内无购买", "K 均值：按轮廓系数选择 k", "客户分群（笔记本 03）", "对price不满意",
                   "非常满意\n（占回答的 67%）", "流失风险 · 混合购物篮"):
        assert phrase in text, phrase
    for phrase in ("Answers per item (scale 1-5; grey: not answered)", "missing", "What moves overall: two views",
                   "What moves nps: two views", "Churned: no purchase in the last 180 days", "Unhappy with price",
                   "of responses)", "At risk · mixed basket", "mean answer (1-5)"):
        assert phrase in english, phrase
