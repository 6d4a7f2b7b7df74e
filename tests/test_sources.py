"""The ``Source`` protocol: the runner works with any source without asking which kind it holds.

Both shipped kinds (a data folder, a database) satisfy the protocol and give the parameters and
run record they always gave; a source class written here, implementing only the protocol, runs
through ``run_month`` (with two tiny notebooks, so it takes seconds) with no change to the runner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Iterator

import nbformat
import pandas as pd
import pytest

from crm_utils.config import PROJECT_ROOT
from crm_utils.data import database, io, sources
from crm_utils.data.sources import FolderSource, Source
from crm_utils.run import pipeline

ORDERS = ("order_id,customer_id,order_date,product_id,quantity,unit_price\n"
          "O1,C1,2026-08-03,P1,1,9.99\nO2,C2,2026-09-14,P2,2,4.50\nO3,C1,2026-09-30,P1,1,9.99\n"
          "O4,C3,2026-10-01,P3,3,1.25\n")
SECRET = "Sup3r-Secret-42"


@pytest.fixture
def folder(tmp_path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "orders.csv").write_text(ORDERS)
    return data


# ------------------------------------------------------------------------------------------
# A kind of source the runner has never heard of
# ------------------------------------------------------------------------------------------


@dataclass
class PinnedFolder:
    """A folder of files known by a label: shown and recorded as the label, handed to notebook 01
    as ``data_dir`` plus a ``snapshot`` parameter of its own, and with an environment variable
    that notebooks see while they run but that no parameter carries."""

    path: Path
    label: str

    kind = "a pinned snapshot"
    ENV = "CRM_TEST_SNAPSHOT_TOKEN"

    def __str__(self) -> str:
        return f"snapshot {self.label}"

    def load_raw(self, report_month: str | None = None) -> dict[str, io.RawTable]:
        return io.load_raw(self.path)

    def fingerprint(self, report_month: str | None = None) -> dict:
        digest = hashlib.sha256((self.path / "orders.csv").read_bytes()).hexdigest()
        return {"snapshot": self.label, "combined_sha256": digest}

    def order_dates(self) -> pd.Series:
        return pd.to_datetime(pd.read_csv(self.path / "orders.csv", dtype=str)["order_date"])

    def resolved(self) -> PinnedFolder:
        return replace(self, path=self.path.resolve())

    def notebook_parameters(self) -> dict[str, str]:
        return {"data_dir": str(self.path), "snapshot": self.label}

    def run_record(self) -> dict[str, str]:
        return {"snapshot": self.label}

    @contextmanager
    def kernel_environment(self) -> Iterator[None]:
        os.environ[self.ENV] = f"token-of-{self.label}"
        try:
            yield
        finally:
            os.environ.pop(self.ENV, None)


def _notebook(path: Path, extra_parameters: str = "") -> None:
    """A numbered notebook that writes what it was given (parameters, environment) to the run folder,
    and how many order lines it read from the source those parameters name."""
    params = nbformat.v4.new_code_cell('report_month = ""\ndata_dir = ""\nrun_dir = ""\nseed = 0\n'
                                       + extra_parameters)
    params.metadata["tags"] = ["parameters"]
    body = nbformat.v4.new_code_cell(
        "import json, os\nfrom pathlib import Path\nfrom crm_utils.data import sources\n"
        "given = {k: v for k, v in dict(globals()).items()\n"
        "         if k in ('report_month', 'data_dir', 'seed', 'source', 'snapshot')}\n"
        "where = globals().get('source') or data_dir\n"
        "lines = len(sources.open_source(where).load_raw(report_month)['orders'].frame) if where else None\n"
        f"env = {{k: os.environ.get(k) for k in ({PinnedFolder.ENV!r}, {database.PASSWORD_ENV!r})}}\n"
        "Path(run_dir, NAME + '.json').write_text(\n"
        "    json.dumps({'given': given, 'env': env, 'lines': lines}))\n".replace("NAME", repr(path.stem)))
    nb = nbformat.v4.new_notebook(cells=[params, body])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)


@pytest.fixture
def tiny_notebooks(tmp_path) -> Path:
    """01 reads the data (declaring ``source`` and ``snapshot``); 02 declares neither."""
    folder = tmp_path / "notebooks"
    folder.mkdir()
    _notebook(folder / "01_read.ipynb", 'source = ""\nsnapshot = ""\n')
    _notebook(folder / "02_after.ipynb")
    return folder


def _seen(report_dir: Path, notebook: str) -> dict:
    return json.loads((report_dir / f"{notebook}.json").read_text())


# ------------------------------------------------------------------------------------------
# The protocol and the two shipped kinds
# ------------------------------------------------------------------------------------------


def test_both_kinds_and_a_new_one_satisfy_the_protocol(folder, tmp_path):
    config = tmp_path / "crm-source.yml"
    config.write_text("source:\n  url: postgresql://crm@db/crm\n")
    kinds = [sources.open_source(folder), sources.open_source(f"postgresql://crm:{SECRET}@db/crm"),
             sources.open_source(f"duckdb:///{tmp_path / 'crm.duckdb'}"), sources.open_source(config),
             PinnedFolder(folder, "2026-10")]
    assert [type(s).__name__ for s in kinds] == ["FolderSource", "DatabaseSource", "DatabaseSource",
                                                  "DatabaseSource", "PinnedFolder"]
    for s in kinds:
        assert isinstance(s, Source), s
        assert isinstance(s.resolved(), Source) and isinstance(s.kind, str)
        assert sources.open_source(s) is s  # a source is taken as it is: no kind is looked up


def test_something_lacking_a_member_is_not_a_source(folder):
    @dataclass
    class Incomplete:  # everything but kernel_environment
        path: Path
        kind = "a half source"
        load_raw = PinnedFolder.load_raw
        fingerprint = PinnedFolder.fingerprint
        order_dates = PinnedFolder.order_dates
        resolved = PinnedFolder.resolved
        notebook_parameters = PinnedFolder.notebook_parameters
        run_record = PinnedFolder.run_record

    assert not isinstance(Incomplete(folder), Source)
    assert not isinstance(folder, Source) and not isinstance(str(folder), Source)


def test_a_folder_gives_its_absolute_path_and_records_its_display_path(folder, monkeypatch):
    monkeypatch.chdir(folder.parent)
    relative = sources.open_source("data")
    assert relative.path == Path("data") and relative.resolved().path == folder.resolve()
    assert relative.notebook_parameters() == {"data_dir": str(folder.resolve())}
    assert relative.resolved().run_record() == {"data_dir": "data"}  # outside the project: its name
    inside = FolderSource(PROJECT_ROOT / "tests" / "data")
    assert inside.run_record() == {"data_dir": "tests/data"}  # inside: relative to the project
    with relative.kernel_environment():
        pass
    assert relative.kind == "a data folder"


def test_a_database_gives_its_url_without_the_password_and_records_it_masked(tmp_path, monkeypatch):
    monkeypatch.delenv(database.PASSWORD_ENV, raising=False)
    in_url = sources.open_source(f"postgresql://crm:{SECRET}@db.example.com:5433/crm?sslmode=require")
    assert in_url.resolved() is in_url and in_url.kind == "a database"
    assert in_url.notebook_parameters() == {"source": "postgresql://crm@db.example.com:5433/crm?sslmode=require"}
    assert in_url.run_record() == {"source": "postgresql://crm:***@db.example.com:5433/crm?sslmode=require"}
    in_query = sources.open_source(f"postgresql://crm@db/crm?password={SECRET}")
    assert in_query.notebook_parameters() == {"source": "postgresql://crm@db/crm"}
    assert in_query.run_record() == {"source": "postgresql://crm:***@db/crm"}
    config = tmp_path / "crm-source.yml"
    config.write_text(f"source:\n  url: postgresql://crm@db/crm\n  password: '{SECRET}'\n")
    config.chmod(0o600)
    in_config = sources.open_source(config)
    assert in_config.notebook_parameters() == {"source": str(config.resolve())}  # the notebook reads the file
    assert in_config.run_record() == {"source": "postgresql://crm:***@db/crm"}
    duck = sources.open_source(f"duckdb:///{tmp_path / 'crm.duckdb'}")
    assert duck.notebook_parameters() == duck.run_record() == {"source": f"duckdb:///{tmp_path / 'crm.duckdb'}"}
    for src in (in_url, in_query, in_config):
        shown = json.dumps([src.notebook_parameters(), src.run_record(), str(src), repr(src),
                            pipeline.base_parameters(src, "2026-10", tmp_path, 42)])
        assert SECRET not in shown


#: URLs whose password holds an unencoded '@' (or whose user name does): where the password ends
#: cannot be told, so each is refused, shown masked from '://' to its last '@'.
AMBIGUOUS = [
    ("postgresql://u:Pa@ss@host/db", "postgresql://u:***@host/db", ["Pa", "ss@"]),
    ("postgresql://u:Pa@ss@host:5432/db?sslmode=require", "postgresql://u:***@host:5432/db?sslmode=require",
     ["Pa", "ss@"]),
    ("postgresql://u@x:Pa@ss@host/db", "postgresql://***@host/db", ["Pa", "ss@", "x:"]),  # whose user name?
    ("postgresql://u@srv:pw@host/db", "postgresql://***@host/db", ["pw", "srv"]),
    ("postgres://:p@s/s@w@host/db", "postgres://:***@host/db", ["p@", "s/s", "w@"]),
    ("postgresql://u:Pa@ss@host:notaport/db", "postgresql://u:***@host:notaport/db", ["Pa", "ss@"]),  # unparseable too
    ("postgresql://u:Pa@ss@host/db?password=x@y", "postgresql://u:***@host/db?password=***", ["Pa", "ss@", "x@y"]),
]


@pytest.mark.parametrize("url, shown, hidden", AMBIGUOUS, ids=[a[0] for a in AMBIGUOUS])
def test_a_url_with_an_unencoded_at_is_refused_as_ambiguous_and_masked(url, shown, hidden, tmp_path):
    with pytest.raises(database.SourceError) as err:
        sources.open_source(url)
    message = str(err.value)
    assert message.startswith(f"{shown} is ambiguous: it holds {url.split('?')[0].count('@')} '@'"), message
    assert message.endswith("write an '@' in the user name or password as %40")
    assert not [h for h in hidden if h in message]
    assert sources._mask_unparsed(url) == database.mask_url(url) == shown
    config = tmp_path / "crm-source.yml"
    config.write_text(f"source:\n  url: '{url}'\n")
    with pytest.raises(database.SourceError, match=rf"^crm-source\.yml: {re.escape(shown)} is ambiguous"):
        sources.open_source(config)


#: URLs that are not ambiguous, and how they are shown (str, run.json) or masked in a message.
SHOWN = [
    ("postgresql://u:Pa%40ss@host/db", "postgresql://u:***@host/db"),
    ("postgresql://u:pa:ss/w?rd#x@host/db", "postgresql://u:***@host/db"),
    ("postgresql://u%40srv:pw@host/db", "postgresql://u%40srv:***@host/db"),
    ("postgresql://u@host/db?password=x%40y", "postgresql://u:***@host/db"),
    ("postgresql://host/db", "postgresql://host/db"),
    ("postgresql://u@host/db", "postgresql://u@host/db"),
]


@pytest.mark.parametrize("url, shown", SHOWN, ids=[s[0] for s in SHOWN])
def test_an_unambiguous_url_is_shown_with_its_password_masked(url, shown, monkeypatch):
    monkeypatch.delenv(database.PASSWORD_ENV, raising=False)
    src = sources.open_source(url)
    assert str(src) == src.run_record()["source"] == shown and repr(src) == f"DatabaseSource({shown})"
    password = src.password()[0]
    if password:
        assert password not in str(src) + src.notebook_parameter + repr(src)


@pytest.mark.parametrize("text, masked", [
    ("postgresql://crm:pw@host:notaport/db", "postgresql://crm:***@host:notaport/db"),
    ("mysql://root:x@y@db/z", "mysql://root:***@db/z"),
    ("postgresql://crm@db/crm?sslmode=require&password=a@b&x=1",
     "postgresql://crm@db/crm?sslmode=require&password=***&x=1"),
    ("duckdb:///srv/a@b/crm.duckdb", "duckdb:///srv/a@b/crm.duckdb"),  # a path: no user, no password
])
def test_a_url_too_broken_to_parse_is_masked_to_its_last_at(text, masked):
    assert sources._mask_unparsed(text) == masked


# ------------------------------------------------------------------------------------------
# The runner's helpers: exactly what run_month gave before the protocol, for any source
# ------------------------------------------------------------------------------------------


def test_parameters_and_run_record_of_a_folder(folder, tmp_path):
    src = FolderSource(folder)
    base = pipeline.base_parameters(src, "2026-10", tmp_path / "run", 7)
    assert list(base.items()) == [("report_month", "2026-10"), ("data_dir", str(folder.resolve())),
                                  ("run_dir", str(tmp_path / "run")), ("seed", 7)]
    declared = {"report_month": "", "data_dir": "", "run_dir": "", "seed": 0, "source": "", "k": 1}
    assert pipeline.notebook_parameters(src, base, declared, {"k": "3", "other": "x"}) == {**base, "k": 3}
    assert list(pipeline.run_parameters(src, base, {"k": "3"}).items()) == [
        ("report_month", "2026-10"), ("seed", 7), ("data_dir", folder.name), ("extra", {"k": "3"})]


def test_parameters_and_run_record_of_a_database(tmp_path, monkeypatch):
    monkeypatch.delenv(database.PASSWORD_ENV, raising=False)
    src = sources.open_source(f"postgresql://crm:{SECRET}@db/crm")
    base = pipeline.base_parameters(src, "2026-10", tmp_path, 42)
    assert list(base.items()) == [("report_month", "2026-10"), ("data_dir", ""), ("run_dir", str(tmp_path)),
                                  ("seed", 42)]  # every notebook has data_dir: empty for a database
    reader = {"report_month": "", "data_dir": "", "run_dir": "", "seed": 0, "source": ""}
    other = {"report_month": "", "data_dir": "", "run_dir": "", "seed": 0}
    assert list(pipeline.notebook_parameters(src, base, reader, {}).items()) == [
        *base.items(), ("source", "postgresql://crm@db/crm")]  # only notebooks declaring it
    assert pipeline.notebook_parameters(src, base, other, {}) == base
    assert list(pipeline.run_parameters(src, base, {}).items()) == [
        ("report_month", "2026-10"), ("seed", 42), ("source", "postgresql://crm:***@db/crm"), ("extra", {})]


def test_notebook_01_must_declare_what_the_source_gives_it(folder, tmp_path):
    nbs = [tmp_path / "01_clean.ipynb", tmp_path / "02_next.ipynb"]
    without = {"report_month": "", "data_dir": "", "run_dir": "", "seed": 0}
    declared = {nb.name: without for nb in nbs}
    pipeline.check_reader(FolderSource(folder), nbs, declared)  # data_dir: every notebook has it
    db = sources.open_source("postgresql://crm@db/crm")
    with pytest.raises(ValueError) as err:
        pipeline.check_reader(db, nbs, declared)
    assert str(err.value) == "01_clean.ipynb has no 'source' parameter, so it cannot read a database"
    pipeline.check_reader(db, nbs[1:], declared)  # a rerun without 01 reads nothing
    pipeline.check_reader(db, nbs, {**declared, "01_clean.ipynb": {**without, "source": ""}})
    with pytest.raises(ValueError, match=r"^01_clean.ipynb has no 'snapshot' parameter, so it cannot read "
                                         r"a pinned snapshot$"):
        pipeline.check_reader(PinnedFolder(folder, "s1"), nbs, declared)


def test_run_month_refuses_a_database_when_notebook_01_cannot_take_it(tmp_path):
    notebooks = tmp_path / "notebooks"
    notebooks.mkdir()
    _notebook(notebooks / "01_read.ipynb")  # no 'source' parameter
    with pytest.raises(ValueError, match=r"^01_read.ipynb has no 'source' parameter, so it cannot read a database$"):
        pipeline.run_month("2026-09", f"duckdb:///{tmp_path / 'crm.duckdb'}", tmp_path / "reports",
                           notebooks_dir=notebooks)
    assert not (tmp_path / "reports").exists()  # refused before anything was written


# ------------------------------------------------------------------------------------------
# run_month end to end, on two tiny notebooks
# ------------------------------------------------------------------------------------------


def test_run_month_runs_a_source_it_has_never_heard_of(folder, tiny_notebooks, tmp_path, monkeypatch):
    monkeypatch.chdir(folder.parent)
    src = PinnedFolder(Path("data"), "2026-10-snapshot")  # relative: resolved() makes it work elsewhere
    assert pipeline.latest_complete_month(src) == "2026-09"
    result = pipeline.run_month("2026-09", src, tmp_path / "reports", notebooks_dir=tiny_notebooks, seed=3)
    assert result.html is None and set(result.durations) == {"01_read.ipynb", "02_after.ipynb"}
    info = json.loads((result.report_dir / "run.json").read_text())
    assert info["parameters"] == {"report_month": "2026-09", "seed": 3, "snapshot": "2026-10-snapshot", "extra": {}}
    assert info["input"] == src.fingerprint()
    first, second = _seen(result.report_dir, "01_read"), _seen(result.report_dir, "02_after")
    assert first["given"] == {"report_month": "2026-09", "data_dir": str(folder.resolve()), "seed": 3,
                              "source": "", "snapshot": "2026-10-snapshot"}
    assert first["lines"] == 4 and first["env"][PinnedFolder.ENV] == "token-of-2026-10-snapshot"
    assert second["given"] == {"report_month": "2026-09", "data_dir": str(folder.resolve()), "seed": 3}
    assert PinnedFolder.ENV not in os.environ  # only while the notebooks ran
    assert "token-of-" not in (result.report_dir / "01_read.ipynb").read_text()  # no parameter carries it


def test_run_month_gives_a_folder_and_a_database_what_it_always_did(folder, tiny_notebooks, tmp_path):
    import duckdb

    orders = pd.read_csv(folder / "orders.csv", dtype=str)
    con = duckdb.connect(str(tmp_path / "crm.duckdb"))
    con.register("frame", orders)  # a typed date column: the month's WHERE leaves October out
    con.execute("CREATE TABLE orders AS SELECT * REPLACE (CAST(order_date AS DATE) AS order_date) FROM frame")
    con.close()
    by_folder = pipeline.run_month("2026-09", folder, tmp_path / "files", notebooks_dir=tiny_notebooks)
    url = f"duckdb:///{tmp_path / 'crm.duckdb'}"
    by_db = pipeline.run_month("2026-09", url, tmp_path / "db", notebooks_dir=tiny_notebooks)
    assert len(orders) == 4
    files_info = json.loads((by_folder.report_dir / "run.json").read_text())
    db_info = json.loads((by_db.report_dir / "run.json").read_text())
    assert files_info["parameters"] == {"report_month": "2026-09", "seed": 42, "data_dir": folder.name, "extra": {}}
    assert db_info["parameters"] == {"report_month": "2026-09", "seed": 42, "source": url, "extra": {}}
    assert _seen(by_folder.report_dir, "01_read")["given"] == {"report_month": "2026-09", "seed": 42,
                                                               "data_dir": str(folder.resolve()),
                                                               "source": "", "snapshot": ""}
    assert _seen(by_db.report_dir, "01_read")["given"] == {"report_month": "2026-09", "seed": 42, "data_dir": "",
                                                           "source": url, "snapshot": ""}
    assert _seen(by_db.report_dir, "02_after")["given"] == {"report_month": "2026-09", "seed": 42, "data_dir": ""}
    assert _seen(by_folder.report_dir, "01_read")["lines"] == 4
    assert _seen(by_db.report_dir, "01_read")["lines"] == 3  # October stays in the database
