"""Bringing your own data: the mapping file, `crm-report import`, and the two shipped mappings.

The expected figures below were counted by hand from the files (tests/data/online_retail_sample.csv,
data/examples/generic_crm/), not read off the code's output.
"""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from crm_utils.data import cleaning, importer, io
from crm_utils.data.schema import ContractError

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = Path(__file__).parent / "data" / "online_retail_sample.csv"
GENERIC = ROOT / "data" / "examples" / "generic_crm"


def _clean(folder, month, key):
    return cleaning.clean(io.load_raw(folder), month, key=key)


@pytest.fixture(scope="module")
def retail(tmp_path_factory, key):
    out = tmp_path_factory.mktemp("retail")
    result = importer.import_export(SAMPLE, "online_retail", out)
    return out, result, _clean(out, "2011-02", key)


def test_online_retail_import_is_row_for_row(retail):
    out, result, _ = retail
    with open(SAMPLE, newline="", encoding="utf-8") as fh:
        source = list(csv.DictReader(fh))
    orders = pd.read_csv(out / "orders.csv", dtype=str, keep_default_na=False)
    assert len(orders) == len(source) == 65
    assert list(orders["order_id"]) == [r["InvoiceNo"] for r in source]  # same records, same order
    first = orders.iloc[0]
    # 12/1/2010 is 1 December (month first, as declared); 17850.0 is customer 17850.
    assert (first["order_date"], first["customer_id"], first["category"]) == \
        ("2010-12-01 08:26:00", "17850", "Candles & Lighting")
    assert orders.loc[orders["order_id"] == "540001", "order_date"].item() == "2011-01-13 12:00:00"
    assert orders.loc[35, "category"] == ""  # no description: left for cleaning to impute
    policy = yaml.safe_load((out / "mapping.yml").read_text())["tables"]["orders"]
    assert policy["exact_duplicates"] == "keep" and policy["imported_from"] == SAMPLE.name
    assert {r.get("quarantine") for r in policy["rules"]} >= {"postage", "bad_debt_adjustment", "fee"}
    record = json.loads((out / "import.json").read_text())["tables"]["orders"]
    assert record["columns_from"]["category"] == "derived from Description"
    assert record["ignored_columns"] == ["Description", "Country"] and record["rows"] == 65


def test_online_retail_ledger_accounts_for_every_line(retail):
    _, _, result = retail
    led = result.ledger.set_index("table").loc["orders"]
    # Of the 4 lines without a CustomerID, 3 are guest sales (kept, see test_guest_lines.py) and one
    # has a price of 0 (invalid_price).
    assert (led["rows_in"], led["kept"], led["quarantined"], led["merged"], led["held_back"]) == (65, 50, 12, 0, 3)
    by_reason = result.quarantine_by_reason.set_index("reason")["rows"].to_dict()
    assert by_reason == {"postage": 3, "fee": 2, "invalid_price": 3,
                         "bad_debt_adjustment": 1, "discount": 1, "manual_adjustment": 1, "non_product_line": 1}
    # Every line of the file is kept or named in the quarantine/held back, by its row number.
    kept = set(result.tables["orders"]["source_row"])
    quarantined = set(result.quarantine["row"])
    assert len(kept) + len(quarantined) + 3 == 65 and not kept & quarantined
    assert set(range(62, 65)) == set(range(65)) - kept - quarantined  # the March lines, held back
    q = result.quarantine.set_index("row")
    assert q.loc[32, "reason"] == "bad_debt_adjustment"  # line 34 of the file: A563185, 'Adjust bad debt'
    assert q.loc[32, "file"] == f"orders.csv (imported from {SAMPLE.name})"


def test_online_retail_cancellations_duplicates_categories_and_bulk_lines(retail):
    _, _, result = retail
    o = result.tables["orders"].set_index("source_row")
    assert set(o.index[o["status"] == "cancelled"]) == {23, 44, 47}  # the C invoices
    assert o.loc[[23, 44, 47], "is_return"].all()
    assert (o["line_revenue"] < 0).sum() == 3  # only the cancellations take revenue away
    assert {14, 15, 40, 41} <= set(o.index)  # the two pairs of identical lines are both kept
    assert o.loc[35, "category"] == "Kitchen & Dining" and o.loc[35, "category_imputed"]
    assert set(o.index[o["is_outlier"]]) == {46, 47}  # 74,215 jars and their cancellation
    assert set(o["category"].astype(str)) == {"Candles & Lighting", "Home Decor", "Other", "Garden",
                                              "Toys & Party", "Kitchen & Dining", "Christmas", "Bags & Storage"}
    assert result.metrics()["tables_absent"] == ["customers", "interactions", "surveys", "leads"]


def test_online_retail_ii_column_names_and_excel_cells(tmp_path, key):
    """Online Retail II names (Invoice, Price, Customer ID) and an Excel file with typed cells."""
    lines = pd.DataFrame({
        "Invoice": ["489434", "489434", "C489449", "489450"],
        "StockCode": ["85048", "POST", "22087", "21232"],
        "Description": ["15CM CHRISTMAS GLASS BALL 20 LIGHTS", "POSTAGE", "PAPER BUNTING WHITE LACE",
                        "STRAWBERRY CERAMIC TRINKET BOX"],
        "Quantity": [12, 1, -12, 24],
        "InvoiceDate": pd.to_datetime(["2009-12-01 07:45", "2009-12-01 07:45", "2009-12-01 10:33",
                                       "2009-12-01 10:34"]),
        "Price": [6.95, 18.0, 2.95, 1.25],
        "Customer ID": [13085.0, 13085.0, 16321.0, None],
        "Country": ["United Kingdom"] * 4})
    lines.to_excel(tmp_path / "online_retail_II.xlsx", index=False)
    out = tmp_path / "out"
    importer.import_export(tmp_path / "online_retail_II.xlsx", "online_retail", out)
    result = _clean(out, "2009-12", key)
    o = result.tables["orders"]
    # The line without a Customer ID is a guest sale: kept, with no customer.
    assert o["customer_id"].astype(object).where(o["customer_id"].notna(), None).tolist() == ["13085", "16321", None]
    assert list(o["category"].astype(str))[:2] == ["Christmas", "Stationery & Cards"]
    assert o["order_date"].min() == pd.Timestamp("2009-12-01 07:45")
    assert result.quarantine_by_reason.set_index("reason")["rows"].to_dict() == {"postage": 1}


def test_a_file_with_two_names_for_one_column_is_refused(tmp_path):
    pd.DataFrame({"InvoiceNo": ["1"], "Invoice": ["1"], "StockCode": ["A"], "Description": ["x"],
                  "Quantity": ["1"], "InvoiceDate": ["2010-12-01"], "UnitPrice": ["1"],
                  "CustomerID": ["1"]}).to_csv(tmp_path / "export.csv", index=False)
    with pytest.raises(ContractError, match=r"several columns the mapping renames to 'order_id'"):
        importer.import_export(tmp_path / "export.csv", "online_retail", tmp_path / "out")
    pd.DataFrame({"Rechnung": ["1"]}).to_csv(tmp_path / "other.csv", index=False)
    with pytest.raises(ContractError, match=r"any of the columns the mapping offers for 'order_id': \['InvoiceNo', 'Invoice'\]"):
        importer.import_export(tmp_path / "other.csv", "online_retail", tmp_path / "out2")


@pytest.fixture(scope="module")
def generic(tmp_path_factory, key):
    out = tmp_path_factory.mktemp("generic")
    importer.import_export(GENERIC, "generic_crm", out)
    return out, _clean(out, "2026-10", key)


def test_generic_crm_example_lands_in_the_contract(generic):
    _, result = generic
    led = result.ledger.set_index("table")[["rows_in", "kept", "quarantined", "merged", "held_back"]]
    assert led.to_dict(orient="index") == {
        "orders": {"rows_in": 15, "kept": 11, "quarantined": 3, "merged": 0, "held_back": 1},
        "customers": {"rows_in": 8, "kept": 6, "quarantined": 1, "merged": 1, "held_back": 0},
        "interactions": {"rows_in": 5, "kept": 5, "quarantined": 0, "merged": 0, "held_back": 0},
        "surveys": {"rows_in": 5, "kept": 4, "quarantined": 1, "merged": 0, "held_back": 0}}
    reasons = {f"{r.table}.{r.reason}": r.rows for r in result.quarantine_by_reason.itertuples()}
    assert reasons == {"customers.test_account": 1, "orders.cancelled_order": 1, "orders.test_account": 1,
                       "orders.unknown_customer": 1, "surveys.nps_out_of_range": 1}
    assert result.id_map.to_dict() == {"K-1006": "K-1001"}  # same e-mail, other case and a trailing space
    o = result.tables["orders"].set_index("order_id")
    assert o.loc["SO-5008", "order_date"] == pd.Timestamp("2026-10-13 14:05")  # month first
    assert o.loc["SO-5008", "unit_price"] == 45.0 and o.loc["SO-5004", "unit_price"] == 19.99  # cents
    assert o.loc["SO-5005", "customer_id"] == "K-1001"
    assert set(o["category"].astype(str)) == {"Home & Kitchen", "Books", "Electronics", "Grocery"}
    c = result.tables["customers"].set_index("customer_id")
    assert c.loc["K-1003", "gender"] == "F" and c.loc["K-1001", "channel"] == "Website"
    assert c.loc["K-1002", "signup_date"] == pd.Timestamp("2025-03-15")  # 15.03.2025, day first
    s = result.tables["surveys"]
    assert {"q_delivery", "q_product", "q_support", "overall", "nps"} <= set(s.columns)
    i = result.tables["interactions"].set_index("interaction_id")
    assert i.loc["A-1", "timestamp"] == pd.Timestamp("2026-08-03 07:12")  # +02:00 -> UTC


def test_generic_crm_example_keeps_personal_data_out(generic):
    _, result = generic
    blob = pd.concat([df.astype(str) for df in [*result.tables.values(), result.quarantine]]).to_csv()
    for text in ("Amélie", "Durand", "example.com", "example.net", "7700 900", "Newsletter", "Test User"):
        assert text not in blob, text


def test_mapping_beside_the_export_gives_the_same_tables_as_import(generic, key):
    """Reading the export through the mapping directly, or importing first: the same cleaned data."""
    _, imported = generic
    direct = cleaning.clean(io.load_raw(GENERIC, importer.resolve_mapping("generic_crm")), "2026-10", key=key)
    for t in imported.tables:
        pd.testing.assert_frame_equal(direct.tables[t], imported.tables[t])
    assert direct.ledger.drop(columns="file").equals(imported.ledger.drop(columns="file"))


def test_import_keeps_unreadable_values_for_the_run_to_quarantine(tmp_path, key):
    src = tmp_path / "export"
    src.mkdir()
    (src / "orders.csv").write_text("order_id,customer_id,order_date,product_id,quantity,unit_price\n"
                                    "O1,C1,2026-10-01,P1,2,\"4,50\"\nO2,C1,30.02.2026,P1,1,3\n"
                                    "O3,C1,2026-10-03,P1,1,3\n")
    result = importer.import_export(src, _write_mapping(tmp_path), tmp_path / "out")
    written = pd.read_csv(result.written["orders"], dtype=str)
    assert list(written["order_date"]) == ["2026-10-01 00:00:00", "30.02.2026", "2026-10-03 00:00:00"]
    assert list(written["unit_price"]) == ["4.5", "3", "3"]
    assert result.summary.loc[0, "left as written (quarantined at run)"] == "order_date: 1"
    cleaned = _clean(tmp_path / "out", "2026-10", key)
    assert list(cleaned.quarantine["detail"]) == ["order_date=30.02.2026"]


def _write_mapping(folder: Path) -> Path:
    path = folder / "plain.yml"
    path.write_text("tables:\n  orders:\n    constants: {category: All products}\n")
    return path


def test_import_never_overwrites_by_accident(tmp_path):
    out = tmp_path / "out"
    importer.import_export(SAMPLE, "online_retail", out)
    with pytest.raises(ValueError, match="pass --force"):
        importer.import_export(SAMPLE, "online_retail", out)
    importer.import_export(SAMPLE, "online_retail", out, force=True)
    with pytest.raises(ValueError, match="never overwrites the export"):
        importer.import_export(GENERIC, "generic_crm", GENERIC)
    with pytest.raises(ContractError, match="shipped: generic_crm, online_retail"):
        importer.resolve_mapping("online-retial")


def test_import_command_line(tmp_path):
    cli = [sys.executable, "-m", "crm_utils.run.cli", "import"]
    help_text = subprocess.run([*cli, "--help"], capture_output=True, text=True).stdout
    assert "online_retail" in help_text and "generic_crm" in help_text and "Exit codes" in help_text
    ok = subprocess.run([*cli, str(SAMPLE), "--mapping", "online_retail", "--out", str(tmp_path / "a"),
                         "--format", "parquet"], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "orders: online_retail_sample.csv -> orders.parquet, 65 rows" in ok.stdout
    assert len(pd.read_parquet(tmp_path / "a" / "orders.parquet")) == 65
    bad = subprocess.run([*cli, str(GENERIC), "--mapping", "online_retail", "--out", str(tmp_path / "b")],
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "no 'orders' file" in bad.stderr


def test_derive_takes_the_first_matching_pattern():
    desc = pd.Series(["CHRISTMAS TREE LIGHTS", "fairy lights", "SPOON", None, "  "])
    out = io.derive_values(desc, {"Christmas": "christmas", "Lighting": r"\bLIGHTS?\b"}, "Other")
    assert list(out.fillna("<missing>")) == ["Christmas", "Lighting", "Other", "<missing>", "<missing>"]
    # A look-behind cannot run on RE2: refused, never handed to a backtracking engine.
    with pytest.raises(ValueError, match="not a valid regular expression for RE2"):
        io.derive_values(pd.Series(["TEA LIGHT", "T-LIGHT"]), {"Candles": "(?<!TEA )LIGHT"}, "Other")


@pytest.mark.parametrize("spec,message", [
    ({"rules": [{"where": {"order_id": "^C"}, "quarantine": "x", "set": {"status": "y"}}]}, "exactly one of"),
    ({"rules": [{"where": {"order_id": "(unclosed"}, "quarantine": "x"}]}, "not a valid regular expression"),
    ({"rules": [{"where": {"order_id": "^C"}, "quarantine": "Not A Reason"}]}, "lower_case_with_underscores"),
    ({"rules": [{"where": {"order_id": "^C"}, "set": {"quantity": "1"}}]}, "applies to text columns only"),
    ({"multiply": {"category": 0.01}}, "applies to number or integer columns only"),
    ({"multiply": {"unit_price": "cents"}}, "needs a number"),
    ({"derive": {"category": {"rules": {"A": "a"}}}}, "needs 'from'"),
    ({"columns": {"InvoiceNo": "invoice_number"}}, "not a contract column"),
    ({"exact_duplicates": "drop"}, "'merge' or 'keep'"),
    ({"columns": ["InvoiceNo", "order_id"]}, "must map names to values"),
    ({"values": {"category": ["a", "b"]}}, "must map names to values"),
])
def test_mapping_mistakes_are_errors_that_say_what_to_fix(spec, message):
    with pytest.raises(ContractError, match=message):
        io.TableMapping.from_spec(spec, "orders", "mapping.yml")


def test_shipped_mappings_load():
    assert set(importer.shipped_mappings()) == {"online_retail", "generic_crm"}
    for path in importer.shipped_mappings().values():
        io.Mapping.load(path)


def test_coverage_says_what_cannot_be_checked(retail, generic):
    assert "Not in this data: customers, interactions, surveys" in cleaning.coverage(io.load_raw(retail[0]))
    assert "every customer id in the other tables is accepted" in cleaning.coverage(io.load_raw(retail[0]))
    assert cleaning.coverage(io.load_raw(generic[0])).startswith("Not in this data: leads.")  # the one optional table it lacks


@pytest.mark.parametrize("doc", ["README.md", "data/README.md"])
def test_the_documented_mapping_example_is_a_valid_mapping(doc, tmp_path):
    text = (ROOT / doc).read_text(encoding="utf-8")
    # The full example (the one with units), wherever other, smaller examples sit before it.
    block = next(b.split("```", 1)[0] for b in text.split("```yaml\n")[1:] if "unit_price" in b.split("```", 1)[0] and "multiply:" in b.split("```", 1)[0])
    (tmp_path / "mapping.yml").write_text(block, encoding="utf-8")
    orders = io.Mapping.load(tmp_path / "mapping.yml").for_table("orders")
    assert orders.multiply == {"unit_price": 0.01} and orders.exact_duplicates == "keep"
    assert [r.get("quarantine") for r in orders.rules] == [None, "postage"]


def test_a_ragged_record_is_still_quarantined_after_import(tmp_path, key):
    src = tmp_path / "export"
    src.mkdir()
    (src / "orders.csv").write_text("order_id,customer_id,order_date,product_id,category,quantity,unit_price\n"
                                    "O1,C1,2026-10-01,P1,Books,1,9.99\nO2,C1,2026-10-02,P1,Home, Garden,1,9.99\n")
    importer.import_export(src, _empty_mapping(tmp_path), tmp_path / "out")
    result = _clean(tmp_path / "out", "2026-10", key)
    assert result.quarantine[["row", "reason", "detail"]].values.tolist() == \
        [[1, "wrong_field_count", "8 fields, the header has 7"]]
    assert "_malformed" not in result.tables["orders"].columns


def _empty_mapping(folder: Path) -> Path:
    path = folder / "empty.yml"
    path.write_text("tables: {}\n")
    return path


@pytest.mark.parametrize("text,message", [
    ("tables:\n  orders:\n    file: 123\n", "mapping.yml: tables.orders.file: must be text, got 123"),
    ("tables:\n  - orders\n", "mapping.yml: tables: must map table names to their entries"),
    ("- tables\n", "mapping.yml: must hold 'tables'"),
    ("currency: GPB\ntables: {}\n", "mapping.yml: currency: 'GPB' is not an ISO 4217 currency code"),
    ("currency: 826\n", "mapping.yml: currency: 826 is not an ISO 4217 currency code"),
    ("currency: £\n", "mapping.yml: currency: '£' is not an ISO 4217 currency code"),
    ("tables: {}\ncurrencies: GBP\n", "(unknown keys ['currencies'])"),
    ("tables:\n  orders: hello\n", "tables.orders: must be a mapping of keys ({key: value, ...}), got 'hello'"),
    ("tables:\n  orders:\n    colums: {a: order_id}\n    sheeet: 1\n",
     "tables.orders: unknown keys ['colums', 'sheeet']"),
    ("tables:\n  orders:\n    sheet: [1]\n", "tables.orders.sheet: is a sheet name or number, got [1]"),
    ("tables:\n  orders:\n    date_formats: {order_date: ['%d.%m.%Y', 7]}\n",
     "tables.orders.date_formats.order_date: must be text, got 7"),
    ("tables:\n  orders:\n    order_by: []\n", "tables.orders.order_by: must not be an empty list"),
    ("tables:\n  orders:\n    max_lines_per_record: 0\n",
     "tables.orders.max_lines_per_record: needs a whole number of at least 1, got 0"),
    ("tables:\n  orders:\n    constants: {status: no}\n",
     "tables.orders.constants.status: False is not a plain value; put it in quotes"),
    ("tables:\n  orders:\n    rules: {where: {order_id: x}}\n", "tables.orders.rules: must be a list"),
    ("tables:\n  orders:\n    rules:\n      - {where: {order_id: '^C'}, quarantine: a}\n"
     "      - {where: {order_id: x}}\n",
     "tables.orders.rules[2]: needs 'where'"),
    ("tables:\n  orders:\n    multiply: {unit_price: cents}\n    encoding: [utf-8]\n",
     "tables.orders.encoding: must be text, got ['utf-8']; tables.orders.multiply.unit_price: needs a number"),
    ("tables:\n  orders:\n    rules:\n      - {where: {order_id: '(?<=C)1'}, quarantine: a}\n",
     "tables.orders.rules[1].where.order_id: '(?<=C)1' is not a valid regular expression for RE2"),
    ("tables:\n  orders:\n    derive:\n      category: {from: D, rules: {A: '(a)\\1'}}\n",
     "tables.orders.derive.category.rules.A: '(a)\\\\1' is not a valid regular expression for RE2"),
])
def test_every_mapping_mistake_is_named_with_its_place(tmp_path, text, message):
    (tmp_path / "mapping.yml").write_text(text)
    with pytest.raises(ContractError) as err:
        io.Mapping.load(tmp_path / "mapping.yml")
    assert err.value.file == "mapping.yml" and message in str(err.value)
    assert "\n" not in str(err.value)  # one line


def test_numbers_as_codes_and_header_names_stay_valid(tmp_path):
    (tmp_path / "mapping.yml").write_text("tables:\n  orders:\n    columns: {2024: quantity}\n"
                                          "    values: {category: {1: Books, 2.5: Toys}}\n    constants: {status: 7}\n"
                                          "    sheet: 0\n    order_by: line_no\n")
    orders = io.Mapping.load(tmp_path / "mapping.yml").for_table("orders")
    assert orders.columns == {"2024": "quantity"} and orders.values == {"category": {"1": "Books", "2.5": "Toys"}}
    assert (orders.constants, orders.sheet, orders.order_by) == ({"status": "7"}, 0, "line_no")


@pytest.mark.parametrize("text,message", [
    ("base: &b {file: a.csv}\ntables:\n  orders: *b\n", "line 1: YAML anchors and aliases"),
    ("tables:\n  orders: &o\n    file: a.csv\n", "line 2: YAML anchors and aliases"),
    ("tables: " + "[" * 3000 + "]" * 3000 + "\n", "nests too deeply"),
    ("tables: {orders: {file: a.csv}\n", "is not valid YAML"),
])
def test_yaml_tricks_are_refused_before_anything_is_expanded(tmp_path, text, message):
    (tmp_path / "mapping.yml").write_text(text)
    with pytest.raises(ContractError, match=message.replace("(", r"\(")):
        io.Mapping.load(tmp_path / "mapping.yml")


def test_a_mapping_file_larger_than_any_mapping_is_refused(tmp_path):
    (tmp_path / "mapping.yml").write_text("tables: {}\n" + "# padding\n" * 120_000)
    with pytest.raises(ContractError, match="bytes; a mapping file is at most 1,048,576"):
        io.Mapping.load(tmp_path / "mapping.yml")


def test_patterns_run_in_linear_time():
    """A pattern that makes a backtracking engine take exponential time (Python's re needs
    seconds for 25 characters, years for 60) is instant on RE2, which every mapping pattern runs on."""
    import time

    text = pd.Series(["a" * 25 + "!", "a" * 60 + "!", "aaa", None] * 1000)
    started = time.perf_counter()
    hit = io.search(text, "^(a+)+$")
    assert time.perf_counter() - started < 1.0
    assert hit.tolist()[:4] == [False, False, True, False]
    derived = io.derive_values(text, {"A": "^(A+)+$"}, "other")  # derive ignores case
    assert derived.fillna("<NA>").tolist()[:4] == ["other", "other", "A", "<NA>"]


def test_an_imported_long_value_is_read_by_the_run_with_the_same_line_limit(tmp_path):
    """The export's notes span 14 lines, allowed by its mapping; the imported CSV keeps them, so
    the limit travels to the output's mapping.yml with the row policies."""
    export = Path(__file__).parent / "corpus" / "long_quoted_value_allowed"
    importer.import_export(export, export / "mapping.yml", tmp_path / "out")
    assert "max_lines_per_record: 20" in (tmp_path / "out" / "mapping.yml").read_text()
    notes = io.load_raw(tmp_path / "out")["interactions"].frame["note"]
    assert notes.tolist() == io.load_raw(export)["interactions"].frame["note"].tolist()
    assert notes[0].count("\n") == 13


def test_the_currency_a_mapping_declares_travels_with_the_imported_data(tmp_path):
    """online_retail declares GBP: the imported folder says so, where the run reads it; a mapping
    without a currency gives a folder without one (the report then shows bare amounts)."""
    result = importer.import_export(SAMPLE, "online_retail", tmp_path / "gb")
    assert result.currency == "GBP"
    assert yaml.safe_load((tmp_path / "gb" / "mapping.yml").read_text())["currency"] == "GBP"
    assert json.loads((tmp_path / "gb" / "import.json").read_text())["currency"] == "GBP"
    assert io.Mapping.load(tmp_path / "gb" / "mapping.yml").tables["orders"].imported_from == SAMPLE.name

    plain = tmp_path / "plain.yml"
    plain.write_text((importer.MAPPINGS_DIR / "online_retail.yml").read_text().replace("currency: GBP\n", ""))
    assert importer.import_export(SAMPLE, plain, tmp_path / "none").currency is None
    assert "currency" not in yaml.safe_load((tmp_path / "none" / "mapping.yml").read_text())
    assert json.loads((tmp_path / "none" / "import.json").read_text())["currency"] is None


def test_the_documented_survey_example_is_a_valid_mapping(tmp_path):
    """data/README.md's "Survey items" block loads, and shapes a file with those columns as it says."""
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    block = text.split("### Survey items", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "mapping.yml").write_text(block, encoding="utf-8")
    m = io.Mapping.load(tmp_path / "mapping.yml")
    assert m.for_table("surveys").survey["not_applicable"] == [0]
    pd.DataFrame({"id": ["7", "8"], "date": ["2026-10-01", "2026-10-02"], "Inflight wifi service": ["0", "4"],
                  "Seat comfort": ["5", "2"], "On-board service": ["3", "3"],
                  "satisfaction": ["satisfied", "neutral or dissatisfied"]}).to_csv(tmp_path / "surveys.csv", index=False)
    out = importer.import_export(tmp_path / "surveys.csv", tmp_path / "mapping.yml", tmp_path / "out")
    written = pd.read_csv(out.written["surveys"], dtype=str)
    assert list(written.columns) == ["customer_id", "date", "q_inflight_wifi_service", "q_seat_comfort",
                                     "q_on_board_service", "overall"]
    assert written["q_inflight_wifi_service"].isna().tolist() == [True, False] and written["overall"].tolist() == ["1", "0"]


def test_a_real_dollar_export_is_labelled_in_dollars_by_the_run(tmp_path):
    """Superstore (a US retailer's sample) was reported in EUR: its mapping declares USD, the import
    carries it, and the runner hands USD to the notebooks."""
    import realdata

    from crm_utils.data.sources import FolderSource
    from crm_utils.run import pipeline

    result = importer.import_export(realdata.path("superstore/Sample - Superstore.csv"), realdata.mapping("superstore"),
                                    tmp_path / "raw")
    assert result.currency == "USD" and result.summary["rows"].tolist() == [9994]
    assert pipeline.data_currency(FolderSource(tmp_path / "raw")) == "USD"
