"""The bad-input corpus: every broken export in tests/corpus gets its expected outcome.

Each folder holds the few files of one case; tests/corpus/expectations.yml says what must
happen (a ContractError naming file, column and examples, or named quarantine reasons with
counts). For every case that loads, the ledger must account for each record of the files,
counted here independently with Python's csv module.

The corpus also runs through notebook 01 itself (papermill, the runner's private kernelspec),
since a case can pass ``cleaning.clean`` and still crash the notebook (a chart of nothing).
A notebook run takes several seconds, so not every case goes through it: every case that
loads (expects no error) does, and of the error cases those in NOTEBOOK_ERROR_CASES, one for
each way a run can stop that the notebook handles differently (at reading, or at the ledger
after the charts were drawn); the others fail in the same reading cell through the same
``io.load_raw`` checked above. Two notebooks run at a time.
"""

from __future__ import annotations

import csv
import html
import json
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import nbformat
import pandas as pd
import pytest
import yaml

from crm_utils import artifacts
from crm_utils.data import cleaning, io, plots
from crm_utils.data.schema import ContractError
from crm_utils.run import pipeline

CORPUS = Path(__file__).parent / "corpus"
EXPECT = yaml.safe_load((CORPUS / "expectations.yml").read_text(encoding="utf-8"))
OUTCOMES = ["kept", "quarantined", "merged", "held_back"]
NOTEBOOK = Path(__file__).resolve().parents[1] / "notebooks" / "01_data_cleaning.ipynb"
#: Error cases that also run through notebook 01: stops at reading (a hostile mapping pattern, an
#: unterminated quote, a repeated header) and at the ledger, after every chart was drawn on nothing.
NOTEBOOK_ERROR_CASES = ["mapping_backtracking_pattern", "unterminated_quote", "header_repeated_in_file",
                        "report_month_before_data", "every_line_quarantined"]
NOTEBOOK_CASES = sorted([n for n, e in EXPECT.items() if "error" not in e] + NOTEBOOK_ERROR_CASES)
#: The cell of notebook 01 each kind of stop must fail in, found by its code.
FAILING_CELL = {"read": "data_source.load_raw(", "finish": "run.finish()"}
#: Seconds any cell of notebook 01 may take on a corpus case (each takes well under one).
CELL_TIMEOUT = 120


def test_every_case_has_a_folder_and_an_expectation():
    assert {p.name for p in CORPUS.iterdir() if p.is_dir()} == set(EXPECT)
    assert len(EXPECT) >= 25
    for name, exp in EXPECT.items():
        assert exp.get("what") and (("error" in exp) != ("kept" in exp)), name


def _records(raw: io.RawTable) -> int:
    """Data records of a file, counted without the kit's reader."""
    if raw.path.suffix == ".csv":
        text = raw.path.read_text(encoding=raw.encoding, errors="replace").lstrip("\ufeff")
        try:
            sep = raw.mapping.delimiter or csv.Sniffer().sniff(text[:4096], delimiters=",;\t|").delimiter
        except csv.Error:  # ragged lines confuse the sniffer; the corpus's files use commas
            sep = ","
        return sum(1 for r in csv.reader(text.splitlines(keepends=True), delimiter=sep) if r) - 1
    return len(pd.read_excel(raw.path) if raw.path.suffix == ".xlsx" else pd.read_parquet(raw.path))


def _counts(frame: pd.DataFrame) -> dict[str, int]:
    return {f"{t}.{r}": int(n) for (t, r), n in frame.groupby(["table", "reason"]).size().items()}


def _check_error(exp: dict, folder: Path, month: str, key) -> None:
    stage = "read"
    with pytest.raises(ContractError) as err:
        raw = io.load_raw(folder)
        stage = "cleaning"
        run = cleaning.CleaningRun(raw, month, key=key)
        for step in cleaning.CleaningRun.STEPS:
            getattr(run, step)()
        stage = "finish"
        run.finish()
    assert stage == exp["error"].get("fails_at", "read")  # where the run stops, as notebook 01 shows it
    e, message = exp["error"], str(err.value)
    assert (err.value.file, err.value.column) == (e["file"], e["column"]), message
    for part in e.get("says", []):
        assert part in message
    if "examples" in e:
        assert err.value.examples == e["examples"]
        assert all(repr(v) in message for v in e["examples"])
    for text in e.get("not_in_message", []):
        assert text not in message


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_corpus_case(name, key, tmp_path):
    exp, folder = EXPECT[name], CORPUS / name
    month = str(exp.get("month", "2026-10"))
    if "error" in exp:
        _check_error(exp, folder, month, key)
        return
    raw = io.load_raw(folder)
    run = cleaning.CleaningRun(raw, month, key=key)
    for step in cleaning.CleaningRun.STEPS:
        getattr(run, step)()
    result = run.finish()

    led = result.ledger.set_index("table")
    assert led["kept"].to_dict() == exp["kept"]
    for t, r in raw.items():  # every record of every file is in exactly one outcome
        assert led.loc[t, "rows_in"] == _records(r) == led.loc[t, OUTCOMES].sum(), t
    out = run.outcomes()
    assert _counts(result.quarantine) == exp.get("quarantined", {})
    assert _counts(out[out["outcome"] == "merged"]) == exp.get("merged", {})
    assert {t: int(n) for t, n in led["held_back"].items() if n} == exp.get("held_back", {})

    q = result.quarantine.assign(key=result.quarantine["table"] + "." + result.quarantine["reason"])
    for k, details in exp.get("details", {}).items():
        assert sorted(q.loc[q["key"] == k, "detail"].astype(str)) == sorted(details), k
    for k, values in exp.get("values", {}).items():
        t, col = k.split(".")
        assert sorted(str(v) for v in result.tables[t][col]) == sorted(str(v) for v in values), k
    for k, cells in exp.get("csv_cells", {}).items():
        t, col = k.split(".")
        path = artifacts.write_csv(tmp_path, t, result.tables[t])
        with open(path, encoding="utf-8-sig", newline="") as fh:
            written = [row[col] for row in csv.DictReader(fh)]
        assert written == cells, k
    tables = {**result.tables, "quarantine": result.quarantine}
    for value in exp.get("html", []):
        assert any(value in df.astype(str).to_numpy() for df in tables.values())  # data stays data
        shown = "".join(df._repr_html_() for df in tables.values())  # what a notebook displays
        assert value not in shown and html.escape(value, quote=False) in shown
    blob = pd.concat([df.astype(str) for df in tables.values()], ignore_index=True).to_csv().casefold()
    for text in exp.get("nowhere", []):
        assert text.casefold() not in blob, text


def test_notebook_error_cases_exist_and_cover_both_places_a_run_stops():
    assert set(NOTEBOOK_ERROR_CASES) <= {n for n, e in EXPECT.items() if "error" in e}
    assert {EXPECT[n]["error"].get("fails_at", "read") for n in NOTEBOOK_ERROR_CASES} == {"read", "finish"}


@dataclass
class NotebookRun:
    """Notebook 01 executed on one case: its run folder, and the error it stopped with (if any)."""

    run_dir: Path
    error: str | None = None  # "ContractError: message"
    failed_cell: str | None = None  # the source of the cell that raised


def _execute(name: str, root: Path) -> NotebookRun:
    """Run notebook 01 on one corpus case the way the runner does (papermill, private kernel)."""
    import papermill as pm

    exp, run_dir = EXPECT[name], root / name
    run_dir.mkdir()
    params = {"report_month": str(exp.get("month", "2026-10")), "data_dir": str(CORPUS / name),
              "run_dir": str(run_dir), "seed": 42}
    try:
        # No `cwd`: papermill would chdir the whole process, which two threads would race on; every
        # path the notebook is given is absolute, so the kernel's working folder does not matter.
        pm.execute_notebook(str(NOTEBOOK), str(run_dir / NOTEBOOK.name), parameters=params,
                            kernel_name=pipeline.KERNEL_NAME, progress_bar=False, log_output=False,
                            request_save_on_cell_execute=False,  # written once, at the end or the error
                            execution_timeout=CELL_TIMEOUT)  # a hanging pattern fails, not hangs
    except pm.PapermillExecutionError as err:
        cells = nbformat.read(run_dir / NOTEBOOK.name, as_version=4).cells
        failed = [c.source for c in cells if any(o.get("output_type") == "error" for o in c.get("outputs", []))]
        return NotebookRun(run_dir, f"{err.ename}: {err.evalue}", failed[0] if failed else None)
    return NotebookRun(run_dir)


@pytest.fixture(scope="module")
def notebook_runs(request, tmp_path_factory) -> dict[str, NotebookRun]:
    """Notebook 01 on every case selected in this session, two at a time, on one kernelspec
    made by the runner's own ``_kernelspec_dir`` (removed afterwards)."""
    chosen = [item.callspec.params["name"] for item in request.session.items
              if getattr(item, "originalname", "") == "test_notebook_01_on_corpus_case"]
    root, saved = tmp_path_factory.mktemp("notebook01"), os.environ.get("JUPYTER_PATH")
    kernels = pipeline._kernelspec_dir()
    try:
        with ThreadPoolExecutor(max_workers=2) as pool:
            return dict(zip(chosen, pool.map(lambda n: _execute(n, root), chosen)))
    finally:
        shutil.rmtree(kernels, ignore_errors=True)
        if saved is None:
            os.environ.pop("JUPYTER_PATH", None)
        else:
            os.environ["JUPYTER_PATH"] = saved


@pytest.mark.parametrize("name", NOTEBOOK_CASES)
def test_notebook_01_on_corpus_case(name, notebook_runs):
    """Notebook 01 on a corpus case: a case that loads runs to the end and writes a ledger and
    metrics that agree with the expectations; an error case fails in the cell that reads the
    tables (or, for a month the data do not cover, at the ledger) with the expected ContractError."""
    exp, run = EXPECT[name], notebook_runs[name]
    if "error" in exp:
        e = exp["error"]
        assert run.error is not None and run.error.startswith("ContractError: "), run.error
        assert FAILING_CELL[e.get("fails_at", "read")] in run.failed_cell, run.failed_cell
        assert run.error.startswith(f"ContractError: {e['file']}: ")
        for part in e.get("says", []):
            assert part in run.error
        return
    assert run.error is None, run.error
    metrics = json.loads((run.run_dir / "metrics" / "01_data_cleaning.json").read_text())
    led = artifacts.read_table(run.run_dir, "cleaning_ledger").set_index("table")
    assert led["kept"].to_dict() == exp["kept"]
    assert {t: {k: int(led.loc[t, k]) for k in ["rows_in", *OUTCOMES]} for t in led.index} == metrics["tables"]
    for t, r in io.load_raw(CORPUS / name).items():  # every record of the files, counted independently
        assert led.loc[t, "rows_in"] == _records(r) == led.loc[t, OUTCOMES].sum(), t
    assert metrics["quarantined_by_reason"] == exp.get("quarantined", {})
    quarantine = artifacts.read_table(run.run_dir, "quarantine")
    assert (_counts(quarantine) if len(quarantine) else {}) == exp.get("quarantined", {})
    merged = {}
    for k, n in exp.get("merged", {}).items():
        merged[k.split(".")[0]] = merged.get(k.split(".")[0], 0) + n
    assert {t: int(n) for t, n in led["merged"].items() if n} == merged
    assert {t: int(n) for t, n in led["held_back"].items() if n} == exp.get("held_back", {})


def test_cleaning_charts_say_there_is_nothing_to_draw():
    """Nothing left after cleaning (every line quarantined or held back) gives titled charts that
    say so; the outlier chart crashed notebook 01 with 'min() arg is an empty sequence'."""
    matplotlib.use("Agg")
    orders = pd.DataFrame({"category": pd.Series([], dtype="string"), "quantity": pd.Series([], dtype=float),
                           "is_outlier": pd.Series([], dtype=bool),
                           "order_date": pd.Series([], dtype="datetime64[ns]")})
    fences = pd.DataFrame(columns=["category", "lines", "flagged", "fence_units", "max_units"])
    ledger = pd.DataFrame({"table": ["orders"], "rows_in": [0], "kept": [0], "quarantined": [0], "merged": [0],
                           "held_back": [0]})
    figures = [plots.outlier_chart(orders, fences), plots.monthly_rows_chart(orders),
               plots.ledger_chart(ledger, pd.DataFrame(columns=["table", "reason", "rows"])),
               plots.ledger_chart(ledger.iloc[:0], pd.DataFrame(columns=["table", "reason", "rows"]))]
    titles = ["Bulk order lines stand far above each category's fence", "Kept order lines per month",
              "Rows not kept, by what happened to them", "Rows not kept, by what happened to them"]
    for fig, title in zip(figures, titles):
        ax = fig.axes[0]
        assert ax.get_title() == title
        assert "nothing to draw" in " ".join(t.get_text() for t in ax.texts)
        plt.close(fig)
