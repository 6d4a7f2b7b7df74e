"""Next best offer: for each recent customer, the product the rules say goes with what they bought,
among the products they have never bought.

A customer qualifies for a rule when their history (every purchase up to the cutoff) holds all of
its left side and never its right side; among the rules they qualify for, the one with the highest
confidence wins (then lift, then the rule's order), so the offer is the product most often bought
by customers who bought what they did. Only ids go out: customer id, the offered product (or
category) and the rule's figures, for the campaign plan to take as a candidate action.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import scipy.sparse as sp

from crm_utils.baskets.rules import purchase_lines

#: Columns of the ``next_best_offer`` artifact, in order.
OFFER_COLUMNS = ["customer_id", "level", "offer", "because", "support", "confidence", "lift", "q_value"]
#: Separator of a multi-item left side in the ``because`` column ("P01002 + P05003").
ITEM_SEPARATOR = " + "


def customer_items(orders: pd.DataFrame, cutoff: pd.Timestamp, level: str, active_days: int) -> pd.DataFrame:
    """Distinct (customer_id, item) pairs of every purchase up to ``cutoff``, for the customers who
    bought within ``active_days`` before it (an offer to a customer long gone is wasted)."""
    column = "product_id" if level == "product" else "category"
    lines = purchase_lines(orders, end=cutoff)
    lines = lines.loc[lines["customer_id"].notna() & lines[column].notna(), ["customer_id", column, "order_date"]]
    last = lines.groupby("customer_id", observed=True)["order_date"].max()
    active = last.index[last > cutoff - pd.Timedelta(days=active_days)]
    lines = lines.loc[lines["customer_id"].isin(active)]
    pairs = lines[["customer_id", column]].astype({column: str}).drop_duplicates()
    return pairs.rename(columns={column: "item"}).reset_index(drop=True)


def _indicator(rows: np.ndarray, cols: np.ndarray, shape: tuple[int, int]) -> sp.csr_matrix:
    """A 0/1 sparse matrix with ones at (rows, cols), repeated pairs counted once."""
    m = sp.csr_matrix((np.ones(len(rows), np.int32), (rows, cols)), shape=shape)
    m.sum_duplicates()
    m.data[:] = 1
    return m


def next_best_offers(rules: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """One offer per customer of ``history`` (customer_id, item) that some rule applies to: the
    single-item right side of the highest-confidence rule whose left side they hold and whose
    right side they have not bought. Empty (with the columns) when no rule applies to anyone.

    Sparse algebra, so a million customers cost seconds: with H the customer x item history and L
    the rule x item left sides, (H L^T)[c, r] counts the items of rule r's left side customer c
    holds; the rule applies when that count is the left side's size and c never bought its right side.
    """
    single = rules.loc[rules["consequents"].map(len) == 1]
    if single.empty or history.empty:
        return pd.DataFrame(columns=OFFER_COLUMNS)
    # Rules in order of preference: a customer's offer is the first rule that applies to them.
    single = single.assign(order=np.arange(len(single))).sort_values(
        ["confidence", "lift", "order"], ascending=[False, False, True], kind="stable").reset_index(drop=True)
    left = single["antecedents"].map(lambda a: [str(i) for i in a])
    right = single["consequents"].map(lambda c: str(c[0]))
    items = pd.Index(pd.unique(np.concatenate([history["item"].astype(str).to_numpy(),
                                               np.concatenate(left.to_numpy()), right.to_numpy()])))
    cust_codes, customers = pd.factorize(history["customer_id"])
    held = _indicator(cust_codes, items.get_indexer(history["item"].astype(str)), (len(customers), len(items)))
    left_rows = np.repeat(np.arange(len(single)), left.map(len).to_numpy())
    lhs = _indicator(left_rows, items.get_indexer(np.concatenate(left.to_numpy())), (len(single), len(items)))
    size = np.asarray(lhs.sum(axis=1)).ravel()
    counts = (held @ lhs.T).tocsr()
    counts.data = (counts.data == size[counts.indices]).astype(np.int32)  # the whole left side held
    counts.eliminate_zeros()
    bought = held[:, items.get_indexer(right)]  # customer x rule: already holds the right side
    applies = (counts - counts.multiply(bought)).tocsr()
    applies.eliminate_zeros()
    applies.sort_indices()
    has = np.flatnonzero(np.diff(applies.indptr) > 0)
    best = applies.indices[applies.indptr[has]]  # the first (most preferred) rule of each customer
    chosen = single.iloc[best]
    out = pd.DataFrame({"customer_id": np.asarray(customers)[has], "level": chosen["level"].to_numpy(),
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
        columns={"because": "mostly because of"})
