"""The needs stage (notebook 05): who will buy next month, what, and which needs notes voice.

- ``sampling``: a seeded sample of whole customers for the models to learn from;
- ``propensity``: :class:`PropensityStudy`, time-split purchase models against baselines;
- ``bgnbd``: the BG/NBD buy-till-you-die baseline;
- ``next_category``: the category of the next order;
- ``need_text``: needs in interaction notes, by TF-IDF text classification;
- ``prediction``: :class:`NeedScorer`, every active customer scored in one call, and the target list;
- ``monitoring``: how last month's scores turned out;
- ``plots``: the notebook's charts.

Hands over ``propensity`` (one row per active customer) and ``targets.csv``.
"""

from crm_utils.needs.prediction import NeedScorer, target_list
from crm_utils.needs.propensity import PropensityStudy

__all__ = ["NeedScorer", "PropensityStudy", "target_list"]
