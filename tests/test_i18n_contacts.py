"""The contact stage in Chinese: what contacts did, the plan's notes and last month's verdict.

Notebook 07 builds these sentences in the run's language and stores them (metrics.json, the
contact_effects artifact), the report prints them as stored: each function is called here in
zh-CN on small hand-made inputs reaching every branch, and no English may be left; the status
codes other code reads stay English, and the English text is unchanged.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import i18n
from crm_utils.contacts import control, effects, plan
from crm_utils.contacts.effects import OUTREACH_WORDS, ContactEffect
from crm_utils.contacts.plan import Channel
from crm_utils.report import campaigns
from i18n_words import english_left

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")
#: The outreach words the "no outreach" message quotes: the words matched in the data's topics.
TOPIC_WORDS = set(OUTREACH_WORDS[:6])


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the process in English, as the other tests expect."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def in_chinese(build):
    """``build()`` in zh-CN, then the same in English."""
    i18n.set_language("zh-CN")
    zh = build()
    i18n.set_language("en")
    return zh, build()


# ------------------------------------------------------------------------------------------
# What contacts did (effects.py)
# ------------------------------------------------------------------------------------------

def _orders(n: int = 300) -> pd.DataFrame:
    """Twelve purchases a customer over 22 months: everyone is active in every month measured."""
    rng = np.random.default_rng(0)
    days = np.sort(rng.choice(660, (n, 12)), axis=1)
    ids = np.repeat([f"C{i:03d}" for i in range(n)], 12)
    when = pd.Timestamp("2025-01-01 10:00") + pd.to_timedelta(days.ravel(), "D")
    return pd.DataFrame({"order_id": [f"O{i}" for i in range(len(ids))], "customer_id": ids, "order_date": when,
                         "category": "tea", "quantity": 1, "unit_price": 10.0, "line_revenue": 10.0,
                         "is_return": False})


def _interactions(per_month: int, sms: int, months=("2026-05", "2026-06", "2026-07", "2026-08", "2026-09"),
                  n: int = 300) -> pd.DataFrame:
    """Each month e-mails (two outreach topics) to ``per_month`` of the ``n`` customers and ``sms`` reminders."""
    rng = np.random.default_rng(1)
    rows = []
    for m in months:
        start = pd.Timestamp(f"{m}-03 09:00")
        for k, i in enumerate(rng.choice(n, per_month, replace=False)):
            topic = "promotion" if k % 2 else "newsletter"
            rows.append((f"C{i:03d}", start + pd.Timedelta(days=k % 20), "email", topic))
        rows += [(f"C{i:03d}", start, "sms", "reminder") for i in rng.choice(n, sms, replace=False)]
    return pd.DataFrame(rows, columns=["customer_id", "timestamp", "channel", "topic"])


def _fits() -> list[ContactEffect]:
    """One fit per branch: few comparison customers (groups hardly overlap) and too few SMS; everyone
    contacted (no comparison); contacts whose window is still open; no table; no outreach; topics given."""
    orders = _orders()
    late = _interactions(50, 0, months=("2026-10",)).assign(timestamp=pd.Timestamp("2026-10-25"))
    cases = [(_interactions(292, 2), None), (_interactions(300, 0), None), (late, None), (None, None),
             (_interactions(292, 2).assign(topic="question about delivery"), None),
             (_interactions(292, 2), ["complaint"])]
    return [ContactEffect(seed=1, months=6, n_boot=20, min_contacts=30, topics=topics).fit(orders, log, None, CUTOFF)
            for log, topics in cases]


def _effect_texts(fits: list[ContactEffect]) -> list[str]:
    return [t for e in fits for t in (e.message_, e.assumption_, *e.effects_["note"])]


def _fits_shown() -> tuple[list[ContactEffect], pd.DataFrame]:
    fits = _fits()
    return fits, effects.shown(fits[0].effects_)


def test_effects_messages_notes_and_assumption_are_chinese_and_codes_stay():
    (zh, zh_table), (en, en_table) = in_chinese(_fits_shown)
    texts = _effect_texts(zh) + [*zh_table.columns, *zh_table.iloc[:, 0], *zh_table.iloc[:, 1]]
    assert english_left(texts, allowed=TOPIC_WORDS) == set()
    # every branch reached, its status code unchanged
    assert [e.status_ for e in zh] == [e.status_ for e in en] == [
        "measured", "measured", "no outreach contacts", "no interactions table", "no outreach contacts",
        "no outreach contacts"]
    assert set(zh[0].effects_["topic"]) == {"all", "newsletter", "promotion"}  # the data's topics as they are
    notes = set(zh[0].effects_["note"]) | set(zh[1].effects_["note"])
    assert "联系次数过少（n < 30）" in notes and "没有对比客户（所有活跃客户均被联系过）" in notes
    assert any(n.startswith("被联系客户与对比客户几乎没有重叠（对比组有效样本量 ") for n in notes)
    assert zh[2].message_ == "2026年10月31日之前 6 个月内的主动触达联系，其后 30 天的观察窗口均未完整落在数据范围内。"
    assert zh[3].message_ == "没有互动记录表：无法测量联系的效果；营销方案只能基于给定的假设。"
    assert "（promotion, promo, reminder, offer, campaign, newsletter 等）" in zh[4].message_
    assert zh[0].message_.startswith("已测量 2 个渠道中的 0 个，基于 5 个月内的 ")
    # English as before
    assert en[2].message_ == ("No outreach contact in the 6 months before 2026-10-31 has its 30-day window inside "
                              "the data.")
    assert en[5].message_.startswith("The interactions table holds no contact by the shop under the topics given: ")
    assert "too few contacts (n < 30)" in set(en[0].effects_["note"])
    assert en[0].assumption_.startswith("The figures are causal only if")
    # the table as shown: headers, channels and the all-topics row translated, the data's topics kept
    assert list(zh_table.columns[:3]) == ["渠道", "主题", "被联系数"] and set(zh_table["渠道"]) == {"电子邮件", "短信"}
    assert set(zh_table["主题"]) == {"全部", "newsletter", "promotion"}
    assert en_table.equals(en[0].effects_)  # English: the table as it is


# ------------------------------------------------------------------------------------------
# Last month's verdict and the hold-out (control.py)
# ------------------------------------------------------------------------------------------

CUT, END = pd.Timestamp("2026-09-30 23:59:59"), pd.Timestamp("2026-10-31")


def _campaign(treated: int, held: int, cost: float) -> pd.DataFrame:
    """Half the treated on e-mail, half by direct mail; the hold-out stands for e-mails."""
    ids = [f"T{i}" for i in range(treated)] + [f"K{i}" for i in range(held)]
    arm = ["email"] * (treated // 2) + ["direct_mail"] * (treated - treated // 2) + ["email"] * held
    return pd.DataFrame({"customer_id": ids, "segment_name": "s", "band": 0, "p_purchase": 0.2,
                         "margin_per_purchase": 50.0, "group": ["treatment"] * treated + ["control"] * held,
                         "arm": arm, "channel": arm[:treated] + [""] * held,
                         "cost": [cost] * treated + [0.0] * held})


def _buyers() -> pd.DataFrame:
    """30% of 4,000 treated and 20% of 1,000 held out buy: an uplift of 10 points."""
    ids = [f"T{i}" for i in range(1200)] + [f"K{i}" for i in range(200)]
    return pd.DataFrame({"customer_id": ids, "order_date": pd.Timestamp("2026-10-10"), "is_return": False})


def _verdicts() -> list[tuple[control.Verdict, pd.DataFrame | None]]:
    """Every branch of the verdict, with its table as shown (headers in the language of the moment)."""
    orders, money = _buyers(), (lambda v: f"{v:,.0f} EUR")
    camp = _campaign(4000, 1000, 1.0)
    reached = pd.DataFrame({"customer_id": camp.loc[camp["group"] == "treatment", "customer_id"], "channel":
                            camp.loc[camp["group"] == "treatment", "arm"], "timestamp": pd.Timestamp("2026-10-02")})
    not_sent = pd.DataFrame({"customer_id": ["T1", "K1"], "channel": "email", "timestamp": pd.Timestamp("2026-10-02")})
    judge = (lambda campaign, **kw: control.judge(campaign, "2026-09", orders, CUT, kw.pop("end", END), 30,
                                                  money=money, **kw))
    verdicts = [judge(_campaign(4000, 1000, cost)) for cost in (1.0, 20.0, 5.0)] + [
        judge(camp, interactions=reached), judge(camp, interactions=not_sent),
        judge(None, last_run_exists=False), judge(None), judge(_campaign(100, 0, 1.0)),
        judge(camp, end=pd.Timestamp("2026-10-15"))]
    return [(v, v.shown()) for v in verdicts]


def test_verdicts_are_chinese_and_their_status_codes_stay():
    (zh, zh_shown), (en, en_shown) = (list(zip(*got)) for got in in_chinese(_verdicts))
    statuses = ["paid", "did not pay", "cannot tell", "paid", "not carried out", "no run", "no plan", "no plan",
                "window open"]
    assert [v.status for v in zh] == [v.status for v in en] == statuses
    texts = [v.sentence for v in zh]
    for shown in zh_shown:
        if shown is not None:
            texts += [*map(str, shown.columns), *map(str, shown.index), str(shown.index.name)]
    assert english_left(texts) == set()
    assert zh[0].sentence.startswith("上月营销活动（2026-09）已回本：被联系客户的购买率为 30.0%，其保留组为 20.0%：实际提升 "
                                     "+10.0 个百分点")
    assert zh[0].sentence.endswith("（没有互动记录表：未核实联系是否实际执行）。")
    assert zh[3].sentence.endswith("联系成本后的增量利润为 16,000 EUR（10,108 EUR 至 21,532 EUR）。")  # log checked
    assert zh[1].sentence.startswith("上月营销活动（2026-09）未能回本：")
    assert zh[2].sentence.startswith("无法判断上月营销活动（2026-09）是否回本（其区间跨越零）：")
    assert zh[4].sentence.startswith("上月营销活动（2026-09）未按计划执行：互动记录显示，30 天内通过指定渠道被联系的干预组客户占 0%")
    assert zh[8].sentence == "2026年9月30日之后的 30 天超出了数据范围（截至 2026年10月15日）：上月营销活动要到下月才能评估。"
    assert list(zh_shown[0].index) == ["直邮", "电子邮件", "全部"]
    assert list(zh_shown[0].columns[:4]) == ["干预组人数", "干预组购买率", "对照组", "对照组购买率"]
    # English as before; the stored table keeps its codes in every language
    assert en[2].sentence.startswith("Last month's campaign (2026-09) cannot be said to have paid or not (its interval "
                                     "spans zero): contacted customers bought at 30.0%, their hold-out at 20.0%: "
                                     "a realised uplift of +10.0 points")
    assert en[5].sentence == ("No run for 2026-09 in this reports folder: there is no campaign of last month to "
                              "judge.")
    assert list(en_shown[0].index) == ["direct_mail", "email", "all"]
    assert list(en_shown[0].columns[:4]) == ["treated", "treated_rate", "control", "control_rate"]
    assert list(zh[0].table.index) == list(en[0].table.index) and "all" in zh[0].table.index


def test_hold_out_note_and_arm_table_are_chinese():
    camp = _campaign(400, 100, 1.0)
    (note, arms, empty), (note_en, arms_en, _) = in_chinese(
        lambda: (control.holdout_note(camp, 0.1), control.arm_table(camp),
                 control.holdout_note(camp.assign(arm=""), 0.1)))
    assert english_left([note, *arms.columns, *arms.index, arms.index.name]) == set()
    assert note.startswith("共保留 100 位客户（每个分层的 10%），其中 100 位对应计划中的联系，对比 400 位被联系客户。")
    assert list(arms.columns) == ["对照组", "干预组"] and list(arms.index) == ["直邮", "电子邮件"]
    assert empty == "" and control.arm_table(camp.assign(arm="")) is None
    assert note_en.startswith("100 customers held out (10% of each stratum)")
    assert list(arms_en.columns) == ["control", "treatment"] and arms_en.index.name == "arm"


# ------------------------------------------------------------------------------------------
# The plan's notes (plan.py)
# ------------------------------------------------------------------------------------------

# The hand-solved plan of test_contact_plan: the budget binds (0.5 a unit), the phone hours bind
# (40 an hour), e-mail capacity does not; with a budget of 100,000 the budget does not bind either.
CHANNELS = [Channel("email", cost=1.0, capacity=10_000),
            Channel("phone", cost=5.0, capacity=5.0, unit="hours", per_contact=6 / 60)]
TABLE = pd.DataFrame({"customers": [100, 200], "p_purchase": [0.2, 0.1], "margin_per_purchase": [20.0, 15.0],
                      "email": [0.1, 0.1], "phone": [0.6, 0.2]}, index=pd.Index(["A", "B"], name="cell"))


def _plan_texts() -> list[str]:
    out = []
    for currency in ("EUR", None):
        for budget in (400, 100_000):
            best = plan.optimise(TABLE, CHANNELS, budget=budget)
            out += [plan.plan_note(best, currency), *plan.price_sentences(plan.shadow_prices(best, CHANNELS), currency)]
        curve = plan.budget_curve(TABLE, CHANNELS, 400.0, spent=400.0)
        out += [plan.curve_note(curve, currency), plan.curve_note(curve.assign(budget_price=0.0), currency)]
    # measured, assumed where the log does not hold the channel, assumed where it measured too few
    note = ContactEffect(min_contacts=100)  # the note as the effects write it, in the current language
    too_few = i18n._("too few contacts (n < {minimum})").format(minimum=note.min_contacts)
    measured = pd.DataFrame({"channel": ["email", "sms", "direct_mail"], "topic": ["all"] * 3,
                             "effect": [0.03, np.nan, 0.01], "ci_low": [0.01, np.nan, 0.0],
                             "ci_high": [0.05, np.nan, 0.02], "n_contacted": [1800, 40, 500],
                             "note": ["", too_few, ""]})
    chans = plan.channels_from_table({"email": {"cost": 0.1, "capacity": 10}, "sms": {"cost": 0.1, "capacity": 10},
                                      "phone": {"cost": 4.0, "capacity": 10},
                                      "direct_mail": {"cost": 1, "capacity": 5}})
    uplifts = plan.uplift_table(chans, measured, {"sms": 0.004, "phone": [0.01, 0.02, 0.04]})
    message = ContactEffect().fit(_orders(5), None, None, CUTOFF).message_
    out += [*uplifts["basis"], plan.basis_note(uplifts, message),
            plan.basis_note(uplifts[uplifts["source"] == plan.MEASURED], message),
            plan.basis_note(uplifts[uplifts["source"] == plan.ASSUMED], message)]
    propensity = pd.DataFrame({"customer_id": ["C1"], "p_purchase": [np.nan]})
    segments = pd.DataFrame({"customer_id": ["C1"], "segment_name": ["A"], "avg_order_value": [10.0]})
    out += [plan.no_plan_reason(None, segments), plan.no_plan_reason(propensity, segments),
            plan.no_plan_reason(propensity.fillna(0.2), None)]
    # the headers notebook 07's tables look up in the catalogue
    out += [i18n._(h) for h in plan.HEADERS]
    return out + [list(uplifts["source"])]


def test_plan_notes_are_chinese_and_english_unchanged():
    zh, en = in_chinese(_plan_texts)
    zh_sources, en_sources = zh.pop(), en.pop()
    assert zh_sources == en_sources == ["measured", "assumed", "assumed", "measured"]  # codes the charts read
    assert english_left(zh) == set()
    assert "再增加预算 1 EUR，可多带来 0.50 EUR 的增量利润（方案已用满全部 400.0）。" in zh
    assert "再增加电话容量 1 小时，可多带来 40.00 EUR 的增量利润（方案已用满全部 5.0）。" in zh
    assert "再增加电子邮件容量 1 次联系，不会带来任何增量利润：方案只用了 10,000.0 中的 150.0，该限制没有起约束作用。" in zh
    assert "假设值（参数 assumed_uplift；未测量：联系次数过少（n < 100））" in zh
    assert "根据互动记录测得：电子邮件、直邮。假设值（参数 assumed_uplift，未测量）：短信、电话。" in zh
    assert "本月无法进行购买预测（笔记本 05）：没有购买概率，就没有营销方案，也没有对照组。" in zh
    assert any(t.startswith("没有互动记录表：无法测量联系的效果；营销方案只能基于给定的假设。所以这里无法测量") for t in zh)
    # English as before
    assert "One more hour of phone capacity would add 40.00 EUR of incremental margin (the plan uses all 5.0)." in en
    assert ("One more unit of budget would add nothing: the plan uses 500.0 of 100,000.0, so this limit does not "
            "bind.") in en
    assert "Measured from the interactions log: email, direct_mail. Assumed (parameter assumed_uplift, not " \
           "measured): sms, phone." in en
    assert "assumed (parameter assumed_uplift; not measured: too few contacts (n < 100))" in en


def test_the_stage_figures_carry_chinese_sentences_the_report_prints_by_code():
    """headline() stores the sentences as built; the report's campaign section and brief read the codes."""
    def build():
        chans = plan.channels_from_table({"email": {"cost": 0.1, "capacity": 10}})
        uplifts = plan.uplift_table(chans, None, {"email": 0.01})
        propensity = pd.DataFrame({"customer_id": ["C1"], "p_purchase": [np.nan]})
        reason = plan.no_plan_reason(propensity, None)
        cells = plan.customer_cells(plan.campaign_scores(propensity, None), 0.3)
        cells["group"] = control.stratified_holdout(cells, 0.1, seed=1)
        table = plan.cell_table(cells, uplifts["uplift"])
        best = plan.optimise(table, chans, budget=100)
        campaign = control.campaign_targets(cells, cells["group"], control.assign_arms(cells, best.counts, 1),
                                            {"email": 0.1})
        effects = ContactEffect().fit(_orders(5), None, None, CUTOFF)
        verdict = control.judge(None, "2026-09", _buyers(), CUT, END, 30)
        fig = plan.headline(effects.status_, effects.message_, uplifts, best, chans,
                            plan.outlook(best, cells, chans, uplifts), campaign, 0.1, np.nan, verdict, 30,
                            no_plan=reason)
        return fig, campaigns.CampaignSection.from_run({"07_contact_effectiveness": fig}, None, "EUR").sentences()
    (fig, said), (fig_en, said_en) = in_chinese(build)
    assert (fig["effects_status"], fig["verdict"]["status"]) == ("no interactions table", "no plan")
    assert fig["uplifts"]["email"]["source"] == "assumed"
    assert english_left([fig["effects_message"], fig["no_plan_reason"], fig["verdict"]["sentence"], *said]) == set()
    assert said == [fig["no_plan_reason"], fig["verdict"]["sentence"]]
    assert said[1] == "2026-09 的运行结果中没有营销方案（其联系阶段未运行或无法制定方案）：没有上月的营销活动可供评估。"
    assert said_en[0].startswith("Purchase prediction was not possible this month (notebook 05)")


def _tables() -> list[pd.DataFrame]:
    """The plan's tables as notebook 07 shows them: uplifts (measured and assumed), shadow prices, outlook."""
    best = plan.optimise(TABLE, CHANNELS, budget=400)
    rng = np.random.default_rng(3)
    scores = pd.DataFrame({"customer_id": [f"C{i:03d}" for i in range(200)],
                           "segment_name": rng.choice(["A", "B"], 200),
                           "p_purchase": rng.beta(2, 5, 200), "avg_order_value": rng.uniform(20, 120, 200)})
    cells = plan.customer_cells(scores, 0.3)
    measured = pd.DataFrame({"channel": ["email"], "topic": ["all"], "effect": [0.03], "ci_low": [0.01],
                             "ci_high": [0.05], "n_contacted": [900], "note": [""]})
    uplifts = plan.uplift_table(CHANNELS, measured, {"phone": [0.02, 0.05, 0.08]})
    outlook = plan.outlook(plan.optimise(plan.cell_table(cells, uplifts["uplift"]), CHANNELS, 300), cells, CHANNELS,
                           uplifts)
    tables = [uplifts, plan.shadow_prices(best, CHANNELS), outlook]
    return [[t, plan.shown(t)] for t in tables]


def test_the_plan_tables_as_shown_are_chinese_and_unchanged_in_english():
    zh, en = in_chinese(_tables)
    i18n.set_language("zh-CN")  # the headers as notebook.table looks them up in a Chinese run
    texts = []
    for raw, shown in zh:
        texts += [*map(str, shown.index), *([shown.index.name] if shown.index.name else [])]
        texts += [str(v) for col in ("source", "unit", "basis") if col in shown for v in shown[col]]
        texts += [i18n._(c) for c in shown.columns]  # as notebook.table looks the headers up
    assert english_left(texts) == set()
    (uplifts, shown_uplifts), (prices, shown_prices), (outlook, shown_outlook) = zh
    assert list(shown_uplifts.index) == ["电子邮件", "电话"] and shown_uplifts.index.name == "渠道"
    assert list(shown_uplifts["source"]) == ["实测", "假设"] and list(uplifts["source"]) == ["measured", "assumed"]
    assert list(shown_prices.index) == ["预算", "电子邮件容量", "电话容量"] and shown_prices.index.name == "约束"
    assert list(shown_prices["unit"]) == ["货币单位", "次联系", "小时"] and prices.loc["budget", "unit"] == "currency unit"
    assert list(shown_outlook.index) == ["优化方案", "不联系任何人", "联系所有人"]
    assert "optimised plan" in outlook.index  # the codes headline() reads stay
    for raw, shown in en:  # English: every table exactly as before
        assert shown.equals(raw) and shown.index.name == raw.index.name
