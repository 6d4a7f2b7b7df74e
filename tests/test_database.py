"""Reading the contract from a database: a real PostgreSQL server and DuckDB, held against files.

The same generated data are read from files and from a database; what cleaning makes of them
(ledger, quarantine, tables, headline figures) and, end to end, the monthly run's metrics.json
must be the same. Tests that need PostgreSQL take the ``pg_url`` fixture: the server named by
CRM_TEST_PG_URL, which `eval "$(.ci/postgres.sh start)"` (and .ci/run) provides. Without it they
are skipped on a developer's machine, and fail in CI (CI=true), where the server must be there.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import quote

import duckdb
import pandas as pd
import pytest
import sqlalchemy as sa
import yaml

from conftest import LIGHT_RUN
from crm_utils import synth
from crm_utils.data import cleaning, database, io, sources
from crm_utils.data.schema import CONTRACTS, ContractError
from crm_utils.run import pipeline
from crm_utils.run.cli import main

CLI = [sys.executable, "-m", "crm_utils.run.cli"]
EXAMPLE = Path(__file__).parent.parent / "data" / "examples" / "generic_crm"
MAPPINGS = Path(__file__).parent.parent / "data" / "mappings"
#: Generated data with no unparseable dates, so that every date column can be a real timestamp.
TYPEABLE = replace(synth.DirtRates(), unparseable_order_date=0, unparseable_signup_date=0,
                   interaction_unparseable_date=0)


# ------------------------------------------------------------------------------------------
# Servers, databases and loading data into them
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def pg_url() -> str:
    """The test server's URL (with its password): required in CI, optional on a developer's machine."""
    url = os.environ.get("CRM_TEST_PG_URL")
    if not url:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("CI=true but CRM_TEST_PG_URL is not set: .ci/run must start PostgreSQL with "
                        ".ci/postgres.sh before `make test`")
        pytest.skip("no PostgreSQL server: run `eval \"$(.ci/postgres.sh start)\"` to test against one "
                    "(sets CRM_TEST_PG_URL)")
    return url


def _engine(url: str, **kw) -> sa.Engine:
    return sa.create_engine(sa.make_url(url).set(drivername="postgresql+psycopg"), poolclass=sa.pool.NullPool, **kw)


@pytest.fixture(scope="module")
def pg_database(pg_url):
    """A factory of fresh databases on the test server, dropped at the end of the module."""
    admin = _engine(pg_url, isolation_level="AUTOCOMMIT")
    made = []

    def make(name: str) -> str:
        db = f"crm_{name}_{secrets.token_hex(4)}"
        with admin.connect() as c:
            c.exec_driver_sql(f'CREATE DATABASE "{db}"')
        made.append(db)
        return sa.make_url(pg_url).set(database=db).render_as_string(hide_password=False)

    yield make
    with admin.connect() as c:
        for db in made:
            c.exec_driver_sql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    admin.dispose()


def contract_frames(data_dir: Path, typed: bool) -> dict[str, pd.DataFrame]:
    """The tables as files hold them, ready for a database, with ``line_no`` (the file's row)
    for a key. ``typed``: dates, numbers and integers as real types wherever every value of the
    column converts, as a CRM's own database holds them; otherwise every value as written."""
    out = {}
    for t, raw in io.load_raw(data_dir).items():
        assert io.MALFORMED not in raw.frame.columns  # a ragged CSV record has no database equivalent
        frame = raw.frame.drop(columns="_row")
        if typed:
            conv = io.coerce(raw)
            for col in frame.columns:
                if CONTRACTS[t].column(col).kind in ("datetime", "number", "integer") and not conv.failed[col].any():
                    frame[col] = conv.frame[col]
        frame.insert(0, "line_no", raw.frame["_row"])
        out[t] = frame
    return out


def load_postgres(url: str, frames: dict[str, pd.DataFrame], schema: str = "public") -> None:
    engine = _engine(url)
    with engine.begin() as c:
        c.exec_driver_sql(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
    for t, frame in frames.items():
        frame.to_sql(t, engine, schema=schema, index=False)
        with engine.begin() as c:
            c.exec_driver_sql(f'ALTER TABLE "{schema}"."{t}" ADD PRIMARY KEY (line_no)')
    engine.dispose()


def load_duckdb(path: Path, frames: dict[str, pd.DataFrame]) -> Path:
    """A DuckDB file without keys: DuckDB keeps the order rows were inserted in."""
    con = duckdb.connect(str(path))
    for t, frame in frames.items():
        con.register("frame", frame)
        con.execute(f'CREATE TABLE "{t}" AS SELECT * FROM frame')
        con.unregister("frame")
    con.close()
    return path


def write_parquet(folder: Path, frames: dict[str, pd.DataFrame]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for t, frame in frames.items():
        frame.to_parquet(folder / f"{t}.parquet", index=False)
    return folder


def crm_report(*args: str) -> subprocess.CompletedProcess:
    """The command in its own process, as cron runs it (for whole monthly runs)."""
    return subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=900, env=os.environ.copy())


@pytest.fixture
def cli(capsys, monkeypatch):
    """The command in this process (starting Python and its imports takes seconds): exit code and
    output of ``crm-report <args>`` with the environment changes given."""
    def run(*args: str, env: dict | None = None) -> SimpleNamespace:
        for name, value in (env or {}).items():
            monkeypatch.setenv(name, value)
        capsys.readouterr()
        code = main(list(args))
        out = capsys.readouterr()
        return SimpleNamespace(returncode=code, stdout=out.out, stderr=out.err)
    return run


@pytest.fixture(scope="module")
def dirty(tmp_path_factory) -> Path:
    """600 customers over 14 months with every kind of dirt, unparseable dates included."""
    out = tmp_path_factory.mktemp("dirty")
    synth.generate(out, synth.SynthConfig(customers=600, months=14, seed=5))
    return out


@pytest.fixture(scope="module")
def typeable(tmp_path_factory) -> Path:
    """The same shape, with dirt a typed database can hold: every date readable."""
    out = tmp_path_factory.mktemp("typeable")
    synth.generate(out, synth.SynthConfig(customers=600, months=14, seed=5, dirt=TYPEABLE))
    return out


def _assert_same_cleaning(files: cleaning.CleanResult, db: cleaning.CleanResult, same_rows: bool) -> None:
    """What cleaning made of the files and of the database agrees. ``same_rows``: the database
    read every row in file order, so row numbers, details and raw records agree too; otherwise
    (typed values, later rows left in the database) the reasons and the cleaned values do."""
    pd.testing.assert_frame_equal(files.ledger.drop(columns="file"), db.ledger.drop(columns="file"))
    assert files.metrics() == db.metrics()
    keep = ["table", "row", "reason", "detail", "record"] if same_rows else ["table", "reason"]
    pd.testing.assert_frame_equal(files.quarantine[keep].sort_values(keep, ignore_index=True),
                                  db.quarantine[keep].sort_values(keep, ignore_index=True))
    assert set(files.tables) == set(db.tables)
    for t in files.tables:
        drop = [] if same_rows else ["source_row"]
        pd.testing.assert_frame_equal(files.tables[t].drop(columns=drop), db.tables[t].drop(columns=drop), obj=t)


# ------------------------------------------------------------------------------------------
# The same data from files and from a database
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def dirty_sources(dirty, tmp_path_factory) -> dict:
    """The dirty data as text in a DuckDB file and in a Parquet folder read through DuckDB."""
    root = tmp_path_factory.mktemp("dirty_db")
    frames = contract_frames(dirty, typed=False)
    out = {"duckdb": str(load_duckdb(root / "crm.duckdb", frames)),
           "parquet": f"duckdb:///{write_parquet(root / 'parquet', frames)}"}
    return out


@pytest.mark.parametrize("kind", ["duckdb", "parquet", "postgresql"])
def test_a_database_of_text_gives_what_the_files_give(kind, dirty, dirty_sources, request, key):
    """Every value as the export wrote it (mixed date formats, 'not a date', empty dates): nothing
    is filtered in the database, and the quarantine names the same rows for the same reasons."""
    if kind == "postgresql":
        url = request.getfixturevalue("pg_database")("text")
        load_postgres(url, contract_frames(dirty, typed=False))
    else:
        url = dirty_sources[kind]
    source = sources.open_source(url)
    raw = source.load_raw("2026-10")
    assert {t: r.held_back_at_source for t, r in raw.items()} == dict.fromkeys(CONTRACTS, 0)
    assert raw["orders"].dropped_columns == ["line_no"]  # never read: the contract does not name it
    assert source.fingerprint("2026-10")["tables"]["orders"]["date_type"] == "text"
    files = cleaning.clean(io.load_raw(dirty), "2026-10", key=key)
    db = cleaning.clean(raw, "2026-10", key=key)
    _assert_same_cleaning(files, db, same_rows=True)
    reasons = set(db.quarantine_by_reason["reason"])
    assert {"unparseable_date", "missing_date", "invalid_price", "unknown_customer", "test_account"} <= reasons
    assert db.quarantine["file"].eq("table orders").any()


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
def test_rows_after_the_month_stay_in_the_database_and_are_counted(kind, typeable, tmp_path, request, key):
    """Typed dates: the WHERE clause leaves the later rows in the database; the ledger still counts
    them as held back, and everything cleaning makes agrees with the files."""
    frames = contract_frames(typeable, typed=True)
    if kind == "postgresql":
        url = request.getfixturevalue("pg_database")("typed")
        load_postgres(url, frames)
    else:
        url = str(load_duckdb(tmp_path / "crm.duckdb", frames))
    source = sources.open_source(url)
    month = "2026-08"
    raw = source.load_raw(month)
    full = {t: len(f) for t, f in frames.items()}
    later = {t: int((io.coerce(r).frame[CONTRACTS[t].date_column] >= "2026-09-01").sum())
             for t, r in io.load_raw(typeable).items()}
    assert all(later.values())  # every table has rows after August: the test can fail
    # A date column with an unreadable value (the leads' planted "sometime in spring") stays text in the
    # database: its later rows are read and held back by cleaning, not by the WHERE clause.
    typed = {t: pd.api.types.is_datetime64_any_dtype(frames[t][CONTRACTS[t].date_column]) for t in frames}
    assert not typed["leads"] and typed["orders"]
    at_source = {t: later[t] if typed[t] else 0 for t in later}
    assert {t: r.held_back_at_source for t, r in raw.items()} == at_source
    assert {t: len(r.frame) for t, r in raw.items()} == {t: full[t] - at_source[t] for t in full}
    print_ = source.fingerprint(month)["tables"]
    assert all(v["filtered_in_database"] and v["date_type"] in database.DATE_KINDS
               for t, v in print_.items() if typed[t])
    assert print_["orders"]["rows"] == full["orders"] and print_["orders"]["max_date_read"] < "2026-09-01"
    files = cleaning.clean(io.load_raw(typeable), month, key=key)
    db = cleaning.clean(raw, month, key=key)
    _assert_same_cleaning(files, db, same_rows=False)
    assert db.ledger.set_index("table").loc["orders", "held_back"] == later["orders"]


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
def test_times_with_offsets_are_cut_at_midnight_utc(kind, tmp_path, request, key):
    """A timestamp-with-time-zone column: the WHERE and the text read agree with files, where an
    offset is converted to UTC. 23:30 at -02:00 on 31 October is November in UTC, 00:30 at +02:00
    on 1 November is still October."""
    dates = ["2026-10-15 12:00:00+00:00", "2026-10-31 23:30:00-02:00", "2026-11-01 00:30:00+02:00",
             "2026-10-01 01:00:00+03:00"]
    orders = pd.DataFrame({"order_id": ["O1", "O2", "O3", "O4"], "customer_id": "C1", "order_date": dates,
                           "product_id": "P1", "quantity": "1", "unit_price": "9.99"})
    (tmp_path / "files").mkdir()
    orders.to_csv(tmp_path / "files" / "orders.csv", index=False)
    rows = ", ".join(f"({i}, '{o}', 'C1', TIMESTAMP WITH TIME ZONE '{d}', 'P1', 1, 9.99)"
                     for i, (o, d) in enumerate(zip(orders["order_id"], dates)))
    ddl = ("CREATE TABLE orders (line_no INTEGER PRIMARY KEY, order_id TEXT, customer_id TEXT, "
           "order_date TIMESTAMP WITH TIME ZONE, product_id TEXT, quantity INTEGER, unit_price NUMERIC(8, 2))")
    if kind == "postgresql":
        url = request.getfixturevalue("pg_database")("offsets")
        engine = _engine(url, connect_args={"options": "-c TimeZone=America/Sao_Paulo"})  # not UTC
        with engine.begin() as c:
            c.exec_driver_sql(ddl)
            c.exec_driver_sql(f"INSERT INTO orders VALUES {rows}")
        engine.dispose()
    else:
        url = str(tmp_path / "crm.duckdb")
        con = duckdb.connect(url)
        con.execute("SET TimeZone = 'Asia/Tokyo'")
        con.execute(ddl)
        con.execute(f"INSERT INTO orders VALUES {rows}")
        con.close()
    source = sources.open_source(url)
    assert source.fingerprint("2026-10")["tables"]["orders"]["date_type"] == "timestamptz"
    raw = source.load_raw("2026-10")
    assert raw["orders"].held_back_at_source == 1
    assert list(raw["orders"].frame["order_date"]) == ["2026-10-15 12:00:00", "2026-10-31 22:30:00",
                                                       "2026-09-30 22:00:00"]
    files = cleaning.clean(io.load_raw(tmp_path / "files"), "2026-10", key=key)
    db = cleaning.clean(raw, "2026-10", key=key)
    _assert_same_cleaning(files, db, same_rows=False)
    assert db.ledger.set_index("table").loc["orders", ["kept", "held_back"]].tolist() == [3, 1]


def test_the_same_mapping_reads_a_foreign_export_from_files_and_from_duckdb(tmp_path, key):
    """The example CRM export with its own table and column names, month-first dates, prices in
    cents and a quarantine rule: one mapping file serves both, with 'table' naming the tables."""
    mapping = yaml.safe_load((MAPPINGS / "generic_crm.yml").read_text(encoding="utf-8"))
    con = duckdb.connect(str(tmp_path / "crm.duckdb"))
    for t, spec in mapping["tables"].items():
        frame, _ = io.read_file(EXAMPLE / spec["file"], io.TableMapping(encoding=spec.get("encoding"),
                                                                        delimiter=spec.get("delimiter")))
        con.register("frame", frame)
        con.execute(f'CREATE TABLE "{Path(spec["file"]).stem}" AS SELECT * FROM frame')
        con.unregister("frame")
        spec["table"] = Path(spec["file"]).stem  # files read 'file', databases 'table'
    con.close()
    # ... or 'query', here with an order of its own: DuckDB's rowid is the order of insertion.
    mapping["tables"]["interactions"].update(table=None, query="SELECT *, rowid AS line_no FROM activities;",
                                             order_by="line_no")
    (tmp_path / "crm_mapping.yml").write_text(yaml.safe_dump(mapping, allow_unicode=True), encoding="utf-8")
    (tmp_path / "crm-source.yml").write_text("source:\n  url: duckdb:///crm.duckdb\n  mapping: crm_mapping.yml\n")
    source = sources.open_source(tmp_path / "crm-source.yml")
    raw = source.load_raw("2026-10")
    assert raw["orders"].sources["unit_price"] == "Unit Price (cents)" and raw["orders"].file == "table sales"
    assert raw["interactions"].file == "query for interactions" and "line_no" in raw["interactions"].dropped_columns
    files = cleaning.clean(io.load_raw(EXAMPLE, MAPPINGS / "generic_crm.yml"), "2026-10", key=key)
    db = cleaning.clean(raw, "2026-10", key=key)
    _assert_same_cleaning(files, db, same_rows=True)
    assert "orders.cancelled_order" in db.metrics()["quarantined_by_reason"]


def test_latest_month_and_a_month_outside_the_data(typeable, tmp_path):
    url = str(load_duckdb(tmp_path / "crm.duckdb", contract_frames(typeable, typed=True)))
    assert pipeline.latest_complete_month(url) == pipeline.latest_complete_month(typeable) == "2026-10"
    with pytest.raises(ContractError, match=r"none dated before 2024-01 ends \(the first is dated 2025-09"):
        sources.open_source(url).load_raw("2024-01")


# ------------------------------------------------------------------------------------------
# Errors: one line that says which, the password masked, a non-zero exit
# ------------------------------------------------------------------------------------------


def _one_line_error(res, *needles: str, secret: str | None = None) -> str:
    assert res.returncode == 2, res.stderr
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm-report: "), res.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    if secret:
        assert secret not in res.stderr + res.stdout
    return lines[0]


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # closed again when the socket is: nobody listens there


def test_an_unreachable_server_is_one_line_with_the_password_masked(cli, tmp_path):
    port = _closed_port()
    res = cli("run", "--month", "2026-10", "--reports-dir", str(tmp_path),
                     "--source", f"postgresql://crm:Sup3rSecret@127.0.0.1:{port}/crm")
    line = _one_line_error(res, f"postgresql://crm:***@127.0.0.1:{port}/crm: cannot connect",
                           "Connection refused", secret="Sup3rSecret")
    assert "port" in line
    res = cli("latest-month", "--source", "postgresql://crm:Sup3rSecret@no-such-host.invalid/crm")
    _one_line_error(res, "no-such-host.invalid", "cannot connect", secret="Sup3rSecret")
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith(".lock")]  # no notebook ran, nothing written


def test_a_wrong_password_is_one_line_with_the_password_masked(cli, pg_url, tmp_path):
    url = sa.make_url(pg_url)
    wrong = url.set(password="Not-The-Password-42").render_as_string(hide_password=False)
    res = cli("run", "--month", "2026-10", "--source", wrong, "--reports-dir", str(tmp_path))
    _one_line_error(res, "password authentication failed", "the password comes from the URL",
                    secret="Not-The-Password-42")
    # Without any password the message says where one was looked for.
    bare = url._replace(password=None).render_as_string(hide_password=False)
    res = cli("run", "--month", "2026-10", "--source", bare, "--reports-dir", str(tmp_path),
                     env={"PGPASSWORD": "", database.PASSWORD_ENV: ""})
    _one_line_error(res, "PGPASSWORD", secret=str(url.password))


@pytest.mark.parametrize("kind", ["duckdb", "postgresql"])
def test_a_missing_table_and_a_missing_column_are_one_line_each(cli, kind, typeable, tmp_path, request):
    frames = contract_frames(typeable, typed=True)
    frames = {"orders": frames["orders"].drop(columns="quantity"), "customers": frames["customers"]}
    if kind == "postgresql":
        empty, url = request.getfixturevalue("pg_database")("empty"), request.getfixturevalue("pg_database")("cols")
        load_postgres(url, frames)
        secret = str(sa.make_url(url).password)
    else:
        empty = str(tmp_path / "empty.duckdb")
        duckdb.connect(empty).close()
        url, secret = str(load_duckdb(tmp_path / "crm.duckdb", frames)), None
    res = cli("run", "--month", "2026-10", "--source", empty, "--reports-dir", str(tmp_path / "r"))
    _one_line_error(res, "has no table 'orders'", "for the contract's 'orders'", secret=secret)
    res = cli("run", "--month", "2026-10", "--source", url, "--reports-dir", str(tmp_path / "r"))
    line = _one_line_error(res, "table orders: column 'quantity': required column missing from 'orders' "
                                f"({len(frames['orders'])} rows); the table has", secret=secret)
    assert "line_no" in line  # it says what the table does have
    # A table the mapping names is required too, even an optional one.
    config = tmp_path / "crm-source.yml"
    (tmp_path / "m.yml").write_text("tables:\n  surveys: {table: nps}\n  orders: {columns: {line_no: quantity}}\n")
    config.write_text(yaml.safe_dump({"source": {"url": url, "mapping": "m.yml"}}))
    res = cli("run", "--month", "2026-10", "--source", str(config), "--reports-dir", str(tmp_path / "r"))
    _one_line_error(res, "has no table 'nps' for the contract's 'surveys'", secret=secret)


def test_a_broken_query_and_a_bad_config_say_which(cli, tmp_path, typeable):
    url = str(load_duckdb(tmp_path / "crm.duckdb", contract_frames(typeable, typed=True)))
    (tmp_path / "m.yml").write_text("tables:\n  orders: {query: 'SELECT * FROM orders WHERE qty > 0'}\n")
    (tmp_path / "crm-source.yml").write_text(yaml.safe_dump({"source": {"url": url, "mapping": "m.yml"}}))
    res = cli("latest-month", "--source", str(tmp_path / "crm-source.yml"))
    _one_line_error(res, "query for orders", "qty")
    (tmp_path / "m.yml").write_text("tables:\n  orders: {order_by: [line_no, position]}\n")
    res = cli("latest-month", "--source", str(tmp_path / "crm-source.yml"))
    _one_line_error(res, "table orders: column 'position': the mapping's 'order_by' names 'position'")
    (tmp_path / "bad.yml").write_text("source:\n  url: duckdb:///crm.duckdb\n  passwd: x\n")
    res = cli("latest-month", "--source", str(tmp_path / "bad.yml"))
    _one_line_error(res, "bad.yml", "unknown keys ['passwd']")
    res = cli("latest-month", "--source", "postgresql://crm:pw@host:notaport/db")
    _one_line_error(res, "is not a database URL", secret=":pw@")


def test_the_password_is_masked_and_travels_only_in_the_environment(tmp_path):
    src = sources.open_source("postgresql://crm:p%40ss%20w0rd@db.example.com:5433/crm?sslmode=require")
    assert str(src) == "postgresql://crm:***@db.example.com:5433/crm?sslmode=require"
    assert src.notebook_parameter == "postgresql://crm@db.example.com:5433/crm?sslmode=require"
    assert src.notebook_parameters() == {"source": src.notebook_parameter}  # what the runner gives notebook 01
    assert src.run_record() == {"source": str(src)} and src.resolved() is src
    assert src.password() == ("p@ss w0rd", "the URL")
    assert src._scrub("failed for p@ss w0rd and p%40ss%20w0rd") == "failed for *** and ***"
    before = os.environ.get(database.PASSWORD_ENV)
    with src.kernel_environment():
        assert os.environ[database.PASSWORD_ENV] == "p@ss w0rd"
        assert sources.open_source(src.notebook_parameter).password() == ("p@ss w0rd", database.PASSWORD_ENV)
    assert os.environ.get(database.PASSWORD_ENV) == before
    query = sources.open_source("postgresql://crm@db/crm?password=hunter2")
    assert "hunter2" not in str(query) + query.notebook_parameter + json.dumps([query.notebook_parameters(),
                                                                              query.run_record()])
    config = tmp_path / "crm-source.yml"
    config.write_text("source:\n  url: postgresql://crm@db/crm\n  password: '0123'\n")
    config.chmod(0o600)
    from_config = sources.open_source(config)
    assert from_config.password() == ("0123", "crm-source.yml")
    assert "0123" not in repr(from_config) + str(from_config) and "p@ss" not in repr(src)
    assert from_config.notebook_parameter == str(config.resolve())  # the notebook reads the file itself
    with from_config.kernel_environment():
        assert os.environ.get(database.PASSWORD_ENV) == before
    assert "crm-source*.yml" in (Path(__file__).parent.parent / ".gitignore").read_text().splitlines()


def test_a_config_password_and_pgpassword_log_in(cli, pg_url, tmp_path):
    url = sa.make_url(pg_url)
    bare = url._replace(password=None).render_as_string(hide_password=False)
    config = tmp_path / "crm-source.yml"
    config.write_text(yaml.safe_dump({"source": {"url": bare, "password": str(url.password)}}))
    config.chmod(0o600)
    with pytest.raises(ContractError, match="has no table 'orders'"):  # logged in: the database is empty
        sources.open_source(config).fingerprint("2026-10")
    res = cli("latest-month", "--source", bare, env={"PGPASSWORD": str(url.password)})
    _one_line_error(res, "has no table 'orders'", secret=str(url.password))


# ------------------------------------------------------------------------------------------
# A mapping's query: one read-only SELECT, on a connection that could not write anyway
# ------------------------------------------------------------------------------------------

#: Ways a mapping's ``query`` could write, end the read-only transaction, or reach files, the
#: network or the session: where it runs, the query, what the one-line refusal says, and whether
#: the layers beneath the query check refuse it on their own (one statement per call, a read-only
#: connection, DuckDB without file access). ``{out}`` is a folder anyone may write in (the server
#: writes as its own user), ``{csv}`` a CSV file there, ``{db}`` the DuckDB file, ``{folder}``
#: the Parquet folder.
HOSTILE = [
    ("postgresql", "COMMIT; DROP TABLE t", "it holds 2 statements (COMMIT, DROP)", True),
    ("postgresql", "SELECT 1; DROP TABLE t", "it holds 2 statements (SELECT, DROP)", True),
    ("postgresql", "SELECT 1 AS x) AS q; COMMIT; DROP TABLE t; SELECT * FROM (SELECT 1", "it cannot be parsed", True),
    ("postgresql", "WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", "it holds DELETE inside the SELECT", True),
    ("postgresql", "SELECT * INTO t2 FROM t", "it holds SELECT ... INTO, which creates a table", True),
    ("postgresql", "COPY t TO '{out}/copied.csv'", "it is COPY, not a SELECT", True),
    ("postgresql", "SELECT 1 AS x) AS q; COPY t TO '{out}/copied.csv'; SELECT * FROM (SELECT 1",
     "it cannot be parsed", True),
    ("postgresql", "SELECT * FROM t FOR UPDATE", "it holds FOR UPDATE/SHARE, which locks rows", True),
    ("postgresql", "SELECT nextval('s') AS n", "it calls nextval()", True),
    ("postgresql", "SET default_transaction_read_only = off", "it is SET, not a SELECT", True),
    ("postgresql", "SELECT pg_read_file('/etc/hostname') AS f", "it calls pg_read_file()", False),  # a superuser here
    ("duckdb", "COPY t TO '{out}/copied.csv'", "it is COPY, not a SELECT", True),
    ("duckdb", "ATTACH '{out}/new.duckdb' AS w (READ_WRITE)", "it is ATTACH, not a SELECT", True),
    ("duckdb", "SELECT * FROM read_csv('/etc/passwd')", "it calls read_csv()", True),
    ("duckdb", "SELECT * FROM '{csv}'", "it reads '{csv}', which DuckDB would take for a file", True),
    ("duckdb", "SELECT * FROM query('SELECT * FROM read_csv(''{csv}'')')", "it calls query()", True),
    ("duckdb", "INSTALL httpfs", "it is INSTALL, not a SELECT", True),
    ("duckdb", "LOAD httpfs", "it is LOAD, not a SELECT", True),
    ("duckdb", "SET enable_external_access = true", "it is SET, not a SELECT", True),
    ("duckdb", "SELECT 1 AS x) AS q; COPY t TO '{out}/copied.csv'; SELECT * FROM (SELECT 1", "it cannot be parsed",
     True),
    ("duckdb", "SELECT * FROM read_blob('{db}')", "it calls read_blob()", False),  # DuckDB may read its own file
    ("parquet", "COPY t TO '{folder}/copied.csv'", "it is COPY, not a SELECT", True),
    ("parquet", "SELECT 1 AS x) AS q; COPY t TO '{folder}/copied.csv'; SELECT * FROM (SELECT 1",
     "it cannot be parsed", True),
    ("parquet", "SELECT * FROM read_csv('{csv}')", "it calls read_csv()", True),
]


#: Queries a mapping may hold, in each dialect's own syntax: none is refused.
ACCEPTED = [
    ("postgres", "SELECT DISTINCT ON (a) a, b::date, c->>'x' FROM t WHERE d ILIKE 'x%' AND e = ANY(ARRAY[1, 2])"),
    ("postgres", "SELECT a, count(*) FILTER (WHERE b > 0) OVER (PARTITION BY c ORDER BY d) FROM t GROUP BY a, b, c, d"),
    ("postgres", "SELECT t.*, x.y FROM t CROSS JOIN LATERAL (SELECT 1 AS y) x WHERE ts AT TIME ZONE 'UTC' > now()"),
    ("postgres", "SELECT E'a\\nb', $$x$$, 'it''s', 'C:\\' FROM \"Sales\".\"Order Lines\""),
    ("postgres", "WITH o AS (SELECT * FROM sales.orders) SELECT o.no || '-' || l.no FROM o JOIN sales.lines l "
                 "USING (no);"),
    ("postgres", "(SELECT a FROM t EXCEPT SELECT a FROM u)"),
    ("postgres", "SELECT g FROM generate_series(1, 3) g"),
    ("duckdb", "SELECT * EXCLUDE (a) REPLACE (CAST(b AS DATE) AS b) FROM t"),
    ("duckdb", "FROM t SELECT a QUALIFY row_number() OVER (PARTITION BY a) = 1"),
    ("duckdb", "SELECT strptime(a, '%d/%m/%Y'), list_value(1, 2), struct_pack(k := 1), rowid FROM main.t"),
    ("duckdb", "SELECT * FROM t PIVOT (sum(x) FOR y IN ('a', 'b')) UNION ALL BY NAME SELECT * FROM db.main.u"),
]


@pytest.mark.parametrize("dialect, query", ACCEPTED, ids=[q[:50] for _, q in ACCEPTED])
def test_a_read_only_select_is_accepted_in_its_dialect(dialect, query):
    assert database.query_refusal(query, dialect) is None


def test_a_refused_query_is_one_line_on_the_command_line(cli, tmp_path):
    """sqlglot's own warning about SQL it parses as a command must not add a second line."""
    con = duckdb.connect(str(tmp_path / "crm.duckdb"))
    con.execute("CREATE TABLE orders AS SELECT 1 AS a")
    con.close()
    (tmp_path / "m.yml").write_text("tables:\n  orders: {query: 'LOAD httpfs'}\n")
    (tmp_path / "crm-source.yml").write_text("source:\n  url: duckdb:///crm.duckdb\n  mapping: m.yml\n")
    res = cli("run", "--month", "2026-10", "--source", str(tmp_path / "crm-source.yml"),
              "--reports-dir", str(tmp_path / "r"))
    _one_line_error(res, "query for orders: refused, it is LOAD, not a SELECT")
    assert not [p for p in (tmp_path / "r").iterdir() if not p.name.endswith(".lock")]  # nothing ran


@pytest.fixture(scope="module")
def escape_out():
    """A folder the test server may write in (it runs as its own user): where an escape would put a file."""
    out = Path(tempfile.mkdtemp(prefix="crm-escape-"))
    out.chmod(0o777)
    (out / "plain.csv").write_text("a,b\n1,2\n")
    yield out
    shutil.rmtree(out, ignore_errors=True)


@pytest.fixture(scope="module")
def hostile_targets(request, escape_out, tmp_path_factory):
    """Per kind of database, a function giving (URL, a snapshot of what must not change): a table
    ``t`` of three rows beside a valid ``orders``, and the files of the folders around it."""
    root = tmp_path_factory.mktemp("hostile")
    orders = pd.DataFrame({"line_no": [1, 2, 3], "order_id": ["O1", "O2", "O3"], "customer_id": "C1",
                           "order_date": pd.to_datetime(["2026-09-01", "2026-09-15", "2026-10-02"]).date,
                           "product_id": "P1", "quantity": 1, "unit_price": 9.99})
    t = pd.DataFrame({"a": [1, 2, 3]})
    made: dict = {}

    def files() -> list[str]:
        return sorted(str(p.relative_to(d)) for d in (root, escape_out) for p in d.rglob("*"))

    def target(kind: str):
        if kind in made:
            return made[kind]
        if kind == "postgresql":
            url = request.getfixturevalue("pg_database")("hostile")
            engine = _engine(url)
            orders.to_sql("orders", engine, index=False)
            t.to_sql("t", engine, index=False)
            with engine.begin() as c:
                c.exec_driver_sql("CREATE SEQUENCE s")
            engine.dispose()

            def state():
                with _engine(url).connect() as c:
                    return (c.exec_driver_sql("SELECT count(*) FROM t").scalar(),
                            c.exec_driver_sql("SELECT to_regclass('t2') IS NULL").scalar(),
                            c.exec_driver_sql("SELECT last_value, is_called FROM s").one(), files())
        elif kind == "duckdb":
            path = root / "crm.duckdb"
            url = f"duckdb:///{path}"
            con = duckdb.connect(str(path))
            con.register("o", orders)
            con.execute("CREATE TABLE orders AS SELECT * FROM o")
            con.execute("CREATE TABLE t AS SELECT * FROM range(1, 4) AS r(a)")
            con.close()

            def state():
                con = duckdb.connect(str(path), read_only=True)
                try:
                    return con.execute("SELECT count(*) FROM t").fetchone()[0], files()
                finally:
                    con.close()
        else:
            folder = write_parquet(root / "parquet", {"orders": orders, "t": t})
            url = f"duckdb:///{folder}"

            def state():
                return len(pd.read_parquet(folder / "t.parquet")), files()
        made[kind] = url, state
        return made[kind]

    return target


def _hostile_source(kind: str, query: str, target, out: Path, tmp_path: Path):
    """The source whose mapping reads ``orders`` by ``query``, what must not change, and the
    function that fills a case's placeholders."""
    url, state = target(kind)
    path = sa.make_url(url).database if kind != "postgresql" else ""

    def fill(text: str) -> str:
        return text.format(out=out, csv=out / "plain.csv", db=path, folder=path)

    (tmp_path / "m.yml").write_text(yaml.safe_dump({"tables": {"orders": {"query": fill(query)}}}))
    return sources.database_source(url, mapping=io.Mapping.load(tmp_path / "m.yml")), state, fill


@pytest.mark.parametrize("kind, query, refusal, beneath", HOSTILE, ids=[f"{k}: {q[:40]}" for k, q, *_ in HOSTILE])
def test_a_mapping_query_that_is_not_one_read_only_select_is_refused(kind, query, refusal, beneath,
                                                                     hostile_targets, escape_out, tmp_path):
    """Refused before the database is asked, with one line naming the table and what was refused;
    nothing in the database or on disk changed."""
    source, state, fill = _hostile_source(kind, query, hostile_targets, escape_out, tmp_path)
    before = state()
    with pytest.raises(database.SourceError) as err:
        source.fingerprint("2026-10")
    message = str(err.value)
    assert message.startswith(f"{source}, query for orders: refused, {fill(refusal)}"), message
    assert message.endswith("a mapping's query must be one read-only SELECT (or WITH ... SELECT)")
    assert "\n" not in message
    if kind == "postgresql":
        assert str(sa.make_url(source.url).password) not in message
    assert state() == before


@pytest.mark.parametrize("kind, query", [(k, q) for k, q, _, beneath in HOSTILE if beneath],
                         ids=[f"{k}: {q[:40]}" for k, q, _, beneath in HOSTILE if beneath])
def test_without_the_query_check_the_connection_still_refuses(kind, query, hostile_targets, escape_out, tmp_path,
                                                             monkeypatch):
    """Defence in depth: with the query check switched off, the same SQL reaches the database,
    which runs one statement per call on a connection that cannot write; the run still stops,
    and nothing changed."""
    monkeypatch.setattr(database, "query_refusal", lambda sql, dialect: None)
    source, state, _ = _hostile_source(kind, query, hostile_targets, escape_out, tmp_path)
    before = state()
    with pytest.raises(database.SourceError) as err:
        source.fingerprint("2026-10")
    message = str(err.value)  # the database's own reason: a syntax error, one statement only, no file access ...
    assert message.startswith(f"{source}: query for orders: ") and "refused, it" not in message, message
    assert state() == before


def test_the_escape_folder_is_writable_by_the_server(pg_url, escape_out):
    """What the tests above check would be written there, if it were not refused."""
    engine = _engine(pg_url)
    with engine.begin() as c:
        c.exec_driver_sql(f"COPY (SELECT 1 AS a) TO '{escape_out / 'control.csv'}'")
    engine.dispose()
    assert (escape_out / "control.csv").read_text() == "1\n"
    (escape_out / "control.csv").unlink()


@pytest.mark.parametrize("kind", ["postgresql", "duckdb", "parquet"])
def test_a_valid_query_is_read_as_written(kind, hostile_targets, tmp_path):
    """A SELECT with WITH, UNION and a '%' (no placeholder: the query goes to the driver as written)."""
    url, _ = hostile_targets(kind)
    query = ("WITH o AS (SELECT * FROM orders WHERE order_id LIKE 'O%') "
             "SELECT * FROM o UNION ALL SELECT * FROM orders WHERE 1 = 0;")
    (tmp_path / "m.yml").write_text(yaml.safe_dump({"tables": {"orders": {"query": query, "order_by": "line_no"}}}))
    source = sources.database_source(url, mapping=io.Mapping.load(tmp_path / "m.yml"))
    raw = source.load_raw("2026-09")
    assert list(raw["orders"].frame["order_id"]) == ["O1", "O2"] and raw["orders"].held_back_at_source == 1
    assert raw["orders"].file == "query for orders"


@pytest.mark.parametrize("kind", ["postgresql", "duckdb", "parquet"])
def test_the_connection_itself_cannot_write_or_reach_files(kind, hostile_targets, escape_out):
    """Below the query check and the one-statement rule: SQL given straight to the driver."""
    url, state = hostile_targets(kind)
    before = state()
    source = sources.open_source(url)
    with source._connect() as db:
        if kind == "postgresql":
            for sql in ("COMMIT; DROP TABLE t", "COMMIT; DELETE FROM t", "SELECT nextval('s')"):
                cur = db.dbapi.cursor()
                with pytest.raises(db.errors, match="read-only transaction"):
                    cur.execute(sql)  # the simple protocol, several statements: each transaction is read-only
                db.dbapi.rollback()
            with pytest.raises(db.errors, match="multiple commands"):
                db.row("SELECT 1; DROP TABLE t")
        else:
            outside = escape_out / "copied.csv"
            refused = [f"COPY t TO '{outside}'", f"ATTACH '{escape_out / 'new.duckdb'}' AS w (READ_WRITE)",
                       "SELECT * FROM read_csv('/etc/passwd')", f"SELECT * FROM '{escape_out / 'plain.csv'}'",
                       "INSTALL httpfs", "LOAD httpfs", "SET enable_external_access = true",
                       "SET lock_configuration = false", "SET allowed_directories = ['/']"]
            if kind == "duckdb":
                refused += ["DROP TABLE t", "DELETE FROM t", "CREATE TABLE t3 AS SELECT 1"]  # opened read-only
            for sql in refused:
                with pytest.raises(db.errors):
                    db.con.execute(sql)
            with pytest.raises(db.errors, match=r"DuckDB reads 2 statement\(s\) \(SELECT, COPY\)"):
                db.row(f"SELECT 1; COPY t TO '{outside}'")
            assert db.con.execute("SELECT current_setting('enable_external_access')").fetchone()[0] is False
    assert state() == before


# ------------------------------------------------------------------------------------------
# A password with an unencoded '@', and drivers that echo what they were given
# ------------------------------------------------------------------------------------------


def test_a_url_with_an_unencoded_at_is_one_line_without_the_password(cli, tmp_path):
    port = _closed_port()
    res = cli("run", "--month", "2026-10", "--reports-dir", str(tmp_path),
              "--source", f"postgresql://crm:Sup3r@Secret@127.0.0.1:{port}/crm")
    line = _one_line_error(res, f"postgresql://crm:***@127.0.0.1:{port}/crm is ambiguous", "%40", secret="Sup3r")
    assert "Secret" not in line and "cannot connect" not in line  # refused before any connection is tried
    config = tmp_path / "crm-source.yml"
    config.write_text(yaml.safe_dump({"source": {"url": "postgresql://crm@srv:Pa@ss@db.example.com/crm"}}))
    res = cli("latest-month", "--source", str(config))
    _one_line_error(res, "crm-source.yml: postgresql://***@db.example.com/crm is ambiguous", secret="Pa@ss")
    assert "ss@" not in res.stderr
    assert not [p for p in tmp_path.iterdir() if not p.name.endswith((".lock", ".yml"))]


class _EchoingDriver:
    """A driver whose connection error repeats what it was given, as some do."""

    def __init__(self, url):
        password = url.password
        raise RuntimeError(f"could not connect to {url.render_as_string(hide_password=False)} "
                           f"(host=db.example.com password='{password}' user=crm; tried "
                           f"postgresql://admin:hunter2@db.example.com/crm and password=hunter2)\nsecond line")


@pytest.mark.parametrize("given", ["url", "config", "environment"])
def test_a_driver_that_echoes_the_password_does_not_show_it(given, monkeypatch, tmp_path):
    secret = "it's@a/S3cret\\"
    monkeypatch.setattr(database, "_SqlAlchemyDatabase", _EchoingDriver)
    monkeypatch.delenv(database.PASSWORD_ENV, raising=False)
    bare = "postgresql://crm@db.example.com/crm"
    if given == "url":
        source = sources.open_source(f"postgresql://crm:{quote(secret, safe='')}@db.example.com/crm")
    elif given == "config":
        (tmp_path / "crm-source.yml").write_text(yaml.safe_dump({"source": {"url": bare, "password": secret}}))
        (tmp_path / "crm-source.yml").chmod(0o600)
        source = sources.open_source(tmp_path / "crm-source.yml")
    else:
        monkeypatch.setenv(database.PASSWORD_ENV, secret)
        source = sources.open_source(bare)
    with pytest.raises(database.SourceError) as err:
        source.fingerprint("2026-10")
    message = str(err.value)
    assert message.startswith("postgresql://crm:***@db.example.com/crm: cannot connect: could not connect to "
                              "postgresql://crm:***@db.example.com/crm (host=db.example.com password=*** user=crm; "
                              "tried postgresql://admin:***@db.example.com/crm and password=***)"), message
    for fragment in ("S3cret", "it's", "hunter2", quote(secret, safe=""), "second line"):
        assert fragment not in message


# ------------------------------------------------------------------------------------------
# End to end: the monthly run from PostgreSQL and from files
# ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def two_runs(pg_database, typeable, tmp_path_factory):
    """The month 2026-09 run once from the files and once from PostgreSQL, holding the same data
    with typed columns (so September's WHERE leaves October in the database). The password is
    given in the URL on the command line, the hardest place to keep it out of what the run writes.

    The second run goes into the same reports folder, over the first one's report (kept for the
    comparison as a copy): the pair is also the same month run twice (a whole run costs about two
    minutes, so the rerun test shares it; tests/test_pipeline.py reruns its own run without a server)."""
    url = pg_database("e2e")
    load_postgres(url, contract_frames(typeable, typed=True))
    root = tmp_path_factory.mktemp("two_runs")
    files = crm_report("run", "--month", "2026-09", "--data-dir", str(typeable), "--reports-dir", str(root / "reports"),
                       *LIGHT_RUN)
    assert files.returncode == 0, files.stderr
    shutil.copytree(root / "reports" / "2026-09", root / "files")
    db = crm_report("run", "--month", "2026-09", "--source", url, "--reports-dir", str(root / "reports"), *LIGHT_RUN)
    assert db.returncode == 0, db.stderr
    return root / "files", root / "reports" / "2026-09", url, [files, db]


def test_the_same_month_twice_gives_the_same_metrics(two_runs):
    """A month run again over its report (cron's retry, a rerun after a fix) replaces it whole and, on
    the same data, gives the same figures to the byte: every notebook is deterministic given the seed."""
    files, again, _, _ = two_runs
    assert (again / "metrics.json").read_text() == (files / "metrics.json").read_text()
    first, second = (json.loads((d / "run.json").read_text())["parameters"] for d in (files, again))
    assert "data_dir" in first and "source" in second and "data_dir" not in second  # the folder is the rerun's
    assert (again / "01_data_cleaning.ipynb").read_text().count("reading postgresql://") >= 1
    # Swapped in whole: no old, partial or failed folder left beside it (the month's lock file stays).
    assert sorted(p.name for p in again.parent.iterdir()) == [".2026-09.lock", "2026-09"]


def test_the_monthly_run_from_postgresql_gives_the_metrics_of_the_files(two_runs):
    files, db, _, _ = two_runs
    metrics = json.loads((db / "metrics.json").read_text())
    assert metrics == json.loads((files / "metrics.json").read_text())
    assert set(metrics) == {nb.stem for nb in pipeline.discover_notebooks()}
    held = metrics["01_data_cleaning"]["tables"]
    assert held["orders"]["held_back"] > 0  # October: left in the database, counted as held back
    for t, row in held.items():
        assert row["rows_in"] == row["kept"] + row["quarantined"] + row["merged"] + row["held_back"], t


def test_run_json_differs_only_in_where_the_input_came_from(two_runs):
    """The input fingerprint (file checksums against table counts) and the parameter naming the
    source differ by nature, timings and clock times by chance; nothing else may."""
    files, db, url, _ = two_runs
    a, b = (json.loads((d / "run.json").read_text()) for d in (files, db))
    # currency: the generated folder declares EUR in its mapping.yml; the database copy declares none.
    volatile = ("input", "parameters", "durations_seconds", "started_utc", "finished_utc", "currency")
    assert {k: v for k, v in a.items() if k not in volatile} == {k: v for k, v in b.items() if k not in volatile}
    assert {k: v for k, v in a["parameters"].items() if k != "data_dir"} == \
        {k: v for k, v in b["parameters"].items() if k != "source"}
    masked = sa.make_url(url).render_as_string(hide_password=True)
    assert b["parameters"]["source"] == b["input"]["source"] == masked and "***" in masked
    orders = b["input"]["tables"]["orders"]
    assert orders["filtered_in_database"] and orders["rows_read"] < orders["rows"]
    assert orders["max_date_read"].startswith("2026-09-30")
    led = json.loads((db / "metrics.json").read_text())["01_data_cleaning"]["tables"]["orders"]
    assert orders["rows"] == led["rows_in"] and orders["rows"] - orders["rows_read"] <= led["held_back"]


def test_no_password_in_any_file_the_run_writes_or_prints(two_runs):
    files, db, url, results = two_runs
    password = str(sa.make_url(url).password)
    assert len(password) >= 16
    written = [p for p in db.rglob("*") if p.is_file()]
    assert len(written) > 10 and "01_data_cleaning.ipynb" in {p.name for p in written}
    assert [p.name for p in written if password.encode() in p.read_bytes()] == []
    assert all(password not in r.stdout + r.stderr for r in results)
    notebook = (db / "01_data_cleaning.ipynb").read_text()
    assert "reading postgresql://crm_test:***@" in notebook  # notebook 01 says where it read from
    assert re.search(r"source = \\\"postgresql://crm_test@127\.0\.0\.1:\d+/crm_e2e_", notebook)


def test_rerunning_one_notebook_checks_the_database_did_not_change(two_runs, cli):
    """``--only`` reruns notebooks on top of a report only if the input is the same: for a database,
    the same counts and last dates (whichever way the password is given)."""
    _, db, url, _ = two_runs
    recorded = json.loads((db / "run.json").read_text())["input"]["combined_sha256"]
    bare = sa.make_url(url)._replace(password=None).render_as_string(hide_password=False)
    os.environ[database.PASSWORD_ENV] = str(sa.make_url(url).password)
    try:
        assert sources.open_source(bare).fingerprint("2026-09")["combined_sha256"] == recorded
    finally:
        os.environ.pop(database.PASSWORD_ENV)
    engine = _engine(url)
    with engine.begin() as c:
        c.exec_driver_sql("DELETE FROM surveys WHERE line_no = (SELECT MIN(line_no) FROM surveys)")
    engine.dispose()
    res = cli("run", "--month", "2026-09", "--only", "02", "--source", url, "--reports-dir", str(db.parent))
    _one_line_error(res, "input data differ", secret=str(sa.make_url(url).password))


def test_the_documented_source_config_and_mappings_are_valid(tmp_path):
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Reading from a database", 1)[1].split("\n## ", 1)[0]
    config, mapping = (block.split("```", 1)[0] for block in section.split("```yaml\n")[1:3])
    (tmp_path / "crm_mapping.yml").write_text(mapping, encoding="utf-8")
    (tmp_path / "crm-source.yml").write_text(config, encoding="utf-8")
    (tmp_path / "crm-source.yml").chmod(0o600)
    src = sources.open_source(tmp_path / "crm-source.yml")
    assert str(src) == "postgresql://crm_reader:***@db.example.com:5432/crm" and src.schema == "crm"
    orders = src.mapping.for_table("orders")
    assert (orders.table, orders.order_by, orders.columns["Qty"]) == ("sales.order_lines", "line_id", "quantity")
    data_readme = (Path(__file__).parent.parent / "data" / "README.md").read_text(encoding="utf-8")
    block = data_readme.split("in place of `file`", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "m.yml").write_text(block, encoding="utf-8")
    assert io.Mapping.load(tmp_path / "m.yml").for_table("orders").order_by == ["order_no", "line_no"]
