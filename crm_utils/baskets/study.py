"""Notebook 06's study: the baskets of a window, the rules of each level, what they mean for
cross-selling, the next best offer per customer, and the headline figures for the report.

Every step returns None or '' when it has nothing to show, and a sentence says why (no multi-item
baskets, no customers, no rule beats chance), so the notebook's cells hold no branches.
"""

from __future__ import annotations

import pandas as pd
import pyarrow.parquet as pq

from crm_utils import artifacts
from crm_utils.baskets import offers as nbo
from crm_utils.baskets.rules import (BASKET_KEYS, LEVELS, PLURAL, RULE_COLUMNS, SINGULAR, LevelResult,
                                     purchase_lines, rules_for_level)
from crm_utils.i18n import N_, _
from crm_utils.notebook import date, number, percent

#: Rules shown in a table, drawn in the matrix and turned into a cross-selling sentence.
TOP_RULES = 10
#: Rules written into metrics.json per level (the report's table): ten rules, five pairs with their
#: mirror images, enough for a page.
HEADLINE_RULES = 10
#: Columns of the cleaned orders the study reads (those the data have: category is optional).
BASKET_COLUMNS = ["order_id", "customer_id", "order_date", "product_id", "category", "quantity", "is_return"]
#: Choices of the notebook's ``level`` parameter.
LEVEL_CHOICES = {"both": LEVELS, "product": ("product",), "category": ("category",)}
#: The readable headers of the rules table (the other columns keep the artifact's names).
RULE_HEADERS = {"antecedents": N_("if the basket holds"), "consequents": N_("it also holds")}


def window_start(cutoff: pd.Timestamp, window_months: int) -> pd.Timestamp | None:
    """First instant of the ``window_months`` months ending at ``cutoff`` (None: all history)."""
    if not window_months:
        return None
    return (cutoff.normalize() + pd.Timedelta(days=1) - pd.DateOffset(months=window_months)).normalize()


def read_orders(nb) -> pd.DataFrame:
    """The run's cleaned orders (notebook 01's artifact), only the columns baskets need that it has."""
    names = pq.read_schema(artifacts.artifacts_dir(nb.path) / "orders.parquet").names
    return nb.read("orders", columns=[c for c in BASKET_COLUMNS if c in names])


def rule_text(items: list) -> str:
    return " + ".join(map(str, items))


class BasketStudy:
    """Rules at each level of the window's baskets, and the offers they make to each customer."""

    def __init__(self, orders: pd.DataFrame, cutoff: pd.Timestamp, window_months: int = 12,
                 min_support: float = 0.001, level: str = "both", max_baskets: int = 0, seed: int = 0,
                 basket: str = "order"):
        if level not in LEVEL_CHOICES:
            raise ValueError(f"parameter level must be one of {sorted(LEVEL_CHOICES)}, got {level!r}")
        if not 0 < min_support < 1:
            raise ValueError(f"parameter min_support must be a share between 0 and 1, got {min_support!r}")
        self.orders, self.cutoff, self.window_months = orders, pd.Timestamp(cutoff), window_months
        self.min_support, self.levels = min_support, LEVEL_CHOICES[level]
        self.max_baskets, self.seed = max_baskets, seed
        if basket not in BASKET_KEYS:
            raise ValueError(f"parameter basket must be one of {sorted(BASKET_KEYS)}, got {basket!r}")
        self.basket = basket
        self.start = window_start(self.cutoff, window_months)
        self.results_: dict[str, LevelResult] = {}
        self.offers_: pd.DataFrame | None = None
        self.offers_note_ = ""
        self.customers_scored_ = 0

    # ---- rules ---------------------------------------------------------------------------------
    def fit(self) -> "BasketStudy":
        """Mine and filter the rules of every level asked for."""
        lines = purchase_lines(self.orders, self.start, self.cutoff,
                               columns=[BASKET_KEYS[self.basket], "product_id", "category"])
        self.lines_ = len(lines)
        self.missing_ = ""
        for level in self.levels:
            column = "product_id" if level == "product" else "category"
            if column not in lines.columns:  # an export without categories: one level only
                self.missing_ += _("No {level}-level rules: the orders have no {column} column.").format(
                    level=_(SINGULAR[level]), column=column) + "\n"
                continue
            self.results_[level] = rules_for_level(lines, level, self.min_support, self.max_baskets, self.seed,
                                                  self.basket)
        return self

    def basket_note(self) -> str:
        """How many baskets, how many carry pair information, and whether they were sampled."""
        since = date(self.start) if self.start is not None else _("the first order")
        what = _("an order") if self.basket == "order" else _("a customer's purchases over the whole window")
        out = [_("Sales lines from {since} to {cutoff}: {lines}; a basket is {what}.").format(
            since=since, cutoff=date(self.cutoff), lines=number(self.lines_), what=what)]
        for level, res in self.results_.items():
            b = res.baskets
            name = _(SINGULAR[level])
            if b.n_baskets == 0:
                out.append(_("{level} level: no baskets.").format(level=name.capitalize()))
                continue
            values = {"level": name.capitalize(), "baskets": number(b.n_baskets), "single": number(b.n_single),
                      "share": percent(b.n_single / b.n_baskets), "item": name, "multi": number(b.n_multi),
                      "items": _(PLURAL[level]), "total": number(b.n_baskets_total)}
            out.append((_("{level} level: {baskets} baskets (a seeded sample of {baskets} of the window's {total} "
                          "baskets: max_baskets); {single} ({share}) hold a single {item} and carry no pair "
                          "information (they still count in every support); {multi} hold two or more {items}.")
                        if b.sampled else
                        _("{level} level: {baskets} baskets; {single} ({share}) hold a single {item} and carry no "
                          "pair information (they still count in every support); {multi} hold two or more "
                          "{items}.")).format(**values))
        return "\n".join(out)

    def skip_notes(self) -> str:
        """Why a level has no rules (no multi-item baskets, no category column, none beats chance)."""
        return (self.missing_ + "\n".join(r.skipped for r in self.results_.values() if r.skipped)).strip()

    def rules(self) -> pd.DataFrame:
        """Every rule that passed, all levels: the ``association_rules`` artifact."""
        frames = [r.rules for r in self.results_.values() if len(r.rules)]
        if not frames:
            return pd.DataFrame(columns=RULE_COLUMNS)
        return pd.concat(frames, ignore_index=True)[RULE_COLUMNS]

    def level_rules(self, level: str) -> pd.DataFrame | None:
        """The rules of one level that passed, strongest first (None when none did or it was skipped)."""
        res = self.results_.get(level)
        return None if res is None or res.rules.empty else res.rules

    def counts_table(self) -> pd.DataFrame:
        """Per level: baskets, candidates at minimum support, rules that passed."""
        return pd.DataFrame({level: r.counts() for level, r in self.results_.items()}).T.drop(
            columns=["skipped", "reason"])

    def top_rules(self, level: str, top: int = TOP_RULES) -> pd.DataFrame | None:
        """The strongest rules of a level (highest lift, then confidence) as a readable table."""
        res = self.results_.get(level)
        if res is None or res.rules.empty:
            return None
        out = res.rules.head(top).copy()
        holds, also = (_(RULE_HEADERS[c]) for c in ("antecedents", "consequents"))  # shown: in the run's language
        out[holds] = out["antecedents"].map(rule_text)
        out[also] = out["consequents"].map(rule_text)
        return out[[holds, also, "n_baskets", "support", "confidence", "lift", "leverage", "conviction", "q_value"]]

    def cross_sell(self, level: str, top: int = 5) -> list[str]:
        """One sentence per strong rule: what it says and what to do about it, from its own figures."""
        res = self.results_.get(level)
        if res is None or res.rules.empty:
            return []
        out = []
        # One sentence per pair: A -> B and B -> A say the same thing; the higher-confidence direction speaks.
        seen: set[frozenset] = set()
        rules = res.rules.head(top * 3).sort_values(["lift", "confidence"], ascending=False, kind="stable")
        for r in rules.itertuples():
            key = frozenset(r.antecedents) | frozenset(r.consequents)
            if key in seen:
                continue
            seen.add(key)
            values = {"a": rule_text(r.antecedents), "b": rule_text(r.consequents), "confidence": percent(r.confidence),
                      "lift": number(r.lift, 1), "share": percent(r.consequent_support), "n": number(r.n_baskets)}
            out.append((_("{confidence} of the baskets with {a} also hold {b}, {lift} times its {share} share of all "
                          "baskets ({n} baskets): offer {b} to whoever buys {a}, at the till or on the product page.")
                        if self.basket == "order" else
                        _("{confidence} of the customers who bought {a} also bought {b}, {lift} times its {share} "
                          "share of all customers ({n} customers): offer {b} to those who bought {a} and not yet "
                          "{b}.")).format(**values))
            if len(out) == top:
                break
        return out

    # ---- next best offer -----------------------------------------------------------------------
    def offer_level(self) -> str | None:
        """The level offers are made at: products when product rules exist, else categories."""
        for level in ("product", "category"):
            if level in self.results_ and len(self.results_[level].rules):
                return level
        return None

    def next_best_offers(self, active_days: int = 365) -> pd.DataFrame | None:
        """Each active customer's next best offer (None, with a note, when there are no customers or rules)."""
        if "customer_id" not in self.orders.columns or self.orders["customer_id"].notna().sum() == 0:
            self.offers_note_ = _("No next best offer: no sales line names a customer (every sale is a guest sale, "
                                  "as at a bakery's till), so there is no customer history to offer from. "
                                  "The rules above still hold for the till.")
            return None
        level = self.offer_level()
        if level is None:
            self.offers_note_ = _("No next best offer: no rule passed, so there is nothing to offer from.")
            return None
        history = nbo.customer_history(self.orders, self.cutoff, level, active_days)
        self.customers_scored_ = history.n_customers
        offers = nbo.next_best_offers(self.results_[level].rules, history)
        self.offers_ = offers
        share = percent(len(offers) / max(self.customers_scored_, 1))
        self.offers_note_ = _("{offers} of the {customers} customers who bought in the last {days} days ({share}) hold "
                              "the left side of a {level} rule and have never bought its right side: each gets one "
                              "offer, the right side of the highest-confidence such rule.").format(
            offers=number(len(offers)), customers=number(self.customers_scored_), days=active_days, share=share,
            level=_(SINGULAR[level]))
        return offers

    def offers_artifact(self) -> pd.DataFrame:
        """The ``next_best_offer`` artifact: the offers, or an empty table with its columns when none
        were made (a till without customers), so the campaign stage always finds it."""
        return self.offers_ if self.offers_ is not None else pd.DataFrame(columns=nbo.OFFER_COLUMNS)

    def offer_summary(self) -> pd.DataFrame | None:
        return nbo.offer_summary(self.offers_, self.customers_scored_)

    # ---- hand-over -----------------------------------------------------------------------------
    def figures(self) -> dict:
        """The headline figures for metrics.json: baskets, rules per level, the strongest rules, offers."""
        out: dict = {"window_start": None if self.start is None else f"{self.start:%Y-%m-%d}",
                     "basket": self.basket, "min_support": self.min_support, "levels": {}}
        for level, res in self.results_.items():
            fig = res.counts()
            fig["top_rules"] = [
                {"antecedents": list(r.antecedents), "consequents": list(r.consequents), "support": float(r.support),
                 "confidence": float(r.confidence), "lift": float(r.lift), "n_baskets": int(r.n_baskets),
                 "q_value": float(r.q_value)} for r in res.rules.head(HEADLINE_RULES).itertuples()]
            out["levels"][level] = fig
        out["next_best_offer"] = {"customers_scored": int(self.customers_scored_),
                                  "customers_with_offer": 0 if self.offers_ is None else int(len(self.offers_)),
                                  "note": self.offers_note_}
        return out
