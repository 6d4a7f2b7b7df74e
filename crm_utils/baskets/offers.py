"""Next best offer: for each recent customer, the product the rules say goes with what they bought,
among the products they have never bought.

A customer qualifies for a rule when their history (every purchase up to the cutoff) holds all of
its left side and never its right side; among the rules they qualify for, the one with the highest
confidence wins (then lift, then the rule's order), so the offer is the product most often bought
by customers who bought what they did. Only ids go out: customer id, the offered product (or
category) and the rule's figures, for the campaign plan to take as a candidate action.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_utils.baskets.rules import purchase_mask
from crm_utils.i18n import _

#: Columns of the ``next_best_offer`` artifact, in order.
OFFER_COLUMNS = ["customer_id", "level", "offer", "because", "support", "confidence", "lift", "q_value"]
#: Separator of a multi-item left side in the ``because`` column ("P01002 + P05003").
ITEM_SEPARATOR = " + "


def _indicator(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1 sparse matrix with ones at (rows, cols), repeated pairs counted once."""
    m = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1
    return m


@dataclass
class History:
    """Which items each customer has bought: a sparse customer x item 0/1 matrix."""

    customers: np.ndarray  # customer ids, one per row
    items: pd.Index  # item names (product ids or categories), one per column
    matrix: sp.csr_matrix

    @classmethod
    def from_pairs(cls, customer_ids, items) -> "History":
        """From parallel sequences of customer ids and the items they bought (repeats allowed)."""
        c_codes, customers = pd.factorize(pd.Series(customer_ids))
        i_codes, names = pd.factorize(pd.Series(items).astype(object).map(str))
        return cls(np.asarray(customers, dtype=object), pd.Index(names),
                   _indicator(c_codes, i_codes, (len(customers), len(names))))

    @property
    def n_customers(self) -> int:
        return self.matrix.shape[0]


def customer_history(orders: pd.DataFrame, cutoff: pd.Timestamp, level: str, active_days: int) -> History:
    """Every purchase up to ``cutoff`` of the customers who bought within ``active_days`` before it
    (an offer to a customer long gone is wasted). Integer codes throughout: a million customers'
    36 months of lines never become Python strings."""
    column = "product_id" if level == "product" else "category"
    # Codes of the whole columns, then integer masks: no text column is ever copied row by row.
    keep = purchase_mask(orders, end=cutoff) & orders["customer_id"].notna().to_numpy() & \
        orders[column].notna().to_numpy()
    c_codes, customers = pd.factorize(orders["customer_id"])
    i_codes, names = pd.factorize(orders[column])
    c_codes, i_codes = c_codes[keep], i_codes[keep]
    dates = orders["order_date"].to_numpy()[keep].view(np.int64)
    last = pd.Series(dates).groupby(c_codes).max().reindex(np.arange(len(customers)))
    active = (last > (cutoff - pd.Timedelta(days=active_days)).value).to_numpy()  # never bought: NaN, inactive
    new_code = np.cumsum(active) - 1  # the active customers renumbered 0..n-1
    recent = active[c_codes]
    matrix = _indicator(new_code[c_codes[recent]], i_codes[recent], (int(active.sum()), len(names)))
    return History(np.asarray(customers, dtype=object)[active], pd.Index(np.asarray(names, dtype=object)).map(str),
                   matrix)


def next_best_offers(rules: pd.DataFrame, history: History) -> pd.DataFrame:
    """One offer per customer of ``history`` that some rule applies to: the single-item right side of
    the highest-confidence rule whose left side they hold and whose right side they have not bought.
    Empty (with the columns) when no rule applies to anyone.

    Sparse algebra, so a million customers cost seconds: with H the customer x item history and L
    the rule x item left sides, (H L^T)[c, r] counts the items of rule r's left side customer c
    holds; the rule applies when that count is the left side's size and c never bought its right side.
    """
    single = rules.loc[rules["consequents"].map(len) == 1]
    if single.empty or history.n_customers == 0:
        return pd.DataFrame(columns=OFFER_COLUMNS)
    # Rules in order of preference: a customer's offer is the first rule that applies to them.
    single = single.assign(order=np.arange(len(single))).sort_values(
        ["confidence", "lift", "order"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    left = single["antecedents"].map(lambda a: [str(i) for i in a])
    right = single["consequents"].map(lambda c: str(c[0]))
    # A left-side item no recent customer bought makes its rule apply to nobody: drop those rules.
    left_codes = left.map(lambda a: history.items.get_indexer(a))
    usable = left_codes.map(lambda c: bool((c >= 0).all())).to_numpy()
    single, left, right, left_codes = (x[usable].reset_index(drop=True) for x in (single, left, right, left_codes))
    if single.empty:
        return pd.DataFrame(columns=OFFER_COLUMNS)
    held = history.matrix
    left_rows = np.repeat(np.arange(len(single)), left.map(len).to_numpy())
    lhs = _indicator(left_rows, np.concatenate(left_codes.to_numpy()), (len(single), held.shape[1]))
    size = np.asarray(lhs.sum(axis=1)).ravel()
    counts = (held @ lhs.T).tocsr()
    counts.data = (counts.data == size[counts.indices]).astype(np.int32)  # the whole left side held
    counts.eliminate_zeros()
    # customer x rule: already holds the right side (a right side nobody recent bought: an empty column)
    right_codes = history.items.get_indexer(right)
    padded = sp.hstack([held, sp.csr_matrix((held.shape[0], 1), dtype=held.dtype)]).tocsr()
    bought = padded[:, np.where(right_codes >= 0, right_codes, held.shape[1])]
    applies = (counts - counts.multiply(bought)).tocsr()
    applies.eliminate_zeros()
    applies.sort_indices()
    has = np.flatnonzero(np.diff(applies.indptr) > 0)
    best = applies.indices[applies.indptr[has]]  # the first (most preferred) rule of each customer
    chosen = single.iloc[best]
    out = pd.DataFrame({"customer_id": history.customers[has], "level": chosen["level"].to_numpy(),
                        "offer": right.iloc[best].to_numpy(),
                        "because": left.iloc[best].map(ITEM_SEPARATOR.join).to_numpy()})
    for col in ("support", "confidence", "lift", "q_value"):
        out[col] = chosen[col].to_numpy()
    return out.sort_values("customer_id", kind="stable").reset_index(drop=True)[OFFER_COLUMNS]


def offer_summary(offers: pd.DataFrame, customers_scored: int, top: int = 10) -> pd.DataFrame | None:
    """The offers made most often: offer, the left side most of its customers get it for, customers,
    share of the scored customers, median confidence (None when there are no offers)."""
    if offers is None or offers.empty:
        return None
    out = (offers.groupby("offer").agg(customers=("customer_id", "size"),
                                       because=("because", lambda b: b.value_counts().index[0]),
                                       confidence=("confidence", "median"))
           .sort_values("customers", ascending=False).head(top).reset_index())
    out["share_of_customers"] = out["customers"] / max(customers_scored, 1)
    return out[["offer", "because", "customers", "share_of_customers", "confidence"]].rename(
        columns={"because": _("mostly because of")})  # a header shown as it is: in the run's language
