"""The names of the input tables and of the quarantine's reasons, as a report shows them.

The quarantine files keep the codes (``unknown_customer``), which data/README.md documents and
a script can filter on; a report shows them in its language. English shows the codes as they
are; a catalogue translates each code into words. A reason a mapping's ``rules`` declare
(``postage``) is the user's own word and is shown as written.
"""

from __future__ import annotations

from crm_utils.i18n import N_, _

#: The contract's tables (data/README.md), marked for the catalogue.
TABLES: tuple[str, ...] = (N_("customers"), N_("orders"), N_("interactions"), N_("surveys"), N_("leads"))

#: The reasons the cleaning rules give (data/README.md's quarantine table), marked for the catalogue.
REASONS: tuple[str, ...] = (
    N_("unparseable_date"), N_("missing_date"), N_("missing_customer_id"), N_("missing_product_id"),
    N_("missing_lead_id"), N_("invalid_quantity"), N_("invalid_price"), N_("invalid_value"),
    N_("nps_out_of_range"), N_("unknown_customer"), N_("unknown_outcome"), N_("test_account"),
    N_("conflicting_duplicate_id"), N_("duplicate_customer"), N_("wrong_field_count"),
    N_("invalid_churn_flag"), N_("invalid_tenure"))


def table_label(table: str) -> str:
    """A contract table's name in the current language; another name as written."""
    return _(table) if table in TABLES else table


def reason_label(reason: str) -> str:
    """A cleaning rule's reason in the current language; a mapping's own reason as written."""
    return _(reason) if reason in REASONS else reason


def quarantine_label(key: str) -> str:
    """'orders.unknown_customer' (table.reason, as notebook 01 counts them) in the current language."""
    table, _sep, reason = key.partition(".")
    if not reason:
        return reason_label(table)
    return _("{table}.{reason}").format(table=table_label(table), reason=reason_label(reason))
