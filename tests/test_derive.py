"""A mapping's derived columns built from several columns, or from a column another contract column
already takes: ``derive: {order_id: {join: [Member_number, Date], sep: "|"}}`` and
``derive: {category: {copy: itemDescription}}`` (data/README.md, "Mapping a foreign export").

A basket export (one line per member, day and item) has no order number: the basket is the member's
purchases on one day. The expected values below are written out by hand from the small frames here,
and for the real Groceries export from ../shared/realdata/PROVENANCE.md (section 2a).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest
import yaml

import realdata
from crm_utils.data import cleaning, importer, io, sources
from crm_utils.data.schema import TEXT, ContractError

ROOT = Path(__file__).resolve().parents[1]

#: A basket export's columns as the file names them, and how they map onto the contract.
BASKET_MAPPING = {
    "columns": {"Member_number": "customer_id", "Date": "order_date", "itemDescription": "product_id"},
    "derive": {"order_id": {"join": ["Member_number", "Date"], "sep": "|"},
               "category": {"copy": "itemDescription"}},
    "constants": {"quantity": "1", "unit_price": "1"},
}


def _basket_file() -> pd.DataFrame:
    """Five lines as read (all text): a blank date, a missing member and spaces around a value."""
    return pd.DataFrame({
        "Member_number": ["1808", "1808", " 2552", None, "2300"],
        "Date": ["21-07-2015", "21-07-2015", "05-01-2015", "05-01-2015", "  "],
        "itemDescription": ["tropical fruit", "whole milk", "whole milk", "yogurt", None],
    }, dtype=TEXT)


def _apply(spec: dict, df: pd.DataFrame | None = None) -> tuple[pd.DataFrame, dict[str, str]]:
    tm = io.TableMapping.from_spec(spec, "orders", "mapping.yml")
    return io.apply_mapping(_basket_file() if df is None else df, "orders", tm, "baskets.csv")


def test_join_builds_one_id_from_several_file_columns_missing_when_a_part_is():
    df, where = _apply(BASKET_MAPPING)
    # Parts are stripped (' 2552' is member 2552); a missing member or a blank date names no basket.
    assert df["order_id"].fillna("<missing>").tolist() == \
        ["1808|21-07-2015", "1808|21-07-2015", "2552|05-01-2015", "<missing>", "<missing>"]
    # The joined columns are still the contract's customer and date, renamed as the mapping says.
    assert df["customer_id"].fillna("<missing>").tolist() == ["1808", "1808", " 2552", "<missing>", "2300"]
    assert where["order_id"] == "Member_number + Date"
    assert io.summarise({"orders": io.RawTable("orders", None, df, sources=where, label="baskets.csv")}) \
        .set_index("table").loc["orders", "columns"].count("order_id ← Member_number + Date") == 1


def test_join_without_sep_uses_the_documented_separator():
    spec = {**BASKET_MAPPING, "derive": {"order_id": {"join": ["Member_number", "Date"]}}}
    df, _ = _apply(spec)
    assert df["order_id"].iloc[0] == "1808" + io.JOIN_SEP + "21-07-2015" == "1808|21-07-2015"


def test_copy_feeds_one_file_column_into_a_second_contract_column():
    df, where = _apply(BASKET_MAPPING)
    assert df["category"].fillna("<missing>").tolist() == \
        ["tropical fruit", "whole milk", "whole milk", "yogurt", "<missing>"]
    assert df["category"].equals(df["product_id"].rename("category"))
    assert (where["product_id"], where["category"]) == ("itemDescription", "itemDescription")


def test_from_now_reaches_a_file_column_that_columns_renamed():
    """Before, 'from' saw only the names after renaming: the file's own name was 'lacking'."""
    spec = {"columns": {"Member_number": "customer_id", "Date": "order_date", "itemDescription": "product_id"},
            "constants": {"quantity": "1", "unit_price": "1"},
            "derive": {"order_id": {"copy": "Member_number"},
                       "category": {"from": "itemDescription", "rules": {"dairy": "milk|yogurt"}, "default": "other"}}}
    df, where = _apply(spec)
    assert df["category"].fillna("<missing>").tolist() == ["other", "dairy", "dairy", "dairy", "<missing>"]
    assert where["category"] == "derived from itemDescription"


def test_a_joined_value_holding_the_separator_is_refused_naming_column_and_values():
    df = _basket_file()
    df.loc[2, "Date"] = "05|01|2015"
    with pytest.raises(ContractError) as err:
        _apply(BASKET_MAPPING, df)
    assert (err.value.file, err.value.column, err.value.count, err.value.examples) == \
        ("baskets.csv", "Date", 1, ["05|01|2015"])
    assert "holds the separator '|' the mapping joins it into 'order_id' with" in str(err.value)
    # With another separator the same values join unambiguously.
    spec = {**BASKET_MAPPING, "derive": {"order_id": {"join": ["Member_number", "Date"], "sep": "/"}}}
    assert _apply(spec, df)[0]["order_id"].iloc[2] == "2552/05|01|2015"


def test_a_join_naming_a_column_the_file_lacks_names_file_place_and_column():
    spec = {**BASKET_MAPPING, "derive": {"order_id": {"join": ["Member_number", "Day"]}}}
    with pytest.raises(ContractError) as err:
        _apply(spec)
    assert (err.value.file, err.value.column) == ("baskets.csv", "Day")
    assert str(err.value) == ("baskets.csv: column 'Day': lacks a column the mapping joins into 'order_id' "
                              "(tables.orders.derive.order_id); it has ['Member_number', 'Date', 'itemDescription']")
    spec = {**BASKET_MAPPING, "derive": {"order_id": {"join": ["Member_number", "Date"]},
                                         "category": {"copy": "Item"}}}
    with pytest.raises(ContractError, match=r"column 'Item': lacks the column the mapping copies into 'category' "
                                            r"\(tables.orders.derive.category\)"):
        _apply(spec)


@pytest.mark.parametrize("derive,message", [
    ({"join": []}, "tables.orders.derive.order_id.join: is an empty list; name the file's columns to join"),
    ({"join": "Member_number"}, "tables.orders.derive.order_id.join: is a list of the file's columns"),
    ({"join": ["Member_number", "Member_number"]}, "tables.orders.derive.order_id.join: names 'Member_number' twice"),
    ({"join": ["Member_number", "Date"], "rules": {"a": "b"}},
     "tables.orders.derive.order_id: has 'rules' and 'join', which belong to different kinds of derived column"),
    ({"join": ["Member_number"], "copy": "Date"}, "has 'join' and 'copy', which belong to different kinds"),
    ({"from": "Member_number", "join": ["Date"]}, "has 'from' and 'join', which belong to different kinds"),
    ({"join": ["Member_number", "Date"], "sep": ""}, "tables.orders.derive.order_id.sep: is empty"),
    ({"sep": "|"}, "'sep' goes with 'join'"),
    ({"copy": None}, "tables.orders.derive.order_id: 'copy' is empty; give a value"),
    # 'from' without rules stays an error, not a silent copy of the column's text.
    ({"from": "Member_number"}, "(for a column as is, use {copy: C})"),
    ({"from": "Member_number", "default": "x"}, "needs 'from' (a column of the file), 'rules'"),
    ({"join": ["Member_number"], "separator": "|"}, "unknown keys ['separator']"),
])
def test_derive_mistakes_are_errors_naming_the_mapping_file_and_place(tmp_path, derive, message):
    path = tmp_path / "groceries.yml"
    path.write_text(yaml.safe_dump({"tables": {"orders": {"derive": {"order_id": derive}}}}), encoding="utf-8")
    with pytest.raises(ContractError) as err:
        io.Mapping.load(path)
    assert str(err.value).startswith("groceries.yml: tables.orders.derive.order_id") and message in str(err.value)


def test_a_basket_with_a_missing_part_is_kept_as_a_line_of_no_order(tmp_path, key):
    """What data/README.md says of a missing part: the line has no order id; cleaning keeps it."""
    export = tmp_path / "export"
    export.mkdir()
    (export / "baskets.csv").write_text("Member_number,Date,itemDescription\n1808,21-07-2015,tropical fruit\n"
                                        ",21-07-2015,whole milk\n1808,21-07-2015,yogurt\n", encoding="utf-8")
    importer.import_export(export / "baskets.csv", realdata.mapping("groceries"), tmp_path / "out")
    result = cleaning.clean(io.load_raw(tmp_path / "out"), "2015-07", key=key)
    kept = result.tables["orders"].set_index("source_row").sort_index()
    assert kept["order_id"].fillna("<missing>").tolist() == ["1808|21-07-2015", "<missing>", "1808|21-07-2015"]
    assert kept["order_id"].nunique() == 1 and result.quarantine.empty


def test_the_documented_basket_example_is_the_groceries_mapping(tmp_path):
    """data/README.md's "Derived columns" example is the mapping the real-data tests use."""
    text = (ROOT / "data" / "README.md").read_text(encoding="utf-8")
    block = text.split("### Derived columns", 1)[1].split("```yaml\n", 1)[1].split("```", 1)[0]
    (tmp_path / "mapping.yml").write_text(block, encoding="utf-8")
    documented = io.Mapping.load(tmp_path / "mapping.yml").for_table("orders")
    assert documented == io.Mapping.load(realdata.mapping("groceries")).for_table("orders")
    assert documented.derive == {"order_id": {"join": ["Member_number", "Date"], "sep": "|"},
                                 "category": {"copy": "itemDescription"}}


def test_a_database_table_is_read_with_joined_and_copied_columns(tmp_path):
    """The database source selects the columns a join or copy reads (they are not renamed ones)."""
    con = duckdb.connect(str(tmp_path / "shop.duckdb"))
    frame = _basket_file().iloc[:3].astype(object)
    con.register("frame", frame)
    con.execute('CREATE TABLE baskets AS SELECT *, row_number() OVER () AS line_no FROM frame')
    con.close()
    spec = {**BASKET_MAPPING, "table": "baskets", "order_by": "line_no",
            "date_formats": {"order_date": "%d-%m-%Y"}}
    (tmp_path / "m.yml").write_text(yaml.safe_dump({"tables": {"orders": spec}}), encoding="utf-8")
    source = sources.database_source(f"duckdb:///{tmp_path / 'shop.duckdb'}",
                                     mapping=io.Mapping.load(tmp_path / "m.yml"))
    orders = source.load_raw("2015-12")["orders"].frame
    assert orders["order_id"].tolist() == ["1808|21-07-2015", "1808|21-07-2015", "2552|05-01-2015"]
    assert orders["category"].tolist() == ["tropical fruit", "whole milk", "whole milk"]


# ------------------------------------------------------------------------------------------
# The real Groceries export, imported as a user would
# ------------------------------------------------------------------------------------------

#: PROVENANCE.md, section 2a: the figures counted from Groceries_dataset.csv when it was obtained.
GROCERIES_LINES, GROCERIES_MEMBERS, GROCERIES_BASKETS, GROCERIES_ITEMS = 38_765, 3_898, 14_963, 167
#: PROVENANCE.md, section 2a: exact duplicate rows, the same item twice in one basket.
GROCERIES_EXACT_DUPLICATES = 759


@pytest.fixture(scope="module")
def groceries(tmp_path_factory):
    out = tmp_path_factory.mktemp("groceries")
    importer.import_export(realdata.path("groceries/Groceries_dataset.csv"), realdata.mapping("groceries"), out)
    return out


def test_groceries_imports_as_member_day_baskets(groceries):
    orders = pd.read_csv(groceries / "orders.csv", dtype=str, keep_default_na=False)
    assert len(orders) == GROCERIES_LINES
    assert orders["customer_id"].nunique() == GROCERIES_MEMBERS
    assert orders["order_id"].nunique() == GROCERIES_BASKETS
    assert orders["product_id"].nunique() == GROCERIES_ITEMS
    assert (orders["category"] == orders["product_id"]).all()
    # Row 1 of the file is 1808,21-07-2015,tropical fruit (PROVENANCE): 21 July, day first.
    assert orders.iloc[0][["order_id", "customer_id", "order_date", "product_id"]].tolist() == \
        ["1808|21-07-2015", "1808", "2015-07-21 00:00:00", "tropical fruit"]
    assert int(orders.duplicated().sum()) == GROCERIES_EXACT_DUPLICATES


def test_groceries_cleaning_keeps_every_line(groceries, key):
    """December 2015 is the export's last month (to 2015-12-30): nothing is held back, nothing is
    invalid, and the 759 repeated lines are kept as the mapping declares (two of an item)."""
    run = cleaning.CleaningRun(io.load_raw(groceries), "2015-12", key=key)
    for step in cleaning.CleaningRun.STEPS:
        getattr(run, step)()
    result = run.finish()
    led = result.ledger.set_index("table").loc["orders"]
    assert (led["rows_in"], led["kept"], led["quarantined"], led["merged"], led["held_back"]) == \
        (GROCERIES_LINES, GROCERIES_LINES, 0, 0, 0)
    kept = result.tables["orders"]
    assert (kept["customer_id"].nunique(), kept["order_id"].nunique(), kept["product_id"].nunique()) == \
        (GROCERIES_MEMBERS, GROCERIES_BASKETS, GROCERIES_ITEMS)
    assert (kept["order_date"].min(), kept["order_date"].max()) == \
        (pd.Timestamp("2014-01-01"), pd.Timestamp("2015-12-30"))
    # Revenue counts items: one per line at a price of 1.
    assert kept["line_revenue"].sum() == GROCERIES_LINES
