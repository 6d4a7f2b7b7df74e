"""crm_utils: the tested logic behind the CRM analytics notebooks.

One module per job: ``synth`` makes data with a planted truth, ``schema`` and ``io`` hold the
data contract and load files against it (through a mapping file for foreign exports, which
``importer`` can also apply once), ``sources`` and ``database`` read the same tables from a
database (PostgreSQL, DuckDB) instead, ``cleaning`` turns raw tables into trusted ones with a
quarantine ledger, ``privacy`` pseudonymises personal data, ``safe`` defuses data text on its
way into CSV, HTML, Markdown and charts, ``metrics`` records headline
figures, and ``pipeline`` runs the numbered notebooks for a month.
"""

__version__ = "0.1.0"
