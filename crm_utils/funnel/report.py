"""The funnel's section of the monthly report: from notebook 10's figures (metrics.json) and its
``funnel.parquet``, a sentence for the brief and the tables of the section. Nothing is computed
again; what notebook 10 could not show, the section cannot either, and says so."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from crm_utils.i18n import N_, _
from crm_utils.notebook import money, number, percent

#: The tables' headers: kept in English in the frames (the report formats columns by these names)
#: and translated by ``notebook.table`` when shown (:meth:`FunnelSection.shown`).
HEADERS = (N_("closed leads"), N_("won rate"), N_("95% interval"), N_("revenue per lead"), N_("open leads"),
           N_("stalled"), N_("value"), N_("value weighted by chance to win"), N_("source"), N_("open at stage"))
#: The revenue-per-customer column names its window: shown through this message.
REVENUE_PER_CUSTOMER = N_("revenue per won customer, first {days} days")
#: The open pipeline's stages (funnel.leads.STAGES), as the table names them.
STAGE_WORDS = (N_("created"), N_("contacted"), N_("qualified"), N_("proposal"))


@dataclass
class FunnelSection:
    """What the report shows of the funnel: one sentence, then its tables (none without leads)."""

    sentence: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    value_days: object = None

    def shown(self, currency: str | None = None) -> list:
        """The tables as the report shows them (shares in percent, amounts labelled with the
        currency, text from the data escaped), in order: for ``notebook.present``-like display."""
        from crm_utils import notebook

        out = []
        per_customer = REVENUE_PER_CUSTOMER.format(days=self.value_days)
        for table in self.tables.values():
            amounts = tuple(c for c in table.columns if str(c).startswith(("revenue", "value")))
            headers = {c: _(REVENUE_PER_CUSTOMER).format(days=self.value_days) if c == per_customer else c
                       for c in table.columns}
            shown = table.rename(index=lambda v: _(v) if v in STAGE_WORDS else v)
            shown.index.name = _(table.index.name) if table.index.name else None
            out.append(notebook.table(shown, headers, percent_columns=("won rate",), money_columns=amounts,
                                      currency=currency, index=True))
        return out


def brief_sentence(figures: dict, currency: str | None = None) -> str:
    """One sentence for "the month in brief" ("" when the run had no leads table), in the current
    language (sources are named as the data write them)."""
    if not figures or not figures.get("leads"):
        return ""
    if not figures.get("closed"):
        return _("Sales funnel: none of the {leads} leads is closed yet, so there is no conversion to report.").format(
            leads=number(figures["leads"]))
    low, high = figures["won_rate_ci"]
    text = _("Sales funnel: {won} of {closed} closed leads were won ({rate}, 95% interval {low}–{high})").format(
        won=number(figures["won"]), closed=number(figures["closed"]), rate=percent(figures["won_rate"]),
        low=percent(low), high=percent(high))
    if figures.get("best_source"):
        by, best, worst = figures["won_rate_by_source"], figures["best_source"], figures["worst_source"]
        text += _("; {best} converts best ({best_rate}), {worst} worst ({worst_rate})").format(
            best=best, best_rate=percent(by[best]), worst=worst, worst_rate=percent(by[worst]))
    worth = figures.get("revenue_per_won_customer_by_source") or {}
    if worth:
        top = max(worth, key=lambda s: worth[s] if worth[s] is not None else float("-inf"))
        text += _("; {source}'s won customers bought the most in their first {days} days ({amount} each)").format(
            source=top, days=figures["value_days"], amount=money(worth[top], currency))
    text += _(". {open} leads are open").format(open=number(figures["open_leads"]))
    if figures.get("stalled_leads"):
        text += _(", {stalled} of them stalled").format(stalled=number(figures["stalled_leads"]))
    return text + _(".")


def section(figures: dict, funnel: pd.DataFrame | None, currency: str | None = None) -> FunnelSection:
    """The report's funnel section: the sentence, won rate and worth by source, the open pipeline,
    the scoring verdict and what the data could not show."""
    if not figures or not figures.get("leads"):
        return FunnelSection(figures.get("skipped", _("No leads table in this data: no sales funnel.")) if figures
                             else _("No sales funnel this month (no leads table, or the notebook did not run)."))
    out = FunnelSection(brief_sentence(figures, currency), value_days=figures.get("value_days"))
    if funnel is not None and len(funnel):
        won = funnel[(funnel["section"] == "won")].set_index("group")
        by_source = pd.DataFrame({"closed leads": won["n"], "won rate": won["value"],
                                  "95% interval": [f"{percent(lo)}–{percent(hi)}" if pd.notna(lo) else "–"
                                                   for lo, hi in zip(won["ci_low"], won["ci_high"])]})
        value = funnel[(funnel["section"] == "value")].pivot(index="group", columns="measure", values="value")
        if len(value):
            by_source = by_source.join(value.rename(columns={
                "revenue_per_customer": REVENUE_PER_CUSTOMER.format(days=figures.get("value_days")),
                "revenue_per_lead": "revenue per lead"}))
        by_source.index.name, by_source.columns.name = "source", None
        out.tables["by_source"] = by_source.sort_values("won rate", ascending=False)
        pipe = funnel[funnel["section"] == "pipeline"].pivot(index="group", columns="measure", values="value")
        if len(pipe):
            pipe = pipe.reindex([s for s in ("created", "contacted", "qualified", "proposal") if s in pipe.index])
            pipe.index.name, pipe.columns.name = "open at stage", None
            out.tables["pipeline"] = pipe[["open_leads", "stalled", "value", "weighted_value"]].rename(columns={
                "open_leads": "open leads", "weighted_value": "value weighted by chance to win"})
    scoring = figures.get("scoring") or {}
    if scoring.get("verdict"):
        out.notes.append(_("{verdict} ({split}.)").format(verdict=scoring["verdict"], split=scoring["split"]))
    elif scoring.get("skipped"):
        out.notes.append(_("No lead-scoring comparison: {reason}.").format(reason=scoring["skipped"]))
    if figures.get("cannot_show"):
        out.notes.append(_("Not shown for want of data: {what}.").format(what=_("; ").join(figures["cannot_show"])))
    return out
