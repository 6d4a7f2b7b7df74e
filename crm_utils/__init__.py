"""crm_utils: the tested logic behind the CRM analytics notebooks, one subpackage per stage.

- ``data`` (notebook 01): the data contract, files and databases read against it, cleaning with a
  quarantine ledger, pseudonymisation;
- ``customers`` (02, 03): customer features, the month's KPIs and cohorts, segmentation;
- ``needs`` (04): purchase propensity, next category, needs voiced in notes, monitoring;
- ``demand`` (05): demand series, forecasting models, backtests and forecasts;
- ``satisfaction`` (06): survey scales, NPS, clusters, drivers and what each cluster cost;
- ``report`` (07): the month in sentences, model monitoring, the campaign plan;
- ``synth``: synthetic data with a planted truth; ``run``: the ``crm-report`` command and the
  monthly papermill run.

Shared by all: ``stages`` (which notebook runs which stage and what it hands over), ``notebook``
(every notebook's setup), ``artifacts`` (the run folder, and last month's), ``config``, ``charts``,
``safe``, ``linecodes``, ``fanout`` and ``versions``. ARCHITECTURE.md says where a change goes.
"""

__version__ = "0.1.0"
