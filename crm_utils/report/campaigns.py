"""The report's campaign section, read from what the contacts stage (notebook 07) handed over.

The report recomputes nothing: the plan, its intervals, the comparison with contacting nobody and
everyone, the shadow prices and last month's verdict are the stage's figures in metrics.json
(``stages.figures(metrics, "contacts")``) and its ``campaign_plan`` artifact. Every amount is an
*incremental* margin: purchases the contacts add, net of what the contacts cost.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from crm_utils.notebook import money, money_label, number, percent
from crm_utils.stages import figures

ROWS = {"plan": "optimised plan", "nobody": "contact nobody", "everyone": "contact everyone"}


def _range(f: dict, fmt) -> str:
    """'120 (80 to 160)' from a {low, expected, high} figure."""
    if f["low"] == f["high"]:
        return fmt(f["expected"])
    return f"{fmt(f['expected'])} ({fmt(f['low'])} to {fmt(f['high'])})"


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
            return (f"Assumed uplifts only ({', '.join(assumed)}): {f.get('effects_message', '')} The figures below "
                    f"are as good as the assumptions (the contact stage's parameter assumed_uplift).")
        text = f"Uplifts measured from the interactions log for {', '.join(measured)}"
        return text + (f"; assumed for {', '.join(assumed)} (parameter assumed_uplift)." if assumed else ".")

    def sentences(self) -> list[str]:
        """The plan in words: added buyers and margin with intervals, against nobody and everyone,
        what more budget is worth, the hold-out and last month's verdict."""
        if not self.available:
            reason = self.figures.get("no_plan_reason") or ("No campaign plan this month: the contact stage did not "
                                                            "run (it needs customers, purchase predictions and segments).")
            verdict = (self.figures.get("verdict") or {}).get("sentence")
            return [reason] + ([verdict] if verdict else [])
        f, m = self.figures, self._money
        p, every = f["plan"], f["everyone"]
        out = [self.basis(),
               f"The plan contacts {p['contacts']:,} customers for {m(p['cost'])} of a {m(f['budget'])} budget and is "
               f"expected to add {_range(p['incremental_buyers'], lambda v: number(v))} buyers and "
               f"{_range(p['incremental_margin'], m)} of margin after contact costs. Contacting nobody adds nothing "
               f"and costs nothing; contacting everyone ({every['contacts']:,} contacts, {m(every['cost'])}) would "
               f"add {_range(every['incremental_margin'], m)}."]
        out.append(f"Of the purchases the contacted customers are expected to make, "
                   f"{number(p['buyers_anyway'])} would happen without any contact: they are not counted.")
        price = f.get("budget_shadow_price", 0.0)
        out.append(f"One more {self.currency or 'unit'} of budget would add {money(price, self.currency, 2)} of "
                   f"incremental margin" + (" (the budget does not limit the plan)." if abs(price) < 1e-9 else "."))
        c = f.get("control", {})
        if c:
            out.append(f"{c['control_in_campaign']:,} customers ({percent(c['share'], 0)} of each segment and "
                       f"propensity decile) are held out as a control group (targets.csv, column group) and must not "
                       f"be contacted; next month's report compares their purchases with the contacted customers'.")
        verdict = f.get("verdict", {})
        if verdict.get("sentence"):
            out.append(verdict["sentence"])
        return out

    def outlook_table(self) -> pd.DataFrame | None:
        """Plan, nobody and everyone: contacts, cost, added buyers and incremental margin with ranges."""
        if not self.available:
            return None
        rows = {}
        for key, label in ROWS.items():
            f = self.figures[key]
            rows[label] = {"contacts": number(f["contacts"]), money_label("cost", self.currency): number(f["cost"]),
                           "added buyers (range)": _range(f["incremental_buyers"], number),
                           money_label("incremental margin (range)", self.currency):
                               _range(f["incremental_margin"], number)}
        return pd.DataFrame(rows).T

    def plan_table(self) -> pd.DataFrame | None:
        """Customers to contact per segment and channel (readable channel names)."""
        if self.plan is None or not len(self.plan):
            return None
        shown = self.plan.pivot_table(index="segment_name", columns="channel", values="contacts", aggfunc="sum",
                                      fill_value=0).astype(int)
        shown.columns = [str(c).replace("_", " ") for c in shown.columns]
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
    """The brief's sentence on next month's campaign and last month's ('' when the stage did not run)."""
    f = figures(metrics, "contacts")
    if not f.get("plan"):
        return ""
    p = f["plan"]
    text = (f"Next month's campaign contacts {p['contacts']:,} customers for {money(p['cost'], currency)} and is "
            f"expected to add {number(p['incremental_buyers']['expected'])} buyers and "
            f"{_range(p['incremental_margin'], lambda v: money(v, currency))} of margin after contact costs, "
            f"counting only purchases the contacts add" + (" (on assumed uplifts: the data measure none)"
                                                           if not f.get("measured_channels") else ""))
    status = (f.get("verdict") or {}).get("status")
    said = {"paid": "last month's campaign paid", "did not pay": "last month's campaign did not pay",
            "cannot tell": "whether last month's campaign paid cannot be told yet (its interval spans zero)",
            "not carried out": "last month's campaign was not carried out as planned",
            "window open": "last month's campaign is judged next month"}.get(status)
    return text + (f"; {said}." if said else "; last month had no campaign plan to judge.")
