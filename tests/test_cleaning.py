"""Cleaning recovers the planted truth: every dirt kind lands in its place in the ledger."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from crm_utils import synth
from crm_utils.data import cleaning, io
from crm_utils.data.cleaning import CleaningRun

#: Where each kind of planted dirt must end up: (outcome, quarantine/merge reason or None).
EXPECTED = {
    ("orders", "unparseable_date"): ("quarantined", {"unparseable_date", "missing_date"}),
    ("orders", "unknown_customer"): ("quarantined", {"unknown_customer"}),
    ("orders", "invalid_price"): ("quarantined", {"invalid_price"}),
    ("orders", "invalid_quantity"): ("quarantined", {"invalid_quantity"}),
    ("orders", "test_account"): ("quarantined", {"test_account"}),
    ("orders", "exact_duplicate"): ("merged", {"exact_duplicate"}),
    ("customers", "duplicate_customer"): ("merged", {"duplicate_customer"}),
    ("customers", "test_account"): ("quarantined", {"test_account"}),
    ("interactions", "unparseable_date"): ("quarantined", {"unparseable_date"}),
    ("interactions", "unknown_customer"): ("quarantined", {"unknown_customer"}),
    ("surveys", "nps_out_of_range"): ("quarantined", {"nps_out_of_range"}),
    ("surveys", "unknown_customer"): ("quarantined", {"unknown_customer"}),
}
#: ... and the kinds cleaning keeps (an order line without a customer id is a guest sale).
KEPT_KINDS = {"missing_customer_id", "bulk_outlier", "missing_category", "category_spelling", "date_format", "duplicate_customer_id",
              "city_spelling", "unparseable_signup_date", "missing_birth_year", "missing_gender",
              "missing_city", "missing_channel", "missing_answer"}


def test_ledger_identity_holds_for_every_table(cleaned, small_data):
    run, result = cleaned
    led = result.ledger.set_index("table")
    for t in synth.TABLES:
        rows_in = sum(1 for _ in open(small_data / f"{t}.csv", encoding="utf-8")) - 1
        assert led.loc[t, "rows_in"] == rows_in
        assert rows_in == led.loc[t, ["kept", "quarantined", "merged", "held_back"]].sum()
        assert led.loc[t, "kept"] == len(result.tables[t])


@pytest.mark.parametrize("table,kind", sorted(EXPECTED))
def test_each_dirt_kind_lands_in_its_place(cleaned, truth, table, kind):
    run, _ = cleaned
    planted = truth["dirt"].query("table == @table and kind == @kind")["row"]
    assert len(planted) > 0, "the small data set should plant this kind"
    out = run.outcomes().query("table == @table").set_index("row")
    outcome, reasons = EXPECTED[(table, kind)]
    got = out.reindex(planted.to_numpy())
    assert (got["outcome"] == outcome).all(), got[got["outcome"] != outcome].head()
    assert got["reason"].isin(reasons).all(), got[~got["reason"].isin(reasons)].head()


def test_nothing_unplanted_is_quarantined_or_merged(cleaned, truth):
    run, _ = cleaned
    removed = run.outcomes()
    removed = removed[removed["outcome"].isin(["quarantined", "merged"])]
    planted = truth["dirt"][truth["dirt"].apply(lambda r: (r["table"], r["kind"]) in EXPECTED, axis=1)]
    key = set(zip(planted["table"], planted["row"]))
    # The leads' planted dirt is in their own truth (a column per lead, in the file's row order).
    key |= {("leads", int(r)) for r in np.flatnonzero(truth["leads"]["dirt"].to_numpy() != "")}
    stray = [(t, r) for t, r in zip(removed["table"], removed["row"]) if (t, r) not in key]
    assert stray == []


def test_kept_dirt_is_repaired(cleaned, truth, small_data):
    run, result = cleaned
    o = result.tables["orders"].set_index("source_row")
    products = truth["products"].set_index("product_id")["category"]
    for kind in ("missing_category", "category_spelling"):
        rows = truth["dirt"].query("table == 'orders' and kind == @kind")["row"]
        kept = o.loc[rows]
        assert (kept["category"].astype(str).to_numpy() == products.reindex(kept["product_id"]).to_numpy()).all()
    assert o.loc[truth["dirt"].query("table == 'orders' and kind == 'missing_category'")["row"], "category_imputed"].all()
    # Every date format parses to the same calendar day the generator meant (its ISO twin rows agree).
    rows = truth["dirt"].query("table == 'orders' and kind == 'date_format'")["row"]
    assert o.loc[rows, "order_date"].notna().all()
    assert set(result.tables["orders"]["category"].astype(str)) == set(synth.CATEGORY_NAMES)


def test_duplicate_customers_are_found_exactly(cleaned, truth):
    _, result = cleaned
    tc = truth["customers"]
    planted = tc[tc["customer_id"] != tc["canonical_id"]].set_index("customer_id")["canonical_id"]
    found = result.id_map
    assert set(found.index) == set(planted.index)
    assert (found.reindex(planted.index).to_numpy() == planted.to_numpy()).all()
    customers = result.tables["customers"]
    assert customers["customer_id"].is_unique
    assert not customers["customer_id"].isin(planted.index).any()
    # The duplicates' orders now belong to the canonical customer.
    moved = truth["dirt"].query("table == 'orders' and kind == 'duplicate_customer_id'")["row"]
    o = result.tables["orders"].set_index("source_row")
    assert o.loc[moved, "customer_id"].isin(set(planted.to_numpy())).all()


def test_outlier_flags_match_the_planted_bulk_orders(cleaned, truth):
    _, result = cleaned
    o = result.tables["orders"]
    planted = set(truth["dirt"].query("table == 'orders' and kind == 'bulk_outlier'")["row"])
    flagged = set(o.loc[o["is_outlier"], "source_row"])
    assert flagged == planted


def test_city_spellings_are_unified_and_gaps_labelled(cleaned, truth):
    _, result = cleaned
    c = result.tables["customers"]
    canonical = {city for r in synth.REGIONS.values() for city in r["cities"]} | {"unknown"}
    assert set(c["city"].astype(str)) <= canonical
    assert (c["gender"].astype(str).isin({"F", "M", "X", "unknown"})).all()
    bad_signup = truth["dirt"].query("table == 'customers' and kind == 'unparseable_signup_date'")["row"]
    imputed = c.set_index("source_row").reindex(bad_signup)
    assert imputed["signup_date_imputed"].all()


def test_no_personal_data_leaves_cleaning(cleaned):
    _, result = cleaned
    email = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[a-z]{2,}")
    for name, df in {**result.tables, "quarantine": result.quarantine}.items():
        assert not {"name", "email", "phone"} & set(df.columns), name
        text = df.select_dtypes(exclude=["number", "datetime", "bool"]).astype(str)
        for col in text.columns:
            assert not text[col].str.contains(email).any(), (name, col)
    assert result.tables["customers"]["email_hash"].notna().mean() > 0.99


def test_rows_after_the_report_month_are_held_back(small_data, key):
    result = cleaning.clean(io.load_raw(small_data), "2026-06", key=key)
    led = result.ledger.set_index("table")
    assert led.loc["orders", "held_back"] > 0
    assert (led["balanced"]).all()
    cutoff = pd.Timestamp("2026-06-30 23:59:59")
    assert result.tables["orders"]["order_date"].max() <= cutoff
    assert result.tables["surveys"]["date"].max() <= cutoff
    assert result.tables["customers"]["signup_date"].max() <= cutoff


def test_steps_must_run_in_order(small_data, key):
    run = CleaningRun(io.load_raw(small_data), "2026-10", key=key)
    with pytest.raises(RuntimeError, match="out of order"):
        run.validate_rows()
    run.hold_back_after_cutoff()
    with pytest.raises(RuntimeError, match="not run yet"):
        run.finish()


def test_cleaning_is_deterministic(small_data, key, cleaned):
    _, first = cleaned
    second = cleaning.clean(io.load_raw(small_data), "2026-10", key=key)
    for t in first.tables:
        pd.testing.assert_frame_equal(first.tables[t], second.tables[t])
    assert first.metrics() == second.metrics()


def test_canonical_spelling_prefers_the_most_frequent_form():
    s = pd.Series(["München", "München", "MUNCHEN", " münchen ", "Berlin", None])
    out = cleaning.canonical_spelling(s)
    assert list(out[:5]) == ["München"] * 4 + ["Berlin"]
    assert pd.isna(out.iloc[5])


def test_outlier_rule_is_scale_free_and_per_group():
    """Scaling every quantity by 10 flags the same lines: the rule is about ratios, per category."""
    rng = np.random.default_rng(0)
    small = np.r_[rng.integers(1, 4, 500), [90, 150]].astype(float)
    big = np.r_[rng.integers(20, 60, 500), [90, 150]].astype(float)  # 90 units is normal here
    q = pd.Series(np.r_[small, big])
    group = pd.Series(["a"] * 502 + ["b"] * 502)
    for scale in (1, 10):
        flags, _ = cleaning.bulk_outliers(q * scale, group)
        assert flags.to_numpy().nonzero()[0].tolist() == [500, 501]
    flags, limit = cleaning.bulk_outliers(pd.Series([1.0] * 99 + [9.0]), pd.Series(["c"] * 100))
    assert np.exp(limit.iloc[0]) == pytest.approx(8.0)  # all-ones category: fence at 8x
    assert flags.iloc[-1]


def test_contact_details_written_in_free_text_are_masked(cleaned, truth):
    _, result = cleaned
    for table, col in (("interactions", "note"), ("surveys", "comment")):
        planted = truth["dirt"].query("table == @table and kind == 'contact_in_text'")["row"]
        assert len(planted) > 0
        df = result.tables[table].set_index("source_row")
        text = df.loc[df.index.intersection(planted), col].astype(str)
        assert text.str.contains(r"\[(?:email|phone)\]").all()
        everything = result.tables[table][col].astype(str)
        assert not everything.str.contains(r"@|\+44 7\d{3}").any()


def _tiny(tmp_path, customers: pd.DataFrame, orders: pd.DataFrame):
    customers.to_csv(tmp_path / "customers.csv", index=False)
    orders.to_csv(tmp_path / "orders.csv", index=False)
    return io.load_raw(tmp_path)


def _orders_for(ids: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"order_id": [f"O{i}" for i in range(len(ids))], "customer_id": ids,
                         "order_date": "2026-10-01", "product_id": "P1", "category": "Books",
                         "quantity": 1, "unit_price": 9.5})


def test_shared_phone_or_placeholder_email_does_not_merge_people(tmp_path, key):
    customers = pd.DataFrame({
        "customer_id": ["C1", "C2", "C3", "C4", "C5"],
        "name": ["Ann Lee", "Bob Lee", "Cat Ray", "Dan Fox", "ANN  LEE"],
        "email": ["ann@example.com", "bob@example.com", "n/a", "N/A", " Ann@Example.com"],
        "phone": ["+44 7911 123456", "07911-123-456", "", "", "00447911123456"],
        "signup_date": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01", "2025-05-01"]})
    result = cleaning.clean(_tiny(tmp_path, customers, _orders_for(["C1", "C2", "C3", "C4", "C5"])), "2026-10", key=key)
    # Same household phone, other name: two people. Placeholder e-mails: no link. C5 is C1.
    assert result.id_map.to_dict() == {"C5": "C1"}
    assert len(result.tables["customers"]) == 4


def test_sparse_tables_do_not_crash(tmp_path, key):
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "signup_date": ["2025-01-01", "2025-01-02"]})
    orders = _orders_for(["C1", "C2"]).assign(category=None)
    result = cleaning.clean(_tiny(tmp_path, customers, orders), "2026-10", key=key)
    assert list(result.tables["orders"]["category"].astype(str)) == ["unknown", "unknown"]
    assert result.ledger["balanced"].all()


def test_extra_columns_with_personal_data_never_reach_the_outputs(tmp_path, key):
    customers = pd.DataFrame({"Customer ID": ["C1"], "first_name": ["Zelda"], "Email": ["zelda@example.org"],
                              "mobile": ["+44 7700 900123"], "signup_date": ["2025-01-01"]})
    orders = _orders_for(["C1", "C9"]).assign(customer_name="Zelda Zonk")
    raw = _tiny(tmp_path, customers, orders)
    assert "customer_id" in raw["customers"].frame.columns  # 'Customer ID' matched the contract
    result = cleaning.clean(raw, "2026-10", key=key)
    blob = pd.concat([*(t.astype(str) for t in result.tables.values()), result.quarantine.astype(str)],
                     ignore_index=True).to_csv()
    assert "Zelda" not in blob and "zelda@" not in blob and "7700" not in blob
    assert len(result.quarantine) == 1  # the order of unknown C9, with its record minus personal data


def test_the_last_second_of_the_month_is_still_in_the_month(tmp_path, key):
    customers = pd.DataFrame({"customer_id": ["C1"], "signup_date": ["2025-01-01"]})
    orders = _orders_for(["C1", "C1"]).assign(order_date=["2026-10-31T23:59:59.5", "2026-11-01T00:00:00"])
    result = cleaning.clean(_tiny(tmp_path, customers, orders), "2026-10", key=key)
    led = result.ledger.set_index("table")
    assert led.loc["orders", "kept"] == 1 and led.loc["orders", "held_back"] == 1


def test_a_month_before_the_data_is_an_error_not_an_empty_report(small_data, key):
    with pytest.raises(ValueError, match="no order lines are left for 2020-01"):
        cleaning.clean(io.load_raw(small_data), "2020-01", key=key)


def test_finish_refuses_a_row_that_vanished_without_a_record(small_data, key):
    run = CleaningRun(io.load_raw(small_data), "2026-10", key=key)
    for step in CleaningRun.STEPS:
        getattr(run, step)()
    run.tables["orders"] = run.tables["orders"].iloc[1:]  # lost silently
    with pytest.raises(cleaning.LedgerError):
        run.finish()


def test_the_record_seen_first_is_canonical_even_without_a_signup_date(tmp_path, key):
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Amador Fábregas", "Amador  Fábregas"],
                              "email": ["amador@example.com", "AMADOR@example.com "], "phone": ["", ""],
                              "signup_date": ["n/a", "2025-06-01"]})
    orders = _orders_for(["C1", "C2"]).assign(order_date=["2024-01-05", "2026-10-01"])
    result = cleaning.clean(_tiny(tmp_path, customers, orders), "2026-10", key=key)
    assert result.id_map.to_dict() == {"C2": "C1"}  # C1 bought in 2024, long before C2 signed up
