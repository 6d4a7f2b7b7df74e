"""The customers stage: what happened this month (notebook 02) and who the customers are (notebook 03).

- ``features``: one row per customer as of a cutoff (:func:`customer_features`: recency, frequency,
  spend, category mix, contacts), shared with need prediction;
- ``overview``: KPIs against last month and last year, group comparisons, cohort retention;
- ``segmentation``: :class:`CustomerSegmenter` (K-means with k by silhouette), named segments,
  density clusterings, migration since last month;
- ``plots``: the charts of both notebooks.

Hands over ``monthly_series`` and ``segments`` as artifacts.
"""

from crm_utils.customers.features import customer_features, with_signup
from crm_utils.customers.overview import kpi_table, monthly_series
from crm_utils.customers.segmentation import CustomerSegmenter, name_segments

__all__ = ["CustomerSegmenter", "customer_features", "kpi_table", "monthly_series", "name_segments", "with_signup"]
