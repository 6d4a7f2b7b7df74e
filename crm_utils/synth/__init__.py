"""Synthetic CRM data with a planted truth: :func:`generate` writes the four tables and ``_truth/``.

The same seed gives byte-identical files, whatever today's date is.
"""

from crm_utils.synth.generator import (ARCHETYPES, CATEGORIES, CATEGORY_NAMES, PERSONAS, REGIONS, SURVEY_ITEMS,
                                       TABLES, DirtRates, SynthConfig, generate, load_truth)

__all__ = ["ARCHETYPES", "CATEGORIES", "CATEGORY_NAMES", "DirtRates", "PERSONAS", "REGIONS", "SURVEY_ITEMS", "SynthConfig",
           "TABLES", "generate", "load_truth"]
