"""What happened this month: headline KPIs, group comparisons, correlations, cohort retention.

Definitions used throughout (so that every number in the report means one thing):

* **revenue**: net of returns, i.e. the sum of ``line_revenue`` of every line dated in the month,
  returns (negative lines) included, bulk lines included (they are real sales; notebook 01 only
  flags them);
* **orders**: distinct order ids with at least one purchased (non-return) line in the month;
* **active customers**: customers with at least one purchased line in the month;
* **new customers**: active customers whose first purchase ever falls in the month;
  **returning customers** are the other active customers;
* **average order value**: purchase revenue (returns excluded) per order;
* **return rate**: value of returned lines in the month / value of purchased lines in the month.

Revenue, orders, average order value and return rate count every sale, guest sales (lines without
a customer id) included; the customer counts and cohorts count known customers only, and
:func:`features.guest_figures` says how many lines and how much revenue they leave out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from crm_utils import linecodes
from crm_utils.customers import features

KPI_NAMES = ("revenue", "orders", "active_customers", "new_customers", "returning_customers",
             "average_order_value", "return_rate")


def month_kpis(orders: pd.DataFrame, month: str | pd.Period) -> dict[str, float]:
    """The KPIs of one calendar month (see the module docstring); NaN for a month without data."""
    return _month_kpis(orders, _Lines.of(orders), pd.Period(month, freq="M"))


NO_PURCHASE = np.iinfo(np.int64).max


@dataclass
class _Lines:
    """The codes every KPI needs, computed once per table: month and customer of each line."""

    month: np.ndarray  # month ordinal of each line
    customer: np.ndarray  # customer code of each line (-1: a guest sale, no customer)
    buy: np.ndarray  # the line is a purchase, not a return
    first: np.ndarray  # month ordinal of each customer code's first purchase (NO_PURCHASE: none)

    @classmethod
    def of(cls, orders: pd.DataFrame) -> _Lines:
        month = linecodes.month_numbers(orders["order_date"])
        customer, ids = linecodes.codes(orders["customer_id"], allow_missing=True)
        buy = ~orders["is_return"].to_numpy(dtype=bool)
        first = np.full(len(ids), NO_PURCHASE, dtype=np.int64)
        known = buy & (customer >= 0)
        np.minimum.at(first, customer[known], month[known])
        return cls(month, customer, buy, first)


def _month_kpis(orders: pd.DataFrame, lines: _Lines, month: pd.Period, days: int | None = None) -> dict[str, float]:
    """The KPIs of ``month``; with ``days``, of its first ``days`` days only (a partial month's
    comparison on the same days)."""
    in_month = lines.month == month.ordinal
    if days is not None:
        in_month &= orders["order_date"].dt.day.to_numpy() <= days
    rows = np.flatnonzero(in_month)
    if not len(rows):
        return {k: np.nan for k in KPI_NAMES}
    buy = rows[lines.buy[rows]]
    returns = rows[~lines.buy[rows]]
    revenue = orders["line_revenue"].to_numpy(dtype=float)
    active = np.unique(lines.customer[buy])
    active = active[active >= 0]  # guest sales count in revenue and orders, not as customers
    new = int((lines.first[active] == month.ordinal).sum())
    purchased = float(revenue[buy].sum())
    returned = float(-revenue[returns].sum())
    n_orders = int(orders["order_id"].iloc[buy].nunique())
    # Sales, all of them by guests: there is no customer to count, which is not zero customers.
    unknowable = len(buy) > 0 and not (lines.customer[buy] >= 0).any()
    return {
        "revenue": float(revenue[rows].sum()),
        "orders": n_orders,
        "active_customers": np.nan if unknowable else len(active),
        "new_customers": np.nan if unknowable else new,
        "returning_customers": np.nan if unknowable else len(active) - new,
        "average_order_value": purchased / n_orders if n_orders else np.nan,
        "return_rate": returned / purchased if purchased else np.nan,
    }


def kpi_table(orders: pd.DataFrame, month: str | pd.Period, data_end: pd.Timestamp | None = None) -> pd.DataFrame:
    """KPIs of the month beside the previous month and the same month a year earlier, with changes.

    A comparison month the data do not cover shows NaN rather than a change against zero. When
    the data end inside the month (``data_end``, a run with ``--allow-partial``), every column
    counts the same days, 1 to ``data_end``'s day, so a week of December is not compared with
    the whole of November.
    """
    month = pd.Period(month, freq="M")
    days = None
    if data_end is not None and pd.Timestamp(data_end).normalize() < month.end_time.normalize():
        days = pd.Timestamp(data_end).day
    lines = _Lines.of(orders)
    data_start = linecodes.periods([lines.month.min()])[0]
    cols = {}
    for label, m in (("this month", month), ("previous month", month - 1), ("same month last year", month - 12)):
        cols[label] = _month_kpis(orders, lines, m, days) if m >= data_start else {k: np.nan for k in KPI_NAMES}
    out = pd.DataFrame(cols).reindex(list(KPI_NAMES))
    # In the first month of the data every customer looks new: there is no history to tell. Say
    # so with NaN, in whichever column that month appears.
    for label, m in (("this month", month), ("previous month", month - 1), ("same month last year", month - 12)):
        if m == data_start:
            out.loc[["new_customers", "returning_customers"], label] = np.nan
    out["change vs previous month"] = out["this month"] / out["previous month"] - 1
    out["change vs last year"] = out["this month"] / out["same month last year"] - 1
    out.index.name = "kpi"
    out.attrs["days"] = days  # None: whole months
    return out


MONEY = ("revenue", "average_order_value")
SHARES = ("return_rate",)


def format_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table as text for reading: money with separators, counts whole, rates and changes in %
    (through ``notebook``'s helpers: missing as '–', and never '-0.0%' for a rate that rounds to zero)."""
    from crm_utils.notebook import number, percent

    def cell(kpi: str, column: str, v: float) -> str:
        if column.startswith("change"):
            return percent(v, 1, signed=True)
        if kpi in SHARES:
            return percent(v, 1)
        return number(v, 2 if kpi == "average_order_value" else 0)
    return pd.DataFrame({c: [cell(k, c, kpis.loc[k, c]) for k in kpis.index] for c in kpis.columns},
                        index=kpis.index)


def monthly_series(orders: pd.DataFrame, through: str | pd.Period, months: int = 24) -> pd.DataFrame:
    """Revenue, orders and active customers per month for the last ``months`` months up to ``through``.

    The months start with the first month of the data when that is later; months without a
    line show zeros. Revenue and orders count guest sales too; active customers are NaN in a
    month whose purchases are all guest sales.
    """
    through = pd.Period(through, freq="M")
    low = through.ordinal - months + 1
    month = linecodes.month_numbers(orders["order_date"])
    rows = np.flatnonzero((month >= low) & (month <= through.ordinal))
    if not len(rows):
        raise ValueError(f"orders: no lines in the {months} months up to {through}")
    slot = month[rows] - low
    buy = ~orders["is_return"].to_numpy(dtype=bool)[rows]
    revenue = (pd.Series(orders["line_revenue"].to_numpy(dtype=float)[rows]).groupby(slot).sum()
               .reindex(range(months), fill_value=0.0).to_numpy())
    order_code, _ = linecodes.codes(orders["order_id"].iloc[rows[buy]], allow_missing=True)
    customer, _ = linecodes.codes(orders["customer_id"].iloc[rows[buy]], allow_missing=True)  # -1: guest
    out = pd.DataFrame({
        "revenue": revenue,
        "orders": linecodes.distinct_counts(slot[buy], order_code, int(order_code.max(initial=0)) + 1, months),
        "active_customers": linecodes.distinct_counts(slot[buy], customer, int(customer.max(initial=0)) + 1, months),
    }, index=linecodes.periods(np.arange(low, through.ordinal + 1)))
    # A month whose purchases are all guest sales has no customer to count (NaN, not zero).
    known = np.bincount(slot[buy][customer >= 0], minlength=months)
    unknowable = (known == 0) & (out["orders"] > 0)
    if unknowable.any():
        out["active_customers"] = out["active_customers"].astype(float).mask(unknowable)
    return out.iloc[int(slot.min()):]


def customer_year(orders: pd.DataFrame, customers: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per customer active in the 12 months to ``cutoff``: spend, orders and descriptive groups.

    The unit of the group comparisons: a customer's last year, so that customers who joined long
    ago and those who joined recently are compared over the same span. Guest sales have no customer
    and are left out.
    """
    start = cutoff - pd.DateOffset(years=1)
    dates = orders["order_date"]
    rows = np.flatnonzero(((dates > start) & (dates <= cutoff)).to_numpy() & ~features.guest_mask(orders))
    customer, ids = linecodes.codes(orders["customer_id"].iloc[rows])
    buy = ~orders["is_return"].to_numpy(dtype=bool)[rows]
    order_code, _ = linecodes.codes(orders["order_id"].iloc[rows[buy]], allow_missing=True)
    n = len(ids)
    # pandas' compensated grouped sum, as before: the group tests rank these sums, and a last-bit
    # difference would reorder customers whose spend ties.
    spend = pd.Series(orders["line_revenue"].to_numpy(dtype=float)[rows]).groupby(customer).sum()
    spend = spend.reindex(range(n), fill_value=0.0).to_numpy()
    n_orders = linecodes.distinct_counts(customer[buy], order_code, int(order_code.max(initial=0)) + 1, n)
    bought = n_orders > 0  # a customer with only returns in the year has no purchase to compare
    per = pd.DataFrame({"spend_12m": spend[bought], "orders_12m": n_orders[bought].astype(float)},
                       index=pd.Index(ids[bought], name="customer_id")).sort_index()
    groups = customers.drop_duplicates("customer_id").set_index("customer_id")
    pos = features.positions_in(groups.index, per.index)
    found = pos >= 0
    for col in ("region", "channel", "gender"):
        if col in groups.columns:
            values = groups[col].astype("string").iloc[np.where(found, pos, 0)].to_numpy()
            per[col] = pd.Series(values, index=per.index).where(found).fillna("unknown").to_numpy()
    if "birth_year" in groups.columns:
        birth = groups["birth_year"].iloc[np.where(found, pos, 0)].where(found)
        per["age_band"] = age_band(pd.Series(birth.to_numpy(), index=per.index), cutoff).to_numpy()
    return per


# ------------------------------------------------------------------------------------------
# Group comparisons
# ------------------------------------------------------------------------------------------

AGE_BANDS = (18, 25, 35, 45, 55, 65, 110)  # outside 18-109: implausible, so unknown
AGE_LABELS = ("18-24", "25-34", "35-44", "45-54", "55-64", "65+")


def age_band(birth_year: pd.Series, as_of: pd.Timestamp) -> pd.Series:
    """Age bands at ``as_of``; missing or implausible birth years become 'unknown'."""
    age = as_of.year - pd.to_numeric(birth_year, errors="coerce")
    band = pd.cut(age, bins=list(AGE_BANDS), right=False, labels=list(AGE_LABELS))
    return band.cat.add_categories("unknown").fillna("unknown")


def compare_groups(frame: pd.DataFrame, group: str, value: str, confidence: float = 0.95,
                   min_size: int = 20) -> tuple[pd.DataFrame, dict]:
    """Mean of ``value`` per group with a t confidence interval, and a test of whether they differ.

    The test is Kruskal-Wallis: it compares the groups' distributions by rank, so a handful of
    very large customers cannot manufacture a difference the way they can in an ANOVA on skewed
    spend. Its effect size epsilon squared (0 = no difference, 1 = groups fully separated) says
    whether a significant difference is also a large one. Groups smaller than ``min_size`` are
    shown but left out of the test.
    """
    g = frame.groupby(group, observed=True)[value]
    out = pd.DataFrame({"customers": g.size(), "mean": g.mean(), "median": g.median(), "sd": g.std()})
    half = stats.t.ppf(0.5 + confidence / 2, np.maximum(out["customers"] - 1, 1)) * out["sd"] / np.sqrt(out["customers"])
    out["ci_low"], out["ci_high"] = out["mean"] - half, out["mean"] + half
    out = out.sort_values("mean", ascending=False)
    tested = [s.to_numpy() for _, s in g if len(s) >= min_size]
    test = {"test": "Kruskal-Wallis", "groups": len(tested), "statistic": np.nan, "p_value": np.nan,
            "epsilon_squared": np.nan}
    if len(tested) >= 2:
        h, p = stats.kruskal(*tested)
        n = sum(len(t) for t in tested)
        test.update(statistic=float(h), p_value=float(p), epsilon_squared=float(h / (n - 1)))
    return out, test


# ------------------------------------------------------------------------------------------
# Correlations and cohorts
# ------------------------------------------------------------------------------------------

BEHAVIOUR = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_rate",
             "price_index", "interactions")


def behaviour_correlations(features: pd.DataFrame) -> pd.DataFrame:
    """Spearman (rank) correlations between customer-level behaviour measures.

    Rank correlation, because spend and counts are skewed: one very large customer should not
    decide the sign of a correlation.
    """
    cols = [c for c in BEHAVIOUR if c in features.columns and features[c].nunique() > 1]
    return features[cols].corr(method="spearman")


def cohort_retention(orders: pd.DataFrame, through: str | pd.Period, cohorts: int = 12,
                     horizon: int = 12) -> tuple[pd.DataFrame, pd.Series]:
    """Share of each first-purchase cohort buying again N months later.

    Rows: the last ``cohorts`` cohorts (first-purchase month) up to ``through``; columns: months
    since the first purchase, 0..``horizon``. Cells the data cannot know yet (after ``through``)
    are NaN, not 0. Returns the table and the cohort sizes. Guest sales have no customer and are
    left out.
    """
    through = pd.Period(through, freq="M")
    month = linecodes.month_numbers(orders["order_date"])
    rows = np.flatnonzero(~orders["is_return"].to_numpy(dtype=bool) & (month <= through.ordinal)
                          & ~features.guest_mask(orders))
    customer, _ = linecodes.codes(orders["customer_id"].iloc[rows])
    month = month[rows]
    first = np.full(int(customer.max(initial=-1)) + 1, NO_PURCHASE, dtype=np.int64)
    np.minimum.at(first, customer, month)
    # Each customer's months with a purchase, once each, for the cohorts and ages shown.
    low = int(month.min()) if len(month) else 0
    cust, month = linecodes.distinct_pairs(customer, month - low, int(month.max(initial=low)) - low + 1)
    month = month + low
    last_month = through.ordinal
    pairs = pd.DataFrame({"cohort": first[cust], "age": month - first[cust], "customer_id": cust})
    pairs = pairs[(pairs["cohort"] > last_month - cohorts) & (pairs["age"] <= horizon)]
    sizes = pairs[pairs["age"] == 0].groupby("cohort")["customer_id"].nunique()
    active = pairs.groupby(["cohort", "age"])["customer_id"].nunique().unstack(fill_value=0)
    table = active.div(sizes, axis=0).reindex(columns=range(horizon + 1), fill_value=0.0)
    for cohort in table.index:
        table.loc[cohort, table.columns > last_month - cohort] = np.nan  # not observable yet
    labels = [str(p) for p in linecodes.periods(table.index)]
    table.index, sizes.index = labels, labels
    table.index.name, table.columns.name = "first purchase", "months later"
    return table, sizes


def retention_summary(table: pd.DataFrame, sizes: pd.Series, months: tuple[int, ...] = (1, 3, 6, 12)) -> dict:
    """Size-weighted average retention N months after the first purchase, over the cohorts that can show it."""
    out = {}
    for m in months:
        if m in table.columns and table[m].notna().any():
            ok = table[m].notna()
            out[f"month_{m}"] = float(np.average(table.loc[ok, m], weights=sizes.reindex(table.index[ok])))
    return out


def headline(report_month: str, kpis: pd.DataFrame, tests: dict[str, dict], retention: dict,
             guests: dict | None = None) -> dict:
    """The figures notebook 02 hands over in metrics.json: this month's KPIs, the months they are
    compared with and the changes, the group tests, the average retention of a cohort and what the
    customer counts leave out (``guests``: :func:`features.guest_figures` of the month)."""
    return {**(guests or {}),
        "month": report_month,
        # Partial month: every figure below covers days 1 to this one of its month.
        "compared_days": kpis.attrs.get("days"),
        "kpis": kpis["this month"].to_dict(),
        "previous_month": kpis["previous month"].to_dict(),
        "same_month_last_year": kpis["same month last year"].to_dict(),
        "change_vs_previous_month": kpis["change vs previous month"].to_dict(),
        "change_vs_last_year": kpis["change vs last year"].to_dict(),
        "group_tests": {g: {k: t[k] for k in ("p_value", "epsilon_squared", "groups")} for g, t in tests.items()},
        "retention": retention,
    }
