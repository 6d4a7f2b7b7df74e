"""The monthly report: what the numbers of the analysis notebooks say, in sentences a manager reads.

Everything here works from the run folder's records (``metrics/*.json``, artifacts, run.json)
and from last month's report folder when it exists, so the report never recomputes an analysis
and always agrees with the notebook that made each figure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd

from crm_utils.artifacts import LastMonth, collect_metrics
from crm_utils.notebook import money, money_label, number, partial_month_note, percent
from crm_utils.report.campaigns import campaign_sentence
from crm_utils.stages import figures

KPI_LABELS = {"revenue": "revenue", "orders": "orders", "active_customers": "active customers",
              "new_customers": "new customers", "returning_customers": "returning customers",
              "average_order_value": "average order value", "return_rate": "return rate"}


def load_run(run_dir: str | Path, report_month: str) -> tuple[dict, dict | None, dict | None]:
    """This run's metrics, last month's metrics.json (None when absent) and this run's run.json."""
    run_dir = Path(run_dir)
    metrics = collect_metrics(run_dir) if (run_dir / "metrics").exists() else {}
    previous = LastMonth(run_dir, report_month).metrics()
    run_json = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else None
    return metrics, previous, run_json


def _pct(x: float) -> str:
    """'up 3.1%', 'down 2.0%' or 'unchanged'; only called with a finite change."""
    return "unchanged" if round(x, 3) == 0 else f"{x:+.1%}".replace("+", "up ").replace("-", "down ")


def _change(now: float | None, then: float | None) -> float:
    if now is None or then is None or not np.isfinite(then) or then == 0:
        return np.nan
    return now / then - 1


#: Readable headers of the report's tables, for the column names the stages hand over.
HEADERS = {"customer_id": "customer", "p_purchase": "chance of buying next month",
           "next_category": "likely next category", "p_next_category": "chance of that category",
           "voiced_need": "need voiced in notes", "expected_net_margin": "expected net margin", "cost": "cost",
           "contacts": "contacts", "in this report": "in this report",
           "in last month's report": "in last month's report", "agrees": "agrees"}


def month_sentences(metrics: dict, previous: dict | None = None, currency: str | None = None) -> list[str]:
    """Up to six sentences on the month, each written from the figures it quotes; amounts in
    ``currency``, or bare when the data declare none (never a currency they did not state).

    Order: sales, customers, segments, satisfaction, campaign, data quality; a sentence whose notebook
    did not run (or had nothing to say) is left out rather than filled with a stock phrase.
    """
    out = []
    partial = partial_sentence(metrics)
    ov = figures(metrics, "overview")
    k, prev, ly = ov.get("kpis", {}), ov.get("previous_month", {}), ov.get("same_month_last_year", {})
    if k.get("revenue") is not None:
        mom, yoy = _change(k["revenue"], prev.get("revenue")), _change(k["revenue"], ly.get("revenue"))
        text = f"Net revenue was {money(k['revenue'], currency)}"
        text += f", {_pct(mom)} on last month" if np.isfinite(mom) else " (no earlier month in the data to compare with)"
        text += f" and {_pct(yoy)} on the same month last year." if np.isfinite(yoy) else \
            " (the data do not reach back a full year for a seasonal comparison)."
        aov = _change(k.get("average_order_value"), prev.get("average_order_value"))
        orders = _change(k.get("orders"), prev.get("orders"))
        if np.isfinite(aov) and np.isfinite(orders):
            driver = "more orders" if abs(orders) >= abs(aov) and orders > 0 else \
                "fewer orders" if abs(orders) >= abs(aov) else \
                "larger baskets" if aov > 0 else "smaller baskets"
            text = text[:-1] + f", mostly from {driver} (orders {_pct(orders)}, average order value {_pct(aov)})."
        out.append(text)
    if k.get("active_customers") is not None:
        new, ret = k.get("new_customers"), k.get("returning_customers")
        text = f"{k['active_customers']:,.0f} customers bought this month"
        if new is not None and ret is not None and np.isfinite(new):
            share = ret / k["active_customers"] if k["active_customers"] else np.nan
            text += f": {new:,.0f} for the first time and {ret:,.0f} returning ({share:.0%} of buyers)"
        ret1 = ov.get("retention", {}).get("month_1")
        text += (f"; on average {ret1:.0%} of a month's new customers buy again the next month." if ret1 is not None
                 else ".")
        if ov.get("guest_lines"):
            text = text[:-1] + (f"; customer figures leave out {ov['guest_lines']:,} guest order line(s) with no "
                                f"customer id ({money(ov.get('guest_revenue'), currency)}, "
                                f"{percent(ov.get('guest_revenue_share'))} of revenue).")
        out.append(text)
    elif ov.get("guest_lines"):
        out.append(f"Every one of this month's {ov['guest_lines']:,} order lines is a guest sale with no customer id: "
                   f"the data name no customers, so there are no customer figures, segments or targets.")
    seg = figures(metrics, "segments")
    if seg.get("segments"):
        biggest = max(seg["segments"].items(), key=lambda kv: kv[1]["customers"])
        text = (f"The {seg['customers']:,} customers fall into {seg['k']} segments; the largest is "
                f"'{biggest[0]}' with {biggest[1]['share']:.0%} of customers")
        mig = seg.get("migration") or {}
        if mig.get("stayed_share") is not None and np.isfinite(mig["stayed_share"]):
            text += f", and {mig['stayed_share']:.0%} of last month's customers kept their segment."
        else:
            text += "."
        out.append(text)
    sat = figures(metrics, "satisfaction")
    nps = sat.get("nps") or {}
    if isinstance(nps, dict) and nps.get("nps") is not None:
        text = f"Net promoter score over the survey window is {number(nps['nps'], signed=True)}"
        if nps.get("ci_low") is not None:
            text += f" (95% interval {number(nps['ci_low'], signed=True)} to {number(nps['ci_high'], signed=True)})"
        prev_nps = (figures(previous or {}, "satisfaction").get("nps") or {}).get("nps")
        text += f", against {number(prev_nps, signed=True)} in last month's report (its window was one month earlier)." \
            if prev_nps is not None else "."
        out.append(text)
    out.append(campaign_sentence(metrics, currency))  # '' when the contact stage did not run
    out = [text for text in out if text]
    clean = figures(metrics, "data")
    if clean.get("tables"):
        rows_in = sum(t["rows_in"] for t in clean["tables"].values())
        quarantined = sum(t["quarantined"] for t in clean["tables"].values())
        top = max(clean.get("quarantined_by_reason", {}).items(), key=lambda kv: kv[1], default=None)
        text = f"Of {rows_in:,} input rows, {quarantined:,} ({quarantined / max(rows_in, 1):.2%}) were set aside in quarantine"
        text += f", most often for '{top[0]}' ({top[1]:,} rows)." if top else "."
        if clean.get("merged_duplicate_lines"):
            text = text[:-1] + (f"; {clean['merged_duplicate_lines']:,} order line(s) "
                                f"({money(clean.get('merged_duplicate_revenue'), currency)}, "
                                f"{percent(clean.get('merged_duplicate_revenue_share'))} of revenue) were merged as "
                                f"exact duplicates (set exact_duplicates: keep if the export lists one line per item).")
        out.append(text)
    return ([partial] if partial else []) + out[:6]


def partial_sentence(metrics: dict) -> str:
    """'Partial month: data to 2011-12-09. ...' when the run reported a month the data end inside."""
    clean = figures(metrics, "data")
    if clean.get("month_complete", True) or not clean.get("data_end") or not clean.get("cutoff"):
        return ""
    return partial_month_note(clean["data_end"], clean["cutoff"])


def prediction_possible(metrics: dict) -> bool:
    """Whether notebook 05 shipped purchase probabilities (False: its fallback was not calibrated,
    and ``p_purchase`` is empty rather than a list of zeros)."""
    return (figures(metrics, "needs").get("propensity") or {}).get("prediction_possible") is not False


def prediction_note(metrics: dict, min_auc: float) -> str:
    """Why next month's targets cannot be trusted, or ''; from notebook 05's propensity figures:
    no prediction possible, expected buyers off the 10% promise on the test month, or a selected
    model that ranks customers below the report's ``min_auc`` on the test month."""
    prop = figures(metrics, "needs").get("propensity") or {}
    if prop.get("prediction_possible") is False:
        return prop.get("not_possible") or "Purchase prediction is not possible for this shop."
    notes = []
    check = prop.get("buyers_check") or {}
    if check and not check.get("within_tolerance", True):
        notes.append(f"Caution: on the test month the model expected {check['expected']:,.0f} buyers where "
                     f"{check['realised']:,.0f} bought ({check['ratio'] - 1:+.1%}), beyond the "
                     f"{check['tolerance']:.0%} the kit promises: read the expected numbers below as rough.")
    selected = prop.get("selected")
    auc = ((prop.get("test") or {}).get(selected) or {}).get("roc_auc")
    if auc is not None and auc < min_auc:
        notes.append(f"The selected model ({selected}) ranked the test month's customers with ROC-AUC {auc:.2f}, "
                     f"below the report's {min_auc:.2f} (0.5 is a coin toss): the target list below is little "
                     f"better than a random pick.")
    return " ".join(notes)


def forecast_note(metrics: dict) -> str:
    """What the demand guards did (notebook 08): series that fell back to a baseline and why, an
    untested seasonal peak, and how the levels were made to add up."""
    d = figures(metrics, "demand")
    if not d:
        return ""
    parts = []
    for measure, rows in (d.get("gate_fallbacks") or {}).items():
        for r in rows:
            head = f"The {measure} forecast of {r['series']} by {r['model']} failed the sanity gate ({r['reason']})"
            if r["fallback"] == r["model"]:
                parts.append(head + "; no simpler model was left to fall back to, so it is shown with this warning.")
            elif r.get("fallback_passed", True):
                parts.append(head + f"; {r['fallback']} is shown instead.")
            else:
                parts.append(head + f"; {r['fallback']} is shown instead, and it too is outside the band: treat "
                                    f"this series' forecast with care.")
    for measure, rows in (d.get("gate_after_reconciliation") or {}).items():
        for r in rows:
            parts.append(f"After the levels were made to add up, the {measure} forecast of {r['series']} is outside "
                         f"the sanity band ({r['reason']}).")
    if d.get("peak") and not d.get("peak_tested", True):
        parts.append(f"The history's seasonal peak ({d['peak']}) was never in a backtest window, so forecasts near "
                     f"its anniversary are untested and held to a stricter sanity band.")
    how = {"total": "top-down: the total forecast is kept", "category": "bottom-up: the total is the sum of the categories"}
    rec = d.get("reconciliation")
    if isinstance(rec, dict) and rec:
        parts.append("Categories add up to the total (" + "; ".join(f"{m}: {how.get(a, a)}" for m, a in rec.items())
                     + ").")
    return " ".join(parts)


def kpi_frame(metrics: dict) -> pd.DataFrame:
    """The KPI table of notebook 02 rebuilt from its metrics (this month, last month, last year, changes)."""
    ov = figures(metrics, "overview")
    if not ov.get("kpis"):
        return pd.DataFrame()
    frame = pd.DataFrame({"this month": ov["kpis"], "previous month": ov.get("previous_month", {}),
                          "same month last year": ov.get("same_month_last_year", {}),
                          "change vs previous month": ov.get("change_vs_previous_month", {}),
                          "change vs last year": ov.get("change_vs_last_year", {})}).astype(float)
    frame = frame.reindex([k for k in KPI_LABELS if k in frame.index])
    frame.index.name = "kpi"
    return frame


def kpi_table(metrics: dict, currency: str | None) -> pd.DataFrame:
    """The KPI table as the report shows it: readable rows (money rows labelled with the currency),
    counts whole, shares and changes in percent, missing as '–'; empty when notebook 02 did not run."""
    from crm_utils.customers.overview import MONEY, format_kpis

    frame = kpi_frame(metrics)
    if frame.empty:
        return frame
    labels = {k: money_label(v, currency) if k in MONEY else v for k, v in KPI_LABELS.items()}
    return format_kpis(frame).rename(index=labels).rename_axis(None)


def quarantine_table(metrics: dict) -> pd.DataFrame:
    """Rows quarantined this month, by table and reason (from notebook 01)."""
    reasons = figures(metrics, "data").get("quarantined_by_reason", {})
    if not reasons:
        return pd.DataFrame(columns=["table", "reason", "rows"])
    rows = [dict(zip(("table", "reason"), key.split(".", 1)), rows=n) for key, n in reasons.items()]
    return pd.DataFrame(rows).sort_values("rows", ascending=False).reset_index(drop=True)


def consistency_with_previous(metrics: dict, previous: dict | None) -> pd.DataFrame:
    """Last month's KPIs as this report states them against last month's own report.

    They agree when both runs saw the same data; a difference means last month's data were
    changed afterwards (late orders, corrections), which the reader should know.
    """
    if not previous:
        return pd.DataFrame()
    now = figures(metrics, "overview").get("previous_month", {})
    then = figures(previous, "overview").get("kpis", {})
    keys = [k for k in KPI_LABELS if k in now and k in then]
    frame = pd.DataFrame({"in this report": [now[k] for k in keys], "in last month's report": [then[k] for k in keys]},
                         index=pd.Index(keys, name="last month's kpi"), dtype=float)
    # A figure one of the reports could not state (new customers in the first month of the data)
    # cannot disagree with the other: it counts as agreeing.
    frame["agrees"] = np.isclose(frame["in this report"], frame["in last month's report"], rtol=1e-9, atol=1e-6) | (
        frame[["in this report", "in last month's report"]].isna().any(axis=1))
    return frame


def consistency_table(consistency: pd.DataFrame, currency: str | None) -> pd.DataFrame:
    """:func:`consistency_with_previous` for the reader: KPI names, figures formatted, 'yes'/'no'."""
    from crm_utils.customers.overview import format_kpis

    shown = format_kpis(consistency[["in this report", "in last month's report"]])
    shown["agrees"] = consistency["agrees"].map({True: "yes", False: "no"})
    labels = {k: money_label(v, currency) if k in ("revenue", "average_order_value") else v
              for k, v in KPI_LABELS.items()}
    return shown.rename(index=labels).rename_axis("last month's figure")


def monitoring_table(checks: list[dict]) -> pd.DataFrame:
    """Model checks with their thresholds: each dict has check, value, threshold, direction ('min'/'max').

    A check whose value could not be measured (no data yet) is 'not measurable', never 'ok'.
    """
    rows = []
    for c in checks:
        v, t = c.get("value"), c["threshold"]
        if v is None or not np.isfinite(v):
            status = "not measurable"
        elif (c["direction"] == "min" and v < t) or (c["direction"] == "max" and v > t):
            status = "WARNING"
        else:
            status = "ok"
        rows.append({"check": c["check"], "value": v, "threshold": f"{'≥' if c['direction'] == 'min' else '≤'} {t}",
                     "status": status, "source": c.get("source", "")})
    return pd.DataFrame(rows)


def segment_table(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments with size, share, median spend, orders and recency."""
    g = segments.groupby(["segment_id", "segment_name"], observed=True)
    out = pd.DataFrame({"customers": g.size(), "median net spend": g["monetary"].median().round(0).astype(int),
                        "median orders": g["frequency"].median().round(0).astype(int),
                        "median days since last order": g["recency_days"].median().round(0).astype(int)})
    out.insert(1, "share", (out["customers"] / out["customers"].sum()).map("{:.0%}".format))
    return out.reset_index(level="segment_id", drop=True)


def top_targets(propensity: pd.DataFrame, n: int) -> pd.DataFrame:
    """The head of next month's target list: ids and scores only (no personal data)."""
    cols = [c for c in ("customer_id", "p_purchase", "next_category", "p_next_category", "voiced_need")
            if c in propensity.columns]
    top = propensity.sort_values(["p_purchase", "customer_id"], ascending=[False, True]).head(n)[cols]
    return top.reset_index(drop=True).round(3)


def targets_table(top: pd.DataFrame) -> pd.DataFrame:
    """:func:`top_targets` for the reader: readable headers, chances in percent, no row numbers
    (the order is the ranking), '–' where a customer has no next category or voiced need."""
    shown = top.copy()
    for col in ("p_purchase", "p_next_category"):
        if col in shown:
            shown[col] = shown[col].map(lambda v: percent(v, 1))
    for col in shown.columns:
        if not pd.api.types.is_numeric_dtype(shown[col]):
            shown[col] = shown[col].astype(object).where(shown[col].notna(), "–")
    return shown.rename(columns=HEADERS)


def satisfaction_table(sat: dict) -> pd.DataFrame:
    """Satisfaction clusters with their share of responses and churn, from notebook 09's figures."""
    share, churn, repurchase = sat.get("cluster_share", {}), sat.get("churn_rate", {}), sat.get("repurchase_rate", {})
    out = pd.DataFrame({"share of responses": share, "churn rate": churn, "repurchase within 90 days": repurchase})
    return out.sort_values("share of responses", ascending=False).apply(
        lambda col: col.map(lambda v: f"{v:.0%}" if pd.notna(v) else "–"))


def monitoring_checks(metrics: dict, forecast_check: pd.DataFrame, *, min_auc: float, min_interval_coverage: float,
                      max_forecast_error: float, min_share_beating_naive: float) -> list[dict]:
    """The checks of the monitoring table, from notebooks 05 and 08 and last month's forecast."""
    checks = []
    mon = figures(metrics, "needs").get("monitoring") or {}
    checks.append({"check": "last month's purchase scores: realised ROC-AUC", "value": mon.get("roc_auc"),
                   "threshold": min_auc, "direction": "min", "source": mon.get("source", "notebook 05")})
    total = forecast_check[forecast_check["series"] == "total"] if len(forecast_check) else forecast_check
    err = (abs(total["yhat"].sum() - total["actual"].sum()) / total["actual"].sum()
           if len(total) and total["actual"].sum() > 0 else None)
    checks.append({"check": "last month's total forecast: relative error over the weeks since", "value": err,
                   "threshold": max_forecast_error, "direction": "max", "source": "forecast of last month's report"})
    cov = float(forecast_check["inside"].mean()) if len(forecast_check) else None
    checks.append({"check": "last month's forecasts (total and categories): share of series-weeks inside the "
                            "80% interval", "value": cov,
                   "threshold": min_interval_coverage, "direction": "min", "source": "forecast of last month's report"})
    nested = figures(metrics, "demand").get("nested_share_beating_seasonal_naive") or {}
    checks.append({"check": "this month's backtest: share of category forecasts beating seasonal naive "
                            "(model picked on earlier cutoffs only)",
                   "value": nested.get("category"), "threshold": min_share_beating_naive,
                   "direction": "min", "source": "notebook 08"})
    return checks


def _inputs(inp: dict) -> str:
    """What the run read: its files, or a database's tables with their row counts (password-free)."""
    from crm_utils import safe

    if "tables" in inp:
        return f"database {safe.markdown(inp.get('source', ''))}, tables: " + ", ".join(
            f"{safe.markdown(t)} ({v.get('rows', '?'):,} rows)" if isinstance(v.get("rows"), int) else safe.markdown(t)
            for t, v in inp["tables"].items())
    return "files: " + ", ".join(safe.markdown(f) for f in inp.get("files", {}))


#: A parameter name shown as code in the footer: a Markdown code span shows its text literally, so
#: a name is put there only when it holds nothing to escape (backslashes would show, as 'report\_month').
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_.]+$")


def _name(text: object) -> str:
    """A parameter name for the footer: as code when plain, else escaped Markdown text."""
    from crm_utils import safe

    return f"`{text}`" if _PLAIN_NAME.match(str(text)) else safe.markdown(text)


def _currency_line(run_record: dict, currency: str | None) -> str:
    """Which currency the amounts are in and where it came from, or that none was declared."""
    declared = run_record.get("currency")
    if currency and currency == declared:
        return f"Amounts in {currency}, as the data declare it (their mapping)."
    if currency:
        return f"Amounts in {currency}, as given with -p currency" + (
            f" (the data declare {declared})." if declared else " (the data declare no currency).")
    return "The data declare no currency, so amounts are shown without one (declare it with `currency:` in the mapping)."


def footer(run_record: dict | None, report_month: str, currency: str | None = None):
    """The run's parameters, currency, versions and input fingerprint, as Markdown."""
    from IPython.display import Markdown

    from crm_utils import safe
    from crm_utils.versions import versions

    if run_record is None:
        lines = [f"Interactive run for {report_month} (no run record: run `crm-report run` for a scheduled report).",
                 "", "Versions: " + ", ".join(f"{k} {v}" for k, v in versions().items())]
        return Markdown("\n".join(lines))
    inp = run_record.get("input", {})
    params = run_record.get("parameters", {})
    lines = [f"Report month **{report_month}**, seed {run_record.get('seed')}, started "
             f"{run_record.get('started_utc')} UTC.", "",
             "Parameters: " + ", ".join(f"{_name(k)} = {safe.markdown(v)}" for k, v in params.items()
                                        if k != "extra"), "",
             "Given with -p: " + (", ".join(f"{_name(k)} = {safe.markdown(v)}" for k, v in params["extra"].items())
                                  if params.get("extra") else "nothing"), "",
             _currency_line(run_record, currency), "",
             f"Input fingerprint (SHA-256): `{inp.get('combined_sha256', '–')}`; " + _inputs(inp), "",
             "Versions: " + ", ".join(f"{k} {v}" for k, v in (run_record.get("versions") or {}).items())]
    return Markdown("\n".join(lines))


def headline(metrics: dict, previous: dict | None, monitoring: pd.DataFrame, plan, consistency: pd.DataFrame,
             currency: str | None) -> dict:
    """The figures notebook 11 records in metrics.json: how many sentences and warnings the report
    gave, each monitoring check, the campaign plan, and whether last month's figures still agree."""
    return {
        "sentences": len(month_sentences(metrics, previous, currency)),
        "warnings": int((monitoring["status"] == "WARNING").sum()),
        "monitoring": {r.check: {"value": r.value, "status": r.status} for r in monitoring.itertuples()},
        "campaign": plan.summary() if plan is not None else None,
        "consistent_with_previous_report": bool(consistency["agrees"].all()) if len(consistency) else None,
    }
