"""The report's market-basket section, read from the figures notebook 06 recorded (never recomputed)."""

from __future__ import annotations

import pandas as pd

from crm_utils import stages
from crm_utils.i18n import N_, _
from crm_utils.notebook import number, percent

#: The rules table's headers: kept in English in the frame (notebook 11 formats its columns by these
#: names) and translated by ``notebook.table`` when shown.
HEADERS = (N_("if the basket holds"), N_("it also holds"), N_("baskets"), N_("confidence"), N_("lift"))
#: The levels rules are found at, as the sentence names them.
LEVELS = {"product": N_("product"), "category": N_("category")}


def _text(items: list) -> str:
    return " + ".join(map(str, items))


def top_rules_table(figures: dict, level: str) -> pd.DataFrame | None:
    """The recorded strongest rules of ``level`` as a table (None when the level has none)."""
    rules = figures.get("levels", {}).get(level, {}).get("top_rules") or []
    # A rule and its mirror image (B -> A) share their lift: the report shows the pair once, in the
    # direction recorded first (the higher confidence among equal lifts).
    seen: set[frozenset] = set()
    pairs = []
    for r in rules:
        items = frozenset(r["antecedents"] + r["consequents"])
        if items not in seen:
            seen.add(items)
            pairs.append(r)
    rules = pairs
    if not rules:
        return None
    return pd.DataFrame({"if the basket holds": [_text(r["antecedents"]) for r in rules],
                         "it also holds": [_text(r["consequents"]) for r in rules],
                         "baskets": [r["n_baskets"] for r in rules],
                         "confidence": [r["confidence"] for r in rules],
                         "lift": [r["lift"] for r in rules]})


def headline_sentence(figures: dict) -> str:
    """One sentence for the brief: the strongest rule and the offers made, or why there is none
    (in the current language; the items are named as the data write them)."""
    if not figures:
        return _("Market baskets: notebook 06 did not run this month.")
    levels = figures.get("levels", {})
    level = next((lv for lv in ("product", "category") if levels.get(lv, {}).get("top_rules")), None)
    if level is None:
        reasons = " ".join(v.get("skipped", "") for v in levels.values() if v.get("skipped"))
        return _("Market baskets: no rule beats chance this month. {reasons}").format(reasons=reasons).strip()
    best = max(levels[level]["top_rules"], key=lambda r: (r["confidence"], r["lift"]))
    values = {"a": _text(best["antecedents"]), "b": _text(best["consequents"]), "n": number(best["n_baskets"]),
              "lift": number(best["lift"], 1), "confidence": percent(best["confidence"]),
              "rules": number(levels[level]["rules"]), "level": _(LEVELS.get(level, level))}
    text = (_("Market baskets: {confidence} of the customers who bought {a} also bought {b} ({lift} times chance, "
              "{n} customers); {rules} {level} rules beat chance") if figures.get("basket") == "customer" else
            _("Market baskets: {confidence} of the baskets with {a} also hold {b} ({lift} times chance, {n} "
              "baskets); {rules} {level} rules beat chance")).format(**values)
    offers = figures.get("next_best_offer", {})
    if offers.get("customers_with_offer"):
        text += _(", and {customers} customers have a next best offer").format(
            customers=number(offers["customers_with_offer"]))
    return text + _(".")


def report_section(metrics: dict, level: str = "product") -> dict:
    """The section for the monthly report: its sentence, the strongest rules of ``level`` (falling back
    to categories when products have none) and the next-best-offer note."""
    figures = stages.figures(metrics, "baskets")
    table = top_rules_table(figures, level)
    if table is None and level == "product":
        level, table = "category", top_rules_table(figures, "category")
    return {"sentence": headline_sentence(figures), "level": level, "table": table,
            "offers_note": figures.get("next_best_offer", {}).get("note", "")}
