"""Notebooks 01 (cleaning) and 05 (need prediction) in Chinese: the sentences, notes and table
values the package builds for them are translated, and the English ones are unchanged.

Each function is called in zh-CN on small hand-made data that reach every branch that says
something; the texts must hold no English word left (``english_left``), and the same call in
English must still give the English sentence.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import i18n
from crm_utils.data import cleaning, io, privacy
from crm_utils.needs import need_text, next_category, propensity, sampling
from i18n_words import english_left

ZH = "zh-CN"
#: Values the cleaning writes into the data themselves ('unknown', 'other'), quoted by the fixes
#: that set them; and the hand-made data's own words (a topic; the value a mapping rule sets, quoted
#: as Python writes it, so the checker's word takes the closing quote too).
DATA_WORDS = {"unknown", "other", "billing", "cancelled'",
              "keep"}  # `exact_duplicates: keep`, the mapping's setting as the user types it


@pytest.fixture(autouse=True)
def english_afterwards():
    """Every test leaves the process in English, as the other tests expect."""
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


def in_language(language: str, build):
    """What ``build()`` returns with ``language`` set (English again afterwards)."""
    i18n.set_language(language)
    try:
        return build()
    finally:
        i18n.set_language(i18n.SOURCE_LANGUAGE)


# ------------------------------------------------------------------------------------------
# Notebook 01: cleaning
# ------------------------------------------------------------------------------------------
def _tiny_export(folder, mapping: str) -> dict:
    """Customers with a duplicate (same e-mail), spellings and genders to fix, missing values to
    impute, an e-mail in a note; orders with an exact duplicate line, a guest line and a line a
    mapping rule sets the status of."""
    folder.mkdir()
    pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4"],
        "name": ["Ann Lee", "Bob Ray", "Cat Fox", "Ann Lee"],
        "email": ["ann@example.com", "bob@example.com", "cat@example.com", " ANN@example.com"],
        "phone": ["+44 7911 123456", "", "", ""],
        "gender": ["female", "xyz", None, "f"],
        "region": ["North", "north", None, "North"],
        "signup_date": ["2025-01-01", None, "2025-03-01", "2025-04-01"],
    }).to_csv(folder / "customers.csv", index=False)
    pd.DataFrame({
        "order_id": ["O1", "O1", "O2", "O3", "O9"],
        "customer_id": ["C1", "C1", "C2", None, "C3"],
        "order_date": ["2026-10-01", "2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04"],
        "product_id": ["P1", "P1", "P2", "P2", "P3"],
        "category": ["Books", "Books", "books", None, "Garden"],
        "quantity": [1, 1, 2, 1, 1], "unit_price": [9.5, 9.5, 4.0, 4.0, 12.0],
    }).to_csv(folder / "orders.csv", index=False)
    (folder / "mapping.yml").write_text(mapping)
    return io.load_raw(folder)


SET_RULE = "tables:\n  orders:\n    rules:\n      - where: {order_id: \"^O9\"}\n        set: {status: cancelled}\n"
KEEP_DUPLICATES = "tables:\n  orders:\n    exact_duplicates: keep\n"
KEY = privacy.PseudonymKey(bytes(range(32)), "test key", False)


def _cleaning_texts(raw) -> tuple[list[str], cleaning.CleanResult]:
    """Every sentence and kit-written table value notebook 01 shows for ``raw``."""
    run = cleaning.CleaningRun(raw, "2026-10", key=KEY)
    shown = [cleaning.coverage(raw)]
    tables = [getattr(run, step)() for step in cleaning.CleaningRun.STEPS]
    for table in tables:
        for col in ("action", "rule", "note"):
            if isinstance(table, pd.DataFrame) and col in table.columns:
                shown += [str(v) for v in table[col].dropna()]
    result = run.finish()
    shown += result.notes() + list(result.fixes["fix"])
    tables += [result.ledger, result.quarantine_by_reason, result.quarantine, result.fixes]
    for table in tables:
        if isinstance(table, pd.DataFrame):
            display = cleaning.shown(table)
            shown += [str(c) for c in display.columns]
            shown += [str(v) for v in display.get(cleaning.shown(pd.DataFrame(columns=["table"])).columns[0], [])]
    return shown, result


def test_cleaning_says_everything_in_chinese(tmp_path):
    texts, result = in_language(ZH, lambda: _cleaning_texts(_tiny_export(tmp_path / "a", SET_RULE)))
    assert english_left(texts, allowed=DATA_WORDS) == set()
    assert texts[0].splitlines()[:3] == ["本数据缺少：互动记录、问卷、销售线索。后续笔记本会跳过需要这些表的部分。",
                                         "- 缺少互动表：没有接触历史。", "- 缺少问卷表：没有满意度回答。"]
    assert any(t.startswith("有 1 个订单行与另一行完全相同") and "已合并：收入 9.50" in t for t in texts)
    assert any(t.startswith("保留的订单行中有 1 行没有客户编号") for t in texts)
    assert {"相同电子邮箱", "已统一写法", "编码为 F/M/X", "已删除", "已替换为带密钥的哈希值"} <= set(texts)
    assert any(t.startswith("在 order_id ~ '^O9' 的行中设为 'cancelled'") for t in texts)
    # The artifacts keep their English codes: the quarantine's reasons and the ledger's columns.
    assert all(r.isascii() and " " not in r for r in result.quarantine["reason"])
    assert list(result.ledger.columns[:3]) == ["table", "file", "rows_in"]
    assert {"读入行数", "保留", "隔离", "修正", "处理", "订单", "客户"} <= set(texts)  # headers and tables as shown


def test_cleaning_english_is_unchanged(tmp_path):
    texts, result = _cleaning_texts(_tiny_export(tmp_path / "a", SET_RULE))
    assert texts[0].splitlines()[:2] == [
        "Not in this data: interactions, surveys, leads. Later notebooks skip the sections that need them.",
        "- without interactions: there is no contact history."]
    assert ("1 kept order line(s) have no customer id (guest sales, 4.00 revenue, 11.9% of all): they count in "
            "revenue, orders and units; customer-level figures (active customers, cohorts, segments, propensity) "
            "leave them out.") in texts
    assert "set to 'cancelled' where order_id ~ '^O9' (mapping rule)" in texts
    assert "same email" in texts and "unrecognised value coded as 'other'" in texts
    assert cleaning.shown(result.ledger).equals(result.ledger)  # in English the table as it was


def test_kept_duplicates_and_all_tables_present(tmp_path):
    texts = in_language(ZH, lambda: _cleaning_texts(_tiny_export(tmp_path / "b", KEEP_DUPLICATES))[0])
    assert english_left(texts, allowed=DATA_WORDS) == set()
    assert "已保留（映射设置）" in texts
    raw = {t: None for t in cleaning.CONTRACTS}  # coverage reads which tables there are
    assert in_language(ZH, lambda: cleaning.coverage(raw)) == "五张表都在：下面的每项检查都会执行。"
    assert cleaning.coverage(raw) == "All five tables are present: every check below runs."


def test_duplicate_note_in_both_forms():
    merged = {"lines": 1200, "revenue": 3456.5, "revenue_share": 0.0123}
    texts = in_language(ZH, lambda: [cleaning.duplicate_note(merged), cleaning.duplicate_note(
        {**merged, "revenue_share": None}, cleaning.MERGED_AT_EVERY_RUN)])
    assert english_left(texts) == set()
    assert texts[0].startswith("有 1,200 个订单行与另一行完全相同（订单、产品、价格、数量和日期均相同），已合并："
                               "收入 3,456.50，占这些订单行收入的 1.2%。")
    assert "每次运行时都会合并：收入 3,456.50。" in texts[1]
    assert cleaning.duplicate_note({**merged, "revenue_share": None}, "are merged at every run").startswith(
        "1,200 order line(s) repeat another line exactly (same order, product, price, quantity and date) and are "
        "merged at every run: 3,456.50 revenue. The contract has no line number")
    assert ", 1.2% of the lines' revenue. The contract" in cleaning.duplicate_note(merged)


def test_key_source_in_chinese(tmp_path, monkeypatch):
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(tmp_path / "k" / "pseudonym.key"))
    created, found = in_language(ZH, lambda: (privacy.load_key().source, privacy.load_key().source))
    monkeypatch.setenv(privacy.KEY_ENV, "ab" * 16)
    env = in_language(ZH, lambda: privacy.load_key().source)
    assert (created, found, env) == ("密钥文件（由本次运行创建）", "密钥文件", "环境变量 CRM_PSEUDONYM_KEY")
    assert privacy.load_key().source == "environment variable CRM_PSEUDONYM_KEY"
    monkeypatch.delenv(privacy.KEY_ENV)
    assert privacy.load_key().source == "key file"


# ------------------------------------------------------------------------------------------
# Notebook 05: need prediction
# ------------------------------------------------------------------------------------------
def _orders(customers: int, start: str, days: int, seed: int, every: int = 40) -> pd.DataFrame:
    """Order lines of ``customers`` buying about once every ``every`` days over ``days`` days."""
    rng = np.random.default_rng(seed)
    rows = []
    for i in range(customers):
        for d in np.sort(rng.choice(days, max(1, rng.poisson(days / every)), replace=False)):
            rows.append((f"O{i}-{d}", f"C{i}", pd.Timestamp(start) + pd.Timedelta(days=int(d)),
                         ["Books", "Garden", "Toys"][int(rng.integers(3))], 1, 10.0))
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "category", "quantity", "unit_price"])
    df["is_return"] = False
    df["line_revenue"] = df["quantity"] * df["unit_price"]
    return df


@pytest.fixture(scope="module")
def year_orders() -> pd.DataFrame:
    """Two and a half years of 300 customers: enough for every set and a season factor."""
    return _orders(300, "2024-05-01", 900, seed=1)


def test_sample_note():
    orders = _orders(30, "2026-01-01", 200, seed=2)
    everyone = sampling.customer_sample(orders, max_customers=None)
    some = sampling.customer_sample(orders, max_customers=12, seed=1)
    texts = in_language(ZH, lambda: [everyone.note(), some.note()])
    assert english_left(texts) == set()
    assert texts == ["模型从全部 30 位有订单的客户学习。",
                     "模型从 30 位有订单的客户中按固定种子随机抽取的 12 位客户学习（含其全部订单行、备注和账户信息）；每位客户都会评分。"]
    assert some.note() == ("Models learn from a seeded random sample of 12 of the 30 customers with orders (all their "
                           "order lines, notes and account); every customer is scored.")


def test_season_notes(year_orders):
    cal, target = pd.Timestamp("2026-08-31 23:59:59"), pd.Timestamp("2026-09-30 23:59:59")
    short = year_orders[year_orders["order_date"] >= "2026-01-01"]
    few = year_orders[year_orders["customer_id"].isin([f"C{i}" for i in range(25)])]
    texts = in_language(ZH, lambda: [propensity.seasonal_factor(o, cal, target)[1] for o in (year_orders, short, few)])
    rng = np.random.default_rng(0)
    p = rng.uniform(0.1, 0.6, 300)
    y = rng.uniform(size=300) < p
    texts += in_language(ZH, lambda: [propensity.WindowCalibrator().fit(p, y).season_,
                                      propensity.WindowCalibrator().fit(p, y).for_target(p, 3.0).season_])
    assert english_left(texts) == set()
    assert texts[0].startswith("季节系数 ") and "2025年9月30日 之后有" in texts[0]
    assert texts[1] == "未做季节调整：数据未覆盖校准窗口的前一年"
    assert texts[2].startswith("未做季节调整：一年前相同窗口的购买者或未购买者太少")
    assert texts[3:] == ["未做季节调整", texts[4]] and texts[4].startswith("未应用季节系数 3.000")
    english = propensity.seasonal_factor(year_orders, cal, target)[1]
    assert english.startswith("season factor ") and "of active customers bought after 2025-09-30 against" in english


def test_examples_and_next_category_notes(year_orders):
    cats = ["Books", "Garden", "Toys"]

    def build():
        study = propensity.PropensityStudy(year_orders, "2026-10", categories=cats, n_train=2)
        study.build()
        nxt = next_category.NextNeedStudy(year_orders, study.plan, study.training_sets, cats)
        before = nxt.note()
        nxt.evaluate()
        table = next_category.shown(nxt.accuracy_)
        return study, [study.examples_note(), before, nxt.note()], [*table.columns, table.index.name, *table.index], nxt

    study, texts, headers, nxt = in_language(ZH, build)
    assert english_left(headers) == set() and "测试集前三命中率" in headers
    assert next_category.shown(nxt.accuracy_).equals(nxt.accuracy_)  # English: the table as it is
    assert study.training_sets is not None, study.skipped
    tiny = _orders(15, "2010-12-01", 88, seed=3)
    texts += in_language(ZH, lambda: [
        propensity.PropensityStudy(tiny, "2011-02", categories=cats).examples_note(),
        next_category.NextNeedStudy(year_orders, study.plan, None, ["Books"]).note()])
    assert english_left(texts) == set()
    assert texts[0].startswith("训练样本 ") and "个截止日" in texts[0]
    assert texts[1].startswith("历史数据太短，无法训练下一品类模型")
    assert texts[2] in ("按验证集选定：模型", "按验证集选定：基线（模型未能胜过基线）")
    assert texts[3] == "没有可供学习的样本：历史数据太短（见 1.1）。"
    assert texts[4] == "订单中的品类少于两个：没有可预测的下一品类。"
    assert study.examples_note().endswith(f"test {len(study.sets_.test[0]):,}")
    assert next_category.NextNeedStudy(year_orders, study.plan, None, cats).note().startswith(
        "Too little history to train the next-category model: this month's next category is the baseline")


def _notes_data(customers: int = 160, seed: int = 5) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Product questions each followed within days by an order of the asked-for category, and
    billing notes: a classifier can learn the notes' words."""
    rng = np.random.default_rng(seed)
    words = {"Books": ["novel", "book", "author"], "Garden": ["hose", "rake", "seeds"]}
    notes, rows = [], []
    for i in range(customers):
        cat = ["Books", "Garden"][i % 2]
        when = pd.Timestamp("2025-01-01") + pd.Timedelta(days=int(rng.integers(0, 500)), hours=int(i))
        notes.append((f"I{i}", f"C{i}", when, "product_question", f"wants a {rng.choice(words[cat])} please"))
        notes.append((f"J{i}", f"C{i}", when + pd.Timedelta(days=20), "billing", "invoice copy please"))
        rows.append((f"O{i}", f"C{i}", when + pd.Timedelta(days=3), cat, 1, 10.0))
    inter = pd.DataFrame(notes, columns=["interaction_id", "customer_id", "timestamp", "topic", "note"])
    orders = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "category", "quantity", "unit_price"])
    orders["is_return"] = False
    orders["line_revenue"] = orders["quantity"] * orders["unit_price"]
    return inter, orders


def test_note_study_in_chinese():
    inter, orders = _notes_data()
    cutoff = pd.Timestamp("2026-10-31 23:59:59")

    def build():
        study = need_text.NoteStudy(inter, orders, cutoff, bootstrap_resamples=50)
        study.compare()
        hard = study.hard_examples()
        headers = [h for table in (study.comparison_, study.per_class(), hard)
                   for h in [*need_text.shown(table).columns, need_text.shown(table).index.name]]
        headers += list(need_text.shown(study.comparison_).index)
        return study, [study.skipped, study.label_note(), study.holdout_note(), study.label_weights().name,
                       *hard["kind"].unique(), study.fit_classifiers(pd.Timestamp("2026-01-31")),
                       study.fit_classifiers(pd.Timestamp("2024-06-30")), *[h for h in headers if h]]

    study, texts = in_language(ZH, build)
    assert texts[0] == "" and english_left(texts) == set()
    assert {"方法", "验证集宏平均 F1", "精确率", "朴素贝叶斯", "逻辑回归", "购买了预测品类"} <= set(texts)
    assert texts[1].startswith("从数据中为 320 条备注打上了标签（100% 的标签")
    assert texts[2].split("：")[0] in ("朴素贝叶斯", "逻辑回归") and "留出集宏平均 F1 为" in texts[2]
    assert "表达的需求作为下一品类的特征：备注由一个用截至 2026年1月31日 已知的标签训练的分类器解读。" in texts
    assert any(t.startswith("此处未把表达的需求用作下一品类的特征：") for t in texts)
    english = need_text.NoteStudy(inter, orders, cutoff, bootstrap_resamples=50)
    english.compare()
    assert "held-out macro-F1" in english.holdout_note() and english.label_note().startswith("320 notes labelled")
    assert study.figures()["method"] in need_text.METHODS  # metrics.json keeps the method's code name
    assert need_text.shown(english.comparison_).equals(english.comparison_)


def test_skip_reasons_in_chinese():
    inter = pd.DataFrame({"customer_id": ["A"], "timestamp": pd.to_datetime(["2026-01-01"]),
                          "topic": ["billing"], "note": ["invoice"]})
    one_category = pd.DataFrame({"customer_id": [f"C{i}" for i in range(200)], "timestamp": pd.Timestamp("2026-01-01"),
                                 "label": ["Books", need_text.NO_NEED] * 100})
    cases = [(None, None), (inter.drop(columns="note"), None), (inter, None),
             (inter.assign(topic=need_text.QUESTION_TOPIC), one_category)]
    texts = in_language(ZH, lambda: [need_text.skip_reason(i, lab) for i, lab in cases])
    assert english_left(texts, allowed=DATA_WORDS) == set()
    assert texts[0] == "本数据没有互动记录：跳过文本部分。"
    assert texts[2].startswith("没有主题为“product_question”的备注（此处的主题：billing）")
    assert texts[3].startswith("只有 200 条备注能从数据中得到标签（至少需要 100 条")
    assert need_text.skip_reason(None, None) == "No interaction log in this data: the text section is skipped."
