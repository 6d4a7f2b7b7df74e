"""The value stage (notebook 04): what each customer is worth, and who is slipping away.

- ``clv``: BG/NBD (reused from ``crm_utils.needs.bgnbd``) and Gamma-Gamma, fitted by MAP with
  PyMC-Marketing: expected purchases, expected spend, CLV and P(alive) per customer;
- ``evaluation``: the calibration/holdout split in time against naive baselines;
- ``actions``: value tiers, value at risk, the valuable customers slipping away, value by segment
  and by acquisition cohort;
- ``monitoring``: how last month's value predictions turned out;
- ``handover``: the headline figures and the report's customer-value section;
- ``plots``: the notebook's charts;
- ``churn`` and ``churn_plots``: churn of contract shops (a churn date or flag in the customers
  table): Kaplan-Meier survival by group, Cox drivers, and the P(alive) threshold trade-off.

Hands over ``customer_value`` (one row per customer who bought) and ``value_at_risk`` (+ .csv/.xlsx).
"""

from crm_utils.value.clv import CustomerValueModel, customer_value, rfm_summary
from crm_utils.value.evaluation import HoldoutEvaluation

__all__ = ["CustomerValueModel", "HoldoutEvaluation", "customer_value", "rfm_summary"]
