"""Notebook 09 in Chinese: every note, skip reason, NPS sentence, cluster choice, driver and comment
note and shown table header that ``crm_utils.satisfaction.analysis`` builds is in the run's
language, on a small hand-made survey that reaches each branch; in English the same calls say
exactly what they said before the wrapping."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from i18n_words import english_left

from crm_utils import i18n
from crm_utils.config import month_end
from crm_utils.satisfaction import analysis as sat

MONTH = "2026-10"
ITEMS = ["q_price_value", "q_delivery", "q_service"]
#: The comments of the three planted groups: happy, unhappy with price, unhappy with delivery.
COMMENTS = (("great service and fast shipping", "fast shipping great quality", "great quality fast shipping"),
            ("too expensive for what you get", "price too high", "too expensive price"),
            ("parcel arrived late", "late parcel again", "parcel late and damaged"))
#: Words the fixture's data give their own things (item labels, comment words): the data's, not the kit's.
DATA_WORDS = {"price", "value", "delivery", "service"} | {w for group in COMMENTS for c in group for w in c.split()}
#: Methods' names Chinese analytics texts write in Latin letters too (like ROC-AUC in i18n_words.KEPT_WORDS).
METHOD_NAMES = {"bic", "hdbscan"}


@pytest.fixture(autouse=True)
def english_afterwards():
    yield
    i18n.set_language("en")


def surveys(n: int = 240, *, nps_answers: int = 40, seed: int = 0) -> pd.DataFrame:
    """Three groups of respondents (every third row): happy, unhappy with price, unhappy with delivery.
    Ten responses skip one item (assigned by the others), five skip two (too few to cluster); only
    ``nps_answers`` responses give an NPS (too few for a driver analysis of it)."""
    rng = np.random.default_rng(seed)
    group = np.arange(n) % 3
    answers = rng.integers(4, 6, size=(n, 3)).astype(float)
    answers[group == 1, 0] = rng.integers(1, 3, (group == 1).sum())
    answers[group == 2, 1] = rng.integers(1, 3, (group == 2).sum())
    overall = np.clip(np.round(answers.mean(axis=1) + rng.normal(0, 0.3, n)), 1, 5)
    nps = np.clip(np.round(2 * answers.mean(axis=1) + rng.normal(0, 1, n)), 0, 10)
    nps[nps_answers:] = np.nan
    answers[:10, 2] = np.nan
    answers[10:15, 1:] = np.nan
    frame = pd.DataFrame(answers, columns=ITEMS)
    frame.insert(0, "customer_id", [f"C{i % 200}" for i in range(n)])
    frame.insert(1, "date", pd.Timestamp("2026-01-05") + pd.to_timedelta(np.arange(n) % 270, unit="D"))
    frame["overall"], frame["nps"] = overall, nps
    frame["comment"] = [COMMENTS[g][i % 3] for i, g in enumerate(group)]
    return frame


def orders() -> pd.DataFrame:
    """Every respondent bought on 2 January and again, for half of them, in April."""
    ids = [f"C{i}" for i in range(200)]
    return pd.DataFrame({"customer_id": ids + ids[::2],
                         "order_date": pd.to_datetime(["2026-01-02"] * 200 + ["2026-04-20"] * 100),
                         "quantity": 1.0, "is_return": False})


def segments() -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"C{i}" for i in range(190)],
                         "segment_name": ["Champions" if i % 2 else "At risk" for i in range(190)]})


def texts_of(items: list) -> list[str]:
    """The sentences of a step's report, and of each table its headers, index names and text values."""
    out: list[str] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, str):
            out.append(item)
            continue
        out += [str(c) for c in item.columns] + [str(n) for n in (item.index.name, item.columns.name) if n]
        out += [str(v) for v in item.index if isinstance(v, str)]
        out += [v for col in item.columns for v in item[col] if isinstance(v, str)]
    return out


def study_report(frame: pd.DataFrame) -> tuple[sat.SurveyStudy, list]:
    """Every step of notebook 09 on ``frame``, in the notebook's order, as the notebook shows it."""
    study = sat.SurveyStudy(frame, MONTH, 12, seed=1)
    shown = [study.window_note(), study.items_note(), sat.shown(study.detect_scales()), study.nps_note(),
             sat.shown(study.monthly_nps_), study.cluster(k_max=3, silhouette_sample=500), study.choice_note(),
             study.profile_table(), *study.key_drivers(), *study.comment_terms(), study.example_comments(),
             sat.shown(study.outcomes(orders(), month_end(MONTH)))]
    return study, shown + study.segments(segments())


def test_notebook_09_says_everything_in_chinese():
    i18n.set_language("zh-CN")
    study, shown = study_report(surveys())
    texts = texts_of(shown)
    assert english_left(texts, allowed=DATA_WORDS | METHOD_NAMES) == set()
    assert study.drivers_["nps"] is None  # the 'too few' branch was reached, and said:
    assert "NPS：完整回复太少，无法做驱动因素分析" in texts
    assert texts[0].startswith("240 条回复，来自 200 位客户，2026-01-05 至")
    assert "对price value不满意" in texts and "全部已聚类的回复" in texts  # the names, through the report's labels
    assert any(t.startswith("题项之间相关（最强：") for t in texts)
    assert {"簇名称", "回复数", "特征词", "评论", "复购率", "标准化系数", "题项", "客户分群"} <= set(texts)
    assert any("克拉默 V 系数 = " in t for t in texts) and "冠军客户" in texts
    assert "自动识别" in texts and "是" in texts  # the scales' 'detected' column and its values
    assert study.figures()["method"] in sat.METHOD_WORDS  # the codes stay English
    assert set(study.outcomes_["cluster_name"]) >= {"All clustered responses"}


def test_notebook_09_in_english_is_unchanged():
    study, shown = study_report(surveys())
    texts = texts_of(shown)
    assert texts[0] == "240 responses from 200 customers, 2026-01-05 to 2026-09-01"
    assert texts[1] == "3 item(s): price value, delivery, service."
    assert "nps: too few complete responses for a driver analysis" in texts
    assert "overall: 225 responses" in texts
    assert study.nps_note().startswith("NPS over the window: ") and " promoters, " in study.nps_note()
    gaps = study.clusters_.gap_summary()
    assert "225 of 240 responses answered all 3 items and were used to fit the clusters; 10 with gaps" in gaps
    assert "5 answered fewer than 2 of 3 items and are not clustered. No answer was imputed." in gaps
    assert "Unhappy with price value" in texts and "distinctive terms" in texts
    assert " unassigned -> CHOSEN: highest silhouette among the eligible" in study.choice_note()
    assert any(t.startswith("200 customers; 10 without a segment. Chi-square ") for t in texts)
    assert "Delighted" in texts and "segment_name" in texts and "At risk" in texts and "True" in texts


def test_skip_reasons_and_notes_without_data_in_chinese_and_english():
    """Each 'nothing to show' branch: no table, too few items, too few answers, no NPS, no overall,
    no comments, respondents who never bought, no segments, an unfitted headline."""
    frame = surveys()
    few = frame.iloc[:20]
    one_item = frame.drop(columns=["q_delivery", "q_service"])
    bare = frame.drop(columns=["overall", "nps", "comment"])
    strangers = frame.assign(customer_id=[f"R{i}" for i in range(len(frame))])

    def notes() -> list[str]:
        nothing = sat.SurveyStudy(None, MONTH)
        study = sat.SurveyStudy(bare, MONTH, undeclared=["Wifi"])
        study.cluster(k_max=3, silhouette_sample=500)
        anonymous = sat.SurveyStudy(strangers, MONTH)
        anonymous.cluster(k_max=3, silhouette_sample=500)
        anonymous.outcomes(orders(), month_end(MONTH))
        fitted = sat.SurveyStudy(frame, MONTH)
        fitted.cluster(k_max=3, silhouette_sample=500)
        return [nothing.window_note(), nothing.nps_note(), sat.skip_reason(one_item, undeclared=["Wifi"]),
                sat.skip_reason(few), study.items_note(), study.nps_note(), *study.key_drivers(),
                *study.comment_terms(), anonymous.outcomes_note(), *fitted.segments(None),
                sat.headline(None, None, None, 0)["clustering"]]

    english = notes()
    assert english == [
        "There is no surveys table in this run: there is nothing to cluster.",
        "No NPS answers in these responses: the NPS section is skipped.",
        "The surveys table has 1 item column(s) named 'q_*' (two or more are needed): there is nothing to cluster. "
        "The export's column(s) 'Wifi' look like answers on a scale but are not survey items, so they are not "
        "analysed here: declare them under `survey.items` in the mapping (data/README.md, \"Survey items\") to "
        "include them.",
        "Only 5 responses in the window answer every item (at least 30 are needed): there is nothing to cluster.",
        "3 item(s): price value, delivery, service. The export's column(s) 'Wifi' look like answers on a scale "
        "but are not survey items, so they are not analysed here: declare them under `survey.items` in the "
        "mapping (data/README.md, \"Survey items\") to include them.",
        "No NPS answers in these responses: the NPS section is skipped.",
        "No overall or NPS column: the key-driver analysis is skipped.",
        "No comment column in the surveys: the comment analysis is skipped.",
        "None of the 240 responding customers has a purchase in the orders up to the report month's end, so "
        "repurchase and churn by cluster cannot be measured (an anonymous survey's respondent ids do not link to "
        "the shop's customers).",
        "Customer segments are not available in this run (notebook 03 has not written them): no cross-tab.",
        "not run"]
    i18n.set_language("zh-CN")
    chinese = notes()
    # the export's column as the data name it ('Wifi', quoted) and the README's file name (data/README.md)
    assert english_left(chinese, allowed=DATA_WORDS | {"wifi'", "data", "readme"}) == set()
    assert chinese[0] == "本次运行没有调查表：没有可聚类的数据。"
    assert chinese[3] == "窗口内只有 5 条回复回答了全部题项（至少需要 30 条）：没有可聚类的数据。"
    assert chinese[-1] == "未运行"


def test_the_cluster_choice_its_reasons_and_the_sample_in_chinese():
    """Every reason a candidate is or is not chosen, a missing silhouette, the fitting sample and
    answers outside a declared scale."""
    frame = surveys()
    frame.loc[20, "q_service"] = 7  # outside the declared 1-5: treated as missing, and said so

    def reasons() -> list[str]:
        """Fitted in the current language, as notebook 09 fits after setting the run's language."""
        model = sat.SatisfactionClusters(k_range=(2, 3), scale="1-5", fit_sample=100, silhouette_sample=500,
                                         seed=1).fit(frame)
        chosen = pd.Series({"silhouette": 0.61})
        rows = [dict(clusters=1), dict(clusters=9), dict(clusters=3, unassigned_share=0.4),
                dict(clusters=3, unassigned_share=0.0, chosen=True, eligible=True),
                dict(clusters=3, unassigned_share=0.0, chosen=True, eligible=False),
                dict(clusters=3, unassigned_share=0.0, chosen=False, silhouette=0.4)]
        out = [model._reason(pd.Series(r), chosen) for r in rows]
        model.comparison_ = model.comparison_.assign(silhouette=[np.nan, *model.comparison_["silhouette"].iloc[1:]])
        return out + [model.choice_summary(), model.gap_summary()]

    english = reasons()
    assert english[:6] == ["fewer than two clusters", "more clusters than the 3 a report can act on",
                           "leaves 40% of responses unassigned (limit 20%)", "highest silhouette among the eligible",
                           "no candidate eligible: fallback", "lower silhouette (0.400 vs 0.610)"]
    assert english[6].startswith("K-means (k=") and "silhouette n/a" in english[6]
    assert "Gaussian mixture (k=" in english[6] and "HDBSCAN (min cluster size " in english[6]
    assert english[7].endswith("complete responses; the others joined the chosen solution's nearest cluster. "
                               "1 answers outside their item's declared scale were treated as missing.")
    i18n.set_language("zh-CN")
    chinese = reasons()
    assert english_left(chinese, allowed=METHOD_NAMES) == set()
    assert chinese[2] == "有 40% 的回复未被分配（上限 20%）"
    assert chinese[6].startswith("K 均值（按轮廓系数选 k=") and "轮廓系数 无" in chinese[6]
    assert "高斯混合模型（按 BIC 选 k=" in chinese[6]
    assert "条样本上拟合的；其余回复归入所选方案中最近的簇。1 个超出题项所声明量表的答案按缺失处理。" in chinese[7]
