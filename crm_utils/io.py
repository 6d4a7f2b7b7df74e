"""Reading the contract's tables from CSV, Parquet or Excel, through an optional column mapping.

Every value is read as text first, so that nothing is converted silently: ``coerce`` then turns
columns into dates and numbers and reports which values did not convert. A column where most
values fail is a file problem (wrong mapping, wrong format) and raises :class:`ContractError`;
a few failures are row problems that cleaning sends to quarantine.
"""

from __future__ import annotations

import csv
import hashlib
import io as _io
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from .schema import CONTRACTS, ContractError

SUFFIXES = (".csv", ".txt", ".parquet", ".xlsx", ".xls")
#: Date formats tried in order when a column has no declared format. Day-first for the
#: slashed form, the convention of the European exports this kit is built for; declare
#: ``date_formats`` in the mapping file for month-first data.
DATE_FORMATS = ("ISO8601", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d %b %Y",
                "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
#: A column where more than this share of non-empty values does not convert is rejected whole.
COLUMN_FAILURE_SHARE = 0.5


@dataclass
class TableMapping:
    """How one foreign file maps onto a contract table (see data/README.md for the format)."""

    file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # source name -> contract name
    date_formats: dict[str, str | list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | int | None = None


@dataclass
class Mapping:
    tables: dict[str, TableMapping] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> "Mapping":
        """Read a YAML mapping file; unknown tables or keys are errors, not silently ignored."""
        p = Path(path)
        try:
            doc = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise ContractError(p.name, f"is not valid YAML: {exc}") from exc
        tables = {}
        for name, spec in (doc.get("tables") or {}).items():
            if name not in CONTRACTS:
                raise ContractError(p.name, f"names an unknown table '{name}'; "
                                            f"the contract has {', '.join(CONTRACTS)}")
            unknown = set(spec or {}) - set(TableMapping.__dataclass_fields__)
            if unknown:
                raise ContractError(p.name, f"table '{name}' has unknown keys {sorted(unknown)}")
            tables[name] = TableMapping(**(spec or {}))
        return cls(tables, str(p))

    def for_table(self, table: str) -> TableMapping:
        return self.tables.get(table, TableMapping())


@dataclass
class RawTable:
    """One table as read: every column as text, plus ``_row``, the 0-based data row in the file."""

    name: str
    path: Path
    frame: pd.DataFrame
    encoding: str | None = None
    mapping: TableMapping = field(default_factory=TableMapping)  # how it was read; coerce uses its formats
    dropped_columns: list[str] = field(default_factory=list)  # not in the contract, never read further

    @property
    def file(self) -> str:
        return self.path.name

    def fingerprint(self) -> str:
        return file_fingerprint(self.path)


def file_fingerprint(path: str | Path) -> str:
    """SHA-256 of a file's bytes: two runs on the same inputs carry the same fingerprint."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def find_table_file(data_dir: str | Path, table: str, mapping: TableMapping | None = None) -> Path | None:
    """The file holding ``table`` in ``data_dir``: the mapped name, or ``<table>.<csv|parquet|xlsx>``."""
    d = Path(data_dir)
    if mapping and mapping.file:
        p = d / mapping.file
        if not p.exists():
            raise ContractError(mapping.file, f"is named in the mapping for '{table}' but does not exist in {d}")
        return p
    found = [d / f"{table}{s}" for s in SUFFIXES if (d / f"{table}{s}").exists()]
    if len(found) > 1:
        raise ContractError(found[0].name, f"and {', '.join(f.name for f in found[1:])} both hold "
                                           f"'{table}'; keep one, or name it in the mapping file")
    return found[0] if found else None


#: Text dtype used throughout: Arrow-backed strings make string operations vectorised.
TEXT = pd.StringDtype("pyarrow")


def _detect_encoding(sample: bytes, path: Path, declared: str | None) -> str:
    """The declared encoding, UTF-8 (with or without BOM) when the sample decodes as such, or a detected one."""
    if declared:
        return declared
    cut = sample[: sample.rfind(b"\n") + 1] or sample
    try:
        cut.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(cut).best()
    if best is None:
        raise ContractError(path.name, "is not text in any encoding we recognise; "
                                       "declare 'encoding' in the mapping file")
    # GB2312 and GBK are subsets of GB18030: decode with the superset.
    return "gb18030" if best.encoding in ("gb2312", "gbk", "gb18030") else best.encoding


def _read_csv(p: Path, m: "TableMapping") -> tuple[pd.DataFrame, str]:
    """Read a delimited text file with every column as text, via Arrow's multi-threaded reader."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(p, "rb") as fh:
        sample = fh.read(1 << 20)
    if not sample.strip():
        raise ContractError(p.name, "is empty")
    encoding = _detect_encoding(sample, p, m.encoding)
    try:
        text = sample[: sample.rfind(b"\n") + 1 or len(sample)].decode(encoding, errors="replace")
    except LookupError as exc:
        raise ContractError(p.name, f"declares an unknown encoding '{encoding}'") from exc
    text = text.lstrip("\ufeff")
    sep = m.delimiter or _sniff_delimiter(text)
    header = next(csv.reader(_io.StringIO(text.splitlines()[0] if text else ""), delimiter=sep), [])
    if not header:
        raise ContractError(p.name, "has no header row")
    try:
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(encoding=encoding, column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        hint = "" if m.encoding else "; if it is not UTF-8, declare 'encoding' in the mapping file"
        raise ContractError(p.name, f"could not be parsed as {encoding} text with delimiter "
                                    f"{sep!r}: {exc}{hint}") from exc
    df = table.to_pandas(types_mapper={pa.string(): TEXT}.get)
    return df, encoding


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def read_file(path: str | Path, mapping: TableMapping | None = None) -> tuple[pd.DataFrame, str | None]:
    """Read a CSV, Parquet or Excel file with every column as text (missing stays missing)."""
    p = Path(path)
    m = mapping or TableMapping()
    suffix = p.suffix.lower()
    encoding = None
    try:
        if suffix in (".csv", ".txt"):
            df, encoding = _read_csv(p, m)
        elif suffix == ".parquet":
            df = pd.read_parquet(p)
        elif suffix in (".xlsx", ".xls"):
            df = pd.read_excel(p, sheet_name=m.sheet or 0, dtype=str)
        else:
            raise ContractError(p.name, f"has an unsupported type '{suffix}'; use CSV, Parquet or Excel")
    except ContractError:
        raise
    except Exception as exc:  # a parser's own message, with the file named
        raise ContractError(p.name, f"could not be read: {exc.__class__.__name__}: {exc}") from exc
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    for col in df.columns:
        if df[col].dtype == object or isinstance(df[col].dtype, pd.StringDtype):
            df[col] = df[col].astype(TEXT)
    return df, encoding


def apply_mapping(df: pd.DataFrame, table: str, mapping: TableMapping, file: str) -> pd.DataFrame:
    """Rename mapped columns, add constants and map category values; check required columns."""
    missing_src = [s for s in mapping.columns if s not in df.columns]
    if missing_src:
        raise ContractError(file, f"lacks the columns the mapping renames: {missing_src}; "
                                  f"it has {list(df.columns)}", column=missing_src[0])
    df = df.rename(columns=mapping.columns)
    contract = CONTRACTS[table]
    # Headers that differ from the contract only in case, spaces or dashes ('Customer ID') match it.
    canon = {c: re.sub(r"[\s\-]+", "_", c.strip().lower()) for c in df.columns}
    df = df.rename(columns={c: k for c, k in canon.items() if k != c and contract.column(k) is not None
                            and k not in df.columns})
    for key in ("date_formats", "values", "constants"):
        unknown = [c for c in getattr(mapping, key) if contract.column(c) is None]
        if unknown:
            raise ContractError(file, f"the mapping's '{key}' names columns that '{table}' does not have: "
                                      f"{unknown}; contract columns are "
                                      f"{[c.name for c in contract.columns]}", column=unknown[0])
    for col, value in mapping.constants.items():
        df[col] = value
    for col, table_map in mapping.values.items():
        if col in df.columns:
            df[col] = df[col].replace(table_map)
    missing = [c for c in contract.required_columns if c not in df.columns]
    if missing:
        raise ContractError(file, f"required column missing from '{table}' ({len(df)} rows); the file has "
                                  f"{list(df.columns)}. Rename it in the export or map it in a "
                                  f"mapping file (see data/README.md)", column=missing[0])
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise ContractError(file, "appears twice after mapping", column=dupes[0])
    return df


def load_table(data_dir: str | Path, table: str, mapping: Mapping | None = None) -> RawTable | None:
    """Read one contract table as text, or None when the data folder has no file for it."""
    tm = (mapping or Mapping()).for_table(table)
    path = find_table_file(data_dir, table, tm)
    if path is None:
        if CONTRACTS[table].required:
            raise ContractError(str(Path(data_dir).name or data_dir),
                                f"has no '{table}' file: expected {table}.csv, {table}.parquet or "
                                f"{table}.xlsx (or a 'file' entry in the mapping file)")
        return None
    df, encoding = read_file(path, tm)
    df = apply_mapping(df, table, tm, path.name)
    if df.empty:
        raise ContractError(path.name, f"has a header but no rows; '{table}' needs at least one")
    # Only contract columns go on: anything else (extra personal data above all) stops here.
    extra = [c for c in df.columns if CONTRACTS[table].column(c) is None]
    df = df.drop(columns=extra)
    df.insert(0, "_row", np.arange(len(df), dtype=np.int64))
    return RawTable(table, path, df.reset_index(drop=True), encoding, tm, extra)


def load_raw(data_dir: str | Path, mapping: Mapping | str | Path | None = None) -> dict[str, RawTable]:
    """All contract tables present in ``data_dir`` (orders is required; the rest are optional)."""
    d = Path(data_dir)
    if not d.is_dir():
        raise ContractError(str(d), "is not a folder; pass the folder that holds orders.csv (or .parquet)")
    if mapping is not None and not isinstance(mapping, Mapping):
        mapping = Mapping.load(mapping)
    if mapping is None and (d / "mapping.yml").exists():
        mapping = Mapping.load(d / "mapping.yml")
    out = {}
    for table in CONTRACTS:
        t = load_table(d, table, mapping)
        if t is not None:
            out[table] = t
    return out


# ------------------------------------------------------------------------------------------
# Type coercion
# ------------------------------------------------------------------------------------------


def parse_dates(values: pd.Series, formats: str | list[str] | tuple[str, ...] | None = None) -> pd.Series:
    """Parse text dates trying each format in turn on what is still unparsed (vectorised per format).

    Time-zone offsets are converted to UTC and dropped, so every date is naive UTC-comparable.
    """
    if pd.api.types.is_datetime64_any_dtype(values):
        s = values
        return s.dt.tz_convert(None) if getattr(s.dt, "tz", None) is not None else s
    text = values.astype(TEXT).str.strip()
    out = pd.Series(pd.NaT, index=values.index, dtype="datetime64[ns]")
    todo = text.notna() & (text != "")
    fmts = [formats] if isinstance(formats, str) else list(formats or DATE_FORMATS)
    for fmt in fmts:
        if not todo.any():
            break
        sub = text[todo]
        try:
            parsed = pd.to_datetime(sub, format=fmt, errors="coerce", utc=True)
        except (ValueError, TypeError):
            continue
        parsed = parsed.dt.tz_convert(None)
        ok = parsed.notna()
        out.loc[ok[ok].index] = parsed[ok].astype("datetime64[ns]")
        todo.loc[ok[ok].index] = False
    return out


def _examples(values: pd.Series, k: int = 5) -> list:
    return list(pd.unique(values.dropna().astype(str))[:k])


@dataclass
class Coerced:
    """A table with typed columns, and per column the rows whose non-empty value did not convert."""

    frame: pd.DataFrame
    failed: dict[str, pd.Series]


def coerce(raw: RawTable) -> Coerced:
    """Convert the contract's date and number columns (with the formats the table's mapping
    declares); reject a column that mostly fails."""
    contract = CONTRACTS[raw.name]
    tm = raw.mapping
    df = raw.frame.copy()
    failed: dict[str, pd.Series] = {}
    for col in df.columns:
        spec = contract.column(col)
        if spec is None or col == "_row":
            continue
        s = df[col]
        present = s.notna() & (s.astype(TEXT).str.strip() != "")
        if spec.kind == "datetime":
            conv = parse_dates(s, tm.date_formats.get(col))
        elif spec.kind in ("number", "integer"):
            if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
                # A decimal comma ("12,50") is read as a decimal point; thousands separators are not guessed.
                s = s.astype(TEXT).str.strip()
                comma = s.str.contains(",", regex=False).fillna(False).astype(bool)
                if comma.any():
                    s = s.copy()
                    s[comma] = s[comma].str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
            conv = pd.to_numeric(s, errors="coerce")
            conv = conv.where(np.isfinite(conv.astype(float)))
            if spec.kind == "integer":
                conv = conv.round().astype("Int64")
        elif spec.kind in ("id", "text"):
            if pd.api.types.is_float_dtype(s):
                # Typed files store integer ids as floats once a value is missing: 17850.0 -> '17850'.
                whole = s.dropna().eq(s.dropna().round()).all()
                s = s.astype("Int64") if whole else s
            conv = s.astype(TEXT).str.strip()
            conv = conv.mask(conv == "")
            df[col] = conv
            continue
        else:
            continue
        bad = present & conv.isna()
        n_present = int(present.sum())
        if n_present and bad.sum() > COLUMN_FAILURE_SHARE * n_present:
            what = "dates" if spec.kind == "datetime" else "numbers"
            raise ContractError(raw.file, f"{int(bad.sum()):,} of {n_present:,} values are not {what}; "
                                          f"check the column mapping or declare its format",
                                column=col, count=int(bad.sum()), examples=_examples(s[bad]))
        df[col] = conv
        failed[col] = bad
    return Coerced(df, failed)


def summarise(raw: dict[str, RawTable]) -> pd.DataFrame:
    """One line per table read: file, encoding, rows, contract columns present and extra columns."""
    rows = []
    for name, contract in CONTRACTS.items():
        t = raw.get(name)
        if t is None:
            rows.append({"table": name, "file": "—", "encoding": "", "rows": 0,
                         "columns": "absent: the sections that need it are skipped",
                         "ignored (not in the contract)": ""})
            continue
        cols = [c for c in t.frame.columns if c != "_row"]
        rows.append({"table": name, "file": t.file, "encoding": t.encoding or t.path.suffix.lstrip("."),
                     "rows": len(t.frame), "columns": ", ".join(cols),
                     "ignored (not in the contract)": ", ".join(t.dropped_columns)})
    return pd.DataFrame(rows)
