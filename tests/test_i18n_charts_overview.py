"""Every chart of the cleaning, overview, segmentation, need-prediction and demand notebooks in
Chinese: no English word of the kit left, no glyph missing, and the same charts unchanged in English.

Each public plot function of ``crm_utils.data.plots``, ``crm_utils.customers.plots``,
``crm_utils.needs.plots``, ``crm_utils.demand.plots`` and ``crm_utils.report.plots`` is drawn on
small hand-made inputs that reach each branch with text of its own (the 'nothing to draw' charts,
sampled points, a test with and without a p-value, a chosen model...). The only Latin words
allowed in the Chinese charts are the names the fixtures give their own things (:data:`DATA_WORDS`).
"""

from __future__ import annotations

import re

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from crm_utils import charts, i18n
from crm_utils.customers import plots as customer_plots
from crm_utils.data import plots as data_plots
from crm_utils.demand import plots as demand_plots
from crm_utils.needs import plots as need_plots
from crm_utils.needs.propensity import calibration_table, gains_table
from crm_utils.notebook import money_label
from crm_utils.report import plots as report_plots
from tests.i18n_words import english_left, figure_texts

#: The names the fixtures below give their own things (categories, regions, segments, a mapping
#: file's own quarantine reason, a table the contract does not name): data, shown as written.
DATA_WORDS = {"Tents", "Stoves", "North", "South", "Web", "Shop", "Loyal", "Lapsed", "odd", "sku", "returns_log"}


#: Resolution the test draws at: every text is laid out (and a missing glyph found) at any; fewer pixels, less time.
DPI = 30


@pytest.fixture(autouse=True)
def english_afterwards():
    """The notebooks' look (its CJK font fallback); every test leaves the process in English, as the
    other tests expect."""
    charts.use_style()
    plt.rcParams["figure.dpi"] = DPI
    yield
    i18n.set_language(i18n.SOURCE_LANGUAGE)


#: matplotlib's own markup of a log axis' tick labels ('$\\mathdefault{10^{2}}$', '$\\times$'): numbers, not words.
TICK_MARKUP = re.compile(r"\\mathdefault|\\times")


def drawn(language: str, draw) -> list[str]:
    """The texts of the figure(s) ``draw()`` returns in ``language`` (a list of figures or one), alt
    text included, log ticks' markup left out."""
    i18n.set_language(language)
    try:
        figs = draw()
        texts = [t for fig in (figs if isinstance(figs, list) else [figs]) for t in figure_texts(fig)]
    finally:
        i18n.set_language(i18n.SOURCE_LANGUAGE)
    return [TICK_MARKUP.sub(" ", t) for t in texts]


def both(draw) -> tuple[str, str]:
    """The figure texts of ``draw`` in English and in Chinese, each joined into one string; the Chinese
    ones hold no English word but the fixtures' own."""
    en = drawn("en", draw)
    zh = drawn("zh-CN", draw)
    assert english_left(zh, allowed=DATA_WORDS) == set(), zh
    return "\n".join(en), "\n".join(zh)


# ------------------------------------------------------------------------------------------
# Notebook 01: cleaning
# ------------------------------------------------------------------------------------------

def cleaning_inputs():
    ledger = pd.DataFrame({"table": ["orders", "customers", "returns_log"], "rows_in": [1000, 200, 50],
                           "merged": [5, 2, 0], "held_back": [10, 0, 0], "quarantined": [7, 1, 3]})
    by_reason = pd.DataFrame({"table": ["orders", "orders", "customers", "returns_log"],
                              "reason": ["invalid_price", "odd_sku", "test_account", "unparseable_date"],
                              "rows": [5, 2, 1, 3]})
    rng = np.random.default_rng(0)
    orders = pd.DataFrame({"category": ["Tents"] * 30 + ["Stoves"] * 30,
                           "quantity": np.r_[rng.integers(1, 4, 27), [300, 400, 500], rng.integers(1, 3, 30)],
                           "order_date": pd.date_range("2026-01-01", periods=60, freq="5D")})
    orders["is_outlier"] = orders["quantity"] > 100
    fences = pd.DataFrame({"category": ["Stoves", "Tents"], "fence_units": [20.0, 30.0]})
    return ledger, by_reason, orders, fences


def test_cleaning_charts_in_chinese_and_unchanged_in_english(monkeypatch):
    ledger, by_reason, orders, fences = cleaning_inputs()
    en, zh = both(lambda: [data_plots.ledger_chart(ledger, by_reason), data_plots.outlier_chart(orders, fences),
                           data_plots.monthly_rows_chart(orders)])
    assert "Rows not kept, by what happened to them" in en and "orders: invalid price" in en
    assert "held back" in en and "orders: odd sku" in en and "returns_log: unparseable date" in en
    assert "未保留的行，按其去向" in zh and "价格无效" in zh and "已隔离" in zh and "暂缓处理" in zh
    # A mapping file's own reason stays the user's word.
    assert "订单：价格无效" in zh and "客户：测试账户" in zh and "订单：odd sku" in zh
    assert "每月保留的订单行" in zh and "异常值界限" in zh and "Tents" in zh
    # Every category's points sampled: the legend says how many.
    monkeypatch.setattr(data_plots, "MAX_FLAGGED_POINTS", 2)
    en, zh = both(lambda: data_plots.outlier_chart(orders, fences))
    assert "flagged (sample of 2 per category)" in en and "已标记（每个品类抽样 2 条）" in zh
    # Nothing left to draw: the charts say so, in the reader's language.
    none = orders.iloc[:0]
    en, zh = both(lambda: [data_plots.ledger_chart(ledger.iloc[:0], by_reason.iloc[:0]),
                           data_plots.outlier_chart(none, fences), data_plots.monthly_rows_chart(none)])
    assert "No rows were read: nothing to draw." in en
    assert "No order lines are left after cleaning: nothing to draw." in en
    assert "未读取到任何行：无可绘制内容。" in zh and "清洗后没有剩余的订单行：无可绘制内容。" in zh


# ------------------------------------------------------------------------------------------
# Notebooks 02 and 03: overview and segmentation
# ------------------------------------------------------------------------------------------

def group_table(names: list[str]) -> pd.DataFrame:
    mean = np.linspace(300, 100, len(names))
    return pd.DataFrame({"customers": [120, 80, 25][:len(names)], "mean": mean, "ci_low": mean - 20,
                         "ci_high": mean + 20}, index=pd.Index(names))


def test_overview_charts_in_chinese_and_unchanged_in_english():
    series = pd.DataFrame({"revenue": [12000.0, 15000.0, 9000.0], "active_customers": [30, 41, 25]},
                          index=pd.period_range("2026-08", periods=3, freq="M"))
    tables = {"region": group_table(["North", "South", "unknown"]), "age_band": group_table(["18-24", "65+"]),
              "channel": group_table(["Web", "Shop"])}
    tests = {"region": {"p_value": 0.001}, "age_band": {"p_value": 0.4}, "channel": {"p_value": np.nan}}
    cols = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_rate", "price_index",
            "interactions"]
    rng = np.random.default_rng(1)
    corr = pd.DataFrame(rng.normal(size=(40, len(cols))), columns=cols).corr(method="spearman")
    retention = pd.DataFrame([[1.0, 0.3, 0.2], [1.0, 0.25, np.nan]], index=["2026-07", "2026-08"], columns=[0, 1, 2])
    sizes = pd.Series({"2026-07": 1200, "2026-08": 950})

    def draw():
        return [customer_plots.monthly_trend(series, "2026-09", "EUR"),
                customer_plots.group_means(tables, tests, money_label(customer_plots.SPEND_12M, "EUR")),
                customer_plots.correlation_heatmap(corr), customer_plots.retention_heatmap(retention, sizes)]

    en, zh = both(draw)
    assert "by region: differences beyond noise (p = 0.001)" in en and "by age band: no difference beyond noise" in en
    assert "12-month spend (EUR) per customer, by group" in en and "avg order value" in en and "1,200" in en
    assert "by channel: too few customers in all but one group to test" in en
    assert "按地区：差异超出随机波动（p = 0.001）" in zh and "按年龄段：差异未超出随机波动（p = 0.4）" in zh
    assert "每位客户的近 12 个月消费额（EUR），按分组" in zh and "平均订单金额" in zh and "斯皮尔曼等级相关系数" in zh
    assert "按渠道：除一组外其余各组客户过少，无法检验" in zh
    assert "同期群留存：各同期群在 N 个月后再次购买的比例（%）" in zh and "2026-07 (n=1,200)" in zh


def test_segmentation_charts_in_chinese_and_unchanged_in_english(monkeypatch):
    rng = np.random.default_rng(2)
    k_table = pd.DataFrame({"k": [2, 3, 4, 5], "silhouette": [0.31, 0.35, 0.28, 0.25],
                            "inertia": [900.0, 700.0, 620.0, 580.0]})
    coords = rng.normal(size=(60, 2))
    labels = np.repeat([0, 1], 30)
    names = pd.Series({0: "Loyal", 1: "Lapsed"}, name="segment_name")
    design = ["log_recency_days", "log_orders_per_month", "log_avg_order_value", "price_index", "return_rate_shrunk",
              "log_contacts_per_month", "sqrt_cat_Tents", "sqrt_cat_Stoves"]
    centroids = pd.DataFrame(rng.normal(size=(2, len(design))), columns=design, index=["Loyal", "Lapsed"])
    profile = pd.DataFrame({"segment_name": ["Loyal", "Lapsed"], "customers": [300, 200], "frequency": [6.0, 1.0],
                            "monetary": [900.0, 80.0], "recency_days": [20.0, 300.0]})
    matrix = pd.DataFrame([[50, 5], [10, 40]], index=["Loyal", "Lapsed"], columns=["Loyal", "Lapsed"])
    spend = pd.Series(rng.lognormal(5, 1, 200))

    def draw():
        return [customer_plots.k_selection(k_table, 3, 3),
                customer_plots.pca_scatter(coords, labels, names, np.array([0.42, 0.21])),
                customer_plots.centroid_heatmap(centroids), customer_plots.profile_bars(profile, "EUR"),
                customer_plots.kdistance(np.sort(rng.random(60)), 0.61, 5),
                customer_plots.migration_heatmap(matrix), customer_plots.skew_before_after(spend, "EUR")]

    en, zh = both(draw)
    assert "chosen k = 3" in en and "PC 1 (42% of variance)" in en and "mix: Tents" in en and "recency days" in en
    assert "Segments on the first two principal components (60 customers)" in en and "eps = 0.61" in en
    assert "median net spend (EUR)" in en and "log(1 + net spend)" in en
    assert "主成分 1（解释 42% 的方差）" in zh and "品类构成：Tents" in zh and "距上次购买天数" in zh
    assert "前两个主成分上的分群（60 位客户）" in zh and "ε = 0.61" in zh and "ln(1 + 净消费额)" in zh
    monkeypatch.setattr(customer_plots, "MAX_POINTS", 20)  # a sample of the customers: the title says so
    en, zh = both(lambda: customer_plots.pca_scatter(coords, labels, names, np.array([0.42, 0.21])))
    assert "(20 of 60 customers)" in en and "（60 位客户中的 20 位）" in zh


# ------------------------------------------------------------------------------------------
# Notebook 05: need prediction
# ------------------------------------------------------------------------------------------

def test_need_prediction_charts_in_chinese_and_unchanged_in_english():
    rng = np.random.default_rng(3)
    cut = pd.Timestamp("2026-06-30")
    plan = pd.DataFrame({"role": ["training (model choice)", "validation", "test", "training (final model)",
                                  "training (final purchase model)", "scoring"],
                         "cutoff": [cut - pd.Timedelta(days=d) for d in (150, 90, 60, 60, 30, 0)]})
    plan["label_window_end"] = plan["cutoff"] + pd.Timedelta(days=30)
    plan.loc[plan["role"] == "scoring", "label_window_end"] = pd.NaT
    models = ["gradient boosting", "logistic regression", "random forest", "recency rule", "frequency rule", "BG/NBD"]
    comparison = pd.DataFrame({"kind": ["candidate"] * 3 + ["baseline"] * 3,
                               "selected": [True, False, False, False, False, False],
                               "validation_roc_auc": [0.80, 0.78, 0.79, 0.70, 0.72, 0.74],
                               "test_roc_auc": [0.79, 0.77, 0.78, 0.69, 0.71, 0.73],
                               "validation_pr_auc": [0.40, 0.38, 0.39, 0.30, 0.31, 0.33],
                               "test_pr_auc": [0.41, 0.37, 0.38, 0.29, 0.30, 0.32]}, index=models)
    y = rng.random(400) < 0.2
    scores = {m: y * rng.random(400) + rng.random(400) for m in models}
    chosen = "gradient boosting"
    gains = {m: gains_table(y, s) for m, s in scores.items()}
    calibration = {"raw": calibration_table(y, scores[chosen] / 2), "calibrated": calibration_table(y, 0.2 + 0 * y)}
    drivers = pd.DataFrame({"feature": ["recency_days", "cat_Tents", "bgnbd_p_alive", "frequency"],
                            "auc_drop": [0.05, 0.02, 0.01, 0.004], "std": [0.01, 0.005, 0.003, 0.002]})
    gaps = pd.DataFrame({"kind": ["product question"] * 50 + ["other topics"] * 1500,
                         "days": np.r_[rng.exponential(10, 50), rng.exponential(40, 1500)]})
    cm = pd.DataFrame([[0.8, 0.2], [0.3, 0.7]], index=["Tents", "Stoves"], columns=["Tents", "Stoves"])
    accuracy = pd.DataFrame({"test_top1": [0.41, 0.35], "test_top3": [0.72, 0.66]},
                            index=pd.Index(["model", "most frequent past category"], name="method"))
    monitor = gains_table(y, scores[chosen])

    def draw():
        return [need_plots.cutoff_timeline(plan), need_plots.model_comparison(comparison),
                need_plots.roc_pr_curves(y, scores, chosen), need_plots.gains_chart(gains, chosen),
                need_plots.calibration_chart(calibration), need_plots.drivers_chart(drivers),
                need_plots.question_gap_chart(gaps, 30), need_plots.confusion_heatmap(cm),
                need_plots.next_category_chart(accuracy),
                need_plots.monitoring_chart(monitor, {"base_rate": float(y.mean())}, cut)]

    en, zh = both(draw)
    assert "gradient boosting (chosen)" in en and "training (model choice)  2026-01-31" in en
    assert "other topics (1,500 notes)" in en and "recency_days" in en and "cat_Tents" in en
    assert "How last month's scores (made on 2026-06-30) turned out" in en and "label window: 30 days" in en
    assert "梯度提升（已选）" in zh and "训练（模型选择）  2026年1月31日" in zh and "其他主题（1,500 条备注）" in zh
    assert "上月评分（2026年6月30日 生成）的实际结果" in zh and "品类占比：Tents" in zh and "前三命中" in zh
    assert need_plots.drivers_chart(None) is None  # a step the data could not support draws nothing


# ------------------------------------------------------------------------------------------
# Notebook 08: demand forecasting, and the report's forecast charts
# ------------------------------------------------------------------------------------------

def demand_inputs():
    ds = pd.date_range("2024-01-07", periods=120, freq="W-SUN")
    t = np.arange(len(ds))
    frame = pd.concat([pd.DataFrame({"series": name, "level": level, "ds": ds, "y": base + 10 * np.sin(t / 8)})
                       for name, level, base in (("total", "total", 200.0), ("category=Tents", "category", 120.0),
                                                 ("category=Stoves", "category", 80.0))], ignore_index=True)
    parts = pd.DataFrame({"ds": ds, "y": 200 + 10 * np.sin(t / 8), "fitted": 200 + 9 * np.sin(t / 8),
                          "trend": 200 + 0.1 * t, "yearly": 0.05 * np.sin(t / 8), "events": 0.02 * (t % 13 == 0),
                          "holidays": 0.01 * (t % 26 == 0), "residual": 0.01 * np.cos(t)})
    changepoints = pd.DataFrame({"ds": ds[[30, 60, 90]], "growth_change_pct_per_year": [0.5, 3.0, -2.0]})
    grid = pd.DataFrame({"level": ["total", "category", "total", "category", "all"],
                         "changepoint_prior_scale": [0.05, 0.05, 0.5, 0.5, 0.05],
                         "seasonality_prior_scale": [10.0, 10.0, 10.0, 10.0, 10.0],
                         "mean_mase": [0.7, 0.8, 0.75, 0.9, 0.8]})
    models = ["seasonal_naive", "moving_average", "ets", "prophet"]
    names = ["total", "category=Tents", "category=Stoves"]
    rows = pd.DataFrame([{"series": s, "model": m, "mase": 0.5 + 0.1 * i + 0.05 * j, "coverage": 0.7 + 0.02 * i,
                          "coverage_calibrated": 0.78 + 0.01 * i} for j, s in enumerate(names)
                         for i, m in enumerate(models)])
    winners = pd.DataFrame({"series": names, "model": ["seasonal_naive", "prophet", "ets"],
                            "level": ["total", "category", "category"]})
    cutoffs = [ds[80], ds[100]]
    predictions = pd.concat([pd.DataFrame({"series": "total", "model": "prophet", "cutoff": c,
                                           "ds": ds[(ds > c)][:13]}) for c in cutoffs], ignore_index=True)
    actual = frame[frame["series"] == "total"].set_index("ds")["y"]
    predictions["y"] = actual.reindex(predictions["ds"]).to_numpy()
    predictions["yhat"] = predictions["y"] * 1.02
    predictions["yhat_lower"] = predictions["yhat"] - 5
    predictions["yhat_upper"] = predictions["yhat"] + 5
    calibrated = predictions.assign(yhat_lower=predictions["yhat"] - 9, yhat_upper=predictions["yhat"] + 9)
    future = pd.date_range(ds[-1] + pd.Timedelta(weeks=1), periods=13, freq="W-SUN")
    forecast = pd.concat([pd.DataFrame({"series": s, "model": m, "measure": "units", "ds": future, "yhat": 100.0,
                                        "yhat_lower": 90.0, "yhat_upper": 110.0})
                          for s, m in zip(names, ["seasonal_naive", "prophet", "ets"])], ignore_index=True)
    check = pd.DataFrame({"series": ["total"] * 3 + ["category=Tents"] * 3, "ds": list(future[:3]) * 2,
                          "yhat": 100.0, "yhat_lower": 90.0, "yhat_upper": 110.0, "actual": [95.0, 104.0, 120.0] * 2})
    return frame, parts, changepoints, grid, rows, winners, predictions, calibrated, forecast, check, names


def test_demand_charts_in_chinese_and_unchanged_in_english():
    frame, parts, changepoints, grid, rows, winners, predictions, calibrated, forecast, check, names = demand_inputs()
    history = frame[frame["series"] == "total"]
    unit = demand_plots.per_unit("week")

    def draw():
        return [demand_plots.demand_chart(frame, names, unit=unit),
                demand_plots.components_chart(parts, changepoints, unit=unit),
                demand_plots.grid_chart(grid), demand_plots.mase_chart(rows, winners, names),
                demand_plots.wins_chart(winners),
                demand_plots.backtest_chart(predictions, history, "total", "prophet", calibrated, unit=unit),
                demand_plots.coverage_chart(rows), demand_plots.forecast_chart(frame, forecast, names, unit=unit),
                report_plots.forecast_overview(frame, forecast), report_plots.forecast_check_chart(check)]

    en, zh = both(draw)
    assert "units per week" in en and "g(t): trend; dotted: changepoints where growth moved by 1%/year or more " \
                                      "(2 of 3 candidates)" in en
    assert "cps 0.05, sps 10" in en and "seasonal_naive" in en and "moving average" in en and "target 80%" in en
    assert "total: rolling-origin backtest of prophet (dotted lines: cutoffs)" in en and "Tents (prophet)" in en
    assert "每周销量（件）" in zh and "（3 个候选中的 2 个）" in zh and "变点 0.05，季节 10" in zh
    assert "季节性朴素法" in zh and "指数平滑" in zh and "目标 80%" in zh and "品类×地区" not in zh
    assert "合计：Prophet 的滚动起点回测（虚线：截止日）" in zh and "Tents（Prophet）" in zh
    assert demand_plots.per_unit("day") == "units per day"
    for chart in (demand_plots.grid_chart, demand_plots.mase_chart, demand_plots.wins_chart,
                  demand_plots.coverage_chart):
        assert chart(None) is None
