"""Personal data does not get through cleaning: not in any text column, not as an id, not in the
quarantine, not in notebook 05's hard examples; and joins still match after ids are hashed."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest

from crm_utils.data import cleaning, io, privacy
from crm_utils.needs import need_text

NBSP = "\u00a0"
#: What must not be found anywhere in the outputs (case-insensitive): addresses, numbers, names.
SECRETS = ["anna@example.com", "anna.schmidt@work.example", "ghost@example.net", "bob@example.org",
           "carl@example.com", "7911", "7700", "0151", "2345678", "schmidt", "anna", "zeiss"]
EMAIL = re.compile(r"[^\s@\"']+@[^\s@\"']+\.[a-z]{2,}", re.I)


def _write(tmp_path, **tables):
    for name, frame in tables.items():
        frame.to_csv(tmp_path / f"{name}.csv", index=False)
    return io.load_raw(tmp_path)


def _hostile_export(tmp_path):
    """A small export keyed by e-mail (and once by phone), with contact details and names in text
    columns that are not notes."""
    customers = pd.DataFrame({
        "customer_id": ["anna@example.com", "C2", "+44 7700 900123", "anna.schmidt@work.example"],
        "name": ["Anna Schmidt", "Bob Jones", "Carl Zeiss", "ANNA SCHMIDT"],
        "email": ["anna@example.com", "bob@example.org", "carl@example.com", " Anna@Example.com"],
        "phone": [f"+44{NBSP}7911{NBSP}123456", "", "+44 7700 900123", ""],
        "signup_date": ["2025-01-01", "2025-02-01", "2025-03-01", "2025-06-01"],
        "region": ["United Kingdom", "United Kingdom", "Germany", "United Kingdom"],
        "city": ["London", "write to bob@example.org", "Berlin", "London"],
    })
    orders = pd.DataFrame({
        "order_id": ["O1", "O2", "O3", "O4", "O5", "O6", "O7"],
        "customer_id": ["anna@example.com", "anna@example.com", "C2", "+44 7700 900123",
                        "anna.schmidt@work.example", "ghost@example.net", "C2"],
        "order_date": ["2026-10-01", "2026-10-02", "2026-10-03", "2026-10-04", "2026-10-05", "2026-10-06",
                       "carl@example.com"],
        "product_id": ["P1", "P2", "P1", "P2", "P1", "P1", "P2"],
        "category": ["Books", "Garden, call 0151 2345678", "Books", "Garden", "Books", "Books", "Garden"],
        "quantity": [1, 2, 1, 1, 1, 1, 1],
        "unit_price": [9.5, 4.0, 9.5, 4.0, 9.5, 9.5, 4.0],
        "status": ["ok", "ok", "ok", f"returned, mail anna@example.com", "ok", "ok", "ok"],
    })
    interactions = pd.DataFrame({
        "interaction_id": ["I1", "I2", "I3", "I4"],
        "customer_id": ["anna@example.com", "C2", "+44 7700 900123", "anna@example.com"],
        "timestamp": ["2026-10-01 10:00", "2026-10-02 11:00", "2026-10-03 12:00", "not a date"],
        "channel": ["phone", "email: bob@example.org", "chat", "phone"],
        "topic": ["product_question", "billing", "reach me on 0151 2345678", "returns"],
        "note": [f"Anna Schmidt asked for a cookbook, call her on +44{NBSP}7911{NBSP}123456",
                 "Bob wants a refund", "Carl Zeiss: ring ０１５１ ２３４５６７８",
                 "Anna asked again, anna@example.com"],
    })
    surveys = pd.DataFrame({
        "response_id": ["R1", "R2"], "customer_id": ["anna@example.com", "C2"],
        "date": ["2026-10-05", "2026-10-06"], "overall": [4, 5], "nps": [9, 10],
        "comment": ["Thanks, Anna (anna@example.com)", "Great"],
    })
    return _write(tmp_path, customers=customers, orders=orders, interactions=interactions, surveys=surveys)


@pytest.fixture
def hostile(tmp_path, key):
    run = cleaning.CleaningRun(_hostile_export(tmp_path), "2026-10", key=key)
    summaries = {step: getattr(run, step)() for step in cleaning.CleaningRun.STEPS}
    return run, run.finish(), summaries["pseudonymise"]


def _everything(result) -> str:
    parts = [df.astype(str).to_csv() for df in result.tables.values()]
    parts.append(result.quarantine.astype(str).to_csv())
    parts.append(cleaning.quarantine_sheet(result.quarantine).astype(str).to_csv())
    parts.append(result.id_map.to_frame().reset_index().astype(str).to_csv())
    return "\n".join(parts)


def test_no_personal_data_reaches_any_table_or_the_quarantine(hostile):
    run, result, _ = hostile
    blob = _everything(result)
    found = [s for s in SECRETS if s.lower() in blob.lower()]
    assert found == []
    assert not EMAIL.search(blob)
    details = " ".join(run.outcomes()["detail"].astype(str))  # merged and held-back rows' details too
    assert not EMAIL.search(details) and "7700" not in details


def test_the_quarantine_keeps_the_records_with_their_personal_data_masked(hostile):
    _, result, _ = hostile
    q = result.quarantine.set_index(["table", "reason"])
    ghost = json.loads(q.loc[("orders", "unknown_customer"), "record"])
    assert ghost["customer_id"] == privacy.keyed_hash(pd.Series(["ghost@example.net"]), privacy.PseudonymKey(
        bytes(range(32)), "", False)).iloc[0]
    assert q.loc[("orders", "unknown_customer"), "detail"] == "customer_id=" + ghost["customer_id"]
    assert json.loads(q.loc[("orders", "unparseable_date"), "record"])["order_date"] == "[email]"
    assert q.loc[("orders", "unparseable_date"), "detail"] == "order_date=[email]"
    note = json.loads(q.loc[("interactions", "unparseable_date"), "record"])["note"]
    assert note == "[name] asked again, [email]"  # the customer's own name masked in the record too


def test_email_and_phone_ids_are_hashed_the_same_in_every_table_and_joins_still_match(hostile, key):
    _, result, summary = hostile
    anna, carl = privacy.keyed_hash(pd.Series(["anna@example.com", "+44 7700 900123"]), key)
    t = result.tables
    assert set(t["customers"]["customer_id"]) == {anna, "C2", carl}
    # The duplicate record keyed by another address is merged into Anna's, under hashed ids.
    dup = privacy.keyed_hash(pd.Series(["anna.schmidt@work.example"]), key).iloc[0]
    assert result.id_map.to_dict() == {dup: anna}
    orders = t["orders"].merge(t["customers"], on="customer_id", how="left", indicator=True)
    assert (orders["_merge"] == "both").all()
    assert orders.groupby("customer_id").size().to_dict() == {anna: 3, "C2": 1, carl: 1}
    assert set(t["interactions"]["customer_id"]) == {anna, "C2", carl}
    assert set(t["surveys"]["customer_id"]) == {anna, "C2"}
    assert set(t["orders"]["order_id"]) == {"O1", "O2", "O3", "O4", "O5"}  # ids that are not personal stay
    said = summary.set_index(["table", "column", "action"])["rows"]
    hashed = "e-mail/phone used as id replaced by keyed hash (same in every table)"
    assert said[("orders", "customer_id", hashed)] == 4  # O1, O2, O4 and O5 (moved to Anna)
    assert said[("customers", "customer_id", hashed)] == 2
    fixes = result.fixes.query("table == 'orders' and column == 'customer_id'")
    assert fixes["fix"].str.contains("e-mail or phone used as id replaced by keyed hash").sum() == 1


def test_every_text_column_is_masked_and_said_so(hostile):
    _, result, summary = hostile
    t = result.tables
    assert set(t["customers"]["city"].astype(str)) == {"London", "Berlin", "write to [email]"}
    assert set(t["orders"]["category"].astype(str)) == {"Books", "Garden", "Garden, call [phone]"}
    assert "returned, mail [email]" in set(t["orders"]["status"].astype(str))
    assert "reach me on [phone]" in set(t["interactions"]["topic"].astype(str))
    assert "email: [email]" in set(t["interactions"]["channel"].astype(str))
    notes = t["interactions"].set_index("interaction_id")["note"]
    assert notes["I1"] == "[name] [name] asked for a cookbook, call her on [phone]"
    assert notes["I2"] == "[name] wants a refund"
    assert notes["I3"] == "[name] [name]: ring [phone]"
    assert t["surveys"].set_index("response_id")["comment"]["R1"] == "Thanks, [name] ([email])"
    said = summary.set_index(["table", "column", "action"])["rows"]
    assert said[("customers", "city", "e-mails/phones masked")] == 1
    assert said[("interactions", "note", "customer's own name masked")] == 3
    assert said[("surveys", "comment", "customer's own name masked")] == 1


def test_the_small_data_loses_nothing_to_masking_that_is_not_personal(cleaned):
    """Its ids are not e-mails or phones and its notes name nobody: only planted contacts are masked
    (the words 'the' or 'bird' are not masked although some customers are called so)."""
    _, result = cleaned
    assert not [f for f in result.fixes["fix"] if "name" in f or "keyed hash" in f]
    assert result.tables["customers"]["customer_id"].str.fullmatch(r"C\d+").all()
    notes = result.tables["interactions"]["note"].astype(str)
    assert not notes.str.contains(r"\[name\]").any()


class _Sure:
    """A classifier sure of the wrong label for every note."""

    def predict_proba(self, notes):
        return pd.DataFrame({"Books": np.full(len(notes), 0.9), "Garden": np.full(len(notes), 0.1)},
                            index=notes.index)


def test_hard_examples_show_masked_notes():
    notes = pd.DataFrame({"note": [f"Call me on +44{NBSP}7911{NBSP}123456", "mail ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ",
                                   "A garden hose"],
                          "label": ["Garden"] * 3, "customer_id": ["C1", "C2", "C3"],
                          "timestamp": pd.to_datetime(["2026-10-01", "2026-10-02", "2026-10-03"])})
    out = need_text.hard_examples(_Sure(), notes, n=3)
    assert set(out["note"]) == {"Call me on [phone]", "mail [email]", "A garden hose"}
