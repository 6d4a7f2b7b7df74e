"""The contract's tables read from a database: PostgreSQL (through SQLAlchemy) or DuckDB.

A database is the second kind of source beside a folder of files, under the same contract: the
mapping file (data/README.md) names each table's ``table`` or ``query`` and maps its columns, and
every value arrives as text in an :class:`io.RawTable`, so that type checks, quarantine and the
ledger are exactly those of files. Two things differ, because a database can do them better:

* Only rows dated up to the end of the report month are fetched, when the table's date column is
  a ``date`` or ``timestamp``: a WHERE clause keeps later rows in the database, where they are
  counted, and the ledger shows them as held back. A date column stored as text is read whole,
  since its formats cannot be compared exactly in SQL, and cleaning holds later rows back as it
  does for files.
* Rows have no file order, so they are read in a stated one: ``order_by`` from the mapping, else
  the table's primary key, else (DuckDB) the order they were inserted in, else every column.
  ``_row`` numbers the rows in that order.

The password is never shown: the URL is displayed with ``***`` in its place, messages have it
removed, and notebook 01 (another process) gets the URL without it and the password in the
environment variable ``CRM_SOURCE_PASSWORD``. A URL with more than one raw ``@`` is refused as
ambiguous (``sources.database_source``): where the password ends cannot be told, so it is shown
with everything between ``://`` and the last ``@`` masked.

The database is only read, in layers, so that no one of them has to be perfect:

* A mapping's ``query`` must be one read-only statement (:func:`query_refusal`): sqlglot parses
  it in the database's dialect, and anything but a single SELECT (or WITH ... SELECT, or a UNION
  of them) is refused with one line naming the table: other statements (DML, DDL, COPY, ATTACH,
  SET, PRAGMA, INSTALL, LOAD, CALL, transactions), several statements, SELECT ... INTO, FOR
  UPDATE, a data-modifying WITH, functions that reach files, the network or the session
  (DuckDB's read_csv, read_parquet, glob, query ...; PostgreSQL's pg_read_file, lo_export,
  dblink, set_config, nextval ...) and, in DuckDB, table names that name a file ('x.csv').
* The driver runs one statement per call: PostgreSQL queries go through the extended protocol
  (prepared), which refuses a second statement, and DuckDB executes the one statement its own
  parser found, refusing any SQL that is not exactly one SELECT.
* The connection cannot write: PostgreSQL sessions default to read-only transactions and read in
  one READ ONLY transaction; a DuckDB file is opened read-only; DuckDB's access to files,
  extensions and the network is switched off (a Parquet folder's own directory excepted) and its
  configuration locked, so that a query cannot switch it back on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_utils.config import parse_month
from crm_utils.data import io
from crm_utils.data.schema import CONTRACTS, ContractError

#: Where notebook 01 finds a password that was given in the URL on the command line.
PASSWORD_ENV = "CRM_SOURCE_PASSWORD"
CONNECT_TIMEOUT_SECONDS = 10
FETCH_ROWS = 100_000
#: Column types a WHERE clause compares exactly with the end of the month.
DATE_KINDS = ("date", "timestamp", "timestamptz")
#: PostgreSQL's type ids of those types (pg_type.oid).
POSTGRES_DATE_TYPES = {1082: "date", 1114: "timestamp", 1184: "timestamptz"}


class SourceError(ValueError):
    """The database cannot be reached or read. One line that says which, with the password masked."""


class _Refused(Exception):
    """SQL the driver layer will not run (not exactly one SELECT): a query error like the driver's own."""


# ------------------------------------------------------------------------------------------
# URLs shown without their password
# ------------------------------------------------------------------------------------------

#: A password given in a URL's query string (libpq takes ``?password=``): its value, up to the next parameter.
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#\s]*", re.I)
#: ``password=...`` in a driver's message (libpq's connection string), quoted or not.
_PASSWORD_PAIR = re.compile(r"""(\bpassword\s*=\s*)('(?:[^'\\]|\\.)*'?|"(?:[^"\\]|\\.)*"?|[^\s,;&)]+)""", re.I)
#: Anything in a message that looks like a URL.
_URL_IN_TEXT = re.compile(r"\b[a-z][a-z0-9+.-]*://\S+", re.I)


def url_at_signs(text: str) -> int:
    """How many raw ``@`` a URL holds where a user name, password and host can be (its query's
    ``password=`` value left out); more than one makes it ambiguous. 0 for a path (``duckdb:///``)."""
    scheme, sep, rest = text.partition("://")
    if not sep or rest.startswith("/"):
        return 0
    return _QUERY_PASSWORD.sub(r"\1", rest).count("@")


def mask_url(text: str) -> str:
    """A URL as it may be shown, whether it parses or not: everything between ``://`` and the
    last ``@`` masked (a password may hold an unencoded ``@``), the user name kept only where it
    is unambiguous (it ends at the first ``:``, before any ``@``), and a ``password=`` in the
    query string masked: ``postgresql://u:Pa@ss@host/db`` is shown ``postgresql://u:***@host/db``."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        return text
    rest = _QUERY_PASSWORD.sub(r"\1***", rest)
    if rest.startswith("/") or "@" not in rest:
        return f"{scheme}://{rest}"
    userinfo, _, host = rest.rpartition("@")
    user, colon, _ = userinfo.partition(":")
    if "@" in user or "/" in user:  # no telling where the user name ends
        return f"{scheme}://***@{host}"
    return f"{scheme}://{user}{':***' if colon else ''}@{host}"


# ------------------------------------------------------------------------------------------
# A mapping's query: one read-only SELECT
# ------------------------------------------------------------------------------------------

#: sqlglot's dialect for each SQLAlchemy backend (DuckDB has its own connection class).
SQLGLOT_DIALECTS = {"postgresql": "postgres", "duckdb": "duckdb", "sqlite": "sqlite", "mysql": "mysql",
                    "mariadb": "mysql", "mssql": "tsql", "oracle": "oracle"}
#: Functions a query may not call, by dialect: (exact names, name prefixes), lower case. DuckDB's
#: reach files, the network or SQL given as text (file access is off in the connection too);
#: PostgreSQL's read or write server files, reach other servers, run SQL given as text or change
#: the session or sequences (the read-only transaction and the reader's privileges stop most of
#: them too; this says so before the database is asked).
FORBIDDEN_FUNCTIONS = {
    "duckdb": ({"glob", "sniff_csv", "query", "query_table", "getenv", "st_read", "st_read_meta",
                "load_aws_credentials", "nextval", "setval"},
               ("read_", "parquet_", "iceberg_", "delta_", "sqlite_", "postgres_", "mysql_", "ducklake_")),
    "postgres": ({"set_config", "nextval", "setval", "pg_stat_file", "pg_logdir_ls", "loread", "lowrite",
                  "pg_terminate_backend", "pg_cancel_backend", "pg_reload_conf", "pg_rotate_logfile",
                  "pg_promote", "pg_switch_wal", "pg_create_restore_point", "pg_notify",
                  "pg_logical_emit_message", "pg_import_system_collations", "txid_current",
                  "pg_current_xact_id"},
                 ("pg_read_", "pg_ls_", "pg_file_", "lo_", "dblink", "pg_advisory", "pg_try_advisory",
                  "query_to_xml", "cursor_to_xml", "pg_stat_reset", "pg_replication_", "pg_drop_replication",
                  "pg_create_logical_replication", "pg_create_physical_replication")),
}


def _keyword(node, dialect: str | None) -> str:
    """The statement or clause a node is, as SQL names it: DELETE, COPY, LOAD ..."""
    from sqlglot import exp

    if isinstance(node, exp.Command):
        return str(node.this).upper()
    try:
        words = node.sql(dialect=dialect).split()
    except Exception:  # noqa: BLE001 - a name for a message only
        words = []
    return words[0].upper() if words else type(node).__name__.upper()


def _function_names(node, dialect: str | None) -> set[str]:
    """The names a function call may go by: as written (a function sqlglot does not know), or its
    class's name and the name the dialect writes it with (``generate_series`` for ExplodingGenerateSeries)."""
    from sqlglot import exp

    if isinstance(node, exp.Anonymous):
        return {str(node.name).lower()}
    names = {node.sql_name().lower()}
    try:
        names.add(node.sql(dialect=dialect).split("(", 1)[0].strip().lower())
    except Exception:  # noqa: BLE001 - the class's own name was taken
        pass
    return names


def query_refusal(sql: str, dialect: str | None) -> str | None:
    """Why a mapping's ``query`` is refused, or None when it is one read-only SELECT.

    Accepted: exactly one SELECT, WITH ... SELECT or set operation (UNION, INTERSECT, EXCEPT) of
    them, as sqlglot parses it in ``dialect`` ('postgres', 'duckdb', ...). Refused: SQL sqlglot
    cannot parse; no statement or several; any other statement (INSERT, UPDATE, DELETE, MERGE,
    CREATE, DROP, ALTER, TRUNCATE, COPY, ATTACH, DETACH, SET, PRAGMA, INSTALL, LOAD, CALL, USE,
    COMMIT, ...); such a statement anywhere inside (a data-modifying WITH); SELECT ... INTO; FOR
    UPDATE/SHARE; the dialect's :data:`FORBIDDEN_FUNCTIONS`; and in DuckDB a table name holding
    '.', '/', '\\' or ':', which DuckDB would read as a file ('orders.csv', 's3://...')."""
    import sqlglot
    from sqlglot import exp
    from sqlglot.errors import ParseError, SqlglotError

    quiet = logging.getLogger("sqlglot")
    level = quiet.level
    quiet.setLevel(logging.ERROR)  # not "... Falling back to parsing as a 'Command'" beside the one-line error
    try:
        statements = [s for s in sqlglot.parse(sql, read=dialect) if s is not None]
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" at line {first['line']}, column {first['col']}" if first.get("line") else ""
        what = first.get("description") or str(exc)
        return f"it cannot be parsed as {dialect or 'SQL'}: {' '.join(str(what).split())}{where}"
    except (SqlglotError, RecursionError) as exc:
        text = re.sub(r"\x1b\[[0-9;]*m", "", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return f"it cannot be parsed as {dialect or 'SQL'}: {' '.join(text.split())[:200]}"
    finally:
        quiet.setLevel(level)
    if not statements:
        return "it holds no statement"
    if len(statements) > 1:
        kinds = ", ".join(_keyword(s, dialect) for s in statements)
        return f"it holds {len(statements)} statements ({kinds}), where one SELECT belongs"
    root = statements[0]
    while isinstance(root, exp.Subquery) and isinstance(root.this, exp.Query):
        root = root.this
    if not isinstance(root, (exp.Select, exp.SetOperation)):
        return f"it is {_keyword(root, dialect)}, not a SELECT"
    forbidden = (exp.DML, exp.DDL, exp.Drop, exp.Alter, exp.TruncateTable, exp.Copy, exp.Command, exp.Set,
                 exp.Pragma, exp.Attach, exp.Detach, exp.Install, exp.Use, exp.Transaction, exp.Commit,
                 exp.Rollback, exp.Into, exp.Lock)
    exact, prefixes = FORBIDDEN_FUNCTIONS.get(dialect or "", (set(), ()))
    for node in root.walk():
        if isinstance(node, exp.Into):
            return "it holds SELECT ... INTO, which creates a table"
        if isinstance(node, exp.Lock):
            return "it holds FOR UPDATE/SHARE, which locks rows"
        if isinstance(node, forbidden):
            return f"it holds {_keyword(node, dialect)} inside the SELECT"
        if isinstance(node, exp.Func) and (exact or prefixes):
            names = _function_names(node, dialect)
            hit = next((n for n in sorted(names) if n in exact or n.startswith(prefixes)), None)
            if hit:
                return f"it calls {hit}(), which reaches outside the tables or changes state"
        if dialect == "duckdb" and isinstance(node, exp.Table):
            for part in node.parts:
                if isinstance(part, exp.Identifier) and re.search(r"[./\\:]", part.name):
                    return f"it reads '{part.name}', which DuckDB would take for a file"
    return None


def _first_line(exc: BaseException) -> str:
    """A driver's message on one line (they spread hints over several)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(exc).__name__


def _quote(name: str) -> str:
    """An identifier in standard SQL quotes (PostgreSQL, DuckDB, SQLite): case and spaces kept."""
    return '"' + name.replace('"', '""') + '"'


def _cutoff_literal(kind: str, end: pd.Timestamp) -> str:
    """The start of the next month as a SQL literal of the column's own type."""
    if kind == "date":
        return f"DATE '{end:%Y-%m-%d}'"
    if kind == "timestamptz":
        return f"TIMESTAMP WITH TIME ZONE '{end:%Y-%m-%d %H:%M:%S}+00:00'"
    return f"TIMESTAMP '{end:%Y-%m-%d %H:%M:%S}'"


# ------------------------------------------------------------------------------------------
# Values as text, the way io.coerce reads them from files
# ------------------------------------------------------------------------------------------


def arrow_text(arr: pa.Array | pa.ChunkedArray) -> pa.ChunkedArray:
    """A column of any type as text: timestamps ISO 8601 in UTC (fractions only when present),
    dates ISO, numbers as written by Arrow ('19.99', '3'), anything else as Python writes it."""
    chunks = arr.chunks if isinstance(arr, pa.ChunkedArray) else [arr]
    return pa.chunked_array([_chunk_text(c) for c in chunks], pa.string())


def _chunk_text(arr: pa.Array) -> pa.Array:
    t = arr.type
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_dictionary(t):
        return _chunk_text(arr.dictionary_decode())
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.string())
    if pa.types.is_timestamp(t):
        # Arrow stores instants in UTC: viewing the storage without the zone gives UTC wall time
        # (a cast may give local time instead, depending on what else was imported).
        naive = arr.view(pa.timestamp(t.unit)) if t.tz else arr
        per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[t.unit]
        ticks = pc.fill_null(naive.view(pa.int64()), 0).to_numpy(zero_copy_only=False)
        whole = not np.any(ticks % per_second)
        return (naive.cast(pa.timestamp("s")) if whole else naive).cast(pa.string())
    if (pa.types.is_date(t) or pa.types.is_integer(t) or pa.types.is_floating(t)
            or pa.types.is_decimal(t) or pa.types.is_boolean(t)):
        return arr.cast(pa.string())
    return pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())


def python_text(values: list) -> pa.Array:
    """A column of Python values from a driver (datetime, Decimal, str, UUID ...) as text."""
    first = next((v for v in values if v is not None), None)
    if isinstance(first, datetime) and first.tzinfo is not None:
        # To UTC here: once pandera.pandas is imported, pyarrow (26) builds arrays from aware
        # datetimes with their local time taken for UTC.
        values = [v.astimezone(timezone.utc).replace(tzinfo=None) if isinstance(v, datetime) and v.tzinfo
                  else v for v in values]
    try:
        arr = pa.array(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError, TypeError, ValueError, OverflowError):
        arr = pa.array([None if v is None else str(v) for v in values], pa.string())
    return arrow_text(arr).combine_chunks()


def text_frame(table: pa.Table) -> pd.DataFrame:
    """An Arrow table of text columns as a frame with the kit's text dtype (names kept, even repeated)."""
    frame = pd.DataFrame({i: table.column(i).to_pandas(types_mapper={pa.string(): io.TEXT}.get)
                          for i in range(table.num_columns)})
    frame.columns = table.column_names
    return frame


# ------------------------------------------------------------------------------------------
# Two ways to talk to a database: SQLAlchemy (PostgreSQL and others) and DuckDB's own API
# ------------------------------------------------------------------------------------------


class _SqlAlchemyDatabase:
    """A connection through SQLAlchemy, in one read-only transaction so that every query sees the
    same snapshot (PostgreSQL: REPEATABLE READ). Queries go to the driver's cursor unchanged, so a
    ``%`` or ``:name`` in a mapping's query means what it means in SQL.

    PostgreSQL is asked never to write: the session's transactions are read-only by default
    (``default_transaction_read_only``) and the snapshot's transaction is READ ONLY; and each query
    is sent prepared (the extended protocol), which holds one statement only, so that no text
    can end the transaction and run a second one. Strings are read as the SQL standard (and
    sqlglot) read them: a backslash is no escape (``standard_conforming_strings``)."""

    keeps_insertion_order = False

    def __init__(self, url):
        import sqlalchemy as sa

        self.postgres = url.get_backend_name() == "postgresql"
        self.dialect = SQLGLOT_DIALECTS.get(url.get_backend_name())
        args = {}
        if self.postgres:
            url = url.set(drivername="postgresql+psycopg")
            # Timestamps with a time zone arrive in UTC, like offsets read from files; dates as ISO
            # 8601 and floats exactly, whatever the server's defaults.
            args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS, "application_name": "crm-report",
                    "options": "-c TimeZone=UTC -c DateStyle=ISO,YMD -c extra_float_digits=3 "
                               "-c default_transaction_read_only=on -c standard_conforming_strings=on"}
        self.engine = sa.create_engine(url, connect_args=args, poolclass=sa.pool.NullPool)
        self.errors = (sa.exc.SQLAlchemyError, self.engine.dialect.loaded_dbapi.Error, _Refused)
        try:
            self.conn = self.engine.connect()
        except BaseException:
            self.engine.dispose()
            raise
        if self.postgres:
            self.conn = self.conn.execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
        self.conn.begin()
        self.dbapi = self.conn.connection.dbapi_connection
        self._inspector = sa.inspect(self.conn)

    def relations(self, schema: str | None) -> set[str]:
        names = set(self._inspector.get_table_names(schema)) | set(self._inspector.get_view_names(schema))
        if self.postgres:
            names |= set(self._inspector.get_materialized_view_names(schema))
        return names

    def primary_key(self, schema: str | None, name: str) -> list[str]:
        return list(self._inspector.get_pk_constraint(name, schema).get("constrained_columns") or [])

    def _execute(self, cur, sql: str) -> None:
        """One statement: PostgreSQL's extended protocol refuses a second (``prepare``: no
        parameters, so a ``%`` in the SQL stays as written)."""
        if self.postgres:
            cur.execute(sql, prepare=True)
        else:
            cur.execute(sql)

    def describe(self, sql: str) -> list[tuple[str, str]]:
        cur = self.dbapi.cursor()
        try:
            self._execute(cur, sql)
            return [(d[0], POSTGRES_DATE_TYPES.get(d[1], "other") if self.postgres else "other")
                    for d in cur.description]
        finally:
            cur.close()

    def row(self, sql: str) -> tuple:
        cur = self.dbapi.cursor()
        try:
            self._execute(cur, sql)
            return tuple(cur.fetchone())
        finally:
            cur.close()

    def text_table(self, sql: str) -> pa.Table:
        if self.postgres:
            return self._copy_text(sql)
        cur = self.dbapi.cursor()
        try:
            self._execute(cur, sql)
            batches, names = [], None
            while True:
                rows = cur.fetchmany(FETCH_ROWS)
                names = names or [d[0] for d in cur.description]
                if not rows:
                    break
                columns = list(zip(*rows))
                batches.append(pa.table([python_text(list(c)) for c in columns],
                                        names=[f"c{i}" for i in range(len(names))]))
            if not batches:
                return pa.table([pa.array([], pa.string())] * len(names), names=names)
            return pa.concat_tables(batches).rename_columns(names)
        finally:
            cur.close()

    def _copy_text(self, sql: str) -> pa.Table:
        """PostgreSQL writes the rows as CSV itself (COPY), already text, read by Arrow's parser: about
        ten times faster than building a Python object per value. In CSV an unquoted empty field is
        NULL and a quoted one an empty string, and so they are read.

        COPY goes by the simple protocol, which would run a second statement; the same text was
        first prepared inside a SELECT (``describe``), where the server refuses a second one."""
        import pyarrow.csv as pacsv

        names = [n for n, _ in self.describe(f"SELECT * FROM ({sql}) AS crm_copy WHERE 1 = 0")]
        spool = tempfile.SpooledTemporaryFile(max_size=256 << 20)  # large tables go to disk, not memory
        with self.dbapi.cursor() as cur, cur.copy(f"COPY ({sql}) TO STDOUT WITH (FORMAT csv)") as copy:
            for block in copy:
                spool.write(block)
        spool.seek(0)
        if not names or spool.read(1) == b"":
            return pa.table([pa.array([], pa.string())] * len(names), names=names)
        spool.seek(0)
        keys = [f"c{i}" for i in range(len(names))]
        table = pacsv.read_csv(
            spool, read_options=pacsv.ReadOptions(column_names=keys, encoding="utf8"),
            parse_options=pacsv.ParseOptions(newlines_in_values=True),
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(keys, pa.string()), null_values=[""],
                                                 strings_can_be_null=True, quoted_strings_can_be_null=False))
        return table.rename_columns(names)

    def close(self) -> None:
        try:
            self.conn.rollback()
            self.conn.close()
        finally:
            self.engine.dispose()


class _DuckDatabase:
    """A DuckDB file opened read-only, or a folder of Parquet files seen as one view per file
    (``orders.parquet``, or a folder ``orders/`` of Parquet parts, is the view ``orders``).

    Either way DuckDB may not reach files (but its own, and the Parquet folder's), extensions or
    the network (``enable_external_access``), and its configuration is then locked
    (``lock_configuration``), so that no query can switch either back. The Parquet folder's views
    live in memory: what guards that folder against COPY ... TO is that only one SELECT is run,
    as DuckDB's own parser finds it (:meth:`_select`)."""

    keeps_insertion_order = True  # DuckDB's preserve_insertion_order, on by default
    dialect = "duckdb"

    def __init__(self, path: Path):
        import duckdb

        self.errors = (duckdb.Error, _Refused)
        self._select_type = duckdb.StatementType.SELECT
        if path.is_dir():
            self.con = duckdb.connect()
            # Set before access is switched off, which may not be done the other way round.
            allowed = list(dict.fromkeys(str(d) + os.sep for d in (path, path.resolve())))
            self.con.execute("SET allowed_directories = ?", [allowed])
            for p in sorted(path.iterdir()):
                if p.is_file() and p.suffix == ".parquet":
                    files = str(p)
                elif p.is_dir() and any(p.rglob("*.parquet")):
                    files = str(p / "**" / "*.parquet")
                else:
                    continue
                self.con.execute(f"CREATE VIEW {_quote(p.stem)} AS SELECT * FROM read_parquet("
                                 f"'{files.replace(chr(39), chr(39) * 2)}')")
            self.con.execute("SET enable_external_access = false")
        elif path.is_file():
            self.con = duckdb.connect(str(path), read_only=True, config={"enable_external_access": False})
        else:
            raise FileNotFoundError(f"no DuckDB file or Parquet folder at {path}")
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET lock_configuration = true")

    def _select(self, sql: str):
        """The one SELECT ``sql`` holds, as DuckDB's own parser reads it (what DuckDB would run):
        SQL holding several statements, or one of another kind, is refused before any runs."""
        statements = self.con.extract_statements(sql)
        if len(statements) != 1 or statements[0].type != self._select_type:
            kinds = ", ".join(str(s.type.name) for s in statements) or "none"
            raise _Refused(f"refused: DuckDB reads {len(statements)} statement(s) ({kinds}) where one "
                           f"SELECT belongs")
        return statements[0]

    def default_schema(self) -> str | None:
        return self.con.execute("SELECT current_schema()").fetchall()[0][0]

    def relations(self, schema: str | None) -> set[str]:
        rows = self.con.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = ?",
                                [schema or self.default_schema()]).fetchall()
        return {r[0] for r in rows}

    def primary_key(self, schema: str | None, name: str) -> list[str]:
        rows = self.con.execute("SELECT constraint_column_names FROM duckdb_constraints() WHERE "
                                "constraint_type = 'PRIMARY KEY' AND schema_name = ? AND table_name = ?",
                                [schema or self.default_schema(), name]).fetchall()
        return list(rows[0][0]) if rows else []

    def describe(self, sql: str) -> list[tuple[str, str]]:
        out, result = [], self.con.execute(self._select(sql))
        description = result.description
        result.fetchall()  # DuckDB keeps a result open until it is fetched
        for name, typ, *_ in description:
            t = str(typ).upper()
            kind = ("timestamptz" if t.startswith("TIMESTAMP") and "TIME ZONE" in t else
                    "timestamp" if t.startswith("TIMESTAMP") else "date" if t == "DATE" else "other")
            out.append((name, kind))
        return out

    def row(self, sql: str) -> tuple:
        return tuple(self.con.execute(self._select(sql)).fetchall()[0])  # fetchall: DuckDB keeps a result open

    def text_table(self, sql: str) -> pa.Table:
        reader = self.con.sql(self._select(sql)).to_arrow_reader(FETCH_ROWS)
        names = reader.schema.names
        batches = [pa.table([arrow_text(b.column(i)) for i in range(b.num_columns)],
                            names=[f"c{i}" for i in range(len(names))]) for b in reader]
        if not batches:
            return pa.table([pa.array([], pa.string())] * len(names), names=names)
        return pa.concat_tables(batches).rename_columns(names)

    def close(self) -> None:
        self.con.close()


# ------------------------------------------------------------------------------------------
# The source
# ------------------------------------------------------------------------------------------


@dataclass
class TablePlan:
    """How one contract table is read: found, its columns checked against the mapping, its query built."""

    table: str
    label: str  # names the table in the quarantine and in messages: "table crm.orders"
    relation: str  # SQL giving the table's rows: the mapping's query, or SELECT * FROM the table
    columns: list[str]  # every column the database has
    select: list[str]  # the columns read: those the mapping takes into the contract
    mapping: io.TableMapping
    date_column: str | None = None  # the database column holding the contract's date column
    date_kind: str | None = None  # 'date', 'timestamp', 'timestamptz', or 'text' (no WHERE possible)
    order_by: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)  # column -> 'date', 'timestamp', 'timestamptz', 'other'

    def column_sql(self, column: str) -> str:
        """A column as selected: a time with a zone as UTC wall time, as files' offsets are read."""
        q = _quote(column)
        return f"({q} AT TIME ZONE 'UTC') AS {q}" if self.kinds.get(column) == "timestamptz" else q


@dataclass
class DatabaseSource:
    """The contract's tables in a database named by a URL (``postgresql://user@host/db``,
    ``duckdb:///path/crm.duckdb``, or ``duckdb:///path/folder`` of Parquet files); a
    :class:`crm_utils.data.sources.Source`."""

    url: object  # sqlalchemy.URL, with the password when one was given; never shown as such
    mapping: io.Mapping = field(default_factory=io.Mapping)
    schema: str | None = None  # where table names without a schema are looked up
    config: Path | None = None  # the source config this came from
    config_password: str | None = field(default=None, repr=False)

    kind = "a database"

    def __post_init__(self) -> None:
        # A host with an '@' is the rest of a password that held one unencoded (sources.database_source
        # refuses such URLs as text; this catches a URL built some other way).
        if not self.duckdb and "@" in (self.url.host or ""):
            shown = mask_url(self.url.render_as_string(hide_password=False))
            raise SourceError(f"{shown} is ambiguous: its host holds '@'; write an '@' in the user name or "
                              f"password as %40")

    def __repr__(self) -> str:  # shown by a notebook cell that ends with the object: no password
        return f"DatabaseSource({self})"

    # -- naming -----------------------------------------------------------------------------

    @property
    def duckdb(self) -> bool:
        return self.url.drivername.split("+")[0] == "duckdb"

    def __str__(self) -> str:
        """The URL with the password masked (wherever the password comes from): what messages,
        logs, notebook 01 and run.json show."""
        secret, _ = self.password()
        return (self.url.set(password=secret) if secret else self.url).render_as_string(hide_password=True)

    @property
    def notebook_parameter(self) -> str:
        """What notebook 01 is given as ``source``: the config file, or the URL without its password."""
        if self.config is not None:
            return str(self.config.resolve())
        return self.url._replace(password=None).render_as_string(hide_password=False)

    def resolved(self) -> DatabaseSource:
        """Itself: a URL does not depend on the working directory (a DuckDB path is made absolute
        when the source is opened)."""
        return self

    def notebook_parameters(self) -> dict[str, str]:
        """Notebook 01 reads a database through its ``source`` parameter: :attr:`notebook_parameter`."""
        return {"source": self.notebook_parameter}

    def run_record(self) -> dict[str, str]:
        """What run.json shows: the URL with its password masked."""
        return {"source": str(self)}

    def password(self) -> tuple[str | None, str]:
        """The password and where it comes from (said in the error of a failed login)."""
        if self.url.password:
            return str(self.url.password), "the URL"
        if self.config_password:
            return self.config_password, f"{self.config.name if self.config else 'the source config'}"
        if os.environ.get(PASSWORD_ENV):
            return os.environ[PASSWORD_ENV], PASSWORD_ENV
        if self.url.get_backend_name() == "postgresql":
            return None, "PGPASSWORD or ~/.pgpass (none given in the URL, config or CRM_SOURCE_PASSWORD)"
        return None, "nowhere (no password given)"

    @contextmanager
    def kernel_environment(self) -> Iterator[None]:
        """While notebooks run: the password of a URL given on the command line, for notebook 01."""
        secret = str(self.url.password) if self.url.password and self.config is None else None
        if secret is None:
            yield
            return
        before = os.environ.get(PASSWORD_ENV)
        os.environ[PASSWORD_ENV] = secret
        try:
            yield
        finally:
            if before is None:
                os.environ.pop(PASSWORD_ENV, None)
            else:
                os.environ[PASSWORD_ENV] = before

    def _scrub(self, text: str) -> str:
        """A driver's message as it may be shown: the password (as written, URL-encoded or quoted
        as in a libpq connection string), any ``password=...`` value and the password of any URL
        in it (up to the URL's last ``@``) masked."""
        secret, _ = self.password()
        if secret:
            from urllib.parse import quote, quote_plus

            libpq = secret.replace("\\", "\\\\").replace("'", "\\'")
            for form in sorted({secret, quote(secret, safe=""), quote_plus(secret), libpq}, key=len, reverse=True):
                text = text.replace(form, "***")
        text = _PASSWORD_PAIR.sub(r"\1***", text)
        return _URL_IN_TEXT.sub(lambda m: mask_url(m.group(0)), text)

    # -- connecting -------------------------------------------------------------------------

    @contextmanager
    def _connect(self) -> Iterator[_SqlAlchemyDatabase | _DuckDatabase]:
        try:
            if self.duckdb:
                db = _DuckDatabase(Path(self.url.database or ""))
            else:
                secret, _ = self.password()
                db = _SqlAlchemyDatabase(self.url.set(password=secret) if secret else self.url)
        except FileNotFoundError as exc:
            raise SourceError(f"{self}: {exc}") from None
        except Exception as exc:  # a driver's error; its class depends on the driver
            raise SourceError(self._scrub(f"{self}: cannot connect: {self._why(exc)}")) from None
        try:
            yield db
        finally:
            db.close()

    def _why(self, exc: BaseException) -> str:
        """The driver's reason, with a hint where it says a login failed."""
        reason = _first_line(exc)
        if re.search(r"password authentication failed|authentication failed|no password supplied", reason, re.I):
            reason += f" (wrong user or password; the password comes from {self.password()[1]})"
        elif isinstance(exc, ModuleNotFoundError):
            reason += " (no driver for this kind of database is installed)"
        return reason

    @contextmanager
    def _query(self, db, what: str) -> Iterator[None]:
        """Driver errors of a query as one line naming the table; contract errors pass unchanged."""
        try:
            yield
        except db.errors as exc:
            raise SourceError(self._scrub(f"{self}: {what}: {_first_line(exc)}")) from None

    # -- planning ---------------------------------------------------------------------------

    def _plan(self, db, table: str) -> TablePlan | None:
        """Find the table, check its columns against the mapping and the contract (before reading
        any row), and decide which columns to read, in which order, and what the WHERE can be."""
        tm = self.mapping.for_table(table)
        contract = CONTRACTS[table]
        if tm.query:
            relation, label, schema, name = tm.query.strip().rstrip(";"), f"query for {table}", None, None
            refusal = query_refusal(relation, db.dialect)
            if refusal:
                raise SourceError(f"{self}, {label}: refused, {refusal}; a mapping's query must be one "
                                  f"read-only SELECT (or WITH ... SELECT)")
        else:
            qualified = tm.table or table
            schema, _, name = qualified.rpartition(".")
            schema = schema or self.schema or None
            with self._query(db, f"table '{qualified}'"):
                present = db.relations(schema)
            if name not in present:
                if tm.table or contract.required:
                    where = f" in schema '{schema}'" if schema else ""
                    listed = ", ".join(sorted(present)[:20]) or "no tables"
                    raise ContractError(str(self), f"has no table '{name}'{where} for the contract's '{table}'; "
                                                   f"it has {listed}. Name the table in the mapping file "
                                                   f"('table:' or 'query:', see data/README.md)")
                return None
            relation = "SELECT * FROM " + ".".join(_quote(p) for p in ([schema] if schema else []) + [name])
            label = f"table {qualified}"
        with self._query(db, label):
            described = db.describe(f"SELECT * FROM ({relation}) AS crm_source WHERE 1 = 0")
        names = [n for n, _ in described]
        kinds = dict(described)
        where = f"{self}, {label}"
        holder = "the query" if tm.query else "the table"
        empty = pd.DataFrame({i: pd.Series([], dtype=io.TEXT) for i in range(len(names))})
        empty.columns = names
        try:
            shaped, sources = io.apply_mapping(empty, table, tm, where, holder=holder)
        except ContractError:
            # Said again with the table's row count: the message gives it for files too.
            with self._query(db, label):
                rows = int(db.row(f"SELECT COUNT(*) FROM ({relation}) AS crm_source")[0])
            io.apply_mapping(empty, table, tm, where, rows=rows, holder=holder)
            raise
        taken = {sources.get(c, c) for c in shaped.columns if c != io.MALFORMED} & set(names)
        derived_from = {c for d in tm.derive.values() for c in io.derive_inputs(d)}
        select = [c for c in names if c in taken or c in derived_from]
        # A typed date column: the database gives real timestamps, so formats declared for text don't apply.
        typed = {c for c in shaped.columns if contract.column(c) is not None
                 and contract.column(c).kind == "datetime" and kinds.get(sources.get(c, c)) in DATE_KINDS}
        plan_map = replace(tm, date_formats={c: f for c, f in tm.date_formats.items() if c not in typed})
        plan = TablePlan(table, label, relation, names, select, plan_map, kinds=kinds)
        date_col = contract.date_column
        if date_col in shaped.columns and sources.get(date_col, date_col) in names:
            plan.date_column = sources.get(date_col, date_col)
            plan.date_kind = kinds[plan.date_column] if kinds[plan.date_column] in DATE_KINDS else "text"
        plan.order_by = self._order(db, tm, (schema, name), names, select, where, holder)
        return plan

    def _order(self, db, tm: io.TableMapping, relation: tuple[str | None, str | None], names: list[str],
               select: list[str], where: str, holder: str) -> list[str]:
        """The columns that order the rows read: the mapping's ``order_by``, else the table's primary
        key, else none for a DuckDB table (it keeps the order rows were inserted in), else every
        column read, so that two runs number the rows alike."""
        schema, name = relation
        if tm.order_by:
            order = [tm.order_by] if isinstance(tm.order_by, str) else list(tm.order_by)
            for c in order:
                if c not in names:
                    raise ContractError(where, f"the mapping's 'order_by' names '{c}', which {holder} does "
                                               f"not have; it has {names}", column=c)
            return order
        if name is not None and (pk := db.primary_key(schema, name)):
            return pk
        return [] if name is not None and db.keeps_insertion_order else select

    def _keep(self, plan: TablePlan, report_month: str | None) -> str:
        """The WHERE clause: rows dated before the next month starts, or undated (quarantined later)."""
        if report_month is None or plan.date_kind not in DATE_KINDS:
            return "1 = 1"
        col = _quote(plan.date_column)
        return f"({col} < {_cutoff_literal(plan.date_kind, (parse_month(report_month) + 1).start_time)} " \
               f"OR {col} IS NULL)"

    def _counts(self, db, plan: TablePlan, report_month: str | None) -> dict:
        """Rows in the table, rows the WHERE keeps, and the first date and the last date kept."""
        keep = self._keep(plan, report_month)
        if plan.date_kind in DATE_KINDS:
            col = _quote(plan.date_column)
            sql = (f"SELECT COUNT(*), SUM(CASE WHEN {keep} THEN 1 ELSE 0 END), MIN({col}), "
                   f"MAX(CASE WHEN {keep} THEN {col} END) FROM ({plan.relation}) AS crm_source")
        else:  # dates as text: every row is read, and cleaning holds the later ones back
            sql = f"SELECT COUNT(*), COUNT(*), NULL, NULL FROM ({plan.relation}) AS crm_source"
        with self._query(db, plan.label):
            total, read, first, last = db.row(sql)
        return {"rows": int(total), "rows_read": int(read or 0),
                "first_date": _iso(first), "max_date_read": _iso(last)}

    def _tables(self, db, report_month: str | None) -> Iterator[tuple[TablePlan, dict]]:
        """Each contract table the database has, planned and counted, or the error that stops the
        run: what reading and fingerprinting share (so a run stops before its first notebook)."""
        for table in CONTRACTS:
            plan = self._plan(db, table)
            if plan is None:
                continue
            counts = self._counts(db, plan, report_month)
            where = f"{self}, {plan.label}"
            if counts["rows"] == 0:
                raise ContractError(where, f"has no rows; '{table}' needs at least one")
            if table == "orders" and counts["rows_read"] == 0:
                raise ContractError(where, f"has {counts['rows']:,} rows, none dated before "
                                           f"{report_month} ends (the first is dated {counts['first_date']}); "
                                           f"is the report month inside the data?",
                                    column=CONTRACTS[table].date_column)
            yield plan, counts

    # -- reading ----------------------------------------------------------------------------

    def load_raw(self, report_month: str | None = None) -> dict[str, io.RawTable]:
        """Every contract table the database has, as text, with rows dated after ``report_month``
        left in the database (counted) where the date column is typed."""
        out = {}
        with self._connect() as db:
            for plan, counts in self._tables(db, report_month):
                order = f" ORDER BY {', '.join(_quote(c) for c in plan.order_by)}" if plan.order_by else ""
                columns = ", ".join(plan.column_sql(c) for c in plan.select)
                sql = (f"SELECT {columns} FROM ({plan.relation}) AS crm_source "
                       f"WHERE {self._keep(plan, report_month)}{order}")
                with self._query(db, plan.label):
                    frame = text_frame(db.text_table(sql))
                raw = io.shape_table(frame, plan.table, plan.mapping, plan.label, label=plan.label,
                                     held_back_at_source=counts["rows"] - counts["rows_read"])
                raw.dropped_columns = [c for c in plan.columns if c not in plan.select or c in raw.dropped_columns]
                if len(raw.frame) != counts["rows_read"]:  # the transaction's snapshot makes this a bug
                    raise SourceError(f"{self}, {plan.label}: counted {counts['rows_read']:,} rows but read "
                                      f"{len(raw.frame):,}")
                out[plan.table] = raw
        return out

    def order_dates(self) -> pd.Series:
        """Every order date (all rows, no WHERE), parsed: for finding the latest complete month."""
        with self._connect() as db:
            plan = self._plan(db, "orders")
            date_formats = plan.mapping.date_formats.get("order_date")
            if plan.date_column is not None:
                with self._query(db, plan.label):
                    frame = text_frame(db.text_table(f"SELECT {plan.column_sql(plan.date_column)} FROM "
                                                     f"({plan.relation}) AS crm_source"))
                return io.parse_dates(frame.iloc[:, 0], date_formats)
        orders = self.load_raw(None)["orders"]  # a derived date: read the table as a run would
        return io.parse_dates(orders.frame["order_date"], date_formats)

    def fingerprint(self, report_month: str | None = None) -> dict:
        """What identifies the input without reading it: per table its row count, the rows read for
        the month and the last date among them; with the source (password masked) and the mapping."""
        tables = {}
        with self._connect() as db:
            for plan, counts in self._tables(db, report_month):
                counts.pop("first_date")
                tables[plan.table] = {"relation": plan.label, **counts, "date_column": plan.date_column,
                                      "date_type": plan.date_kind,
                                      "filtered_in_database": plan.date_kind in DATE_KINDS and report_month is not None}
                if self.mapping.for_table(plan.table).query:
                    tables[plan.table]["query_sha256"] = hashlib.sha256(plan.relation.encode()).hexdigest()
        mapping_sha = io.file_fingerprint(self.mapping.source) if self.mapping.source else None
        # The digest leaves the password out entirely: how it was given does not change the input.
        where = self.url._replace(password=None).render_as_string(hide_password=False)
        combined = hashlib.sha256(json.dumps({"source": where, "tables": tables, "mapping_sha256": mapping_sha},
                                             sort_keys=True).encode()).hexdigest()
        return {"source": str(self), "tables": tables, "mapping_sha256": mapping_sha, "combined_sha256": combined}


def _iso(value) -> str | None:
    """A date or timestamp from a driver as ISO 8601 text (UTC, naive), or None."""
    if value is None:
        return None
    ts = pd.Timestamp(value)
    if ts.tzinfo is not None:
        ts = ts.tz_convert("UTC").tz_localize(None)
    return ts.isoformat(sep=" ")
