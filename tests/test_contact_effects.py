"""What contacts did: the planted effect of each outreach channel is found again, the naive difference is not."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils.contacts import effects
from crm_utils.contacts.effects import ALL, EFFECT_COLUMNS, ContactEffect
from crm_utils.synth.outreach import effect_truth
from crm_utils.synth.world import OUTREACH_CHANNELS, OUTREACH_WINDOW_DAYS

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")


@pytest.fixture(scope="session")
def tables(cleaned):
    _, result = cleaned
    return result.tables


@pytest.fixture(scope="session")
def fitted(tables) -> ContactEffect:
    return ContactEffect(window_days=OUTREACH_WINDOW_DAYS, seed=3).fit(
        tables["orders"], tables["interactions"], tables["customers"], CUTOFF)


@pytest.fixture(scope="session")
def planted(truth, fitted) -> pd.DataFrame:
    """The realised planted effect per channel over the contacts the estimator measures (its months)."""
    first = (CUTOFF.to_period("M") - fitted.months + 1).start_time
    t = effect_truth(truth["contacts"][truth["contacts"]["timestamp"] >= first])
    return t[t["topic"] == ALL].set_index("channel")


def _channels(est: ContactEffect) -> pd.DataFrame:
    e = est.effects_
    return e[e["topic"] == ALL].set_index("channel")


def test_truth_plants_helping_channels_and_a_null_one(truth, planted):
    assert set(planted.index) == set(OUTREACH_CHANNELS)
    whole = truth["contact_effects"].set_index(["channel", "topic"])
    assert whole.loc[("sms", ALL), "effect"] == 0 and whole.loc[("visit", ALL), "effect"] > 0
    assert planted.loc["sms", "effect"] == 0.0 and planted.loc["sms", "lift"] == 0.0
    for channel in ("email", "phone", "visit"):
        assert 0 < planted.loc[channel, "effect"] < planted.loc[channel, "lift"]


def test_each_planted_effect_lies_in_its_interval(fitted, planted):
    got = _channels(fitted)
    assert fitted.status_ == "measured" and list(fitted.effects_.columns) == EFFECT_COLUMNS
    for channel, row in got.iterrows():
        assert row["note"] == "" and row["n_contacted"] >= effects.MIN_CONTACTS
        assert row["ci_low"] <= planted.loc[channel, "effect"] <= row["ci_high"], channel
        assert row["ci_low"] < row["effect"] < row["ci_high"]
        assert row["ess"] >= effects.MIN_ESS
    assert got.loc["sms", "ci_low"] < 0 < got.loc["sms", "ci_high"]
    # The channel that helps most is told apart from nothing.
    assert got.loc["visit", "ci_low"] > 0


def test_naive_difference_is_biased_by_targeting(fitted, planted):
    """The shop contacts its frequent buyers: contacted-minus-not overstates every channel, far outside
    the interval around the planted value, while the weighted estimate covers it."""
    got = _channels(fitted)
    for channel, row in got.iterrows():
        truth = planted.loc[channel, "effect"]
        half_width = (row["ci_high"] - row["ci_low"]) / 2
        assert row["naive"] - truth > 2 * half_width, channel
        assert abs(row["effect"] - truth) < half_width * 2


def test_same_seed_same_effects(tables):
    args = (tables["orders"], tables["interactions"], tables["customers"], CUTOFF)
    a = ContactEffect(seed=5, months=3, n_boot=50).fit(*args).effects_
    b = ContactEffect(seed=5, months=3, n_boot=50).fit(*args).effects_
    c = ContactEffect(seed=6, months=3, n_boot=50).fit(*args).effects_
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["ci_low"].fillna(0), c["ci_low"].fillna(0))


def test_too_few_contacts_gives_no_figure(tables):
    est = ContactEffect(seed=1, months=2, n_boot=50, min_contacts=10_000).fit(
        tables["orders"], tables["interactions"], tables["customers"], CUTOFF)
    assert est.status_ == "measured" and len(est.effects_)
    assert est.effects_["effect"].isna().all() and est.effects_["ci_low"].isna().all()
    assert est.effects_["note"].str.startswith("too few contacts").all()
    assert est.effect_of("email") is None


def test_no_interactions_table_or_no_outreach_says_so(tables):
    est = ContactEffect().fit(tables["orders"], None, tables["customers"], CUTOFF)
    assert est.status_ == "no interactions table" and est.effects_.empty
    assert list(est.effects_.columns) == EFFECT_COLUMNS and "cannot be measured" in est.message_
    service = tables["interactions"][~tables["interactions"]["topic"].astype(str).isin(["promotion", "reminder"])]
    est = ContactEffect().fit(tables["orders"], service, tables["customers"], CUTOFF)
    assert est.status_ == "no outreach contacts" and est.effects_.empty and est.effect_of("email") is None


def test_named_topics_and_bad_parameters(tables):
    picked = effects.outreach_contacts(tables["interactions"], topics=["reminder"])
    assert set(picked["topic"]) == {"reminder"} and len(picked) > 0
    default = effects.outreach_contacts(tables["interactions"])
    assert set(default["topic"]) == {"promotion", "reminder"}  # service topics are never treatments
    with pytest.raises(ValueError, match="window_days"):
        ContactEffect(window_days=0).fit(tables["orders"], tables["interactions"], None, CUTOFF)
