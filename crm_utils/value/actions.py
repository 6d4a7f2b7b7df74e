"""What to do with the value table: tiers, value at risk, the valuable customers slipping away, and
value by segment and by acquisition cohort.

``value_at_risk`` is CLV x P(churn), with P(churn) = 1 - P(alive): the part of a customer's value
that the model already doubts. It is largest for customers who are both valuable and uncertain,
which is where a retention contact can still change something.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from crm_utils.i18n import _
from crm_utils.notebook import money, number, percent
from crm_utils.value.clv import VALUE_TIERS

#: A customer counts as valuable when their past spend is in this top share of customers: past spend
#: is observed, not predicted, so the list does not depend on the model it is meant to act on.
VALUABLE_SHARE = 0.20
#: P(alive) under which a valuable customer is "slipping away". One half: the model thinks it more
#: likely than not that they have stopped buying; the notebook shows the trade-off of other choices.
SLIPPING_P_ALIVE = 0.5
AT_RISK_COLUMNS = ["rank", "customer_id", "value_at_risk", "clv", "p_alive", "total_spend", "value_tier",
                   "last_purchase"]


def slipping_away(value: pd.DataFrame, valuable_share: float = VALUABLE_SHARE,
                  threshold: float = SLIPPING_P_ALIVE) -> pd.DataFrame:
    """Valuable customers (past spend in the top ``valuable_share``) with P(alive) under
    ``threshold``, ranked by value at risk: ids and scores only (no personal data).

    Empty when the model could not be fitted (no P(alive) to judge by).
    """
    if value.empty or value["p_alive"].isna().all():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in AT_RISK_COLUMNS})
    spend = value["total_spend"].to_numpy(float)
    line = np.quantile(spend, 1 - valuable_share)
    picked = value[(spend >= line) & (value["p_alive"].to_numpy(float) < threshold)]
    out = picked.sort_values(["value_at_risk", "customer_id"], ascending=[False, True], ignore_index=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    return out[AT_RISK_COLUMNS]


def tier_summary(value: pd.DataFrame) -> pd.DataFrame | None:
    """Per value tier: customers, their CLV (total, share of all, mean), mean P(alive), value at risk."""
    if value.empty or value["clv"].isna().all():
        return None
    g = value.groupby("value_tier", observed=True)
    out = g.agg(customers=("customer_id", "size"), clv_total=("clv", "sum"), clv_mean=("clv", "mean"),
                p_alive_mean=("p_alive", "mean"), value_at_risk=("value_at_risk", "sum"))
    out["clv_share"] = out["clv_total"] / value["clv"].sum()
    order = [name for name, _ in VALUE_TIERS if name in out.index]
    return out.loc[order, ["customers", "clv_total", "clv_share", "clv_mean", "p_alive_mean", "value_at_risk"]]


def _by(value: pd.DataFrame, key: pd.Series, name: str) -> pd.DataFrame:
    m = value.assign(**{name: key.to_numpy()})
    g = m.groupby(name, observed=True, dropna=False)
    out = g.agg(customers=("customer_id", "size"), clv_mean=("clv", "mean"), p_alive_mean=("p_alive", "mean"),
                past_spend_mean=("total_spend", "mean"))
    # Sums of missing values stay missing (no model: no value), never a total of 0.
    out.insert(1, "clv_total", g["clv"].sum(min_count=1))
    out.insert(4, "value_at_risk", g["value_at_risk"].sum(min_count=1))
    out["clv_share"] = out["clv_total"] / value["clv"].sum() if value["clv"].notna().any() else np.nan
    return out


def by_segment(value: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame | None:
    """Value per segment of notebook 03 (None when the run has no segments); customers without a
    segment (bought too little for segmentation, or after it) are shown as such, not dropped."""
    if segments is None or value.empty:
        return None
    names = segments.assign(customer_id=segments["customer_id"].astype(str)).drop_duplicates("customer_id")
    names = names.set_index("customer_id")["segment_name"]
    key = names.reindex(value["customer_id"].astype(str)).astype("string").fillna(_("(no segment)"))
    return _by(value, key, "segment_name").sort_values("clv_mean", ascending=False)


def by_cohort(value: pd.DataFrame) -> pd.DataFrame | None:
    """Value per acquisition cohort: the month of each customer's first purchase."""
    if value.empty:
        return None
    key = pd.Series(pd.to_datetime(value["first_purchase"]).dt.to_period("M").astype(str), index=value.index)
    return _by(value, key, "cohort").sort_index()


def at_risk_note(at_risk: pd.DataFrame, value: pd.DataFrame, currency: str | None = None) -> str:
    """One sentence on the slipping-away list: how many, what value is at stake (in the current language)."""
    if value["p_alive"].isna().all():
        return _("No list of customers slipping away: the value model could not be fitted (see above).")
    return _("{customers} of the {valuable} customers with the highest past spend (top {share}) have P(alive) below "
             "{threshold}; together their value at risk is {value} of the {total} at risk in all.").format(
        customers=number(len(at_risk)), valuable=number(int(np.ceil(VALUABLE_SHARE * len(value)))),
        share=percent(VALUABLE_SHARE, 0), threshold=percent(SLIPPING_P_ALIVE, 0),
        value=money(at_risk["value_at_risk"].sum(), currency), total=money(value["value_at_risk"].sum(), currency))
