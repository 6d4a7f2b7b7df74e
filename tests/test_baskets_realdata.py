"""Market baskets on two real exports, each imported through its committed mapping as a user would:
a bakery's till (transactions, no customers) and a grocery's member-day baskets."""

from __future__ import annotations

import pandas as pd
import pytest
import realdata

from crm_utils.baskets import rules, study
from crm_utils.config import month_end
from crm_utils.data import cleaning, importer, io

#: The bakery's drinks and the food bought with them (the mapping's own 'drinks' and 'meals' kinds).
BAKERY_DRINKS = {"Coffee", "Tea", "Hot chocolate", "Coke", "Juice", "Mineral water", "Smoothies"}
BAKERY_FOOD = {"Sandwich", "Soup", "Spanish Brunch", "Cookies", "Cake", "Pastry", "Medialuna", "Toast", "Scone"}


def _cleaned(name: str, file: str, month: str, key, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp(name)
    importer.import_export(realdata.path(file), realdata.mapping(name), out)
    return cleaning.clean(io.load_raw(out), month, key=key).tables["orders"]


@pytest.fixture(scope="module")
def bakery(key, tmp_path_factory) -> study.BasketStudy:
    """Every transaction to the end of March 2017 (the last whole month of the export)."""
    orders = _cleaned("breadbasket", "breadbasket/BreadBasket_DMS.csv", "2017-03", key, tmp_path_factory)
    return study.BasketStudy(orders, month_end("2017-03"), window_months=0, min_support=0.001).fit()


def test_bakery_rules_pair_a_drink_with_food(bakery):
    products = bakery.level_rules("product")
    assert products is not None
    sides = [set(a) | set(c) for a, c in zip(products["antecedents"], products["consequents"])]
    # A drink with something to eat: what a bakery's counter sells together (Coke with a sandwich,
    # juice with the Spanish brunch, coffee with soup and a sandwich).
    assert any(s & BAKERY_DRINKS and s & BAKERY_FOOD for s in sides)
    categories = bakery.level_rules("category")
    cat_sides = [set(a) | set(c) for a, c in zip(categories["antecedents"], categories["consequents"])]
    assert any({"drinks", "meals"} <= s for s in cat_sides)


def test_bakery_placeholder_never_and_coffee_with_bread_is_no_rule(bakery):
    """NONE is the till's line without an item (the mapping quarantines it): never an item of a rule.
    Coffee and bread are the two best sellers, in many baskets together, but less often together than
    their shares predict (lift below 1): frequent is not associated, and no rule links them."""
    all_rules = bakery.rules()
    items = {i for side in list(all_rules["antecedents"]) + list(all_rules["consequents"]) for i in side}
    assert "NONE" not in items and "Adjustment" not in items
    b = bakery.results_["product"].baskets
    both = b.matrix[:, list(b.items).index("Coffee")].multiply(b.matrix[:, list(b.items).index("Bread")]).sum()
    share = b.item_counts / b.n_baskets
    assert both >= rules.MIN_PAIR_BASKETS and both / b.n_baskets < share["Coffee"] * share["Bread"]
    assert not any({"Coffee", "Bread"} == set(a) | set(c)
                   for a, c in zip(all_rules["antecedents"], all_rules["consequents"]))


def test_bakery_has_no_customers_so_no_offers(bakery):
    assert bakery.next_best_offers() is None and "no sales line names a customer" in bakery.offers_note_


@pytest.fixture(scope="module")
def groceries(key, tmp_path_factory) -> pd.DataFrame:
    return _cleaned("groceries", "groceries/Groceries_dataset.csv", "2015-12", key, tmp_path_factory)


def test_groceries_member_day_baskets_are_too_small_to_beat_chance(groceries):
    """A member's day holds 2.6 items on average: no pair is more frequent than chance after the
    false-discovery-rate control, and the study says so instead of printing lifts of 1.1."""
    s = study.BasketStudy(groceries, month_end("2015-12"), 0, 0.001, "product").fit()
    res = s.results_["product"]
    assert res.candidates > 0 and res.rules.empty
    assert "No product-level rule passes" in s.skip_notes()
    assert s.next_best_offers() is None and "no rule passed" in s.offers_note_


def test_groceries_by_member_give_offers_of_staples(groceries):
    """A member's two years as one basket ("members who bought A also bought B"): rules pass, and the
    offers are the staples most members buy, which a grocer would recognise (whole milk first)."""
    s = study.BasketStudy(groceries, month_end("2015-12"), 0, 0.02, "product", basket="customer").fit()
    r = s.level_rules("product")
    assert r is not None
    assert (r["q_value"] <= rules.FDR_LEVEL).all() and (r["n_baskets"] >= rules.MIN_PAIR_BASKETS).all()
    offers = s.next_best_offers(active_days=365)
    most_bought = s.results_["product"].baskets.item_counts.idxmax()
    assert most_bought == "whole milk"
    assert offers["offer"].value_counts().index[0] == most_bought
