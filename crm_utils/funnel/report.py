"""The funnel's section of the monthly report: from notebook 10's figures (metrics.json) and its
``funnel.parquet``, a sentence for the brief and the tables of the section. Nothing is computed
again; what notebook 10 could not show, the section cannot either, and says so."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd


@dataclass
class FunnelSection:
    """What the report shows of the funnel: one sentence, then its tables (none without leads)."""

    sentence: str
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def shown(self, currency: str | None = None) -> list:
        """The tables as the report shows them (shares in percent, amounts labelled with the
        currency, text from the data escaped), in order: for ``notebook.present``-like display."""
        from crm_utils import notebook

        out = []
        for table in self.tables.values():
            money = tuple(c for c in table.columns if str(c).startswith(("revenue", "value")))
            out.append(notebook.table(table, percent_columns=("won rate",), money_columns=money,
                                      currency=currency, index=True))
        return out


def brief_sentence(figures: dict, currency: str | None = None) -> str:
    """One sentence for "the month in brief" ("" when the run had no leads table)."""
    if not figures or not figures.get("leads"):
        return ""
    if not figures.get("closed"):
        return f"Sales funnel: none of the {figures['leads']:,} leads is closed yet, so there is no conversion to report."
    text = (f"Sales funnel: {figures['won']:,} of {figures['closed']:,} closed leads were won "
            f"({figures['won_rate']:.1%}, 95% interval {figures['won_rate_ci'][0]:.1%}–{figures['won_rate_ci'][1]:.1%})")
    if figures.get("best_source"):
        by = figures["won_rate_by_source"]
        text += (f"; {figures['best_source']} converts best ({by[figures['best_source']]:.1%}), "
                 f"{figures['worst_source']} worst ({by[figures['worst_source']]:.1%})")
    worth = figures.get("revenue_per_won_customer_by_source") or {}
    if worth:
        top = max(worth, key=lambda s: worth[s] if worth[s] is not None else float("-inf"))
        cur = f" {currency}" if currency else ""
        text += (f"; {top}'s won customers bought the most in their first {figures['value_days']} days "
                 f"({worth[top]:,.0f}{cur} each)")
    text += f". {figures['open_leads']:,} leads are open"
    if figures.get("stalled_leads"):
        text += f", {figures['stalled_leads']:,} of them stalled"
    return text + "."


def section(figures: dict, funnel: pd.DataFrame | None, currency: str | None = None) -> FunnelSection:
    """The report's funnel section: the sentence, won rate and worth by source, the open pipeline,
    the scoring verdict and what the data could not show."""
    if not figures or not figures.get("leads"):
        return FunnelSection(figures.get("skipped", "No leads table in this data: no sales funnel.") if figures
                             else "No sales funnel this month (no leads table, or the notebook did not run).")
    out = FunnelSection(brief_sentence(figures, currency))
    if funnel is not None and len(funnel):
        won = funnel[(funnel["section"] == "won")].set_index("group")
        by_source = pd.DataFrame({"closed leads": won["n"], "won rate": won["value"],
                                  "95% interval": [f"{lo:.1%}–{hi:.1%}" if pd.notna(lo) else "–"
                                                   for lo, hi in zip(won["ci_low"], won["ci_high"])]})
        value = funnel[(funnel["section"] == "value")].pivot(index="group", columns="measure", values="value")
        if len(value):
            by_source = by_source.join(value.rename(columns={
                "revenue_per_customer": f"revenue per won customer, first {figures.get('value_days')} days",
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
        out.notes.append(scoring["verdict"] + f" ({scoring['split']}.)")
    elif scoring.get("skipped"):
        out.notes.append(f"No lead-scoring comparison: {scoring['skipped']}.")
    if figures.get("cannot_show"):
        out.notes.append("Not shown for want of data: " + "; ".join(figures["cannot_show"]) + ".")
    return out
