"""The sales funnel (stage ``funnel``, notebook 10): from lead to customer.

* :mod:`~crm_utils.funnel.leads` - the leads as known at the cutoff, each lead's furthest stage,
  and what an export without dates cannot show; a leads-only export read through the contract;
* :mod:`~crm_utils.funnel.analysis` - conversion per stage with Wilson intervals (overall, by
  source, by month), durations, pipeline, stalled leads, cohorts, what won customers bought;
* :mod:`~crm_utils.funnel.scoring` - a seeded lead-scoring model against the won rate by source;
* :mod:`~crm_utils.funnel.report` - the headline figures and the report's section;
* :mod:`~crm_utils.funnel.plots` - the charts.
"""
