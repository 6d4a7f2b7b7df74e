"""A seeded sample of customers for the models to learn from, when there are many.

The models of notebook 05 learn as well from a hundred thousand customers as from a million
(hundreds of thousands of examples over the training cutoffs), in a fraction of the time and
memory; every customer is still scored. A sample keeps whole customers (all their order lines,
notes and account), so each sampled customer's features and labels are exactly those of the full
data. The shop-wide figures that training reads (category price medians, the category mix) are
then estimated from the sample's lines, a few hundred thousand at least.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_utils.customers.features import positions_in
from crm_utils.i18n import _
from crm_utils.notebook import number


@dataclass(frozen=True)
class CustomerSample:
    """The tables restricted to the sampled customers (the tables themselves when not sampled)."""

    orders: pd.DataFrame
    interactions: pd.DataFrame | None
    customers: pd.DataFrame | None
    customers_total: int
    customers_kept: int

    @property
    def sampled(self) -> bool:
        return self.customers_kept < self.customers_total

    def note(self) -> str:
        """One sentence for the notebook: what the models learn from."""
        if not self.sampled:
            return _("Models learn from all {total} customers with orders.").format(total=number(self.customers_total))
        return _("Models learn from a seeded random sample of {kept} of the {total} customers with orders (all "
                 "their order lines, notes and account); every customer is scored.").format(
            kept=number(self.customers_kept), total=number(self.customers_total))


def customer_sample(orders: pd.DataFrame, interactions: pd.DataFrame | None = None,
                    customers: pd.DataFrame | None = None, *, max_customers: int | None = 100_000,
                    seed: int = 42) -> CustomerSample:
    """At most ``max_customers`` customers of ``orders`` (None or 0: all), drawn with ``seed`` from
    the sorted ids, so the same data give the same sample whatever the order of their rows."""
    # Distinct ids first, then text: converting every order line's id to a Python string would
    # cost minutes and gigabytes at tens of millions of lines.
    distinct = pd.Series(pd.unique(orders["customer_id"].dropna()))
    ids = np.sort(pd.unique(distinct.astype(str)))
    total = len(ids)
    if not max_customers or total <= max_customers:
        return CustomerSample(orders, interactions, customers, total, total)
    chosen = pd.Index(ids[np.sort(np.random.default_rng(seed).choice(total, max_customers, replace=False))])

    def keep(table: pd.DataFrame | None) -> pd.DataFrame | None:
        if table is None:
            return None
        return table[positions_in(chosen, table["customer_id"]) >= 0]

    return CustomerSample(keep(orders), keep(interactions), keep(customers), total, max_customers)
