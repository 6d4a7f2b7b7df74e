"""Market baskets (notebook 06): what sells together, and the next best offer per customer.

* :mod:`~crm_utils.baskets.rules` - baskets as a sparse one-hot matrix, FP-growth itemsets and
  association rules (mlxtend), filtered by support, a basket count and a chance test with FDR control;
* :mod:`~crm_utils.baskets.offers` - each customer's next best offer from the rules and their history;
* :mod:`~crm_utils.baskets.study` - the notebook's study (``BasketStudy``) and its headline figures;
* :mod:`~crm_utils.baskets.section` - the report's section, read from the recorded figures;
* :mod:`~crm_utils.baskets.plots` - the lift matrix and the support-confidence chart.
"""

from crm_utils.baskets.offers import OFFER_COLUMNS, next_best_offers
from crm_utils.baskets.rules import FDR_LEVEL, LEVELS, MIN_PAIR_BASKETS, RULE_COLUMNS, rules_for_level
from crm_utils.baskets.study import BasketStudy

__all__ = ["BasketStudy", "FDR_LEVEL", "LEVELS", "MIN_PAIR_BASKETS", "OFFER_COLUMNS", "RULE_COLUMNS",
           "next_best_offers", "rules_for_level"]
