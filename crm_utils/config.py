"""Paths and defaults shared by the command line, the notebooks and the tests."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pandas as pd

#: Repository root when running from a checkout (notebooks/, data/ and reports/ live here).
PROJECT_ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS_DIR = PROJECT_ROOT / "notebooks"
DEFAULT_DATA_DIR = PROJECT_ROOT / "data" / "raw"
DEFAULT_REPORTS_DIR = PROJECT_ROOT / "reports"
#: Where a notebook opened in JupyterLab writes its artifacts when no run_dir is given,
#: so an analyst's experiments never overwrite a scheduled report.
INTERACTIVE_RUNS_DIR = DEFAULT_REPORTS_DIR / "interactive"

DEFAULT_SEED = 42
#: A report month: ASCII ``YYYY-MM`` and nothing else. ``[0-9]``, not ``\d`` (which matches
#: full-width and Arabic-Indic digits), and ``\Z``, not ``$`` (which matches before a trailing
#: newline): '2026-10\n' would otherwise name a folder ``reports/2026-10\n/``.
MONTH_PATTERN = re.compile(r"\A[0-9]{4}-(0[1-9]|1[0-2])\Z")


def parse_month(value: object) -> pd.Period:
    """Return the report month as a monthly Period, rejecting anything but ``YYYY-MM``.

    papermill turns ``-p month 202610`` into an integer; accepting only the string form
    makes that mistake loud instead of silently reading the wrong month. The month names a
    folder, so only ASCII digits are accepted: no surrounding space, no trailing newline.
    """
    if not isinstance(value, str) or not MONTH_PATTERN.fullmatch(value):
        raise ValueError(
            f"report month must be a string 'YYYY-MM' such as '2026-10', got {value!r} "
            f"({type(value).__name__}); with papermill pass it with -r, not -p"
        )
    return pd.Period(value, freq="M")


def month_end(month: str | pd.Period) -> pd.Timestamp:
    """Last instant of the month: everything dated at or before it is 'known' for the report."""
    period = parse_month(month) if isinstance(month, str) else month
    return period.end_time.floor("s")


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    """The input folder: the given one, else ``$CRM_DATA_DIR``, else ``data/raw``.

    ``make test`` and ``make notebooks`` set ``CRM_DATA_DIR`` to the default synthetic data, so
    the committed outputs never depend on what an analyst has put into data/raw.
    """
    if data_dir:
        return Path(data_dir)
    return Path(os.environ.get("CRM_DATA_DIR") or DEFAULT_DATA_DIR)


def resolve_run_dir(run_dir: str | os.PathLike | None, report_month: str) -> Path:
    """The folder a notebook writes to: the given one, or a scratch folder for interactive use.

    The scratch folders live in ``$CRM_RUNS_DIR`` when set (``make test`` and ``make notebooks``
    use a fresh one, so an analyst's earlier interactive months cannot change their outputs),
    else in ``reports/interactive``.
    """
    if run_dir:
        return Path(run_dir)
    return Path(os.environ.get("CRM_RUNS_DIR") or INTERACTIVE_RUNS_DIR) / report_month


def previous_run_dir(run_dir: str | os.PathLike, report_month: str) -> Path:
    """Where the previous month's run of the same reports folder lives (it may not exist).

    A scheduled run builds in a hidden folder inside the reports folder and an interactive one in
    ``reports/interactive/<month>``: in both, the previous month is a sibling folder.
    """
    return Path(run_dir).resolve().parent / str(parse_month(report_month) - 1)


def display_path(path: str | os.PathLike) -> str:
    """A path as shown to readers: relative to the project when inside it, so outputs are portable."""
    p = Path(path).resolve()
    try:
        return str(p.relative_to(PROJECT_ROOT))
    except ValueError:
        return p.name
