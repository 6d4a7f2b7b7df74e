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
