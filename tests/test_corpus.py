"""The bad-input corpus: every broken export in tests/corpus gets its expected outcome.

Each folder holds the few files of one case; tests/corpus/expectations.yml says what must
happen (a ContractError naming file, column and examples, or named quarantine reasons with
counts). For every case that loads, the ledger must account for each record of the files,
counted here independently with Python's csv module.
"""

from __future__ import annotations

import csv
import html
from pathlib import Path

import pandas as pd
import pytest
import yaml

from crm_utils import artifacts
from crm_utils.data import cleaning, io
from crm_utils.data.schema import ContractError

CORPUS = Path(__file__).parent / "corpus"
EXPECT = yaml.safe_load((CORPUS / "expectations.yml").read_text(encoding="utf-8"))
OUTCOMES = ["kept", "quarantined", "merged", "held_back"]


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
    with pytest.raises(ContractError) as err:
        cleaning.clean(io.load_raw(folder), month, key=key)
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
