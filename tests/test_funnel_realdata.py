"""The X Education leads export (9,240 leads, no dates) through its mapping and the importer, as a
user would: the funnel shows created -> won by source and says what it cannot show, and the
seeded scoring model beats the won rate by source on a stratified random split."""

from __future__ import annotations

import pytest

from crm_utils.data import importer
from crm_utils.funnel import analysis, leads as funnel_leads, scoring

import realdata


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    out = tmp_path_factory.mktemp("leads_import")
    result = importer.import_export(realdata.path("leads/Leads.csv"), realdata.mapping("leads"), out)
    assert list(result.written) == ["leads"]  # a leads-only export imports on its own
    return funnel_leads.read_export(out)


def test_every_lead_is_read_and_sources_are_spelled_one_way(export):
    assert len(export.frame) == 9240 and export.quarantine.empty
    sources = set(export.frame["source"].dropna())
    assert "Google" in sources and "google" not in sources  # 'google' (5 leads) joins 'Google' (2,868)
    assert export.respelled == 5


def test_the_funnel_says_what_an_undated_export_cannot_show(export):
    study = analysis.FunnelStudy(funnel_leads.prepare(export.frame))
    assert study.leads.stages == ("created", "won")
    note = study.cannot_note()
    assert "no cohort view" in note and "no stage durations" in note and "no pipeline value" in note
    figures = study.figures()
    assert (figures["won"], figures["closed"]) == (3561, 9240)  # Converted = 1: 3,561 (38.5%)
    assert figures["won_rate"] == pytest.approx(0.3854, abs=1e-4)
    assert figures["won_rate_by_source"]["Google"] == pytest.approx(1147 / 2873, abs=1e-6)
    assert "median_days_to_win" not in figures and "pipeline_value" not in figures


def test_the_model_beats_the_won_rate_by_source(export):
    result = scoring.score_leads(funnel_leads.prepare(export.frame), seed=42)
    assert "seeded random split" in result.split and "cannot be tested" in result.split
    assert (result.test_leads, result.test_won) == (2772, 1068)
    # Measured: model ROC-AUC 0.867, log loss 0.439; by-source rate 0.635 and 0.612.
    assert result.model["roc_auc"] == pytest.approx(0.867, abs=0.01)
    assert result.baseline["roc_auc"] == pytest.approx(0.635, abs=0.005)
    assert result.beats_baseline and result.auc_gain_ci[0] > 0.15
