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
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

KPI_NAMES = ("revenue", "orders", "active_customers", "new_customers", "returning_customers",
             "average_order_value", "return_rate")


def month_kpis(orders: pd.DataFrame, month: pd.Period, first_purchase: pd.Series | None = None) -> dict[str, float]:
    """The KPIs of one calendar month (see the module docstring); NaN for a month without data."""
    if first_purchase is None:
        first_purchase = first_purchase_month(orders)
    start, end = month.start_time, month.end_time
    m = orders[(orders["order_date"] >= start) & (orders["order_date"] <= end)]
    if m.empty:
        return {k: np.nan for k in KPI_NAMES}
    buy = m[~m["is_return"]]
    active = pd.Index(buy["customer_id"].unique())
    new = int((first_purchase.reindex(active) == month).sum())
    purchased = float(buy["line_revenue"].sum())
    returned = float(-m.loc[m["is_return"], "line_revenue"].sum())
    n_orders = int(buy["order_id"].nunique())
    return {
        "revenue": float(m["line_revenue"].sum()),
        "orders": n_orders,
        "active_customers": len(active),
        "new_customers": new,
        "returning_customers": len(active) - new,
        "average_order_value": purchased / n_orders if n_orders else np.nan,
        "return_rate": returned / purchased if purchased else np.nan,
    }


def first_purchase_month(orders: pd.DataFrame) -> pd.Series:
    """Month of each customer's first purchased line, indexed by customer_id."""
    buy = orders[~orders["is_return"]]
    return buy.groupby("customer_id", observed=True)["order_date"].min().dt.to_period("M")


def kpi_table(orders: pd.DataFrame, month: str | pd.Period) -> pd.DataFrame:
    """KPIs of the month beside the previous month and the same month a year earlier, with changes.

    A comparison month the data do not cover shows NaN rather than a change against zero.
    """
    month = pd.Period(month, freq="M")
    first = first_purchase_month(orders)
    data_start = orders["order_date"].min().to_period("M")
    cols = {}
    for label, m in (("this month", month), ("previous month", month - 1), ("same month last year", month - 12)):
        cols[label] = month_kpis(orders, m, first) if m >= data_start else {k: np.nan for k in KPI_NAMES}
    out = pd.DataFrame(cols).reindex(list(KPI_NAMES))
    # In the first month of the data every customer looks new: there is no history to tell. Say
    # so with NaN, in whichever column that month appears.
    for label, m in (("this month", month), ("previous month", month - 1), ("same month last year", month - 12)):
        if m == data_start:
            out.loc[["new_customers", "returning_customers"], label] = np.nan
    out["change vs previous month"] = out["this month"] / out["previous month"] - 1
    out["change vs last year"] = out["this month"] / out["same month last year"] - 1
    out.index.name = "kpi"
    return out


MONEY = ("revenue", "average_order_value")
SHARES = ("return_rate",)


def format_kpis(kpis: pd.DataFrame) -> pd.DataFrame:
    """The KPI table as text for reading: money with separators, counts whole, rates and changes in %."""
    def cell(kpi: str, column: str, v: float) -> str:
        if pd.isna(v):
            return "–"
        if column.startswith("change"):
            return f"{v:+.1%}"
        if kpi in SHARES:
            return f"{v:.1%}"
        if kpi in MONEY:
            return f"{v:,.2f}" if kpi == "average_order_value" else f"{v:,.0f}"
        return f"{v:,.0f}"
    return pd.DataFrame({c: [cell(k, c, kpis.loc[k, c]) for k in kpis.index] for c in kpis.columns},
                        index=kpis.index)


def monthly_series(orders: pd.DataFrame, through: str | pd.Period, months: int = 24) -> pd.DataFrame:
    """Revenue, orders and active customers per month for the last ``months`` months up to ``through``."""
    through = pd.Period(through, freq="M")
    buy = orders[~orders["is_return"]]
    period = orders["order_date"].dt.to_period("M")
    out = pd.DataFrame({
        "revenue": orders.groupby(period)["line_revenue"].sum(),
        "orders": buy.groupby(period[~orders["is_return"]])["order_id"].nunique(),
        "active_customers": buy.groupby(period[~orders["is_return"]])["customer_id"].nunique(),
    })
    out = out[(out.index <= through) & (out.index > through - months)]
    return out.reindex(pd.period_range(max(out.index.min(), through - months + 1), through, freq="M")).fillna(0)


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


def customer_year(orders: pd.DataFrame, customers: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per customer active in the 12 months to ``cutoff``: spend, orders and descriptive groups.

    The unit of the group comparisons: a customer's last year, so that customers who joined long
    ago and those who joined recently are compared over the same span.
    """
    start = cutoff - pd.DateOffset(years=1)
    o = orders[(orders["order_date"] > start) & (orders["order_date"] <= cutoff)]
    buy = o[~o["is_return"]]
    per = pd.DataFrame({
        "spend_12m": o.groupby("customer_id", observed=True)["line_revenue"].sum(),
        "orders_12m": buy.groupby("customer_id", observed=True)["order_id"].nunique(),
    }).dropna(subset=["orders_12m"])
    per.index.name = "customer_id"
    groups = customers.set_index("customer_id")
    for col in ("region", "channel", "gender"):
        if col in groups.columns:
            per[col] = groups[col].reindex(per.index).astype("string").fillna("unknown").to_numpy()
    if "birth_year" in groups.columns:
        per["age_band"] = age_band(groups["birth_year"].reindex(per.index), cutoff).to_numpy()
    return per


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
    are NaN, not 0. Returns the table and the cohort sizes.
    """
    through = pd.Period(through, freq="M")
    buy = orders[~orders["is_return"] & (orders["order_date"] <= through.end_time)]
    # Months as integers (year * 12 + month): vectorised arithmetic, no per-row Period objects.
    month = (buy["order_date"].dt.year * 12 + buy["order_date"].dt.month - 1).to_numpy()
    first = pd.Series(month).groupby(buy["customer_id"].to_numpy()).transform("min").to_numpy()
    last_month = through.year * 12 + through.month - 1
    pairs = pd.DataFrame({"cohort": first, "age": month - first, "customer_id": buy["customer_id"].to_numpy()})
    pairs = pairs[(pairs["cohort"] > last_month - cohorts) & (pairs["age"] <= horizon)].drop_duplicates()
    sizes = pairs[pairs["age"] == 0].groupby("cohort")["customer_id"].nunique()
    active = pairs.groupby(["cohort", "age"])["customer_id"].nunique().unstack(fill_value=0)
    table = active.div(sizes, axis=0).reindex(columns=range(horizon + 1), fill_value=0.0)
    for cohort in table.index:
        table.loc[cohort, table.columns > last_month - cohort] = np.nan  # not observable yet
    labels = [str(pd.Period(year=c // 12, month=c % 12 + 1, freq="M")) for c in table.index]
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
