"""``crm-report import``: turn a foreign export into the contract's tables, row for row.

A mapping file (data/README.md) says how the export's files and columns become the contract's
tables. Importing applies its *shape* part once: columns renamed, dates parsed with the
declared formats and written as ISO 8601, numbers converted (``multiply``), values mapped,
columns derived or set. The result is ``orders.csv`` etc. in the output folder, which
``crm-report run`` reads like any contract data. Nothing is dropped or judged here: every
record of the export becomes the record with the same number in the output, a value that does
not convert is written as it was (the run quarantines its row, naming the value), and the
mapping's row *policies* (``rules``, ``exact_duplicates``) travel to the output's
``mapping.yml`` to act at every run. ``import.json`` records what was converted from what.

A surveys mapping's ``survey`` block is shape too: declared items are written under their
contract names (``q_*``), their not-applicable codes as empty answers (counted per item in
``import.json``), the overall column as ``overall`` with its labels scored. A column that looks
like answers on a scale but is not declared is named in the summary and in ``import.json``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

import pandas as pd
import yaml

from crm_utils.config import PROJECT_ROOT, display_path
from crm_utils.data import cleaning, io
from crm_utils.data.mapping import declared_currency, declared_holidays, declared_retail_events
from crm_utils.data.schema import CONTRACTS, ContractError

#: Ready mappings shipped with the kit, usable by name: ``--mapping online_retail``.
MAPPINGS_DIR = PROJECT_ROOT / "data" / "mappings"
FORMATS = ("csv", "parquet")


@dataclass
class ImportResult:
    out: Path
    summary: pd.DataFrame  # one row per table imported
    written: dict[str, Path]
    currency: str | None = None  # the ISO 4217 code the mapping declares; None: amounts shown without one


def shipped_mappings() -> dict[str, Path]:
    """The mappings in data/mappings, by name."""
    return {p.stem: p for p in sorted(MAPPINGS_DIR.glob("*.yml"))}


def resolve_mapping(name_or_path: str | Path) -> Path:
    """A mapping file path, or the name of a shipped mapping."""
    p = Path(name_or_path)
    if p.is_file():
        return p
    shipped = shipped_mappings()
    if str(name_or_path) in shipped:
        return shipped[str(name_or_path)]
    raise ContractError(str(name_or_path), f"is neither a mapping file nor a shipped mapping; shipped: "
                                           f"{', '.join(shipped) or 'none'} (in {display_path(MAPPINGS_DIR)})")


def to_contract_text(raw: io.RawTable) -> tuple[pd.DataFrame, dict[str, int]]:
    """The table as contract text: ISO dates, plain numbers, trimmed ids; values that do not
    convert stay as written. Also returns, per column, how many values stayed as written."""
    typed = io.coerce(raw)  # raises ContractError when a column mostly does not convert
    out = pd.DataFrame(index=raw.frame.index)
    unreadable = {}
    for col in raw.frame.columns:
        if col == "_row":
            continue
        spec = CONTRACTS[raw.name].column(col)
        conv = typed.frame[col]
        if spec is None or spec.kind in ("id", "text"):  # the malformed-record note, ids, text
            out[col] = conv.astype(io.TEXT)
            continue
        if spec.kind == "datetime":
            fractional = (conv.dt.microsecond.fillna(0) + conv.dt.nanosecond.fillna(0)).gt(0).any()
            text = conv.dt.strftime("%Y-%m-%d %H:%M:%S" + (".%f" if fractional else ""))
        else:
            text = conv.map(lambda v: None if pd.isna(v) else format(float(v), ".15g"), na_action="ignore")
        bad = typed.failed[col]
        unreadable[col] = int(bad.sum())
        out[col] = text.astype(io.TEXT).mask(bad, raw.frame[col].astype(io.TEXT))
    # A zero byte in a value (a till's stray NUL) would make the written file binary, so the run
    # could not read its own import: it is written as U+FFFD, the mark of an unreadable character,
    # and the value is still quarantined at the run (with the mark in its example).
    for col in out.columns:
        if out[col].str.contains("\x00", regex=False).any():
            out[col] = out[col].str.replace("\x00", "\ufffd", regex=False)
    return out, {c: n for c, n in unreadable.items() if n}


def import_export(source: str | Path, mapping: str | Path, out: str | Path, *, table: str | None = None,
                  file_format: str = "csv", force: bool = False) -> ImportResult:
    """Convert the export in ``source`` (a folder, or one file) with ``mapping`` into ``out``."""
    source, out = Path(source), Path(out)
    mapping_path = resolve_mapping(mapping)
    m = io.Mapping.load(mapping_path)
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {file_format!r}")
    if source.is_file():
        table = table or ("orders" if "orders" in m.tables or len(m.tables) != 1 else next(iter(m.tables)))
        if table not in CONTRACTS:
            raise ContractError(source.name, f"--table must be one of {', '.join(CONTRACTS)}, got {table!r}")
        m.tables[table] = replace(m.for_table(table), file=source.name)
        data_dir, tables = source.parent, [table]
    elif source.is_dir():
        if table:
            raise ValueError("--table goes with a single source file, not a folder")
        data_dir, tables = source, list(CONTRACTS)
    else:
        raise ContractError(source.name, f"does not exist: {source}")
    if out.resolve() == data_dir.resolve():
        raise ValueError(f"--out must not be the export's own folder ({out}); importing never overwrites the export")
    existing = sorted(p.name for p in out.glob("*") if p.stem in CONTRACTS or p.name == "mapping.yml") \
        if out.exists() else []
    if existing and not force:
        raise ValueError(f"{out} already holds {', '.join(existing)}; pass --force to replace them")

    raw = {}
    for t in tables:
        loaded = io.load_table(data_dir, t, m)
        if loaded is not None:
            raw[t] = loaded
    converted = {t: to_contract_text(r) for t, r in raw.items()}  # all convert before anything is written

    out.mkdir(parents=True, exist_ok=True)
    for stale in existing:  # --force: tables of an earlier import must not mix with this one
        (out / stale).unlink()
    written, rows, record = {}, [], {}
    for t, (frame, unreadable) in converted.items():
        path = out / f"{t}.{file_format}"
        if file_format == "csv":
            frame.to_csv(path, index=False, encoding="utf-8")
        else:
            frame.to_parquet(path, index=False)
        written[t] = path
        r = raw[t]
        record[t] = {"source": r.file, "source_sha256": r.fingerprint(), "written": path.name,
                     "rows": len(frame), "columns_from": r.sources, "ignored_columns": r.dropped_columns,
                     "values_left_as_written": unreadable}
        if t == "surveys":  # what became of the answers: codes read as missing, undeclared items named
            record[t].update(not_applicable_as_missing=r.not_applicable, undeclared_scale_columns=r.scale_like_columns)
        # Order lines equal in every column: merged at every run unless the mapping keeps them (say so now).
        repeated = cleaning.duplicate_lines(frame) if t == "orders" and m.for_table(t).exact_duplicates == "merge" \
            else {"lines": 0}
        if repeated["lines"]:
            record[t]["exact_duplicate_lines"] = repeated
        rows.append({"table": t, "from": r.file, "rows": len(frame), "written": path.name,
                     "exact duplicates (merged at run)": cleaning.duplicate_note(repeated, "are merged at every run") if repeated["lines"] else "",
                     "renamed or derived": ", ".join(f"{k} ← {v}" for k, v in r.sources.items()),
                     "ignored columns": io.ignored_note(r),
                     "left as written (quarantined at run)": ", ".join(f"{c}: {n}" for c, n in unreadable.items())})
    policies = {t: {**m.for_table(t).policy(), "imported_from": raw[t].file} for t in raw}
    header = (f"# Written by `crm-report import` with {mapping_path.name}: the row policies that act at every run.\n"
              f"# Row numbers in the quarantine are those of the file named in imported_from.\n")
    # The currency travels with the data: the run labels amounts with it (none declared: no label).
    currency = declared_currency(mapping_path)
    holidays = declared_holidays(mapping_path)  # the calendar travels with the data too
    events = declared_retail_events(mapping_path)  # and the retail events ([] declares none: kept)
    document = ({"currency": currency} if currency else {}) | ({"holidays": holidays} if holidays else {}) \
        | ({"retail_events": events} if events is not None else {}) | {"tables": policies}
    (out / "mapping.yml").write_text(header + yaml.safe_dump(document, sort_keys=False,
                                                             allow_unicode=True), encoding="utf-8")
    (out / "import.json").write_text(json.dumps(
        {"mapping": mapping_path.name, "mapping_sha256": io.file_fingerprint(mapping_path), "currency": currency,
         "tables": record}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return ImportResult(out, pd.DataFrame(rows), written, currency)
