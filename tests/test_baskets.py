"""Market baskets: the measures are the textbook ones, the planted affinities are found and chance
is not, single-item baskets are said, the offers follow the rules, and the report reads the figures."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from scipy.stats import hypergeom

from crm_utils import synth
from crm_utils.baskets import offers as nbo
from crm_utils.baskets import rules, section, study
from crm_utils.config import month_end

MONTH = "2026-10"


def _orders(baskets: list[tuple[list[str], int]], customer: bool = True) -> pd.DataFrame:
    """Order lines from (items, how many such baskets); every basket its own order and customer."""
    rows, n = [], 0
    for items, count in baskets:
        for _ in range(count):
            n += 1
            rows += [{"order_id": f"O{n}", "customer_id": f"C{n}" if customer else None,
                      "order_date": pd.Timestamp("2026-10-01"), "product_id": i, "category": f"cat {i}",
                      "quantity": 1.0, "is_return": False} for i in items]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------
# The measures, against their formulas
# ------------------------------------------------------------------------------------------

def test_measures_are_the_textbook_ones_and_single_item_baskets_count_in_support():
    # 1,000 baskets: 300 {A, B}, 100 {A}, 100 {B}, 500 {C}. Half hold one item: no pair, but shares.
    orders = _orders([(["A", "B"], 300), (["A"], 100), (["B"], 100), (["C"], 500)])
    res = rules.rules_for_level(rules.purchase_lines(orders), "product", min_support=0.01)
    assert res.counts()["single_item_baskets"] == 700 and res.counts()["multi_item_baskets"] == 300
    ab = res.rules.set_index(res.rules["antecedents"].str[0]).loc["A"]
    assert ab["consequents"] == ["B"]
    assert ab["support"] == pytest.approx(300 / 1000)
    assert ab["confidence"] == pytest.approx(300 / 400)
    assert ab["lift"] == pytest.approx((300 / 400) / (400 / 1000))
    assert ab["leverage"] == pytest.approx(0.3 - 0.4 * 0.4)
    assert ab["conviction"] == pytest.approx((1 - 0.4) / (1 - 0.75))
    assert ab["n_baskets"] == 300
    assert ab["p_value"] == pytest.approx(hypergeom.sf(299, 1000, 400, 400))
    assert set(rules.RULE_COLUMNS) == set(res.rules.columns)


def test_a_lift_a_few_baskets_make_is_not_a_rule():
    # X and Y are rare and always together: a huge lift, but only 5 baskets hold them.
    orders = _orders([(["A", "B"], 300), (["A"], 100), (["B"], 100), (["C"], 500), (["X", "Y"], 5)])
    res = rules.rules_for_level(rules.purchase_lines(orders), "product", min_support=0.001)
    xy = res.rules[res.rules["antecedents"].map(lambda a: a == ["X"])]
    assert xy.empty
    assert rules.MIN_PAIR_BASKETS > 5


def test_single_item_and_too_few_baskets_are_skipped_with_the_reason():
    single = rules.rules_for_level(rules.purchase_lines(_orders([(["A"], 50), (["B"], 70)])), "product", 0.01)
    assert single.rules.empty
    assert "every one of the 120 baskets holds a single product" in single.skipped
    few = rules.rules_for_level(rules.purchase_lines(_orders([(["A", "B"], 20), (["B"], 70)])), "category", 0.01)
    assert few.rules.empty
    assert f"only 20 baskets hold two or more categories ({rules.MIN_MULTI_BASKETS:,}" in few.skipped


def test_a_support_no_pair_reaches_is_said():
    orders = _orders([(["A", "B"], 300), (["A"], 100), (["B"], 100), (["C"], 500)])
    res = rules.rules_for_level(rules.purchase_lines(orders), "product", min_support=0.35)  # {A, B}: 0.30
    assert res.candidates == 0 and res.rules.empty
    assert "no two products are together in 35.00% of the baskets" in res.skipped


def test_returns_and_missing_columns():
    orders = _orders([(["A", "B"], 300), (["C"], 500)])
    orders.loc[orders["product_id"] == "B", "is_return"] = True  # B was only ever returned: never in a basket
    res = rules.rules_for_level(rules.purchase_lines(orders), "product", 0.01)
    assert res.counts()["multi_item_baskets"] == 0 and "single product" in res.skipped
    with pytest.raises(ValueError, match=r"orders: market baskets need columns \['product_id'\]"):
        rules.purchase_lines(orders.drop(columns="product_id"))
    s = study.BasketStudy(orders.drop(columns="category"), month_end(MONTH), 0, 0.01).fit()
    assert "No category-level rules: the orders have no category column." in s.skip_notes()


# ------------------------------------------------------------------------------------------
# The planted affinities, and chance
# ------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def clean_orders(cleaned) -> pd.DataFrame:
    return cleaned[1].tables["orders"]


@pytest.fixture(scope="module")
def fitted(clean_orders) -> study.BasketStudy:
    return study.BasketStudy(clean_orders, month_end(MONTH), window_months=0, min_support=0.001).fit()


def _pairs(frame: pd.DataFrame) -> pd.DataFrame:
    """Rules between two single products, one row per unordered pair (its higher lift)."""
    two = frame[(frame["antecedents"].map(len) == 1) & (frame["consequents"].map(len) == 1)].copy()
    two["pair"] = [frozenset(a + c) for a, c in zip(two["antecedents"], two["consequents"])]
    return two.sort_values("lift", ascending=False).drop_duplicates("pair")


def test_planted_affinities_are_the_strongest_pairs(fitted, truth):
    planted = truth["affinities"]
    assert len(planted) == len(synth.world.AFFINITIES)
    pairs = _pairs(fitted.level_rules("product"))
    wanted = {frozenset([a, b]) for a, b in zip(planted["antecedent"], planted["consequent"])}
    assert set(pairs["pair"].head(len(wanted))) == wanted
    # Few spurious ones: every other pair that passes is a weak link next to the weakest planted one
    # (the personas' tastes make some products go together; none comes near a planted pair).
    weakest = pairs.loc[pairs["pair"].isin(wanted), "lift"].min()
    others = pairs.loc[~pairs["pair"].isin(wanted), "lift"]
    assert (others < weakest / 2).all(), others.max()


def test_planted_probability_is_recovered(fitted, truth):
    """P(B | A) is the planted probability plus B's own chance of being in the rest of the baskets."""
    r = fitted.level_rules("product")
    b = fitted.results_["product"].baskets
    counts = b.item_counts
    for row in truth["affinities"].itertuples():
        rule = r[r["antecedents"].map(lambda a: a == [row.antecedent])
                 & r["consequents"].map(lambda c: c == [row.consequent])]
        assert len(rule) == 1, row
        n_a = counts[row.antecedent]
        base = (counts[row.consequent] - rule["n_baskets"].iloc[0]) / (b.n_baskets - n_a)  # B without A
        expected = row.probability + (1 - row.probability) * base
        se = np.sqrt(expected * (1 - expected) / n_a)
        got = rule["confidence"].iloc[0]
        assert abs(got - expected) < 4 * se, (row.antecedent, got, expected)


def test_chance_makes_no_rule(clean_orders):
    """Products shuffled across the lines (basket sizes and product shares kept): no pair is linked,
    and under that complete null Benjamini-Hochberg keeps any rule with probability at most 5%."""
    shuffled = clean_orders.assign(product_id=clean_orders["product_id"].sample(frac=1, random_state=3).to_numpy())
    res = rules.rules_for_level(rules.purchase_lines(shuffled), "product", min_support=0.001)
    assert res.candidates > 50  # the test had pairs to test ...
    assert res.rules.empty       # ... and kept none
    assert "none of them also holds in" in res.skipped


def test_the_generator_adds_lines_and_changes_nothing_else(tmp_path, monkeypatch, small_data):
    """The affinities only append lines: with none planted, every table is the same, and the orders
    file is the planted one without its last lines."""
    monkeypatch.setattr(synth.world, "AFFINITIES", ())
    synth.generate(tmp_path, synth.SynthConfig(customers=1500, seed=7))
    for table in ("customers", "interactions", "surveys"):
        assert (tmp_path / f"{table}.csv").read_bytes() == (small_data / f"{table}.csv").read_bytes(), table
    plain = pd.read_csv(tmp_path / "orders.csv", dtype=str)
    planted = pd.read_csv(small_data / "orders.csv", dtype=str)
    assert len(planted) > len(plain)
    pd.testing.assert_frame_equal(planted.iloc[:len(plain)], plain)
    added = planted.iloc[len(plain):]
    consequents = set(synth.load_truth(small_data)["affinities"]["consequent"])
    assert set(added["product_id"]) == consequents and (added["quantity"] == "1").all()
    assert added["order_id"].isin(plain["order_id"]).all()  # added to orders that exist


# ------------------------------------------------------------------------------------------
# Next best offer
# ------------------------------------------------------------------------------------------

def _rule_frame(rows: list[tuple[list[str], list[str], float, float]]) -> pd.DataFrame:
    return pd.DataFrame({"level": "product", "antecedents": [r[0] for r in rows], "consequents": [r[1] for r in rows],
                         "support": 0.01, "confidence": [r[2] for r in rows], "lift": [r[3] for r in rows],
                         "q_value": 0.001})


def test_offer_is_the_highest_confidence_rule_whose_right_side_is_new():
    rules_ = _rule_frame([(["A"], ["B"], 0.5, 3.0), (["A"], ["C"], 0.3, 4.0), (["A", "D"], ["E"], 0.9, 2.0),
                          (["F"], ["G", "H"], 0.99, 9.0)])
    history = nbo.History.from_pairs(["c1", "c2", "c2", "c3", "c3", "c4", "c5", "c6"],
                                     ["A", "A", "B", "A", "D", "D", "F", "F"])
    rules_ = pd.concat([rules_, _rule_frame([(["Z"], ["A"], 0.95, 5.0), (["F"], ["Y"], 0.2, 2.0)])])
    offers = nbo.next_best_offers(rules_, history).set_index("customer_id")
    assert offers.loc["c1", "offer"] == "B"           # the higher confidence of A's two rules
    assert offers.loc["c2", "offer"] == "C"           # B is bought already
    assert offers.loc["c3", "offer"] == "E"           # both of A + D held: the 0.9 rule
    assert offers.loc["c3", "because"] == "A + D"
    assert "c4" not in offers.index                   # D alone is half a left side
    assert offers.loc["c5", "offer"] == "Y"           # a two-item right side is not one offer; Y nobody bought
    assert set(offers.index) == {"c1", "c2", "c3", "c5", "c6"}  # Z, bought by nobody, triggers nothing
    assert list(offers.reset_index().columns) == nbo.OFFER_COLUMNS


def test_offers_on_generated_data_are_products_not_yet_bought(fitted, clean_orders):
    offers = fitted.next_best_offers(active_days=365)
    assert len(offers) > 0 and offers["customer_id"].is_unique
    bought = set(zip(clean_orders["customer_id"], clean_orders["product_id"]))
    assert not any((c, o) in bought for c, o in zip(offers["customer_id"], offers["offer"]))
    assert f"{len(offers):,} of the {fitted.customers_scored_:,} customers" in fitted.offers_note_


def test_a_till_without_customers_gets_rules_but_no_offers():
    orders = _orders([(["A", "B"], 300), (["A"], 100), (["B"], 100), (["C"], 500)], customer=False)
    s = study.BasketStudy(orders, month_end(MONTH), 0, 0.01).fit()
    assert len(s.rules()) > 0
    assert s.next_best_offers() is None and "no sales line names a customer" in s.offers_note_
    assert list(s.offers_artifact().columns) == nbo.OFFER_COLUMNS and s.offers_artifact().empty


# ------------------------------------------------------------------------------------------
# Scale, figures and the report
# ------------------------------------------------------------------------------------------

def test_a_sample_of_baskets_is_seeded_and_said(clean_orders):
    lines = rules.purchase_lines(clean_orders)
    a = rules.build_baskets(lines, "product", max_baskets=5000, seed=1)
    b = rules.build_baskets(lines, "product", max_baskets=5000, seed=1)
    assert a.sampled and a.n_baskets == 5000 and (a.matrix != b.matrix).nnz == 0
    assert a.n_baskets_total == lines["order_id"].nunique()
    s = study.BasketStudy(clean_orders, month_end(MONTH), 0, 0.001, "product", max_baskets=5000, seed=1).fit()
    assert f"a seeded sample of 5,000 of the window's {a.n_baskets_total:,} baskets" in s.basket_note()


def test_figures_and_report_section(fitted, truth):
    fitted.next_best_offers()
    figures = fitted.figures()
    top = figures["levels"]["product"]["top_rules"][0]
    assert frozenset(top["antecedents"] + top["consequents"]) in {
        frozenset([a, b]) for a, b in zip(truth["affinities"]["antecedent"], truth["affinities"]["consequent"])}
    metrics = {"06_market_baskets": figures}
    out = section.report_section(metrics)
    best = max(figures["levels"]["product"]["top_rules"], key=lambda r: (r["confidence"], r["lift"]))
    pairs = {frozenset(r["antecedents"] + r["consequents"]) for r in figures["levels"]["product"]["top_rules"]}
    assert out["level"] == "product" and len(out["table"]) == len(pairs)  # each pair once
    assert f"also hold {' + '.join(best['consequents'])}" in out["sentence"]
    assert f"{figures['next_best_offer']['customers_with_offer']:,} customers have a next best offer" in out["sentence"]
    assert section.report_section({})["sentence"] == "Market baskets: notebook 06 did not run this month."
    none = dataclasses.replace(fitted.results_["product"], rules=fitted.results_["product"].rules.iloc[:0],
                               skipped="No product-level rule passes: because.")
    empty = study.BasketStudy(fitted.orders, fitted.cutoff, 0, 0.001, "product")
    empty.results_ = {"product": none}
    assert "no rule beats chance this month. No product-level rule passes: because." in \
        section.headline_sentence(empty.figures())
