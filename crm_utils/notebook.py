"""What every notebook does first: the shared look, the run folder, and reading and writing its
artifacts, so that a notebook's setup cell is two lines and the same in every notebook.

>>> nb = notebook.start("02_customer_overview", report_month, run_dir)
>>> orders = nb.read("orders", columns=features.ORDER_COLUMNS)
>>> customers = nb.read("customers", optional=True)   # None when the data have no customers table
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_utils import artifacts, charts, i18n
from crm_utils.config import month_end, parse_month, resolve_run_dir


@dataclass
class NotebookRun:
    """One notebook's view of its run: the month, the run folder and its artifacts."""

    name: str
    report_month: str
    path: Path
    last_month: artifacts.LastMonth = field(init=False)

    def __post_init__(self) -> None:
        self.last_month = artifacts.LastMonth(self.path, self.report_month)

    @property
    def cutoff(self) -> pd.Timestamp:
        """The last instant of the report month: nothing dated later is known."""
        return month_end(self.report_month)

    @property
    def data_end(self) -> pd.Timestamp:
        """The last day the data cover (notebook 01's ``data_end``): the cutoff's day unless the
        data stop inside the month (:func:`crm_utils.coverage.data_end`)."""
        figures = artifacts.collect_metrics(self.path).get("01_data_cleaning", {})
        end = figures.get("data_end")
        return pd.Timestamp(end) if end else self.cutoff.normalize()

    @property
    def partial(self) -> bool:
        """Whether the data stop before the month's end (a run with ``--allow-partial``)."""
        return self.data_end < self.cutoff.normalize()

    def partial_note(self) -> str:
        """'Partial month: data to 2011-12-09; ...' for every section of a partial month; '' for a whole one."""
        return partial_month_note(self.data_end, self.cutoff) if self.partial else ""

    def has(self, name: str) -> bool:
        return artifacts.has_table(self.path, name)

    def read(self, name: str, columns: list[str] | None = None, *, optional: bool = False) -> pd.DataFrame | None:
        """An artifact an earlier notebook wrote; with ``optional``, None when the run has none
        (a table the data did not have, or a notebook that did not run)."""
        if optional and not self.has(name):
            return None
        return artifacts.read_table(self.path, name, columns)

    def write(self, name: str, frame: pd.DataFrame) -> Path:
        return artifacts.write_table(self.path, name, frame)

    def write_csv(self, name: str, frame: pd.DataFrame) -> Path:
        """``artifacts/<name>.csv`` for people to open in a spreadsheet, and the same table beside it
        as ``<name>.xlsx`` (no cell of either runs as a formula: ``safe``). A table too long for an
        Excel sheet gets the CSV only, and the notebook says so."""
        from crm_utils import safe

        path = artifacts.write_csv(self.path, name, frame)
        try:
            safe.excel_file(frame, path.with_suffix(".xlsx"), sheet=name[:31])  # Excel's longest sheet name
        except ValueError as exc:
            path.with_suffix(".xlsx").unlink(missing_ok=True)  # never a stale workbook beside a new CSV
            say(f"{name}.xlsx is not written: {exc}; {name}.csv holds the whole table.")
        return path

    def artifact_names(self) -> list[str]:
        """The files in the run's artifacts folder so far, sorted."""
        folder = artifacts.artifacts_dir(self.path)
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def record(self, figures: dict) -> dict:
        """Store this notebook's headline figures for metrics.json, and return them."""
        artifacts.record_metrics(self.path, self.name, figures)
        return figures


def start(name: str, report_month: str, run_dir: str = "", *, max_colwidth: int | None = None,
          language: str | None = None) -> NotebookRun:
    """Set up a notebook: check the month, set the language (``language``, else the run's, else
    English; :mod:`crm_utils.i18n`), apply the charts' look with fonts for that language, resolve
    the run folder."""
    parse_month(report_month)
    path = resolve_run_dir(run_dir, report_month)
    i18n.set_language(language or run_language(path))
    charts.use_style()
    say(charts.font_problem(i18n.current()))  # the fix, when no font draws the language's characters
    if max_colwidth:
        pd.set_option("display.max_colwidth", max_colwidth)
    return NotebookRun(name, report_month, path)


def run_language(run_dir: Path) -> str | None:
    """The language ``crm-report run --language`` recorded in run.json, for a notebook that does
    not declare the parameter; None outside a scheduled run."""
    import json

    record = Path(run_dir) / "run.json"
    return json.loads(record.read_text()).get("language") if record.exists() else None


def partial_month_note(data_end: pd.Timestamp | str, cutoff: pd.Timestamp | str) -> str:
    """The one sentence every section of a partial month opens with (notebooks and the report):
    how far the data reach, and that only the KPI comparisons are made on the same days."""
    end, cut = pd.Timestamp(data_end), pd.Timestamp(cutoff)
    if end.normalize() >= cut.normalize():
        return ""
    return i18n._("Partial month: data to {end}. The KPI comparisons use the same days (1 to {day}) of the months "
                  "compared; every other figure here uses the data as they are, so read it as part of a month."
                  ).format(end=date(end), day=end.day)


def say(text: str) -> None:
    """Print a sentence when there is one: steps return "" when all went as planned, and say why
    otherwise (too little history, no notes, ...), so the cell needs no branch of its own."""
    if text:
        print(text)


def show(value: pd.DataFrame | pd.Series | dict | None, decimals: int | None = None, otherwise: str = "") -> None:
    """Display a table (a dict of figures as a Series), rounded to ``decimals``; a step that had
    nothing to show returns None, and then ``otherwise`` is printed instead, when given."""
    if value is None:
        say(otherwise)
        return
    from IPython.display import display

    value = pd.Series(value) if isinstance(value, dict) else value
    display(value.round(decimals) if decimals is not None else value)


def present(items: list) -> None:
    """Say each sentence and show each table of a step's report, in order."""
    for item in items:
        if isinstance(item, str):
            say(item)
        else:
            show(item)


# ------------------------------------------------------------------------------------------
# Numbers as a reader sees them: one place formats them, so no table or sentence prints "-0.0%"
# ------------------------------------------------------------------------------------------

#: What a table shows for a value that is missing (pandas would print <NA> or nan).
MISSING = "–"


def _unsigned_zero(text: str) -> str:
    """'-0.0%' -> '0.0%', '+0' -> '0': a value that rounds to zero has no sign (a tiny negative
    return rate is not a negative one)."""
    body = text.lstrip("+-")
    return body if not any(ch in "123456789" for ch in body) else text


def _pattern(decimals: int, signed: bool, suffix: str = "") -> str:
    """A CLDR number pattern: grouped, ``decimals`` places, '+' on positives when ``signed``."""
    body = "#,##0" + ("." + "0" * decimals if decimals > 0 else "") + suffix
    return f"+{body};-{body}" if signed else body


@functools.lru_cache(maxsize=None)
def _parsed(pattern: str):
    """The parsed pattern, once: tables format thousands of cells with a handful of patterns."""
    from babel.numbers import parse_pattern

    return parse_pattern(pattern)


def number(value: object, decimals: int = 0, *, signed: bool = False) -> str:
    """A number with the language's separators ('1,234', with ``signed`` '+1,234'; Babel, for the
    current language's locale); missing as :data:`MISSING`; a value that rounds to zero prints
    '0', never '-0' or '+0'."""
    if value is None or pd.isna(value):
        return MISSING
    return _unsigned_zero(_parsed(_pattern(decimals, signed)).apply(float(value), i18n.locale()))


def percent(value: object, decimals: int = 1, *, signed: bool = False) -> str:
    """A share or change in percent ('3.1%', with ``signed`` '+3.1%'; Babel, for the current
    language's locale); missing as :data:`MISSING`; a value that rounds to zero prints '0.0%',
    never '-0.0%' or '+0.0%'."""
    if value is None or pd.isna(value):
        return MISSING
    return _unsigned_zero(_parsed(_pattern(decimals, signed, "%")).apply(float(value), i18n.locale()))


def money(value: object, currency: str | None, decimals: int = 0) -> str:
    """An amount with its currency ('1,234 GBP'; Babel, for the current language's locale), or
    the bare number when the data declare no currency: never a currency the data did not state.
    ISO codes, not symbols: '$' would also start maths in a Jupyter page."""
    from babel.numbers import format_currency

    text = number(value, decimals)
    if not currency or text == MISSING:
        return text
    amount = format_currency(float(value), currency, format=_pattern(decimals, False) + "\xa0¤¤",
                             locale=i18n.locale(), currency_digits=False)
    return _unsigned_zero(amount.replace("\xa0", " "))


#: How dates are written per language; a language not listed gets Babel's long date of its
#: locale ('2026年10月9日'). English keeps ISO dates, the kit's convention since its first report.
DATE_FORMATS = {"en": "yyyy-MM-dd"}


def date(value: object) -> str:
    """A day as the current language writes it ('2026-10-09'; '2026年10月9日'), through Babel."""
    from babel.dates import format_date

    if value is None or pd.isna(value):
        return MISSING
    return format_date(pd.Timestamp(value).date(), DATE_FORMATS.get(i18n.current(), "long"), locale=i18n.locale())


def money_label(what: str, currency: str | None, scale: str = "") -> str:
    """An axis or column label for amounts: 'revenue (thousand GBP)', or 'revenue (thousands)'
    when no currency is declared; without a scale 'cost (GBP)' or just 'cost'. ``what`` and
    ``scale`` are translated (mark them with ``N_`` at the caller)."""
    what, _ = i18n._(what), i18n._
    if scale:
        return (_("{what} ({scale} {currency})").format(what=what, scale=_(scale), currency=currency) if currency
                else _("{what} ({scale}s)").format(what=what, scale=_(scale)))
    return _("{what} ({currency})").format(what=what, currency=currency) if currency else what


def table(frame: pd.DataFrame, headers: dict[str, str] | None = None, *, money_columns: tuple[str, ...] = (),
          percent_columns: tuple[str, ...] = (), decimals: dict[str, int] | None = None,
          currency: str | None = None, index: bool = False):
    """A table for the reader: readable headers (``headers`` maps column names to them), no
    positional index unless ``index`` (a meaningful one, such as segment names), missing values
    as :data:`MISSING`, money labelled with its currency in the header, shares in percent.
    Headers are shown in the current language when the catalogue has them (:mod:`crm_utils.i18n`).
    Text from the data is escaped (``safe.styler``)."""
    from crm_utils import safe

    headers = {col: i18n._(headers.get(col, col) if headers else col) for col in frame.columns}  # catalogue's words
    decimals = dict(decimals or {})
    formats: dict[str, object] = {}
    for col in frame.columns:
        if col in money_columns:
            headers[col] = money_label(headers[col], currency)
            formats[col] = lambda v, d=decimals.get(col, 0): number(v, d)
        elif col in percent_columns:
            formats[col] = lambda v, d=decimals.get(col, 1): percent(v, d)
        elif pd.api.types.is_numeric_dtype(frame[col]) and not pd.api.types.is_bool_dtype(frame[col]):
            formats[col] = lambda v, d=decimals.get(col, 0): number(v, d)
        else:
            formats[col] = lambda v: MISSING if v is None or v is pd.NA or (isinstance(v, float) and pd.isna(v)) else v
    shown = frame.rename(columns=headers)
    formats = {headers.get(c, c): f for c, f in formats.items()}
    return safe.styler(shown, formats, hide_index=not index)


def whole_numbers(minimum: int = 1, **values: object) -> None:
    """Refuse a parameter that is not a whole number of at least ``minimum``, naming it: papermill
    passes what the command line gave (papermill #345), and a float or text would fail much later."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"parameter {name} must be a whole number of at least {minimum}, got {value!r}")
