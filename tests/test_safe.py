"""Text from the data on its way out: CSV for spreadsheets, HTML, Markdown and chart labels."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pandas as pd  # noqa: E402

from crm_utils import artifacts, safe  # noqa: E402
from crm_utils.data import plots  # noqa: E402


def test_csv_export_defuses_formulas_and_markup_is_escaped(tmp_path):
    frame = pd.DataFrame({"name": ["=cmd|' /C calc'!A0", "+SUM(1)", "-2", "@A1", "\tx", "plain", None],
                          "amount": [-1.5, 2, 3, 4, 5, 6, 7]})
    path = artifacts.write_csv(tmp_path, "export", frame)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM, so spreadsheets read UTF-8
    back = pd.read_csv(path, encoding="utf-8-sig", keep_default_na=False)
    assert list(back["name"]) == ["'=cmd|' /C calc'!A0", "'+SUM(1)", "'-2", "'@A1", "'\tx", "plain", ""]
    assert list(back["amount"]) == [-1.5, 2, 3, 4, 5, 6, 7]  # numbers are numbers, untouched
    assert safe.html("<b onclick='x'>&") == "&lt;b onclick=&#x27;x&#x27;&gt;&amp;"
    assert safe.markdown("[click](javascript:alert(1)) <script> $x$\n# title") == \
        r"\[click\]\(javascript:alert\(1\)\) &lt;script&gt; \$x\$ \# title"


def test_dollar_signs_in_category_names_do_not_break_the_outlier_chart(tmp_path):
    cats = ["Gift cards $10-$50", r"Odd $\undefinedcmd$ name", "Books"]
    orders = pd.DataFrame({"category": pd.Categorical(cats * 20), "quantity": [1.0, 2.0, 3.0] * 20,
                           "is_outlier": False})
    fences = pd.DataFrame({"category": cats, "lines": 20, "flagged": 0, "fence_units": 8.0, "max_units": 3.0})
    fig = plots.outlier_chart(orders, fences)
    fig.savefig(tmp_path / "chart.png")  # an unknown command between dollars raised here before
    labels = [t.get_text() for t in fig.axes[0].get_xticklabels()]
    assert labels == [safe.chart_text(c) for c in sorted(cats)] and labels[1] == r"Gift cards \$10-\$50"


def test_a_styled_table_escapes_every_text_from_the_data():
    """pandas' Styler writes cells and labels into HTML as they are; safe.styler escapes cells, row and
    column labels and both axis names, and keeps the formats it is given."""
    bad = "<img src=x onerror=alert(1)>"
    frame = pd.DataFrame({f"col{bad}": [bad, "Home & Kitchen"], "units": [1234.5, 2.0],
                          "kind": pd.Categorical([bad, "b"])}, index=pd.Index([f"row{bad}", "b"], name=f"idx{bad}"))
    frame.columns.name = f"cols{bad}"
    assert "<img" in frame.style.to_html()  # what the plain Styler does with it
    for styled in (safe.styler(frame, {"units": "{:,.0f}"}), safe.styler(frame, hide_index=True)):
        out = styled.to_html()
        assert "<img" not in out and "onerror=alert(1)&gt;" in out
    out = safe.styler(frame, {"units": "{:,.0f}"}).to_html()
    assert out.count("&lt;img src=x onerror=alert(1)&gt;") == 6  # 2 cells, 2 labels, 2 axis names
    assert "idx&lt;img" in out and "cols&lt;img" in out and "Home &amp; Kitchen" in out and ">1,234<" in out
    # Text without markup comes out as the plain Styler writes it: the report's look does not change.
    plain = pd.DataFrame({"reason": ["invalid_price"], "value": [0.123456], "n": [3]})
    ours, theirs = safe.styler(plain, {"value": "{:.3g}"}, hide_index=True), plain.style.hide(axis="index")
    theirs = theirs.format({"value": "{:.3g}"})
    ours.set_uuid("t"), theirs.set_uuid("t")
    assert ours.to_html() == theirs.to_html()
