"""The data contract: the tables (orders required; customers, interactions, surveys, leads optional), their columns, and the row checks that send rows to quarantine.

A *file* or *column* problem (no orders file, a required column missing, a column that is mostly
not numbers or dates) stops the run with a :class:`ContractError`. A *row* problem (one
unparseable date, one negative price) sends that row to the quarantine table with a reason;
the reasons are the names of the pandera checks below.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pandera.pandas as pa

from crm_utils.data.privacy import mask_text

TEXT = pd.StringDtype("pyarrow")

#: Column kinds and how ``io.coerce`` converts them.
KINDS = ("id", "text", "datetime", "integer", "number")


class ContractError(ValueError):
    """A file- or column-level breach of the data contract; the message says what to fix.

    Messages end up in logs and in the failed notebook, so e-mail addresses and phone numbers
    in the message and the examples (a mis-mapped column can quote them) are masked.
    """

    def __init__(self, file: str, message: str, column: str | None = None,
                 count: int | None = None, examples: list | None = None):
        examples = [mask_text(str(v)) for v in examples or []]
        self.file, self.column, self.count, self.examples = file, column, count, examples
        where = f"{file}: column '{mask_text(column)}'" if column else file
        text = f"{where}: {mask_text(message)}"
        if examples:
            text += " (e.g. " + ", ".join(repr(v) for v in examples[:5]) + ")"
        super().__init__(text)


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    required: bool = False
    pii: bool = False
    doc: str = ""


@dataclass(frozen=True)
class TableContract:
    name: str
    columns: tuple[Column, ...]
    required: bool = False
    date_column: str | None = None
    doc: str = ""
    #: Column-name prefix of extra columns allowed by kind (survey items ``q_*``).
    prefixed: dict[str, str] = field(default_factory=dict)

    def column(self, name: str) -> Column | None:
        for c in self.columns:
            if c.name == name:
                return c
        for prefix, kind in self.prefixed.items():
            if name.startswith(prefix):
                return Column(name, kind)
        return None

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    @property
    def pii_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.pii]


CONTRACTS: dict[str, TableContract] = {
    "orders": TableContract(
        "orders", required=True, date_column="order_date",
        doc="One row per order line; a return is a line with negative quantity.",
        columns=(
            Column("order_id", "id", True, doc="order (invoice) number; several lines share it"),
            Column("customer_id", "id", False, doc="who ordered; blank (or no column) for a guest sale, "
                   "which counts in revenue, orders and units and is left out of customer-level figures"),
            Column("order_date", "datetime", True, doc="when the order was placed"),
            Column("product_id", "id", True, doc="product (SKU) ordered"),
            Column("category", "text", False, doc="product category; imputed from product_id when missing"),
            Column("quantity", "number", True, doc="units; negative for a return"),
            Column("unit_price", "number", True, doc="price per unit, > 0"),
            Column("status", "text", False, doc="optional order status, e.g. 'returned'"),
        )),
    "customers": TableContract(
        "customers", date_column="signup_date",
        doc="One row per customer account. Personal data is pseudonymised on load. Attributes the export "
            "declares as attr_* (a plan, products held, an activity flag) describe customers for the churn "
            "drivers and survival curves.",
        prefixed={"attr_": "text"},
        columns=(
            Column("customer_id", "id", True, doc="account id"),
            Column("signup_date", "datetime", False, doc="account creation date"),
            Column("region", "text", False, doc="region or country"),
            Column("city", "text", False),
            Column("channel", "text", False, doc="acquisition channel"),
            Column("gender", "text", False),
            Column("birth_year", "integer", False),
            # Contract and subscription shops (churn, crm_utils.value.churn): when the customer left,
            # or only whether, and how long they stayed when the export gives a duration, not dates.
            Column("churn_date", "datetime", False, doc="the day the contract ended or the customer cancelled; "
                   "missing: still a customer"),
            Column("churned", "integer", False, doc="1 when the customer has left, 0 when not (an export with "
                   "a flag and no end date)"),
            Column("tenure_months", "number", False, doc="months as a customer, when the export gives a duration "
                   "rather than a sign-up date (years: multiply by 12 in the mapping)"),
            Column("name", "text", False, pii=True),
            Column("email", "text", False, pii=True),
            Column("phone", "text", False, pii=True),
        )),
    "interactions": TableContract(
        "interactions", date_column="timestamp",
        doc="Communications log: calls, e-mails, chats, visits.",
        columns=(
            Column("interaction_id", "id", False),
            Column("customer_id", "id", True),
            Column("timestamp", "datetime", True),
            Column("channel", "text", False),
            Column("topic", "text", False),
            Column("note", "text", False, doc="free text; e-mail addresses and phone numbers are masked"),
            Column("outcome", "text", False),
        )),
    "surveys": TableContract(
        "surveys", date_column="date",
        doc="Satisfaction responses: items q_* on a 1-5 (or other) scale, overall, NPS 0-10. Items under "
            "an export's own names are declared in the mapping's 'survey' block and read as q_* (io.survey_columns).",
        prefixed={"q_": "number"},
        columns=(
            Column("response_id", "id", False),
            Column("customer_id", "id", True),
            Column("date", "datetime", True),
            Column("overall", "number", False),
            Column("nps", "number", False, doc="0-10 likelihood to recommend"),
            Column("comment", "text", False, doc="free text; e-mail addresses and phone numbers are masked"),
        )),
    "leads": TableContract(
        "leads", date_column="created_date",
        doc="Sales leads: one row per lead, the dates of the funnel stages it reached, its outcome and, once "
            "won, the customer it became. Lead attributes known when the lead came in, for lead scoring, are "
            "extra columns num_* (numbers) and cat_* (categories).",
        prefixed={"num_": "number", "cat_": "text"},
        columns=(
            Column("lead_id", "id", True, doc="lead (prospect) id"),
            Column("created_date", "datetime", False, doc="when the lead came in; without it there is no "
                   "funnel by month, no cohort view and no stage durations"),
            Column("source", "text", False, doc="where the lead came from (channel, campaign)"),
            Column("contacted_date", "datetime", False, doc="first contact made"),
            Column("qualified_date", "datetime", False, doc="qualified as a real opportunity"),
            Column("proposal_date", "datetime", False, doc="offer or proposal sent"),
            Column("stage", "text", False, doc="furthest stage reached (created, contacted, qualified, proposal), "
                   "for exports without stage dates"),
            Column("outcome", "text", False, doc="won, lost, or empty while the lead is open"),
            Column("outcome_date", "datetime", False, doc="when it was won or lost"),
            Column("value", "number", False, doc="expected deal value, >= 0"),
            Column("customer_id", "id", False, doc="the customer a won lead became (links to orders)"),
        )),
}
TABLES = tuple(CONTRACTS)
#: The funnel's stages in order: a lead reaching one has passed the ones before it.
LEAD_STAGES = ("created", "contacted", "qualified", "proposal", "won")
#: How ``outcome`` values are read (lower case, stripped); anything else is quarantined.
LEAD_OUTCOMES = ("won", "lost")


# ------------------------------------------------------------------------------------------
# Row checks: each check's name is the quarantine reason of a row that fails it.
# ------------------------------------------------------------------------------------------

def _present(name: str) -> pa.Check:
    return pa.Check(lambda s: s.notna() & (s.astype(TEXT).str.strip() != ""), name=name,
                    ignore_na=False)


def _parsed(name: str) -> pa.Check:
    return pa.Check(lambda s: s.notna(), name=name, ignore_na=False)


def row_schema(table: str, columns: list[str]) -> pa.DataFrameSchema:
    """The pandera schema of row checks for the columns a table actually has."""
    checks: dict[str, list[pa.Check]] = {}
    if table == "orders":
        # No check on customer_id: an order line without one is a guest sale, kept (see cleaning).
        checks = {
            "order_date": [_parsed("unparseable_date")],
            "product_id": [_present("missing_product_id")],
            "quantity": [pa.Check(lambda s: s.notna() & (s != 0) & s.abs().lt(1e6),
                                  name="invalid_quantity", ignore_na=False)],
            "unit_price": [pa.Check(lambda s: s.notna() & (s > 0) & s.lt(1e7),
                                    name="invalid_price", ignore_na=False)],
        }
    elif table == "customers":
        checks = {"customer_id": [_present("missing_customer_id")],
                  # A flag is 0 or 1 (map yes/no or true/false to them with the mapping's 'values').
                  "churned": [pa.Check(lambda s: s.isna() | s.isin([0, 1]), name="invalid_churn_flag",
                                       ignore_na=False)],
                  "tenure_months": [pa.Check(lambda s: s.isna() | (s >= 0), name="invalid_tenure",
                                             ignore_na=False)]}
    elif table == "interactions":
        checks = {"customer_id": [_present("missing_customer_id")],
                  "timestamp": [_parsed("unparseable_date")]}
    elif table == "surveys":
        checks = {"customer_id": [_present("missing_customer_id")],
                  "date": [_parsed("unparseable_date")],
                  "nps": [pa.Check(lambda s: s.isna() | s.between(0, 10), name="nps_out_of_range",
                                   ignore_na=False)]}
    elif table == "leads":
        # created_date is optional (an undated lead-scoring export); where the column is given, a lead
        # without a readable date cannot be placed in a month or a cohort.
        checks = {"lead_id": [_present("missing_lead_id")],
                  "created_date": [_parsed("unparseable_date")],
                  "outcome": [pa.Check(lambda s: s.isna() | s.astype(TEXT).str.strip().str.lower()
                                       .isin(LEAD_OUTCOMES + ("",)), name="unknown_outcome", ignore_na=False)],
                  "value": [pa.Check(lambda s: s.isna() | s.ge(0), name="invalid_value", ignore_na=False)]}
    return pa.DataFrameSchema(
        {col: pa.Column(checks=cs, nullable=True, required=False, coerce=False)
         for col, cs in checks.items() if col in columns},
        strict=False,
    )


def row_failures(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Rows failing the contract's row checks: index, reason (first failing check), all reasons.

    Every check of the schema runs on its column (each failure of each row is collected in one
    pass, as pandera's lazy validation would); only the failing rows are gathered, so a table of
    tens of millions of lines is not copied on the way.
    """
    schema = row_schema(table, list(frame.columns))
    names, failing = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        for col, column in schema.columns.items():
            for check in column.checks:
                passed = check(frame[col]).check_output
                names.append(check.name)
                failing.append(~np.asarray(passed.to_numpy(dtype=bool, na_value=False)))
    if not failing or not np.logical_or.reduce(failing).any():
        return pd.DataFrame({"reason": pd.Series(dtype=object), "all_reasons": pd.Series(dtype=object)})
    hit = np.column_stack(failing)
    rows = np.flatnonzero(hit.any(axis=1))
    hit = hit[rows]
    reason = np.asarray(names, dtype=object)[hit.argmax(axis=1)]  # the first failing check in schema order
    # All failing checks of a row, in schema order, written once per combination that occurs.
    combination = hit.astype(np.int64) @ (1 << np.arange(len(names), dtype=np.int64))
    kinds, which = np.unique(combination, return_inverse=True)
    joined = [";".join(dict.fromkeys(n for j, n in enumerate(names) if kind >> j & 1)) for kind in kinds]
    every = np.asarray(joined, dtype=object)[which.ravel()]
    index = pd.Index(frame.index[rows], name="index")
    return pd.DataFrame({"reason": reason, "all_reasons": every}, index=index).sort_index()
