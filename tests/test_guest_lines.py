"""Guest sales and merged duplicate lines: every sale counts, and what is left out or merged is said.

A line without a customer id is a sale (a guest checkout, a till receipt): revenue, orders and
units count it; customer-level figures leave it out and say how much they leave out. Order lines
merged as exact duplicates are counted with their revenue, and the note suggests
``exact_duplicates: keep``. Hand-made exports first, then a real till export (the Bread Basket
bakery, where no line has a customer).
"""

from __future__ import annotations

import csv
import json
import math
from dataclasses import replace

import pandas as pd
import pytest

import realdata
from crm_utils import stages
from crm_utils.customers import features, overview
from crm_utils.data import cleaning, importer, io

HEADER = "order_id,customer_id,order_date,product_id,category,quantity,unit_price\n"
#: A small shop's October: two customers and two guest checkouts (O2, O3), one September line.
LINES = [
    "O1,C1,2026-10-01,P1,Books,2,10.00",   # 20
    "O1,C1,2026-10-01,P2,Toys,1,5.00",     # 5
    "O2,,2026-10-02,P1,Books,1,10.00",     # 10, guest
    "O3, ,2026-10-03,P2,Toys,3,5.00",      # 15, guest (a blank id is no id)
    "O4,C2,2026-10-04,P1,Books,1,10.00",   # 10
    "O5,C2,2026-09-04,P1,Books,1,10.00",   # September
]


def _export(folder, lines, customers=True, mapping=None):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "orders.csv").write_text(HEADER + "\n".join(lines) + "\n", encoding="utf-8")
    if customers:
        (folder / "customers.csv").write_text("customer_id,region\nC1,North\nC2,South\n", encoding="utf-8")
    if mapping:
        (folder / "mapping.yml").write_text(mapping, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def shop(tmp_path_factory, key):
    folder = _export(tmp_path_factory.mktemp("guests") / "shop", LINES)
    return cleaning.clean(io.load_raw(folder), "2026-10", key=key)


def test_guest_lines_are_kept_not_quarantined(shop):
    led = shop.ledger.set_index("table")
    assert (led.loc["orders", "kept"], led.loc["orders", "quarantined"]) == (6, 0)
    o = shop.tables["orders"]
    assert o["customer_id"].isna().sum() == 2
    assert set(o.loc[o["customer_id"].isna(), "order_id"]) == {"O2", "O3"}
    fixes = shop.fixes.set_index("fix")["rows"]
    assert fixes.filter(like="guest sale").sum() == 2


def test_revenue_orders_and_units_count_guest_sales(shop):
    kpis = overview.month_kpis(shop.tables["orders"], "2026-10")
    assert kpis["revenue"] == pytest.approx(60.0)  # 20 + 5 + 10 + 15 + 10: the guests' 25 included
    assert kpis["orders"] == 4
    assert kpis["active_customers"] == 2  # C1 and C2: a guest is no customer
    assert kpis["average_order_value"] == pytest.approx(15.0)
    monthly = overview.monthly_series(shop.tables["orders"], "2026-10")
    assert monthly.loc[pd.Period("2026-10", "M"), ["revenue", "orders", "active_customers"]].tolist() == [60.0, 4, 2]
    o = shop.tables["orders"]
    assert o.loc[o["order_date"].dt.month == 10, "quantity"].sum() == 8  # units: 2 + 1 + 1 + 3 + 1


def test_customer_level_figures_leave_guests_out_and_say_how_much(shop):
    o = shop.tables["orders"]
    month = features.guest_figures(o, "2026-10")
    assert month == {"guest_lines": 2, "guest_orders": 2, "guest_revenue": 25.0,
                     "guest_revenue_share": pytest.approx(25 / 60)}
    feats = features.customer_features(o, pd.Timestamp("2026-10-31 23:59:59"))
    assert list(feats.index) == ["C1", "C2"]
    assert feats.loc["C1", "monetary"] == 25.0 and feats.loc["C2", "frequency"] == 2
    _, sizes = overview.cohort_retention(o, "2026-10")
    assert sizes.sum() == 2  # two first purchases, no guest cohort
    figures = overview.headline("2026-10", overview.kpi_table(o, "2026-10"), {}, {}, guests=month)
    assert figures["guest_revenue_share"] == pytest.approx(25 / 60)
    assert set(figures) <= set(stages.stage("overview").headline_figures)
    metrics = shop.metrics()
    assert (metrics["guest_lines"], metrics["guest_revenue"]) == (2, 25.0)
    assert metrics["guest_revenue_share"] == pytest.approx(25 / 70)  # of all kept lines, September's too
    assert set(metrics) <= set(stages.stage("data").headline_figures)
    assert any("2 kept order line(s) have no customer id" in n for n in shop.notes())


def test_an_export_without_a_customer_column_is_all_guest_sales(tmp_path, key):
    folder = tmp_path / "till"
    folder.mkdir()
    (folder / "orders.csv").write_text("order_id,order_date,product_id,quantity,unit_price\n"
                                       "T1,2026-10-01,Tea,1,2.5\nT1,2026-10-01,Cake,2,3.0\nT2,2026-10-02,Tea,1,2.5\n",
                                       encoding="utf-8")
    result = cleaning.clean(io.load_raw(folder), "2026-10", key=key)
    kpis = overview.month_kpis(result.tables["orders"], "2026-10")
    assert (kpis["revenue"], kpis["orders"]) == (11.0, 2)
    assert math.isnan(kpis["active_customers"])  # no customer is known: not zero customers
    assert result.metrics()["guest_revenue_share"] == 1.0
    with pytest.raises(ValueError, match="every order line is a guest sale"):
        features.customer_features(result.tables["orders"], result.cutoff)


def test_merged_duplicate_lines_are_counted_and_said(tmp_path, key):
    lines = LINES + ["O1,C1,2026-10-01,P1,Books,2,10.00"]  # O1's first line again: 20 of 90
    result = cleaning.clean(io.load_raw(_export(tmp_path / "dup", lines)), "2026-10", key=key)
    metrics = result.metrics()
    assert (metrics["merged_duplicate_lines"], metrics["merged_duplicate_revenue"]) == (1, 20.0)
    assert metrics["merged_duplicate_revenue_share"] == pytest.approx(20 / 90)
    assert set(metrics) <= set(stages.stage("data").headline_figures)
    note = next(n for n in result.notes() if "repeat another line" in n)
    assert "1 order line(s)" in note and "20.00 revenue" in note and "22.2%" in note
    assert "exact_duplicates: keep" in note
    kept = cleaning.clean(io.load_raw(_export(tmp_path / "keep", lines, mapping=(
        "tables:\n  orders:\n    exact_duplicates: keep\n"))), "2026-10", key=key)
    assert "merged_duplicate_lines" not in kept.metrics()
    assert overview.month_kpis(kept.tables["orders"], "2026-10")["revenue"] == pytest.approx(80.0)


def test_the_importer_says_which_lines_will_be_merged(tmp_path):
    src = _export(tmp_path / "src", LINES + ["O1,C1,2026-10-01,P1,Books,2,10.00"], customers=False)
    out = tmp_path / "out"
    result = importer.import_export(src / "orders.csv", _plain_mapping(tmp_path), out)
    note = result.summary.set_index("table").loc["orders", "exact duplicates (merged at run)"]
    assert note.startswith("1 order line(s) repeat another line exactly") and "exact_duplicates: keep" in note
    record = json.loads((out / "import.json").read_text())["tables"]["orders"]
    assert record["exact_duplicate_lines"]["lines"] == 1 and record["exact_duplicate_lines"]["revenue"] == 20.0


def _plain_mapping(folder):
    path = folder / "plain.yml"
    path.write_text("tables:\n  orders: {}\n", encoding="utf-8")
    return path


# ------------------------------------------------------------------------------------------
# A real till export: the Bread Basket bakery (no customer column at all)
# ------------------------------------------------------------------------------------------

MONTH = "2017-03"


def _till_lines() -> pd.DataFrame:
    """The export as the csv module reads it (the stray NUL byte stays in its Date field)."""
    with open(realdata.path("breadbasket/BreadBasket_DMS.csv"), newline="", encoding="ascii") as fh:
        return pd.DataFrame(list(csv.DictReader(fh)))


def _bakery(key, exact_duplicates: str | None = None):
    file = realdata.path("breadbasket/BreadBasket_DMS.csv")
    mapping = io.Mapping.load(realdata.mapping("breadbasket"))
    if exact_duplicates:
        mapping.tables["orders"] = replace(mapping.for_table("orders"), exact_duplicates=exact_duplicates)
    return cleaning.clean(io.load_raw(file.parent, mapping), MONTH, key=key)


def test_bakery_revenue_counts_every_item_sold(key):
    result = _bakery(key)
    till = _till_lines()
    march = till[till["Date"].str.startswith(MONTH)]
    sold = march[~march["Item"].isin(["NONE", "Adjustment"])]
    kpis = overview.month_kpis(result.tables["orders"], MONTH)
    assert kpis["revenue"] == len(sold)  # unit price 1: revenue counts the items
    assert kpis["orders"] == sold["Transaction"].nunique()
    assert math.isnan(kpis["active_customers"])
    guests = features.guest_figures(result.tables["orders"], MONTH)
    assert guests["guest_lines"] == len(sold) and guests["guest_revenue_share"] == 1.0
    reasons = result.quarantine_by_reason.set_index("reason")["rows"].to_dict()
    on_or_before = till[till["Date"].str.lstrip("\x00") <= MONTH + "-31"]
    assert reasons["no_item"] == (on_or_before["Item"] == "NONE").sum()
    # The line with the NUL byte: its date is unreadable, so it is quarantined, naming the value.
    nul = result.quarantine[result.quarantine["reason"] == "unparseable_date"]
    assert len(nul) == 1 and json.loads(nul["record"].iloc[0])["product_id"] == "Muffin"


def test_bakery_duplicate_items_merged_under_the_default_policy_are_said(key):
    result = _bakery(key, exact_duplicates="merge")
    till = _till_lines()
    known = till[till["Date"].str.lstrip("\x00") <= MONTH + "-31"]
    repeated = int(known.duplicated(["Date", "Transaction", "Item"]).sum())
    metrics = result.metrics()
    assert metrics["merged_duplicate_lines"] == repeated > 0
    assert metrics["merged_duplicate_revenue"] == repeated  # a price of 1 per item
    # Its share of the sales: the kept lines' revenue and the merged ones' (quarantined lines are no sales).
    kept_revenue = result.tables["orders"]["line_revenue"].sum()
    assert metrics["merged_duplicate_revenue_share"] == pytest.approx(repeated / (kept_revenue + repeated))
    assert any(f"{repeated:,} order line(s) repeat another line" in n and "exact_duplicates: keep" in n
               for n in result.notes())
    kept = _bakery(key)  # the committed mapping keeps them: two coffees are two sales
    assert kept.ledger.set_index("table").loc["orders", "merged"] == 0
    march = known[known["Date"].str.startswith(MONTH) & ~known["Item"].isin(["NONE", "Adjustment"])]
    lost = overview.month_kpis(kept.tables["orders"], MONTH)["revenue"] - \
        overview.month_kpis(result.tables["orders"], MONTH)["revenue"]
    assert lost == march.duplicated(["Date", "Transaction", "Item"]).sum() > 0


def test_a_bakery_of_guest_sales_runs_end_to_end(tmp_path):
    """Imported as a user would (the stray NUL written as U+FFFD, so the run can read its own
    import), then run: the customer stages are skipped with the reason, the rest runs."""
    import subprocess
    import sys

    cli = [sys.executable, "-m", "crm_utils.run.cli"]
    out, reports = tmp_path / "raw", tmp_path / "reports"
    done = subprocess.run([*cli, "import", str(realdata.path("breadbasket/BreadBasket_DMS.csv")), "--mapping",
                           str(realdata.mapping("breadbasket")), "--out", str(out)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert b"\x00" not in (out / "orders.csv").read_bytes()
    run = subprocess.run([*cli, "run", "--month", MONTH, "--data-dir", str(out), "--reports-dir", str(reports),
                          "--only", "01,02,03,05", "--quiet"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    record = json.loads((reports / MONTH / "run.json").read_text())
    assert set(record["skipped"]) == {"03_customer_segmentation.ipynb", "05_need_prediction.ipynb"}
    assert all("every order line is a guest sale" in why for why in record["skipped"].values())
    metrics = json.loads((reports / MONTH / "metrics.json").read_text())
    assert metrics["01_data_cleaning"]["quarantined_by_reason"]["orders.unparseable_date"] == 1  # the NUL line
