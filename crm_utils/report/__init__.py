"""The report stage (notebook 11): what should we do?

- ``summary``: the month in sentences, KPI and segment tables, model monitoring and the footer,
  all from the run folder's records, never recomputed;
- ``campaigns``: the campaign section, read from the contact stage (notebook 07);
- ``plots``: the report's charts;
- ``templates/report``: the HTML template of report.html (code hidden, alt text on images).
"""

from crm_utils.report.summary import month_sentences

__all__ = ["month_sentences"]
