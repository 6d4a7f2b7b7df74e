"""The run folder's shared state: artifacts written by one notebook and read by later ones, and
each notebook's headline figures, merged into metrics.json by the pipeline."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

TEXT = pd.StringDtype("pyarrow")


def artifacts_dir(run_dir: str | Path) -> Path:
    return Path(run_dir) / "artifacts"


def write_table(run_dir: str | Path, name: str, frame: pd.DataFrame) -> Path:
    """Write ``artifacts/<name>.parquet`` (index dropped) and return its path."""
    path = artifacts_dir(run_dir) / f"{name}.parquet"
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(path, index=False)
    return path


def write_csv(run_dir: str | Path, name: str, frame: pd.DataFrame) -> Path:
    """Write ``artifacts/<name>.csv`` for people to open in a spreadsheet (index dropped).

    Text cells that would start a formula (=, +, -, @) are prefixed with a quote (see
    ``safe.csv_text``); UTF-8 with a byte-order mark, so spreadsheet programs read accents and
    Chinese text correctly. Later notebooks read Parquet, never these files.
    """
    from crm_utils.safe import csv_frame

    path = artifacts_dir(run_dir) / f"{name}.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    csv_frame(frame).to_csv(path, index=False, encoding="utf-8-sig")
    return path


def has_table(run_dir: str | Path, name: str) -> bool:
    """Whether an earlier notebook wrote ``artifacts/<name>.parquet`` (absent input tables are not written)."""
    return (artifacts_dir(run_dir) / f"{name}.parquet").exists()


def read_table(run_dir: str | Path, name: str, columns: list[str] | None = None) -> pd.DataFrame:
    """Read an artifact written by an earlier notebook of the same run."""
    path = artifacts_dir(run_dir) / f"{name}.parquet"
    if not path.exists():
        raise FileNotFoundError(
            f"artifact '{name}' is missing from {Path(run_dir).name}/artifacts; run the notebook "
            f"that writes it first (crm-report run --month ... runs them in order)")
    # Text comes back Arrow-backed, as notebook 01 wrote it: object strings would take about four
    # times the memory and lose the vectorised string and hashing paths at a million customers.
    table = pq.read_table(path, columns=columns)
    return table.to_pandas(types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get)


def _plain(value):
    """JSON-safe plain Python values: numpy scalars unwrapped, NaN as null, floats rounded."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (np.floating, float)):
        v = float(value)
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, (pd.Timestamp,)):
        return value.isoformat()
    return value


def record_metrics(run_dir: str | Path, notebook: str, figures: dict) -> Path:
    """Store a notebook's headline figures; the pipeline merges them under the notebook's name."""
    path = Path(run_dir) / "metrics" / f"{notebook}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(_plain(figures), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def collect_metrics(run_dir: str | Path) -> dict:
    """All notebooks' figures of a run, keyed by notebook name, in notebook order."""
    folder = Path(run_dir) / "metrics"
    return {p.stem: json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))}


class LastMonth:
    """Last month's run in the same reports folder: the one way a stage looks back.

    A scheduled run builds in a hidden folder inside the reports folder and an interactive one in
    ``reports/interactive/<month>``; in both, last month is a sibling folder. It may not exist
    (the first month of a reports folder): then :attr:`exists` is False and every read gives None.
    """

    def __init__(self, run_dir: str | Path, report_month: str):
        from crm_utils.config import previous_run_dir

        self.path = previous_run_dir(run_dir, report_month)

    def __str__(self) -> str:
        return f"last month's report ({self.path.name})"

    @property
    def month(self) -> str:
        return self.path.name

    @property
    def exists(self) -> bool:
        return self.path.is_dir()

    def has(self, name: str) -> bool:
        return has_table(self.path, name)

    def table(self, name: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """Last month's artifact ``name`` as written then, or None when last month has none."""
        return read_table(self.path, name, columns) if self.has(name) else None

    def metrics(self) -> dict | None:
        """Last month's metrics.json, or None when last month has no finished report."""
        path = self.path / "metrics.json"
        return json.loads(path.read_text()) if path.exists() else None
