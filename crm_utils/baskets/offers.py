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


def next_best_offers(rules: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """One offer per customer of ``history`` (customer_id, item) that some rule applies to: the
    single-item right side of the highest-confidence rule whose left side they hold and whose
    right side they have not bought. Empty (with the columns) when no rule applies to anyone."""
    single = rules.loc[rules["consequents"].map(len) == 1].reset_index(drop=True)
    if single.empty or history.empty:
        return pd.DataFrame(columns=OFFER_COLUMNS)
    single = single.assign(rule=np.arange(len(single)), size=single["antecedents"].map(len),
                           offer=single["consequents"].map(lambda c: str(c[0])))
    left = single[["rule", "antecedents"]].explode("antecedents").rename(columns={"antecedents": "item"})
    left["item"] = left["item"].astype(str)
    held = history.merge(left, on="item")  # (customer, rule) once per left-side item the customer holds
    held = held.groupby(["customer_id", "rule"], observed=True).size().rename("held").reset_index()
    held = held.merge(single[["rule", "size", "offer"]], on="rule")
    held = held.loc[held["held"] == held["size"]]
    bought = history.rename(columns={"item": "offer"}).assign(bought=True)
    held = held.merge(bought, on=["customer_id", "offer"], how="left")
    held = held.loc[held["bought"].isna(), ["customer_id", "rule"]]
    held = held.merge(single[["rule", "level", "offer", "antecedents", "support", "confidence", "lift", "q_value"]],
                      on="rule")
    best = (held.sort_values(["customer_id", "confidence", "lift", "rule"], ascending=[True, False, False, True],
                             kind="stable")
            .drop_duplicates("customer_id"))
    best["because"] = best["antecedents"].map(lambda a: ITEM_SEPARATOR.join(map(str, a)))
    return best[OFFER_COLUMNS].reset_index(drop=True)


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
