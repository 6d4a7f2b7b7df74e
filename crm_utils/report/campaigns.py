"""The report's campaign section, read from what the contacts stage (notebook 07) handed over.

The report recomputes nothing: the plan, its intervals, the comparison with contacting nobody and
everyone, the shadow prices and last month's verdict are the stage's figures in metrics.json
(``stages.figures(metrics, "contacts")``) and its ``campaign_plan`` artifact. Every amount is an
*incremental* margin: purchases the contacts add, net of what the contacts cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crm_utils.contacts.plan import channel_label
from crm_utils.i18n import N_, _
from crm_utils.notebook import money, money_label, number, percent
from crm_utils.stages import figures

#: The outlook table's rows (shown through ``_()``).
ROWS = {"plan": N_("optimised plan"), "nobody": N_("contact nobody"), "everyone": N_("contact everyone")}
#: What the brief says of last month's campaign, by the verdict's status (control.judge).
VERDICTS = {"paid": N_("last month's campaign paid"), "did not pay": N_("last month's campaign did not pay"),
            "cannot tell": N_("whether last month's campaign paid cannot be told yet (its interval spans zero)"),
            "not carried out": N_("last month's campaign was not carried out as planned"),
            "window open": N_("last month's campaign is judged next month")}


def _range(f: dict, fmt) -> str:
    """'120 (80 to 160)' from a {low, expected, high} figure."""
    if f["low"] == f["high"]:
        return fmt(f["expected"])
    return _("{expected} ({low} to {high})").format(expected=fmt(f["expected"]), low=fmt(f["low"]),
                                                   high=fmt(f["high"]))


def _names(names: list[str]) -> str:
    """Channels listed in the current language (:func:`channel_label`)."""
    return _(", ").join(channel_label(name) for name in names)


@dataclass
class CampaignSection:
    """The campaign section of the report: sentences, tables and the figures the report records."""

    figures: dict
    plan: pd.DataFrame | None
    currency: str | None

    @classmethod
    def from_run(cls, metrics: dict, campaign_plan: pd.DataFrame | None, currency: str | None) -> "CampaignSection":
        """The section from a run's metrics and its ``campaign_plan`` artifact (None when absent)."""
        return cls(figures(metrics, "contacts"), campaign_plan, currency)

    @property
    def available(self) -> bool:
        return bool(self.figures.get("plan"))

    def _money(self, value: float) -> str:
        return money(value, self.currency)

    def basis(self) -> str:
        """Which uplifts were measured and which assumed: every figure below rests on them."""
        f = self.figures
        measured, assumed = f.get("measured_channels", []), f.get("assumed_channels", [])
        if not measured:
            return _("Assumed uplifts only ({channels}): {message} The figures below are as good as the assumptions "
                     "(the contact stage's parameter assumed_uplift).").format(
                channels=_names(assumed), message=f.get("effects_message", ""))
        if assumed:
            return _("Uplifts measured from the interactions log for {measured}; assumed for {assumed} (parameter "
                     "assumed_uplift).").format(measured=_names(measured), assumed=_names(assumed))
        return _("Uplifts measured from the interactions log for {measured}.").format(measured=_names(measured))

    def sentences(self) -> list[str]:
        """The plan in words: added buyers and margin with intervals, against nobody and everyone,
        what more budget is worth, the hold-out and last month's verdict (in the current language)."""
        if not self.available:
            reason = self.figures.get("no_plan_reason") or _("No campaign plan this month: the contact stage did not "
                                                             "run (it needs customers, purchase predictions and "
                                                             "segments).")
            verdict = (self.figures.get("verdict") or {}).get("sentence")
            return [reason] + ([verdict] if verdict else [])
        f, m = self.figures, self._money
        p, every = f["plan"], f["everyone"]
        out = [self.basis(),
               _("The plan contacts {contacts} customers for {cost} of a {budget} budget and is expected to add "
                 "{buyers} buyers and {margin} of margin after contact costs. Contacting nobody adds nothing and "
                 "costs nothing; contacting everyone ({every_contacts} contacts, {every_cost}) would add "
                 "{every_margin}.").format(
                   contacts=number(p["contacts"]), cost=m(p["cost"]), budget=m(f["budget"]),
                   buyers=_range(p["incremental_buyers"], number), margin=_range(p["incremental_margin"], m),
                   every_contacts=number(every["contacts"]), every_cost=m(every["cost"]),
                   every_margin=_range(every["incremental_margin"], m))]
        out.append(_("Of the purchases the contacted customers are expected to make, {anyway} would happen without "
                     "any contact: they are not counted.").format(anyway=number(p["buyers_anyway"])))
        price = f.get("budget_shadow_price", 0.0)
        out.append(_("One more {unit} of budget would add {value} of incremental margin").format(
            unit=self.currency or _("unit"), value=money(price, self.currency, 2))
            + (_(" (the budget does not limit the plan).") if abs(price) < 1e-9 else _(".")))
        c = f.get("control", {})
        if c:
            out.append(_("{customers} customers ({share} of each segment and propensity decile) are held out as a "
                         "control group (targets.csv, column group) and must not be contacted; next month's report "
                         "compares their purchases with the contacted customers'.").format(
                customers=number(c["control_in_campaign"]), share=percent(c["share"], 0)))
        verdict = f.get("verdict", {})
        if verdict.get("sentence"):
            out.append(verdict["sentence"])
        return out

    def outlook_table(self) -> pd.DataFrame | None:
        """Plan, nobody and everyone: contacts, cost, added buyers and incremental margin with ranges
        (labels in the current language)."""
        if not self.available:
            return None
        rows = {}
        for key, label in ROWS.items():
            f = self.figures[key]
            rows[_(label)] = {_("contacts"): number(f["contacts"]),
                              money_label(N_("cost"), self.currency): number(f["cost"]),
                              _("added buyers (range)"): _range(f["incremental_buyers"], number),
                              money_label(N_("incremental margin (range)"), self.currency):
                                  _range(f["incremental_margin"], number)}
        return pd.DataFrame(rows).T

    def plan_table(self) -> pd.DataFrame | None:
        """Customers to contact per segment and channel (readable channel names, in the current
        language where the catalogue has the channel)."""
        if self.plan is None or not len(self.plan):
            return None
        shown = self.plan.pivot_table(index="segment_name", columns="channel", values="contacts", aggfunc="sum",
                                      fill_value=0).astype(int)
        from crm_utils.report.summary import segment_label  # summary imports this module

        shown.columns = [channel_label(c) for c in shown.columns]
        shown.index = shown.index.map(segment_label)
        return shown.rename_axis(None).rename_axis(None, axis=1)

    def summary(self) -> dict | None:
        """What the report records under ``campaign`` in metrics.json."""
        if not self.available:
            return None
        f = self.figures
        return {"budget": f["budget"], "cost": f["plan"]["cost"], "contacts": f["plan"]["contacts"],
                "incremental_buyers": f["plan"]["incremental_buyers"],
                "incremental_margin": f["plan"]["incremental_margin"],
                "budget_shadow_price": f.get("budget_shadow_price"),
                "assumed_only": not f.get("measured_channels"),
                "last_month_verdict": (f.get("verdict") or {}).get("status")}


def campaign_sentence(metrics: dict, currency: str | None) -> str:
    """The brief's sentence on next month's campaign and last month's ('' when the stage did not run),
    in the current language."""
    f = figures(metrics, "contacts")
    if not f.get("plan"):
        return ""
    p = f["plan"]
    values = {"contacts": number(p["contacts"]), "cost": money(p["cost"], currency),
              "buyers": number(p["incremental_buyers"]["expected"]),
              "margin": _range(p["incremental_margin"], lambda v: money(v, currency))}
    text = (_("Next month's campaign contacts {contacts} customers for {cost} and is expected to add {buyers} buyers "
              "and {margin} of margin after contact costs, counting only purchases the contacts add (on assumed "
              "uplifts: the data measure none)") if not f.get("measured_channels") else
            _("Next month's campaign contacts {contacts} customers for {cost} and is expected to add {buyers} buyers "
              "and {margin} of margin after contact costs, counting only purchases the contacts add")).format(**values)
    said = VERDICTS.get((f.get("verdict") or {}).get("status"))
    return text + (_("; {verdict}.").format(verdict=_(said)) if said else
                   _("; last month had no campaign plan to judge."))
