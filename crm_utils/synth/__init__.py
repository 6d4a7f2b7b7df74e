"""Synthetic CRM data with a planted truth: :func:`generate` writes the four tables and ``_truth/``.

Every notebook gets something true to find and every test can check what a method recovers
against what was planted. The generator runs in steps, one module each:

* :mod:`~crm_utils.synth.world` - the planted world: config, categories, regions, personas,
  satisfaction archetypes, the daily calendar (seasonality, holidays, retail events), the
  product catalogue, names and phone numbers;
* :mod:`~crm_utils.synth.behaviour` - what one chunk of customers does: who they are, their
  orders and returns, interactions (some voicing a need before a purchase) and surveys;
* :mod:`~crm_utils.synth.dirt` - the dirt a real export has (duplicate customers, test
  accounts, missing values, mixed formats, outliers, unknown ids ...), every dirty row recorded;
* :mod:`~crm_utils.synth.writer` - chunk jobs (in parallel), the table files, the ground truth.

:mod:`~crm_utils.synth.text` renders ids, dates and phone numbers as export text.
:mod:`~crm_utils.synth.locales` says how the world is written down: ``en`` (default, a European shop)
or ``zh_CN`` (:mod:`~crm_utils.synth.zh_cn`, a shop in China: ``SynthConfig(locale="zh_CN")``).

The same seed gives byte-identical files, whatever today's date is.
"""

from crm_utils.synth.world import (ARCHETYPES, CATEGORIES, CATEGORY_NAMES, PERSONAS, REGIONS, SURVEY_ITEMS, DirtRates,
                                   SynthConfig)
from crm_utils.synth.writer import TABLES, generate, load_truth

__all__ = ["ARCHETYPES", "CATEGORIES", "CATEGORY_NAMES", "DirtRates", "PERSONAS", "REGIONS", "SURVEY_ITEMS",
           "SynthConfig", "TABLES", "generate", "load_truth"]
