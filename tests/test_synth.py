"""The generator is deterministic and plants the structure the notebooks are meant to find."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from crm_utils import synth


def _digest(folder: Path) -> dict[str, str]:
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def test_same_seed_same_bytes_other_seed_other_data(tmp_path):
    cfg = synth.SynthConfig(customers=300, seed=11, months=12)
    synth.generate(tmp_path / "a", cfg)
    synth.generate(tmp_path / "b", cfg)
    synth.generate(tmp_path / "c", synth.SynthConfig(customers=300, seed=12, months=12))
    a, b, c = _digest(tmp_path / "a"), _digest(tmp_path / "b"), _digest(tmp_path / "c")
    assert a == b
    assert a["orders.csv"] != c["orders.csv"]


def test_chunks_in_parallel_give_the_same_files(tmp_path):
    cfg = synth.SynthConfig(customers=400, seed=5, months=6, chunk_customers=150)
    synth.generate(tmp_path / "one", cfg, workers=1)
    synth.generate(tmp_path / "two", cfg, workers=2)
    assert _digest(tmp_path / "one") == _digest(tmp_path / "two")
    customers = pd.read_csv(tmp_path / "one" / "customers.csv", dtype=str)
    assert customers["customer_id"].is_unique  # chunks' own id ranges never collide
    for table, key in [("orders", "order_id"), ("surveys", "response_id"), ("interactions", "interaction_id")]:
        ids = pd.read_csv(tmp_path / "one" / f"{table}.csv", dtype=str)[key]
        assert ids.str.len().nunique() == 1  # fixed width, like a real export


def test_window_follows_end_date_not_today(small_data):
    orders = pd.read_csv(small_data / "orders.csv", dtype=str)
    iso = pd.to_datetime(orders["order_date"], format="%Y-%m-%d %H:%M:%S", errors="coerce").dropna()
    assert iso.min() >= pd.Timestamp("2023-11-01")
    assert iso.max() <= pd.Timestamp("2026-10-31 23:59:59")
    assert iso.max() >= pd.Timestamp("2026-10-25")  # the data really reaches the end date


def test_parquet_output_holds_same_tables(tmp_path):
    synth.generate(tmp_path / "csv", synth.SynthConfig(customers=200, seed=3, months=6))
    synth.generate(tmp_path / "pq", synth.SynthConfig(customers=200, seed=3, months=6, file_format="parquet"))
    a = pd.read_csv(tmp_path / "csv" / "orders.csv", dtype=str, keep_default_na=False)
    b = pd.read_parquet(tmp_path / "pq" / "orders.parquet")
    assert len(a) == len(b)
    assert (a["order_id"].to_numpy() == b["order_id"].to_numpy()).all()


@pytest.fixture(scope="module")
def clean_orders(cleaned, truth):
    run, result = cleaned
    o = result.tables["orders"]
    persona = truth["customers"].set_index("customer_id")["persona"]
    return o.assign(persona=o["customer_id"].map(persona).to_numpy())


def test_personas_differ_in_frequency_and_spend(clean_orders, truth):
    tc = truth["customers"]
    tc = tc[tc["customer_id"] == tc["canonical_id"]].dropna(subset=["persona"])
    orders_per_customer = clean_orders.groupby("customer_id")["order_id"].nunique()
    per_persona = orders_per_customer.reindex(tc["customer_id"]).fillna(0).groupby(tc["persona"].to_numpy()).mean()
    assert per_persona["Champions"] > 2 * per_persona["Occasional buyers"]
    price = clean_orders.groupby("persona")["unit_price"].median()
    assert price["Bargain hunters"] < price["Champions"]


def test_seasonality_events_and_holidays_are_planted(clean_orders):
    o = clean_orders[~clean_orders["is_return"]]
    toys = o[o["category"] == "Toys & Games"]
    by_month = toys.groupby(toys["order_date"].dt.month).size()
    assert by_month[12] > 2 * by_month[6]
    garden = o[o["category"] == "Garden"]
    g = garden.groupby(garden["order_date"].dt.month).size()
    assert g[5] > 2 * g[12]
    daily = o.groupby(o["order_date"].dt.normalize()).size()
    for bf in ["2024-11-29", "2025-11-28"]:
        november = daily[(daily.index.month == 11) & (daily.index.year == int(bf[:4]))]
        assert daily[pd.Timestamp(bf)] > 1.8 * november.median()
    # Christmas Day is a public holiday in every planted region: fewer orders than the days around it.
    for y in (2024, 2025):
        around = daily[pd.Timestamp(f"{y}-12-18"):pd.Timestamp(f"{y}-12-31")].drop(pd.Timestamp(f"{y}-12-25"))
        assert daily[pd.Timestamp(f"{y}-12-25")] < around.median()


def test_need_notes_precede_purchases_of_that_category(cleaned, truth):
    _, result = cleaned
    notes = result.tables["interactions"].merge(truth["interactions"], on="interaction_id")
    need = notes.dropna(subset=["need_category"])
    assert len(need) > 100
    o = result.tables["orders"][["customer_id", "order_date", "category"]].astype({"category": str})
    pairs = need.merge(o, on="customer_id")
    within = pairs[(pairs["order_date"] > pairs["timestamp"]) &
                   (pairs["order_date"] <= pairs["timestamp"] + pd.Timedelta(days=21))]
    rng = np.random.default_rng(0)

    def hit_rate(need_category: pd.Series) -> float:
        hits = within.assign(hit=within["category"] == need_category.reindex(within.index).to_numpy())
        per_note = hits.groupby("interaction_id")["hit"].any()
        return float(per_note.reindex(need["interaction_id"], fill_value=False).mean())

    observed = hit_rate(within["need_category"])
    # Baseline: the same notes with their categories shuffled among them.
    mapping = dict(zip(need["interaction_id"], rng.permutation(need["need_category"].to_numpy())))
    shuffled = hit_rate(within["interaction_id"].map(mapping))
    assert observed > 0.6
    assert observed > 2 * shuffled


def test_truth_lists_every_dirt_kind_at_its_rate(small_data, truth):
    dirt = truth["dirt"]
    kinds = set(dirt["kind"])
    expected = {"duplicate_customer", "test_account", "missing_birth_year", "missing_gender", "missing_city",
                "missing_channel", "city_spelling", "date_format", "unparseable_signup_date",
                "unparseable_date", "unknown_customer", "missing_customer_id", "invalid_price",
                "invalid_quantity", "bulk_outlier", "missing_category", "category_spelling",
                "exact_duplicate", "duplicate_customer_id", "nps_out_of_range", "missing_answer"}
    assert expected <= kinds
    rows = {t: sum(1 for _ in open(small_data / f"{t}.csv", encoding="utf-8")) - 1 for t in synth.TABLES}
    rates = synth.DirtRates()
    n_dups = (dirt.query("table == 'customers' and kind == 'duplicate_customer'")).shape[0]
    assert n_dups == round(1500 * rates.duplicate_customers)
    for t, row in dirt.groupby("table")["row"].max().items():
        assert row < rows[t]


def test_truth_canonical_ids_point_at_original_records(truth):
    tc = truth["customers"]
    dups = tc[tc["customer_id"] != tc["canonical_id"]]
    originals = set(tc.loc[tc["customer_id"] == tc["canonical_id"], "customer_id"])
    assert len(dups) == 45
    assert set(dups["canonical_id"]) <= originals
    assert set(tc["satisfaction_archetype"].dropna()) == {a.name for a in synth.ARCHETYPES}
    assert set(tc["persona"].dropna()) == {p.name for p in synth.PERSONAS}


def test_no_notebook_reads_the_truth():
    for nb in (Path(__file__).parents[1] / "notebooks").glob("*.ipynb"):
        assert "_truth" not in nb.read_text() and "load_truth" not in nb.read_text(), nb.name


def test_rejects_too_few_customers(tmp_path):
    with pytest.raises(ValueError, match="at least 50"):
        synth.generate(tmp_path, synth.SynthConfig(customers=10))
