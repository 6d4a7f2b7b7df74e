"""End to end: the real `crm-report` command on a small generated data set."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from conftest import LIGHT_RUN
from crm_utils import stages, synth
from crm_utils.data import cleaning, io
from crm_utils.run import pipeline

CLI = [sys.executable, "-m", "crm_utils.run.cli"]
EMAIL = re.compile(rb"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}")
# The phone shapes the generator plants; 07700 900xxx is reserved for fiction (used in the notebook's prose).
PHONE = re.compile(r"\+44 7(?!700 900)\d{3} \d{6}|\(0\d{3}\) \d{3} \d{3}")
SAMPLE = Path(__file__).parent / "data" / "online_retail_sample.csv"
#: Standard output and error of every command run here: logs are outputs too, and are scanned.
CONSOLE: list[str] = []
#: Every folder a run of this module wrote into, scanned for personal data at the end.
WRITTEN: list[Path] = []


def crm_report(*args: str) -> subprocess.CompletedProcess:
    res = subprocess.run([*CLI, *args], capture_output=True, text=True, env=os.environ.copy(), timeout=600)
    CONSOLE.extend([res.stdout, res.stderr])
    return res


@pytest.fixture(scope="module")
def e2e(tmp_path_factory):
    """A 14-month data set, and one successful run of October 2026."""
    root = tmp_path_factory.mktemp("e2e")
    data, reports = root / "data", root / "reports"
    gen = crm_report("generate", "--customers", "600", "--months", "14", "--seed", "5", "--out", str(data))
    assert gen.returncode == 0, gen.stderr
    run = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(reports), *LIGHT_RUN)
    assert run.returncode == 0, run.stderr
    WRITTEN.append(reports)
    return data, reports, run


def test_run_writes_the_report_folder(e2e):
    data, reports, run = e2e
    month = reports / "2026-10"
    assert run.stdout.strip() == str(month / "report.html")
    for name in ("01_data_cleaning.ipynb", "report.html", "metrics.json", "run.json",
                 "artifacts/orders.parquet", "artifacts/customers.parquet", "artifacts/quarantine.parquet"):
        assert (month / name).exists(), name
    metrics = json.loads((month / "metrics.json").read_text())
    tables = metrics["01_data_cleaning"]["tables"]
    for t, row in tables.items():
        assert row["rows_in"] == row["kept"] + row["quarantined"] + row["merged"] + row["held_back"], t
    assert tables["orders"]["kept"] == len(pd.read_parquet(month / "artifacts" / "orders.parquet"))
    info = json.loads((month / "run.json").read_text())
    assert info["report_month"] == "2026-10" and info["seed"] == 42
    assert info["parameters"] == {"report_month": "2026-10", "seed": 42, "data_dir": data.name,  # a folder
                                  "extra": dict(p.split("=", 1) for p in LIGHT_RUN[1::2])}  # outside the project
    assert set(info["durations_seconds"]) == {nb.name for nb in pipeline.discover_notebooks()}
    assert set(metrics) == {nb.stem for nb in pipeline.discover_notebooks()}  # every notebook reports figures
    assert set(info["input"]["files"]) == {f"{t}.csv" for t in synth.TABLES} | {"mapping.yml"}  # its currency
    html = (month / "report.html").read_text()
    assert "data:image/png;base64" in html
    assert "<img" in html and "run.finish()" not in html  # images embedded, code hidden


def test_each_stage_hands_over_what_the_stage_table_declares(e2e):
    """Every declared artifact is written, every stage records figures, and none it did not declare."""
    _, reports, _ = e2e
    month = reports / "2026-10"
    metrics = json.loads((month / "metrics.json").read_text())
    written = {p.name for p in (month / "artifacts").iterdir()}
    for stage in stages.STAGES:
        figures = stages.figures(metrics, stage.key)
        assert figures, stage.key
        assert set(figures) <= set(stage.headline_figures), (stage.key, set(figures) - set(stage.headline_figures))
        for name in stage.hands_over:
            assert (name if "." in name else f"{name}.parquet") in written, (stage.key, name)


def test_a_run_without_the_report_notebook_writes_no_report(e2e, tmp_path):
    """The report is the notebook the stage table names, never the last one that happened to run."""
    data, _, _ = e2e
    res = crm_report("run", "--month", "2026-10", "--only", "01,02", "--data-dir", str(data),
                     "--reports-dir", str(tmp_path))
    assert res.returncode == 0, res.stderr
    assert res.stdout.strip() == str(tmp_path / "2026-10")
    assert not (tmp_path / "2026-10" / "report.html").exists()
    assert (tmp_path / "2026-10" / "02_customer_overview.ipynb").exists()


def test_segments_hand_over_every_buying_customer(e2e):
    _, reports, _ = e2e
    month = reports / "2026-10"
    segments = pd.read_parquet(month / "artifacts" / "segments.parquet")
    assert list(segments.columns[:3]) == ["customer_id", "segment_id", "segment_name"]
    orders = pd.read_parquet(month / "artifacts" / "orders.parquet")
    # Every buying customer, and only customers: guest sales (no customer id) count in revenue, not here.
    buyers = orders.loc[~orders["is_return"], "customer_id"]
    assert set(segments["customer_id"]) == set(buyers.dropna()) and segments["customer_id"].notna().all()
    assert buyers.isna().any()  # the synthetic data plant guest sales
    metrics = json.loads((month / "metrics.json").read_text())["03_customer_segmentation"]
    assert metrics["customers"] == len(segments) and metrics["k"] == segments["segment_id"].nunique()
    kpis = json.loads((month / "metrics.json").read_text())["02_customer_overview"]["kpis"]
    october = orders[orders["order_date"].dt.to_period("M") == pd.Period("2026-10", freq="M")]
    assert kpis["revenue"] == pytest.approx(october["line_revenue"].sum(), abs=0.01)


def _excel_text(path: Path) -> str:
    """Every cell of an Excel file as text: its bytes are compressed and prove nothing."""
    from openpyxl import load_workbook

    book = load_workbook(path, read_only=True)
    return "\n".join(str(v) for ws in book.worksheets for row in ws.iter_rows(values_only=True)
                     for v in row if v is not None)


def _personal_data_in(path: Path) -> bool:
    """Whether a file holds an e-mail address or a planted phone number (Parquet: its text columns)."""
    if path.suffix == ".xlsx":
        text = _excel_text(path)
        return bool(EMAIL.search(text.encode()) or PHONE.search(text))
    if path.suffix == ".parquet":  # compressed bytes prove nothing: read the text columns
        df = pd.read_parquet(path)
        text = "\n".join(df[c].astype(str).str.cat(sep="\n") for c in df.columns
                         if df[c].dtype == object or isinstance(df[c].dtype, (pd.StringDtype, pd.CategoricalDtype)))
        return bool(EMAIL.search(text.encode()) or PHONE.search(text))
    return bool(EMAIL.search(path.read_bytes()) or PHONE.search(path.read_text(errors="replace")))
def _text_of(path: Path) -> str:
    if path.suffix == ".xlsx":
        return _excel_text(path)
    if path.suffix == ".parquet":
        df = pd.read_parquet(path)
        return "\n".join(df[c].astype(str).str.cat(sep="\n") for c in df.columns
                         if df[c].dtype == object or isinstance(df[c].dtype, (pd.StringDtype, pd.CategoricalDtype)))
    return path.read_bytes().decode("utf-8", errors="replace")


def test_no_customer_name_anywhere_in_the_report(e2e):
    """The customers' full names (in the input's name column) appear in no file the run wrote."""
    data, reports, _ = e2e
    names = pd.read_csv(data / "customers.csv", dtype=str)["name"].dropna().str.strip()
    # Staff test accounts ("Test Account") are not people, and their name is the notebook's own words.
    names = names[~names.str.contains(cleaning.TEST_ACCOUNT_RULES["name"], regex=True)]
    names = {" ".join(n.lower().split()) for n in names if len(n) >= 5 and " " in n}
    assert len(names) > 500

    def phrases(text: str) -> set[str]:  # every run of two to four words, lower case
        words = re.findall(r"[^\W\d_][\w'’.-]*", text.lower())
        return {" ".join(words[i:i + k]) for k in (2, 3, 4) for i in range(len(words) - k + 1)}

    files = [p for p in (reports / "2026-10").rglob("*") if p.is_file()]
    found = {p.name: sorted(names & phrases(_text_of(p)))[:3] for p in files}
    assert {k: v for k, v in found.items() if v} == {}


def test_forecasts_on_fourteen_months(e2e):
    """Notebook 08 on data shorter than two years: every series forecast 13 weeks ahead by its
    backtest winner, with the shorter backtest and the missing yearly seasonality said out loud."""
    _, reports, _ = e2e
    month = reports / "2026-10"
    forecast = pd.read_parquet(month / "artifacts" / "forecast.parquet")
    backtest = pd.read_parquet(month / "artifacts" / "backtest.parquet")
    assert forecast.groupby(["measure", "series"]).size().eq(13).all()
    assert {"total", "category=Books"} <= set(forecast["series"])
    assert backtest["cutoff"].nunique() == 2 and backtest["mase"].notna().any()
    head = json.loads((month / "metrics.json").read_text())["08_demand_forecasting"]
    assert head["series"]["units"] == forecast.query("measure == 'units'")["series"].nunique()
    nb = (month / "08_demand_forecasting.ipynb").read_text()
    assert "yearly seasonality off" in nb and "backtest origin(s), not 4" in nb


def test_report_reads_in_a_browser(e2e, tmp_path):
    """Opened in headless Chromium, the report shows KPIs, the forecast and the segments, with every
    image decoded and no code; the screenshot is kept for a human look (see the test's tmp_path)."""
    from PIL import Image

    from crm_utils.run import render_check

    if render_check.find_browser() is None:
        if os.environ.get("CI"):
            pytest.fail("CI must have Chromium for this check: .ci/run installs Debian's chromium package")
        pytest.skip("no Chromium on this machine (apt-get install chromium)")
    _, reports, _ = e2e
    result = render_check.check_report(reports / "2026-10" / "report.html", tmp_path / "report.png",
                                       expect_headings=("Headline KPIs", "Segments", "Demand forecast"))
    assert result.ok, result.problems
    assert result.images >= 3 and result.tables >= 3
    assert result.title == "CRM monthly report · 2026-10"  # the browser tab, once "Notebook"
    # Tables read as a manager reads them: headers in words, no row numbers, no <NA>, money in euros.
    assert "p_purchase" not in html_text(reports) and "expected_net_margin" not in html_text(reports)
    assert "&lt;NA&gt;" not in html_text(reports) and "-0.0%" not in html_text(reports)
    assert "incremental margin (range) (EUR)" in html_text(reports) and "Net revenue was" in html_text(reports)
    shot = Image.open(tmp_path / "report.png").convert("L")
    assert shot.size[0] == 1280 and shot.getextrema()[0] < 100  # something dark was drawn: not a blank page
    html = (reports / "2026-10" / "report.html").read_text()
    assert "Monthly customer report" in html and "Net revenue was" in html
    # Screen readers: every chart says in words what it shows (its titles and axes), none the default.
    assert "No description has been provided for this image" not in html
    assert 'alt="Chart: Net revenue and active customers per month' in html
    assert 'alt="Chart: Forecast with calibrated 80% interval' in html  # drawn from 05's demand_history


def html_text(reports: Path) -> str:
    return (reports / "2026-10" / "report.html").read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def backfill(e2e, tmp_path_factory):
    """Three months run oldest first; only the notebooks whose figures the comparison needs."""
    data, _, _ = e2e
    reports = tmp_path_factory.mktemp("backfill")
    res = crm_report("run", "--from", "2026-08", "--to", "2026-10", "--only", "01,02,11",
                     "--data-dir", str(data), "--reports-dir", str(reports))
    assert res.returncode == 0, res.stderr
    return reports, res


def test_a_backfill_gives_reports_that_agree_with_each_other(backfill):
    reports, res = backfill
    months = ["2026-08", "2026-09", "2026-10"]
    assert res.stdout.split() == [str(reports / m / "report.html") for m in months]
    metrics = {m: json.loads((reports / m / "metrics.json").read_text()) for m in months}
    assert metrics["2026-08"]["11_monthly_report"]["consistent_with_previous_report"] is None  # nothing before it
    for prev, cur in zip(months, months[1:]):
        before, now = metrics[prev]["02_customer_overview"], metrics[cur]["02_customer_overview"]
        assert now["previous_month"] == pytest.approx(before["kpis"])
        for k in ("revenue", "orders", "active_customers", "average_order_value"):
            assert now["change_vs_previous_month"][k] == pytest.approx(now["kpis"][k] / before["kpis"][k] - 1, abs=1e-6)  # stored rounded to 6 places
        assert metrics[cur]["11_monthly_report"]["consistent_with_previous_report"] is True


def test_a_backfill_needs_both_ends_in_order(e2e, tmp_path):
    data, _, _ = e2e
    res = crm_report("run", "--from", "2026-10", "--to", "2026-08", "--data-dir", str(data), "--reports-dir", str(tmp_path))
    assert res.returncode == 2 and "is after --to" in res.stderr
    res = crm_report("run", "--from", "2026-08", "--data-dir", str(data), "--reports-dir", str(tmp_path))
    assert res.returncode == 2 and "both --from and --to" in res.stderr


def test_no_email_address_or_phone_anywhere_in_the_report(e2e):
    _, reports, _ = e2e
    files = [p for p in (reports / "2026-10").rglob("*") if p.is_file()]
    assert {"report.html", "quarantine.csv", "quarantine.parquet", "customers.parquet"} <= {p.name for p in files}
    assert [p.name for p in files if _personal_data_in(p)] == []


@pytest.mark.skipif(bool(os.environ.get("CRM_TEST_PG_URL")),
                    reason="a whole rerun costs about two minutes: with a PostgreSQL server (always in CI), "
                           "tests/test_database.py's test_the_same_month_twice_gives_the_same_metrics reruns the "
                           "month over its report, from the database, in the pair of runs it makes anyway")
def test_same_month_twice_gives_the_same_metrics(e2e):
    data, reports, _ = e2e
    before = (reports / "2026-10" / "metrics.json").read_text()
    again = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(reports), "--quiet",
                       *LIGHT_RUN)
    assert again.returncode == 0, again.stderr
    assert (reports / "2026-10" / "metrics.json").read_text() == before


def test_broken_input_fails_loudly_and_keeps_the_last_good_report(e2e, tmp_path):
    data, reports, _ = e2e
    broken = tmp_path / "broken"
    shutil.copytree(data, broken)
    orders = pd.read_csv(broken / "orders.csv", dtype=str, keep_default_na=False)
    orders.drop(columns="quantity").to_csv(broken / "orders.csv", index=False)
    good = {p.name: p.read_bytes() for p in (reports / "2026-10").glob("*.*")}
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(broken), "--reports-dir", str(reports))
    assert res.returncode == 1
    assert "01_data_cleaning.ipynb failed at cell" in res.stderr
    assert "orders.csv" in res.stderr and "'quantity'" in res.stderr
    assert {p.name: p.read_bytes() for p in (reports / "2026-10").glob("*.*")} == good
    assert (reports / "2026-10.failed" / "01_data_cleaning.ipynb").exists()
    assert not list(reports.glob(".2026-10.partial-*"))


def test_latest_complete_month_comes_from_the_data(e2e, tmp_path):
    data, _, _ = e2e
    assert crm_report("latest-month", "--data-dir", str(data)).stdout.strip() == "2026-10"
    partial = tmp_path / "partial"
    partial.mkdir()
    orders = pd.read_csv(data / "orders.csv", dtype=str, keep_default_na=False)
    dates = io.parse_dates(orders["order_date"])
    orders[~(dates >= "2026-10-16")].to_csv(partial / "orders.csv", index=False)
    assert pipeline.latest_complete_month(partial) == "2026-09"


def test_bad_arguments_exit_2_with_a_reason(e2e):
    data, reports, _ = e2e
    res = crm_report("run", "--month", "202610", "--data-dir", str(data), "--reports-dir", str(reports))
    assert res.returncode == 2 and "YYYY-MM" in res.stderr
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(reports),
                     "-p", "no_such_parameter=1")
    assert res.returncode == 2 and "no_such_parameter" in res.stderr
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(data / "nope"), "--reports-dir", str(reports))
    assert res.returncode == 2 and "does not exist" in res.stderr


def test_notebook_without_parameters_cell_is_refused(tmp_path):
    import nbformat

    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("report_month = '2026-10'")])
    nbformat.write(nb, tmp_path / "01_x.ipynb")
    with pytest.raises(ValueError, match="no cell tagged 'parameters'"):
        pipeline.declared_parameters(tmp_path / "01_x.ipynb")


def test_extra_parameters_take_the_notebook_defaults_type():
    assert pipeline.convert_like("3", 1, "k") == 3
    assert pipeline.convert_like("0.5", 1.0, "x") == 0.5
    assert pipeline.convert_like("false", True, "b") is False
    assert pipeline.convert_like("2026-10", "x", "s") == "2026-10"
    with pytest.raises(ValueError, match="expects int"):
        pipeline.convert_like("abc", 1, "k")


def test_only_refuses_to_mix_runs_of_different_inputs(e2e, tmp_path):
    data, reports, _ = e2e
    changed = tmp_path / "changed"
    shutil.copytree(data, changed)
    with open(changed / "surveys.csv", "a", encoding="utf-8") as fh:
        fh.write("S99999999,C0000001,2026-10-30,5,5,5,5,5,5,10,\n")
    res = crm_report("run", "--month", "2026-10", "--only", "01", "--data-dir", str(changed),
                     "--reports-dir", str(reports))
    assert res.returncode == 2 and "input data differ" in res.stderr


def test_a_report_caught_mid_swap_is_restored(tmp_path):
    old = tmp_path / ".2026-10.old-123"
    old.mkdir()
    (old / "report.html").write_text("good")
    (tmp_path / ".2026-10.partial-456").mkdir()
    pipeline._recover(tmp_path, "2026-10")
    assert (tmp_path / "2026-10" / "report.html").read_text() == "good"
    assert not list(tmp_path.glob(".2026-10.*"))


def test_latest_month_ignores_a_stray_future_date(tmp_path):
    days = pd.date_range("2026-01-01", "2026-10-31", freq="D")
    orders = pd.DataFrame({"order_id": range(len(days) + 1), "customer_id": "C1",
                           "order_date": [*days.strftime("%Y-%m-%d"), "2206-10-01"], "product_id": "P",
                           "quantity": 1, "unit_price": 1.0})
    orders.to_csv(tmp_path / "orders.csv", index=False)
    assert pipeline.latest_complete_month(tmp_path) == "2026-10"


def test_one_run_of_a_month_at_a_time_and_the_lock_is_released(tmp_path):
    with pipeline._lock_month(tmp_path, "2026-10"):
        with pytest.raises(ValueError, match="another run of 2026-10 is in progress"):
            pipeline._lock_month(tmp_path, "2026-10")
        pipeline._lock_month(tmp_path, "2026-09").close()  # other months are free
    with pipeline._lock_month(tmp_path, "2026-10"):  # released on leaving
        pass


@pytest.fixture(scope="module")
def retail(tmp_path_factory):
    """The hand-written Online Retail-style file through `crm-report import` and `crm-report run`."""
    root = tmp_path_factory.mktemp("retail")
    imported = crm_report("import", str(SAMPLE), "--mapping", "online_retail", "--out", str(root / "data"))
    assert imported.returncode == 0, imported.stderr
    run = crm_report("run", "--month", "2011-02", "--data-dir", str(root / "data"),
                     "--reports-dir", str(root / "reports"))
    assert run.returncode == 0, run.stderr
    WRITTEN.append(root)
    return root / "reports" / "2011-02", run


def test_an_online_retail_export_runs_through_import_and_the_monthly_run(retail):
    month, _ = retail
    lines = sum(1 for _ in open(SAMPLE, encoding="utf-8")) - 1
    cleaning = json.loads((month / "metrics.json").read_text())["01_data_cleaning"]
    assert cleaning["tables"] == {"orders": {"rows_in": lines, "kept": 50, "quarantined": 12, "merged": 0,
                                             "held_back": 3}}
    assert cleaning["tables_absent"] == ["customers", "interactions", "surveys", "leads"]
    assert len(pd.read_parquet(month / "artifacts" / "orders.parquet")) == 50  # 3 guest sales kept
    assert not (month / "artifacts" / "customers.parquet").exists()
    quarantine = pd.read_parquet(month / "artifacts" / "quarantine.parquet")
    assert len(quarantine) == 12 and quarantine["file"].str.endswith(f"(imported from {SAMPLE.name})").all()
    notebook = (month / "01_data_cleaning.ipynb").read_text()
    assert "Not in this data: customers, interactions, surveys" in notebook
    assert set(json.loads((month / "run.json").read_text())["input"]["files"]) == {"orders.csv", "mapping.yml"}


def test_text_from_the_data_is_escaped_in_html_and_defused_in_csv(retail):
    month, _ = retail
    # Notebook 01 shows quarantined lines, among them a product id holding a script tag.
    html = pipeline.render_html(month / "01_data_cleaning.ipynb", month.parent / "01.html").read_text()
    # The line with a script tag for a product id is quarantined (price 0) with its record ...
    q = pd.read_parquet(month / "artifacts" / "quarantine.parquet")
    assert q["record"].str.contains("<script>alert(", regex=False).any()
    assert "<script>alert(" not in html  # ... and never shown as markup (test_hostile_report shows it escaped)
    assert "<script>alert(" not in (month / "report.html").read_text()
    with open(month / "artifacts" / "quarantine.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # The line whose product id is a spreadsheet formula has no customer id: a guest sale, kept.
    kept = pd.read_parquet(month / "artifacts" / "orders.parquet")
    assert "=cmd|' /C calc'!A0" in set(kept["product_id"])
    cells = [v for r in rows for v in r.values() if v]
    assert not [v for v in cells if v[0] in "=+-@"]  # no cell a spreadsheet would evaluate
    assert "'-1" in cells  # a negative number written as text is quoted too


def test_no_personal_data_in_any_file_written_or_any_console_output(e2e, retail, tmp_path):
    """Every file the runs of this module wrote (reports, failed runs, imports, artifacts) and every
    line the commands printed, including a failed run whose error quotes a column that holds
    e-mail addresses and phone numbers where sign-up dates belong."""
    leaky = tmp_path / "leaky"
    leaky.mkdir()
    (leaky / "orders.csv").write_text("order_id,customer_id,order_date,product_id,quantity,unit_price\n"
                                      "O1,C1,2026-10-01,P1,1,9.99\n")
    (leaky / "customers.csv").write_text("customer_id,signup_date\nC1,ann.lee@example.com\n"
                                         "C2,+44 7911 123456\nC3,2025-01-01\n")
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(leaky), "--reports-dir", str(tmp_path / "r"))
    assert res.returncode == 1 and "signup_date" in res.stderr and "'[email]', '[phone]'" in res.stderr
    assert (tmp_path / "r" / "2026-10.failed" / "01_data_cleaning.ipynb").exists()
    WRITTEN.append(tmp_path / "r")
    files = [p for root in WRITTEN for p in root.rglob("*") if p.is_file()]
    assert len(files) > 20
    assert [str(p) for p in files if _personal_data_in(p)] == []
    console = "\n".join(CONSOLE)
    assert not EMAIL.search(console.encode()) and not PHONE.search(console)


# ------------------------------------------------------------------------------------------
# Bad months, folders that cannot be written, bad mappings, killed runners
# ------------------------------------------------------------------------------------------

#: Months that once passed (\d matches any Unicode digit, $ matches before a trailing newline) or never should.
BAD_MONTHS = ["2026-10\n", "２０２６-１０", "٢٠٢٦-١٠", "2026-١٠", " 2026-10", "2026-10 ", "2026 -10", "2026-1",
              "2026-13", "2026-00", "202610", "2026/10", "26-10", "2026-10-01", "", "latest\n"]


@pytest.mark.parametrize("month", [*BAD_MONTHS, 202610], ids=repr)
def test_a_month_is_ascii_yyyy_mm_and_nothing_else(month, tmp_path, capsys):
    from crm_utils.config import parse_month
    from crm_utils.run import cli

    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month(month)
    if isinstance(month, str):
        for option in (["--month", month], ["--from", month, "--to", "2026-10"], ["--from", "2026-01", "--to", month]):
            with pytest.raises(SystemExit) as stopped:
                cli.main(["run", *option, "--data-dir", str(tmp_path), "--reports-dir", str(tmp_path / "reports")])
            assert stopped.value.code == 2 and "YYYY-MM" in capsys.readouterr().err
        assert not (tmp_path / "reports").exists()


@pytest.mark.parametrize("month", ["2026-10", "1999-01", "2026-12", "0001-01"])
def test_ascii_months_are_accepted(month):
    from crm_utils.config import parse_month
    from crm_utils.run import cli

    assert parse_month(month) == pd.Period(month, freq="M")
    assert cli.build_parser().parse_args(["run", "--month", month]).month == month


def _orders_only(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "orders.csv").write_text("order_id,customer_id,order_date,product_id,quantity,unit_price\n"
                                       "O1,C1,2026-10-01,P1,1,9.99\n")
    return folder


def _tiny_notebook(folder: Path, name: str, code: str) -> Path:
    """A numbered notebook with the base parameters and one cell of ``code``."""
    import nbformat

    folder.mkdir(parents=True, exist_ok=True)
    params = nbformat.v4.new_code_cell("report_month = ''\ndata_dir = ''\nrun_dir = ''\nseed = 0")
    params.metadata["tags"] = ["parameters"]
    nbformat.write(nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(code)], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}}), folder / name)
    return folder


def test_a_reports_folder_that_cannot_be_created_stops_the_run_in_one_line(tmp_path):
    """Found before any notebook: exit 2 and one line naming the path, as for any problem found then."""
    data = _orders_only(tmp_path / "data")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(blocker / "reports"))
    assert res.returncode == 2
    assert res.stderr.splitlines() == [f"crm-report: cannot write to {blocker / 'reports'}: not a directory"]


@pytest.fixture
def read_only_folder(tmp_path):
    """A folder nobody can write to: chmod 555, or for root (whom chmod does not stop) the immutable
    attribute (chattr +i), which needs CAP_LINUX_IMMUTABLE and a file system that has it."""
    folder = tmp_path / "reports"
    folder.mkdir()
    if os.geteuid() != 0:
        folder.chmod(0o555)
        try:
            yield folder, "permission denied"
        finally:
            folder.chmod(0o755)
        return
    made = subprocess.run(["chattr", "+i", str(folder)], capture_output=True, text=True) if shutil.which("chattr") \
        else None
    if made is None or made.returncode != 0:
        pytest.skip("running as root, whom chmod 555 does not stop, and chattr +i is not possible here "
                    f"({made.stderr.strip() if made else 'no chattr'}); the folder-under-a-file test "
                    "covers the message")
    try:
        yield folder, "operation not permitted"
    finally:
        subprocess.run(["chattr", "-i", str(folder)], check=True)


def test_a_read_only_reports_folder_stops_the_run_in_one_line(read_only_folder, tmp_path):
    folder, reason = read_only_folder
    data = _orders_only(tmp_path / "data")
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(folder))
    assert res.returncode == 2
    assert res.stderr.splitlines() == [f"crm-report: cannot write to {folder / '.2026-10.lock'}: {reason}"]
    assert list(folder.iterdir()) == []


def test_a_full_disk_is_named_in_one_line():
    """ENOSPC as the kernel gives it (/dev/full), through the runner's conversion of write errors."""
    full = Path("/dev/full")
    if not full.exists():
        pytest.skip("no /dev/full on this system")
    with pytest.raises(pipeline.OutputError) as stopped:
        with pipeline._writing(Path("/tmp/reports/2026-10/run.json")):
            full.write_text("{}")
    assert str(stopped.value) in ("cannot write to /dev/full: no space left on device",
                                  "cannot write to /tmp/reports/2026-10/run.json: no space left on device")


def test_a_run_that_cannot_write_its_folder_after_the_notebooks_fails_and_keeps_them(tmp_path):
    """The notebooks ran, then metrics.json could not be written (a folder stands in its place): the run
    fails as a failed notebook does, the executed notebooks are kept, the last good report is untouched."""
    from crm_utils.data.sources import open_source

    notebooks = _tiny_notebook(tmp_path / "notebooks", "01_tiny.ipynb", "1 + 1")
    data = _orders_only(tmp_path / "data")
    last_good = tmp_path / "reports" / "2026-10"
    last_good.mkdir(parents=True)
    (last_good / "run.json").write_text(json.dumps({"input": open_source(data).fingerprint("2026-10")}))
    (last_good / "report.html").write_text("last good")
    (last_good / "metrics.json").mkdir()  # copied into the run by --only: writing the file fails
    with pytest.raises(pipeline.RunFailed) as failed:
        pipeline.run_month("2026-10", data, tmp_path / "reports", only=["01"], notebooks_dir=notebooks)
    first, second = str(failed.value).splitlines()
    assert first == f"the notebooks ran, but cannot write to {tmp_path / 'reports' / '.2026-10.partial-'}" \
                    f"{os.getpid()}/metrics.json: is a directory"
    assert second.startswith(f"The executed notebooks are kept in {tmp_path / 'reports' / '2026-10.failed'}")
    assert failed.value.notebook is None
    assert (tmp_path / "reports" / "2026-10.failed" / "01_tiny.ipynb").exists()
    assert (last_good / "report.html").read_text() == "last good"
    assert not list((tmp_path / "reports").glob(".2026-10.partial-*"))


def test_a_bad_mapping_stops_the_run_in_one_line(tmp_path):
    """A mapping problem is found before any notebook: exit 2, one line naming the file, no traceback."""
    data = _orders_only(tmp_path / "data")
    (data / "mapping.yml").write_text("tables:\n  orders:\n    colums: {Qty: quantity}\n")
    res = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(tmp_path / "r"))
    assert res.returncode == 2
    lines = res.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("crm-report: ") and "mapping.yml" in lines[0], res.stderr


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the kernel's tie to its runner is Linux's "
                                                                  "PR_SET_PDEATHSIG")
@pytest.mark.parametrize("sig", ["SIGKILL", "SIGTERM"])
def test_the_kernel_dies_with_a_killed_runner(tmp_path, sig):
    """A runner killed mid-notebook (cron's timeout, systemd, kill -9) takes its busy kernel with it.

    The kernel is stuck in one long call that holds the interpreter lock (a backtracking regular
    expression), as a kernel deep in a computation is: ipykernel's own watch on its parent is a
    thread that cannot run then, so only the runner's tie to its kernel can stop it."""
    import signal
    import time

    import psutil

    started = tmp_path / "cell-started"
    notebooks = _tiny_notebook(tmp_path / "notebooks", "01_busy.ipynb", f"import pathlib, re\n"
                               f"pathlib.Path({str(started)!r}).touch()\nre.fullmatch('(a+)+b', 'a' * 64)")
    data = _orders_only(tmp_path / "data")
    runner = subprocess.Popen([sys.executable, "-c", "import sys\nfrom crm_utils.run.pipeline import run_month\n"
                               "run_month('2026-10', sys.argv[1], sys.argv[2], notebooks_dir=sys.argv[3])",
                               str(data), str(tmp_path / "reports"), str(notebooks)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    kernel = None
    try:
        deadline = time.monotonic() + 120
        while not started.exists() and runner.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert started.exists(), "the kernel never reached its busy cell"
        kernel, = [c for c in psutil.Process(runner.pid).children() if "ipykernel_launcher" in c.cmdline()]
        assert kernel.status() != psutil.STATUS_ZOMBIE
        runner.send_signal(getattr(signal, sig))
        runner.wait(timeout=30)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            try:
                if kernel.status() == psutil.STATUS_ZOMBIE:  # dead, waiting for init to reap it
                    break
            except psutil.NoSuchProcess:
                break
            time.sleep(0.05)
        else:
            pytest.fail(f"the kernel (pid {kernel.pid}) is still running 5 s after its runner was killed ({sig})")
    finally:
        runner.kill()
        if kernel is not None:
            try:
                kernel.kill()
            except psutil.Error:
                pass


# ------------------------------------------------------------------------------------------
# Parameters per notebook, the data's currency, and a quiet kernel shutdown (issue 19)
# ------------------------------------------------------------------------------------------

#: A notebook that records the parameters it received, so a test reads them back from the run folder.
_RECORDING_CELL = ("import json, pathlib\n"
                   "pathlib.Path(run_dir, NAME + '.json').write_text(json.dumps({'k_max': k_max, "
                   "'currency': currency, 'holidays': holidays}))")


def _recording_notebooks(folder: Path) -> Path:
    """01_a and 02_b both declare k_max (of different meaning) and currency (None: from the data)."""
    import nbformat

    folder.mkdir()
    for name, k_max in (("01_a", 10), ("02_b", 5)):
        params = nbformat.v4.new_code_cell(f'report_month = "2026-10"\ndata_dir = ""\nrun_dir = ""\nseed = 42\n'
                                           f'k_max = {k_max}\ncurrency = None\nholidays = None\nNAME = "{name}"')
        params.metadata["tags"] = ["parameters"]
        nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell(_RECORDING_CELL)])
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")
    return folder


def _tiny_data(folder: Path, mapping: str | None) -> Path:
    folder.mkdir()
    (folder / "orders.csv").write_text("order_id,customer_id,order_date,product_id,category,quantity,unit_price\n"
                                       "O1,C1,2026-10-02,P1,Books,1,9.5\n")
    if mapping is not None:
        (folder / "mapping.yml").write_text(mapping)
    return folder


def _received(report: Path) -> dict[str, dict]:
    return {name: json.loads((report / f"{name}.json").read_text()) for name in ("01_a", "02_b")}


def test_parameters_go_to_one_notebook_by_number_and_currency_comes_from_the_data(tmp_path, caplog, capfd):
    notebooks = _recording_notebooks(tmp_path / "nbs")
    data = _tiny_data(tmp_path / "data", "currency: gbp\nholidays: {country: GB}\n")
    with caplog.at_level("WARNING", logger="crm_report"):
        res = pipeline.run_month("2026-10", data, tmp_path / "r", notebooks_dir=notebooks, progress=False,
                                 extra=pipeline.parse_extra(["01.k_max=6"]))
    gb = {"country": "GB"}
    assert _received(res.report_dir) == {"01_a": {"k_max": 6, "currency": "GBP", "holidays": gb},
                                         "02_b": {"k_max": 5, "currency": "GBP", "holidays": gb}}
    assert json.loads((res.report_dir / "run.json").read_text())["currency"] == "GBP"
    assert not [r for r in caplog.records if r.levelname == "WARNING"]  # addressed to one notebook: no warning
    # A succeeding run says nothing on standard error that a cron user would read as a failure.
    assert "KeyboardInterrupt" not in capfd.readouterr().err

    caplog.clear()
    with caplog.at_level("WARNING", logger="crm_report"):
        res = pipeline.run_month("2026-10", _tiny_data(tmp_path / "plain", None), tmp_path / "r2",
                                 notebooks_dir=notebooks, progress=False,
                                 extra=pipeline.parse_extra(["k_max=7", "02.k_max=3"]))
    # Nothing declared: "" and {} say "none" (None would make a notebook look for a data folder's own).
    assert _received(res.report_dir) == {"01_a": {"k_max": 7, "currency": "", "holidays": {}},
                                         "02_b": {"k_max": 3, "currency": "", "holidays": {}}}  # 02's own k_max wins
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING"]
    assert warnings == ["-p k_max=7 sets k_max in 2 notebooks (01_a.ipynb, 02_b.ipynb); to set it in one, "
                        "write -p 01.k_max=7"]


def test_currency_given_with_p_overrides_the_data_and_is_checked(tmp_path):
    notebooks = _recording_notebooks(tmp_path / "nbs")
    data = _tiny_data(tmp_path / "data", "currency: EUR\n")
    res = pipeline.run_month("2026-10", data, tmp_path / "r", notebooks_dir=notebooks, progress=False,
                             extra=pipeline.parse_extra(["currency=usd"]))
    assert {n: v["currency"] for n, v in _received(res.report_dir).items()} == {"01_a": "USD", "02_b": "USD"}
    bad = crm_report("run", "--month", "2026-10", "--data-dir", str(data), "--reports-dir", str(tmp_path / "x"),
                     "-p", "currency=dollars")
    assert bad.returncode == 2
    assert bad.stderr.strip() == "crm-report: -p: currency: 'dollars' is not an ISO 4217 currency code; write the " \
                                 "three letters of the amounts' currency, e.g. EUR, GBP, USD, BRL"


def test_qualified_parameters_must_name_a_notebook_of_the_run_and_its_parameter():
    declared = {"03_customer_segmentation.ipynb": {"k_max": 10}, "09_satisfaction_clustering.ipynb": {"k_max": 8}}
    with pytest.raises(ValueError, match=r"-p 04.k_max: no notebook 04 in this run; it runs \['03', '09'\]"):
        pipeline.check_extra({"04.k_max": "6"}, declared)
    with pytest.raises(ValueError, match=r"-p 03.window: 03_customer_segmentation.ipynb declares no parameter "
                                         r"'window'; it declares \['k_max'\]"):
        pipeline.check_extra({"03.window": "6"}, declared)
    with pytest.raises(ValueError, match="set seed with its own option"):
        pipeline.parse_extra(["03.seed=1"])
    assert pipeline.parse_extra(["03.k_max=6", "k_min=2"]) == {"03.k_max": "6", "k_min": "2"}


def test_a_data_folder_declares_its_currency(small_data, tmp_path):
    """The generator declares its shop's euros; a folder without a mapping declares nothing."""
    from crm_utils.data.sources import FolderSource

    assert pipeline.data_currency(FolderSource(small_data)) == "EUR"
    assert pipeline.data_currency(FolderSource(_tiny_data(tmp_path / "plain", None))) is None


def test_shutting_a_kernel_down_sends_it_no_interrupt(tmp_path, monkeypatch):
    """jupyter_client interrupts a kernel before shutting it down; caught in a handler, the SIGINT made
    ipykernel log 'KeyboardInterrupt caught in kernel' on a successful run's standard error. The kernel
    here records any SIGINT it gets in a file, with ipykernel's own SIGINT handling switched off."""
    import asyncio

    monkeypatch.setenv("JUPYTER_PATH", os.environ.get("JUPYTER_PATH", ""))  # _kernelspec_dir prepends to it
    root = pipeline._kernelspec_dir()
    marker = tmp_path / "interrupted"
    code = ("import signal, pathlib\n"
            "k = get_ipython().kernel\n"
            "k.pre_handler_hook = k.post_handler_hook = lambda: None\n"
            f"signal.signal(signal.SIGINT, lambda *a: pathlib.Path({str(marker)!r}).write_text('SIGINT'))\n")

    async def run_and_shut_down() -> None:
        km = pipeline.quiet_shutdown_kernel_manager()(kernel_name=pipeline.KERNEL_NAME)
        await km.start_kernel()
        kc = km.client()
        kc.start_channels()
        await kc.wait_for_ready(timeout=60)
        reply = await kc.execute_interactive(code, timeout=60)
        assert reply["content"]["status"] == "ok"
        kc.stop_channels()
        await km.shutdown_kernel()

    try:
        asyncio.run(run_and_shut_down())
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert not marker.exists()
