"""Churn: who leaves, how long customers stay, and what goes with leaving (notebook 04, "Churn").

Two kinds of shop, two views:

* **Contract and subscription shops** export when each customer left (``churn_date``), or only
  whether (``churned``) with how long they stayed (``tenure_months``); see data/README.md. From
  these, :func:`lifetimes` builds one row per customer (months observed, left or not as of the
  report month's end), :func:`kaplan_meier` the survival curves by any categorical attribute
  (region, channel, segment, a declared ``attr_*``) with median tenure and its interval, and
  :func:`cox_drivers` the drivers: hazard ratios with confidence intervals from a Cox proportional
  hazards model (lifelines), with the proportional-hazards assumption tested per covariate.
* **Shops without contracts** never see a customer leave; the churn view there is P(alive) from
  the repeat-purchase model (the customer-value stage), read with a threshold.
  :func:`threshold_tradeoff` shows, for a range of thresholds, the share flagged and the precision
  and recall against churn observed in a later holdout window (:func:`holdout_churn`).

:class:`ChurnStudy` runs the contract view in the notebook's order and says in one sentence why
when the data cannot support a step.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_utils.i18n import N_, _
from crm_utils.notebook import number, percent

#: Days in an average month (365.25 / 12): durations are measured in months of this length.
MONTH_DAYS = 365.25 / 12
#: The customers table's descriptive columns the survival curves and drivers may group by.
#: ``city`` is left out of the drivers: it is nested in region, so both at once are collinear.
GROUP_COLUMNS = ("region", "channel", "gender", "segment")
DRIVER_EXCLUDED = ("city", "segment")
#: The prefix of attributes an export declares for its customers (schema.CONTRACTS).
ATTRIBUTE_PREFIX = "attr_"
#: A numeric attribute with at most this many distinct values (a 0/1 flag, products held 1-4) is read
#: as categories: its levels may act in any order (holding 3 products may be worse than 2 and 4).
MAX_NUMERIC_LEVELS = 10
#: A categorical grouping shows at most this many levels, the largest; the rest are pooled as
#: OTHER: more curves than this on one chart cannot be told apart.
MAX_LEVELS = 8
OTHER = "other"
#: A level with fewer customers than this is pooled into OTHER for the drivers: a dummy on fewer
#: than ~30 customers has an interval too wide to read and can keep the Cox fit from converging.
MIN_LEVEL_CUSTOMERS = 30
#: Customers the drivers need, and churn events among them: below this a Cox model with a handful
#: of covariates has too few events per covariate (the usual rule asks 10 events per parameter).
MIN_CUSTOMERS, MIN_EVENTS = 50, 20
#: The Cox model is fitted on at most this many customers, a seeded sample beyond: at 1,000,000
#: customers intervals from 200,000 are already narrow, and the fit stays within seconds.
MAX_COX_ROWS = 200_000
#: The proportional-hazards test's level per covariate: lifelines' own default in check_assumptions.
PH_ALPHA = 0.01
#: The test runs on at most this many of the fitted customers (a seeded sample): its Schoenfeld
#: residuals cost time growing faster than the rows (15 s for 50,000 on one core, minutes for
#: 200,000), and on 20,000 customers it already flags deviations too small to matter.
MAX_PH_ROWS = 20_000
#: The horizon of the "still a customer after" figure, for curves whose median is not reached.
RETAINED_AT_MONTHS = 12
#: Thresholds of P(alive) the trade-off is shown for.
DEFAULT_THRESHOLDS = tuple(np.round(np.arange(0.05, 1.0, 0.05), 2))


# ------------------------------------------------------------------------------------------
# One row per customer: months observed, left or not
# ------------------------------------------------------------------------------------------

@dataclass
class Lifetimes:
    """Customers with the months each was observed (``months``) and whether they left in that
    time (``churned``), their groups and attributes. ``source`` says how the months were measured
    (``dates``: sign-up to churn date or the report month's end; ``tenure``: the exported
    duration); ``excluded`` counts customers left out, by reason."""

    table: pd.DataFrame
    source: str
    as_of: pd.Timestamp
    excluded: dict[str, int] = field(default_factory=dict)

    @property
    def customers(self) -> int:
        return len(self.table)

    @property
    def events(self) -> int:
        return int(self.table["churned"].sum())

    def notes(self) -> list[str]:
        """One sentence per group of customers left out, and how the months were measured."""
        how = (f"Months run from sign-up to the churn date, or to {self.as_of:%Y-%m-%d} for customers still "
               f"with us (censored)" if self.source == "dates" else
               "Months are the exported tenure; whether a customer left is the exported churn flag")
        out = [f"{how}: {self.customers:,} customers, {self.events:,} of whom left."]
        out += [f"{n:,} customers left out: {reason}." for reason, n in self.excluded.items() if n]
        return out


def _months(later: pd.Series, earlier: pd.Series) -> pd.Series:
    return (later - earlier).dt.total_seconds() / 86400 / MONTH_DAYS


def missing_reason(customers: pd.DataFrame | None) -> str:
    """Why a customers table cannot give a survival view ('' when it can), in the current language:
    notebook 04 records it as the churn note the report shows."""
    if customers is None:
        return _("The data have no customers table, so there is no contract churn to show; the churn view of a "
                 "shop without contracts is P(alive) from the repeat-purchase model.")
    cols = set(customers.columns)
    if {"churn_date", "signup_date"} <= cols or {"churned", "tenure_months"} <= cols:
        return ""
    if "churn_date" in cols:
        return _("The customers table has churn dates but no sign-up dates, so how long customers stayed is "
                 "unknown: map the contract start to signup_date, or export tenure_months.")
    if "churned" in cols:
        return _("The customers table has a churn flag but neither churn dates nor tenure_months, so how long "
                 "customers stayed is unknown: only churn rates by group can be shown, no survival curves.")
    return _("The customers table has no churn_date or churned column (a shop without contracts): customers "
             "are not seen leaving, so the churn view is P(alive) from the repeat-purchase model.")


def lifetimes(customers: pd.DataFrame, as_of: pd.Timestamp | str,
              segments: pd.DataFrame | None = None) -> Lifetimes | None:
    """One row per customer with ``months`` observed and ``churned`` by ``as_of`` (the report
    month's end), or None when the table cannot give durations (:func:`missing_reason` says why).

    With churn dates, a date after ``as_of`` is not known yet: that customer counts as still with
    us, observed until ``as_of``. Customers whose sign-up date was imputed (from first activity:
    a lower bound, not a contract start), who signed up after ``as_of``, whose churn date precedes
    their sign-up, or whose flag says 0 beside a churn date, are left out and counted. With a flag
    and a tenure, customers missing either are left out and counted.
    """
    if missing_reason(customers):
        return None
    as_of = pd.Timestamp(as_of)
    c = customers.copy()
    excluded: dict[str, int] = {}

    def drop(mask: pd.Series, reason: str) -> None:
        nonlocal c
        mask = mask.fillna(False).astype(bool)
        excluded[reason] = excluded.get(reason, 0) + int(mask.sum())
        c = c.loc[~mask]

    if {"churn_date", "signup_date"} <= set(c.columns):
        source = "dates"
        c["signup_date"] = pd.to_datetime(c["signup_date"])
        c["churn_date"] = pd.to_datetime(c["churn_date"])
        if "signup_date_imputed" in c.columns:
            drop(c["signup_date_imputed"], "sign-up date imputed from first activity (not a contract start)")
        drop(c["signup_date"].isna(), "no sign-up date")
        drop(c["signup_date"] > as_of, f"signed up after {as_of:%Y-%m-%d}")
        drop(c["churn_date"] < c["signup_date"].dt.normalize(), "churn date before sign-up")
        if "churned" in c.columns:
            drop(c["churned"].eq(0) & c["churn_date"].notna(), "churn flag 0 beside a churn date")
        left = c["churn_date"].notna() & (c["churn_date"] <= as_of)
        end = c["churn_date"].where(left, as_of)
        c["months"] = _months(end, c["signup_date"]).clip(lower=0)
        c["churned"] = left
    else:
        source = "tenure"
        drop(c["tenure_months"].isna(), "no tenure")
        drop(c["churned"].isna(), "no churn flag")
        c["months"] = c["tenure_months"].astype(float)
        c["churned"] = c["churned"].astype(int).eq(1)
    if segments is not None:  # notebook 03's artifact names the segment in segment_name
        name = next((col for col in ("segment_name", "segment") if col in segments.columns), None)
        if name is None:
            raise ValueError(f"segments: no segment_name column to group by; it has {list(segments.columns)}")
        seg = segments[["customer_id", name]].drop_duplicates("customer_id").rename(columns={name: "segment"})
        c = c.drop(columns="segment", errors="ignore").merge(seg, on="customer_id", how="left")
        c["segment"] = c["segment"].astype(object).where(c["segment"].notna(), "no segment")
    keep = ["customer_id", "months", "churned"] + [col for col in c.columns if col in GROUP_COLUMNS + ("city",)
                                                   or col.startswith(ATTRIBUTE_PREFIX) or col == "birth_year"]
    table = c[keep].reset_index(drop=True)
    table["churned"] = table["churned"].astype(bool)
    for col in [k for k in keep if k.startswith(ATTRIBUTE_PREFIX)]:  # numbers read once, as numbers
        nums = numeric_attribute(table[col])
        if nums is not None:
            table[col] = nums
    return Lifetimes(table, source, as_of, excluded)


# ------------------------------------------------------------------------------------------
# Attributes: categories or numbers
# ------------------------------------------------------------------------------------------

def numeric_attribute(values: pd.Series) -> pd.Series | None:
    """The values as numbers when every present value is one and there are more than
    MAX_NUMERIC_LEVELS of them (an amount, an age); None for categories (a plan, a 0/1 flag)."""
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return values.astype(float) if values.nunique() > MAX_NUMERIC_LEVELS else None
    uniques = pd.Series(pd.unique(values.dropna()))
    if uniques.empty:
        return None
    numbers = pd.to_numeric(uniques.astype(str), errors="coerce")
    if numbers.isna().any() or numbers.nunique() <= MAX_NUMERIC_LEVELS:
        return None
    return pd.to_numeric(values.astype("string"), errors="coerce").astype(float)


def level_label(value: object) -> str:
    """A category as shown: numbers without a trailing '.0' (a flag read as 1.0 shows as '1')."""
    if pd.isna(value):
        return "unknown"
    text = str(value)
    return text[:-2] if text.endswith(".0") and text[:-2].lstrip("-").isdigit() else text


def level_labels(values: pd.Series) -> pd.Series:
    """:func:`level_label` of every value, computed once per distinct value (millions of rows, few levels)."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    labels = np.asarray([level_label(u) for u in uniques] + ["unknown"], dtype=object)
    return pd.Series(labels[codes], index=values.index)  # code -1 (missing) takes the last, "unknown"


def categorical_columns(table: pd.DataFrame) -> list[str]:
    """The groupings of a lifetimes table: the descriptive columns and categorical attributes with
    at least two levels."""
    cols = [c for c in GROUP_COLUMNS if c in table.columns]
    cols += [c for c in table.columns if c.startswith(ATTRIBUTE_PREFIX) and numeric_attribute(table[c]) is None]
    return [c for c in cols if level_labels(table[c]).nunique() >= 2]


def numeric_columns(table: pd.DataFrame) -> list[str]:
    """Numeric attributes (and birth year) of a lifetimes table, each with some spread."""
    cols = [c for c in table.columns if c.startswith(ATTRIBUTE_PREFIX) and numeric_attribute(table[c]) is not None]
    if "birth_year" in table.columns and pd.to_numeric(table["birth_year"], errors="coerce").nunique() > 1:
        cols.append("birth_year")
    return cols


def grouped(values: pd.Series, max_levels: int = MAX_LEVELS, min_size: int = 1) -> pd.Series:
    """Category labels with small levels pooled: beyond the ``max_levels - 1`` largest (when there
    are more than ``max_levels``), and any level under ``min_size`` customers, become OTHER."""
    labels = level_labels(values)
    counts = labels.value_counts()
    keep = counts.index if len(counts) <= max_levels else counts.index[: max_levels - 1]
    keep = [k for k in keep if counts[k] >= min_size]
    return labels.where(labels.isin(keep), OTHER)


def attribute_label(column: str) -> str:
    """``attr_active_member`` -> ``active member``; other columns as named."""
    return column.removeprefix(ATTRIBUTE_PREFIX).replace("_", " ")


# ------------------------------------------------------------------------------------------
# Kaplan-Meier
# ------------------------------------------------------------------------------------------

@dataclass
class SurvivalCurves:
    """Kaplan-Meier curves of one grouping: ``curves`` (group, months, retained, lower, upper),
    ``summary`` per group (customers, left, median months with its interval, share retained at
    RETAINED_AT_MONTHS with its interval) and the log-rank test's p-value that the groups differ."""

    by: str | None
    curves: pd.DataFrame
    summary: pd.DataFrame
    logrank_p: float | None
    alpha: float


def _finite(value: float) -> float:
    return float(value) if np.isfinite(value) else math.nan


def kaplan_meier(lt: Lifetimes, by: str | None = None, alpha: float = 0.05) -> SurvivalCurves:
    """Kaplan-Meier curves for all customers (``by`` None) or per level of ``by`` (at most
    MAX_LEVELS, the rest pooled), with median tenure and its (1 - alpha) interval (NaN: the curve
    never falls to half in the data, "not reached") and the share retained at RETAINED_AT_MONTHS."""
    from lifelines import KaplanMeierFitter
    from lifelines.statistics import multivariate_logrank_test
    from lifelines.utils import median_survival_times

    t = lt.table
    groups = grouped(t[by]) if by else pd.Series("all customers", index=t.index)
    codes, levels = pd.factorize(groups)  # compared as integers: millions of rows
    curves, rows = [], []
    for level in groups.value_counts().index:
        sub = t[codes == levels.get_loc(level)]
        kmf = KaplanMeierFitter(alpha=alpha).fit(sub["months"], sub["churned"], label=str(level))
        sf = kmf.survival_function_.iloc[:, 0]
        ci = kmf.confidence_interval_survival_function_
        curves.append(pd.DataFrame({"group": str(level), "months": sf.index.to_numpy(), "retained": sf.to_numpy(),
                                    "lower": ci.iloc[:, 0].to_numpy(), "upper": ci.iloc[:, 1].to_numpy()}))
        med_ci = median_survival_times(kmf.confidence_interval_)
        at = kmf.survival_function_at_times(RETAINED_AT_MONTHS).iloc[0]
        ci_at = ci[ci.index <= RETAINED_AT_MONTHS].iloc[-1]
        horizon_seen = sub["months"].max() >= RETAINED_AT_MONTHS
        rows.append({"group": str(level), "customers": len(sub), "left": int(sub["churned"].sum()),
                     "churn_share": float(sub["churned"].mean()),
                     "median_months": _finite(kmf.median_survival_time_),
                     "median_lower": _finite(med_ci.iloc[0, 0]), "median_upper": _finite(med_ci.iloc[0, 1]),
                     f"retained_{RETAINED_AT_MONTHS}m": float(at) if horizon_seen else math.nan,
                     f"retained_{RETAINED_AT_MONTHS}m_lower": float(ci_at.iloc[0]) if horizon_seen else math.nan,
                     f"retained_{RETAINED_AT_MONTHS}m_upper": float(ci_at.iloc[1]) if horizon_seen else math.nan})
    p = None
    if by and len(levels) > 1:
        p = float(multivariate_logrank_test(t["months"], codes, t["churned"]).p_value)
    return SurvivalCurves(by, pd.concat(curves, ignore_index=True), pd.DataFrame(rows), p, alpha)


def median_sentence(curves: SurvivalCurves | None) -> str:
    """The median tenure of each group in words, with its interval, or 'not reached' ('' for None)."""
    if curves is None:
        return ""
    level = round((1 - curves.alpha) * 100)
    parts = []
    for r in curves.summary.itertuples():
        if np.isnan(r.median_months):
            parts.append(f"{r.group}: median not reached (over half still customers at the longest tenure seen)")
        else:
            hi = "open" if np.isnan(r.median_upper) else f"{r.median_upper:.1f}"
            lo = "?" if np.isnan(r.median_lower) else f"{r.median_lower:.1f}"
            parts.append(f"{r.group}: {r.median_months:.1f} months ({level}% interval {lo} to {hi})")
    return "Median tenure — " + "; ".join(parts) + "."


# ------------------------------------------------------------------------------------------
# Drivers: Cox proportional hazards
# ------------------------------------------------------------------------------------------

@dataclass
class CoxDrivers:
    """A Cox model's hazard ratios with (1 - alpha) intervals, one row per term: a category level
    against its reference (the largest level), or a numeric attribute per standard deviation.
    ``ph`` holds the proportional-hazards test per term (p < PH_ALPHA: the ratio changes with
    tenure, so one number misdescribes it); ``concordance`` how well the model orders who leaves
    first (0.5: no better than chance), on the rows the test ran on."""

    hazard_ratios: pd.DataFrame
    ph: pd.DataFrame
    concordance: float
    customers: int
    events: int
    sampled: bool
    alpha: float
    model: object = field(repr=False, default=None)

    @property
    def ph_failures(self) -> list[str]:
        return self.ph.loc[~self.ph["holds"], "term"].tolist()

    def notes(self) -> list[str]:
        level = round((1 - self.alpha) * 100)
        out = [f"Cox proportional hazards model on {self.customers:,} customers ({self.events:,} left"
               f"{', a seeded sample' if self.sampled else ''}); concordance {self.concordance:.2f} "
               f"(0.5 = chance). Hazard ratios above 1 mean leaving sooner; {level}% intervals."]
        fails = self.ph_failures
        if fails:
            out.append(f"The proportional-hazards assumption fails (test p < {PH_ALPHA}) for "
                       f"{', '.join(fails)}: their effect changes with tenure, so each ratio is an average "
                       f"over the tenures seen, not a constant.")
        else:
            out.append(f"The proportional-hazards assumption holds for every term (no test p < {PH_ALPHA}).")
        return out


def design_matrix(lt: Lifetimes, covariates: list[str] | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Cox model's columns: dummies of each category against its largest level (levels under
    MIN_LEVEL_CUSTOMERS pooled as OTHER), numeric attributes standardised (ratios per SD); and one
    row per term describing it (term, covariate, level, reference, unit)."""
    t = lt.table
    if covariates is None:
        covariates = [c for c in categorical_columns(t) + numeric_columns(t) if c not in DRIVER_EXCLUDED]
    columns, terms = {}, []
    for col in covariates:
        nums = numeric_attribute(t[col]) if col.startswith(ATTRIBUTE_PREFIX) else \
            (pd.to_numeric(t[col], errors="coerce") if col == "birth_year" else None)
        if nums is not None:
            sd = float(nums.std())
            if not sd > 0:
                continue
            name = f"{attribute_label(col)} (per SD)"
            columns[name] = ((nums - nums.mean()) / sd).fillna(0.0)  # missing at the mean: no information
            terms.append({"term": name, "covariate": col, "level": f"+1 SD ({sd:,.4g})", "reference": "mean"})
            continue
        labels = grouped(t[col], max_levels=t[col].nunique() + 1, min_size=MIN_LEVEL_CUSTOMERS)
        counts = labels.value_counts()
        if len(counts) < 2:
            continue
        reference = counts.index[0] if counts.index[0] != OTHER or len(counts) == 1 else counts.index[1]
        for level in counts.index:
            if level == reference:
                continue
            name = f"{attribute_label(col)} = {level}"
            columns[name] = labels.eq(level).astype(float)
            terms.append({"term": name, "covariate": col, "level": level, "reference": reference})
    described = pd.DataFrame(terms, columns=["term", "covariate", "level", "reference"])
    return pd.DataFrame(columns, index=t.index), described


def cox_drivers(lt: Lifetimes, covariates: list[str] | None = None, *, alpha: float = 0.05,
                seed: int = 0, penalizer: float = 0.0) -> CoxDrivers | None:
    """Hazard ratios of the covariates (default: every grouping and attribute but city and
    segment; segments are built from purchase recency, so they describe leaving rather than
    explain it) from a Cox model fitted by lifelines, with the proportional-hazards test of each
    term (Schoenfeld residuals against rank of time, on at most MAX_PH_ROWS of them). None when
    there are fewer than MIN_CUSTOMERS customers or MIN_EVENTS departures, or no covariate with two
    levels."""
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test
    from lifelines.utils import concordance_index

    if lt.customers < MIN_CUSTOMERS or lt.events < MIN_EVENTS:
        return None
    X, terms = design_matrix(lt, covariates)
    if X.empty:
        return None
    frame = X.assign(_months=lt.table["months"].to_numpy(), _churned=lt.table["churned"].astype(int).to_numpy())
    sampled = len(frame) > MAX_COX_ROWS
    if sampled:
        frame = frame.sample(MAX_COX_ROWS, random_state=seed)
    # Zero months (left in the month they joined) are kept: lifelines' partial likelihood takes them.
    cph = CoxPHFitter(alpha=alpha, penalizer=penalizer)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # convergence notes are judged below from the intervals
        cph.fit(frame, duration_col="_months", event_col="_churned")
        tested, ph_model = frame, cph
        if len(frame) > MAX_PH_ROWS:  # the test needs the model fitted on the rows it tests: refit on the sample
            tested = frame.sample(MAX_PH_ROWS, random_state=seed)
            ph_model = CoxPHFitter(alpha=alpha, penalizer=penalizer).fit(tested, duration_col="_months",
                                                                         event_col="_churned")
        ph = proportional_hazard_test(ph_model, tested, time_transform="rank").summary
    s = cph.summary
    z = s.columns
    lo = next(c for c in z if c.startswith("exp(coef) lower"))
    hi = next(c for c in z if c.startswith("exp(coef) upper"))
    table = terms.merge(pd.DataFrame({"term": s.index, "hazard_ratio": s["exp(coef)"].to_numpy(),
                                      "lower": s[lo].to_numpy(), "upper": s[hi].to_numpy(),
                                      "p": s["p"].to_numpy()}), on="term")
    ph_table = pd.DataFrame({"term": ph.index.get_level_values(0) if isinstance(ph.index, pd.MultiIndex) else ph.index,
                             "ph_p": ph["p"].to_numpy()})
    ph_table["holds"] = ph_table["ph_p"] >= PH_ALPHA
    table = table.merge(ph_table, on="term", how="left").rename(columns={"holds": "ph_holds"})
    # Concordance on the tested rows too: lifelines' own over every fitted row takes ~12 s at 200,000.
    concordance = concordance_index(tested["_months"], -cph.predict_partial_hazard(tested), tested["_churned"])
    return CoxDrivers(table, ph_table, float(concordance), len(frame), int(frame["_churned"].sum()),
                      sampled, alpha, cph)


def driver_sentences(drivers: CoxDrivers, top: int = 3) -> list[str]:
    """The strongest terms (interval clear of 1), in words: 'active member = 1: 0.55x the hazard ...'."""
    t = drivers.hazard_ratios
    clear = t[(t["lower"] > 1) | (t["upper"] < 1)].copy()
    if clear.empty:
        return ["No term's interval is clear of 1: the data show no attribute that goes with leaving sooner or later."]
    clear["strength"] = np.abs(np.log(clear["hazard_ratio"]))
    out = []
    for r in clear.nlargest(top, "strength").itertuples():
        against = "the mean" if r.reference == "mean" else f"{attribute_label(r.covariate)} = {r.reference}"
        out.append(f"{r.term}: {r.hazard_ratio:.2f}x the hazard of leaving (interval {r.lower:.2f}-{r.upper:.2f}) "
                   f"against {against}.")
    return out


# ------------------------------------------------------------------------------------------
# Churn rates by group (a flag without durations)
# ------------------------------------------------------------------------------------------

def churn_rates(customers: pd.DataFrame, by: str, alpha: float = 0.05) -> pd.DataFrame:
    """The share of customers flagged as left per level of ``by``, with a Wilson interval: what a
    churn flag without durations can show."""
    from statsmodels.stats.proportion import proportion_confint

    flag = customers["churned"]
    known = flag.notna()
    labels = grouped(customers.loc[known, by])
    left = flag[known].astype(int).eq(1)
    g = pd.DataFrame({"group": labels, "left": left}).groupby("group")["left"].agg(["size", "sum"])
    lo, hi = proportion_confint(g["sum"], g["size"], alpha=alpha, method="wilson")
    return pd.DataFrame({"group": g.index, "customers": g["size"].to_numpy(), "left": g["sum"].to_numpy(),
                         "churn_share": (g["sum"] / g["size"]).to_numpy(), "lower": np.asarray(lo),
                         "upper": np.asarray(hi)}).sort_values("customers", ascending=False, ignore_index=True)


# ------------------------------------------------------------------------------------------
# Shops without contracts: P(alive) read with a threshold
# ------------------------------------------------------------------------------------------

def holdout_churn(orders: pd.DataFrame, customer_ids: pd.Index | pd.Series, start: pd.Timestamp | str,
                  end: pd.Timestamp | str) -> pd.Series:
    """Churn observed in a holdout window: True for each customer with no purchase (a line of
    positive quantity) dated in [start, end], by customer id."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    if end <= start:
        raise ValueError(f"the holdout window must end after it starts, got {start:%Y-%m-%d} to {end:%Y-%m-%d}")
    inside = orders["order_date"].between(start, end) & (orders["quantity"] > 0)
    bought = set(orders.loc[inside, "customer_id"].dropna())
    ids = pd.Index(pd.unique(pd.Series(customer_ids).dropna()), name="customer_id")
    return pd.Series(~ids.isin(bought), index=ids, name="churned")


def threshold_tradeoff(p_alive: pd.Series, churned: pd.Series,
                       thresholds: tuple[float, ...] | list[float] = DEFAULT_THRESHOLDS) -> pd.DataFrame:
    """What flagging customers with P(alive) below a threshold would catch, per threshold: how many
    and what share are flagged, precision (share of the flagged who did churn in the holdout) and
    recall (share of those who churned that were flagged). Both series are indexed by customer id;
    only customers in both are scored, and none may be missing."""
    joined = pd.concat({"p_alive": p_alive, "churned": churned}, axis=1, join="inner")
    if joined.empty:
        raise ValueError("p_alive and the holdout outcome share no customer id; index both by customer_id")
    if joined["p_alive"].isna().any() or joined["churned"].isna().any():
        bad = joined.index[joined.isna().any(axis=1)][:5].tolist()
        raise ValueError(f"p_alive or the holdout outcome is missing for {int(joined.isna().any(axis=1).sum()):,} "
                         f"customers (e.g. {bad})")
    p = joined["p_alive"].to_numpy(float)
    if (p < 0).any() or (p > 1).any():
        raise ValueError(f"p_alive must lie in [0, 1]; got values from {p.min():g} to {p.max():g}")
    y = joined["churned"].astype(bool).to_numpy()
    th = np.asarray(sorted(thresholds), float)
    flagged = p[None, :] < th[:, None]  # thresholds x customers; a few dozen rows, vectorised
    n_flag = flagged.sum(axis=1)
    hits = (flagged & y[None, :]).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        precision = np.where(n_flag > 0, hits / n_flag, np.nan)
        recall = hits / y.sum() if y.sum() else np.full(len(th), np.nan)
    return pd.DataFrame({"threshold": th, "flagged": n_flag, "share_flagged": n_flag / len(p),
                         "precision": precision, "recall": recall, "churn_rate": y.mean()})


def tradeoff_sentence(tradeoff: pd.DataFrame, threshold: float) -> str:
    """The trade-off at one threshold in words, against the base rate a random pick would hit."""
    row = tradeoff.iloc[(tradeoff["threshold"] - threshold).abs().argmin()]
    if row["flagged"] == 0:
        return f"At P(alive) below {row['threshold']:.2f} no customer is flagged."
    return (f"Flagging customers with P(alive) below {row['threshold']:.2f} flags {int(row['flagged']):,} "
            f"({row['share_flagged']:.0%}); {row['precision']:.0%} of them did not buy in the holdout (a random "
            f"pick would hit {row['churn_rate']:.0%}), and they are {row['recall']:.0%} of all who did not buy.")


# ------------------------------------------------------------------------------------------
# The study, as the notebook runs it
# ------------------------------------------------------------------------------------------

class ChurnStudy:
    """The churn section of notebook 04 for a contract shop: lifetimes, survival curves per
    grouping, drivers. ``skipped`` is the sentence saying why there is nothing to show ('' when
    there is); every step returns None then, and the charts draw nothing."""

    def __init__(self, customers: pd.DataFrame | None, as_of: pd.Timestamp | str,
                 segments: pd.DataFrame | None = None, *, seed: int = 0, alpha: float = 0.05):
        self.customers, self.as_of, self.seed, self.alpha = customers, pd.Timestamp(as_of), seed, alpha
        self.skipped = missing_reason(customers)
        self.lifetimes = None if self.skipped else lifetimes(customers, self.as_of, segments)
        if self.lifetimes is not None and (self.lifetimes.customers < MIN_CUSTOMERS
                                           or self.lifetimes.events < MIN_EVENTS):
            self.skipped = _("Only {customers} customers with {departures} departures can be followed; survival "
                             "curves and drivers need at least {min_customers} customers and {min_events} "
                             "departures.").format(customers=number(self.lifetimes.customers),
                                                   departures=number(self.lifetimes.events),
                                                   min_customers=MIN_CUSTOMERS, min_events=MIN_EVENTS)
        self.curves: dict[str | None, SurvivalCurves] = {}
        self.drivers: CoxDrivers | None = None

    @property
    def groupings(self) -> list[str]:
        """The groupings curves are drawn for: descriptive columns and categorical attributes."""
        return [] if self.skipped else categorical_columns(self.lifetimes.table)

    def survival(self, by: str | None = None) -> SurvivalCurves | None:
        if self.skipped:
            return None
        if by not in self.curves:
            self.curves[by] = kaplan_meier(self.lifetimes, by, self.alpha)
        return self.curves[by]

    def fit_drivers(self, covariates: list[str] | None = None) -> CoxDrivers | None:
        if self.skipped:
            return None
        self.drivers = cox_drivers(self.lifetimes, covariates, alpha=self.alpha, seed=self.seed)
        return self.drivers

    def notes(self) -> list[str]:
        """Why nothing is shown (when so), then how the months were measured and who was left out."""
        return ([self.skipped] if self.skipped else []) + (self.lifetimes.notes() if self.lifetimes else [])

    def hazard_table(self) -> pd.DataFrame | None:
        """The drivers' hazard ratios as shown: term, reference, ratio, interval, p, PH test."""
        if self.drivers is None:
            return None
        return self.drivers.hazard_ratios[["term", "reference", "hazard_ratio", "lower", "upper", "p", "ph_p",
                                           "ph_holds"]]

    def driver_lines(self) -> list[str]:
        """What the drivers say, in sentences; or why there are none."""
        if self.skipped:
            return []
        if self.drivers is None:
            return [f"No driver model: it needs at least {MIN_CUSTOMERS} customers, {MIN_EVENTS} departures and an "
                    f"attribute with two groups of {MIN_LEVEL_CUSTOMERS} customers or more."]
        return self.drivers.notes() + driver_sentences(self.drivers)


def headline(study: ChurnStudy) -> dict:
    """The churn figures for metrics.json, recorded by notebook 04 under the value stage's ``churn``
    key; ``view`` says which view the data allow: 'survival', or 'none' with the reason in ``note``."""
    if study.skipped:
        return {"view": "none", "note": study.skipped}
    overall = study.survival(None).summary.iloc[0]
    retained = overall[f"retained_{RETAINED_AT_MONTHS}m"]
    figures = {"view": "survival", "source": study.lifetimes.source, "interval_level": round((1 - study.alpha) * 100),
               "customers": study.lifetimes.customers, "departures": study.lifetimes.events,
               "median_tenure_months": None if np.isnan(overall["median_months"]) else
               round(float(overall["median_months"]), 2),
               "retained_at_months": RETAINED_AT_MONTHS,
               "retained": None if np.isnan(retained) else round(float(retained), 4)}
    if study.drivers is not None:
        t = study.drivers.hazard_ratios
        clear = t[(t["lower"] > 1) | (t["upper"] < 1)]
        if len(clear):
            top = clear.loc[np.abs(np.log(clear["hazard_ratio"])).idxmax()]
            figures["top_driver"] = {"term": str(top["term"]), "reference": str(top["reference"]),
                                     "hazard_ratio": round(float(top["hazard_ratio"]), 3),
                                     "lower": round(float(top["lower"]), 3), "upper": round(float(top["upper"]), 3)}
        figures["ph_failures"] = study.drivers.ph_failures
    return figures


#: The kit's own words in the drivers' terms ('region = North', 'birth year (per SD)'): the grouping
#: columns' names and the pooled levels, shown through ``_()``; an export's attributes and levels
#: stay as the data write them.
TERM_WORDS = {"region": N_("region"), "channel": N_("channel"), "gender": N_("gender"), "segment": N_("segment"),
              "birth year": N_("birth year")}
LEVEL_WORDS = {OTHER: N_("other"), "unknown": N_("unknown"), "no segment": N_("no segment")}
PER_SD = " (per SD)"


def shown_term(term: str) -> str:
    """A recorded driver term or reference level in the current language: the kit's words
    (TERM_WORDS, LEVEL_WORDS) translated, the data's as they are."""
    if term.endswith(PER_SD):
        name = term.removesuffix(PER_SD)
        return _("{attribute} (per SD)").format(attribute=_(name) if name in TERM_WORDS else name)
    name, sep, level = term.partition(" = ")
    if not sep:
        return _(term) if term in LEVEL_WORDS else term
    return f"{_(name) if name in TERM_WORDS else name} = {_(level) if level in LEVEL_WORDS else level}"


def report_sentences(figures: dict | None) -> list[str]:
    """The monthly report's churn lines from the recorded figures only (the report never recomputes),
    in the current language."""
    if not figures:
        return []
    if figures.get("view") != "survival":
        return [figures["note"]] if figures.get("note") else []
    out = [_("{customers} contract customers followed, {departures} of whom left.").format(
        customers=number(figures["customers"]), departures=number(figures["departures"]))]
    med, kept = figures.get("median_tenure_months"), figures.get("retained")
    if med is not None:
        out.append(_("Half of all customers leave within {months} months of signing up (Kaplan-Meier median).").format(
            months=number(med, 1)))
    else:
        out.append(_("Over half of all customers are still with us at the longest tenure seen (median not reached)."))
    if kept is not None:
        out.append(_("{share} are still customers {months} months after signing up.").format(
            share=percent(kept, 0), months=figures["retained_at_months"]))
    top = figures.get("top_driver")
    if top:
        against = _("the mean") if top["reference"] == "mean" else shown_term(top["reference"])
        out.append(_("Strongest driver of leaving: {term} (against {reference}), {ratio}x the hazard ({level}% "
                     "interval {lower}-{upper}).").format(term=shown_term(top["term"]), reference=against,
                                                 ratio=number(top["hazard_ratio"], 2), level=figures["interval_level"],
                                                 lower=number(top["lower"], 2), upper=number(top["upper"], 2)))
    if figures.get("ph_failures"):
        out.append(_("Proportional hazards fail for {terms}: those ratios are averages over tenure.").format(
            terms=_(", ").join(map(shown_term, figures["ph_failures"]))))
    return out
