"""Association rules over baskets: what sells together, more often than chance would put it together.

A basket is an order (its ``order_id``; an export without order numbers defines one in its mapping,
e.g. a member's purchases on one day), or, asked for, a customer's purchases over the whole window
(what a customer buys over time rather than in one trip: :data:`BASKET_KEYS`).

Frequent itemsets come from mlxtend's FP-growth on a sparse
one-hot matrix, the rules and their measures from mlxtend's ``association_rules``. A rule must then
pass three filters:

* its itemset's **support** (share of baskets holding every item) is at least ``min_support``;
* at least :data:`MIN_PAIR_BASKETS` baskets hold it;
* the **co-occurrence count is higher than chance** would give: a one-sided hypergeometric test
  (Fisher's exact test of the 2x2 table antecedent x consequent), with the Benjamini-Hochberg
  false-discovery rate held at :data:`FDR_LEVEL` over all candidate rules of a level.

A lift of 3 that four baskets produce is not a rule; the test and the count keep it out.

Baskets with one item say nothing about pairs: they still count in every support (a rule that holds
in 2% of multi-item baskets but 0.5% of all baskets has support 0.5%), but FP-growth only needs to
walk the multi-item ones, which is what keeps a million customers' baskets affordable.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import scipy.sparse as sp
from mlxtend.frequent_patterns import association_rules, fpgrowth
from scipy.stats import hypergeom
from statsmodels.stats.multitest import multipletests

from crm_utils.i18n import N_, _
from crm_utils.notebook import number, percent

#: Levels rules are mined at: the line's product, or its category.
LEVELS = ("product", "category")
#: The levels as sentences name them, one and several (translated with ``_()`` where shown).
SINGULAR = {"product": N_("product"), "category": N_("category")}
PLURAL = {"product": N_("products"), "category": N_("categories")}
#: What makes one basket: an order (one trip to the shop), or a customer (everything they bought in
#: the window: "customers who bought A also bought B", the question a next best offer asks).
BASKET_KEYS = {"order": "order_id", "customer": "customer_id"}
#: A rule must hold in at least this many baskets. With fewer, one basket more or less moves its
#: confidence by several points, and a shopkeeper cannot act on a pattern seen a dozen times.
MIN_PAIR_BASKETS = 20
#: Expected share of false rules among those kept (Benjamini-Hochberg): 1 in 20, the usual level.
FDR_LEVEL = 0.05
#: Largest itemset mined: rules with up to two items on the left. Longer itemsets are rarely
#: frequent enough to pass the count above, and their number grows combinatorially.
MAX_ITEMSET_SIZE = 3
#: Fewer multi-item baskets than this and there are too few pairs to test anything: at the
#: default support of 0.5%, 1,000 baskets are needed for a pair to reach 5 of them.
MIN_MULTI_BASKETS = 200
#: Columns of the ``association_rules`` artifact, in order.
RULE_COLUMNS = ["level", "antecedents", "consequents", "antecedent_support", "consequent_support", "support",
                "confidence", "lift", "leverage", "conviction", "n_baskets", "p_value", "q_value"]


@dataclass
class Baskets:
    """One-hot baskets of one level: a sparse basket x item matrix and what went into it."""

    level: str
    items: np.ndarray  # item names (product ids or categories), one per column
    matrix: sp.csr_matrix  # baskets x items, True where the basket holds the item
    n_lines: int  # purchase lines the baskets were built from
    n_baskets_total: int  # baskets in the window before any sample
    sampled: bool
    key: str = "order_id"  # the column that makes a basket

    @property
    def n_baskets(self) -> int:
        return self.matrix.shape[0]

    @property
    def sizes(self) -> np.ndarray:
        return np.asarray(self.matrix.sum(axis=1)).ravel()

    @property
    def n_single(self) -> int:
        """Baskets with one item (one distinct item: two coffees are one item)."""
        return int((self.sizes == 1).sum())

    @property
    def n_multi(self) -> int:
        return int((self.sizes >= 2).sum())

    @property
    def item_counts(self) -> pd.Series:
        return pd.Series(np.asarray(self.matrix.sum(axis=0)).ravel(), index=self.items)


def purchase_mask(orders: pd.DataFrame, start: pd.Timestamp | None = None,
                  end: pd.Timestamp | None = None) -> np.ndarray:
    """Which lines put something in a basket: sales (no returns, a positive quantity) dated in
    ``[start, end]``. Raises naming the column when the orders lack one a basket needs."""
    need = ["order_id", "order_date", "product_id"]
    missing = [c for c in need if c not in orders.columns]
    if missing:
        raise ValueError(f"orders: market baskets need columns {missing}; the table has {list(orders.columns)}")
    keep = orders["order_id"].notna().to_numpy() & orders["product_id"].notna().to_numpy()
    if "quantity" in orders.columns:
        keep &= (orders["quantity"].fillna(0) > 0).to_numpy()
    if "is_return" in orders.columns:
        keep &= ~orders["is_return"].fillna(False).astype(bool).to_numpy()
    dates = orders["order_date"]
    if start is not None:
        keep &= (dates >= start).to_numpy()
    if end is not None:
        keep &= (dates <= end).to_numpy()
    return keep


def purchase_lines(orders: pd.DataFrame, start: pd.Timestamp | None = None, end: pd.Timestamp | None = None,
                   columns: list[str] | None = None) -> pd.DataFrame:
    """The lines of :func:`purchase_mask`, only ``columns`` of them when given (copying the other
    text columns of 36M lines would cost more than the rules)."""
    keep = purchase_mask(orders, start, end)
    return orders.loc[keep, [c for c in columns if c in orders.columns]] if columns else orders.loc[keep]


def build_baskets(lines: pd.DataFrame, level: str, max_baskets: int = 0, seed: int = 0,
                  basket: str = "order") -> Baskets:
    """Sparse one-hot baskets of ``level`` ('product' or 'category') from purchase lines, one per
    order (or per customer, ``basket="customer"``: lines without a customer are then left out); with
    ``max_baskets`` > 0, a seeded uniform sample of that many baskets when there are more."""
    if level not in LEVELS:
        raise ValueError(f"level must be one of {LEVELS}, got {level!r}")
    if basket not in BASKET_KEYS:
        raise ValueError(f"basket must be one of {sorted(BASKET_KEYS)}, got {basket!r}")
    key = BASKET_KEYS[basket]
    if key not in lines.columns:
        raise ValueError(f"orders: baskets by {basket} need a {key} column; the table has {list(lines.columns)}")
    column = "product_id" if level == "product" else "category"
    if column not in lines.columns:
        raise ValueError(f"orders: the {level} level needs a {column} column; the table has {list(lines.columns)}")
    lines = lines.loc[lines[column].notna() & lines[key].notna(), [key, column]]
    basket_codes, basket_ids = pd.factorize(lines[key], sort=False)
    n_total = len(basket_ids)
    sampled = bool(max_baskets) and n_total > max_baskets
    if sampled:
        chosen = np.zeros(n_total, bool)
        chosen[np.random.default_rng(seed).choice(n_total, max_baskets, replace=False)] = True
        keep = chosen[basket_codes]
        lines = lines.loc[keep]
        basket_codes = pd.factorize(basket_codes[keep], sort=True)[0]
    item_codes, items = pd.factorize(lines[column], sort=True)  # codes, not Python strings: 36M lines
    items = np.asarray(items, dtype=object).astype(str)
    n_baskets = int(basket_codes.max()) + 1 if len(basket_codes) else 0
    matrix = sp.csr_matrix((np.ones(len(item_codes), bool), (basket_codes, item_codes)),
                           shape=(n_baskets, len(items)))
    matrix.sum_duplicates()  # two coffees in a basket are one item
    matrix.data[:] = True
    return Baskets(level, items.astype(object), matrix, len(lines), n_total, sampled, key)


#: Why a level has no rules, as a code stored beside the sentence (``LevelResult.reason``): code
#: that needs to know reads the code, never the sentence, which is in the run's language.
NO_BASKETS, SINGLE_ITEM_BASKETS, TOO_FEW_BASKETS, NO_FREQUENT_PAIR, NONE_BEATS_CHANCE = (
    "no_baskets", "single_item_baskets", "too_few_baskets", "no_frequent_pair", "none_beats_chance")


def skip_code(baskets: Baskets) -> str:
    """Why no rules can be mined from these baskets, as a code ('' when they can). A shop selling a
    single item is a case of the second: every basket then holds one item."""
    if baskets.n_baskets == 0:
        return NO_BASKETS
    if baskets.n_multi == 0:
        return SINGLE_ITEM_BASKETS
    if baskets.n_multi < MIN_MULTI_BASKETS:
        return TOO_FEW_BASKETS
    return ""


def skip_reason(baskets: Baskets) -> str:
    """Why no rules can be mined from these baskets, or '' when they can, in the current language."""
    code, level = skip_code(baskets), _(SINGULAR[baskets.level])
    if code == NO_BASKETS:
        return _("No {level}-level rules: no sales line in the window has both a {level} and a {key} (the column "
                 "that makes a basket).").format(level=level, key=baskets.key)
    if code == SINGLE_ITEM_BASKETS:
        return _("No {level}-level rules: every one of the {baskets} baskets holds a single {level}, so nothing is "
                 "ever bought together (a pair needs a basket with two items).").format(
            level=level, baskets=number(baskets.n_baskets))
    if code == TOO_FEW_BASKETS:
        return _("No {level}-level rules: only {baskets} baskets hold two or more {items} ({needed} needed to test "
                 "any pair against chance).").format(level=level, baskets=number(baskets.n_multi),
                                                     items=_(PLURAL[baskets.level]), needed=number(MIN_MULTI_BASKETS))
    return ""


def _itemset_label(items: frozenset) -> list[str]:
    return sorted(str(i) for i in items)


def frequent_itemsets(baskets: Baskets, min_support: float) -> pd.DataFrame:
    """Itemsets of up to :data:`MAX_ITEMSET_SIZE` items with support >= ``min_support``, over all baskets.

    Single items are counted on every basket; FP-growth walks only the multi-item baskets (with the
    support threshold rescaled so the count threshold is the same), and their supports are rescaled
    back to shares of all baskets.
    """
    n = baskets.n_baskets
    counts = baskets.item_counts
    singles = counts[counts >= min_support * n]
    multi = baskets.matrix[baskets.sizes >= 2][:, np.flatnonzero(counts.to_numpy() >= min_support * n)]
    onehot = pd.DataFrame.sparse.from_spmatrix(multi.astype(np.uint8), columns=list(singles.index)).astype(
        pd.SparseDtype(bool, False))
    n_multi = multi.shape[0]
    # A pair's count is its count among multi-item baskets: the same count threshold, relative to them.
    found = fpgrowth(onehot, min_support=min(1.0, min_support * n / n_multi), use_colnames=True,
                     max_len=MAX_ITEMSET_SIZE)
    found = found[found["itemsets"].map(len) >= 2].copy()
    found["support"] = found["support"] * n_multi / n
    # The rescaled threshold is capped at 1: below the cap it is exact, above it keep only what reaches it.
    found = found[found["support"] * n >= min_support * n - 1e-9]
    single_sets = pd.DataFrame({"support": (singles / n).to_numpy(),
                                "itemsets": [frozenset([i]) for i in singles.index]})
    return pd.concat([single_sets, found], ignore_index=True)


def mine_rules(baskets: Baskets, min_support: float) -> pd.DataFrame:
    """Every candidate rule of the frequent itemsets, with mlxtend's measures, its basket count and
    the chance test (p-value, BH q-value), before any filter; empty when there is no frequent pair."""
    itemsets = frequent_itemsets(baskets, min_support)
    if not (itemsets["itemsets"].map(len) >= 2).any():
        return pd.DataFrame(columns=RULE_COLUMNS)
    n = baskets.n_baskets
    rules = association_rules(itemsets, num_itemsets=n, metric="support", min_threshold=0.0,
                              return_metrics=["antecedent support", "consequent support", "support", "confidence",
                                              "lift", "leverage", "conviction"])
    rules = rules.rename(columns={"antecedent support": "antecedent_support",
                                  "consequent support": "consequent_support"})
    n_ab = np.rint(rules["support"].to_numpy() * n).astype(np.int64)
    n_a = np.rint(rules["antecedent_support"].to_numpy() * n).astype(np.int64)
    n_b = np.rint(rules["consequent_support"].to_numpy() * n).astype(np.int64)
    # P(at least n_ab baskets hold both | n_a hold the left side, n_b the right, independent):
    # the one-sided Fisher exact test of the 2x2 table, as a hypergeometric tail.
    p = hypergeom.sf(n_ab - 1, n, n_a, n_b)
    rules["n_baskets"] = n_ab
    rules["p_value"] = p
    rules["q_value"] = multipletests(p, method="fdr_bh")[1]
    rules["level"] = baskets.level
    rules["antecedents"] = rules["antecedents"].map(_itemset_label)
    rules["consequents"] = rules["consequents"].map(_itemset_label)
    return rules[RULE_COLUMNS]


def filter_rules(rules: pd.DataFrame, min_support: float) -> pd.DataFrame:
    """The rules that pass: support, basket count, and the false-discovery-rate-controlled chance test;
    strongest first (lift, then confidence)."""
    keep = ((rules["support"] >= min_support) & (rules["n_baskets"] >= MIN_PAIR_BASKETS)
            & (rules["q_value"] <= FDR_LEVEL) & (rules["lift"] > 1))
    return (rules.loc[keep].sort_values(["lift", "confidence", "n_baskets"], ascending=False, kind="stable")
            .reset_index(drop=True))


@dataclass
class LevelResult:
    """The rules of one level, and how many baskets and candidates they came from."""

    baskets: Baskets
    candidates: int = 0
    rules: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=RULE_COLUMNS))
    skipped: str = ""  # why there are no rules, in the run's language ('' when there are)
    reason: str = ""  # the same as a code (:data:`NO_BASKETS`, ...), for code that needs to know

    def counts(self) -> dict:
        b = self.baskets
        return {"baskets": b.n_baskets, "baskets_in_window": b.n_baskets_total, "sampled": b.sampled,
                "single_item_baskets": b.n_single, "multi_item_baskets": b.n_multi, "items": len(b.items),
                "candidate_rules": self.candidates, "rules": len(self.rules), "skipped": self.skipped,
                "reason": self.reason}


def rules_for_level(lines: pd.DataFrame, level: str, min_support: float, max_baskets: int = 0,
                    seed: int = 0, basket: str = "order") -> LevelResult:
    """Baskets, candidate rules and the rules that pass, for one level (skipped with a reason when the
    baskets cannot carry any)."""
    baskets = build_baskets(lines, level, max_baskets, seed, basket)
    code = skip_code(baskets)
    if code:
        return LevelResult(baskets, skipped=skip_reason(baskets), reason=code)
    candidates = mine_rules(baskets, min_support)
    rules = filter_rules(candidates, min_support)
    if len(rules):
        skipped, code = "", ""
    elif candidates.empty:
        skipped, code = _("No {level}-level rule: no two {items} are together in {support} of the baskets "
                          "(min_support).").format(level=_(SINGULAR[level]), items=_(PLURAL[level]),
                                                   support=percent(min_support, 2)), NO_FREQUENT_PAIR
    else:
        skipped, code = _("No {level}-level rule passes: {candidates} candidate rules reach support {support}, none "
                          "of them also holds in {count}+ baskets and beats chance at a {fdr} false-discovery "
                          "rate.").format(level=_(SINGULAR[level]), candidates=number(len(candidates)),
                                          support=percent(min_support, 2), count=MIN_PAIR_BASKETS,
                                          fdr=percent(FDR_LEVEL, 0)), NONE_BEATS_CHANCE
    return LevelResult(baskets, len(candidates), rules, skipped, code)
