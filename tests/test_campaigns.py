"""Budget allocation: the hand-solved optimum, every constraint kept, and better than the usual practice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils import campaigns
from crm_utils.campaigns import Channel

# Solved by hand. Segment A: 100 customers, 50% propensity; B: 200 customers, 10%; margin 20 a
# purchase. Email costs 1 (lift 1), phone 5 (lift 2, at most 50 calls). Net value of a contact:
# A by email 9, A by phone 15, B by email 1, B by phone -1 (never worth it).
# With 400 to spend: every A is worth contacting; moving an A from email to phone costs 4 more
# and earns 6 more (1.5 per unit of budget), better than B by email (1 per unit), so all 50
# calls go to A; the 50 other As get e-mails; the 100 left over reach B by email.
# Net margin 50*9 + 50*15 + 100*1 = 1,300. One more unit of budget buys one more B e-mail: the
# budget's shadow price is 1. One more call would turn an A e-mail into a call (+6) paid by 4
# fewer B e-mails (-4): the phone capacity's shadow price is 2.
VALUES = pd.DataFrame({"customers": [100, 200], "p_purchase": [0.5, 0.1], "margin_per_purchase": [20.0, 20.0]},
                      index=["A", "B"])
VALUES["value_per_contact"] = VALUES["p_purchase"] * VALUES["margin_per_purchase"]
CHANNELS = [Channel("email", cost=1.0, capacity=1_000, lift=1.0), Channel("phone", cost=5.0, capacity=50, lift=2.0)]


@pytest.mark.parametrize("integer", [True, False])
def test_hand_solved_optimum(integer):
    a = campaigns.allocate(VALUES, CHANNELS, budget=400, integer=integer)
    assert a.plan.loc["A"].tolist() == pytest.approx([50, 50])
    assert a.plan.loc["B"].tolist() == pytest.approx([100, 0])
    assert a.expected_margin == pytest.approx(1300)
    assert a.cost == pytest.approx(400)
    assert a.shadow_price == pytest.approx(1.0)
    assert a.capacity_prices["phone"] == pytest.approx(2.0) and a.capacity_prices["email"] == pytest.approx(0.0)


def test_a_budget_that_does_not_bind_has_no_price_and_buys_nothing_unprofitable():
    a = campaigns.allocate(VALUES, CHANNELS, budget=10_000)
    assert a.shadow_price == pytest.approx(0.0)
    assert a.plan.loc["B", "phone"] == 0  # costs 5, expected to bring 4
    assert a.plan.loc["A"].sum() == 100 and a.plan.loc["B"].sum() == 200  # everyone else is worth it
    assert a.cost < 10_000


def test_random_instances_keep_every_constraint_and_beat_the_usual_practice():
    rng = np.random.default_rng(11)
    for _ in range(20):
        s = rng.integers(2, 7)
        values = pd.DataFrame({"customers": rng.integers(50, 500, s), "p_purchase": rng.uniform(0.01, 0.6, s),
                               "margin_per_purchase": rng.uniform(5, 80, s)}, index=[f"s{i}" for i in range(s)])
        values["value_per_contact"] = values["p_purchase"] * values["margin_per_purchase"]
        channels = [Channel("email", 0.1, rng.integers(100, 2000)), Channel("mail", 1.5, rng.integers(10, 300), 1.5),
                    Channel("phone", 6.0, rng.integers(5, 60), 2.5)]
        budget = float(rng.uniform(50, 2000))
        a = campaigns.allocate(values, channels, budget)
        plan = a.plan.to_numpy()
        assert (plan >= 0).all() and np.allclose(plan, np.round(plan))
        assert a.cost <= budget + 1e-6
        assert (plan.sum(axis=0) <= [c.capacity for c in channels]).all()
        assert (plan.sum(axis=1) <= values["customers"].to_numpy()).all()
        relaxed = campaigns.allocate(values, channels, budget, integer=False)
        assert relaxed.expected_margin >= a.expected_margin - 1e-6  # the relaxation bounds the integer plan
        scores = pd.DataFrame({"segment_name": np.repeat(values.index, values["customers"]),
                               "p_purchase": np.repeat(values["p_purchase"], values["customers"]).to_numpy()})
        for order in ("propensity", "random"):
            usual = campaigns.spend_down(scores, values, channels, budget, seed=1, order=order)
            assert usual["cost"] <= budget + 1e-6
            assert a.expected_margin >= usual["expected_net_margin"] - 1e-6


def test_segment_values_and_bad_inputs():
    scores = pd.DataFrame({"segment_name": ["x", "x", "y"], "p_purchase": [0.2, 0.4, 0.1],
                           "avg_order_value": [50.0, 150.0, 10.0]})
    v = campaigns.segment_values(scores, margin_rate=0.3)
    assert v.loc["x", "customers"] == 2 and v.loc["x", "p_purchase"] == pytest.approx(0.3)
    assert v.loc["x", "margin_per_purchase"] == pytest.approx(100 * 0.3)
    assert v.index[0] == "x"  # most valuable first
    with pytest.raises(ValueError, match="margin_rate"):
        campaigns.segment_values(scores, margin_rate=30)
    with pytest.raises(ValueError, match="cost must be > 0"):
        Channel("free", 0, 10)
    with pytest.raises(ValueError, match="needs cost and capacity"):
        campaigns.channels_from_table({"email": {"cost": 0.1}})
    assert campaigns.channels_from_table({"sms": {"cost": 0.2, "capacity": 10}})[0].lift == 1.0
