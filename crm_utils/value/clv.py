"""Customer lifetime value for shops without contracts: BG/NBD for purchases, Gamma-Gamma for spend.

In a shop without subscriptions nobody announces that they have left: a customer who has not
bought for a while may be gone or just between purchases. BG/NBD (Fader, Hardie & Lee 2005,
:mod:`crm_utils.needs.bgnbd`, reused here) reads each customer's repeat purchases, the age of the
last one and the customer's age, and gives the expected purchases in any future period and the
probability that the customer is still "alive". Gamma-Gamma (Fader & Hardie 2013) gives the
expected value of a future order: each customer's mean order value shrunk towards the shop's,
the more so the fewer orders it rests on. Their product, month by month and discounted, is the
customer lifetime value (CLV) over ``horizon_months``:

    CLV_i = sum_{m=1..H} E[purchases of i in month m] * E[order value of i] / (1 + d)^(m/12)

with ``d`` the annual discount rate (computed by PyMC-Marketing's ``customer_lifetime_value``, in
30-day months, with the equivalent monthly rate).

**Fitting.** Both models are fitted with PyMC-Marketing by maximum a posteriori (MAP): the
optimum of the likelihood times PyMC-Marketing's default priors (weakly informative for BG/NBD,
flat for Gamma-Gamma, where MAP is maximum likelihood). It is deterministic, takes seconds where
sampling takes minutes, and point predictions are what a monthly run ranks customers by. The
price is that the figures carry no posterior interval; the holdout evaluation
(:mod:`crm_utils.value.evaluation`) is what says how far to trust them.

**Assumptions said out loud.** Gamma-Gamma assumes a customer's order value does not depend on
how often they buy: :func:`gamma_gamma_check` measures the correlation among repeat buyers, and
the notebook says so when it is too strong. Spend is what was bought (order lines that are not
returns): returns are counted by the cleaning stage, not netted here, since a refund is not a
smaller order. Time is in days, orders are counted as in :mod:`crm_utils.customers.features`
(distinct order ids), and guest lines (no customer id) belong to no customer and are left out.

**Repeat purchases needed.** Both models learn from repeat purchases. When almost every customer
bought once (:data:`MIN_REPEAT_SHARE`) or too few bought twice to fit Gamma-Gamma
(:data:`MIN_REPEAT_BUYERS`), :class:`CustomerValueModel` does not fit and says why
(``skip_note``); the value table then holds the purchase history only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats
from sklearn.base import BaseEstimator

from crm_utils.config import month_end
from crm_utils.customers.features import guest_mask
from crm_utils.i18n import _
from crm_utils.needs.bgnbd import BGNBD, _quiet
from crm_utils.notebook import number, percent

#: Below this share of customers with a repeat purchase the data say almost nothing about how often
#: customers come back or when they leave: "repeat-purchase models need repeat purchases". A tenth
#: is far below the shops these models were built on (about 40% of CDNOW's cohort bought again in
#: its 39-week calibration period), so a shop under it is a one-purchase shop for this purpose.
MIN_REPEAT_SHARE = 0.10
#: Gamma-Gamma learns from repeat buyers only (three parameters of the spread of their mean order
#: values); under this many its estimates move with a handful of customers.
MIN_REPEAT_BUYERS = 50
#: |Pearson r| between frequency and mean order value among repeat buyers above which Gamma-Gamma's
#: independence assumption is reported as failed: 0.3 is the usual line between a weak and a
#: moderate correlation, and below it the bias in expected spend is small against its spread.
MAX_SPEND_FREQUENCY_CORRELATION = 0.3
#: Customers the models learn from at most, by default (a seeded sample beyond it): seven
#: parameters' standard errors shrink with the square root of the customers and are already far
#: below their differences between shops at this size, while a million customers' MAP fit takes
#: minutes (benchmarks/RESULTS.md).
MAX_FIT_CUSTOMERS = 100_000
#: PyMC-Marketing's customer_lifetime_value counts a month as 30 days; expected purchases over the
#: horizon use the same month, so that the two columns agree.
DAYS_PER_MONTH = 30
#: Value tiers: (name, share of customers) from the highest CLV down; the shares sum to 1. The top
#: tenth and the next fifth are where a retention budget goes first (value is concentrated there).
VALUE_TIERS: tuple[tuple[str, float], ...] = (("top 10%", 0.10), ("next 20%", 0.20), ("middle 40%", 0.40),
                                              ("bottom 30%", 0.30))

SUMMARY_COLUMNS = ["frequency", "recency", "T", "monetary_value", "orders", "total_spend", "first_purchase",
                   "last_purchase"]
VALUE_COLUMNS = ["customer_id", "expected_purchases", "expected_purchases_next_month", "expected_spend", "clv",
                 "p_alive",
                 "p_churn", "value_at_risk", "value_tier", "frequency", "recency", "T", "monetary_value", "orders",
                 "total_spend", "first_purchase", "last_purchase"]


def rfm_summary(orders: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Per customer who bought by ``cutoff``: the models' summary, indexed by ``customer_id``.

    ``frequency`` repeat purchases (orders after the first), ``recency`` days from the first to the
    last purchase, ``T`` days from the first purchase to the cutoff, ``monetary_value`` the mean
    value of the repeat orders (0 without one, as Gamma-Gamma reads it), and, for people,
    ``orders``, ``total_spend`` (all purchases) and the dates of the first and last purchase.
    ``orders`` is the cleaned order-line table of notebook 01; later rows and returns are ignored.
    """
    cutoff = pd.Timestamp(cutoff)
    for col in ("order_id", "customer_id", "order_date", "line_revenue", "is_return"):
        if col not in orders.columns:
            raise ValueError(f"orders lack column {col!r} (have {list(orders.columns)[:10]}): "
                             f"pass the cleaned orders of notebook 01")
    rows = ((orders["order_date"] <= cutoff).to_numpy() & ~orders["is_return"].to_numpy(dtype=bool)
            & ~guest_mask(orders))
    lines = pd.DataFrame({"customer_id": orders["customer_id"].to_numpy()[rows],
                          "order_id": orders["order_id"].to_numpy()[rows],
                          "order_date": orders["order_date"].to_numpy()[rows],
                          "revenue": orders["line_revenue"].to_numpy(dtype=float)[rows]})
    if lines.empty:
        return pd.DataFrame(columns=SUMMARY_COLUMNS, index=pd.Index([], name="customer_id", dtype="string"))
    per_order = lines.groupby(["customer_id", "order_id"], sort=False, observed=True).agg(
        date=("order_date", "min"), value=("revenue", "sum")).reset_index()
    per_order = per_order.sort_values(["customer_id", "date", "order_id"], kind="stable")
    g = per_order.groupby("customer_id", sort=True, observed=True)
    out = g.agg(orders=("value", "size"), total_spend=("value", "sum"), first_purchase=("date", "min"),
                last_purchase=("date", "max"), first_value=("value", "first"))
    day = np.timedelta64(1, "D")
    out["frequency"] = (out["orders"] - 1).astype(float)
    out["recency"] = (out["last_purchase"] - out["first_purchase"]) / day
    out["T"] = (cutoff - out["first_purchase"]) / day
    repeat_spend = out["total_spend"] - out["first_value"]
    out["monetary_value"] = np.where(out["frequency"] > 0, repeat_spend / out["frequency"].clip(lower=1), 0.0)
    out.index = pd.Index(out.index.astype(str), name="customer_id", dtype="string")
    return out[SUMMARY_COLUMNS]


def as_bgnbd_features(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary in the form :class:`crm_utils.needs.bgnbd.BGNBD` reads (orders, days since the
    last purchase, days since the first), so the needs stage's BG/NBD is reused as it is."""
    return pd.DataFrame({"frequency": summary["frequency"].to_numpy(float) + 1.0,
                         "recency_days": summary["T"].to_numpy(float) - summary["recency"].to_numpy(float),
                         "tenure_days": summary["T"].to_numpy(float)}, index=summary.index)


def repeat_buyers(summary: pd.DataFrame) -> pd.DataFrame:
    """Customers with a repeat purchase of positive value: those Gamma-Gamma learns from."""
    return summary[(summary["frequency"] > 0) & (summary["monetary_value"] > 0)]


def gamma_gamma_check(summary: pd.DataFrame) -> dict:
    """Gamma-Gamma's assumption on the data: is a customer's mean order value independent of how
    often they buy? Pearson r (and its p-value) between frequency and mean repeat-order value among
    repeat buyers; ``holds`` is False when |r| exceeds :data:`MAX_SPEND_FREQUENCY_CORRELATION`,
    None when fewer than three repeat buyers leave nothing to measure."""
    rb = repeat_buyers(summary)
    if len(rb) < 3 or rb["frequency"].nunique() < 2 or rb["monetary_value"].nunique() < 2:
        return {"repeat_buyers": int(len(rb)), "correlation": None, "p_value": None, "holds": None,
                "threshold": MAX_SPEND_FREQUENCY_CORRELATION}
    r, p = stats.pearsonr(rb["frequency"].to_numpy(float), rb["monetary_value"].to_numpy(float))
    return {"repeat_buyers": int(len(rb)), "correlation": float(r), "p_value": float(p),
            "holds": bool(abs(r) <= MAX_SPEND_FREQUENCY_CORRELATION), "threshold": MAX_SPEND_FREQUENCY_CORRELATION}


def gamma_gamma_note(check: dict) -> str:
    """One sentence when Gamma-Gamma's assumption fails on the data ('' when it holds), in the
    current language (the report shows it)."""
    if check.get("holds") is None:
        return _("Too few repeat buyers to check Gamma-Gamma's assumption (spend independent of frequency).")
    if check["holds"]:
        return ""
    message = (_("Gamma-Gamma's assumption fails on these data: among {buyers} repeat buyers, those who buy more "
                 "often spend more per order (Pearson r = {r}, beyond ±{threshold}). Expected spend, and so CLV, is "
                 "then biased: too low for frequent buyers and too high for rare ones; read the ranking, not the "
                 "amounts.") if check["correlation"] > 0 else
               _("Gamma-Gamma's assumption fails on these data: among {buyers} repeat buyers, those who buy more "
                 "often spend less per order (Pearson r = {r}, beyond ±{threshold}). Expected spend, and so CLV, is "
                 "then biased: too high for frequent buyers and too low for rare ones; read the ranking, not the "
                 "amounts."))
    return message.format(buyers=number(check["repeat_buyers"]), r=number(check["correlation"], 2),
                          threshold=check["threshold"])


def repeat_share(summary: pd.DataFrame) -> float:
    """Share of customers with at least one repeat purchase."""
    return float((summary["frequency"] > 0).mean()) if len(summary) else float("nan")


def sample_note(sample: int, customers: int) -> str:
    """The sentence saying the models learned from a seeded sample of the customers (max_fit_customers)."""
    return _("The models learned from a seeded random sample of {sample} of the {customers} customers "
             "(max_fit_customers) and predict for all of them.").format(sample=number(sample),
                                                                        customers=number(customers))


def skip_reason(summary: pd.DataFrame) -> str:
    """Why the value models cannot be fitted on ``summary`` ('' when they can)."""
    if len(summary) == 0:
        return _("No customer bought by the cutoff: there is nobody to value.")
    share, repeaters = repeat_share(summary), len(repeat_buyers(summary))
    if share < MIN_REPEAT_SHARE or repeaters < MIN_REPEAT_BUYERS:
        return _("Repeat-purchase models need repeat purchases: only {share} of {customers} customers ({repeaters}) "
                 "bought more than once (the models need at least {min_share} and {min_buyers} customers). Lifetime "
                 "value, expected purchases and P(alive) are not estimated; the table holds each customer's purchase "
                 "history only.").format(share=percent(share), customers=number(len(summary)),
                                         repeaters=number(repeaters), min_share=percent(MIN_REPEAT_SHARE, 0),
                                         min_buyers=MIN_REPEAT_BUYERS)
    return ""


class GammaGamma(BaseEstimator):
    """Gamma-Gamma spend model fitted by MAP (flat priors: maximum likelihood) with PyMC-Marketing."""

    def fit(self, summary: pd.DataFrame) -> "GammaGamma":
        rb = repeat_buyers(summary)
        if len(rb) < 3:
            raise ValueError(f"Gamma-Gamma needs repeat buyers, got {len(rb)}")
        with _quiet():
            from pymc_marketing.clv import GammaGammaModel

            data = pd.DataFrame({"customer_id": np.arange(len(rb)), "frequency": rb["frequency"].to_numpy(float),
                                 "monetary_value": rb["monetary_value"].to_numpy(float)})
            model = GammaGammaModel()
            model.fit(data=data, method="map", progressbar=False)
        summary_ = model.fit_summary()
        self.params_ = {k: float(summary_[k]) for k in ("p", "q", "v")}
        self.n_customers_ = len(rb)
        return self

    def expected_spend(self, summary: pd.DataFrame) -> np.ndarray:
        """Expected value of a future order per customer (Fader & Hardie 2013, eq. 5): the
        customer's mean repeat-order value weighted against the shop's mean by their repeat orders.
        Computed from the fitted parameters with numpy (the library's formula), so a million
        customers cost milliseconds."""
        p, q, v = (self.params_[k] for k in ("p", "q", "v"))
        x = summary["frequency"].to_numpy(float)
        m = summary["monetary_value"].to_numpy(float)
        weight = p * x / (p * x + q - 1)
        return (1 - weight) * (v * p / (q - 1)) + weight * m

    @property
    def population_mean(self) -> float:
        """The mean order value of a new customer, v p / (q - 1) (infinite when q <= 1)."""
        p, q, v = (self.params_[k] for k in ("p", "q", "v"))
        return v * p / (q - 1) if q > 1 else float("inf")


class CustomerValueModel(BaseEstimator):
    """BG/NBD + Gamma-Gamma: per customer expected purchases, spend, CLV and P(alive).

    Parameters
    ----------
    horizon_months : the CLV horizon (months of 30 days).
    discount_rate : annual discount rate of future spend (0.1 = 10% a year).
    max_fit_customers : with more customers, both models learn from a seeded random sample of this
        many (0: from all) and predict for everyone. Seven parameters are pinned down long before
        :data:`MAX_FIT_CUSTOMERS` customers, while the fit's time grows with every one
        (benchmarks/RESULTS.md: a million customers).
    seed : seeds that sample.
    """

    def __init__(self, horizon_months: int = 12, discount_rate: float = 0.10,
                 max_fit_customers: int = MAX_FIT_CUSTOMERS, seed: int = 42):
        self.horizon_months = horizon_months
        self.discount_rate = discount_rate
        self.max_fit_customers = max_fit_customers
        self.seed = seed

    def fit(self, summary: pd.DataFrame, spend: bool = True) -> "CustomerValueModel":
        """Fit both models on ``summary`` (:func:`rfm_summary`); when the data cannot carry them
        (:func:`skip_reason`), fit nothing and keep the reason in ``skip_note``.

        ``spend=False`` fits BG/NBD alone, on the same customers: expected purchases and P(alive)
        are those of the full fit, while spend, CLV and the value table are not available. For a
        caller that needs purchases only (monitoring's refit at last month's end), at less cost."""
        if not (isinstance(self.horizon_months, (int, np.integer)) and self.horizon_months >= 1):
            raise ValueError(f"horizon_months must be a whole number of at least 1, got {self.horizon_months!r}")
        if not (0 <= float(self.discount_rate) < 1):
            raise ValueError(f"discount_rate is an annual rate between 0 and 1 (0.1 = 10%), got {self.discount_rate!r}")
        self.skip_note = skip_reason(summary)
        self.check_ = gamma_gamma_check(summary)
        self.n_customers_ = len(summary)
        self.repeat_share_ = repeat_share(summary)
        self.bgnbd_ = self.spend_ = None
        self.fit_note = ""
        if self.skip_note:
            return self
        learn = summary
        if self.max_fit_customers and len(summary) > self.max_fit_customers:
            learn = summary.sample(self.max_fit_customers, random_state=self.seed)
            self.fit_note = sample_note(len(learn), len(summary))
        self.bgnbd_ = BGNBD(horizon_days=DAYS_PER_MONTH * self.horizon_months).fit(as_bgnbd_features(learn))
        self.spend_ = GammaGamma().fit(learn) if spend else None
        return self

    @property
    def skipped(self) -> bool:
        return bool(self.skip_note)

    @property
    def params_(self) -> dict | None:
        """The fitted parameters of both models (None when skipped: nothing to show)."""
        if self.skipped:
            return None
        self._spend_fitted()
        return {**self.bgnbd_.params_, **self.spend_.params_}

    def expected_purchases(self, summary: pd.DataFrame, days: float) -> np.ndarray:
        """Expected purchases of each customer in the ``days`` after the summary's cutoff."""
        self._fitted()
        return self.bgnbd_.expected_purchases_in(as_bgnbd_features(summary), days)

    def p_alive(self, summary: pd.DataFrame) -> np.ndarray:
        self._fitted()
        return self.bgnbd_.probability_alive(as_bgnbd_features(summary))

    def clv(self, summary: pd.DataFrame, spend: np.ndarray | None = None) -> np.ndarray:
        """Discounted expected spend over ``horizon_months`` (PyMC-Marketing's customer_lifetime_value)."""
        self._spend_fitted()
        if len(summary) == 0:
            return np.zeros(0)
        spend = self.spend_.expected_spend(summary) if spend is None else spend
        monthly = (1 + float(self.discount_rate)) ** (1 / 12) - 1
        with _quiet():
            from pymc_marketing.clv import customer_lifetime_value

            data = pd.DataFrame({"customer_id": np.arange(len(summary)),
                                 "frequency": summary["frequency"].to_numpy(float),
                                 "recency": summary["recency"].to_numpy(float), "T": summary["T"].to_numpy(float),
                                 "future_spend": spend})
            out = customer_lifetime_value(self.bgnbd_._model(), data, future_t=self.horizon_months,
                                          discount_rate=monthly, time_unit="D")
        return np.asarray(out, dtype=float).reshape(-1)

    def predict(self, summary: pd.DataFrame, next_month_days: float = DAYS_PER_MONTH) -> pd.DataFrame:
        """The value table: one row per customer of ``summary`` with the columns of ``VALUE_COLUMNS``.

        ``expected_purchases_next_month`` covers the ``next_month_days`` after the cutoff (the days
        of the calendar month after it, from :func:`customer_value`): next month's run checks it.

        Skipped (too few repeat purchases), the model columns are missing (NaN), never zeros.
        """
        out = pd.DataFrame({"customer_id": pd.array(summary.index.astype(str), dtype="string")})
        n = len(summary)
        if self.skipped:
            for col in ("expected_purchases", "expected_purchases_next_month", "expected_spend", "clv", "p_alive",
                        "p_churn", "value_at_risk"):
                out[col] = np.full(n, np.nan)
            out["value_tier"] = pd.array([pd.NA] * n, dtype="string")
        else:
            self._spend_fitted()
            out["expected_purchases"] = self.expected_purchases(summary, DAYS_PER_MONTH * self.horizon_months)
            out["expected_purchases_next_month"] = self.expected_purchases(summary, next_month_days)
            out["expected_spend"] = self.spend_.expected_spend(summary)
            out["clv"] = self.clv(summary, out["expected_spend"].to_numpy())
            out["p_alive"] = self.p_alive(summary)
            out["p_churn"] = 1.0 - out["p_alive"]
            out["value_at_risk"] = out["clv"] * out["p_churn"]
            out["value_tier"] = value_tiers(out["clv"])
        for col in SUMMARY_COLUMNS:
            out[col] = summary[col].to_numpy()
        return out[VALUE_COLUMNS]

    def _fitted(self) -> None:
        if getattr(self, "bgnbd_", None) is None:
            raise RuntimeError("the value model is not fitted" + (f": {self.skip_note}" if self.skip_note else ""))

    def _spend_fitted(self) -> None:
        self._fitted()
        if self.spend_ is None:
            raise RuntimeError("the value model was fitted with spend=False: no spend model, so no spend or CLV")


def value_tiers(clv: pd.Series | np.ndarray) -> pd.Series:
    """Each customer's :data:`VALUE_TIERS` tier by CLV rank (ties broken by position, so the tiers
    hold their shares of customers exactly)."""
    values = np.asarray(clv, dtype=float)
    n = len(values)
    order = np.argsort(-values, kind="stable")
    rank = np.empty(n, dtype=float)
    rank[order] = np.arange(n)
    bounds = np.round(np.cumsum([share for _, share in VALUE_TIERS]) * n)  # round: 0.1 + 0.2 is 0.30000000000000004
    idx = np.searchsorted(bounds, rank, side="right").clip(max=len(VALUE_TIERS) - 1)
    names = np.array([name for name, _ in VALUE_TIERS], dtype=object)
    return pd.Series(pd.array(names[idx], dtype="string"))


def customer_value(orders: pd.DataFrame, cutoff: pd.Timestamp, horizon_months: int = 12,
                   discount_rate: float = 0.10, max_fit_customers: int = MAX_FIT_CUSTOMERS,
                   seed: int = 42) -> tuple[pd.DataFrame, CustomerValueModel]:
    """The value table of every customer who bought by ``cutoff`` and the model that made it.

    Reads orders alone: no customers table is needed (the first purchase makes the customer).
    """
    cutoff = pd.Timestamp(cutoff)
    summary = rfm_summary(orders, cutoff)
    model = CustomerValueModel(horizon_months, discount_rate, max_fit_customers, seed).fit(summary)
    return model.predict(summary, next_month_days(cutoff)), model


def next_month_days(cutoff: pd.Timestamp) -> float:
    """Days from ``cutoff`` to the end of the following calendar month (what next month's run checks)."""
    cutoff = pd.Timestamp(cutoff)
    return (month_end(cutoff.to_period("M") + 1) - cutoff) / pd.Timedelta(days=1)
