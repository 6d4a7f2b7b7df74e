"""Data text on its way out: into CSV files people open in a spreadsheet, into HTML and Markdown.

Values in the data come from outside (a product name, a survey comment, a column header) and
may be crafted. A spreadsheet evaluates a cell that starts with ``=``, ``+``, ``-`` or ``@``
as a formula (``=cmd|' /C calc'!A0``), in a CSV file and in an Excel file written carelessly
(openpyxl stores any text starting with ``=`` as a formula); a browser runs ``<script>`` in HTML; Markdown turns
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

import hashlib

import html as _html
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
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


#: Excel's rows per sheet, the header included: a longer table cannot be one sheet.
EXCEL_MAX_ROWS = 1_048_576


def excel_file(frame: pd.DataFrame, path: str | Path, sheet: str = "data") -> Path:
    """Write ``frame`` (index dropped) as an Excel workbook in which no cell is a formula.

    Text cells, column names included, are stored as text: openpyxl would store text starting
    with ``=`` as a formula, which Excel runs. Text starting with ``= + - @`` (or tab, carriage
    return) also gets Excel's quote prefix, so it stays text when someone edits the cell; it shows
    as it was, without the leading quote a CSV needs. Characters XML cannot hold (control
    characters) become U+FFFD. Numbers stay numbers, missing values are empty cells. A ValueError
    when the table has more rows than a sheet holds (:data:`EXCEL_MAX_ROWS`).
    """
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if len(frame) + 1 > EXCEL_MAX_ROWS:
        raise ValueError(f"{len(frame):,} rows do not fit an Excel sheet ({EXCEL_MAX_ROWS - 1:,} rows at most)")
    book = Workbook(write_only=True)
    ws = book.create_sheet(sheet)

    def cell(value: object) -> WriteOnlyCell:
        if value is None or value is pd.NA or (not isinstance(value, str) and pd.isna(value)):
            return WriteOnlyCell(ws, value=None)
        if isinstance(value, (np.datetime64, datetime)):
            value = pd.Timestamp(value).isoformat()  # as text: Excel has no time zones
        elif isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (bool, int, float)):
            return WriteOnlyCell(ws, value=value)
        text = ILLEGAL_CHARACTERS_RE.sub("\ufffd", str(value))
        out = WriteOnlyCell(ws, value=text)
        out.data_type = "s"  # text, never a formula, whatever it starts with
        if text[:1] in FORMULA_START:
            out.quotePrefix = True
        return out

    ws.append([cell(str(c)) for c in frame.columns])
    for row in frame.itertuples(index=False, name=None):
        ws.append([cell(v) for v in row])
    book.save(path)
    return Path(path)


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
    # The table's HTML id from its content, not pandas' random one: the same data give the same
    # page (a rerun of a notebook compares equal), and two different tables still differ.
    out = out.set_uuid(hashlib.sha1(frame.to_csv().encode("utf-8", "replace")).hexdigest()[:10])
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
