"""How last month's value predictions turned out: expected purchases over this month against the
purchases customers made.

Last month's run wrote ``expected_purchases_next_month`` for every customer (the purchases expected
from its cutoff to the end of the following month, this report month). This month's orders say what
happened. The predictions come from last month's ``customer_value`` artifact, read through
:class:`crm_utils.artifacts.LastMonth`, when it exists: that is what the business was told.
Otherwise the model is refitted on the orders known at last month's end, and the source says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from crm_utils.artifacts import LastMonth
from crm_utils.config import month_end, parse_month
from crm_utils.i18n import _
from crm_utils.notebook import date, number, percent
from crm_utils.value.clv import MAX_FIT_CUSTOMERS, CustomerValueModel, next_month_days, rfm_summary
from crm_utils.value.evaluation import holdout_actuals


def previous_cutoff(report_month: str) -> pd.Timestamp:
    return month_end(parse_month(report_month) - 1)


def last_month_predictions(last: LastMonth, report_month: str, orders: pd.DataFrame, horizon_months: int = 12,
                           discount_rate: float = 0.10, max_fit_customers: int = MAX_FIT_CUSTOMERS,
                           seed: int = 42) -> tuple[pd.DataFrame | None, str]:
    """Last month's expected purchases for this month per customer, and where they came from (a
    phrase in the current language: the report quotes it)."""
    previous = last.table("customer_value", columns=["customer_id", "expected_purchases_next_month"])
    if previous is not None:
        return previous, _("last month's report ({path})").format(
            path=f"{last.path.name}/artifacts/customer_value.parquet")
    cutoff = previous_cutoff(report_month)
    if not (orders["order_date"] <= cutoff).any():
        return None, _("no orders by last month's end ({date}): nothing was predicted").format(date=date(cutoff))
    # Only BG/NBD: the column is customer_value()'s expected_purchases_next_month, which needs no
    # spend model or CLV (they took about 40% of the refit; tests/test_value.py holds the two equal).
    summary = rfm_summary(orders, cutoff)
    model = CustomerValueModel(horizon_months, discount_rate, max_fit_customers, seed).fit(summary, spend=False)
    if model.skipped:
        return None, _("the value model could not be fitted at last month's end: {reason}").format(
            reason=model.skip_note)
    table = pd.DataFrame({"customer_id": pd.array(summary.index.astype(str), dtype="string"),
                          "expected_purchases_next_month": model.expected_purchases(summary, next_month_days(cutoff))})
    return (table, _("recomputed: no report of last month in this reports folder, so the model was refitted on the "
                     "orders known at {date}").format(date=date(cutoff)))


def realised(predictions: pd.DataFrame, orders: pd.DataFrame, report_month: str) -> dict:
    """Predicted against realised purchases in the report month, over last month's customers."""
    start, end = previous_cutoff(report_month), month_end(report_month)
    ids = pd.Index(predictions["customer_id"].astype(str))
    actual = holdout_actuals(orders, start, end, ids)["purchases"].to_numpy(float)
    pred = predictions["expected_purchases_next_month"].to_numpy(float)
    both = len(pred) > 2 and np.ptp(pred) > 0 and np.ptp(actual) > 0
    top = pred >= np.quantile(pred, 0.9) if len(pred) else np.zeros(0, bool)
    return {"customers": int(len(pred)), "predicted_purchases": float(pred.sum()),
            "actual_purchases": float(actual.sum()),
            "error": float((pred.sum() - actual.sum()) / actual.sum()) if actual.sum() else float("nan"),
            "mae": float(np.abs(pred - actual).mean()) if len(pred) else float("nan"),
            "spearman": float(stats.spearmanr(pred, actual).statistic) if both else float("nan"),
            "top_decile_share_of_purchases": float(actual[top].sum() / actual.sum()) if actual.sum() else float("nan")}


def last_month_outcome(last: LastMonth, report_month: str, orders: pd.DataFrame, horizon_months: int = 12,
                       discount_rate: float = 0.10, max_fit_customers: int = MAX_FIT_CUSTOMERS,
                       seed: int = 42) -> tuple[dict | None, str]:
    """:func:`realised` of last month's predictions (None when there were none) and their source."""
    predictions, source = last_month_predictions(last, report_month, orders, horizon_months, discount_rate,
                                                 max_fit_customers, seed)
    if predictions is None:
        return None, source
    return realised(predictions, orders, report_month), source


def note(figures: dict | None, source: str) -> str:
    """One sentence on last month's value predictions, in the current language."""
    if figures is None:
        return _("Last month's value predictions cannot be checked: {reason}.").format(reason=source.rstrip(".。"))
    return _("Last month's value predictions ({source}): {expected} purchases expected this month from {customers} "
             "customers, {made} made ({error}); rank correlation {spearman}, and the 10% with the highest expectation "
             "made {share} of the purchases.").format(
        source=source, expected=number(figures["predicted_purchases"]), customers=number(figures["customers"]),
        made=number(figures["actual_purchases"]), error=percent(figures["error"], 1, signed=True),
        spearman=number(figures["spearman"], 2), share=percent(figures["top_decile_share_of_purchases"], 0))
