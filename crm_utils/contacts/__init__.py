"""The contacts stage (notebook 07): what contacts did, and next month's campaign.

- ``effects``: :class:`ContactEffect`, the effect of a contact on purchase by channel and topic,
  against comparable customers who were not contacted;
- ``plan``: the campaign LP over *incremental* margin (measured or stated, assumed uplifts), its
  shadow prices, and the plan against contacting nobody and everyone, with intervals;
- ``control``: the seeded stratified hold-out (``group`` in targets.csv) and last month's verdict;
- ``plots``: the notebook's charts.

Hands over ``contact_effects``, ``campaign_plan``, ``campaign_targets`` and targets.csv (the need
stage's target list with ``group`` and ``channel``).
"""

from crm_utils.contacts.control import judge, stratified_holdout
from crm_utils.contacts.plan import CampaignPlan, Channel, channels_from_table, optimise, uplift_table

__all__ = ["CampaignPlan", "Channel", "channels_from_table", "judge", "optimise", "stratified_holdout",
           "uplift_table"]
