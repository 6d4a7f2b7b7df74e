"""What every notebook does first: the shared look, the run folder, and reading and writing its
artifacts, so that a notebook's setup cell is two lines and the same in every notebook.

>>> nb = notebook.start("02_customer_overview", report_month, run_dir)
>>> orders = nb.read("orders", columns=features.ORDER_COLUMNS)
>>> customers = nb.read("customers", optional=True)   # None when the data have no customers table
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from crm_utils import artifacts, charts
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
        return artifacts.write_csv(self.path, name, frame)

    def artifact_names(self) -> list[str]:
        """The files in the run's artifacts folder so far, sorted."""
        folder = artifacts.artifacts_dir(self.path)
        return sorted(p.name for p in folder.iterdir()) if folder.exists() else []

    def record(self, figures: dict) -> dict:
        """Store this notebook's headline figures for metrics.json, and return them."""
        artifacts.record_metrics(self.path, self.name, figures)
        return figures


def start(name: str, report_month: str, run_dir: str = "", *, max_colwidth: int | None = None) -> NotebookRun:
    """Set up a notebook: check the month, apply the charts' look, resolve the run folder."""
    parse_month(report_month)
    charts.use_style()
    if max_colwidth:
        pd.set_option("display.max_colwidth", max_colwidth)
    return NotebookRun(name, report_month, resolve_run_dir(run_dir, report_month))


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


def whole_numbers(minimum: int = 1, **values: object) -> None:
    """Refuse a parameter that is not a whole number of at least ``minimum``, naming it: papermill
    passes what the command line gave (papermill #345), and a float or text would fail much later."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ValueError(f"parameter {name} must be a whole number of at least {minimum}, got {value!r}")
