"""Where the contract's tables come from: a folder of files (the default) or a database.

``open_source`` takes what a user writes after ``--source`` (or ``--data-dir``, or in notebook
01's ``source`` parameter): a folder, a database URL, a ``.duckdb`` file, or a source config
file. It is the one place that knows the kinds of source: every kind answers the questions of
the :class:`Source` protocol, so the runner and notebook 01 never ask which one they hold.
Adding a kind of source is a class implementing :class:`Source` and one branch in
``open_source``; the runner (``crm_utils.run.pipeline``) does not change.

A source config keeps credentials off the command line (data/README.md)::

    source:
      url: postgresql://crm_reader@db.example.com:5432/crm
      password: ...            # optional; else CRM_SOURCE_PASSWORD, PGPASSWORD or ~/.pgpass
      mapping: crm_mapping.yml # optional; beside this file, or a shipped mapping's name
      schema: crm              # optional; where table names without a schema are looked up

A file holding a password must not be committed: name it ``crm-source*.yml`` (git ignores those)
and make it readable by its owner only.
"""

from __future__ import annotations

import hashlib
import logging
import stat
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import pandas as pd
import yaml

from crm_utils.config import display_path
from crm_utils.coverage import data_end
from crm_utils.data import io
from crm_utils.data.database import DatabaseSource, SourceError, mask_url, url_at_signs
from crm_utils.data.schema import CONTRACTS, ContractError

log = logging.getLogger(__name__)

CONFIG_KEYS = ("url", "password", "mapping", "schema")
DUCKDB_SUFFIXES = (".duckdb", ".ddb")


@runtime_checkable
class Source(Protocol):
    """Where the contract's tables come from, whatever the kind: what the runner and notebook 01 ask.

    :class:`FolderSource` and :class:`~crm_utils.data.database.DatabaseSource` implement it;
    ``isinstance(x, Source)`` holds for any object that has these members.
    """

    #: What it is, in messages such as "01_x.ipynb has no 'source' parameter, so it cannot read
    #: a database": "a data folder", "a database".
    kind: str

    def __str__(self) -> str:
        """How it is shown in messages, logs and notebook 01: never with a password."""
        ...

    def load_raw(self, report_month: str | None = None) -> dict[str, io.RawTable]:
        """The raw tables for cleaning; rows after ``report_month`` may be left out (and counted)."""
        ...

    def fingerprint(self, report_month: str | None = None) -> dict:
        """What run.json records under ``input`` to identify the data; must hold ``combined_sha256``,
        which ``--only`` compares with the month's last report. It is also where an unreadable
        source stops the run, before any notebook."""
        ...

    def order_dates(self) -> pd.Series:
        """Every order date, parsed: for the latest complete month."""
        ...

    def resolved(self) -> Source:
        """The same source independent of the working directory (notebooks run elsewhere)."""
        ...

    def notebook_parameters(self) -> dict[str, str]:
        """The papermill parameters that point notebook 01 at the data, never holding a password.

        ``data_dir`` is one of the parameters every notebook is given (empty when this does not
        name it); any other parameter is given to each notebook that declares it, and notebook 01
        must declare it, or the run stops before it starts."""
        ...

    def run_record(self) -> dict[str, str]:
        """What run.json shows of it under ``parameters`` (masked, as ``str``)."""
        ...

    def kernel_environment(self) -> AbstractContextManager[None]:
        """Held while notebooks run: environment variables they need (a password) and must not
        be given as parameters, since parameters are written into the executed notebooks."""
        ...


@dataclass
class FolderSource:
    """The contract's tables as files in one folder (``orders.csv`` ..., or as ``mapping.yml`` says)."""

    path: Path

    kind = "a data folder"

    def __str__(self) -> str:
        return display_path(self.path)

    def resolved(self) -> FolderSource:
        return FolderSource(self.path.resolve())

    def notebook_parameters(self) -> dict[str, str]:
        """Notebook 01 reads a folder through its ``data_dir`` parameter (an absolute path)."""
        return {"data_dir": str(self.path.resolve())}

    def run_record(self) -> dict[str, str]:
        return {"data_dir": display_path(self.path)}

    def kernel_environment(self) -> AbstractContextManager[None]:
        return nullcontext()

    def mapping(self) -> io.Mapping | None:
        p = self.path / "mapping.yml"
        return io.Mapping.load(p) if p.exists() else None

    def load_raw(self, report_month: str | None = None) -> dict[str, io.RawTable]:
        """Every table file of the folder; rows after ``report_month`` are held back by cleaning."""
        return io.load_raw(self.path)

    def order_dates(self) -> pd.Series:
        """Every order date of the orders file, parsed (for the latest complete month)."""
        orders = io.load_table(self.path, "orders", self.mapping())
        return io.parse_dates(orders.frame["order_date"], orders.mapping.date_formats.get("order_date"))

    def fingerprint(self, report_month: str | None = None) -> dict:
        """SHA-256 and size of every input file the run reads, and one combined digest."""
        mapping = self.mapping() or io.Mapping()
        files = {}
        for table in CONTRACTS:
            p = io.find_table_file(self.path, table, mapping.for_table(table))
            if p is not None:
                files[p.name] = {"table": table, "bytes": p.stat().st_size, "sha256": io.file_fingerprint(p)}
        if (self.path / "mapping.yml").exists():
            p = self.path / "mapping.yml"
            files[p.name] = {"table": None, "bytes": p.stat().st_size, "sha256": io.file_fingerprint(p)}
        combined = hashlib.sha256("".join(f"{k}:{v['sha256']}" for k, v in sorted(files.items())).encode())
        return {"files": files, "combined_sha256": combined.hexdigest()}


def is_url(text: str) -> bool:
    return "://" in text


def open_source(spec: str | Path | Source) -> Source:
    """The source a folder, URL, ``.duckdb`` file or source config names (see the module's doc);
    a :class:`Source` is returned as it is."""
    if isinstance(spec, Source):
        return spec
    text = str(spec).strip()
    if is_url(text):
        return database_source(text)
    path = Path(text).expanduser()
    if path.is_dir():
        return FolderSource(path)
    if path.suffix.lower() in (".yml", ".yaml") and path.is_file():
        return load_config(path)
    if path.suffix.lower() in DUCKDB_SUFFIXES and path.is_file():
        return database_source(path)
    if path.suffix.lower() in (".yml", ".yaml") + DUCKDB_SUFFIXES:
        raise FileNotFoundError(f"source {text} does not exist")
    raise FileNotFoundError(f"data folder {path} does not exist; run `crm-report generate`, point --data-dir "
                            f"at your export, or give --source a database URL or a source config")


def database_source(url: str | Path, *, mapping: io.Mapping | None = None, schema: str | None = None,
                    config: Path | None = None, password: str | None = None,
                    relative_to: Path | None = None) -> DatabaseSource:
    """A database source from a URL (or the path of a ``.duckdb`` file).

    A URL holding more than one raw ``@`` before its host is refused: a password written
    ``Pa@ss`` would be cut at its ``@`` and the rest taken for the host, and shown. The message
    masks everything between ``://`` and the last ``@``."""
    import sqlalchemy as sa

    if isinstance(url, Path):
        parsed = sa.URL.create("duckdb", database=str(url.resolve()))
    else:
        if (ats := url_at_signs(url)) > 1:
            where = f"{config.name}: " if config is not None else ""
            raise SourceError(f"{where}{mask_url(url)} is ambiguous: it holds {ats} '@', so where the password "
                              f"ends and the host begins cannot be told; write an '@' in the user name or "
                              f"password as %40") from None
        try:
            parsed = sa.make_url(url)
        except (sa.exc.ArgumentError, ValueError):  # a port that is not a number: ValueError
            masked = _mask_unparsed(url)
            raise SourceError(f"{masked} is not a database URL; write it as postgresql://user@host:5432/dbname "
                              f"or duckdb:///path/to/file.duckdb") from None
    if "password" in parsed.query:  # libpq also takes ?password=...: treated like the URL's own
        parsed = parsed.difference_update_query(["password"]).set(password=parsed.password or parsed.query["password"])
    if parsed.drivername.split("+")[0] == "duckdb":
        database = Path(parsed.database or "").expanduser()
        if not parsed.database:
            raise SourceError(f"{parsed}: name the DuckDB file or Parquet folder: duckdb:///path/to/crm.duckdb")
        if not database.is_absolute() and relative_to is not None:
            database = relative_to / database
        parsed = parsed.set(database=str(database.resolve()))
    elif parsed.drivername.split("+")[0] in ("postgres", "postgresql"):
        parsed = parsed.set(drivername="postgresql")
    return DatabaseSource(parsed, mapping or io.Mapping(), schema, config, password)


def _mask_unparsed(text: str) -> str:
    """A URL too broken to parse (or ambiguous), shown with everything between ``://`` and the
    last ``@`` masked, the user name kept only where it is unambiguous: :func:`database.mask_url`."""
    return mask_url(text)


def load_config(path: Path) -> DatabaseSource:
    """A source config file (see the module's doc); unknown keys are errors, as in mapping files."""
    from crm_utils.data.importer import resolve_mapping

    try:
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ContractError(path.name, f"is not valid YAML: {exc}") from exc
    spec = doc.get("source") if isinstance(doc, dict) else None
    if not isinstance(doc, dict) or set(doc) != {"source"} or not isinstance(spec, dict):
        raise ContractError(path.name, "must hold one key, 'source', with url and optionally "
                                       "password, mapping and schema")
    unknown = set(spec) - set(CONFIG_KEYS)
    if unknown:
        raise ContractError(path.name, f"'source' has unknown keys {sorted(unknown)}; "
                                       f"known keys are {list(CONFIG_KEYS)}")
    if not isinstance(spec.get("url"), str) or not spec["url"].strip():
        raise ContractError(path.name, "'source' needs 'url', e.g. postgresql://user@host:5432/dbname")
    for key in ("password", "mapping", "schema"):
        value = spec.get(key)
        if value is not None and (isinstance(value, bool) or not isinstance(value, (str, int))):
            raise ContractError(path.name, f"'{key}' must be text; put it in quotes")
    password = str(spec["password"]) if spec.get("password") is not None else None
    if password and path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s holds a password and is readable by others: chmod 600 %s", path.name, path.name)
    mapping = None
    if spec.get("mapping"):
        beside = path.parent / str(spec["mapping"])
        mapping = io.Mapping.load(beside if beside.is_file() else resolve_mapping(str(spec["mapping"])))
    url = spec["url"].strip()
    return database_source(url if is_url(url) else Path(url) if Path(url).is_absolute() else path.parent / url,
                           mapping=mapping, schema=spec.get("schema"), config=path.resolve(), password=password,
                           relative_to=path.parent)


def latest_month_of(dates: pd.Series, where: str = "orders") -> str:
    """The last month the order dates cover to its final day (or to a silence no longer than the
    shop's usual one, :func:`crm_utils.coverage.data_end`).

    Derived from the data, not from today's date, so the same data always gives the same month.
    A stray typo (a line dated 2206) must not become "the latest month": months holding less
    than 10% of a typical month's lines are ignored when looking for the end of the data.
    """
    dates = dates.dropna()
    if dates.empty:
        raise ValueError(f"{where}: no readable order_date, cannot tell the latest month")
    per_month = dates.dt.to_period("M").value_counts().sort_index()
    real = per_month[per_month >= 0.1 * per_month.median()]
    period = real.index.max()
    # The month is complete when the data reach its end by the rule a run uses (coverage.data_end):
    # "latest" never picks a month the run would refuse as partial.
    if data_end(dates[dates.dt.to_period("M") <= period], period.end_time) < period.end_time.normalize():
        period -= 1
    return str(period)
