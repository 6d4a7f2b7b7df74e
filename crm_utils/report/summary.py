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
from crm_utils.data.reasons import quarantine_label, reason_label, table_label
from crm_utils.demand.monitoring import series_label
from crm_utils.i18n import N_, _
from crm_utils.notebook import money, money_label, number, partial_month_note, percent
from crm_utils.report.campaigns import campaign_sentence
from crm_utils.stages import figures

#: Readable KPI names (English; shown through ``_()``, translated by the catalogue).
KPI_LABELS = {"revenue": N_("revenue"), "orders": N_("orders"), "active_customers": N_("active customers"),
              "new_customers": N_("new customers"), "returning_customers": N_("returning customers"),
              "average_order_value": N_("average order value"), "return_rate": N_("return rate")}


#: What a section of the report says when it has nothing to show (notebook 11), by section.
NOTHING = {
    "kpis": N_("The overview notebook did not run: no KPIs."),
    "consistent": N_("Last month's figures in this report agree with last month's own report."),
    "differ": N_("Last month's figures differ from last month's report (the data for that month changed since):"),
    "segments": N_("No segments this month (notebook 03 did not run or had no customers to segment)."),
    "targets": N_("No purchase predictions this month."),
    "forecast": N_("No demand forecast this month."),
    "forecast_check": N_("No demand forecast this month: last month's forecast was not checked."),
    "satisfaction": N_("No satisfaction clusters this month (no survey table, or too few responses)."),
    "campaign": N_("No campaign plan: it needs purchase predictions and segments."),
    "value": N_("No customer value this month (notebook 04 did not run, or the shop has no repeat buyers)."),
}
#: The parts of the report the run's tables can leave out, named for the 'not covered' sentence.
COVERED = {"customers": N_("customer profiles"), "segments": N_("segments"), "propensity": N_("purchase predictions"),
           "forecast": N_("demand forecast"), "satisfaction_clusters": N_("satisfaction")}


def nothing(section: str) -> str:
    """The sentence a report section prints when it has nothing to show, in the current language."""
    return _(NOTHING[section])


def not_covered(has: dict[str, bool]) -> str:
    """'Not covered this month (missing data or notebook): segments, ...', or '' when all are there."""
    missing = [_(label) for key, label in COVERED.items() if not has.get(key, False)]
    return _("Not covered this month (missing data or notebook): {parts}.").format(parts=_(", ").join(missing)) \
        if missing else ""


def no_previous_report(report_month: str) -> str:
    """Why last month's figures cannot be reconciled: no report of that month beside this one."""
    return _("No report for {month} in this reports folder: nothing to reconcile with.").format(
        month=pd.Period(report_month, freq="M") - 1)


def load_run(run_dir: str | Path, report_month: str) -> tuple[dict, dict | None, dict | None]:
    """This run's metrics, last month's metrics.json (None when absent) and this run's run.json."""
    run_dir = Path(run_dir)
    metrics = collect_metrics(run_dir) if (run_dir / "metrics").exists() else {}
    previous = LastMonth(run_dir, report_month).metrics()
    run_json = json.loads((run_dir / "run.json").read_text()) if (run_dir / "run.json").exists() else None
    return metrics, previous, run_json


def _pct(x: float) -> str:
    """'up 3.1%', 'down 2.0%' or 'unchanged'; only called with a finite change."""
    if round(x, 3) == 0:
        return _("unchanged")
    return (_("up {change}") if x > 0 else _("down {change}")).format(change=percent(abs(x), 1))


def _change(now: float | None, then: float | None) -> float:
    if now is None or then is None or not np.isfinite(then) or then == 0:
        return np.nan
    return now / then - 1


#: Readable headers of the report's tables, for the column names the stages hand over.
HEADERS = {"customer_id": N_("customer"), "p_purchase": N_("chance of buying next month"),
           "next_category": N_("likely next category"), "p_next_category": N_("chance of that category"),
           "voiced_need": N_("need voiced in notes"), "in this report": N_("in this report"),
           "in last month's report": N_("in last month's report"), "agrees": N_("agrees")}


def month_sentences(metrics: dict, previous: dict | None = None, currency: str | None = None) -> list[str]:
    """Up to nine sentences on the month, each written from the figures it quotes; amounts in
    ``currency``, or bare when the data declare none (never a currency they did not state).

    Order: sales, customers, segments, satisfaction, customer value, baskets, sales funnel, campaign,
    data quality; a sentence whose notebook
    did not run (or had nothing to say) is left out rather than filled with a stock phrase.
    """
    out = []
    partial = partial_sentence(metrics)
    ov = figures(metrics, "overview")
    k, prev, ly = ov.get("kpis", {}), ov.get("previous_month", {}), ov.get("same_month_last_year", {})
    if k.get("revenue") is not None:
        mom, yoy = _change(k["revenue"], prev.get("revenue")), _change(k["revenue"], ly.get("revenue"))
        text = _("Net revenue was {revenue}").format(revenue=money(k["revenue"], currency))
        text += (_(", {change} on last month").format(change=_pct(mom)) if np.isfinite(mom)
                 else _(" (no earlier month in the data to compare with)"))
        text += (_(" and {change} on the same month last year.").format(change=_pct(yoy)) if np.isfinite(yoy)
                 else _(" (the data do not reach back a full year for a seasonal comparison)."))
        aov = _change(k.get("average_order_value"), prev.get("average_order_value"))
        orders = _change(k.get("orders"), prev.get("orders"))
        if np.isfinite(aov) and np.isfinite(orders):
            driver = _("more orders") if abs(orders) >= abs(aov) and orders > 0 else \
                _("fewer orders") if abs(orders) >= abs(aov) else \
                _("larger baskets") if aov > 0 else _("smaller baskets")
            text = text[:-1] + _(", mostly from {driver} (orders {orders}, average order value {aov}).").format(
                driver=driver, orders=_pct(orders), aov=_pct(aov))
        out.append(text)
    if k.get("active_customers") is not None:
        new, ret = k.get("new_customers"), k.get("returning_customers")
        text = _("{customers} customers bought this month").format(customers=number(k["active_customers"]))
        if new is not None and ret is not None and np.isfinite(new):
            share = ret / k["active_customers"] if k["active_customers"] else np.nan
            text += _(": {new} for the first time and {returning} returning ({share} of buyers)").format(
                new=number(new), returning=number(ret), share=percent(share, 0))
        ret1 = ov.get("retention", {}).get("month_1")
        text += (_("; on average {share} of a month's new customers buy again the next month.").format(
            share=percent(ret1, 0)) if ret1 is not None else _("."))
        if ov.get("guest_lines"):
            text = text[:-1] + _("; customer figures leave out {lines} guest order line(s) with no customer id "
                                 "({revenue}, {share} of revenue).").format(
                lines=number(ov["guest_lines"]), revenue=money(ov.get("guest_revenue"), currency),
                share=percent(ov.get("guest_revenue_share")))
        out.append(text)
    elif ov.get("guest_lines"):
        out.append(_("Every one of this month's {lines} order lines is a guest sale with no customer id: the data "
                     "name no customers, so there are no customer figures, segments or targets.").format(
            lines=number(ov["guest_lines"])))
    seg = figures(metrics, "segments")
    if seg.get("segments"):
        biggest = max(seg["segments"].items(), key=lambda kv: kv[1]["customers"])
        text = _("The {customers} customers fall into {k} segments; the largest is '{segment}' with {share} of "
                 "customers").format(customers=number(seg["customers"]), k=seg["k"], segment=segment_label(biggest[0]),
                                     share=percent(biggest[1]["share"], 0))
        mig = seg.get("migration") or {}
        if mig.get("stayed_share") is not None and np.isfinite(mig["stayed_share"]):
            text += _(", and {share} of last month's customers kept their segment.").format(
                share=percent(mig["stayed_share"], 0))
        else:
            text += _(".")
        out.append(text)
    sat = figures(metrics, "satisfaction")
    nps = sat.get("nps") or {}
    if isinstance(nps, dict) and nps.get("nps") is not None:
        text = _("Net promoter score over the survey window is {nps}").format(nps=number(nps["nps"], signed=True))
        if nps.get("ci_low") is not None:
            text += _(" (95% interval {low} to {high})").format(low=number(nps["ci_low"], signed=True),
                                                               high=number(nps["ci_high"], signed=True))
        prev_nps = (figures(previous or {}, "satisfaction").get("nps") or {}).get("nps")
        text += _(", against {nps} in last month's report (its window was one month earlier).").format(
            nps=number(prev_nps, signed=True)) if prev_nps is not None else _(".")
        out.append(text)
    out += stage_sentences(metrics, currency)
    out.append(campaign_sentence(metrics, currency))  # '' when the contact stage did not run
    out = [text for text in out if text]
    clean = figures(metrics, "data")
    if clean.get("tables"):
        rows_in = sum(t["rows_in"] for t in clean["tables"].values())
        quarantined = sum(t["quarantined"] for t in clean["tables"].values())
        top = max(clean.get("quarantined_by_reason", {}).items(), key=lambda kv: kv[1], default=None)
        text = _("Of {rows} input rows, {quarantined} ({share}) were set aside in quarantine").format(
            rows=number(rows_in), quarantined=number(quarantined), share=percent(quarantined / max(rows_in, 1), 2))
        text += _(", most often for '{reason}' ({rows} rows).").format(reason=quarantine_label(top[0]),
                                                                            rows=number(top[1])) \
            if top else _(".")
        if clean.get("merged_duplicate_lines"):
            text = text[:-1] + _("; {lines} order line(s) ({revenue}, {share} of revenue) were merged as exact "
                                 "duplicates (set exact_duplicates: keep if the export lists one line per item)."
                                 ).format(lines=number(clean["merged_duplicate_lines"]),
                                          revenue=money(clean.get("merged_duplicate_revenue"), currency),
                                          share=percent(clean.get("merged_duplicate_revenue_share")))
        out.append(text)
    return ([partial] if partial else []) + out[:9]


def stage_sentences(metrics: dict, currency: str | None = None) -> list[str]:
    """The brief's sentence of each later stage that ran: customer value (04), what sells together (06)
    and the sales funnel (10), each written by its stage's own report module from its recorded figures."""
    from crm_utils.baskets.section import headline_sentence as baskets_sentence
    from crm_utils.funnel.report import brief_sentence as funnel_sentence

    out = []
    value = figures(metrics, "value")
    if value:
        from crm_utils.value.handover import report_section as value_section  # imports PyMC: only when it ran

        out.append((value_section(value, currency)[0] or [""])[0])
    baskets = figures(metrics, "baskets")
    if baskets:
        out.append(baskets_sentence(baskets))
    funnel = figures(metrics, "funnel")
    if funnel:
        out.append(funnel_sentence(funnel, currency))
    return [s for s in out if s]


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
        return prop.get("not_possible") or _("Purchase prediction is not possible for this shop.")
    notes = []
    check = prop.get("buyers_check") or {}
    if check and not check.get("within_tolerance", True):
        notes.append(_("Caution: on the test month the model expected {expected} buyers where {realised} bought "
                       "({off}), beyond the {tolerance} the kit promises: read the expected numbers below as rough."
                       ).format(expected=number(check["expected"]), realised=number(check["realised"]),
                                off=percent(check["ratio"] - 1, 1, signed=True),
                                tolerance=percent(check["tolerance"], 0)))
    selected = prop.get("selected")
    auc = ((prop.get("test") or {}).get(selected) or {}).get("roc_auc")
    if auc is not None and auc < min_auc:
        notes.append(_("The selected model ({model}) ranked the test month's customers with ROC-AUC {auc}, below the "
                       "report's {min_auc} (0.5 is a coin toss): the target list below is little better than a random "
                       "pick.").format(model=_(selected), auc=number(auc, 2), min_auc=number(min_auc, 2)))
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
            head = _("The {measure} forecast of {series} by {model} failed the sanity gate ({reason})").format(
                measure=_(measure), series=series_label(r.get("series")), model=r["model"], reason=r["reason"])
            if r["fallback"] == r["model"]:
                parts.append(head + _("; no simpler model was left to fall back to, so it is shown with this warning."))
            elif r.get("fallback_passed", True):
                parts.append(head + _("; {fallback} is shown instead.").format(fallback=r["fallback"]))
            else:
                parts.append(head + _("; {fallback} is shown instead, and it too is outside the band: treat this "
                                      "series' forecast with care.").format(fallback=r["fallback"]))
    for measure, rows in (d.get("gate_after_reconciliation") or {}).items():
        for r in rows:
            parts.append(_("After the levels were made to add up, the {measure} forecast of {series} is outside the "
                           "sanity band ({reason}).").format(measure=_(measure), series=series_label(r.get("series")),
                                                             reason=r["reason"]))
    if d.get("peak") and not d.get("peak_tested", True):
        parts.append(_("The history's seasonal peak ({peak}) was never in a backtest window, so forecasts near its "
                       "anniversary are untested and held to a stricter sanity band.").format(peak=d["peak"]))
    how = {"total": _("top-down: the total forecast is kept"),
           "category": _("bottom-up: the total is the sum of the categories")}
    rec = d.get("reconciliation")
    if isinstance(rec, dict) and rec:
        parts.append(_("Categories add up to the total ({how}).").format(
            how=_("; ").join(f"{_(m)}: {how.get(a, a)}" for m, a in rec.items())))
    return " ".join(parts)


def kpi_frame(metrics: dict) -> pd.DataFrame:
    """The KPI table of notebook 02 rebuilt from its metrics (this month, last month, last year, changes)."""
    ov = figures(metrics, "overview")
    if not ov.get("kpis"):
        return pd.DataFrame()
    frame = pd.DataFrame({N_("this month"): ov["kpis"], N_("previous month"): ov.get("previous_month", {}),
                          N_("same month last year"): ov.get("same_month_last_year", {}),
                          N_("change vs previous month"): ov.get("change_vs_previous_month", {}),
                          N_("change vs last year"): ov.get("change_vs_last_year", {})}).astype(float)
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
    labels = {k: money_label(v, currency) if k in MONEY else _(v) for k, v in KPI_LABELS.items()}
    return format_kpis(frame).rename(index=labels, columns=_).rename_axis(None)


def quarantine_table(metrics: dict) -> pd.DataFrame:
    """Rows quarantined this month, by table and reason (from notebook 01)."""
    reasons = figures(metrics, "data").get("quarantined_by_reason", {})
    if not reasons:
        return pd.DataFrame(columns=[N_("table"), N_("reason"), N_("rows")])
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
    shown["agrees"] = consistency["agrees"].map({True: _("yes"), False: _("no")})
    labels = {k: money_label(v, currency) if k in ("revenue", "average_order_value") else _(v)
              for k, v in KPI_LABELS.items()}
    return shown.rename(index=labels, columns=lambda c: _(HEADERS.get(c, c))).rename_axis(_("last month's figure"))


def monitoring_table(checks: list[dict]) -> pd.DataFrame:
    """Model checks with their thresholds: each dict has check, value, threshold, direction ('min'/'max').

    A check whose value could not be measured (no data yet) is 'not measurable', never 'ok'.
    """
    rows = []
    for c in checks:
        v, t = c.get("value"), c["threshold"]
        if v is None or not np.isfinite(v):
            status = N_("not measurable")
        elif (c["direction"] == "min" and v < t) or (c["direction"] == "max" and v > t):
            status = N_("WARNING")
        else:
            status = N_("ok")
        rows.append({"check": c["check"], "value": v, "threshold": f"{'≥' if c['direction'] == 'min' else '≤'} {t}",
                     "status": status, "source": c.get("source", "")})
    return pd.DataFrame(rows)


def segment_table(segments: pd.DataFrame) -> pd.DataFrame:
    """Segments with size, share, median spend, orders and recency."""
    g = segments.groupby(["segment_id", "segment_name"], observed=True)
    out = pd.DataFrame({"customers": g.size(), "median net spend": g["monetary"].median().round(0).astype(int),
                        "median orders": g["frequency"].median().round(0).astype(int),
                        "median days since last order": g["recency_days"].median().round(0).astype(int)})
    out.insert(1, "share", (out["customers"] / out["customers"].sum()).map(lambda v: percent(v, 0)))
    out = out.reset_index(level="segment_id", drop=True)
    out.index = out.index.map(segment_label)
    # Headers stay keys (notebook 11 names the money column); ``notebook.table`` shows them translated.
    N_("customers"), N_("share"), N_("median net spend"), N_("median orders"), N_("median days since last order")
    return out.rename_axis(_("segment"))


def segment_label(name: str) -> str:
    """A segment's name in the current language: its RFM label and 'mixed basket' translated,
    a category from the data as the data write it ("At risk · Tents (3)" -> "流失风险 · Tents (3)")."""
    from crm_utils.customers.segmentation import MIXED

    head, sep, tail = str(name).partition(" · ")
    label = _(head)
    if not sep:
        return label
    m = re.match(r"^(.*?)( \(\d+\))?$", tail)
    category = _(MIXED) if m.group(1) == MIXED else m.group(1)
    return f"{label} · {category}{m.group(2) or ''}"


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
    return shown.rename(columns=lambda c: _(HEADERS.get(c, c)))


def satisfaction_table(sat: dict) -> pd.DataFrame:
    """Satisfaction clusters with their share of responses and churn, from notebook 09's figures."""
    share, churn, repurchase = sat.get("cluster_share", {}), sat.get("churn_rate", {}), sat.get("repurchase_rate", {})
    out = pd.DataFrame({"share of responses": share, "churn rate": churn, "repurchase within 90 days": repurchase})
    out = out.sort_values("share of responses", ascending=False).apply(lambda col: col.map(lambda v: percent(v, 0)))
    out.index = out.index.map(cluster_label)
    return out.rename(columns={c: _(c) for c in (N_("share of responses"), N_("churn rate"),
                                                 N_("repurchase within 90 days"))})


#: Words the report shows from the stages' records: forecast series and measures, campaign channels.
RECORD_WORDS = (N_("total"), N_("units"), N_("revenue"), N_("email"), N_("direct mail"), N_("phone"))
#: The words of satisfaction clusters' names (``satisfaction.analysis.name_clusters``), for the catalogue.
CLUSTER_WORDS = (N_("Delighted"), N_("Dissatisfied overall"), N_("Mostly satisfied"),
                 N_("Not clustered (too few answers)"), N_("Not clustered (no dense group)"))


def cluster_label(name: str) -> str:
    """A satisfaction cluster's name (``satisfaction.analysis.name_clusters``) in the current
    language: the rule's words translated, the survey's item labels as the data give them."""
    m = re.match(r"^(.*?)(, lowest: (.+?))?( \(-?\d+\))?$", str(name))
    head, lowest, suffix = m.group(1), m.group(3), m.group(4) or ""
    if head.startswith("Unhappy with "):
        head = _("Unhappy with {items}").format(items=_(" and ").join(head[len("Unhappy with "):].split(" and ")))
    else:
        head = _(head)  # the rule's other names (CLUSTER_WORDS)
    return head + (_(", lowest: {item}").format(item=lowest) if lowest else "") + suffix


def monitoring_view(monitoring: pd.DataFrame):
    """:func:`monitoring_table` for the reader, in the current language: checks, statuses and
    headers translated, values to three significant figures (the frame itself keeps the keys
    that :func:`headline` records)."""
    from crm_utils import safe

    shown = monitoring.assign(check=monitoring["check"].map(_), status=monitoring["status"].map(_),
                              source=monitoring["source"].map(_))
    shown = shown.rename(columns={c: _(c) for c in (N_("check"), N_("value"), N_("threshold"), N_("status"),
                                                     N_("source"))})
    return safe.styler(shown, {_("value"): lambda v: "–" if pd.isna(v) else f"{v:.3g}"}, hide_index=True)


def monitoring_warnings(monitoring: pd.DataFrame) -> list[str]:
    """One sentence per check outside its threshold, in the current language."""
    return [_("WARNING: {check} is {value}, outside {threshold} ({source}).").format(
        check=_(r.check), value=f"{r.value:.3g}", threshold=r.threshold, source=_(r.source))
        for r in monitoring[monitoring["status"] == "WARNING"].itertuples()]


def quarantine_view(quarantine: pd.DataFrame, rows: int = 12):
    """:func:`quarantine_table` for the reader: the first ``rows`` reasons with translated headers
    and the tables' names and the cleaning rules' reasons in the current language, escaped."""
    from crm_utils import safe

    shown = quarantine.head(rows).assign(table=lambda q: q["table"].map(table_label),
                                         reason=lambda q: q["reason"].map(reason_label))
    return safe.styler(shown.rename(columns=_), {_("rows"): number}, hide_index=True)


def quarantine_sentence(quarantine: pd.DataFrame) -> str:
    """'1,234 rows quarantined' or 'No rows quarantined.', in the current language."""
    return (_("{rows} rows quarantined").format(rows=number(quarantine["rows"].sum())) if len(quarantine)
            else _("No rows quarantined."))


def monitoring_checks(metrics: dict, forecast_check: pd.DataFrame, *, min_auc: float, min_interval_coverage: float,
                      max_forecast_error: float, min_share_beating_naive: float,
                      max_value_error: float = 0.25) -> list[dict]:
    """The checks of the monitoring table, from notebooks 04, 05 and 08 and last month's forecast."""
    checks = []
    value = figures(metrics, "value").get("monitoring") or {}
    checks.append({"check": N_("last month's expected purchases (customer value): relative error over this month"),
                   "value": abs(value["error"]) if value.get("error") is not None else None,
                   "threshold": max_value_error, "direction": "max", "source": value.get("source", N_("notebook 04"))})
    mon = figures(metrics, "needs").get("monitoring") or {}
    checks.append({"check": N_("last month's purchase scores: realised ROC-AUC"), "value": mon.get("roc_auc"),
                   "threshold": min_auc, "direction": "min", "source": mon.get("source", N_("notebook 05"))})
    total = forecast_check[forecast_check["series"] == "total"] if len(forecast_check) else forecast_check
    err = (abs(total["yhat"].sum() - total["actual"].sum()) / total["actual"].sum()
           if len(total) and total["actual"].sum() > 0 else None)
    checks.append({"check": N_("last month's total forecast: relative error over the weeks since"), "value": err,
                   "threshold": max_forecast_error, "direction": "max",
                   "source": N_("forecast of last month's report")})
    cov = float(forecast_check["inside"].mean()) if len(forecast_check) else None
    checks.append({"check": N_("last month's forecasts (total and categories): share of series-weeks inside the "
                               "80% interval"), "value": cov,
                   "threshold": min_interval_coverage, "direction": "min",
                   "source": N_("forecast of last month's report")})
    nested = figures(metrics, "demand").get("nested_share_beating_seasonal_naive") or {}
    checks.append({"check": N_("this month's backtest: share of category forecasts beating seasonal naive "
                               "(model picked on earlier cutoffs only)"),
                   "value": nested.get("category"), "threshold": min_share_beating_naive,
                   "direction": "min", "source": N_("notebook 08")})
    return checks


def _inputs(inp: dict) -> str:
    """What the run read: its files, or a database's tables with their row counts (password-free)."""
    from crm_utils import safe

    if "tables" in inp:
        tables = _(", ").join(_("{table} ({rows} rows)").format(table=safe.markdown(t), rows=number(v["rows"]))
                              if isinstance(v.get("rows"), int) else safe.markdown(t) for t, v in inp["tables"].items())
        return _("database {source}, tables: {tables}").format(source=safe.markdown(inp.get("source", "")),
                                                              tables=tables)
    return _("files: {files}").format(files=_(", ").join(safe.markdown(f) for f in inp.get("files", {})))


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
        return _("Amounts in {currency}, as the data declare it (their mapping).").format(currency=currency)
    if currency:
        return _("Amounts in {currency}, as given with -p currency").format(currency=currency) + (
            _(" (the data declare {declared}).").format(declared=declared) if declared
            else _(" (the data declare no currency)."))
    return _("The data declare no currency, so amounts are shown without one (declare it with `currency:` in the "
             "mapping).")


def footer(run_record: dict | None, report_month: str, currency: str | None = None):
    """The run's parameters, currency, versions and input fingerprint, as Markdown."""
    from IPython.display import Markdown

    from crm_utils import safe
    from crm_utils.versions import versions

    if run_record is None:
        lines = [_("Interactive run for {month} (no run record: run `crm-report run` for a scheduled report)."
                   ).format(month=report_month),
                 "", _("Versions: {versions}").format(versions=", ".join(f"{k} {v}" for k, v in versions().items()))]
        return Markdown("\n".join(lines))
    inp = run_record.get("input", {})
    params = run_record.get("parameters", {})
    lines = [_("Report month **{month}**, seed {seed}, started {started} UTC.").format(
                 month=report_month, seed=run_record.get("seed"), started=run_record.get("started_utc")), "",
             _("Parameters: {parameters}").format(parameters=", ".join(
                 f"{_name(k)} = {safe.markdown(v)}" for k, v in params.items() if k != "extra")), "",
             _("Given with -p: {parameters}").format(parameters=", ".join(
                 f"{_name(k)} = {safe.markdown(v)}" for k, v in params["extra"].items())
                 if params.get("extra") else _("nothing")), "",
             _currency_line(run_record, currency), "",
             _("Input fingerprint (SHA-256): `{digest}`; {inputs}").format(digest=inp.get("combined_sha256", "–"),
                                                                          inputs=_inputs(inp)), "",
             _("Versions: {versions}").format(versions=", ".join(
                 f"{k} {v}" for k, v in (run_record.get("versions") or {}).items()))]
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
