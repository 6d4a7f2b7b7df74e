"""Churn for contract shops (crm_utils.value.churn): the contract's churn columns, survival curves,
Cox drivers recovering the generator's planted hazards, the bank's real churn table, and the
P(alive) threshold trade-off for shops without contracts."""

from __future__ import annotations

import json

import matplotlib
import numpy as np
import pandas as pd
import pytest

import realdata
from crm_utils.charts import alt_text
from crm_utils.data import importer, io, schema
from crm_utils.data.schema import ContractError
from crm_utils.synth.world import ARCHETYPES, PERSONAS
from crm_utils.value import churn, churn_plots

matplotlib.use("Agg")

AS_OF = pd.Timestamp("2026-10-31 23:59:59")


def _load_customers(folder) -> pd.DataFrame:
    """The customers table of a data folder as the run types it (mapping applied, values coerced)."""
    mapping = io.Mapping.load(folder / "mapping.yml") if (folder / "mapping.yml").exists() else None
    raw = io.load_table(folder, "customers", mapping)
    return io.coerce(raw).frame.drop(columns="_row")


# ------------------------------------------------------------------------------------------
# The generator's planted churn, recovered from a contract export of its truth
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def contract_export(truth, tmp_path_factory):
    """The synthetic customers as a contract shop would export them: one row per real account
    (no duplicates, no test accounts) with its sign-up and churn dates, and the persona and
    satisfaction archetype, the drivers the generator planted, declared as attributes."""
    t = truth["customers"]
    t = t[(t["canonical_id"] == t["customer_id"]) & ~t["is_test_account"]]
    folder = tmp_path_factory.mktemp("contract_export")
    t.rename(columns={"persona": "attr_persona", "satisfaction_archetype": "attr_archetype"})[
        ["customer_id", "signup_date", "churn_date", "attr_persona", "attr_archetype"]
    ].to_csv(folder / "customers.csv", index=False)
    return _load_customers(folder)


def _planted_ratio(term: str, reference: str, covariate: str) -> float:
    """The hazard ratio the generator planted between two personas or two archetypes: the hazard is
    persona.monthly_churn x archetype.churn_multiplier (synth.behaviour._draw_lifetimes)."""
    if covariate == "attr_persona":
        rate = {p.name: p.monthly_churn for p in PERSONAS}
    else:
        rate = {a.name: a.churn_multiplier for a in ARCHETYPES}
    return rate[term] / rate[reference]


def test_cox_recovers_the_planted_churn_multipliers(contract_export):
    """Every hazard ratio between personas and between archetypes lies within its interval of the
    planted ratio; intervals are Bonferroni-adjusted so that the seven together hold at 95%."""
    lt = churn.lifetimes(contract_export, AS_OF)
    assert lt.source == "dates" and lt.customers == 1500 and sum(lt.excluded.values()) == 0
    terms = (len(PERSONAS) - 1) + (len(ARCHETYPES) - 1)
    drivers = churn.cox_drivers(lt, ["attr_persona", "attr_archetype"], alpha=0.05 / terms)
    table = drivers.hazard_ratios
    assert len(table) == terms
    for r in table.itertuples():
        planted = _planted_ratio(r.level, r.reference, r.covariate)
        assert r.lower <= planted <= r.upper, (r.term, planted, r.lower, r.upper)
    # The archetypes' planted multipliers (1.2, 1.7, 1.5 against 0.7) all raise the hazard: found.
    arche = table[table["covariate"] == "attr_archetype"]
    assert (arche["lower"] > 1).all()
    # The planted hazard is exactly proportional (constant per customer): the test must not reject it.
    assert drivers.ph_failures == []


def test_survival_by_archetype_orders_groups_as_planted(contract_export):
    """Kaplan-Meier medians follow the planted multipliers: the Delighted (0.7) stay longest, the
    Delivery-frustrated (1.7) leave soonest; the log-rank test finds the groups different."""
    # Notebook 03's segments cover only customers who bought; the rest are shown as such, not dropped.
    segments = pd.DataFrame({"customer_id": contract_export["customer_id"].iloc[:1000],
                             "segment_name": contract_export["attr_persona"].iloc[:1000]})
    study = churn.ChurnStudy(contract_export, AS_OF, segments)
    assert study.skipped == "" and {"attr_archetype", "segment"} <= set(study.groupings)
    by_segment = study.survival("segment").summary.set_index("group")
    assert by_segment.loc["no segment", "customers"] == 500 and by_segment["customers"].sum() == 1500
    curves = study.survival("attr_archetype")
    medians = curves.summary.set_index("group")["median_months"]
    planted = pd.Series({a.name: a.churn_multiplier for a in ARCHETYPES})
    assert medians.idxmax() == planted.idxmin() and medians.idxmin() == planted.idxmax()
    assert curves.logrank_p < 1e-6
    assert {"group", "months", "retained", "lower", "upper"} <= set(curves.curves.columns)
    assert curves.curves["retained"].between(0, 1).all()
    study.fit_drivers(["attr_persona", "attr_archetype"])
    figures = churn.headline(study)
    assert figures["view"] == "survival" and figures["customers"] == 1500 and figures["ph_failures"] == []
    # planted 0.60 a month against the Occasional buyers' 0.02: the largest ratio of all
    assert figures["top_driver"]["term"] == "persona = One-off shoppers"
    assert figures["top_driver"]["reference"] == "Occasional buyers"
    assert json.loads(json.dumps(figures)) == figures  # metrics.json takes it as is
    lines = churn.report_sentences(figures)
    assert any(line.startswith("Strongest driver of leaving: persona = One-off shoppers (against Occasional buyers)")
               for line in lines)
    assert lines[0] == f"1,500 contract customers followed, {study.lifetimes.events:,} of whom left."
    assert set(study.hazard_table()["term"]) == set(study.drivers.hazard_ratios["term"])
    assert study.driver_lines()[1].startswith("The proportional-hazards assumption holds")


# ------------------------------------------------------------------------------------------
# The contract's churn columns and how lifetimes read them
# ------------------------------------------------------------------------------------------

def test_a_customers_only_export_with_a_flag_imports_through_a_mapping(tmp_path):
    """A subscription export with its own names, yes/no flags, tenure in years and a plan imports
    on its own (no orders) and gives one lifetime per customer; the name never travels on."""
    export = tmp_path / "subscribers.csv"
    export.write_text("Account,Full name,Years,Cancelled,Plan\n"
                      "A1,Ann Example,2,yes,basic\nA2,Bob Example,0.5,no,premium\nA3,Cy Example,3,no,basic\n")
    mapping = tmp_path / "subs.yml"
    mapping.write_text("tables:\n  customers:\n    columns: {Account: customer_id, Years: tenure_months, "
                       "Cancelled: churned, Plan: attr_plan}\n    multiply: {tenure_months: 12}\n"
                       "    values: {churned: {'yes': '1', 'no': '0'}}\n")
    result = importer.import_export(export, mapping, tmp_path / "data")
    assert list(result.written) == ["customers"]
    assert "Ann" not in (tmp_path / "data" / "customers.csv").read_text()
    customers = _load_customers(tmp_path / "data")
    lt = churn.lifetimes(customers, AS_OF)
    assert lt.source == "tenure"
    assert lt.table.set_index("customer_id")["months"].to_dict() == {"A1": 24.0, "A2": 6.0, "A3": 36.0}
    assert lt.table["churned"].tolist() == [True, False, False]
    assert churn.categorical_columns(lt.table) == ["attr_plan"]


def test_churn_flags_and_tenures_outside_the_contract_are_row_failures():
    frame = pd.DataFrame({"customer_id": ["A", "B", "C", "D"], "churned": pd.array([1, 2, 0, pd.NA], "Int64"),
                          "tenure_months": [3.0, 4.0, -1.0, np.nan]})
    failures = schema.row_failures("customers", frame)
    assert failures["reason"].to_dict() == {1: "invalid_churn_flag", 2: "invalid_tenure"}


def test_a_mapping_naming_an_undeclared_customers_column_is_an_error(tmp_path):
    """attr_* columns are declared attributes; a misspelt contract column is still an error."""
    (tmp_path / "customers.csv").write_text("id,left\nA,2026-01-01\n")
    (tmp_path / "mapping.yml").write_text("tables:\n  customers:\n    columns: {id: customer_id, left: churn_dat}\n")
    with pytest.raises(ContractError, match="churn_dat"):
        io.Mapping.load(tmp_path / "mapping.yml")


def test_lifetimes_from_dates_censor_at_the_report_month_and_count_what_they_leave_out():
    customers = pd.DataFrame({
        "customer_id": ["a", "b", "c", "d", "e", "f"],
        "signup_date": pd.to_datetime(["2026-01-01", "2026-01-01", "2026-01-01", "2026-05-01", "2026-03-01",
                                       "2026-12-01"]),
        "signup_date_imputed": [False, False, False, True, False, False],
        "churn_date": pd.to_datetime(["2026-07-02", "2027-01-01", None, None, "2026-02-01", None]),
        "region": ["N", "N", "S", "S", "N", "S"]})
    lt = churn.lifetimes(customers, AS_OF)
    months = lt.table.set_index("customer_id")["months"]
    assert months["a"] == pytest.approx(182 / churn.MONTH_DAYS)  # left on 2 July
    assert months["b"] == pytest.approx(months["c"])  # leaves after the month: still a customer at its end
    assert lt.table.set_index("customer_id")["churned"].to_dict() == {"a": True, "b": False, "c": False}
    assert lt.excluded == {"sign-up date imputed from first activity (not a contract start)": 1,
                           "no sign-up date": 0, "signed up after 2026-10-31": 1, "churn date before sign-up": 1}
    assert any("1 customers left out: churn date before sign-up" in n for n in lt.notes())


def test_a_shop_without_churn_columns_is_told_why_and_draws_nothing():
    customers = pd.DataFrame({"customer_id": ["a"], "signup_date": pd.to_datetime(["2026-01-01"])})
    study = churn.ChurnStudy(customers, AS_OF)
    assert "no churn_date or churned column" in study.skipped
    assert study.survival("region") is None and study.fit_drivers() is None
    assert churn_plots.survival_curves(study.survival()) is None
    assert churn.headline(study) == {"view": "none", "note": study.skipped}
    assert study.hazard_table() is None and study.driver_lines() == [] and churn.median_sentence(None) == ""
    assert churn.report_sentences(churn.headline(study)) == [study.skipped]
    assert "no customers table" in churn.ChurnStudy(None, AS_OF).skipped
    flag_only = customers.assign(churned=[1])
    assert "only churn rates by group" in churn.missing_reason(flag_only)
    assert "no sign-up dates" in churn.missing_reason(flag_only.drop(columns=["signup_date", "churned"])
                                                      .assign(churn_date=pd.NaT))
    # Nobody has left yet: a contract shop still, with too few departures to draw, and it says how many.
    nobody_left = churn.ChurnStudy(customers.assign(churn_date=pd.NaT), AS_OF)
    assert nobody_left.skipped.startswith("Only 1 customers with 0 departures can be followed")
    assert len(nobody_left.notes()) == 2


def test_numeric_attributes_are_standardised_and_small_levels_pooled():
    rng = np.random.default_rng(3)
    n = 400
    table = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "months": rng.exponential(10, n),
                          "churned": rng.random(n) < 0.6,
                          "attr_balance": rng.normal(1000, 300, n).round(2).astype(str),
                          "attr_plan": np.where(np.arange(n) < 10, "rare", np.where(np.arange(n) % 3, "a", "b"))})
    X, terms = churn.design_matrix(churn.Lifetimes(table, "tenure", AS_OF))
    assert terms["term"].tolist() == ["plan = b", "plan = other", "balance (per SD)"]  # against the largest, a
    assert set(terms["reference"]) == {"a", "mean"}
    assert X["balance (per SD)"].std() == pytest.approx(1.0)
    assert churn.grouped(table["attr_plan"], min_size=churn.MIN_LEVEL_CUSTOMERS).value_counts()[churn.OTHER] == 10


# ------------------------------------------------------------------------------------------
# Shops without contracts: P(alive) read with a threshold
# ------------------------------------------------------------------------------------------

def test_threshold_tradeoff_counts_flagged_precision_and_recall():
    ids = ["a", "b", "c", "d"]
    p_alive = pd.Series([0.1, 0.2, 0.6, 0.9], index=ids)
    churned = pd.Series([True, False, True, False], index=ids)
    t = churn.threshold_tradeoff(p_alive, churned, [0.05, 0.5, 0.95]).set_index("threshold")
    assert t.loc[0.05, "flagged"] == 0 and np.isnan(t.loc[0.05, "precision"]) and t.loc[0.05, "recall"] == 0
    assert (t.loc[0.5, "flagged"], t.loc[0.5, "precision"], t.loc[0.5, "recall"]) == (2, 0.5, 0.5)
    assert (t.loc[0.95, "share_flagged"], t.loc[0.95, "precision"], t.loc[0.95, "recall"]) == (1.0, 0.5, 1.0)
    assert "flags 2 (50%)" in churn.tradeoff_sentence(t.reset_index(), 0.5)
    with pytest.raises(ValueError, match="share no customer id"):
        churn.threshold_tradeoff(p_alive, churned.set_axis(["x", "y", "z", "w"]))
    with pytest.raises(ValueError, match=r"must lie in \[0, 1\]"):
        churn.threshold_tradeoff(p_alive * 2, churned)
    fig = churn_plots.threshold_tradeoff(t.reset_index(), 0.5)
    assert fig.axes[0].get_title() and "threshold" in fig.axes[0].get_xlabel()


def test_holdout_churn_is_no_purchase_in_the_window():
    orders = pd.DataFrame({"customer_id": ["a", "b", "b", "c"],
                           "order_date": pd.to_datetime(["2026-11-03", "2026-09-01", "2026-12-20", "2026-11-05"]),
                           "quantity": [1, 1, 1, -1]})
    out = churn.holdout_churn(orders, ["a", "b", "c", "d"], "2026-11-01", "2026-11-30 23:59:59")
    assert out.to_dict() == {"a": False, "b": True, "c": True, "d": True}  # a return is no purchase


# ------------------------------------------------------------------------------------------
# Real data: a bank's customer table with a churn flag
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def bank(tmp_path_factory):
    export = realdata.path("churn_modelling/Churn_Modelling.csv")
    out = tmp_path_factory.mktemp("bank") / "data"
    importer.import_export(export, realdata.mapping("churn_modelling"), out)
    return out, _load_customers(out)


def test_the_bank_export_imports_without_its_surnames(bank):
    out, customers = bank
    record = json.loads((out / "import.json").read_text())["tables"]["customers"]
    assert record["rows"] == 10_000 and record["ignored_columns"] == ["RowNumber", "Surname"]
    text = (out / "customers.csv").read_text()
    assert "Hargrave" not in text and "surname" not in text.lower()  # row 1's surname (PROVENANCE.md)
    assert customers["customer_id"].nunique() == 10_000
    assert customers["tenure_months"].max() == 120  # Tenure 0-10 years, x 12


def test_the_bank_churns_more_in_germany_and_among_inactive_members(bank):
    """What the file shows (counted on all 10,000 rows): 814 of 2,509 German customers left (32.4%)
    against 810 of 5,014 French (16.2%); 1,302 of 4,849 inactive members (26.9%) against 735 of 5,151
    active (14.3%). Both hold after age, products, gender and the rest in the Cox model (hazard
    ratio intervals clear of 1), and older customers leave sooner (age per SD ~1.5x)."""
    _, customers = bank
    study = churn.ChurnStudy(customers, "2020-01-31")
    assert study.lifetimes.source == "tenure" and study.lifetimes.events == 2037
    region = study.survival("region").summary.set_index("group")
    assert region.loc["Germany", ["customers", "left"]].tolist() == [2509, 814]
    assert region.loc["France", ["customers", "left"]].tolist() == [5014, 810]
    active = study.survival("attr_active_member").summary.set_index("group")
    assert active.loc["0", ["customers", "left"]].tolist() == [4849, 1302]
    assert active.loc["1", ["customers", "left"]].tolist() == [5151, 735]
    assert study.curves["region"].logrank_p < 1e-10 and study.curves["attr_active_member"].logrank_p < 1e-10
    drivers = study.fit_drivers().hazard_ratios.set_index("term")
    assert drivers.loc["region = Germany", "reference"] == "France" and drivers.loc["region = Germany", "lower"] > 1
    assert drivers.loc["active member = 0", "reference"] == "1" and drivers.loc["active member = 0", "lower"] > 1
    assert drivers.loc["age (per SD)", "lower"] > 1
    # Two products go with staying, three or four with leaving (82.7% and 100% of them left).
    assert drivers.loc["products = 2", "upper"] < 1 < drivers.loc["products = 3", "lower"]
    # The flag alone (no durations) gives churn rates by group, with Wilson intervals.
    rates = churn.churn_rates(customers, "region").set_index("group")
    assert rates.loc["Germany", "churn_share"] == pytest.approx(814 / 2509)
    assert rates.loc["Germany", "lower"] > rates.loc["France", "upper"]
    fig = churn_plots.hazard_ratios(study.drivers)
    assert "hazard ratio" in fig.axes[0].get_xlabel() and fig.axes[0].get_title()
    fig = churn_plots.survival_curves(study.survival("region"))
    assert "Kaplan-Meier" in alt_text(fig) and "months since sign-up" in alt_text(fig)


def test_churn_dates_travel_through_cleaning_to_the_customers_artifact(small_data, truth, tmp_path, key):
    """A contract export (the small data with each account's churn date) is cleaned like any other:
    duplicates merged, test accounts quarantined; the customers it keeps carry their churn dates,
    and every departure up to the report month is counted once."""
    import shutil

    from crm_utils.data import cleaning

    data = tmp_path / "data"
    shutil.copytree(small_data, data, ignore=shutil.ignore_patterns("_truth"))
    left = truth["customers"].set_index("customer_id")["churn_date"]
    export = pd.read_csv(data / "customers.csv", dtype=str, keep_default_na=False)
    export["churn_date"] = export["customer_id"].map(left).dt.strftime("%Y-%m-%d").fillna("")
    export.to_csv(data / "customers.csv", index=False)
    customers = cleaning.clean(io.load_raw(data), "2026-10", key=key).tables["customers"]
    assert "churn_date" in customers.columns
    study = churn.ChurnStudy(customers, AS_OF)
    kept = study.lifetimes.table["customer_id"]
    expected = left.reindex(kept).notna() & (left.reindex(kept) <= AS_OF)
    assert study.lifetimes.events == int(expected.sum()) > 0
    imputed = int(customers["signup_date_imputed"].sum())
    assert study.lifetimes.excluded["sign-up date imputed from first activity (not a contract start)"] == imputed
    assert study.lifetimes.customers + sum(study.lifetimes.excluded.values()) == len(customers)
