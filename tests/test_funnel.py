"""The sales funnel: the planted conversion rates and stage durations are recovered from the
generated leads after cleaning, stalled leads are the never-closed ones, the scoring model finds
the planted signal (and only when it is there), and data without dates or without leads say what
they cannot show."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from statsmodels.stats.proportion import proportion_confint

from crm_utils.data.schema import LEAD_STAGES
from crm_utils.funnel import analysis, leads as funnel_leads, report, scoring
from crm_utils.synth import leads as synth_leads

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")
#: Family-wise 95%: every (source, stage) rate is checked, so each interval is at 0.05 / checks
#: (Bonferroni), or one miss in twenty would be expected by chance alone.
FAMILY_ALPHA = 0.05


@pytest.fixture(scope="module")
def study(cleaned):
    _, result = cleaned
    return analysis.FunnelStudy(funnel_leads.prepare(result.tables["leads"], CUTOFF), "EUR")


@pytest.fixture(scope="module")
def planted(small_data):
    return json.loads((small_data / "_truth" / "funnel.json").read_text())


def test_cleaning_quarantines_the_planted_lead_dirt(cleaned, truth):
    _, result = cleaned
    q = result.quarantine[result.quarantine["table"] == "leads"]
    planted = truth["leads"]["dirt"].value_counts()
    assert q["reason"].value_counts().to_dict() == {k: v for k, v in planted.items() if k}
    assert result.ledger.set_index("table").loc["leads", "balanced"]


def test_planted_stage_rates_lie_in_their_intervals(study, planted):
    by_source = study.by_source()
    checks = len(by_source)
    assert checks == len(synth_leads.SOURCES) * (len(LEAD_STAGES) - 1)
    for r in by_source.itertuples():
        want = planted["sources"][r.source]["rates"][r.stage]
        low, high = proportion_confint(r.moved_on, r.decided, alpha=FAMILY_ALPHA / checks, method="wilson")
        assert low <= want <= high, (r.source, r.stage, r.moved_on, r.decided, want)
    # ... and the module's own 95% intervals bracket the estimate they belong to.
    assert (by_source["ci_low"] <= by_source["rate"]).all() and (by_source["rate"] <= by_source["ci_high"]).all()


def test_planted_stage_durations_are_recovered(study, planted):
    d = study.durations().set_index(["from", "stage"])
    for before, stage in zip(LEAD_STAGES[:-1], LEAD_STAGES[1:]):
        mean = planted["mean_days"][stage]
        row = d.loc[(before, stage)]
        # Gamma waits: sd = mean / sqrt(shape); 4 standard errors, plus half a day for the rounding
        # to whole days of at least one day.
        tolerance = 4 * mean / np.sqrt(planted["duration_shape"]) / np.sqrt(row["n"]) + 0.5
        assert abs(row["mean_days"] - mean) < tolerance, (stage, row["mean_days"], mean)
        assert row["out_of_order"] == 0


def test_stalled_leads_are_the_leads_nobody_closed(study, truth):
    stalled = set(study.stalled_leads()["lead_id"])
    ghosts = set(truth["leads"].loc[truth["leads"]["ghost"], "lead_id"])
    assert len(stalled) > 20
    # A lead that is really moving can pass the threshold only when it is among the slowest tenth of
    # its stage and still open at the cutoff: few. Nearly every stalled lead is one nobody closed.
    assert len(stalled & ghosts) / len(stalled) >= 0.9
    # Stalled leads count as lost: the won rate's denominators include them.
    frame = study.leads.frame
    assert study.figures()["closed"] == int(frame["status"].isin(["won", "lost"]).sum() + frame["stalled"].sum())


def test_won_leads_link_to_customers_who_then_buy(cleaned, study):
    _, result = cleaned
    orders = result.tables["orders"]
    value = study.source_value(orders)
    assert value is not None and (value["customers"] > 0).all()
    assert set(value["source"]) <= {s.name for s in synth_leads.SOURCES}
    # The generator links a win to the customer whose first purchase follows it: no linked customer
    # bought before the win, and each bought after it.
    frame = study.leads.frame
    won = frame[(frame["status"] == "won") & frame["customer_id"].notna()].set_index("customer_id")["outcome_date"]
    first = orders[orders["customer_id"].isin(won.index)].groupby("customer_id")["order_date"].min()
    assert len(won) > 50 and first.index.equals(won.sort_index().index.unique())
    assert (first >= won.reindex(first.index).dt.normalize()).all()


def test_cohorts_leave_horizons_that_have_not_passed_empty(study):
    c = study.cohorts().set_index("month")
    assert np.isnan(c.loc["2026-10", "won_30d"]) and np.isnan(c.loc["2026-06", "won_180d"])
    full = c.dropna()
    horizons = [f"won_{h}d" for h in analysis.COHORT_HORIZONS]
    assert (np.diff(full[horizons].to_numpy(), axis=1) >= 0).all()  # won by 60 days includes won by 30


def test_an_outcome_after_the_cutoff_is_not_known_yet(cleaned):
    _, result = cleaned
    early = funnel_leads.prepare(result.tables["leads"], pd.Timestamp("2025-06-30 23:59:59"))
    later = result.tables["leads"]["outcome_date"] > pd.Timestamp("2025-06-30 23:59:59")
    assert early.after_cutoff > 0
    assert (early.frame.loc[later.to_numpy(), "status"] == "open").all()


def test_funnel_frame_and_report_section_agree(cleaned, study):
    _, result = cleaned
    frame = study.frame(result.tables["orders"])
    assert {"conversion", "won", "duration", "pipeline", "cohort", "value"} <= set(frame["section"])
    figures = study.figures(None, result.tables["orders"])
    sec = report.section(figures, frame, "EUR")
    table = sec.tables["by_source"]
    for source, rate in figures["won_rate_by_source"].items():
        assert table.loc[source, "won rate"] == pytest.approx(rate, abs=1e-6)
    assert f"{figures['won']:,} of {figures['closed']:,} closed leads" in sec.sentence
    assert figures["best_source"] == "referral"  # the planted best: 0.95 * 0.70 * 0.75 * 0.55


@pytest.fixture(scope="module")
def many_leads():
    """15,000 generated leads straight from the generator (no orders needed for scoring)."""
    rng = np.random.default_rng([11, 0, synth_leads.LEADS_STREAM])
    frame, _ = synth_leads.draw_leads(rng, pd.Timestamp("2023-11-01"), pd.Timestamp("2026-10-31"), 30_000,
                                      pd.Series(dtype="datetime64[ns]"), 0)
    for c in ("created_date", "contacted_date", "qualified_date", "proposal_date", "outcome_date"):
        frame[c] = pd.to_datetime(frame[c], errors="coerce")
    return frame.dropna(subset=["lead_id", "created_date"])


def test_the_model_finds_the_planted_signal_and_not_a_missing_one(many_leads):
    result = scoring.score_leads(funnel_leads.prepare(many_leads, CUTOFF), seed=3)
    assert result.split.startswith("time split")
    assert result.ranks_better and result.model["roc_auc"] > result.baseline["roc_auc"] + 0.03
    # Without the attributes that show the latent interest and intent, only source and deal value
    # are left, and value carries nothing planted: the model must not beat the source's rate.
    blind = scoring.score_leads(funnel_leads.prepare(many_leads.drop(columns=["num_web_visits", "num_email_opens"]),
                                                     CUTOFF), seed=3)
    assert not blind.beats_baseline
    assert "does not clearly beat" in blind.verdict()


def test_undated_leads_say_what_they_cannot_show(many_leads):
    undated = many_leads.drop(columns=["created_date", "contacted_date", "qualified_date", "proposal_date",
                                       "outcome_date"])
    study = analysis.FunnelStudy(funnel_leads.prepare(undated), None)
    assert study.leads.stages == ("created", "won")
    assert "no cohort view" in study.cannot_note() and "no stage durations" in study.cannot_note()
    assert study.cohorts() is None and study.durations() is None and study.month_table() is None
    assert study.stall_thresholds() is None
    result = scoring.score_leads(study.leads, seed=3)
    assert "cannot be tested" in result.split


def test_no_leads_table_is_said_not_shown():
    study = analysis.FunnelStudy(None)
    assert study.skip_note().startswith("No leads table in this data")
    figures = study.figures()
    assert figures["leads"] == 0 and "No leads table" in figures["skipped"]
    assert report.brief_sentence(figures) == ""
    assert report.section(figures, None).sentence.startswith("No leads table")


def test_the_leads_contract_on_a_small_export(tmp_path, key):
    """Row checks with their reasons, outcomes read in any case, e-mails masked in cat_* text."""
    from crm_utils.data import cleaning, io

    (tmp_path / "orders.csv").write_text("order_id,customer_id,order_date,product_id,quantity,unit_price\n"
                                         "O1,C1,2026-10-02,P1,1,9.5\nO2,C2,2026-10-03,P1,2,9.5\n")
    (tmp_path / "customers.csv").write_text("customer_id\nC1\nC2\n")
    (tmp_path / "leads.csv").write_text(
        "lead_id,created_date,source,outcome,outcome_date,value,customer_id,cat_note\n"
        "L1,2026-09-01,Web,WON,2026-09-20,100,C1,call anna@example.com\n"
        "L2,2026-09-02,web,maybe,,50,,\n"
        "L3,2026-09-03,Web,lost,2026-09-10,-5,,\n"
        ",2026-09-04,Web,lost,2026-09-11,10,,\n"
        "L5,last spring,Web,lost,2026-09-12,10,,\n"
        "L6,2026-11-02,Web,,,10,,\n"
        "L7,2026-09-05,Web,won,2026-09-25,10,C9,\n")
    result = cleaning.clean(io.load_raw(tmp_path), "2026-10", key=key)
    q = result.quarantine[result.quarantine["table"] == "leads"].set_index("row")["reason"].to_dict()
    assert q == {1: "unknown_outcome", 2: "invalid_value", 3: "missing_lead_id", 4: "unparseable_date",
                 6: "unknown_customer"}
    led = result.ledger.set_index("table").loc["leads"]
    assert (led["kept"], led["held_back"], led["balanced"]) == (1, 1, True)  # L6 is November's
    kept = result.tables["leads"]
    assert kept["outcome"].astype(str).tolist() == ["won"] and kept["source"].astype(str).tolist() == ["Web"]
    assert "anna@example.com" not in kept["cat_note"].iloc[0]
