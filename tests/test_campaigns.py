"""Budget allocation: the hand-solved optimum, every constraint kept, and better than the usual practice."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils.report import campaigns
from crm_utils.report.campaigns import Channel

# Solved by hand. Segment A: 100 customers, 50% propensity; B: 200 customers, 10%; margin 20 a
# purchase. Email costs 1 (lift 1), phone 5 (lift 2, at most 50 calls). Net value of a contact:
# A by email 9, A by phone 15, B by email 1, B by phone -1 (never worth it).
# With 400 to spend: every A is worth contacting; moving an A from email to phone costs 4 more
# and earns 6 more (1.5 per unit of budget), better than B by email (1 per unit), so all 50
# calls go to A; the 50 other As get e-mails; the 100 left over reach B by email.
# Net margin 50*9 + 50*15 + 100*1 = 1,300. One more unit of budget buys one more B e-mail: the
# budget's shadow price is 1. One more call would turn an A e-mail into a call (+6) paid by 4
# fewer B e-mails (-4): the phone capacity's shadow price is 2.
CHANNELS = [Channel("email", cost=1.0, capacity=1_000, lift=1.0), Channel("phone", cost=5.0, capacity=50, lift=2.0)]
VALUES = pd.DataFrame({"customers": [100, 200], "email": [0.5 * 20, 0.1 * 20], "phone": [1.0 * 20, 0.2 * 20]},
                      index=pd.Index(["A", "B"], name="segment"))


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


def _random_scores(rng, s: int) -> pd.DataFrame:
    """Customers of s segments with propensities that vary within each segment (Beta draws)."""
    sizes = rng.integers(50, 500, s)
    seg = np.repeat([f"s{i}" for i in range(s)], sizes)
    a, b = rng.uniform(0.5, 3, s), rng.uniform(2, 12, s)
    p = np.concatenate([rng.beta(a[i], b[i], n) for i, n in enumerate(sizes)])
    aov = np.repeat(rng.uniform(20, 200, s), sizes) * rng.lognormal(0, 0.3, sizes.sum())
    return pd.DataFrame({"customer_id": [f"c{i}" for i in range(sizes.sum())], "segment_name": seg,
                         "p_purchase": p, "avg_order_value": aov})


def test_random_instances_keep_every_constraint_and_beat_the_usual_practice():
    rng = np.random.default_rng(11)
    for _ in range(15):
        scores = _random_scores(rng, int(rng.integers(2, 6)))
        channels = [Channel("email", 0.1, int(rng.integers(100, 2000))),
                    Channel("mail", 1.5, int(rng.integers(10, 300)), 1.5),
                    Channel("phone", 6.0, int(rng.integers(5, 60)), 2.5)]
        budget = float(rng.uniform(20, 1500))
        cells = campaigns.score_cells(scores, margin_rate=0.3)
        values = campaigns.cell_values(cells, channels)
        a = campaigns.allocate(values, channels, budget)
        plan = a.plan.to_numpy()
        assert (plan >= 0).all() and np.allclose(plan, np.round(plan))
        assert a.cost <= budget + 1e-6
        assert (plan.sum(axis=0) <= [c.capacity for c in channels]).all()
        assert (plan.sum(axis=1) <= values["customers"].to_numpy()).all()
        relaxed = campaigns.allocate(values, channels, budget, integer=False)
        assert relaxed.expected_margin >= a.expected_margin - 1e-6  # the relaxation bounds the integer plan
        executed = campaigns.executed_margin(a, cells, channels)
        assert executed >= a.expected_margin - 1e-6  # likeliest first: at least the cell averages
        for order, channel in (("propensity", "cheapest"), ("propensity", "random"), ("random", "random")):
            usual = campaigns.spend_down(cells, channels, budget, seed=1, order=order, channel=channel)
            assert usual["cost"] <= budget + 1e-6
            assert executed >= usual["expected_net_margin"] - 1e-6, (order, channel)


def test_cells_split_segments_by_propensity_and_cap_the_response():
    scores = pd.DataFrame({"segment_name": ["x"] * 4 + ["y"] * 2, "p_purchase": [0.9, 0.1, 0.5, 0.3, 0.2, 0.4],
                           "avg_order_value": [50.0, 150.0, 100.0, 100.0, 10.0, 30.0]})
    cells = campaigns.score_cells(scores, margin_rate=0.3, bands=2)
    assert cells["band"].tolist() == [0, 1, 0, 1, 1, 0]  # within x: 0.9 and 0.5 are the likelier half
    assert cells.loc[0, "margin_per_purchase"] == pytest.approx(100 * 0.3)  # x's median order value
    values = campaigns.cell_values(cells, [Channel("phone", 4.0, 10, lift=2.0)])
    # x's top band: propensities 0.9 and 0.5 at lift 2 are capped at one purchase: (1 + 1) / 2 x 30
    assert values.loc[("x", 0), "phone"] == pytest.approx(30.0)
    assert values.loc[("x", 1), "customers"] == 2 and values.loc[("y", 0), "p_purchase"] == pytest.approx(0.4)
    with pytest.raises(ValueError, match="margin_rate"):
        campaigns.score_cells(scores, margin_rate=30)
    with pytest.raises(ValueError, match="cost must be > 0"):
        Channel("free", 0, 10)
    with pytest.raises(ValueError, match="needs cost and capacity"):
        campaigns.channels_from_table({"email": {"cost": 0.1}})
    assert campaigns.channels_from_table({"sms": {"cost": 0.2, "capacity": 10}})[0].lift == 1.0
