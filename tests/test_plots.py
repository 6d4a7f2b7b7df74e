"""Charts say in words what they show: the alt text the HTML report gives screen readers."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from crm_utils import charts  # noqa: E402


def test_alt_text_reads_titles_and_axes_panel_by_panel():
    charts.use_style()  # outside a notebook: the look only, nothing to describe
    fig, (left, right) = plt.subplots(1, 2)
    fig.suptitle("Demand per week")
    left.plot([1, 2], [3, 4])
    left.set(title="total", xlabel="week", ylabel="units")
    right.bar(["a"], [1])
    right.set_title("by category")
    assert charts.alt_text(fig) == "Chart: Demand per week; total – x: week, y: units; by category"
    empty, _ = plt.subplots()
    assert charts.alt_text(empty) == "Chart"
    plt.close("all")


def test_monthly_bars_are_as_wide_as_most_of_a_month_on_a_date_axis():
    """A width of 25 on a nanosecond date axis is 25 ns: notebook 01 drew a chart without bars."""
    import pandas as pd

    from crm_utils.customers import plots as customer_plots
    from crm_utils.data import plots as data_plots

    orders = pd.DataFrame({"order_date": pd.to_datetime(["2026-01-05", "2026-02-03", "2026-02-27"])})
    fig = data_plots.monthly_rows_chart(orders)
    bars = fig.axes[0].patches
    assert [b.get_width() for b in bars] == [data_plots.BAR_DAYS, data_plots.BAR_DAYS]  # days on a date axis
    assert [b.get_height() for b in bars] == [1, 2]
    series = pd.DataFrame({"revenue": [1000.0, 2000.0], "active_customers": [3, 4]},
                          index=pd.period_range("2026-01", periods=2, freq="M"))
    trend = customer_plots.monthly_trend(series, "2026-02", None)
    assert [b.get_width() for b in trend.axes[0].patches] == [25, 25]
    assert trend.axes[0].get_ylabel() == "revenue (thousands)"  # no currency declared: none shown
    assert customer_plots.monthly_trend(series, "2026-02", "GBP").axes[0].get_ylabel() == "revenue (thousand GBP)"
    plt.close("all")
