"""Purchase propensity: the probability that a customer buys in the 30 days after a cutoff.

The model may only learn from the past, so the examples are built the way the future will
arrive (a *time split*):

* every cutoff is a month end ``t``; an example is a customer active at ``t`` (bought within
  ``active_days`` before it), described by :func:`crm_utils.customers.features.customer_features` as of
  ``t`` (which ignores every later row), labelled 1 when the customer buys in ``(t, t + 30 days]``;
* the **test** cutoff is the latest whose label window lies inside the data (ends by the report
  month's end); the **validation** cutoff the latest whose window ends by the test cutoff;
  the **training** cutoffs the ``n_train`` latest whose windows end by the validation cutoff.
  Candidates are compared and chosen on validation; the test set is looked at once, to report;
* the chosen model is then refitted on the ``n_train`` latest cutoffs whose windows end by the
  test cutoff, and calibrated on the test cutoff, the latest labelled window: the probabilities
  that add up to next month's expected buyers are fitted to the newest month whose outcome is
  known (:class:`WindowCalibrator`), and shifted by the calendar's effect on the purchase rate
  when the data hold the same months a year earlier (:func:`seasonal_factor`). It scores every
  active customer as of the report month's end. The same procedure one month earlier (the
  selection model calibrated on the validation cutoff) predicts the test month, so the sum of its
  probabilities against the test month's buyers checks the shipped procedure on a held-out month
  (:func:`buyers_check`).

Without a trained model, BG/NBD's probabilities stand in only when they pass the same check on
the latest held-out window; otherwise purchase prediction is declared not possible for the shop.

BG/NBD (:mod:`crm_utils.needs.bgnbd`) enters twice: as a baseline refitted at each evaluation cutoff,
and as two features (expected purchases, probability alive) whose parameters are fitted once at
the earliest training cutoff, so no example's features use data from after its cutoff.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin, clone
from sklearn.ensemble import HistGradientBoostingClassifier, RandomForestClassifier
from sklearn.inspection import permutation_importance
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from sklearn.naive_bayes import GaussianNB
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler
from scipy.optimize import brentq
from scipy.special import expit, logit
from sklearn.tree import DecisionTreeClassifier
from threadpoolctl import threadpool_limits

from crm_utils.config import month_end, parse_month
from crm_utils.coverage import data_end
from crm_utils.customers.features import SKEWED, customer_features, with_signup
from crm_utils.i18n import N_, _
from crm_utils.needs.bgnbd import BGNBD
from crm_utils.notebook import date, number, percent

#: The example sets a skip reason names, for the catalogue.
SET_NAMES = (N_("train"), N_("validation"), N_("test"))

HORIZON_DAYS = 30
ACTIVE_DAYS = 365
#: A cutoff needs this much order history before it for its features to mean something.
MIN_HISTORY_DAYS = 90
#: Fewest training cutoffs, and fewest buyers and non-buyers in every set, to train at all.
MIN_TRAIN_CUTOFFS = 2
MIN_CLASS_EXAMPLES = 20
#: Columns logged before a model sees them: the skewed features and BG/NBD's expected purchases.
LOGGED = (*SKEWED, "bgnbd_expected_purchases")
#: How far the expected number of buyers (the sum of p_purchase) may stray from the realised number
#: on a held-out month, as a share of the realised number: the promise of issue 19 ("within 10%"). A
#: BG/NBD fallback outside it is not shipped.
BUYERS_TOLERANCE = 0.10
#: z of the two-sided 95% interval of the number of buyers the probabilities imply (normal
#: approximation of the Poisson-binomial sum): how far chance alone moves the realised number.
INTERVAL_Z = 1.96


def single_threaded(method):
    """Run a fitting or scoring step on one thread: on tens of thousands of rows, the OpenMP threads
    of gradient boosting on a shared machine wait more than they work (measured on 2 busy cores:
    permutation importance 81 s with all threads, 4.7 s with one)."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        with threadpool_limits(limits=1):
            return method(*args, **kwargs)
    return wrapper


#: Rows from which a prediction is worth every core: gradient boosting predicting 7.6 million
#: (customer, category) pairs took 27 s on one thread and 14 s on two (benchmarks/bench_prediction.py).
PARALLEL_ROWS = 1_000_000


def prediction_threads(rows: int) -> int:
    """Threads for predicting ``rows`` rows: one below ``PARALLEL_ROWS`` (see ``single_threaded``),
    every core above it."""
    return (os.cpu_count() or 1) if rows >= PARALLEL_ROWS else 1


# ------------------------------------------------------------------------------------------
# Cutoffs
# ------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CutoffPlan:
    """Which month ends serve as training, validation, test and scoring cutoffs."""

    scoring: pd.Timestamp
    test: pd.Timestamp | None
    validation: pd.Timestamp | None
    selection_train: tuple[pd.Timestamp, ...]  # windows end by the validation cutoff
    final_train: tuple[pd.Timestamp, ...]  # windows end by the scoring cutoff
    purchase_train: tuple[pd.Timestamp, ...] = ()  # windows end by the test cutoff, the calibration window
    horizon_days: int = HORIZON_DAYS
    reason: str = ""  # why there is too little history to train, "" when there is enough

    @property
    def enough(self) -> bool:
        return not self.reason

    @property
    def earliest(self) -> pd.Timestamp:
        """The first cutoff any model learns from: where fitted feature transforms are fitted."""
        return min((*self.selection_train, *self.final_train), default=self.scoring)

    def window(self, cutoff: pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        return cutoff, cutoff + pd.Timedelta(days=self.horizon_days)

    def table(self) -> pd.DataFrame:
        """One row per cutoff and role, with its label window."""
        rows = [("training (model choice)", c) for c in self.selection_train]
        rows += [("validation", self.validation), ("test", self.test)]
        rows += [("training (final model)", c) for c in self.final_train]
        rows += [("training (final purchase model)", c) for c in self.purchase_train]
        rows += [("scoring", self.scoring)]
        out = [{"role": r, "cutoff": c, "label_window_end": (self.window(c)[1] if r != "scoring" else pd.NaT)}
               for r, c in rows if c is not None]
        return pd.DataFrame(out)


def plan_cutoffs(report_month: str, first_date: pd.Timestamp, n_train: int = 6,
                 horizon_days: int = HORIZON_DAYS, min_history_days: int = MIN_HISTORY_DAYS,
                 data_end: pd.Timestamp | None = None) -> CutoffPlan:
    """Month-end cutoffs for a report month (see the module docstring for the rules).

    ``first_date`` is the first order date in the data; cutoffs closer to it than
    ``min_history_days`` are not used. ``data_end``: the last day the data cover, when they stop
    inside the report month (a partial month): a label window must end by then, or its buyers
    would be counted from a window the data do not fill.
    """
    scoring = month_end(report_month)
    known = scoring if data_end is None else min(
        scoring, pd.Timestamp(data_end).normalize() + pd.Timedelta(days=1) - pd.Timedelta(seconds=1))
    horizon = pd.Timedelta(days=horizon_days)
    earliest_ok = pd.Timestamp(first_date) + pd.Timedelta(days=min_history_days)
    ends, p = [], parse_month(report_month) - 1
    while p.end_time >= earliest_ok:
        ends.append(month_end(p))
        p -= 1

    def closed_by(limit: pd.Timestamp | None) -> list[pd.Timestamp]:
        return [] if limit is None else [c for c in ends if c + horizon <= limit]

    test = next(iter(closed_by(known)), None)
    validation = next(iter(closed_by(test)), None)
    selection = tuple(closed_by(validation)[:n_train])
    final = tuple(closed_by(known)[:n_train])
    purchase = tuple(closed_by(test)[:n_train])
    reason = ""
    if test is None or validation is None or len(selection) < MIN_TRAIN_CUTOFFS:
        have = len(ends)
        reason = _("the data hold {have} usable month-end cutoff(s) (each needs {days} days of history and a "
                   "{horizon}-day label window inside the data); a test, a validation and {train} training cutoffs "
                   "need {need}").format(have=have, days=min_history_days, horizon=horizon_days,
                                         train=MIN_TRAIN_CUTOFFS, need=MIN_TRAIN_CUTOFFS + 2)
    return CutoffPlan(scoring, test, validation, selection, final, purchase, horizon_days, reason)


# ------------------------------------------------------------------------------------------
# Examples
# ------------------------------------------------------------------------------------------

def buyers_between(orders: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Index:
    """Customers with at least one purchased (non-return) line dated in ``(start, end]``."""
    d = orders["order_date"]
    hit = orders.loc[(d > start) & (d <= end) & ~orders["is_return"], "customer_id"]
    return pd.Index(hit.unique())


def customer_examples(orders: pd.DataFrame, cutoff: pd.Timestamp, *, interactions: pd.DataFrame | None = None,
                      customers: pd.DataFrame | None = None, categories: list[str] | None = None,
                      bgnbd: BGNBD | None = None, active_days: int = ACTIVE_DAYS,
                      horizon_days: int | None = HORIZON_DAYS,
                      price_medians: dict[str, float] | None = None) -> tuple[pd.DataFrame, pd.Series | None]:
    """Features of the customers active at ``cutoff`` and, unless ``horizon_days`` is None, their labels.

    Features come from ``customer_features`` (nothing after the cutoff is read), plus BG/NBD's
    expected purchases and probability alive when a fitted ``bgnbd`` is given (computed before
    ``with_signup`` replaces the first-purchase tenure that BG/NBD needs). The label reads the
    ``horizon_days`` after the cutoff and nothing else.
    """
    f = customer_features(orders, cutoff, interactions, categories=categories, price_medians=price_medians)
    f = f[f["recency_days"] <= active_days]
    if bgnbd is not None:
        f = f.assign(bgnbd_expected_purchases=bgnbd.expected_purchases(f), bgnbd_p_alive=bgnbd.probability_alive(f))
    f = with_signup(f, customers, cutoff)
    if horizon_days is None:
        return f, None
    bought = buyers_between(orders, cutoff, cutoff + pd.Timedelta(days=horizon_days))
    return f, pd.Series(f.index.isin(bought), index=f.index, name="bought")


def example_set(orders: pd.DataFrame, cutoffs: tuple[pd.Timestamp, ...] | list[pd.Timestamp],
                **kwargs) -> tuple[pd.DataFrame, pd.Series]:
    """Examples of several cutoffs stacked, indexed by (cutoff, customer_id)."""
    parts = [customer_examples(orders, c, **kwargs) for c in cutoffs]
    keys = list(cutoffs)
    X = pd.concat([p[0] for p in parts], keys=keys, names=["cutoff", "customer_id"])
    y = pd.concat([p[1] for p in parts], keys=keys, names=["cutoff", "customer_id"])
    return X, y


# ------------------------------------------------------------------------------------------
# Candidates and baselines
# ------------------------------------------------------------------------------------------

class LogSkewed(BaseEstimator, TransformerMixin):
    """``log1p`` of the skewed money and count columns, so a few big customers do not dominate."""

    def __init__(self, columns: tuple[str, ...] = LOGGED):
        self.columns = columns

    def fit(self, X: pd.DataFrame, y=None) -> "LogSkewed":
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.columns_ = [c for c in self.columns if c in X.columns]
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        out = X[list(self.feature_names_in_)].astype(float)
        out[self.columns_] = np.log1p(out[self.columns_].clip(lower=0))
        return out

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        return self.feature_names_in_


def candidate_models(seed: int = 42) -> dict[str, Pipeline]:
    """The five candidates, each a Pipeline from the feature table to a probability.

    Settings are common defaults chosen before looking at any result (trees kept shallow or
    leaves kept large so that a few thousand examples are not memorised; the forest's trees each
    see a 30% sample, which keeps its fit to seconds); the comparison on the validation cutoff,
    not tuning, decides.
    """
    scaled = lambda model: Pipeline([("log", LogSkewed()), ("scale", StandardScaler()), ("model", model)])  # noqa: E731
    return {
        "logistic regression": scaled(LogisticRegression(max_iter=2000)),
        "decision tree": Pipeline([("log", LogSkewed()), ("model", DecisionTreeClassifier(
            max_depth=6, min_samples_leaf=50, random_state=seed))]),
        "random forest": Pipeline([("log", LogSkewed()), ("model", RandomForestClassifier(
            n_estimators=100, min_samples_leaf=50, max_samples=0.3, random_state=seed))]),
        "gradient boosting": Pipeline([("log", LogSkewed()), ("model", HistGradientBoostingClassifier(
            early_stopping=False, random_state=seed))]),
        "naive Bayes": scaled(GaussianNB()),
    }


def rule_scores(X: pd.DataFrame) -> dict[str, np.ndarray]:
    """The one-feature rules: rank by recency (recent first) or by frequency (most orders first)."""
    return {"recency rule": -X["recency_days"].to_numpy(float), "frequency rule": X["frequency"].to_numpy(float)}


def ranking_metrics(y: pd.Series | np.ndarray, scores: dict[str, np.ndarray]) -> pd.DataFrame:
    """ROC-AUC and PR-AUC (average precision) of each score; the base rate is PR-AUC's floor."""
    y = np.asarray(y, dtype=bool)
    rows = [{"model": k, "roc_auc": roc_auc_score(y, s), "pr_auc": average_precision_score(y, s)}
            for k, s in scores.items()]
    return pd.DataFrame(rows).set_index("model")


def gains_table(y: pd.Series | np.ndarray, score: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Customers ranked by score and cut into deciles (1 = highest scores).

    ``hit_rate`` is the share of buyers in the decile, ``lift`` that rate over the overall rate,
    and ``gain`` the share of all buyers found in the deciles up to this one.
    """
    y = np.asarray(y, dtype=float)
    order = np.argsort(-np.asarray(score, float), kind="stable")
    decile = np.empty(len(y), int)
    decile[order] = np.arange(len(y)) * bins // max(len(y), 1) + 1
    t = pd.DataFrame({"decile": decile, "y": y}).groupby("decile")["y"].agg(customers="size", buyers="sum")
    t["hit_rate"] = t["buyers"] / t["customers"]
    t["lift"] = t["hit_rate"] / (y.mean() if y.mean() > 0 else np.nan)
    t["gain"] = t["buyers"].cumsum() / max(y.sum(), 1)
    t["customers_share"] = t["customers"].cumsum() / len(y)
    return t


def calibration_table(y: pd.Series | np.ndarray, p: np.ndarray, bins: int = 10) -> pd.DataFrame:
    """Mean predicted probability against the observed purchase rate in bins of equal size."""
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    order = np.argsort(p, kind="stable")
    b = np.empty(len(p), int)
    b[order] = np.arange(len(p)) * bins // max(len(p), 1)
    t = pd.DataFrame({"bin": b, "p": p, "y": y}).groupby("bin").agg(predicted=("p", "mean"), observed=("y", "mean"),
                                                                     customers=("y", "size"))
    return t


def expected_calibration_error(y, p, bins: int = 10) -> float:
    """Customer-weighted mean gap between predicted and observed rates over the bins."""
    t = calibration_table(y, p, bins)
    return float(np.average((t["predicted"] - t["observed"]).abs(), weights=t["customers"]))


def active_and_buyers(orders: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int = HORIZON_DAYS,
                      active_days: int = ACTIVE_DAYS) -> tuple[int, int]:
    """Customers active at ``cutoff`` (a purchase within ``active_days`` before it, as
    :func:`customer_examples` counts them) and how many of them buy in the ``horizon_days`` after it."""
    buys = orders.loc[~orders["is_return"] & (orders["order_date"] <= cutoff), ["customer_id", "order_date"]]
    last = buys.groupby("customer_id", observed=True)["order_date"].max()
    active = last.index[(cutoff - last) <= pd.Timedelta(days=active_days)]
    bought = buyers_between(orders, cutoff, cutoff + pd.Timedelta(days=horizon_days))
    return len(active), int(active.isin(bought).sum())


def seasonal_factor(orders: pd.DataFrame, calibration: pd.Timestamp, target: pd.Timestamp,
                    horizon_days: int = HORIZON_DAYS, active_days: int = ACTIVE_DAYS) -> tuple[float, str]:
    """How the purchase rate of the window after ``target`` differed from that after ``calibration``
    one year earlier (their ratio), and in words where the factor comes from.

    Probabilities calibrated on the latest labelled window carry its purchase rate; a shop buys
    more in some months (November, December) than in others, which that window cannot show. The
    same two windows a year earlier can. Without both in the data, each with at least
    ``MIN_CLASS_EXAMPLES`` buyers and non-buyers, the factor is 1.
    """
    year_before = [month_end(pd.Timestamp(c).to_period("M") - 12) for c in (calibration, target)]
    first = orders.loc[~orders["is_return"], "order_date"].min()
    if year_before[0] - pd.Timedelta(days=MIN_HISTORY_DAYS) < first:
        return 1.0, _("no season adjustment: the data do not reach a year before the calibration window")
    counts = [active_and_buyers(orders, c, horizon_days, active_days) for c in year_before]
    if min(min(b, n - b) for n, b in counts) < MIN_CLASS_EXAMPLES:
        return 1.0, _("no season adjustment: the same windows a year earlier have too few buyers or non-buyers "
                      "({first} and {second} buyers; {need} of each needed)").format(
            first=counts[0][1], second=counts[1][1], need=MIN_CLASS_EXAMPLES)
    (n0, b0), (n1, b1) = counts
    factor = (b1 / n1) / (b0 / n0)
    return factor, _("season factor {factor}: a year earlier {target_share} of active customers bought after "
                     "{target_day} against {calibration_share} after {calibration_day}").format(
        factor=number(factor, 3), target_share=percent(b1 / n1), target_day=date(year_before[1]),
        calibration_share=percent(b0 / n0), calibration_day=date(year_before[0]))


class WindowCalibrator(BaseEstimator):
    """Probabilities fitted to a labelled window, then moved to the window they will be used in.

    Platt scaling (a logistic curve on the logit of the model's probability, scikit-learn's
    ``LogisticRegression``) is fitted on the latest window whose outcome is known; a logistic fit
    with an intercept makes the probabilities add up to that window's buyers. :meth:`for_target`
    then shifts every logit by one constant so that the mean probability over the customers to be
    scored is the seasonal factor (:func:`seasonal_factor`) times what Platt scaling alone gives.
    Both steps are monotone, so the ranking (ROC-AUC, gains) is unchanged.
    """

    @staticmethod
    def _logit(p: np.ndarray) -> np.ndarray:
        return logit(np.clip(np.asarray(p, float), 1e-6, 1 - 1e-6))

    def fit(self, p: np.ndarray, y: np.ndarray) -> "WindowCalibrator":
        z, y = self._logit(p)[:, None], np.asarray(y, dtype=int)
        self.model_ = LogisticRegression(C=1e6).fit(z, y)  # no penalty: two parameters, thousands of rows
        self.brier_raw_ = brier_score_loss(y, np.asarray(p, float))
        self.brier_calibrated_ = brier_score_loss(y, self.model_.predict_proba(z)[:, 1])
        self.shift_, self.factor_, self.season_ = 0.0, 1.0, _("no season adjustment")
        return self

    def _platt_logit(self, p: np.ndarray) -> np.ndarray:
        return self.model_.coef_[0, 0] * self._logit(p) + self.model_.intercept_[0]

    def for_target(self, p: np.ndarray, factor: float, season: str = "") -> "WindowCalibrator":
        """Shift the logits so that the mean calibrated probability of ``p`` (the raw scores of the
        customers to be scored) is ``factor`` times its Platt-scaled mean."""
        self.factor_, self.season_ = float(factor), season or self.season_
        z = self._platt_logit(p)
        if len(z) == 0 or factor == 1.0:
            self.shift_ = 0.0
            return self
        goal = factor * expit(z).mean()
        if goal >= 1.0:
            # A rate ratio cannot carry a mean this high past 1 (every customer a sure buyer): the
            # factor is not applied, and the season string says why.
            self.shift_, self.factor_ = 0.0, 1.0
            self.season_ = _("season factor {factor} not applied: it would put the mean probability at {goal}, "
                             "which no probability can reach").format(factor=number(factor, 3), goal=number(goal, 2))
            return self
        self.shift_ = float(brentq(lambda d: expit(z + d).mean() - goal, -30.0, 30.0))
        return self

    def transform(self, p: np.ndarray) -> np.ndarray:
        return expit(self._platt_logit(p) + self.shift_)


def buyers_check(y: pd.Series | np.ndarray, p: np.ndarray, cutoff: pd.Timestamp,
                 tolerance: float = BUYERS_TOLERANCE) -> dict:
    """Calibration in the large on a held-out window: the expected number of buyers (the sum of the
    probabilities) against the number who bought, the 95% interval of that number if the
    probabilities are right, and whether the gap is within ``tolerance`` of the realised number."""
    y, p = np.asarray(y, dtype=bool), np.asarray(p, dtype=float)
    expected, realised = float(p.sum()), int(y.sum())
    half = INTERVAL_Z * float(np.sqrt((p * (1 - p)).sum()))
    return {"cutoff": str(pd.Timestamp(cutoff).date()), "customers": int(len(y)), "expected": expected,
            "realised": realised, "ratio": expected / realised if realised else float("inf"),
            "interval": [expected - half, expected + half], "tolerance": tolerance,
            "within_tolerance": bool(abs(expected - realised) <= tolerance * realised)}


def check_sentence(check: dict, what: str) -> str:
    """One line saying how ``what`` did on the held-out window of :func:`buyers_check`."""
    lo, hi = check["interval"]
    text = (_("{what} expected {expected} of {customers} active customers to buy in the window after {cutoff}; "
              "{realised} did (expected/realised {ratio}; if the probabilities were right, 95% of such months would "
              "see {low} to {high} buyers), within the {tolerance} tolerance") if check["within_tolerance"] else
            _("{what} expected {expected} of {customers} active customers to buy in the window after {cutoff}; "
              "{realised} did (expected/realised {ratio}; if the probabilities were right, 95% of such months would "
              "see {low} to {high} buyers), outside the {tolerance} tolerance"))
    return text.format(what=what, expected=number(check["expected"]), customers=number(check["customers"]),
                       cutoff=check["cutoff"], realised=number(check["realised"]), ratio=f"{check['ratio']:.3f}",
                       low=number(lo), high=number(hi), tolerance=percent(check["tolerance"], 0))


def drivers(model, X: pd.DataFrame, y: pd.Series, seed: int = 42, n_repeats: int = 5,
            max_rows: int = 5_000) -> pd.DataFrame:
    """Permutation importance: how much the ROC-AUC drops when one feature's values are shuffled.

    Measured on held-out data (the test cutoff), on a random sample of at most ``max_rows``.
    """
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(X), max_rows, replace=False)) if len(X) > max_rows else np.arange(len(X))
    r = permutation_importance(model, X.iloc[rows], np.asarray(y)[rows], scoring="roc_auc", n_repeats=n_repeats,
                               random_state=seed, n_jobs=1)
    out = pd.DataFrame({"feature": X.columns, "auc_drop": r.importances_mean, "std": r.importances_std})
    return out.sort_values("auc_drop", ascending=False, ignore_index=True)


# ------------------------------------------------------------------------------------------
# The study
# ------------------------------------------------------------------------------------------

@dataclass
class ExampleSets:
    train: tuple[pd.DataFrame, pd.Series]
    validation: tuple[pd.DataFrame, pd.Series]
    test: tuple[pd.DataFrame, pd.Series]
    final_train: tuple[pd.DataFrame, pd.Series]
    scoring: pd.DataFrame


@dataclass
class PropensityStudy:
    """Propensity for one report month, in the steps notebook 05 shows (or :meth:`run` for all).

    With too little history to train and test a model, ``skipped`` says why, every step but
    :meth:`fit_fallback` does nothing, and the scores fall back to BG/NBD's probability of a
    purchase, fitted on all data up to the report month.
    """

    orders: pd.DataFrame
    report_month: str
    interactions: pd.DataFrame | None = None
    customers: pd.DataFrame | None = None
    categories: list[str] | None = None
    n_train: int = 6
    horizon_days: int = HORIZON_DAYS
    active_days: int = ACTIVE_DAYS
    min_history_days: int = MIN_HISTORY_DAYS
    seed: int = 42
    plan: CutoffPlan = field(init=False)
    skipped: str = field(init=False, default="")

    def __post_init__(self):
        buy_dates = self.orders.loc[~self.orders["is_return"], "order_date"]
        if buy_dates.empty:
            raise ValueError("orders hold no purchases: nothing to predict")
        self.plan = plan_cutoffs(self.report_month, buy_dates.min(), self.n_train, self.horizon_days,
                                 self.min_history_days, data_end(buy_dates, month_end(self.report_month)))
        self.skipped = self.plan.reason
        # Filled step by step; they stay None when the data cannot support the step.
        self.sets_ = self.comparison_ = self.selected_ = self.calibrator_ = None
        self.check_ = self.final_calibrator_ = self.fallback_bgnbd_ = self.fallback_check_ = None
        self.not_possible_ = ""  # why no purchase probability is shipped ("" when one is)

    def skip_note(self) -> str:
        """Why no model is trained, in one line ("" when one is)."""
        return (_("Too little history to train a model ({why}); the scores come from the BG/NBD baseline.").format(
            why=self.skipped) if self.skipped else "")

    def timeline(self) -> pd.DataFrame | None:
        """The cutoffs of each set (see :meth:`CutoffPlan.table`), when a model is trained on them."""
        return None if self.skipped else self.plan.table()

    @property
    def training_sets(self) -> ExampleSets | None:
        """The example sets, or None when they are too few to learn from."""
        return None if self.skipped else self.sets_

    @property
    def feature_cutoff(self) -> pd.Timestamp | None:
        """The earliest training cutoff, as of which features from notes must be known (None: no model)."""
        return None if self.skipped else self.plan.earliest

    def examples_note(self) -> str:
        """How many examples each set holds, or why there are none."""
        if self.training_sets is None:
            return (_("No examples to learn from: {why}").format(why=self.skipped) if self.plan.enough
                    else _("No examples to learn from: too little history (see 1.1)."))
        s = self.sets_
        return _("{train} training examples from {cutoffs} cutoffs, {features} features; validation {validation}, "
                 "test {test}").format(train=number(len(s.train[0])), cutoffs=len(self.plan.selection_train),
                                       features=s.train[0].shape[1], validation=number(len(s.validation[0])),
                                       test=number(len(s.test[0])))

    def _examples(self, cutoffs, bgnbd, labels=True):
        kw = dict(interactions=self.interactions, customers=self.customers, categories=self.categories,
                  bgnbd=bgnbd, active_days=self.active_days)
        if not labels:
            return customer_examples(self.orders, cutoffs, horizon_days=None, **kw)[0]
        return example_set(self.orders, cutoffs, horizon_days=self.horizon_days, **kw)

    @single_threaded
    def build(self) -> ExampleSets | None:
        """BG/NBD features fitted at the earliest cutoff, then the examples of every set."""
        if self.skipped:
            return None
        p = self.plan
        self.feature_bgnbd_ = BGNBD(self.horizon_days).fit(
            customer_features(self.orders, p.earliest, categories=self.categories))
        self.sets_ = ExampleSets(
            train=self._examples(p.selection_train, self.feature_bgnbd_),
            validation=self._examples([p.validation], self.feature_bgnbd_),
            test=self._examples([p.test], self.feature_bgnbd_),
            final_train=self._examples(p.final_train, self.feature_bgnbd_),
            scoring=self._examples(p.scoring, self.feature_bgnbd_, labels=False))
        for name in ("train", "validation", "test"):
            y = getattr(self.sets_, name)[1]
            if min(int(y.sum()), int((~y).sum())) < MIN_CLASS_EXAMPLES:
                self.skipped = _("the {set} set has {buyers} buyers and {others} non-buyers; at least {need} of each "
                                 "are needed").format(set=_(name), buyers=int(y.sum()), others=int((~y).sum()),
                                                      need=MIN_CLASS_EXAMPLES)
                return None
        return self.sets_

    def base_rates(self) -> pd.DataFrame | None:
        """Examples and the share who bought, per cutoff of each set (None without example sets)."""
        if self.training_sets is None:
            return None
        rows = []
        for name in ("train", "validation", "test"):
            y = getattr(self.sets_, name)[1]
            g = y.groupby(level="cutoff")
            rows += [{"set": name, "cutoff": c, "customers": int(n), "bought": float(r)}
                     for (c, n), r in zip(g.size().items(), g.mean().to_numpy())]
        return pd.DataFrame(rows)

    @single_threaded
    def compare(self) -> pd.DataFrame | None:
        """Fit every candidate on the training cutoffs; score candidates and baselines on validation and test.

        The selected model is the candidate with the best validation ROC-AUC.
        """
        if self.skipped:
            return None
        (Xtr, ytr), (Xv, yv), (Xt, yt) = self.sets_.train, self.sets_.validation, self.sets_.test
        self.models_ = {name: m.fit(Xtr, ytr) for name, m in candidate_models(self.seed).items()}
        val = {k: m.predict_proba(Xv)[:, 1] for k, m in self.models_.items()}
        test = {k: m.predict_proba(Xt)[:, 1] for k, m in self.models_.items()}
        val.update(rule_scores(Xv))
        test.update(rule_scores(Xt))
        # BG/NBD refitted at each evaluation cutoff on every customer who bought by then.
        for scores, cutoff, X in ((val, self.plan.validation, Xv), (test, self.plan.test, Xt)):
            everyone = customer_features(self.orders, cutoff, categories=self.categories)
            bg = BGNBD(self.horizon_days).fit(everyone)
            scores["BG/NBD"] = bg.expected_purchases(everyone.reindex(X.index.get_level_values("customer_id")))
        self.val_scores_, self.test_scores_ = val, test
        v, t = ranking_metrics(yv, val), ranking_metrics(yt, test)
        table = v.add_prefix("validation_").join(t.add_prefix("test_"))
        table.insert(0, "kind", ["candidate" if k in self.models_ else "baseline" for k in table.index])
        cands = table[table["kind"] == "candidate"]
        self.selected_ = str(cands["validation_roc_auc"].idxmax())
        table["selected"] = table.index == self.selected_
        self.comparison_ = table
        return table

    def calibrate(self) -> WindowCalibrator | None:
        """The shipped procedure one month earlier, judged on the test month: the selected model's
        probabilities calibrated on the validation cutoff (and moved by the season from there to the
        test window), then their sum against the test month's buyers (:attr:`check_`)."""
        if self.skipped:
            return None
        factor, season = seasonal_factor(self.orders, self.plan.validation, self.plan.test, self.horizon_days,
                                         self.active_days)
        self.calibrator_ = WindowCalibrator().fit(self.val_scores_[self.selected_], self.sets_.validation[1]
                                                  ).for_target(self.test_scores_[self.selected_], factor, season)
        self.check_ = buyers_check(self.sets_.test[1], self.test_probabilities(), self.plan.test)
        return self.calibrator_

    def test_probabilities(self) -> np.ndarray:
        """The selected model's probabilities on the test cutoff, calibrated as the shipped ones are."""
        return self.calibrator_.transform(self.test_scores_[self.selected_])

    def test_labels(self) -> pd.Series | None:
        """Who bought after the test cutoff (None without a model comparison)."""
        return None if self.comparison_ is None else self.sets_.test[1]

    def shown_test_scores(self) -> dict[str, np.ndarray] | None:
        """Test-cutoff scores of the selected model and the comparisons worth drawing beside it."""
        if self.comparison_ is None:
            return None
        wanted = (self.selected_, "logistic regression", "BG/NBD", "recency rule", "frequency rule")
        return {k: self.test_scores_[k] for k in wanted if k in self.test_scores_}

    def test_gains(self) -> dict[str, pd.DataFrame] | None:
        """Gains and lift by decile on the test cutoff, for each of :meth:`shown_test_scores`."""
        if self.comparison_ is None:
            return None
        y = self.sets_.test[1]
        return {k: gains_table(y, s) for k, s in self.shown_test_scores().items()}

    def selected_gains(self) -> pd.DataFrame | None:
        """The gains table of the selected model (None without a model comparison)."""
        return None if self.comparison_ is None else self.test_gains()[self.selected_]

    def calibration_tables(self) -> dict[str, pd.DataFrame] | None:
        """Predicted against observed purchase rates on the test cutoff: raw and calibrated."""
        if self.calibrator_ is None:
            return None
        y = self.sets_.test[1]
        return {"raw": calibration_table(y, self.test_scores_[self.selected_]),
                "calibrated": calibration_table(y, self.test_probabilities())}

    def calibration_note(self) -> str:
        """The calibration and its check on the test month, in three lines ("" when no model was
        calibrated)."""
        if self.calibrator_ is None:
            return ""
        c, y = self.calibrator_, self.sets_.test[1]
        raw, cal = self.test_scores_[self.selected_], self.test_probabilities()
        first = _("Calibrated on the validation cutoff ({season}); Brier score on test: raw {brier_raw}, calibrated "
                  "{brier_cal}; expected calibration error on test: raw {ece_raw}, calibrated {ece_cal}").format(
            season=c.season_, brier_raw=f"{brier_score_loss(y, raw):.4f}", brier_cal=f"{brier_score_loss(y, cal):.4f}",
            ece_raw=f"{expected_calibration_error(y, raw):.3f}", ece_cal=f"{expected_calibration_error(y, cal):.3f}")
        return (first + "\n" + check_sentence(self.check_, _("Calibrated so, the model")) + _(".") + "\n"
                + _("This month's scores are calibrated the same way one month later: on the test cutoff, with the "
                    "season from there to the report month's window."))

    @single_threaded
    def explain(self, n_repeats: int = 5) -> pd.DataFrame | None:
        """Top drivers of the selected model on the test cutoff (permutation importance)."""
        if self.skipped:
            return None
        X, y = self.sets_.test
        self.drivers_ = drivers(self.models_[self.selected_], X, y, self.seed, n_repeats)
        return self.drivers_

    def purchase_examples(self) -> tuple[pd.DataFrame, pd.Series]:
        """The examples of the final purchase model: the cutoffs of ``plan.purchase_train`` (the
        validation cutoff and the latest training ones), already built for the comparison."""
        cutoffs = set(self.plan.purchase_train)
        parts = [s for s in (self.sets_.validation, self.sets_.train)]
        keep = [s[0].index.get_level_values("cutoff").isin(cutoffs) for s in parts]
        return (pd.concat([s[0][k] for s, k in zip(parts, keep)]), pd.concat([s[1][k] for s, k in zip(parts, keep)]))

    @single_threaded
    def fit_final(self):
        """Refit the selected candidate on the latest cutoffs whose windows end by the test cutoff, and
        calibrate it on the test cutoff (the latest labelled window), moved by the season to the
        report month's window."""
        if self.skipped:
            return None
        X, y = self.purchase_examples()
        self.final_model_ = clone(candidate_models(self.seed)[self.selected_]).fit(X, y)
        Xt, yt = self.sets_.test
        factor, season = seasonal_factor(self.orders, self.plan.test, self.plan.scoring, self.horizon_days,
                                         self.active_days)
        self.final_calibrator_ = WindowCalibrator().fit(self.final_model_.predict_proba(Xt)[:, 1], yt).for_target(
            self.final_model_.predict_proba(self.sets_.scoring)[:, 1] if len(self.sets_.scoring) else np.zeros(0),
            factor, season)
        return self.final_model_

    def fallback_cutoff(self) -> pd.Timestamp | None:
        """The latest month end whose label window ends by the report month's end, with purchases
        before it: where the fallback is checked (None when there is none)."""
        horizon = pd.Timedelta(days=self.horizon_days)
        first = self.orders.loc[~self.orders["is_return"], "order_date"].min()
        p = parse_month(self.report_month) - 1
        while month_end(p) + horizon > self.plan.scoring:
            p -= 1
        return month_end(p) if month_end(p) >= first else None

    @single_threaded
    def fit_fallback(self) -> BGNBD | None:
        """Without a trained model: BG/NBD fitted on every customer up to the report month's end,
        shipped only if BG/NBD fitted the same way a month earlier predicted the number of buyers of
        the latest held-out window within ``BUYERS_TOLERANCE`` (:attr:`fallback_check_`)."""
        if not self.skipped:
            return None
        held = self.fallback_cutoff()
        if held is None:
            self.not_possible_ = _("no model could be trained ({why}), and no {days}-day window after a month end with "
                                   "purchases before it lies inside the data to check the BG/NBD fallback on").format(
                why=self.skipped, days=self.horizon_days)
            return None
        everyone = customer_features(self.orders, held, categories=self.categories)
        active = everyone[everyone["recency_days"] <= self.active_days]
        if len(everyone) < 2 or active.empty:
            self.not_possible_ = _("no model could be trained ({why}), and too few customers bought by {day} to check "
                                   "the BG/NBD fallback").format(why=self.skipped, day=f"{held:%Y-%m-%d}")
            return None
        bought = active.index.isin(buyers_between(self.orders, held, held + pd.Timedelta(days=self.horizon_days)))
        p = BGNBD(self.horizon_days).fit(everyone).purchase_probability(active)
        self.fallback_check_ = buyers_check(bought, p, held)
        if not self.fallback_check_["within_tolerance"]:
            self.not_possible_ = _("no model could be trained ({why}), and the BG/NBD fallback is not calibrated: "
                                   "{check}").format(why=self.skipped, check=check_sentence(
                                       self.fallback_check_, _("fitted a month earlier, it")))
            return None
        self.fallback_bgnbd_ = BGNBD(self.horizon_days).fit(
            customer_features(self.orders, self.plan.scoring, categories=self.categories))
        return self.fallback_bgnbd_

    @property
    def prediction_possible(self) -> bool:
        """Whether p_purchase is shipped: a trained model, or a fallback that passed its check."""
        return not self.not_possible_

    def not_possible_note(self) -> str:
        """The report's sentence when no purchase probability is shipped ("" when one is)."""
        return (_("Purchase prediction is not possible for this shop: {why}.").format(why=self.not_possible_)
                if self.not_possible_ else "")

    @property
    def source(self) -> str:
        """Where the scores of the report month come from, in one line."""
        if self.not_possible_:
            return _("none: {why}").format(why=self.not_possible_note())
        if self.skipped:
            if self.fallback_check_:
                return _("BG/NBD baseline, because there is too little history to train a model: {why}; {check}").format(
                    why=self.skipped, check=check_sentence(self.fallback_check_, _("fitted a month earlier, it")))
            return _("BG/NBD baseline, because there is too little history to train a model: {why}").format(
                why=self.skipped)
        text = _("{model}, chosen on the validation cutoff, refitted on the {n} latest cutoffs before the test cutoff "
                 "and calibrated on the test cutoff").format(model=_(self.selected_), n=len(self.plan.purchase_train))
        return text + (_(" ({season})").format(season=self.final_calibrator_.season_)
                       if self.final_calibrator_ is not None else "")

    def figures(self) -> dict:
        """What the study hands over in metrics.json: the model chosen, its cutoffs and its scores on
        validation and test (or why no model was trained)."""
        if self.skipped:
            return {"skipped": self.skipped, "prediction_possible": self.prediction_possible,
                    "not_possible": self.not_possible_note(), "fallback_check": self.fallback_check_}
        table = self.comparison_
        return {
            "selected": self.selected_, "prediction_possible": True, "buyers_check": self.check_,
            "season_factor": self.final_calibrator_.factor_ if self.final_calibrator_ is not None else None,
            "cutoffs": {"train": [str(c.date()) for c in self.plan.selection_train],
                        "validation": str(self.plan.validation.date()), "test": str(self.plan.test.date())},
            "test": table[["test_roc_auc", "test_pr_auc"]].rename(columns=lambda c: c[5:]).to_dict("index"),
            "validation_roc_auc": table["validation_roc_auc"].to_dict(),
            "test_top_decile_lift": self.test_gains()[self.selected_]["lift"].iloc[0],
        }

    def run(self) -> "PropensityStudy":
        """Every step in order (the tests' shortcut through what the notebook shows step by step)."""
        self.build()
        self.compare()
        self.calibrate()
        self.fit_final()
        self.fit_fallback()
        return self
