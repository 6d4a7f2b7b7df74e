"""The campaign plan over incremental margin, its shadow prices, the control group and next month's verdict."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils.contacts import control, plan
from crm_utils.report import campaigns
from crm_utils.contacts.plan import Channel

# Solved by hand. Cells A (100 customers, margin 20 a purchase) and B (200, margin 15). An e-mail
# costs 1 and adds 0.1 purchases in either cell; a call costs 5 and adds 0.6 in A, 0.2 in B; a
# call takes 6 minutes and the call centre has 5 hours (50 calls). Net value of a contact:
# A by e-mail 20 x 0.1 - 1 = 1, A by phone 12 - 5 = 7, B by e-mail 1.5 - 1 = 0.5, B by phone
# 3 - 5 = -2 (never worth it). With 400 to spend: e-mailing every A (1 per unit of budget) and
# turning an A e-mail into a call (+6 for 4 more: 1.5 per unit) beat a B e-mail (0.5 per unit),
# so the 50 calls go to A, the 50 other As get e-mails (300 spent) and 100 Bs get the last 100.
# Incremental margin 50 x 1 + 50 x 7 + 100 x 0.5 = 450; added buyers 5 + 30 + 10 = 45.
# One more unit of budget is one more B e-mail: the budget's shadow price is 0.5. One more hour
# is 10 more calls, each turning an A e-mail into a call (+6) paid by 4 fewer B e-mails (-2):
# +4 a call, 40 an hour. E-mail capacity does not bind: its price is 0.
CHANNELS = [Channel("email", cost=1.0, capacity=10_000),
            Channel("phone", cost=5.0, capacity=5.0, unit="hours", per_contact=6 / 60)]
TABLE = pd.DataFrame({"customers": [100, 200], "p_purchase": [0.2, 0.1], "margin_per_purchase": [20.0, 15.0],
                      "email": [0.1, 0.1], "phone": [0.6, 0.2]}, index=pd.Index(["A", "B"], name="cell"))


@pytest.mark.parametrize("integer", [True, False])
def test_hand_solved_plan_and_shadow_prices(integer):
    p = plan.optimise(TABLE, CHANNELS, budget=400, integer=integer)
    assert p.counts.loc["A"].tolist() == pytest.approx([50, 50])
    assert p.counts.loc["B"].tolist() == pytest.approx([100, 0])
    assert p.objective == pytest.approx(450) and p.cost == pytest.approx(400)
    prices = plan.shadow_prices(p, CHANNELS)
    assert prices.loc["budget", "shadow_price"] == pytest.approx(0.5)
    assert prices.loc["phone capacity", "shadow_price"] == pytest.approx(40.0)  # per hour
    assert prices.loc["phone capacity", ["unit", "used"]].tolist() == ["hour", pytest.approx(5.0)]
    assert prices.loc["email capacity", "shadow_price"] == 0.0


def test_a_loose_budget_has_no_price_and_buys_no_contact_that_loses_money():
    p = plan.optimise(TABLE, CHANNELS, budget=100_000)
    assert p.budget_price == pytest.approx(0.0)
    assert p.counts.loc["B", "phone"] == 0 and p.counts.loc["B", "email"] == 200
    assert p.cost == pytest.approx(50 * 5 + 50 + 200)


def test_a_contact_that_adds_nothing_is_never_bought():
    flat = TABLE.assign(email=0.0, phone=0.0)
    p = plan.optimise(flat, CHANNELS, budget=10_000)
    assert p.contacts == 0 and p.objective == 0


def _cells() -> pd.DataFrame:
    rng = np.random.default_rng(3)
    n = 600
    scores = pd.DataFrame({"customer_id": [f"C{i:04d}" for i in range(n)],
                           "segment_name": rng.choice(["Loyal", "Lapsed", "New"], n),
                           "p_purchase": rng.beta(2, 5, n), "avg_order_value": rng.uniform(20, 120, n)})
    return plan.customer_cells(scores, margin_rate=0.3)


def test_uplift_is_capped_by_the_purchase_probability():
    added = plan.added_probability(np.array([0.95, 0.05, 0.5]), np.array([0.1, -0.1]))
    assert added == pytest.approx(np.array([[0.05, -0.1], [0.1, -0.05], [0.1, -0.1]]))


def test_outlook_compares_plan_nobody_and_everyone_with_intervals():
    cells = _cells()
    chans = plan.channels_from_table({"email": {"cost": 0.1, "capacity": 10_000},
                                      "phone": {"cost": 4.0, "hours": 10, "minutes_per_contact": 12}})
    uplifts = plan.uplift_table(chans, None, {"email": [0.0, 0.01, 0.02], "phone": [0.02, 0.05, 0.08]})
    table = plan.cell_table(cells, uplifts["uplift"])
    assert table["customers"].sum() == len(cells) and table.index.names == ["segment_name", "band"]
    p = plan.optimise(table, chans, budget=300)
    out = plan.outlook(p, cells, chans, uplifts)
    assert out.loc["contact nobody"].abs().sum() == 0
    assert out.loc["contact everyone", "contacts"] == len(cells)  # e-mail has room for all
    assert out.loc["contact everyone", "cost"] == pytest.approx(0.1 * len(cells))
    for row in out.index:
        assert out.loc[row, "incremental_buyers_low"] <= out.loc[row, "incremental_buyers_expected"] \
            <= out.loc[row, "incremental_buyers_high"]
    # the plan spends within budget and the phone hours, and beats both alternatives at the expected uplifts
    assert out.loc["optimised plan", "cost"] <= 300 + 1e-6 and p.capacity_used["phone"] <= 10 + 1e-9
    assert out.loc["optimised plan", "incremental_margin_expected"] == pytest.approx(p.objective)
    assert p.objective >= max(0.0, out.loc["contact everyone", "incremental_margin_expected"])
    # the phone's added buyers are 0.05 a call at the expected uplift (no propensity near 1 here)
    assert out.loc["optimised plan", "incremental_buyers_expected"] == pytest.approx(
        0.01 * p.counts["email"].sum() + 0.05 * p.counts["phone"].sum())
    curve = plan.budget_curve(table, chans, 300.0, (0, 0.5, 1, 20), spent=100.0)
    assert curve["budget"].tolist() == [0, 25, 50, 75, 150, 300, 6000]
    assert curve["incremental_margin"].is_monotonic_increasing and curve["budget_price"].iloc[-1] == 0
    assert curve["budget_price"].iloc[1] > 0  # a quarter of the spend: the budget binds and has a price
    assert plan.curve_note(curve, "EUR").startswith("Below about ")


def test_measured_effects_are_used_where_the_log_holds_them_and_labelled_assumptions_elsewhere():
    chans = plan.channels_from_table({"email": {"cost": 0.1, "capacity": 10}, "sms": {"cost": 0.1, "capacity": 10},
                                      "phone": {"cost": 4.0, "capacity": 10}})
    measured = pd.DataFrame({"channel": ["email", "email", "sms"], "topic": ["all", "promotion", "all"],
                             "effect": [0.03, 0.9, np.nan], "ci_low": [0.01, 0.8, np.nan],
                             "ci_high": [0.05, 1.0, np.nan], "n_contacted": [800, 400, 40],
                             "note": ["", "", "too few contacts (n < 100)"]})
    out = plan.uplift_table(chans, measured, {"sms": 0.004, "phone": [0.01, 0.02, 0.04]})
    assert out.loc["email", ["uplift", "ci_low", "ci_high", "source"]].tolist() == [0.03, 0.01, 0.05, "measured"]
    assert out.loc["sms", ["uplift", "ci_low", "ci_high", "source"]].tolist() == [0.004, 0.004, 0.004, "assumed"]
    assert "too few contacts" in out.loc["sms", "basis"] and "not in the interactions log" in out.loc["phone", "basis"]
    with pytest.raises(ValueError, match=r"channel 'phone': no measured effect .* assumed_uplift\['phone'\]"):
        plan.uplift_table(chans, measured, {"sms": 0.004})


@pytest.mark.parametrize("table, message", [
    ({"sms": {"cost": "abc", "capacity": 10}}, r"parameter channels\['sms'\]\['cost'\] must be a number >= 0, got 'abc'"),
    ({"sms": {"cost": -1, "capacity": 10}}, r"channels\['sms'\]\['cost'\] must be a number >= 0, got -1"),
    ({"sms": {"capacity": 10}}, r"channels\['sms'\]\['cost'\] is missing"),
    ({"sms": {"cost": 0.1}}, r"channels\['sms'\] has no capacity"),
    ({"sms": {"cost": 0.1, "capacity": float("nan")}}, r"channels\['sms'\]\['capacity'\] must be a number >= 0, got nan"),
    ({"phone": {"cost": 4, "hours": 100}}, r"channels\['phone'\]: a capacity in hours needs hours and minutes_per_contact"),
    ({"sms": {"cost": 0.1, "capacity": 10, "lift": 2}}, r"channels\['sms'\] has unknown keys \['lift'\]"),
    ({}, "parameter channels must be a non-empty mapping"),
])
def test_bad_or_missing_cost_parameters_are_named(table, message):
    with pytest.raises(ValueError, match=message):
        plan.channels_from_table(table)


def test_bad_budget_margin_and_assumptions_are_named():
    with pytest.raises(ValueError, match="parameter budget must be a number >= 0, got -5"):
        plan.optimise(TABLE, CHANNELS, budget=-5)
    with pytest.raises(ValueError, match="parameter margin_rate must be a number"):
        plan.customer_cells(pd.DataFrame(columns=["customer_id", "segment_name", "p_purchase", "avg_order_value"]), 30)
    with pytest.raises(ValueError, match=r"assumed_uplift\['sms'\] must be ordered"):
        plan.parse_assumed({"sms": [0.02, 0.01, 0.03]})
    with pytest.raises(ValueError, match=r"assumed_uplift\['sms'\] must be a number >= -1 and <= 1, got '5%'"):
        plan.parse_assumed({"sms": "5%"})


# ------------------------------------------------------------------------------------------
# The control group
# ------------------------------------------------------------------------------------------

def test_the_hold_out_is_stratified_exactly_seeded_and_independent_of_row_order():
    cells = _cells()
    group = control.stratified_holdout(cells, 0.1, seed=7)
    held = (group == "control").groupby([cells["segment_name"], cells["band"]]).sum()
    sizes = cells.groupby(["segment_name", "band"]).size()
    assert ((held >= np.floor(0.1 * sizes)) & (held <= np.ceil(0.1 * sizes))).all()  # every stratum within 1
    assert held.sum() == round(0.1 * len(cells))
    assert group.equals(control.stratified_holdout(cells, 0.1, seed=7))
    assert not group.equals(control.stratified_holdout(cells, 0.1, seed=8))
    shuffled = cells.sample(frac=1, random_state=1)
    again = control.stratified_holdout(shuffled, 0.1, seed=7)
    assert again.reindex(cells.index).equals(group)  # a customer's group follows their id
    assert (control.stratified_holdout(cells, 0.0, seed=7) == "treatment").all()
    with pytest.raises(ValueError, match="parameter control_share must be a share in \\[0, 1\\), got 1.5"):
        control.stratified_holdout(cells, 1.5, seed=7)


def test_arms_give_the_plan_to_treatment_only_and_mirror_it_in_the_hold_out():
    cells = _cells()
    cells["group"] = control.stratified_holdout(cells, 0.2, seed=1)
    treated = cells[cells["group"] == "treatment"].groupby(["segment_name", "band"]).size()
    counts = pd.DataFrame({"email": np.floor(treated * 0.5), "phone": np.floor(treated * 0.25)})
    arm = control.assign_arms(cells, counts, seed=1)
    camp = control.campaign_targets(cells, cells["group"], arm, {"email": 0.1, "phone": 4.0})
    got = camp[camp["group"] == "treatment"].groupby(["segment_name", "band", "arm"]).size().unstack(fill_value=0)
    assert (got["email"].to_numpy() == counts["email"].reindex(got.index).to_numpy()).all()
    assert (got["phone"].to_numpy() == counts["phone"].reindex(got.index).to_numpy()).all()
    assert (camp.loc[camp["group"] == "control", "channel"] == "").all()  # a control customer is never contacted
    assert camp.loc[camp["group"] == "control", "cost"].sum() == 0
    assert camp["cost"].sum() == pytest.approx(0.1 * counts["email"].sum() + 4.0 * counts["phone"].sum())
    share = camp[camp["group"] == "control"]["arm"].value_counts(normalize=True)
    planned = camp[camp["group"] == "treatment"]["arm"].value_counts(normalize=True)
    assert share.reindex(planned.index).to_numpy() == pytest.approx(planned.to_numpy(), abs=0.05)
    targets = pd.DataFrame({"rank": [1, 2], "customer_id": [cells["customer_id"].iloc[0], "C-unknown"]})
    shown = control.target_columns(targets, camp)
    assert shown["group"].tolist()[1] == "" and shown["group"].iloc[0] in ("treatment", "control")


def _campaign(treated: int, control_n: int, cost: float) -> pd.DataFrame:
    ids = [f"T{i}" for i in range(treated)] + [f"K{i}" for i in range(control_n)]
    return pd.DataFrame({"customer_id": ids, "segment_name": "s", "band": 0, "p_purchase": 0.2,
                         "margin_per_purchase": 50.0,
                         "group": ["treatment"] * treated + ["control"] * control_n, "arm": "email",
                         "channel": ["email"] * treated + [""] * control_n, "cost": [cost] * treated + [0.0] * control_n})


def _orders(buyers: list[str], day: str) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": buyers, "order_date": pd.Timestamp(day), "is_return": False})


CUT, END = pd.Timestamp("2026-09-30 23:59:59"), pd.Timestamp("2026-10-31")


@pytest.mark.parametrize("cost, status", [(1.0, "paid"), (20.0, "did not pay"), (5.0, "cannot tell")])
def test_a_planted_realised_uplift_is_measured_and_judged(cost, status):
    # Planted: 30% of 4,000 treated and 20% of 1,000 held-out customers buy in the window: an uplift
    # of exactly 10 points, 400 added buyers, 20,000 of margin at 50 a purchase.
    camp = _campaign(4000, 1000, cost)
    orders = pd.concat([_orders([f"T{i}" for i in range(1200)], "2026-10-10"),
                        _orders([f"K{i}" for i in range(200)], "2026-10-12"),
                        _orders(["T3999"], "2026-11-05")])  # after the window: not counted
    v = control.judge(camp, "2026-09", orders, CUT, END, 30)
    assert v.status == status
    r = v.table.loc["all"]
    assert (r.treated, r.treated_buyers, r.control, r.control_buyers) == (4000, 1200, 1000, 200)
    assert r.uplift == pytest.approx(0.10) and r.uplift_low < 0.10 < r.uplift_high
    assert r.incremental_buyers == pytest.approx(400)
    assert r.incremental_margin == pytest.approx(20_000 - 4000 * cost, abs=1e-6)
    assert 0.06 < r.uplift_low < 0.08 and 0.12 < r.uplift_high < 0.14  # Newcombe at these sizes
    assert v.sentence.startswith("Last month's campaign (2026-09)") and "+10.0 points" in v.sentence
    assert list(v.shown().columns[:4]) == ["treated", "treated_rate", "control", "control_rate"]


def test_no_run_no_plan_an_open_window_and_a_plan_not_carried_out_are_said():
    orders = _orders(["T1"], "2026-10-10")
    assert control.judge(None, "2026-09", orders, CUT, END, 30, last_run_exists=False).status == "no run"
    v = control.judge(None, "2026-09", orders, CUT, END, 30)
    assert v.status == "no plan" and "has no campaign plan" in v.sentence
    camp = _campaign(100, 20, 1.0)
    assert control.judge(camp, "2026-09", orders, CUT, pd.Timestamp("2026-10-15"), 30).status == "window open"
    # The log shows contacts on e-mail for as many held-out customers as treated ones: not carried out.
    log = pd.DataFrame({"customer_id": ["T1", "K1"], "channel": "email", "timestamp": pd.Timestamp("2026-10-02")})
    v = control.judge(camp, "2026-09", orders, CUT, END, 30, interactions=log)
    assert v.status == "not carried out" and "1% of the treated customers" in v.sentence
    executed = pd.DataFrame({"customer_id": [f"T{i}" for i in range(100)], "channel": "email",
                             "timestamp": pd.Timestamp("2026-10-02")})
    assert control.judge(camp, "2026-09", orders, CUT, END, 30, interactions=executed).status != "not carried out"


def test_the_detectable_uplift_shrinks_with_the_groups():
    small, large = control.detectable_uplift(500, 50, 0.2), control.detectable_uplift(50_000, 5_000, 0.2)
    assert 0 < large < small < 0.25
    assert np.isnan(control.detectable_uplift(10, 0, 0.2))


# ------------------------------------------------------------------------------------------
# The stage's figures and the report's campaign section
# ------------------------------------------------------------------------------------------

def _stage_figures(measured: pd.DataFrame | None, status: str, message: str) -> tuple[dict, pd.DataFrame]:
    cells = _cells()
    chans = plan.channels_from_table({"email": {"cost": 0.1, "capacity": 10_000},
                                      "phone": {"cost": 4.0, "hours": 10, "minutes_per_contact": 12}})
    uplifts = plan.uplift_table(chans, measured, {"email": [0.0, 0.01, 0.02], "phone": [0.02, 0.05, 0.08]})
    cells["group"] = control.stratified_holdout(cells, 0.1, seed=1)
    treated = cells[cells["group"] == "treatment"]
    table = plan.cell_table(treated, uplifts["uplift"])
    best = plan.optimise(table, chans, budget=300)
    campaign = control.campaign_targets(cells, cells["group"], control.assign_arms(cells, best.counts, 1),
                                        {c.name: c.cost for c in chans})
    verdict = control.judge(None, "2026-09", _orders([], "2026-10-01"), CUT, END, 30, last_run_exists=False)
    fig = plan.headline(status, message, uplifts, best, chans, plan.outlook(best, treated, chans, uplifts), campaign,
                        0.1, 0.05, verdict, 30)
    return fig, plan.plan_frame(best, table, chans)


def test_without_outreach_the_plan_rests_on_labelled_assumptions_and_the_report_says_so():
    message = "The interactions table holds no contact by the shop under a topic naming outreach."
    empty = pd.DataFrame(columns=["channel", "topic", "n_contacted", "effect", "ci_low", "ci_high", "note"])
    fig, frame = _stage_figures(empty, "no outreach contacts", message)
    assert fig["measured_channels"] == [] and fig["assumed_channels"] == ["email", "phone"]
    assert {u["source"] for u in fig["uplifts"].values()} == {"assumed"}
    assert fig["nobody"]["incremental_margin"] == {"low": 0.0, "expected": 0.0, "high": 0.0}
    assert fig["plan"]["cost"] <= 300 and fig["control"]["control"] == 60  # 10% of 600
    assert frame["contacts"].sum() == fig["plan"]["contacts"]
    uplifts = plan.uplift_table(plan.channels_from_table({"email": {"cost": 0.1, "capacity": 1}}), empty,
                                {"email": 0.01})
    assert plan.basis_note(uplifts, message).startswith(message + " So the effect of a contact cannot be measured")
    metrics = {"07_contact_effectiveness": fig}
    section = campaigns.CampaignSection.from_run(metrics, frame, "EUR")
    said = section.sentences()
    assert said[0].startswith("Assumed uplifts only (email, phone)")
    p = fig["plan"]
    assert f"The plan contacts {p['contacts']:,} customers" in said[1] and "of a 300 EUR budget" in said[1]
    assert "No run for 2026-09" in said[-1]
    table = section.outlook_table()
    assert table.index.tolist() == ["optimised plan", "contact nobody", "contact everyone"]
    assert table.loc["contact nobody", "incremental margin (range) (EUR)"] == "0"
    assert section.plan_table().to_numpy().sum() == p["contacts"]
    assert section.summary()["assumed_only"] is True and section.summary()["last_month_verdict"] == "no run"
    brief = campaigns.campaign_sentence(metrics, "EUR")
    assert "(on assumed uplifts: the data measure none)" in brief and brief.endswith(
        "last month had no campaign plan to judge.")
    assert campaigns.campaign_sentence({}, "EUR") == ""
    assert campaigns.CampaignSection.from_run({}, None, None).sentences()[0].startswith("No campaign plan this month")


def test_measured_channels_are_named_in_the_report():
    measured = pd.DataFrame({"channel": ["phone"], "topic": ["all"], "effect": [0.2], "ci_low": [0.15],
                             "ci_high": [0.25], "n_contacted": [900], "note": [""]})
    fig, frame = _stage_figures(measured, "measured", "Measured.")
    assert fig["measured_channels"] == ["phone"] and fig["uplifts"]["phone"]["uplift"] == 0.2
    section = campaigns.CampaignSection.from_run({"07_contact_effectiveness": fig}, frame, None)
    assert section.basis() == ("Uplifts measured from the interactions log for phone; assumed for email "
                               "(parameter assumed_uplift).")
    # a measured 20 points on a call: the phone hours bind and carry a price
    assert fig["capacity_shadow_prices"]["phone"]["price"] > 0
    assert fig["contacts_by_channel"]["phone"] == 50  # 10 hours at 12 minutes a call


def test_without_purchase_probabilities_there_is_no_plan_and_the_stage_says_why():
    propensity = pd.DataFrame({"customer_id": ["C1", "C2"], "p_purchase": [np.nan, np.nan]})
    segments = pd.DataFrame({"customer_id": ["C1", "C2"], "segment_name": ["A", "B"], "avg_order_value": [10.0, 20.0]})
    reason = plan.no_plan_reason(propensity, segments)
    assert reason.startswith("Purchase prediction was not possible this month")
    assert plan.no_plan_reason(propensity.fillna(0.2), None).startswith("No segments this month")
    assert plan.no_plan_reason(propensity.fillna(0.2), segments) == ""
    chans = plan.channels_from_table({"email": {"cost": 0.1, "capacity": 10}})
    uplifts = plan.uplift_table(chans, None, {"email": 0.01})
    cells = plan.customer_cells(plan.campaign_scores(propensity, segments), 0.3)
    cells["group"] = control.stratified_holdout(cells, 0.1, seed=1)
    table = plan.cell_table(cells, uplifts["uplift"])
    best = plan.optimise(table, chans, budget=100)
    assert best.contacts == 0 and np.isnan(best.budget_price) and plan.budget_curve(table, chans, 100) is None
    assert plan.price_sentences(plan.shadow_prices(best, chans), "EUR") == []
    assert plan.plan_note(best, "EUR", reason) == reason
    campaign = control.campaign_targets(cells, cells["group"], control.assign_arms(cells, best.counts, 1), {"email": 0.1})
    assert len(campaign) == 0 and len(plan.plan_frame(best, table, chans)) == 0
    verdict = control.judge(None, "2026-09", _orders([], "2026-10-01"), CUT, END, 30)
    fig = plan.headline("no interactions table", "No interactions table.", uplifts, best, chans,
                        plan.outlook(best, cells, chans, uplifts), campaign, 0.1, np.nan, verdict, 30, no_plan=reason)
    assert fig["no_plan_reason"] == reason and "plan" not in fig
    said = campaigns.CampaignSection.from_run({"07_contact_effectiveness": fig}, None, "EUR").sentences()
    assert said == [reason, verdict.sentence]
