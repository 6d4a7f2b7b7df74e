"""The sentences stages build and store in metrics.json, in Chinese: the value, baskets, funnel and
purchase-monitoring notes, verdicts, skip reasons and shown headers are translated when they are
built (the report prints them as stored), and read as before in English.

Every function is called in zh-CN on small hand-made inputs that reach each branch it says
something in (the skip reasons included), and the texts must hold no English word but the data's
own names and the kept abbreviations (:func:`tests.i18n_words.english_left`).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import i18n
from crm_utils.i18n import _
from crm_utils.artifacts import LastMonth, write_table
from crm_utils.baskets import rules, section, study
from crm_utils.funnel import analysis, leads as funnel_leads, report as funnel_report, scoring
from crm_utils.needs import prediction, propensity
from crm_utils.value import actions, clv, evaluation, handover, monitoring
from tests.i18n_words import english_left

ZH = "zh-CN"
CUTOFF = pd.Timestamp("2026-10-31 23:59:59")


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the process in English, as the other tests expect."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def in_both(build):
    """``build()`` in English and in Chinese: (English texts, Chinese texts)."""
    i18n.set_language(i18n.SOURCE_LANGUAGE)
    english = [t for t in build() if t]
    i18n.set_language(ZH)
    chinese = [t for t in build() if t]
    i18n.set_language(i18n.SOURCE_LANGUAGE)
    return english, chinese


# ------------------------------------------------------------------------------------------
# Market baskets (notebook 06): skip reasons, notes, cross-selling sentences, shown headers
# ------------------------------------------------------------------------------------------

def basket_orders(baskets: list[tuple[list[str], int]], customer: bool = True, category: bool = True) -> pd.DataFrame:
    """Order lines from (items, how many such baskets); every basket its own order and customer."""
    rows, n = [], 0
    for items, count in baskets:
        for _k in range(count):
            n += 1
            rows += [{"order_id": f"O{n}", "customer_id": f"C{n}" if customer else None,
                      "order_date": pd.Timestamp("2026-10-01"), "product_id": i, "quantity": 1.0, "is_return": False,
                      **({"category": f"cat {i}"} if category else {})} for i in items]
    return pd.DataFrame(rows)


#: The planted pair: A and B together in 300 of 1,000 baskets, each alone in 100, C alone in 500.
PAIR = [(["A", "B"], 300), (["A"], 100), (["B"], 100), (["C"], 500)]
#: Names the basket fixtures and the kit's own parameter and column names (quoted as code).
BASKET_WORDS = {"cat", "product_id", "category", "order_id", "customer_id", "min_support", "max_baskets",
                "n_baskets", "support", "confidence", "lift", "leverage", "conviction", "q_value", "customers",
                "share_of_customers", "offer"}


def level_reasons() -> list[str]:
    """Each reason a level has no rules, from baskets that have it."""
    def reason(baskets, basket="order", customer=True, min_support=0.01):
        lines = rules.purchase_lines(basket_orders(baskets, customer))
        return rules.rules_for_level(lines, "product", min_support, basket=basket)

    results = {
        rules.NO_BASKETS: reason([(["A", "B"], 10)], basket="customer", customer=False),  # no line names a customer
        rules.SINGLE_ITEM_BASKETS: reason([(["A"], 50), (["B"], 50)]),
        rules.TOO_FEW_BASKETS: reason([(["A", "B"], 50), (["C"], 100)]),
        # 250 pairs, each bought once: no pair in 1% of the baskets
        rules.NO_FREQUENT_PAIR: reason([([f"X{i}", f"Y{i}"], 1) for i in range(250)]),
        # A and B together in 10 baskets (3%): a candidate rule, but fewer than MIN_PAIR_BASKETS
        rules.NONE_BEATS_CHANCE: reason([(["A", "B"], 10)] + [([f"X{i}", f"Y{i}"], 1) for i in range(290)]),
    }
    for code, result in results.items():
        assert result.reason == code and result.counts()["reason"] == code and result.skipped, code
    return [r.skipped for r in results.values()]


def test_basket_skip_reasons_are_translated_and_coded():
    english, chinese = in_both(level_reasons)
    assert english_left(chinese, allowed=BASKET_WORDS | {"customer_id"}) == set()
    assert any(t.startswith("没有商品层级的规则：全部 100 个购物篮都只含一种商品") for t in chinese)
    assert "No product-level rules: only 50 baskets hold two or more products (200 needed to test any pair " \
           "against chance)." in english
    assert "No product-level rule passes: 2 candidate rules reach support 1.00%, none of them also holds in 20+ " \
           "baskets and beats chance at a 5% false-discovery rate." in english
    # a shop selling one product: every basket holds a single item, and the reason says so
    baskets = rules.build_baskets(rules.purchase_lines(basket_orders([(["A"], 5)])), "product")
    assert rules.skip_code(baskets) == rules.SINGLE_ITEM_BASKETS


def basket_texts() -> list[str]:
    """Every sentence and shown header of the basket study: rules found (orders and customers as
    baskets, sampled), offers, a till without customers, an export without categories."""
    texts = []
    found = study.BasketStudy(basket_orders(PAIR), CUTOFF, min_support=0.01, max_baskets=800, seed=1).fit()
    texts += [found.basket_note(), found.skip_notes(), *found.cross_sell("product"),
              *found.top_rules("product").columns]
    found.next_best_offers()
    texts += [found.offers_note_, *found.offer_summary().columns]
    by_customer = study.BasketStudy(basket_orders(PAIR), CUTOFF, min_support=0.01, basket="customer").fit()
    texts += [by_customer.basket_note(), *by_customer.cross_sell("product")]
    till = study.BasketStudy(basket_orders(PAIR, customer=False), CUTOFF, min_support=0.01).fit()
    till.next_best_offers()
    texts.append(till.offers_note_)
    nothing = study.BasketStudy(basket_orders([(["A"], 50), (["B"], 50)], category=False), CUTOFF, level="both",
                                min_support=0.01).fit()
    nothing.next_best_offers()
    texts += [nothing.basket_note(), nothing.skip_notes(), nothing.offers_note_]
    empty = study.BasketStudy(basket_orders([(["A", "B"], 5)], customer=False), CUTOFF, basket="customer").fit()
    texts.append(empty.basket_note())
    # the report's section, from the figures the study records (as notebook 11 reads them)
    for figures in (found.figures(), nothing.figures()):
        shown = section.report_section({"06_market_baskets": figures})
        texts += [shown["sentence"], shown["offers_note"]]
    return texts


def test_basket_notes_sentences_and_headers_are_translated():
    english, chinese = in_both(basket_texts)
    assert english_left(chinese, allowed=BASKET_WORDS) == set()
    text = "\n".join(chinese)
    assert "一个购物篮为一个订单" in text and "一个购物篮为一位客户在整个时间窗口内的全部购买" in text
    assert "商品层级：800 个购物篮（从时间窗口内 1,000 个购物篮中按固定种子抽样 800 个：max_baskets）" in text
    assert "没有品类层级的规则：订单没有 category 列。" in text and "商品层级：没有购物篮。" in text
    assert "无下一最佳推荐：没有任何销售行记录客户" in text and "若购物篮包含" in chinese
    assert "主要依据" in chinese and "在收银台或商品页向购买 A 的顾客推荐 B。" in text
    english_text = "\n".join(english)
    assert "Sales lines from 2025-11-01 to 2026-10-31: 1,300; a basket is an order." in english_text
    assert "No next best offer: no rule passed, so there is nothing to offer from." in english_text
    assert "if the basket holds" in english and "mostly because of" in english


# ------------------------------------------------------------------------------------------
# Sales funnel (notebook 10): skip notes, what the data cannot show, the sentence, lead scoring
# ------------------------------------------------------------------------------------------

#: Lead sources of the fixtures (as the data write them) and the contract's column names quoted.
FUNNEL_WORDS = {"referral", "webinar", "lead_id", "created_date", "source", "outcome", "data", "readme", "leads'"}


def lead_table(n: int = 240, dated: bool = True, stages: bool = True, value: bool = True,
               closed: bool = True) -> pd.DataFrame:
    """Hand-made leads from late 2025: two sources, a fifth never contacted, a third of the
    contacted won, a third lost, the rest open (the oldest of them stalled)."""
    rows = []
    for i in range(n):
        created = pd.Timestamp("2025-11-01") + pd.Timedelta(days=i)
        contacted = created + pd.Timedelta(days=5 + i % 7) if i % 5 else pd.NaT
        fate = ("won", "lost", None)[i % 3] if closed and pd.notna(contacted) else None
        rows.append({"lead_id": f"L{i}", "source": ("referral", "webinar")[i % 2], "created_date": created,
                     "contacted_date": contacted, "outcome": fate, "value": 100.0 + i,
                     "outcome_date": contacted + pd.Timedelta(days=20 if fate == "won" else 10) if fate else pd.NaT})
    df = pd.DataFrame(rows)
    if not stages:
        df = df.drop(columns="contacted_date")
    if not dated:
        df = df.drop(columns=["created_date", "contacted_date", "outcome_date"], errors="ignore")
    return df.drop(columns=[] if value else ["value"])


def scoring_result(split: str, auc_low: float, ll_high: float) -> scoring.ScoringResult:
    """The comparison as score_leads records it, with the intervals that decide its verdict."""
    return scoring.ScoringResult(split, 700, 300, 90, {"roc_auc": 0.74, "log_loss": 0.33, "brier": 0.1},
                                 {"roc_auc": 0.69, "log_loss": 0.34, "brier": 0.1}, (auc_low, 0.09), (-0.02, ll_high),
                                 pd.DataFrame({"won": [True, False], "model": [0.6, 0.2], "baseline": [0.5, 0.3]}))


def funnel_texts() -> list[str]:
    texts = [analysis.FunnelStudy(None).skip_note(),
             analysis.FunnelStudy(funnel_leads.prepare(lead_table().iloc[:0], CUTOFF)).skip_note()]
    # how lead scoring splits its leads: in time (dated leads over two years), at random (undated)
    shifted = [lead_table().assign(**{c: lambda d, c=c, m=m: d[c] - pd.DateOffset(months=m)
                                      for c in ("created_date", "contacted_date", "outcome_date")},
                                   lead_id=lambda d, m=m: d["lead_id"] + f"-{m}") for m in range(0, 28, 4)]
    in_time = scoring.labelled(funnel_leads.prepare(pd.concat(shifted, ignore_index=True), CUTOFF), 0)
    undated = lead_table(dated=False)
    at_random = scoring.labelled(funnel_leads.prepare(pd.concat([undated] * 6, ignore_index=True)
                                                      .assign(lead_id=lambda d: [f"L{i}" for i in range(len(d))]),
                                                      CUTOFF), 0)
    texts += [in_time.split, at_random.split]
    # the comparison's three verdicts: better in both, in ranking only, in neither
    verdicts = [scoring_result(in_time.split, 0.01, -0.001), scoring_result(in_time.split, 0.01, 0.01),
                scoring_result(at_random.split, -0.01, 0.01)]
    full = analysis.FunnelStudy(funnel_leads.prepare(lead_table(), CUTOFF), "EUR")
    assert full.stall_thresholds() is not None and full.pipeline()["stalled"].sum() > 0
    into = [c for c in full.month_table().columns if c not in ("leads", "value_in", "value_won")]  # codes: as they are
    texts += [full.known_note(), full.cannot_note(), *into,
              *[full.sentence(v.figures()) for v in verdicts]]
    for result in verdicts:
        texts += [scoring.verdict_note(result), *result.table()["scorer"]]
    for leads in (lead_table(dated=False, stages=False, value=False), lead_table(stages=False)):
        texts.append(analysis.FunnelStudy(funnel_leads.prepare(leads, None)).cannot_note())
    texts.append(analysis.FunnelStudy(funnel_leads.prepare(lead_table(), None)).known_note())
    # all open, none stalled (no stage dates: no stall threshold): nothing closed
    texts.append(analysis.FunnelStudy(funnel_leads.prepare(lead_table(stages=False, closed=False), CUTOFF)).sentence())
    # why there is no lead-scoring comparison, each reason from leads that have it: none, none
    # closed, too few to train, too few to test, too few months old enough to know their outcome
    texts.append(scoring.verdict_note(scoring.score_leads(None, 0)))
    for frame in (undated.assign(outcome=None), undated.head(150), pd.concat([undated] * 3, ignore_index=True)
                  .assign(lead_id=lambda d: [f"L{i}" for i in range(len(d))]).head(600), lead_table(60)):
        texts.append(scoring.verdict_note(scoring.score_leads(funnel_leads.prepare(frame, CUTOFF), 0)))
    export = pd.DataFrame({"lead_id": ["L1", "L2"], "source": ["referral", "webinar"]})
    texts += [funnel_leads.ExportLeads(export, pd.DataFrame({"source_row": [], "reason": []})).note(),
              funnel_leads.ExportLeads(export, pd.DataFrame({"source_row": [3], "reason": ["unparseable_date"]}),
                                       respelled=2).note()]
    # the report's section from the recorded figures (notebook 11)
    figures = full.figures(verdicts[0].figures())
    shown = funnel_report.section(figures, full.frame(), "EUR")
    texts += [shown.sentence, *shown.notes]
    texts.append(funnel_report.section(analysis.FunnelStudy(None).figures(), None).sentence)
    return texts


def test_funnel_notes_verdicts_and_reasons_are_translated():
    english, chinese = in_both(funnel_texts)
    assert english_left(chinese, allowed=FUNNEL_WORDS) == set()
    text = "\n".join(chinese)
    assert "截至 2026年10月31日 23:59 已知 240 条线索" in text and "此导出记录的阶段：已创建 → 已联系 → 成交。" in text
    assert "进入成交阶段" in chinese and "模型（梯度提升树）" in chinese
    assert "线索没有创建日期：没有按月漏斗" in text and "线索没有阶段日期：没有阶段时长，也没有停滞线索" in text
    assert "：模型对线索的排序和成交概率估计都优于仅凭来源。" in text and "没有线索评分比较：没有线索。" in text
    assert "线索太少，无法评分：测试集有" in text and "线索太少，无法评分：训练集有" in text
    assert "240 条线索均尚未关闭（成交、丢单或停滞）：没有可报告的转化。" in text
    assert "成交或丢单线索少于两条：无从学习" in text and "个月的线索已足够久、可知其结果（180 天）" in text
    assert "按时间划分：用 " in text and "固定种子的随机划分（70% 训练，30% 测试，按结果分层）" in text
    english_text = "\n".join(english)
    assert "240 leads known at 2026-10-31 23:59; 0 stage or outcome dates after it are not known yet and left " \
           "out. Stages this export records: created → contacted → won." in english_text
    assert "None of the 240 leads is closed yet (won, lost or stalled): no conversion to report." in english
    assert "; referral converts best (" in english_text and "No lead-scoring comparison: there are no leads." in english
    assert "into won" in english and "model (boosted trees)" in english


# ------------------------------------------------------------------------------------------
# Customer value (notebook 04): skip notes, the holdout verdict, the at-risk note, monitoring
# ------------------------------------------------------------------------------------------

#: Names of the fixtures' data and the kit's parameter names quoted as code.
VALUE_WORDS = {"max_fit_customers", "alive", "customer_value", "propensity", "artifacts", "logistic", "nbd"}


def value_orders(one_purchase: bool = False, start: str = "2025-01-05") -> pd.DataFrame:
    """Orders of 120 customers: each buys every 40 days (once only with ``one_purchase``)."""
    rows = []
    for i in range(120):
        for k in range(1 if one_purchase else 1 + i % 6):
            rows.append({"order_id": f"O{i}-{k}", "customer_id": f"C{i}", "line_revenue": 20.0 + i % 7,
                         "order_date": pd.Timestamp(start) + pd.Timedelta(days=i + 40 * k), "is_return": False})
    return pd.DataFrame(rows)


def judged_holdout(model_error: float) -> evaluation.HoldoutEvaluation:
    """A holdout evaluation with its comparison table made by hand: the model's predicted spend
    is off by ``model_error`` per customer, the baselines by 5 and 9 (so the verdict's branch
    is set by the figures, not by a model fit)."""
    ev = evaluation.HoldoutEvaluation(value_orders(), "2026-10", holdout_months=6)
    ev.cutoff_, ev.calibration_end_ = CUTOFF, evaluation.calibration_end("2026-10", 6)
    ev.days_ = (ev.cutoff_ - ev.calibration_end_) / pd.Timedelta(days=1)
    ev.model_ = clv.CustomerValueModel().fit(clv.rfm_summary(value_orders().iloc[:0], CUTOFF))  # nothing fitted
    actual = np.arange(40.0)
    ev.table_ = pd.DataFrame({"customer_id": [f"C{i}" for i in range(40)], "calibration_purchases": np.arange(40) % 9,
                              "predicted_purchases": actual % 3 + 0.5, "actual_purchases": actual % 3,
                              "last_period_purchases": actual % 2, "rate_purchases": actual % 4,
                              "predicted_spend": actual + model_error, "actual_spend": actual,
                              "last_period_spend": actual + 5, "rate_spend": actual + 9,
                              "p_alive": np.linspace(0.05, 0.95, 40)})
    return ev


def value_texts(tmp_path) -> list[str]:
    texts = [clv.skip_reason(clv.rfm_summary(value_orders().iloc[:0], CUTOFF)),
             clv.skip_reason(clv.rfm_summary(value_orders(one_purchase=True), CUTOFF)), clv.sample_note(200, 284)]
    late = evaluation.HoldoutEvaluation(value_orders(start="2026-06-01"), "2026-10").run()
    once = evaluation.HoldoutEvaluation(value_orders(one_purchase=True), "2026-10").run()
    texts += [late.verdict("EUR"), once.verdict(), late.figures()["skipped"]]
    for error in (1.0, 20.0):  # beats both baselines; beats neither
        ev = judged_holdout(error)
        texts += [ev.verdict("EUR"), ev.conditional_expectations().index.name]
        texts += handover.report_section({"customers": 40, "total_clv": 1.0, "mean_clv": 1.0, "median_clv": 1.0,
                                          "value_at_risk": 1.0, "horizon_months": 12, "discount_rate": 0.1,
                                          "at_risk_customers": 1, "at_risk_value": 1.0, "evaluation": ev.figures()},
                                         "EUR")[0]
    texts += [_(n) for n in (evaluation.MODEL_PURCHASES, evaluation.RATE_PURCHASES, evaluation.MODEL_SPEND)]
    value = pd.DataFrame({"customer_id": [f"C{i}" for i in range(10)], "total_spend": np.arange(10.0) * 10,
                          "p_alive": np.linspace(0.05, 0.95, 10), "clv": np.arange(10.0) * 20,
                          "value_at_risk": np.arange(10.0), "value_tier": "top 10%", "last_purchase": CUTOFF})
    texts += [actions.at_risk_note(actions.slipping_away(value), value, "EUR"),
              actions.at_risk_note(actions.slipping_away(value), value.assign(p_alive=np.nan)),
              *actions.by_segment(value, pd.DataFrame({"customer_id": ["C1"], "segment_name": ["S1"]})).index]
    # last month's value predictions: from its report, none possible, no model; then the sentences
    write_table(tmp_path / "2026-09", "customer_value",
                pd.DataFrame({"customer_id": ["C1"], "expected_purchases_next_month": [0.4]}))
    last = LastMonth(tmp_path / "2026-10", "2026-10")
    nowhere = LastMonth(tmp_path / "elsewhere" / "2026-10", "2026-10")
    sources = [monitoring.last_month_predictions(last, "2026-10", value_orders())[1],
               monitoring.last_month_predictions(nowhere, "2026-10", value_orders(start="2026-10-05"))[1],
               monitoring.last_month_predictions(nowhere, "2026-10", value_orders(one_purchase=True))[1]]
    figures = {"customers": 120, "predicted_purchases": 310.0, "actual_purchases": 322.0, "error": -0.037,
               "spearman": 0.41, "top_decile_share_of_purchases": 0.3}
    texts += sources + [monitoring.note(None, sources[1]), monitoring.note(figures, sources[0])]
    return texts


def test_value_notes_and_verdicts_are_translated(tmp_path):
    english, chinese = in_both(lambda: value_texts(tmp_path))
    assert english_left(chinese, allowed=VALUE_WORDS) == set()
    text = "\n".join(chinese)
    assert "截止日前没有客户购买：没有可估值的客户。" in text and "复购模型需要复购数据：120 位客户中只有 0.0%" in text
    assert "无留出期评估：订单始于 2025年6月1日" not in text and "无留出期评估：订单始于 2026年6月1日" in text
    assert "其每位客户的误差（消费额 MAE 1 EUR）低于两个朴素基线：上一期：5 EUR（模型的误差低 4" in text
    assert "在每位客户的消费额上，模型并未优于上一期和平均消费 x 频次" in text and "校准期复购次数" in chinese
    assert "（无客户分群）" in chinese and "上月的价值预测（上月报告（2026-09/artifacts/customer_value.parquet））" in text
    assert "无法检验上月的价值预测：上月月末（2026年9月30日）之前没有订单：没有做过预测。" in text
    english_text = "\n".join(english)
    assert "Its error per customer (1 EUR MAE of spend) is below both naive baselines: last period: 5 EUR (model " \
           "better by 4, 95% interval 4 to 4)" in english_text
    assert "The model does NOT beat last period and average spend x frequency on spend per customer" in english_text
    assert "No holdout evaluation: Repeat-purchase models need repeat purchases: only 0.0% of 120" in english_text
    assert "Last month's value predictions cannot be checked: no orders by last month's end (2026-09-30): nothing " \
           "was predicted." in english_text


# ------------------------------------------------------------------------------------------
# Purchase predictions (notebook 05): where last month's predictions came from
# ------------------------------------------------------------------------------------------

def tiny_study(month: str, run: bool) -> propensity.PropensityStudy:
    """About 15 customers over three months (Dec 2010 to Feb 2011): too little history for a model.
    Run (it then says why it is skipped) only when the step needs its result: a run while its
    history is young tries the cutoffs it has, seconds a test of the sentences need not spend."""
    rng = np.random.default_rng(3)
    rows = [{"order_id": f"O{i}-{d}", "customer_id": f"C{i}", "category": ["Candles", "Bags", "Toys"][(i + d) % 3],
             "order_date": pd.Timestamp("2010-12-01") + pd.Timedelta(days=int(d)), "quantity": 1,
             "unit_price": 2.5, "line_revenue": 2.5, "is_return": False}
            for i in range(15) for d in np.sort(rng.choice(88, rng.integers(1, 6), replace=False))]
    built = propensity.PropensityStudy(pd.DataFrame(rows), month, categories=["Bags", "Candles", "Toys"])
    return built.run() if run else built


def test_where_last_months_purchase_predictions_came_from_is_translated(tmp_path):
    write_table(tmp_path / "2011-02", "propensity", pd.DataFrame({"customer_id": ["C1"], "p_purchase": [0.3]}))

    def sources():
        out = []
        # the 30 days after January still open in February; February's report read in March; nobody
        # active at the end of February 2013 (the study then says why it is skipped: it is run)
        for month, folder in (("2011-02", tmp_path / "none"), ("2011-03", tmp_path), ("2013-03", tmp_path / "none")):
            study_ = tiny_study(month, run=month == "2013-03")
            out.append(prediction.last_month_predictions(LastMonth(folder / month, month), month, study_)[1])
        return out

    english, chinese = in_both(sources)
    assert english_left(chinese, allowed={"propensity", "artifacts", "parquet"}) == set()
    assert chinese == ["上月月末之后的 30 天超出了本报告月月末：上月的预测下月才能评估",
                       "上月报告（2011-02/artifacts/propensity.parquet）", "上月月末没有活跃客户"]
    assert english[1] == "last month's report (2011-02/artifacts/propensity.parquet)"
    assert english[2] == "no customer was active at last month's end"


# ------------------------------------------------------------------------------------------
# Purchase prediction (notebook 05): why no model, the buyers check, why no prediction at all
# ------------------------------------------------------------------------------------------

def test_purchase_prediction_says_why_in_chinese():
    check = {"cutoff": "2026-08-31", "customers": 1200, "expected": 310.4, "realised": 352, "ratio": 0.882,
             "interval": [280.0, 341.0], "tolerance": 0.1}

    def build():
        plan = propensity.plan_cutoffs("2026-10", pd.Timestamp("2026-07-15"))  # too little history to train
        out = [plan.reason]
        for within in (True, False):
            out.append(propensity.check_sentence({**check, "within_tolerance": within},
                                                 _("fitted a month earlier, it")))
        out.append(_("Purchase prediction is not possible for this shop: {why}.").format(why=plan.reason))
        return out

    english, chinese = in_both(build)
    assert english[0].startswith("the data hold ") and "usable month-end cutoff(s)" in english[0]
    assert english[1] == ("fitted a month earlier, it expected 310 of 1,200 active customers to buy in the window "
                          "after 2026-08-31; 352 did (expected/realised 0.882; if the probabilities were right, 95% "
                          "of such months would see 280 to 341 buyers), within the 10% tolerance")
    assert english[2].endswith("outside the 10% tolerance")
    assert english_left(chinese) == set(), chinese
    assert "可用的月末截止点" in chinese[0] and "超出 10% 的容差" in chinese[2]
