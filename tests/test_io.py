"""Loading: encodings, formats, delimiters, mapping files, and errors that say what to fix."""

from __future__ import annotations

import pandas as pd
import pytest

from crm_utils.data import io
from crm_utils.data.schema import ContractError

ORDERS = pd.DataFrame({
    "order_id": ["O1", "O1", "O2", "O3"],
    "customer_id": ["C1", "C1", "C2", "C3"],
    "order_date": ["2026-10-01 10:00:00", "01.10.2026 10:00", "2026/10/02 11:30:00", "3 Oct 2026"],
    "product_id": ["P1", "P2", "P1", "P3"],
    "category": ["电子产品", "Café & Thé", "电子产品", "Küche"],
    "quantity": ["1", "2", "1", "3"],
    "unit_price": ["9.99", "4,50", "9.99", "12"],
})


def _load_orders(folder):
    return io.load_raw(folder)["orders"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk"])
def test_csv_encodings_read_identically(tmp_path, encoding):
    df = ORDERS.drop(columns="category") if encoding == "gbk" else ORDERS
    if encoding == "gbk":
        df = df.assign(category=["电子产品", "食品饮料", "电子产品", "家居厨房"])
    df.to_csv(tmp_path / "orders.csv", index=False, encoding=encoding)
    t = _load_orders(tmp_path)
    assert list(t.frame["category"]) == list(df["category"])
    assert t.frame.columns[0] == "_row" and "order_id" in t.frame.columns  # BOM not glued to the header


def test_semicolon_delimiter_is_detected(tmp_path):
    ORDERS.to_csv(tmp_path / "orders.csv", index=False, sep=";")
    t = _load_orders(tmp_path)
    assert list(t.frame["unit_price"]) == ["9.99", "4,50", "9.99", "12"]


def test_parquet_and_excel_read_like_csv(tmp_path):
    (tmp_path / "pq").mkdir()
    (tmp_path / "xl").mkdir()
    ORDERS.to_parquet(tmp_path / "pq" / "orders.parquet")
    ORDERS.to_excel(tmp_path / "xl" / "orders.xlsx", index=False)
    a = _load_orders(tmp_path / "pq").frame.drop(columns="_row")
    b = _load_orders(tmp_path / "xl").frame.drop(columns="_row")
    assert a.astype(str).equals(ORDERS.astype(str))
    assert b.astype(str).equals(ORDERS.astype(str))


def test_mixed_date_formats_and_decimal_comma_coerce(tmp_path):
    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    c = io.coerce(_load_orders(tmp_path))
    assert list(c.frame["order_date"].dt.strftime("%Y-%m-%d")) == ["2026-10-01", "2026-10-01", "2026-10-02", "2026-10-03"]
    assert list(c.frame["unit_price"]) == [9.99, 4.5, 9.99, 12.0]
    assert not c.failed["order_date"].any()


def test_a_comma_that_may_separate_thousands_is_not_guessed(tmp_path):
    orders = pd.concat([ORDERS] * 2, ignore_index=True)  # enough good rows that the column is usable
    orders["unit_price"] = ["1,000", "0,125", "12,5", "1,234,567", "9.99", "4,50", "7", "8"]
    orders.to_csv(tmp_path / "orders.csv", index=False)
    c = io.coerce(_load_orders(tmp_path))
    price = c.frame["unit_price"]
    assert price.isna().tolist() == [True, False, False, True, False, False, False, False]  # ambiguous: not converted
    assert price[1] == 0.125 and price[2] == 12.5 and price[5] == 4.5
    assert c.failed["unit_price"].tolist()[:4] == [True, False, False, True]  # so the rows are quarantined


def test_time_zone_offsets_become_utc():
    s = pd.Series(["2026-10-01T10:00:00+02:00", "2026-10-01T08:00:00Z"])
    parsed = io.parse_dates(s)
    assert parsed.iloc[0] == parsed.iloc[1] == pd.Timestamp("2026-10-01 08:00:00")


def test_missing_required_column_names_file_and_column(tmp_path):
    ORDERS.drop(columns="quantity").to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(ContractError) as err:
        _load_orders(tmp_path)
    assert err.value.file == "orders.csv" and err.value.column == "quantity"
    assert "orders.csv" in str(err.value) and "'quantity'" in str(err.value)


def test_mostly_unreadable_column_is_a_file_problem_with_examples(tmp_path):
    ORDERS.assign(quantity=["one", "two", "three", "4"]).to_csv(tmp_path / "orders.csv", index=False)
    with pytest.raises(ContractError) as err:
        io.coerce(_load_orders(tmp_path))
    msg = str(err.value)
    assert err.value.column == "quantity" and err.value.count == 3
    assert "3 of 4" in msg and "'one'" in msg and "orders.csv" in msg


def test_missing_orders_file_and_empty_files_are_errors(tmp_path):
    with pytest.raises(ContractError, match="no 'orders' file"):
        io.load_raw(tmp_path)
    (tmp_path / "orders.csv").write_text("")
    with pytest.raises(ContractError, match="orders.csv: is empty"):
        io.load_raw(tmp_path)
    (tmp_path / "orders.csv").write_text(",".join(ORDERS.columns) + "\n")
    with pytest.raises(ContractError, match="header but no rows"):
        io.load_raw(tmp_path)


def test_two_files_for_one_table_is_ambiguous(tmp_path):
    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    ORDERS.to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(ContractError, match="both hold 'orders'"):
        io.load_raw(tmp_path)


def test_mapping_file_renames_parses_and_maps_values(tmp_path):
    foreign = pd.DataFrame({"InvoiceNo": ["536365"], "CustomerID": ["17850"], "InvoiceDate": ["12/01/2010 08:26"],
                            "StockCode": ["85123A"], "Quantity": ["6"], "UnitPrice": ["2.55"], "Grp": ["deco"]})
    foreign.to_csv(tmp_path / "Online Retail.csv", index=False)
    (tmp_path / "mapping.yml").write_text(
        "tables:\n  orders:\n    file: Online Retail.csv\n"
        "    columns: {InvoiceNo: order_id, CustomerID: customer_id, InvoiceDate: order_date,\n"
        "              StockCode: product_id, Quantity: quantity, UnitPrice: unit_price, Grp: category}\n"
        "    date_formats: {order_date: '%m/%d/%Y %H:%M'}\n"
        "    values: {category: {deco: Home & Kitchen}}\n")
    t = io.load_raw(tmp_path)["orders"]  # mapping.yml beside the data is picked up
    c = io.coerce(t)
    assert c.frame.loc[0, "order_date"] == pd.Timestamp("2010-12-01 08:26")
    assert c.frame.loc[0, "category"] == "Home & Kitchen"
    assert t.file == "Online Retail.csv"


def test_mapping_file_with_unknown_table_is_rejected(tmp_path):
    (tmp_path / "m.yml").write_text("tables:\n  invoices:\n    columns: {a: b}\n")
    with pytest.raises(ContractError, match="unknown table 'invoices'"):
        io.Mapping.load(tmp_path / "m.yml")


def test_typed_parquet_ids_match_text_ids(tmp_path):
    orders = ORDERS.assign(customer_id=[17850.0, 17850.0, None, 13047.0], quantity=[1, 2, 1, 3],
                           unit_price=[9.99, 4.5, 9.99, 12.0])
    orders.to_parquet(tmp_path / "orders.parquet")
    c = io.coerce(_load_orders(tmp_path))
    assert list(c.frame["customer_id"].fillna("<NA>")) == ["17850", "17850", "<NA>", "13047"]


def test_a_typo_in_the_mapping_is_an_error(tmp_path):
    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    (tmp_path / "mapping.yml").write_text("tables:\n  orders:\n    date_formats: {orderdate: '%m/%d/%Y'}\n")
    with pytest.raises(ContractError, match="orderdate"):
        io.load_raw(tmp_path)


HEADER = ",".join(ORDERS.columns)


def _write(folder, *lines, name="orders.csv", mapping=None):
    (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    if mapping:
        (folder / "mapping.yml").write_text(mapping, encoding="utf-8")
    return folder


def test_a_quoted_value_may_span_a_few_lines_but_not_more(tmp_path):
    """Line breaks in quoted values are read; a record spanning more than the limit (here the
    quote closes 13 lines on, so the field count is right and nothing else would notice) is an
    unterminated quote, named by the line it opened on, unless the mapping allows longer records."""
    good = "O1,C1,2026-10-01,P1,Books,1,9.99"
    folded = ['O2,C1,2026-10-01,P1,"Books', *[f"O{i},C1,2026-10-01,P1,Books,1,9.99" for i in range(3, 15)],
              'end",1,9.99']
    _write(tmp_path, HEADER, good, *folded, good)
    with pytest.raises(ContractError) as err:
        io.load_raw(tmp_path)
    assert (err.value.file, err.value.column) == ("orders.csv", "category")
    assert "a quoted value opened on line 3 is still open 10 lines later" in str(err.value)
    _write(tmp_path, HEADER, good, *folded, good, mapping="tables:\n  orders:\n    max_lines_per_record: 14\n")
    assert len(io.load_raw(tmp_path)["orders"].frame) == 3
    _write(tmp_path, HEADER, good, 'O2,C1,2026-10-01,P1,"Home,\nand garden",1,9.99', good)
    (tmp_path / "mapping.yml").unlink()
    assert list(io.load_raw(tmp_path)["orders"].frame["category"]) == ["Books", "Home,\nand garden", "Books"]


def test_a_ragged_record_over_several_lines_says_which_lines(tmp_path):
    _write(tmp_path, HEADER, "O1,C1,2026-10-01,P1,Books,1,9.99", 'O2,C1,2026-10-01,P1,"Bo\noks",x,1,9.99',
           "O3,C1,2026-10-01,P1,Books,1,9.99")
    frame = io.load_raw(tmp_path)["orders"].frame
    assert frame[io.MALFORMED].fillna("").tolist() == ["", "8 fields, the header has 7 (lines 3-4)", ""]


def test_an_unterminated_quote_is_refused_in_a_file_with_ragged_records_too(tmp_path):
    _write(tmp_path, HEADER, "O1,C1,2026-10-01,P1,Home, Garden,1,9.99", 'O2,C1,2026-10-01,"P1,Books,1,9.99',
           "O3,C1,2026-10-01,P1,Books,1,9.99")
    with pytest.raises(ContractError, match="opened on line 3 is never closed") as err:
        io.load_raw(tmp_path)
    assert err.value.column == "product_id"


@pytest.mark.parametrize("kind", ["parquet", "xlsx"])
def test_a_repeated_header_row_is_refused_in_typed_files(tmp_path, kind):
    doubled = pd.concat([ORDERS.iloc[:2], pd.DataFrame([ORDERS.columns], columns=ORDERS.columns), ORDERS.iloc[2:]])
    if kind == "parquet":
        doubled.to_parquet(tmp_path / "orders.parquet", index=False)
    else:
        doubled.to_excel(tmp_path / "orders.xlsx", index=False)
    with pytest.raises(ContractError) as err:
        io.load_raw(tmp_path)
    where = "in row 2 (counted from 0)" if kind == "parquet" else "in row 4 of the sheet"
    assert err.value.column == "order_id" and f"the header line appears again as data {where}" in str(err.value)


def test_a_header_repeated_with_other_spacing_and_a_bom_is_still_a_repeated_header(tmp_path):
    _write(tmp_path, HEADER, "O1,C1,2026-10-01,P1,Books,1,9.99", "\ufeff" + HEADER.upper().replace(",", ", "),
           "O2,C1,2026-10-01,P1,Books,1,9.99")
    with pytest.raises(ContractError, match="appears again as data on line 3"):
        io.load_raw(tmp_path)
    _write(tmp_path, HEADER, "order_id,C1,2026-10-01,P1,Books,1,9.99")  # one value like its name is data
    assert io.load_raw(tmp_path)["orders"].frame["order_id"].tolist() == ["order_id"]


def test_a_header_naming_a_column_twice_after_trimming_is_refused(tmp_path):
    _write(tmp_path, HEADER + ", quantity ", "O1,C1,2026-10-01,P1,Books,1,9.99,2")
    with pytest.raises(ContractError, match=r"names this column twice \(columns 6 and 8\)") as err:
        io.load_raw(tmp_path)
    assert err.value.column == "quantity"


@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le"])
def test_utf16_and_utf32_are_read_by_their_byte_order_mark(tmp_path, encoding):
    bom = {"utf-16-le": b"\xff\xfe", "utf-16-be": b"\xfe\xff", "utf-32-le": b"\xff\xfe\x00\x00"}[encoding]
    text = ORDERS.to_csv(index=False, lineterminator="\n")
    (tmp_path / "orders.csv").write_bytes(bom + text.encode(encoding))
    t = _load_orders(tmp_path)
    assert list(t.frame["category"]) == list(ORDERS["category"]) and t.encoding in ("utf-16", "utf-32")


def test_non_scalar_contract_columns_are_refused_and_others_dropped(tmp_path):
    orders = ORDERS.assign(tags=[["a"], ["b", "c"], [], None])
    orders.to_parquet(tmp_path / "orders.parquet")
    t = _load_orders(tmp_path)  # a list column the contract does not have is not read further
    assert "tags" in t.dropped_columns and "tags" not in t.frame.columns
    ORDERS.assign(product_id=[b"P1", b"P2", b"P1", b"P3"]).to_parquet(tmp_path / "orders.parquet")
    with pytest.raises(ContractError, match="holds bytes values, not one value per row") as err:
        _load_orders(tmp_path)
    assert err.value.column == "product_id" and err.value.examples[0] == "b'P1'"
    ORDERS.assign(Kunde=[{"id": "C1"}] * 4).drop(columns="customer_id").to_parquet(tmp_path / "orders.parquet")
    (tmp_path / "mapping.yml").write_text("tables:\n  orders:\n    columns: {Kunde: customer_id}\n")
    with pytest.raises(ContractError, match="holds dict values") as err:
        _load_orders(tmp_path)
    assert err.value.column == "customer_id"


def test_a_folder_where_a_table_file_belongs_is_named(tmp_path):
    from crm_utils.data import sources

    ORDERS.to_csv(tmp_path / "orders.csv", index=False)
    (tmp_path / "customers.parquet").mkdir()
    for attempt in (lambda: io.load_raw(tmp_path), lambda: sources.FolderSource(tmp_path).fingerprint()):
        with pytest.raises(ContractError, match="customers.parquet: is a folder, not the file of table 'customers'"):
            attempt()


# ------------------------------------------------------------------------------------------
# Survey items under any names (data/README.md, "Survey items")
# ------------------------------------------------------------------------------------------

#: A tiny survey whose items are not named q_*: "Wifi" and "Seat comfort" (1-5, 0 = not
#: applicable), "Food" a third answer column nobody declared, "satisfaction" a label.
SURVEY = pd.DataFrame({
    "": ["0", "1", "2", "3", "4"],  # a saved index: counts the rows, is not an answer
    "Respondent": ["C1", "C2", "C3", "C4", "C5"],
    "When": ["2026-10-01"] * 5,
    "Age": ["34", "51", "27", "62", "45"],
    "Wifi": ["3", "0", "5", "4", "1"],
    "Seat comfort": ["1", "2", "2", "5", "4"],
    "Food": ["1", "2", "3", "3", "5"],
    "satisfaction": ["satisfied", "neutral or dissatisfied", "satisfied", "", "satisfied"],
})
SURVEY_MAPPING = """tables:
  surveys:
    columns: {Respondent: customer_id, When: date}
    survey:
      items: [Wifi, Seat comfort]
      scale: "1-5"
      not_applicable: [0]
      overall: satisfaction
      overall_scores: {satisfied: 1, neutral or dissatisfied: 0}
"""


def _survey(folder, frame=SURVEY, mapping: str | None = SURVEY_MAPPING) -> io.RawTable:
    frame.to_csv(folder / "surveys.csv", index=False)
    if mapping is None:
        return io.load_table(folder, "surveys")
    (folder / "m.yml").write_text(mapping)
    return io.load_table(folder, "surveys", io.Mapping.load(folder / "m.yml"))


def test_declared_survey_items_survive_under_any_names(tmp_path):
    t = _survey(tmp_path)
    f = t.frame
    assert [c for c in f.columns if c.startswith("q_")] == ["q_wifi", "q_seat_comfort"]
    assert f["q_wifi"].tolist() == ["3", pd.NA, "5", "4", "1"]  # 0 = not applicable read as no answer
    assert f["q_seat_comfort"].tolist() == ["1", "2", "2", "5", "4"]
    assert f["overall"].tolist() == ["1", "0", "1", pd.NA, "1"]
    assert t.not_applicable == {"q_wifi": 1, "q_seat_comfort": 0}
    assert t.sources["q_seat_comfort"] == "Seat comfort" and t.sources["overall"].startswith("satisfaction, scored")
    # The undeclared answer column is named, the row index and the age are not answers.
    assert t.scale_like_columns == ["Food"] and set(t.dropped_columns) == {"", "Age", "Food"}
    typed = io.coerce(t).frame
    assert typed["q_wifi"].isna().tolist() == [False, True, False, False, False] and typed["overall"].sum() == 3
    assert "Food (looks like answers on a scale" in io.summarise({"surveys": t}).set_index("table").loc[
        "surveys", "ignored (not in the contract)"]


def test_undeclared_answer_columns_are_named_without_a_mapping(tmp_path):
    """The q_* convention holds without a mapping; answer columns under other names are reported
    (before, they were dropped with the other extra columns and nothing said they were answers)."""
    t = _survey(tmp_path, SURVEY.rename(columns={"Respondent": "customer_id", "When": "date",
                                                 "Seat comfort": "q_seat"}), mapping=None)
    assert [c for c in t.frame.columns if c.startswith("q_")] == ["q_seat"]
    assert t.scale_like_columns == ["Wifi", "Food"]


@pytest.mark.parametrize("survey, message", [
    ("{items: [Wifi, Legroom]}", r"column 'Legroom'.*lacks the survey item column\(s\) \['Legroom'\]"),
    ("{items: [Wifi], scale: '1-4'}", r"column 'Wifi'.*2 answers lie outside the declared scale 1-4.*not_applicable.*'0', '5'"),
    ("{items: [Wifi], overall: satisfaction, overall_scores: {satisfied: 1}}",
     r"column 'satisfaction'.*1 values are labels 'overall_scores' does not score.*'neutral or dissatisfied'"),
    ("{items: [Wifi, satisfaction], overall: satisfaction}", r"survey.overall: 'satisfaction' is also listed under items"),
    ("{items: {Wifi: wifi}}", r"survey.items.Wifi: an item is named 'q_<name>'"),
    ("{items: {Wifi: q_x, Food: q_x}}", r"several columns would become 'q_x'"),
    ("{items: [Wifi], scale: 5}", r"survey.scale: is an answer scale written low-high"),
    ("{itemz: [Wifi]}", r"survey: unknown keys \['itemz'\]; known keys are \['items'"),
])
def test_survey_mapping_mistakes_name_the_column_and_the_fix(tmp_path, survey, message):
    mapping = f"tables:\n  surveys:\n    columns: {{Respondent: customer_id, When: date}}\n    survey: {survey}\n"
    with pytest.raises(ContractError, match=message):
        _survey(tmp_path, mapping=mapping)


def test_a_survey_block_belongs_to_the_surveys_table(tmp_path):
    (tmp_path / "m.yml").write_text("tables:\n  orders:\n    survey: {items: [Wifi]}\n")
    with pytest.raises(ContractError, match=r"tables.orders.survey: .*applies to the surveys table only"):
        io.Mapping.load(tmp_path / "m.yml")
