"""The data stage (notebook 01): from raw exports, files or a database, to trusted tables.

- ``schema``: the data contract (:data:`CONTRACTS`) and :class:`ContractError`, the file-level error;
- ``io``: files read as text against the contract, through a mapping file;
- ``importer``: a mapping applied once, converting an export into the contract's files;
- ``sources``: where the tables come from (:func:`open_source` gives a :class:`Source`);
- ``database``: the same tables from PostgreSQL or DuckDB;
- ``cleaning``: :class:`CleaningRun`, raw tables to trusted ones with the quarantine and the ledger;
- ``privacy``: pseudonymisation of personal data and masking of free text;
- ``plots``: the cleaning charts.

Hands over the cleaned tables (``orders``, ``customers``, ``interactions``, ``surveys``), the
``quarantine`` and the ``cleaning_ledger`` as artifacts.
"""

from crm_utils.data.cleaning import CleaningRun
from crm_utils.data.schema import CONTRACTS, ContractError
from crm_utils.data.sources import Source, open_source

__all__ = ["CONTRACTS", "CleaningRun", "ContractError", "Source", "open_source"]
