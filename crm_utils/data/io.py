"""Reading the contract's tables from CSV, Parquet or Excel, through an optional column mapping.

Every value is read as text first, so that nothing is converted silently: ``coerce`` then turns
columns into dates and numbers and reports which values did not convert. A column where most
values fail is a file problem (wrong mapping, wrong format) and raises :class:`ContractError`;
a few failures are row problems that cleaning sends to quarantine.
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io as _io
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crm_utils.config import display_path
from crm_utils.data import mapping as mapping_schema
from crm_utils.data.schema import CONTRACTS, ContractError

SUFFIXES = (".csv", ".txt", ".parquet", ".xlsx", ".xls")
#: Date formats tried in order when a column has no declared format. Day-first for the
#: slashed form, the convention of the European exports this kit is built for; declare
#: ``date_formats`` in the mapping file for month-first data.
DATE_FORMATS = ("ISO8601", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y",
                "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M", "%Y/%m/%d", "%d %b %Y",
                "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M", "%d/%m/%Y")
#: A time followed by a UTC offset or Z ('10:00:00+02:00', '08:00Z', unpadded '8:5+2'); a bare date
#: ends in '-01' too.
OFFSET_RE = r"\d{1,2}:\d{1,2}(?::\d{1,2}(?:[.,]\d+)?)?\s*(?:Z|[+-]\d{1,2}(?::?\d{2})?)$"
#: A column where more than this share of non-empty values does not convert is rejected whole.
COLUMN_FAILURE_SHARE = 0.5


REASON_RE = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass
class TableMapping:
    """How one foreign file maps onto a contract table (see data/README.md for the format).

    Most keys shape the file into the contract's table when it is read (or imported);
    ``rules`` and ``exact_duplicates`` are row policies that cleaning applies at every run.
    A mapping file's entry is checked by the schema in :mod:`crm_utils.data.mapping` first.
    """

    file: str | None = None
    columns: dict[str, str] = field(default_factory=dict)  # source name -> contract name
    date_formats: dict[str, str | list[str]] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    constants: dict[str, str] = field(default_factory=dict)
    encoding: str | None = None
    delimiter: str | None = None
    sheet: str | int | None = None
    #: number column -> factor applied after parsing (prices in cents: 0.01)
    multiply: dict[str, float] = field(default_factory=dict)
    #: contract column -> {from: file column, rules: {value: regex}, default: value},
    #: {join: [file column, ...], sep: text} or {copy: file column} (see ``derive_column``)
    derive: dict[str, dict] = field(default_factory=dict)
    #: row rules: {where: {column: regex}, quarantine: reason} or {where: ..., set: {column: value}}
    rules: list[dict] = field(default_factory=list)
    #: 'merge' (default): a line repeated verbatim is one line; 'keep': repeated lines are real
    exact_duplicates: str = "merge"
    #: CSV only: the physical lines one record may span, through line breaks in quoted values
    #: (default MAX_LINES_PER_RECORD)
    max_lines_per_record: int | None = None
    #: written by ``crm-report import``: the export this table was converted from, row for row
    imported_from: str | None = None
    #: database sources only (files ignore them): the table to read (``schema.name``; default:
    #: the contract's name), or a query instead, and the columns giving the rows their order
    #: (default: the table's primary key)
    table: str | None = None
    query: str | None = None
    order_by: str | list[str] | None = None
    #: surveys only: {items: [file column, ...] or {file column: q_name}, scale: "1-5",
    #: not_applicable: [0], overall: file column, overall_scores: {label: score}} (see ``survey_columns``)
    survey: dict = field(default_factory=dict)

    @classmethod
    def from_spec(cls, spec: dict | None, table: str, source: str) -> "TableMapping":
        """Build and check one table's entry of a mapping file; ``source`` names the file in errors."""
        tm = cls(**mapping_schema.table_fields(spec, table, source))
        tm.validate(table, source)
        return tm

    def validate(self, table: str, source: str) -> None:
        """Every column the mapping names must exist in the contract, every pattern must compile on
        RE2: a typo is an error, never silently ignored, and no pattern can hang a run."""
        contract = CONTRACTS[table]
        at = f"tables.{table}"

        def known(col: str, key: str, kinds: tuple[str, ...] | None = None) -> None:
            spec = contract.column(col)
            if spec is None:
                raise ContractError(source, f"{at}.{key}: names '{col}', which is not a contract column of "
                                            f"'{table}'; contract columns are {[c.name for c in contract.columns]}",
                                    column=col)
            if kinds and spec.kind not in kinds:
                raise ContractError(source, f"{at}.{key}: applies to {' or '.join(kinds)} columns only; "
                                            f"'{col}' is {spec.kind}", column=col)

        for src, dst in self.columns.items():
            known(dst, f"columns.{src}")
        for key in ("date_formats", "values", "constants", "derive"):
            for col in getattr(self, key):
                known(col, key)
        for col, factor in self.multiply.items():
            known(col, "multiply", ("number", "integer"))
            if isinstance(factor, bool) or not isinstance(factor, (int, float)):
                raise ContractError(source, f"{at}.multiply.{col}: needs a number, got {factor!r}")
        for col, d in self.derive.items():
            for value, pattern in (d.get("rules") or {}).items():
                mapping_schema.compile_pattern(str(pattern), source, f"{at}.derive.{col}.rules.{value}")
        for i, rule in enumerate(self.rules, 1):
            where = f"{at}.rules[{i}]"
            for col, pattern in rule["where"].items():
                known(col, f"rules[{i}].where")
                mapping_schema.compile_pattern(str(pattern), source, f"{where}.where.{col}")
            if "quarantine" in rule and not REASON_RE.match(str(rule["quarantine"])):
                raise ContractError(source, f"{where}.quarantine: the reason must be lower_case_with_underscores, "
                                            f"got {mapping_schema.short(rule['quarantine'])}")
            for col in rule.get("set") or {}:
                known(col, f"rules[{i}].set", ("text",))
        if self.survey:
            self._validate_survey(table, source)
        if self.exact_duplicates not in ("merge", "keep"):
            raise ContractError(source, f"{at}.exact_duplicates: is 'merge' or 'keep', got {self.exact_duplicates!r}")

    def _validate_survey(self, table: str, source: str) -> None:
        """A ``survey`` block belongs to the surveys table; its item names must be contract item names
        (``q_*``), none twice, and the overall column must not also be an item (an item cannot
        explain itself)."""
        at = f"tables.{table}.survey"
        if table != "surveys":
            raise ContractError(source, f"{at}: describes survey items and applies to the surveys table only")
        targets = item_targets(self.survey.get("items") or [])
        for src, dst in targets.items():
            if not dst.startswith(SURVEY_ITEM_PREFIX) or dst == SURVEY_ITEM_PREFIX:
                raise ContractError(source, f"{at}.items.{src}: an item is named '{SURVEY_ITEM_PREFIX}<name>' in the "
                                            f"contract, got {dst!r}", column=src)
        twice = sorted({d for d in targets.values() if list(targets.values()).count(d) > 1})
        if twice:
            raise ContractError(source, f"{at}.items: several columns would become {twice[0]!r} "
                                        f"({[s for s, d in targets.items() if d == twice[0]]}); name them apart "
                                        f"with {{file column: q_name}}", column=twice[0])
        overall = self.survey.get("overall")
        if overall is not None and overall in targets:
            raise ContractError(source, f"{at}.overall: {overall!r} is also listed under items; the overall "
                                        f"satisfaction is what the items explain, not one of them", column=overall)
        if overall is not None and "overall" in self.columns.values():
            raise ContractError(source, f"{at}.overall: 'columns' already maps a column to 'overall'; name the "
                                        f"overall column in one place", column=overall)

    def policy(self) -> dict:
        """The row policies of this table (what a run still needs after ``crm-report import``),
        with the line limit of its records: the imported CSV keeps the export's long values."""
        out = {}
        if self.rules:
            out["rules"] = self.rules
        if self.exact_duplicates != "merge":
            out["exact_duplicates"] = self.exact_duplicates
        if self.max_lines_per_record:
            out["max_lines_per_record"] = self.max_lines_per_record
        return out


def search(values: pd.Series, pattern: str, ignore_case: bool = False) -> pd.Series:
    """Whether each value contains ``pattern`` (missing: False), on RE2 only: Arrow's engine, or
    google-re2 for a pattern this Arrow's RE2 build refuses. Both run in time linear in the text;
    Python's ``re`` never runs a mapping's pattern (a pattern can make it backtrack for hours)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    text = as_text(values)
    arr = text.array._pa_array if hasattr(text.array, "_pa_array") else pa.array(text.array)
    try:
        hit = pc.fill_null(pc.match_substring_regex(arr, str(pattern), ignore_case=ignore_case), False)
        return pd.Series(hit.to_numpy(zero_copy_only=False), index=values.index, dtype=bool)
    except pa.ArrowInvalid:
        rx = mapping_schema.re2_compile(("(?i)" if ignore_case else "") + str(pattern))  # ValueError if not RE2
        hits = [v is not None and rx.search(v) is not None for v in arr.to_pylist()]
        return pd.Series(np.asarray(hits, dtype=bool), index=values.index)


@dataclass
class Mapping:
    tables: dict[str, TableMapping] = field(default_factory=dict)
    source: str | None = None

    @classmethod
    def load(cls, path: str | Path) -> "Mapping":
        """Read a YAML mapping file (no aliases, at most 1 MiB) and check it against the schema:
        unknown tables or keys and values of the wrong type are errors naming their place."""
        p = Path(path)
        if not p.is_file():
            raise ContractError(p.name, f"mapping file not found: {p}" if not p.exists() else
                                f"is a folder, not a mapping file: {p}")
        tables = mapping_schema.check_document(mapping_schema.read_yaml(p), p.name)
        return cls({name: TableMapping.from_spec(spec, name, p.name) for name, spec in tables.items()}, str(p))

    def for_table(self, table: str) -> TableMapping:
        return self.tables.get(table, TableMapping())


@dataclass
class RawTable:
    """One table as read: every column as text, plus ``_row``, the 0-based data row in the file
    (for a database table: in the order the rows were read, see ``crm_utils.data.database``)."""

    name: str
    path: Path | None  # None for a table read from a database
    frame: pd.DataFrame
    encoding: str | None = None
    mapping: TableMapping = field(default_factory=TableMapping)  # how it was read; coerce uses its formats
    dropped_columns: list[str] = field(default_factory=list)  # not in the contract, never read further
    sources: dict[str, str] = field(default_factory=dict)  # contract column -> where it came from
    #: what names the table in messages and the quarantine when it is not a file ("table crm.orders")
    label: str | None = None
    #: rows a database left out because they are dated after the report month: counted, not read
    held_back_at_source: int = 0
    #: set by the cleaning run that took the table over and kept only the columns it still needs
    consumed_by: str = ""
    #: surveys: dropped columns that look like answers on a scale (an item nobody declared)
    scale_like_columns: list[str] = field(default_factory=list)
    #: surveys: per declared item, the answers read as missing as the mapping's not-applicable codes
    not_applicable: dict[str, int] = field(default_factory=dict)

    @property
    def file(self) -> str:
        return self.label or self.path.name

    @property
    def origin(self) -> str:
        """The file the rows came from: for an imported table the original export (same row numbers)."""
        if self.mapping.imported_from and self.path is not None:
            return f"{self.path.name} (imported from {self.mapping.imported_from})"
        return self.file

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
        return _regular_file(p, table)
    found = [d / f"{table}{s}" for s in SUFFIXES if (d / f"{table}{s}").exists()]
    if len(found) > 1:
        raise ContractError(found[0].name, f"and {', '.join(f.name for f in found[1:])} both hold "
                                           f"'{table}'; keep one, or name it in the mapping file")
    return _regular_file(found[0], table) if found else None


def _regular_file(p: Path, table: str) -> Path:
    """``p`` when it is a regular file: a folder named ``orders.csv`` (or a pipe, which would block
    the read forever) is refused naming the path."""
    if not p.is_file():
        kind = "a folder" if p.is_dir() else "not a regular file"
        raise ContractError(p.name, f"is {kind}, not the file of table '{table}' ({display_path(p)}); "
                                    f"'{table}' is read from one CSV, Parquet or Excel file")
    return p


#: Text dtype used throughout: Arrow-backed strings make string operations vectorised.
TEXT = pd.StringDtype("pyarrow")


#: Preference among encodings that read a file equally well (see ``_detect_encoding``).
TIE_ORDER = ("gb18030", "gbk", "gb2312", "big5", "cp932", "shift_jis", "cp949", "euc_kr")


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

    matches = list(from_bytes(cut))
    if not matches:
        raise ContractError(path.name, "is not text in any encoding we recognise; "
                                       "declare 'encoding' in the mapping file")
    # A small file can read equally well in several East Asian encodings (four GBK-encoded
    # Chinese characters are also valid, if odd, Korean CP949). On such a tie the order of
    # TIE_ORDER decides; notebook 01 shows the encoding used, and the mapping can declare it.
    best = min(matches, key=lambda m: (round(m.chaos, 3), -round(m.coherence, 3),
                                       TIE_ORDER.index(m.encoding) if m.encoding in TIE_ORDER else len(TIE_ORDER)))
    # GB2312 and GBK are subsets of GB18030: decode with the superset.
    return "gb18030" if best.encoding in ("gb2312", "gbk", "gb18030") else best.encoding


#: Internal column of a raw table: why a CSV record could not be split into the header's fields.
#: Such a record is kept (padded or cut to the header) and quarantined as ``wrong_field_count``.
MALFORMED = "_malformed"


#: Byte-order marks of the encodings whose text is full of zero bytes, longest first.
BOMS = ((b"\xff\xfe\x00\x00", "utf-32"), (b"\x00\x00\xfe\xff", "utf-32"), (b"\xff\xfe", "utf-16"),
        (b"\xfe\xff", "utf-16"))
#: Physical lines one CSV record may span through line breaks inside quoted values (a note, an
#: address). An unterminated quote swallows every line up to the next quote into one record, so
#: a record running on longer, or still open at the end of the file, stops the run; a mapping's
#: ``max_lines_per_record`` allows longer values.
MAX_LINES_PER_RECORD = 10


def _bom_encoding(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 when the sample starts with its byte-order mark (Python's codec reads the
    mark and the byte order from it)."""
    return next((encoding for bom, encoding in BOMS if sample.startswith(bom)), None)


def _decode_sample(sample: bytes, encoding: str, p: Path, whole: bool) -> str:
    """The sample's complete lines as text (all of it when it is the whole file), without a BOM."""
    try:
        text = codecs.getincrementaldecoder(encoding)(errors="replace").decode(sample, final=whole)
    except LookupError as exc:
        raise ContractError(p.name, f"declares an unknown encoding '{encoding}'") from exc
    if not whole:
        text = text[: text.rfind("\n") + 1 or len(text)]
    return text.lstrip("\ufeff")


def _read_csv(p: Path, m: "TableMapping") -> tuple[pd.DataFrame, str]:
    """Read a delimited text file with every column as text, via Arrow's multi-threaded reader."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    with open(p, "rb") as fh:
        sample = fh.read(1 << 20)
    if not sample.strip():
        raise ContractError(p.name, "is empty")
    bom = None if m.encoding else _bom_encoding(sample)
    if b"\x00" in sample and not (m.encoding or bom):
        raise ContractError(p.name, "holds binary data (zero bytes), not delimited text; is it a "
                                    "spreadsheet or an archive renamed to .csv?")
    encoding = bom or _detect_encoding(sample, p, m.encoding)
    text = _decode_sample(sample, encoding, p, whole=len(sample) < 1 << 20)
    sep = m.delimiter or _sniff_delimiter(text)
    header = next(csv.reader(_io.StringIO(text.splitlines()[0] if text else ""), delimiter=sep), [])
    if not header:
        raise ContractError(p.name, "has no header row")
    limit = m.max_lines_per_record or MAX_LINES_PER_RECORD
    ragged = []
    try:
        table = pacsv.read_csv(
            p,
            read_options=pacsv.ReadOptions(encoding=encoding, column_names=header, skip_rows=1),
            parse_options=pacsv.ParseOptions(delimiter=sep, newlines_in_values=True,
                                             invalid_row_handler=lambda row: ragged.append(1) or "skip"),
            convert_options=pacsv.ConvertOptions(column_types={h: pa.string() for h in header},
                                                 strings_can_be_null=True, null_values=[""],
                                                 quoted_strings_can_be_null=True))
    except (pa.ArrowInvalid, UnicodeDecodeError) as exc:
        _check_record_lines(p, encoding, sep, header, limit)  # an unterminated quote, named, comes first
        hint = "" if m.encoding else "; if it is not UTF-8, declare 'encoding' in the mapping file"
        # Arrow quotes the offending line after its message: left out, as it may hold personal data.
        reason = re.sub(r"(parse error: [^:]*):.*", r"\1", str(exc), flags=re.S)
        raise ContractError(p.name, f"could not be parsed as {encoding} text with delimiter "
                                    f"{sep!r}: {reason}{hint}") from exc
    if ragged:  # rare: read again record by record, so no row is lost and each keeps its number
        df = _read_csv_records(p, encoding, sep, header, limit)
    else:
        if not _one_line_per_record(p, encoding, len(table)):  # line breaks in values, or blank lines
            _check_record_lines(p, encoding, sep, header, limit)
        df = table.to_pandas(types_mapper={pa.string(): TEXT}.get)
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    _refuse_duplicate_names(df, p.name)
    _refuse_repeated_header(df, p.name, lambda row: f"on line {_line_of_record(p, encoding, sep, row + 1)}")
    return df, encoding


def _read_csv_records(p: Path, encoding: str, sep: str, header: list[str], limit: int) -> pd.DataFrame:
    """Python's csv reader for a file with records whose field count differs from the header's.

    Each record keeps its position; a ragged one is padded or cut to the header and marked in
    :data:`MALFORMED`, so cleaning quarantines it (its values are probably shifted).
    """
    records = _csv_records(p, encoding, sep, header, limit)
    next(records)  # the header
    width = len(header)
    rows, marks = [], []
    for first, last, r in records:
        lines = f" (lines {first}-{last})" if last > first else ""  # line breaks in a value: show where
        marks.append(None if len(r) == width else f"{len(r)} fields, the header has {width}{lines}")
        rows.append((r + [None] * width)[:width])
    df = pd.DataFrame(rows, columns=header, dtype=object).replace({"": None}).astype(TEXT)
    df[MALFORMED] = pd.Series(marks, dtype=TEXT)
    return df


def _one_line_per_record(p: Path, encoding: str, records: int) -> bool:
    """Whether the file has exactly one line per record plus the header: then no value spans lines
    and no line is blank, and the slow record-by-record check is not needed. (Counted in bytes,
    which only UTF-16 and UTF-32 do not allow: for those the check always runs.)"""
    if codecs.lookup(encoding).name.startswith(("utf-16", "utf-32")):
        return False
    lines, last = 0, b""
    with open(p, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 24), b""):
            lines += block.count(b"\n")
            last = block[-1:]
    return lines + (last not in (b"\n", b"")) == records + 1


class _RecordTooLong(Exception):
    """A CSV record has run over the line limit (raised inside the line iterator)."""


def _csv_records(p: Path, encoding: str, sep: str, header: list[str],
                 limit: int) -> Iterator[tuple[int, int, list[str]]]:
    """Every non-empty record of a CSV file (the header first) with the lines it starts and ends
    on, counted from 1, read by Python's csv module. A record spanning more than ``limit`` lines,
    or still in a quoted value at the end of the file, is an unterminated quote: a ContractError
    naming the line the quote opened on, since the ledger must count the records a reader sees."""
    held: list[list[str]] = [[]]  # the lines of the record being read (at most limit + 1)

    def lines() -> Iterator[str]:
        utf8 = codecs.lookup(encoding).name == "utf-8"
        with open(p, encoding="utf-8-sig" if utf8 else encoding, errors="replace", newline="") as fh:
            for line in fh:
                held[0].append(line)
                if len(held[0]) > limit:
                    raise _RecordTooLong
                yield line

    reader = csv.reader(lines(), delimiter=sep)
    start, last, last_start = 1, [], 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except _RecordTooLong:
            raise _unterminated_quote(p, start, held[0], sep, header, limit) from None
        if record:
            yield start, reader.line_num, record
        last, last_start, held[0] = held[0], start, []
        start = reader.line_num + 1
    if _open_quote(last, sep) is not None:
        raise _unterminated_quote(p, last_start, last, sep, header, limit)


def _check_record_lines(p: Path, encoding: str, sep: str, header: list[str], limit: int) -> None:
    """Read the whole file record by record only to refuse an unterminated quote."""
    for _ in _csv_records(p, encoding, sep, header, limit):
        pass


def _line_of_record(p: Path, encoding: str, sep: str, record: int) -> int:
    """The line a record (0: the header) starts on."""
    for i, (line, _, _) in enumerate(_csv_records(p, encoding, sep, [], 1 << 62)):
        if i == record:
            return line
    raise IndexError(record)


def _open_quote(lines: list[str], sep: str) -> tuple[int, int] | None:
    """Where the quoted value still open at the end of ``lines`` (one record) began: (line index,
    field index), or None when every quote is closed. Follows Python's csv module: a quote opens a
    value only at the start of a field, and a doubled quote inside one is a quote character."""
    state, field, opened = "start", 0, None
    for i, line in enumerate(lines):
        for ch in line:
            if state == "quoted":
                state = "closing" if ch == '"' else "quoted"
            elif ch == '"' and state in ("start", "closing"):
                opened = (i, field) if state == "start" else opened
                state = "quoted"
            elif ch == sep:
                state, field = "start", field + 1
            else:
                state = "start" if ch in "\r\n" else "field"
    return opened if state == "quoted" else None


def _unterminated_quote(p: Path, start: int, lines: list[str], sep: str, header: list[str],
                        limit: int) -> ContractError:
    """The error for a quoted value that never closes, naming its line and, when known, its column."""
    line, field = _open_quote(lines, sep) or (0, 0)
    column = header[field] if start > 1 and field < len(header) else None
    if len(lines) > limit:
        what = (f"a quoted value opened on line {start + line} is still open {limit} lines later "
                f"(the record starting on line {start} would run on)")
    else:
        what = f"a quoted value opened on line {start + line} is never closed"
    return ContractError(p.name, f"{what}: an unterminated quote (\") folds the lines after it into one record. "
                                 f"Close or remove that quote in the export; if values really span more lines, "
                                 f"set 'max_lines_per_record' in the mapping (default {MAX_LINES_PER_RECORD})",
                         column=column)


def _sniff_delimiter(text: str) -> str:
    sample = text[:65536]
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _read_parquet(p: Path) -> pd.DataFrame:
    """A Parquet file with its text columns straight into Arrow-backed strings.

    ``pd.read_parquet`` would make a Python object of every value first (at 36 million order
    lines, about 11 GiB for the text columns alone) only for ``read_file`` to turn them back
    into Arrow strings.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    table = pq.read_table(p)
    return table.to_pandas(types_mapper={pa.string(): TEXT, pa.large_string(): TEXT}.get,
                           self_destruct=True, split_blocks=True)


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
            df = _read_parquet(p)
        elif suffix in (".xlsx", ".xls"):
            df = pd.read_excel(p, sheet_name=m.sheet or 0, dtype=str)
        else:
            raise ContractError(p.name, f"has an unsupported type '{suffix}'; use CSV, Parquet or Excel")
    except ContractError:
        raise
    except Exception as exc:  # a parser's own message, with the file named
        raise ContractError(p.name, f"could not be read: {exc.__class__.__name__}: {exc}") from exc
    df.columns = [str(c).strip().lstrip("\ufeff") for c in df.columns]
    _refuse_duplicate_names(df, p.name)
    for col in df.columns:
        s = df[col]
        if (s.dtype == object and not _holds_containers(s)) or isinstance(s.dtype, pd.StringDtype):
            df[col] = s.astype(TEXT)  # lists and the like stay as they are: apply_mapping refuses them
    if suffix != ".csv":  # a CSV file is checked as it is read, where its line numbers are known
        _refuse_repeated_header(df, p.name, lambda row: f"in row {row + 2} of the sheet" if suffix != ".parquet"
                                else f"in row {row} (counted from 0)")
    return df, encoding


def _refuse_duplicate_names(df: pd.DataFrame, file: str) -> None:
    """A header naming one column twice (a header repeated on one line) would make every column
    lookup ambiguous."""
    names = list(df.columns)
    for i, name in enumerate(names):
        if name in names[:i]:
            raise ContractError(file, f"the header names this column twice (columns {names.index(name) + 1} and "
                                      f"{i + 1}); was a header repeated or two exports joined side by side? "
                                      f"Rename or remove one", column=name)


def _refuse_repeated_header(df: pd.DataFrame, file: str, where: Callable[[int], str]) -> None:
    """A data row that repeats the header (two exports joined into one file): the rows after it may
    come from another export, so the file is refused rather than the row quarantined. ``where``
    says where a data row (0-based) is in the file."""
    row = _repeated_header(df)
    if row is not None:
        first = next(c for c in df.columns if c not in ("_row", MALFORMED))
        raise ContractError(file, f"the header line appears again as data {where(row)}: were two exports "
                                  f"joined into one file? Remove the repeated header (and check the rows "
                                  f"after it belong to this export)", column=first,
                            examples=[str(df.iloc[row][c]) for c in df.columns[:3] if c not in ("_row", MALFORMED)])


def _repeated_header(df: pd.DataFrame) -> int | None:
    """The first data row whose every value is its column's name (ignoring case, surrounding
    spaces and a byte-order mark), or None. Candidates are found in the first column by Arrow."""
    import pyarrow.compute as pc

    cols = [c for c in df.columns if c not in ("_row", MALFORMED)]
    if not cols or not cols[0].strip() or not all(isinstance(df[c].dtype, pd.StringDtype) for c in cols):
        return None
    first = as_text(df[cols[0]]).array._pa_array
    found = pc.fill_null(pc.match_substring(first, cols[0].strip(), ignore_case=True), False)
    rows = np.flatnonzero(found.to_numpy(zero_copy_only=False))
    for c in cols:
        if not len(rows):
            return None
        values = df[c].iloc[rows].astype(TEXT).str.strip(" \t\r\n\ufeff").str.casefold()
        rows = rows[(values == c.strip().casefold()).to_numpy(dtype=bool, na_value=False)]
    return int(rows[0]) if len(rows) else None


#: Values that are not one value: Parquet lists, structs and maps, and binary.
CONTAINERS = (list, tuple, dict, set, np.ndarray, bytes, bytearray)


def _holds_containers(s: pd.Series) -> bool:
    """Whether an object column holds lists, maps or bytes (a typed file's nested column) rather
    than single values; ``astype(TEXT)`` would silently turn ['C1'] into the text "['C1']"."""
    if pd.api.types.infer_dtype(s, skipna=True) not in ("mixed", "bytes", "unknown-array"):
        return False
    return any(isinstance(v, CONTAINERS) for v in s.dropna())


def _refuse_containers(df: pd.DataFrame, table: str, mapping: TableMapping, file: str) -> None:
    """A contract column (or a column something is derived from) holding lists, maps or bytes is
    refused: a list of customer ids is not a customer id."""
    used = {c for c in df.columns if CONTRACTS[table].column(c) is not None}
    used |= {c for d in mapping.derive.values() for c in derive_inputs(d)}
    for i, col in enumerate(df.columns):  # by position: a column may appear twice until that is refused
        if col in used and df.iloc[:, i].dtype == object and _holds_containers(df.iloc[:, i]):
            values = df.iloc[:, i].dropna()
            kind = sorted({type(v).__name__.replace("ndarray", "list") for v in values.iloc[:1000]})
            raise ContractError(file, f"holds {' and '.join(kind)} values, not one value per row; a contract "
                                      f"column needs single values (flatten or pick one in the export)",
                                column=col, count=len(values), examples=[str(_plain_list(v)) for v in values.iloc[:3]])


def _plain_list(value):
    """An array value as a Python list, so an example reads ['C1'], not array(['C1'], dtype=object)."""
    return value.tolist() if isinstance(value, np.ndarray) else value


def apply_mapping(df: pd.DataFrame, table: str, mapping: TableMapping,
                  file: str, rows: int | None = None, holder: str = "the file") -> tuple[pd.DataFrame, dict[str, str]]:
    """Rename mapped columns, derive, add constants and map values; check required columns.

    Returns the table and, per contract column taken from elsewhere, where it came from
    (``{'order_id': 'InvoiceNo', 'category': 'derived from Description'}``). A database source
    checks its columns before reading any row: it passes the table's row count as ``rows`` and
    says what holds the columns in ``holder``.
    """
    mapping.validate(table, file)
    # Several source names may offer one contract column (InvoiceNo in one export, Invoice in
    # the next): exactly one of them must be in the file.
    offers: dict[str, list[str]] = {}
    for src, dst in mapping.columns.items():
        offers.setdefault(dst, []).append(src)
    rename = {}
    for dst, sources in offers.items():
        present = [s for s in sources if s in df.columns]
        if not present:
            what = (f"the column the mapping renames to '{dst}': {sources[0]!r}" if len(sources) == 1 else
                    f"any of the columns the mapping offers for '{dst}': {sources}")
            raise ContractError(file, f"lacks {what}; it has {[c for c in df.columns if c != MALFORMED]}",
                                column=sources[0])
        if len(present) > 1:
            raise ContractError(file, f"has several columns the mapping renames to '{dst}': {present}; "
                                      f"keep one in the mapping", column=present[0])
        rename[present[0]] = dst
    header = [c for c in df.columns if c != MALFORMED]
    df = df.rename(columns=rename)
    contract = CONTRACTS[table]
    # Headers that differ from the contract only in case, spaces or dashes ('Customer ID') match it.
    canon = {c: re.sub(r"[\s\-]+", "_", c.strip().lower()) for c in df.columns}
    matched = {c: k for c, k in canon.items() if k != c and contract.column(k) is not None and k not in df.columns}
    df = df.rename(columns=matched)
    _refuse_containers(df, table, mapping, file)
    renamed = {**rename, **matched}
    sources = {dst: src for src, dst in renamed.items()}
    for col, spec in mapping.derive.items():
        if col in df.columns:
            raise ContractError(file, f"already has '{col}'; the mapping cannot also derive it", column=col)
        df[col], sources[col] = derive_column(df, col, spec, renamed, header, f"tables.{table}.derive.{col}", file)
    for col, value in mapping.constants.items():
        df[col] = value
        sources[col] = f"constant {value!r}"
    for col, table_map in mapping.values.items():
        if col in df.columns:
            df[col] = df[col].replace(table_map)
    missing = [c for c in contract.required_columns if c not in df.columns]
    if missing:
        header = [c for c in df.columns if c != MALFORMED]
        hint = ""
        if not any(contract.column(c) for c in header):
            hint = (f" None of its {len(header)} column(s) is a contract column: does the file have a "
                    f"header row, and is the delimiter right? (declare 'delimiter' in the mapping)")
        raise ContractError(file, f"required column missing from '{table}' "
                                  f"({len(df) if rows is None else rows} rows); {holder} has "
                                  f"{header}. Rename it in the export or map it in a "
                                  f"mapping file (see data/README.md).{hint}", column=missing[0])
    dupes = df.columns[df.columns.duplicated()].tolist()
    if dupes:
        raise ContractError(file, "appears twice after mapping", column=dupes[0])
    return df, sources


#: The text between joined values when a ``join`` names no ``sep``: rare in names, ids and dates.
JOIN_SEP = "|"


def derive_inputs(spec: dict) -> list[str]:
    """The file columns one ``derive`` entry reads: its ``join`` columns, or its ``copy`` or ``from`` column."""
    return list(spec["join"]) if "join" in spec else [spec["copy"] if "copy" in spec else spec["from"]]


def derive_column(df: pd.DataFrame, col: str, spec: dict, renamed: dict[str, str], header: list[str],
                  where: str, file: str) -> tuple[pd.Series, str]:
    """The values of the derived column ``col`` and where they came from (for ``sources``).

    A derive names the file's columns as the file has them, also when ``columns`` renamed them
    (``join: [Member_number, Date]`` with ``Date: order_date``); a contract name a column was renamed
    to works too (``from: product_id``). ``where`` is the mapping's place, for errors."""
    inputs = []
    for name in derive_inputs(spec):
        current = renamed.get(name, name)
        if current not in df.columns:
            what = (f"a column the mapping joins into '{col}'" if "join" in spec else
                    f"the column the mapping copies into '{col}'" if "copy" in spec else
                    f"the column the mapping derives '{col}' from")
            raise ContractError(file, f"lacks {what} ({where}); it has {header}", column=name)
        inputs.append(df[current])
    if "join" in spec:
        return join_values(inputs, spec.get("sep", JOIN_SEP), spec["join"], col, file), " + ".join(spec["join"])
    if "copy" in spec:
        return inputs[0].copy(), spec["copy"]
    return derive_values(inputs[0], spec["rules"], spec.get("default")), f"derived from {spec['from']}"


def join_values(parts: list[pd.Series], sep: str, names: list[str], col: str, file: str) -> pd.Series:
    """The parts' values, stripped of surrounding whitespace, joined as text with ``sep`` (a basket
    is member ``1808`` on day ``21-07-2015``: ``1808|21-07-2015``). Missing when any part is missing
    or blank: a member without a day names no basket, and half an id would merge unrelated rows.

    A value holding ``sep`` is an error naming the column: with it, two different sets of parts could
    join to one value ('a|b' + 'c' and 'a' + 'b|c'), silently merging what the file keeps apart."""
    import pyarrow as pa
    import pyarrow.compute as pc

    texts = [_blank_to_missing(_strip(p)) for p in parts]
    arrays = [t.array._pa_array.cast(pa.large_string()) for t in texts]
    if len(parts) > 1:
        for name, text, arr in zip(names, texts, arrays):
            holds = pc.fill_null(pc.match_substring(arr, sep), False).to_numpy(zero_copy_only=False)
            if holds.any():
                raise ContractError(file, f"holds the separator {sep!r} the mapping joins it into '{col}' with, "
                                          f"so different values could join to one; choose a 'sep' none of the "
                                          f"joined values holds", column=name, count=int(holds.sum()),
                                    examples=text[holds].drop_duplicates().head(3).tolist())
    joined = pc.binary_join_element_wise(*arrays, pa.scalar(sep, pa.large_string()))  # null when a part is null
    return pd.Series(pd.arrays.ArrowStringArray(joined), index=parts[0].index, dtype=TEXT)


def derive_values(source: pd.Series, rules: dict[str, str], default: str | None = None) -> pd.Series:
    """A column computed from another by ordered patterns: the first pattern found in the text
    (case-insensitive) gives the value; text no pattern finds gets ``default``; missing text
    stays missing (so cleaning can impute it, e.g. a category from the product's other lines)."""
    out = pd.Series(pd.NA, index=source.index, dtype=TEXT)
    todo = source.notna() & (source.astype(TEXT).str.strip() != "").fillna(False).astype(bool)
    for value, pattern in rules.items():
        hit = todo & search(source, pattern, ignore_case=True)
        out[hit] = str(value)
        todo &= ~hit
    if default is not None:
        out[todo] = str(default)
    return out


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
    raw = shape_table(df, table, tm, path.name, path=path, encoding=encoding)
    if raw.frame.empty:
        raise ContractError(path.name, f"has a header but no rows; '{table}' needs at least one")
    return raw


def shape_table(df: pd.DataFrame, table: str, mapping: TableMapping, file: str, **fields) -> RawTable:
    """A table as read (every column text) mapped onto the contract, with ``_row`` numbering its
    rows: the step files and databases share. ``fields`` go to the :class:`RawTable`."""
    survey_sources: dict[str, str] = {}
    not_applicable: dict[str, int] = {}
    if mapping.survey:
        mapping.validate(table, file)
        df, survey_sources, not_applicable = survey_columns(df, mapping.survey, file)
    df, sources = apply_mapping(df, table, mapping, file)
    # Only contract columns go on: anything else (extra personal data above all) stops here.
    extra = [c for c in df.columns if CONTRACTS[table].column(c) is None and c != MALFORMED]
    # A dropped survey column holding answers on a small scale is probably an item nobody declared:
    # it is named (notebook 01, crm-report import, notebook 09), never lost without a word.
    scale_like = [c for c in extra if looks_like_answers(df[c])] if table == "surveys" else []
    df = df.drop(columns=extra)
    df.insert(0, "_row", np.arange(len(df), dtype=np.int64))
    return RawTable(table, fields.pop("path", None), df.reset_index(drop=True), mapping=mapping,
                    dropped_columns=extra, sources={**survey_sources, **sources}, scale_like_columns=scale_like,
                    not_applicable=not_applicable, **fields)


# ------------------------------------------------------------------------------------------
# Survey items under any names
# ------------------------------------------------------------------------------------------

#: How the contract names a survey item (``q_price_value``): its one prefixed column kind.
SURVEY_ITEM_PREFIX = next(iter(CONTRACTS["surveys"].prefixed))
#: An undeclared surveys column "looks like an answer scale" when every value is a whole number
#: in this range: the widest scale an item or the NPS is asked on (0-10), so at most 11 distinct
#: answers. Ages, delays, distances and ids leave it at once; a column that merely counts the
#: rows (a saved index 0, 1, 2, ...) is not an answer and is left out (``_counts_rows``).
SCALE_LIKE_RANGE = (0, 10)


def item_name(column: str) -> str:
    """The contract item name of a file's column: ``Inflight wifi service`` -> ``q_inflight_wifi_service``;
    a name already in the contract's form (``q_price``) stays as it is."""
    name = re.sub(r"\W+", "_", str(column).casefold()).strip("_")
    return name if name.startswith(SURVEY_ITEM_PREFIX) and name != SURVEY_ITEM_PREFIX else SURVEY_ITEM_PREFIX + name


def item_targets(items: list[str] | dict[str, str]) -> dict[str, str]:
    """file column -> contract item name, for a ``survey.items`` list or mapping."""
    return dict(items) if isinstance(items, dict) else {c: item_name(c) for c in items}


def looks_like_answers(values: pd.Series) -> bool:
    """Whether a column holds answers on a small scale: some values, all whole numbers within
    :data:`SCALE_LIKE_RANGE`, and not a running count of the rows."""
    if not (values.dtype == object or isinstance(values.dtype, pd.StringDtype)) and not \
            pd.api.types.is_numeric_dtype(values):
        return False
    text = _strip(values) if not pd.api.types.is_numeric_dtype(values) else values
    numbers = pd.to_numeric(text, errors="coerce")
    present = text.notna() & (text.astype(TEXT) != "").fillna(False).astype(bool)
    if not present.any() or numbers[present].isna().any():
        return False
    n = numbers[present].astype(float)
    low, high = SCALE_LIKE_RANGE
    return bool((n == n.round()).all() and n.between(low, high).all() and not _counts_rows(n))


def _counts_rows(n: pd.Series) -> bool:
    """A column numbering the rows (0, 1, 2, ... or 1, 2, 3, ...): an index, not answers."""
    return len(n) > 1 and bool((np.diff(n.to_numpy()) == 1).all())


def survey_columns(df: pd.DataFrame, survey: dict, file: str) -> tuple[pd.DataFrame, dict[str, str], dict[str, int]]:
    """Apply a surveys mapping's ``survey`` block to the file as read.

    Declared items take their contract names (``q_*``); their ``not_applicable`` codes become
    missing answers (counted per item, not invented into a score); with a declared ``scale`` an
    answer outside it is an error naming the column (a wrong scale or an undeclared code, not a
    row to drop); the ``overall`` column becomes ``overall``, its labels scored by
    ``overall_scores``. Returns the table, where each column came from, and the not-applicable
    counts per item.
    """
    targets = item_targets(survey.get("items") or [])
    header = [c for c in df.columns if c != MALFORMED]
    absent = [c for c in targets if c not in df.columns]
    if absent:
        raise ContractError(file, f"lacks the survey item column(s) {absent} the mapping declares; it has {header}",
                            column=absent[0])
    taken = [d for s, d in targets.items() if d in df.columns and d not in targets]
    if taken:
        raise ContractError(file, f"already has a column '{taken[0]}', the contract name the mapping gives an "
                                  f"item; name the item apart ({{file column: q_name}})", column=taken[0])
    df = df.rename(columns=targets)
    sources = {d: s for s, d in targets.items() if d != s}
    codes = [float(c) for c in survey.get("not_applicable") or []]
    scale = survey.get("scale")
    low, high = (int(x) for x in re.fullmatch(mapping_schema.SCALE_RE, scale).groups()) if scale else (None, None)
    not_applicable = {}
    for src, col in targets.items():
        text = _strip(df[col])
        numbers = pd.to_numeric(text, errors="coerce")
        na = numbers.isin(codes).to_numpy()
        not_applicable[col] = int(na.sum())
        if na.any():
            df[col] = text.mask(na)
        if scale:
            outside = (numbers.notna().to_numpy() & ~na & ~numbers.between(low, high).to_numpy())
            if outside.any():
                raise ContractError(file, f"{int(outside.sum()):,} answers lie outside the declared scale {scale}; "
                                          f"if a code means 'no answer', declare it under 'not_applicable', else "
                                          f"correct 'scale'", column=src, count=int(outside.sum()),
                                    examples=_examples(text[outside]))
    overall = survey.get("overall")
    if overall is not None:
        df, sources["overall"] = _overall_column(df, overall, survey.get("overall_scores") or {}, file, header)
    return df, sources, not_applicable


def _overall_column(df: pd.DataFrame, column: str, scores: dict, file: str,
                    header: list[str]) -> tuple[pd.DataFrame, str]:
    """The declared overall satisfaction column as ``overall``, labels scored when ``scores`` are
    given: a label they do not score is an error naming it (it would otherwise be lost)."""
    if column not in df.columns:
        raise ContractError(file, f"lacks the overall satisfaction column the mapping declares; it has {header}",
                            column=column)
    if column != "overall" and "overall" in df.columns:
        raise ContractError(file, "already has a column 'overall'; the mapping cannot also declare another "
                                  "column as the overall satisfaction", column=column)
    text = _strip(df[column])
    source = column
    if scores:
        labels = {str(k): format(float(v), ".15g") for k, v in scores.items()}
        present = text.notna() & (text != "").fillna(False).astype(bool)
        unscored = (present & ~text.isin(list(labels))).to_numpy(dtype=bool)
        if unscored.any():
            raise ContractError(file, f"{int(unscored.sum()):,} values are labels 'overall_scores' does not score "
                                      f"(it scores {list(labels)}); add them", column=column,
                                count=int(unscored.sum()), examples=_examples(text[unscored]))
        text = text.map(labels.get, na_action="ignore").astype(TEXT)
        source = f"{column}, scored {', '.join(f'{k} = {v}' for k, v in labels.items())}"
    df = df.drop(columns=[column]).assign(overall=text.to_numpy()) if column != "overall" else df.assign(overall=text)
    df["overall"] = df["overall"].astype(TEXT)
    return df, source


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
    return _parse_text_dates(values.astype(TEXT).str.strip(), formats)


def _parse_text_dates(text: pd.Series, formats: str | list[str] | tuple[str, ...] | None) -> pd.Series:
    """``parse_dates`` of text already stripped of surrounding whitespace."""
    out = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    todo = (text.notna() & (text != "")).to_numpy(dtype=bool, na_value=False)
    # pandas gives a time without offset the offset of an earlier value in the same call
    # ('2026-10-15 12:00' after one at -02:00 becomes 14:00 UTC): parse the two kinds apart.
    offset = text.str.contains(OFFSET_RE, regex=True).to_numpy(dtype=bool, na_value=False)
    fmts = [formats] if isinstance(formats, str) else list(formats or DATE_FORMATS)
    values = None
    for fmt in fmts:
        for with_offset in (True, False):
            rows = np.flatnonzero(todo & (offset if with_offset else ~offset))
            if not len(rows):
                continue
            if not with_offset:
                # Zero-padded values of the format's fixed-width form are read exactly by a vectorised
                # path (at tens of millions of lines pandas' parser dominates the cleaning); anything
                # else, including every value that path rejects, goes to pandas below.
                if values is None:
                    values = _arrow_text(text)
                for template in _fixed_width_forms(fmt):
                    parsed = _parse_fixed_width(values, rows, template)
                    ok = ~np.isnat(parsed)
                    out[rows[ok]] = parsed[ok]
                    todo[rows[ok]] = False
                    rows = rows[~ok]
                if not len(rows):
                    continue
            try:
                parsed = pd.to_datetime(text.iloc[rows], format=fmt, errors="coerce", utc=True)
            except (ValueError, TypeError):
                continue
            parsed = parsed.dt.tz_convert(None).to_numpy(dtype="datetime64[ns]")
            ok = ~np.isnat(parsed)
            out[rows[ok]] = parsed[ok]
            todo[rows[ok]] = False
    return pd.Series(out, index=text.index)


#: The fixed-width, zero-padded forms a format's values usually take ('%d.%m.%Y' -> 'dd.mm.yyyy').
_FIELD_WIDTH = {"Y": 4, "m": 2, "d": 2, "H": 2, "M": 2, "S": 2}
_ISO_FORMS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d")


def _fixed_width_forms(fmt: str) -> list[list[tuple[str, int]]]:
    """Templates (a list of (field or literal character, width)) of the format's zero-padded forms;
    none for formats with other directives (month names, fractions, offsets)."""
    forms = _ISO_FORMS if fmt == "ISO8601" else (fmt,)
    out = []
    for form in forms:
        template, i = [], 0
        while i < len(form):
            if form[i] == "%":
                field = form[i + 1: i + 2]
                if field not in _FIELD_WIDTH:
                    break
                template.append((field, _FIELD_WIDTH[field]))
                i += 2
            elif form[i].isascii() and not form[i].isdigit():
                template.append((form[i], 1))
                i += 1
            else:
                break
        else:
            if any(f == "Y" for f, _ in template) and any(f == "d" for f, _ in template):
                out.append(template)
    return out


def _arrow_text(text: pd.Series):
    """The text column as one Arrow string array, and the length in bytes of each value (-1: missing)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = text.array._pa_array if hasattr(text.array, "_pa_array") else pa.array(text.array)
    lengths = pc.fill_null(pc.binary_length(arr), -1).to_numpy()
    return arr, lengths


def _take_pieces(arr, rows: np.ndarray, picks: np.ndarray, chunk: int):
    """``(picks piece, arr[rows[picks piece]])`` in pieces of at most ``chunk`` values, each taken
    from one chunk of ``arr`` (``rows`` ascending): taking from a chunked array as a whole would
    first join all its chunks into one copy."""
    import pyarrow as pa

    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    bounds = np.cumsum([0] + [len(c) for c in chunks])
    positions = rows[picks]
    for c, piece in enumerate(chunks):
        lo, hi = np.searchsorted(positions, [bounds[c], bounds[c + 1]])
        for start in range(lo, hi, chunk):
            stop = min(start + chunk, hi)
            yield picks[start:stop], piece.take(pa.array(positions[start:stop] - bounds[c]))


def _parse_fixed_width(values, rows: np.ndarray, template: list[tuple[str, int]],
                       chunk: int = 1 << 21) -> np.ndarray:
    """Dates of ``values[rows]`` written exactly in ``template`` (NaT for anything else).

    ``values`` is the pair of ``_arrow_text``. A value is accepted only when every character is
    where the template puts it and the fields form a real moment (no 30 February, no hour 24)
    within pandas' range of nanosecond timestamps; what it rejects is left to pandas, so the
    result is the same as pandas' wherever both read a value.
    """
    import pyarrow as pa

    arr, lengths = values
    width = sum(w for _, w in template)
    out = np.full(len(rows), np.datetime64("NaT"), dtype="datetime64[ns]")
    fits_all = np.flatnonzero(lengths[rows] == width)
    for fits, same in _take_pieces(arr, rows, fits_all, chunk):
        offsets = np.frombuffer(same.buffers()[1], dtype=np.int64 if pa.types.is_large_string(same.type) else np.int32)
        first = int(offsets[same.offset])
        chars = np.frombuffer(same.buffers()[2], dtype=np.uint8)[first:first + width * len(fits)].reshape(-1, width)
        ok = np.ones(len(fits), dtype=bool)
        fields: dict[str, np.ndarray] = {}
        col = 0
        for field, w in template:
            if field in _FIELD_WIDTH:
                value = np.zeros(len(fits), dtype=np.int64)
                for j in range(col, col + w):
                    digit = chars[:, j] - np.uint8(48)  # wraps below '0', so one test covers both ends
                    ok &= digit <= 9
                    value = value * 10 + digit
                fields[field] = value
            else:
                ok &= chars[:, col] == ord(field)
            col += w
        year = fields["Y"]
        month = fields.get("m", np.ones_like(year))
        day = fields["d"]
        hour, minute, second = (fields.get(f, np.zeros_like(year)) for f in ("H", "M", "S"))
        ok &= (year >= 1678) & (year <= 2261) & (month >= 1) & (month <= 12)
        ok &= (hour <= 23) & (minute <= 59) & (second <= 59) & (day >= 1)
        month_start = ((year - 1970) * 12 + np.clip(month, 1, 12) - 1).astype("datetime64[M]")
        first_day = month_start.astype("datetime64[D]")
        ok &= day <= ((month_start + 1).astype("datetime64[D]") - first_day).astype(np.int64)
        seconds = first_day.astype(np.int64) * 86400 + (day - 1) * 86400 + hour * 3600 + minute * 60 + second
        out[fits[ok]] = (seconds[ok] * 1_000_000_000).astype("datetime64[ns]")
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
    # Columns are replaced, never written in place, so a shallow copy leaves the table as read intact.
    df = raw.frame.copy(deep=False)
    failed: dict[str, pd.Series] = {}
    for col in df.columns:
        spec = contract.column(col)
        if spec is None or col == "_row":
            continue
        s = df[col]
        text_like = s.dtype == object or isinstance(s.dtype, pd.StringDtype) or _text_categories(s)
        stripped = _strip(s) if text_like else None
        # A typed value (a number, a date) always has text; only text can be blank.
        present = stripped.notna() & (stripped != "") if text_like else s.notna()
        present = present.fillna(False).astype(bool)
        if spec.kind == "datetime":
            conv = (_parse_text_dates(stripped, tm.date_formats.get(col)) if text_like
                    else parse_dates(s, tm.date_formats.get(col)))
        elif spec.kind in ("number", "integer"):
            if s.dtype == object or isinstance(s.dtype, pd.StringDtype):
                # A decimal comma ("12,50") is read as a decimal point. Thousands separators are not
                # guessed: "1,000" could be one thousand or one, so it stays unconverted and its row
                # is quarantined with the value shown, rather than silently becoming 1.0.
                s = stripped
                comma = s.str.contains(",", regex=False).fillna(False).astype(bool)
                if comma.any():
                    s = s.copy()
                    ambiguous = s.str.fullmatch(r"-?[1-9]\d{0,2}(,\d{3})+").fillna(False).astype(bool)
                    decimal = comma & ~ambiguous
                    s[decimal] = s[decimal].str.replace(r"^(-?\d+),(\d+)$", r"\1.\2", regex=True)
            conv = pd.to_numeric(s, errors="coerce")
            conv = conv.where(np.isfinite(conv.astype(float)))
            if col in tm.multiply:  # unit conversion declared in the mapping (cents -> currency)
                # Rounded to 10 decimals: 1999 * 0.01 is 19.990000000000002 in binary floating point.
                conv = (conv * float(tm.multiply[col])).round(10)
            if spec.kind == "integer":
                conv = conv.where(conv.abs() < 2**53).round().astype("Int64")
        elif spec.kind in ("id", "text"):
            if text_like:
                conv = _blank_to_missing(stripped)
            else:
                if pd.api.types.is_float_dtype(s):
                    # Typed files store integer ids as floats once a value is missing: 17850.0 -> '17850'.
                    whole = s.dropna().eq(s.dropna().round()).all()
                    s = s.astype("Int64") if whole else s
                conv = _blank_to_missing(_strip(s))
            if spec.kind == "id" and _all_match(conv, r"-?\d+\.0+"):
                # The same in text exports written by a tool that had them as floats: '17850.0'.
                # Only when every id of the column looks so, so that a real '1.0' id stays.
                conv = conv.str.replace(r"\.0+$", "", regex=True)
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


def _text_categories(s: pd.Series) -> bool:
    """A categorical column of text (how cleaning keeps the tables as read compact)."""
    return isinstance(s.dtype, pd.CategoricalDtype) and (
        s.cat.categories.dtype == object or isinstance(s.cat.categories.dtype, pd.StringDtype))


def as_text(s: pd.Series) -> pd.Series:
    """``s.astype(TEXT)``; a categorical column is expanded by Arrow (pandas would make a Python
    object of every value on the way)."""
    if _text_categories(s) and isinstance(s.cat.categories.dtype, pd.StringDtype):
        import pyarrow as pa
        import pyarrow.compute as pc

        categories = s.cat.categories.array._pa_array
        categories = categories.combine_chunks() if isinstance(categories, pa.ChunkedArray) else categories
        codes = s.cat.codes.to_numpy()
        values = pc.take(categories, pa.array(codes, mask=codes < 0))
        return pd.Series(pd.arrays.ArrowStringArray(values.cast(pa.large_string())), index=s.index,
                         name=s.name, dtype=TEXT)
    return s.astype(TEXT)


def _strip(s: pd.Series) -> pd.Series:
    """Text without surrounding whitespace; a column that has none keeps its array (no copy of
    tens of millions of strings that did not change)."""
    import pyarrow.compute as pc

    text = as_text(s)
    values = text.array._pa_array
    step = 1 << 21  # checked a slice at a time: no second copy of every string just to compare
    for start in range(0, len(values), step):
        piece = values.slice(start, step)
        if pc.all(pc.equal(pc.utf8_trim_whitespace(piece), piece)).as_py() is False:
            return text.str.strip()
    return text


def _blank_to_missing(text: pd.Series) -> pd.Series:
    """Empty text as missing (``text`` already stripped)."""
    blank = (text == "").fillna(False).astype(bool)
    return text.mask(blank) if blank.any() else text


def _all_match(text: pd.Series, pattern: str, probe: int = 1000) -> bool:
    """Whether every non-missing value fully matches ``pattern`` (False when there is none); the
    first values decide most columns without a pass over all of them."""
    head = text.iloc[:probe].dropna()
    if len(head) and not head.str.fullmatch(pattern).all():
        return False
    values = text.dropna()
    return bool(len(values) and values.str.fullmatch(pattern).all())


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
        cols = [c + (f" ← {t.sources[c]}" if c in t.sources else "") for c in t.frame.columns
                if c not in ("_row", MALFORMED)]
        kind = t.encoding or (t.path.suffix.lstrip(".") if t.path is not None else "database")
        rows.append({"table": name, "file": t.origin, "encoding": kind,
                     "rows": len(t.frame), "columns": ", ".join(cols),
                     "ignored (not in the contract)": ignored_note(t)})
    return pd.DataFrame(rows)


def ignored_note(t: RawTable) -> str:
    """The columns a table left out, those that look like undeclared survey items marked as such."""
    return ", ".join(f"{c} (looks like answers on a scale: declare it under survey.items to analyse it)"
                     if c in t.scale_like_columns else c for c in t.dropped_columns)
