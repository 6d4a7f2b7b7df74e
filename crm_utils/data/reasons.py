"""The names of the input tables and of the quarantine's reasons, as charts and the report show them.

The quarantine files keep the codes (``unknown_customer``), which data/README.md documents and a
script can filter on; what a reader sees is words in the report's language ('unknown customer',
未知客户). A reason a mapping's ``rules`` declare (``postage``) is the user's own word and is shown
as written.
"""

from __future__ import annotations

from crm_utils.i18n import N_, NC_, _, pgettext

#: The contract's tables, named as tables (the context 'table': 'orders' is also the catalogue's
#: word for a count of orders, which Chinese writes differently).
TABLES: dict[str, str] = {"customers": NC_("table", "customers"), "orders": NC_("table", "orders"),
                          "interactions": NC_("table", "interactions"), "surveys": NC_("table", "surveys"),
                          "leads": NC_("table", "leads")}

#: The reasons the cleaning rules give (data/README.md's quarantine table), as a reader reads them.
REASONS: dict[str, str] = {
    "unparseable_date": N_("unparseable date"), "missing_date": N_("missing date"),
    "missing_product_id": N_("missing product id"), "missing_customer_id": N_("missing customer id"),
    "missing_lead_id": N_("missing lead id"), "invalid_quantity": N_("invalid quantity"),
    "invalid_price": N_("invalid price"), "invalid_churn_flag": N_("invalid churn flag"),
    "invalid_tenure": N_("invalid tenure"), "nps_out_of_range": N_("nps out of range"),
    "unknown_outcome": N_("unknown outcome"), "invalid_value": N_("invalid value"),
    "wrong_field_count": N_("wrong field count"), "conflicting_duplicate_id": N_("conflicting duplicate id"),
    "duplicate_customer": N_("duplicate customer"), "test_account": N_("test account"),
    "unknown_customer": N_("unknown customer")}


def table_label(table: str) -> str:
    """A contract table's name in the current language; another name as written."""
    return pgettext("table", table) if table in TABLES else str(table)


def reason_label(reason: str) -> str:
    """A cleaning rule's reason in words of the current language; a mapping's own reason as written
    (its underscores read as spaces)."""
    return _(REASONS[reason]) if reason in REASONS else str(reason).replace("_", " ")


def quarantine_label(key: str) -> str:
    """'orders.unknown_customer' (table.reason, as notebook 01 counts them) for a reader:
    'orders: unknown customer' (订单：未知客户)."""
    table, _sep, reason = key.partition(".")
    if not reason:
        return reason_label(table)
    return _("{table}: {reason}").format(table=table_label(table), reason=reason_label(reason))
