"""Data text on its way out: into CSV files people open in a spreadsheet, into HTML and Markdown.

Values in the data come from outside (a product name, a survey comment, a column header) and
may be crafted. A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (``=cmd|' /C calc'!A0``); a browser runs ``<script>`` in HTML; Markdown turns
``[x](javascript:...)`` into a link and ``$...$`` into maths. These helpers neutralise such text
where it leaves the kit. pandas already escapes the cells of a displayed DataFrame, but not
those of a ``Styler`` (``frame.style``), which writes cells and labels into HTML as they are: a
table from the data is styled through :func:`styler`, never ``frame.style``. Text put into
``Markdown(...)`` or ``HTML(...)`` by a notebook must go through :func:`markdown` or
:func:`html` first, and labels taken from the data into a chart through :func:`chart_text`
(matplotlib reads ``$...$`` as maths: 'Gift cards $10-$50' comes out garbled, and an unknown
command between dollars stops the chart with an error).
"""

from __future__ import annotations

import html as _html
import re
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:  # the Styler needs jinja2, imported only when a table is styled
    from pandas.io.formats.style import Styler

TEXT = pd.StringDtype("pyarrow")

#: First characters that make a spreadsheet read a cell as a formula (OWASP "CSV injection"):
#: the four of the formula syntax, and tab / carriage return, which some programs skip first.
FORMULA_START = "=+-@\t\r"
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|$~<>&])")


def csv_text(values: pd.Series) -> pd.Series:
    """Text values with a leading quote where they would start a formula ('=1+1' -> "'=1+1").

    A spreadsheet shows the quote-prefixed value as the text it was; missing stays missing.
    Numbers belong in numeric columns, which are not touched: a text cell '-5' is quoted too.
    """
    text = values.astype(TEXT)
    risky = text.str[:1].isin(list(FORMULA_START)).fillna(False).astype(bool)
    return text.mask(risky, "'" + text)


def csv_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text columns and column names are safe to open in a spreadsheet."""
    out = frame.copy()
    for col in out.columns:
        s = out[col]
        if s.dtype == object or isinstance(s.dtype, (pd.StringDtype, pd.CategoricalDtype)):
            out[col] = csv_text(s)
    out.columns = list(csv_text(pd.Series([str(c) for c in out.columns])))
    return out


def html(value: object) -> str:
    """Text for HTML: ``<``, ``>``, ``&`` and quotes escaped."""
    return _html.escape(str(value), quote=True)


def styler(frame: pd.DataFrame, formats: Mapping[str, str | Callable] | None = None, *,
           hide_index: bool = False) -> Styler:
    """``frame.style`` with every text from the data escaped for HTML: cells, row and column labels
    and the names of both axes.

    A pandas 2.x ``Styler`` writes cells and labels into HTML unescaped unless told otherwise
    (``styler.format.escape`` is off by default), and ``format_index(escape=...)`` leaves the axis
    names alone. ``formats`` maps columns to a format string or function, as ``Styler.format``
    takes them: they are applied here, in the same call that escapes, because a later
    ``.format(...)`` on the returned Styler replaces the escaping of the columns it names. A
    format function is given text cells already escaped.
    """
    data = frame.copy(deep=False)
    data.index = data.index.set_names([None if n is None else html(n) for n in data.index.names])
    data.columns = data.columns.set_names([None if n is None else html(n) for n in data.columns.names])
    out = data.style.format(dict(formats or {}), escape="html")
    out = out.format_index(escape="html", axis=0).format_index(escape="html", axis=1)
    return out.hide(axis="index") if hide_index else out


def markdown(value: object) -> str:
    """Text for a Markdown cell or ``IPython.display.Markdown``: shown literally, never as markup.

    HTML is escaped, Markdown punctuation (links, emphasis, tables, ``$`` maths) is
    backslash-escaped, and line breaks become spaces so a value cannot open a new block.
    """
    text = " ".join(str(value).split())
    return _MD_SPECIAL.sub(lambda m: {"<": "&lt;", ">": "&gt;", "&": "&amp;"}.get(m.group(1), "\\" + m.group(1)), text)


def chart_text(value: object) -> str:
    """A label from the data for a matplotlib chart: dollar signs shown as dollar signs."""
    return str(value).replace("$", r"\$")
