"""How good are the value predictions? A calibration/holdout split in time (Fader, Hardie & Lee 2005).

The models are fitted on the orders up to a calibration end ``holdout_months`` before the cutoff,
and predict, for every customer who had bought by then, the purchases and spend of the holdout
months that follow. Those months have happened, so the predictions are compared with what the
customers did:

- per customer and in total, predicted against actual purchases (and spend);
- the "tracking" chart: cumulative repeat purchases of the calibration customers, week by week
  through the holdout, actual against expected;
- the classic conditional-expectation table: customers grouped by their calibration purchases,
  mean predicted against mean actual holdout purchases;
- the error against two naive baselines a shop would otherwise use: **last period** (each customer
  does in the holdout what they did in the same number of months before it) and **average spend x
  frequency** (each customer keeps their historical purchase rate per day and mean order value).
  Both are scored by the mean absolute error per customer (MAE), with a bootstrap interval of the
  difference to the model over customers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crm_utils.config import month_end, parse_month
from crm_utils.customers.features import guest_mask
from crm_utils.i18n import N_, _
from crm_utils.notebook import date, money, number, percent
from crm_utils.value.churn import threshold_tradeoff
from crm_utils.value.clv import MAX_FIT_CUSTOMERS, CustomerValueModel, rfm_summary

#: Bootstrap resamples of customers for the interval of each baseline's MAE minus the model's.
BOOTSTRAP_RESAMPLES = 500
#: Thresholds of P(alive) at which the trade-off of flagging customers as lapsed is shown.
P_ALIVE_THRESHOLDS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9)
#: Calibration purchases above which customers are pooled in the conditional-expectation table
#: (FHL 2005 pool at 7+): beyond it each group holds too few customers for a stable mean.
MAX_FREQUENCY_GROUP = 7
#: The methods compared, as :meth:`HoldoutEvaluation.errors` names them: these English names are the
#: keys of the recorded MAE (metrics.json, read by the report) and the chart's input, translated with
#: ``_()`` where a sentence, table or chart shows them.
MODEL_SPEND, MODEL_PURCHASES = N_("model (BG/NBD + Gamma-Gamma)"), N_("model (BG/NBD)")
LAST_PERIOD = N_("last period")
RATE_SPEND, RATE_PURCHASES = N_("average spend x frequency"), N_("average frequency")


def calibration_end(report_month: str, holdout_months: int) -> pd.Timestamp:
    """The last instant of the calibration period: the end of the month ``holdout_months`` before the report month."""
    return month_end(parse_month(report_month) - holdout_months)


def holdout_actuals(orders: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp, ids: pd.Index) -> pd.DataFrame:
    """Purchases (distinct orders) and spend of each customer in ``ids`` in ``(start, end]`` (0 when none)."""
    d = orders["order_date"]
    rows = ((d > start) & (d <= end)).to_numpy() & ~orders["is_return"].to_numpy(dtype=bool) & ~guest_mask(orders)
    part = pd.DataFrame({"customer_id": orders["customer_id"].to_numpy()[rows].astype(str),
                         "order_id": orders["order_id"].to_numpy()[rows],
                         "revenue": orders["line_revenue"].to_numpy(dtype=float)[rows]})
    g = part.groupby("customer_id")
    out = pd.DataFrame({"purchases": g["order_id"].nunique(), "spend": g["revenue"].sum()})
    return out.reindex(ids.astype(str)).fillna(0.0)


@dataclass
class HoldoutEvaluation:
    """Fit at the calibration end, predict the holdout, compare with what happened.

    ``orders`` are the cleaned orders of notebook 01; ``cutoff`` the report month's end.
    """

    orders: pd.DataFrame
    report_month: str
    holdout_months: int = 6
    horizon_months: int = 12
    discount_rate: float = 0.10
    seed: int = 42
    max_fit_customers: int = MAX_FIT_CUSTOMERS
    skip_note: str = field(default="", init=False)

    def run(self) -> "HoldoutEvaluation":
        """Fit on the calibration period and build the per-customer comparison (``table_``)."""
        if not (isinstance(self.holdout_months, (int, np.integer)) and self.holdout_months >= 1):
            raise ValueError(f"holdout_months must be a whole number of at least 1, got {self.holdout_months!r}")
        self.cutoff_ = month_end(self.report_month)
        self.calibration_end_ = calibration_end(self.report_month, self.holdout_months)
        first = self.orders["order_date"].min()
        if pd.isna(first) or first > self.calibration_end_:
            self.skip_note = _("No holdout evaluation: the orders start {first}, after the calibration end {end} "
                               "({months} months before the report month's end).").format(
                first=date(first), end=date(self.calibration_end_), months=self.holdout_months)
            return self
        self.summary_ = rfm_summary(self.orders, self.calibration_end_)
        self.model_ = CustomerValueModel(self.horizon_months, self.discount_rate, self.max_fit_customers,
                                         self.seed).fit(self.summary_)
        if self.model_.skipped:
            self.skip_note = _("No holdout evaluation: {reason}").format(reason=self.model_.skip_note)
            return self
        self.days_ = (self.cutoff_ - self.calibration_end_) / pd.Timedelta(days=1)
        s = self.summary_
        predicted = self.model_.expected_purchases(s, self.days_)
        spend = self.model_.spend_.expected_spend(s)
        actual = holdout_actuals(self.orders, self.calibration_end_, self.cutoff_, s.index)
        lookback = holdout_actuals(self.orders, self.calibration_end_ - (self.cutoff_ - self.calibration_end_),
                                   self.calibration_end_, s.index)
        # Average spend x frequency: the customer's purchase rate per day since the first purchase
        # (the first purchase counts: a one-off customer's rate is 1 per their age), times their
        # mean order value. T is at least a day, so a first purchase on the last day is not infinite.
        rate = (s["orders"].to_numpy(float)) / np.maximum(s["T"].to_numpy(float), 1.0)
        mean_order = s["total_spend"].to_numpy(float) / s["orders"].to_numpy(float)
        self.table_ = pd.DataFrame({
            "customer_id": s.index.astype(str),
            "calibration_purchases": s["frequency"].to_numpy(float),
            "predicted_purchases": predicted,
            "actual_purchases": actual["purchases"].to_numpy(),
            "last_period_purchases": lookback["purchases"].to_numpy(),
            "rate_purchases": rate * self.days_,
            "predicted_spend": predicted * spend,
            "actual_spend": actual["spend"].to_numpy(),
            "last_period_spend": lookback["spend"].to_numpy(),
            "rate_spend": rate * self.days_ * mean_order,
            "p_alive": self.model_.p_alive(s),
        })
        return self

    @property
    def skipped(self) -> bool:
        return bool(self.skip_note)

    # ----------------------------------------------------------------------------------------
    # Tables
    # ----------------------------------------------------------------------------------------

    def totals(self) -> pd.DataFrame | None:
        """Predicted and actual holdout purchases and spend, summed over the calibration customers."""
        if self.skipped:
            return None
        t = self.table_
        rows = []
        for what in ("purchases", "spend"):
            pred, act = float(t[f"predicted_{what}"].sum()), float(t[f"actual_{what}"].sum())
            rows.append({"measure": what, "predicted": pred, "actual": act,
                         "error": (pred - act) / act if act else float("nan")})
        return pd.DataFrame(rows).set_index("measure")

    def errors(self) -> pd.DataFrame | None:
        """MAE per customer of the model and each baseline, for purchases and spend, with each
        baseline's excess error over the model and its 95% bootstrap interval (resampling customers)."""
        if self.skipped:
            return None
        t = self.table_
        rng = np.random.default_rng([self.seed, 22])
        idx = rng.integers(0, len(t), size=(BOOTSTRAP_RESAMPLES, len(t)))
        rows = []
        for what in ("purchases", "spend"):
            actual = t[f"actual_{what}"].to_numpy(float)
            model_err = np.abs(t[f"predicted_{what}"].to_numpy(float) - actual)
            spend = what == "spend"
            for name, col in ((MODEL_SPEND if spend else MODEL_PURCHASES, "predicted"), (LAST_PERIOD, "last_period"),
                              (RATE_SPEND if spend else RATE_PURCHASES, "rate")):
                err = np.abs(t[f"{col}_{what}"].to_numpy(float) - actual)
                excess = err - model_err
                boot = excess[idx].mean(axis=1)
                rows.append({"measure": what, "method": name, "mae": float(err.mean()),
                             "total_predicted": float(t[f"{col}_{what}"].sum()), "total_actual": float(actual.sum()),
                             "mae_minus_model": float(excess.mean()),
                             "low": float(np.quantile(boot, 0.025)) if col != "predicted" else float("nan"),
                             "high": float(np.quantile(boot, 0.975)) if col != "predicted" else float("nan")})
        return pd.DataFrame(rows)

    def conditional_expectations(self) -> pd.DataFrame | None:
        """Customers grouped by calibration repeat purchases (pooled at :data:`MAX_FREQUENCY_GROUP`+):
        mean predicted against mean actual holdout purchases (FHL 2005, fig. 5)."""
        if self.skipped:
            return None
        t = self.table_
        group = t["calibration_purchases"].clip(upper=MAX_FREQUENCY_GROUP).astype(int)
        out = t.groupby(group).agg(customers=("customer_id", "size"), predicted=("predicted_purchases", "mean"),
                                   actual=("actual_purchases", "mean"))
        out.index = [f"{i}+" if i == MAX_FREQUENCY_GROUP else str(i) for i in out.index]
        out.index.name = _("calibration repeat purchases")  # shown as it is: in the run's language
        return out

    def tracking(self) -> pd.DataFrame | None:
        """Cumulative repeat purchases of the calibration customers by day of the holdout, actual
        against expected, sampled weekly (the tracking chart's data)."""
        if self.skipped:
            return None
        s = self.summary_
        days = np.unique(np.append(np.arange(7, self.days_, 7.0), self.days_))
        expected = [float(self.model_.expected_purchases(s, d).sum()) for d in days]
        d = self.orders["order_date"]
        ids = set(s.index.astype(str))
        rows = ((d > self.calibration_end_) & (d <= self.cutoff_)).to_numpy() & \
            ~self.orders["is_return"].to_numpy(dtype=bool) & ~guest_mask(self.orders)
        part = pd.DataFrame({"customer_id": self.orders["customer_id"].to_numpy()[rows].astype(str),
                             "order_id": self.orders["order_id"].to_numpy()[rows],
                             "date": d.to_numpy()[rows]})
        part = part[part["customer_id"].isin(ids)]
        first = part.groupby(["customer_id", "order_id"])["date"].min()
        elapsed = np.sort((first.to_numpy() - np.datetime64(self.calibration_end_)) / np.timedelta64(1, "D"))
        actual = np.searchsorted(elapsed, days, side="right")
        return pd.DataFrame({"day": days, "date": self.calibration_end_.normalize() + pd.to_timedelta(days, unit="D"),
                             "expected": expected, "actual": actual.astype(float)})

    def p_alive_tradeoff(self) -> pd.DataFrame | None:
        """Flagging customers with P(alive) below a threshold as lapsed, judged on the holdout: how
        many are flagged, the share of them who did not buy in the holdout (precision), and the
        share of all holdout non-buyers they catch (recall) against the buyers wrongly written off
        (:func:`crm_utils.value.churn.threshold_tradeoff`, with the base rate as ``churn_rate``)."""
        if self.skipped:
            return None
        t = self.table_.set_index("customer_id")
        lapsed = t["actual_purchases"] == 0
        out = threshold_tradeoff(t["p_alive"], lapsed, P_ALIVE_THRESHOLDS)
        out["buyers_written_off"] = [int(((t["p_alive"] < th) & ~lapsed).sum()) for th in out["threshold"]]
        return out

    def figures(self) -> dict:
        """The evaluation's headline figures for metrics.json."""
        if self.skipped:
            return {"skipped": self.skip_note}
        tot, err = self.totals(), self.errors()
        spend = err[err["measure"] == "spend"].set_index("method")
        purchases = err[err["measure"] == "purchases"].set_index("method")
        model_spend = spend.iloc[0]["mae"]
        baselines = spend.iloc[1:]
        return {"calibration_end": self.calibration_end_.strftime("%Y-%m-%d"), "holdout_months": self.holdout_months,
                "holdout_days": float(self.days_), "customers": int(len(self.table_)),
                "predicted_purchases": float(tot.loc["purchases", "predicted"]),
                "actual_purchases": float(tot.loc["purchases", "actual"]),
                "purchases_error": float(tot.loc["purchases", "error"]),
                "predicted_spend": float(tot.loc["spend", "predicted"]),
                "actual_spend": float(tot.loc["spend", "actual"]),
                "spend_error": float(tot.loc["spend", "error"]),
                "mae_purchases": purchases["mae"].to_dict(), "mae_spend": spend["mae"].to_dict(),
                "beats_baselines": bool((baselines["mae"] > model_spend).all()),
                "beats_baselines_significantly": bool((baselines["low"] > 0).all()),
                "params": self.model_.params_}

    def verdict(self, currency: str | None = None) -> str:
        """One or two sentences: whether the model beat the naive baselines in the holdout, with figures
        (in the current language)."""
        if self.skipped:
            return self.skip_note
        f = self.figures()
        spend = self.errors().query("measure == 'spend'").set_index("method")
        model = spend.iloc[0]
        parts = _("; ").join(
            _("{method}: {mae} (model better by {gap}, 95% interval {low} to {high})").format(
                method=_(name), mae=money(row["mae"], currency), gap=number(row["mae_minus_model"]),
                low=number(row["low"]), high=number(row["high"])) for name, row in spend.iloc[1:].iterrows())
        head = _("Over the {months} holdout months after {end}, {customers} customers made {purchases} purchases; the "
                 "model expected {expected} ({purchases_error}) and {spend} of spend against {actual_spend} "
                 "({spend_error}).").format(
            months=self.holdout_months, end=date(f["calibration_end"]), customers=number(f["customers"]),
            purchases=number(f["actual_purchases"]), expected=number(f["predicted_purchases"]),
            purchases_error=percent(f["purchases_error"], 1, signed=True), spend=money(f["predicted_spend"], currency),
            actual_spend=money(f["actual_spend"], currency), spend_error=percent(f["spend_error"], 1, signed=True))
        if f["beats_baselines"]:
            judge = _("Its error per customer ({mae} MAE of spend) is below both naive baselines: {baselines}.").format(
                mae=money(model["mae"], currency), baselines=parts)
        else:
            worse = [_(n) for n, r in spend.iloc[1:].iterrows() if r["mae"] <= model["mae"]]
            judge = _("The model does NOT beat {baselines} on spend per customer (model MAE {mae}; {figures}): use its "
                      "ranking with care.").format(baselines=_(" and ").join(worse), mae=money(model["mae"], currency),
                                                   figures=parts)
        return _("{head} {judge}").format(head=head, judge=judge)
