"""The satisfaction stage (notebook 09): how do customers feel, why, and what does it cost us?

- ``analysis``: survey items and scales, NPS, :class:`SatisfactionClusters`, key drivers, comment
  terms per cluster, and what each cluster went on to do (repurchase, churn);
- ``plots``: the notebook's charts.

Hands over ``satisfaction_clusters`` as an artifact.
"""

from crm_utils.satisfaction.analysis import SatisfactionClusters, key_drivers, nps

__all__ = ["SatisfactionClusters", "key_drivers", "nps"]
