"""The stage table: the one place that knows the notebooks, what each hands over, and the report."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from crm_utils import artifacts, notebook, stages
from crm_utils.config import NOTEBOOKS_DIR

NUMBERED = sorted(p for p in NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00_"))


def test_every_stage_has_one_notebook_in_the_stage_order():
    found = [stages.find_notebook(NUMBERED, s.key) for s in stages.STAGES]
    assert all(found), [s.key for s, p in zip(stages.STAGES, found) if p is None]
    assert found == sorted(found), "the notebooks' numbers must follow the order of STAGES"
    assert {p.name for p in found} == {p.name for p in NUMBERED}, "a numbered notebook the stage table does not know"


def test_the_report_is_found_by_name_not_by_sort_order(tmp_path):
    names = ["01_data_cleaning.ipynb", "11_monthly_report.ipynb", "08_customer_value.ipynb"]
    paths = [tmp_path / n for n in names]
    assert stages.find_notebook(paths, stages.REPORT).name == "11_monthly_report.ipynb"
    renumbered = [tmp_path / "01_data_cleaning.ipynb", tmp_path / "09_monthly_report.ipynb"]
    assert stages.find_notebook(renumbered, stages.REPORT).name == "09_monthly_report.ipynb"
    assert stages.find_notebook([tmp_path / "01_data_cleaning.ipynb"], stages.REPORT) is None
    with pytest.raises(ValueError, match="two notebooks"):
        stages.find_notebook([tmp_path / "11_monthly_report.ipynb", tmp_path / "09_monthly_report.ipynb"], "report")


def test_figures_are_read_by_stage_key_whatever_the_number():
    metrics = {"02_customer_overview": {"kpis": {"revenue": 1.0}}, "11_need_prediction": {"scored_customers": 3}}
    assert stages.figures(metrics, "overview") == {"kpis": {"revenue": 1.0}}
    assert stages.figures(metrics, "needs") == {"scored_customers": 3}
    assert stages.figures(metrics, "demand") == {}
    with pytest.raises(KeyError, match="no stage 'forecast'"):
        stages.figures(metrics, "forecast")


def test_every_headline_function_exists():
    for s in stages.STAGES:
        assert callable(s.headline_function()), s.key


def _written(nb_path: Path) -> set[str]:
    """Artifact names a notebook writes by literal name (nb.write / nb.write_csv)."""
    source = "\n".join(c.source for c in nbformat.read(nb_path, as_version=4).cells if c.cell_type == "code")
    return ({m for m in re.findall(r'nb\.write\("(\w+)"', source)}
            | {m + ".csv" for m in re.findall(r'nb\.write_csv\("(\w+)"', source)})


def test_each_notebook_writes_what_its_stage_hands_over():
    for s in stages.STAGES:
        path = stages.find_notebook(NUMBERED, s.key)
        written = _written(path)
        if s.key == "data":  # the cleaned tables are written in a loop over what the data held
            written |= {"orders", "customers", "interactions", "surveys", "leads"}
        assert written == set(s.hands_over), (s.key, written ^ set(s.hands_over))


def test_each_notebook_records_its_figures_through_its_stages_headline_function():
    for s in stages.STAGES:
        path = stages.find_notebook(NUMBERED, s.key)
        calls = [c.source for c in nbformat.read(path, as_version=4).cells
                 if c.cell_type == "code" and "nb.record(" in c.source]
        assert len(calls) == 1, (path.name, len(calls))
        name = s.headline.split(".")[-1]
        assert f".{name}(" in calls[0], (path.name, s.headline)


def test_notebooks_name_no_other_notebook_and_read_no_raw_path():
    """Later notebooks read artifacts through the setup helper, never by a path built by hand."""
    for path in NUMBERED:
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        ast.parse(code.replace("%", "#"))
        assert "artifacts.read_table(" not in code and "read_parquet(" not in code, path.name
        assert "previous_run_dir" not in code, path.name
        others = set(re.findall(r"\b\d\d_[a-z_]+\b", code)) - {path.stem}
        assert not others, (path.name, others)


def test_the_setup_helper_reads_optional_tables_and_last_month(tmp_path):
    run = notebook.start("02_customer_overview", "2026-10", str(tmp_path / "2026-10"))
    assert run.cutoff == pd.Timestamp("2026-10-31 23:59:59")
    assert run.read("customers", optional=True) is None
    with pytest.raises(FileNotFoundError, match="artifact 'customers' is missing"):
        run.read("customers")
    run.write("customers", pd.DataFrame({"customer_id": ["C1", "C2"]}))
    assert run.read("customers")["customer_id"].tolist() == ["C1", "C2"]
    assert run.artifact_names() == ["customers.parquet"]
    assert run.record({"kpis": {"revenue": 2.5}}) == {"kpis": {"revenue": 2.5}}
    assert artifacts.collect_metrics(run.path) == {"02_customer_overview": {"kpis": {"revenue": 2.5}}}
    # last month is the sibling folder, read the same way
    assert run.last_month.month == "2026-09" and not run.last_month.exists
    assert run.last_month.table("segments") is None and run.last_month.metrics() is None
    artifacts.write_table(tmp_path / "2026-09", "segments", pd.DataFrame({"customer_id": ["C1"], "segment_name": ["A"]}))
    (tmp_path / "2026-09" / "metrics.json").write_text('{"02_customer_overview": {"kpis": {}}}')
    assert run.last_month.table("segments")["segment_name"].tolist() == ["A"]
    assert run.last_month.metrics() == {"02_customer_overview": {"kpis": {}}}
    with pytest.raises(ValueError, match="report month must be"):
        notebook.start("02_customer_overview", "2026-13", str(tmp_path))


def test_whole_numbers_names_the_parameter():
    notebook.whole_numbers(a=1, b=30)
    notebook.whole_numbers(0, max_train_customers=0)
    for bad in (0, -1, 2.5, "3", True):
        with pytest.raises(ValueError, match="parameter horizon_days must be a whole number of at least 1"):
            notebook.whole_numbers(horizon_days=bad)
    with pytest.raises(ValueError, match="at least 0, got -1"):
        notebook.whole_numbers(0, k_max=-1)


def test_show_and_say_print_nothing_for_a_step_that_had_nothing(capsys):
    notebook.say("")
    notebook.show(None)
    assert capsys.readouterr().out == ""
    notebook.show(None, otherwise="No segments this month.")
    notebook.say("Chosen on validation: the model")
    assert capsys.readouterr().out == "No segments this month.\nChosen on validation: the model\n"
