"""What the value stage hands over: its headline figures for metrics.json, and the report's
customer-value section built from those figures alone (the report never recomputes)."""

from __future__ import annotations

import pandas as pd

from crm_utils.i18n import N_, _
from crm_utils.notebook import money, number, percent
from crm_utils.value import actions, evaluation
from crm_utils.value.clv import CustomerValueModel, gamma_gamma_note
from crm_utils.value.evaluation import HoldoutEvaluation


def headline(value: pd.DataFrame, model: CustomerValueModel, evaluation: HoldoutEvaluation,
             at_risk: pd.DataFrame, monitoring_source: str, monitoring: dict | None) -> dict:
    """The figures notebook 04 hands over: this month's value, how the model did in the holdout, the
    list of valuable customers slipping away, and how last month's predictions turned out.

    Without a fitted model the value figures are None (never a sum of missing values read as 0) and
    ``skipped`` is the sentence the report shows."""
    fitted = not model.skipped
    tiers = actions.tier_summary(value) if fitted else None
    return {
        "customers": int(len(value)),
        "repeat_share": model.repeat_share_,
        "skipped": model.skip_note or None,
        "horizon_months": model.horizon_months,
        "discount_rate": float(model.discount_rate),
        "params": model.params_,
        "gamma_gamma_check": model.check_,
        "total_clv": float(value["clv"].sum()) if fitted else None,
        "mean_clv": float(value["clv"].mean()) if fitted else None,
        "median_clv": float(value["clv"].median()) if fitted else None,
        "expected_purchases": float(value["expected_purchases"].sum()) if fitted else None,
        "expected_purchases_next_month": float(value["expected_purchases_next_month"].sum()) if fitted else None,
        "mean_p_alive": float(value["p_alive"].mean()) if fitted else None,
        "value_at_risk": float(value["value_at_risk"].sum()) if fitted else None,
        "tiers": tiers.to_dict("index") if tiers is not None else None,
        "at_risk_customers": int(len(at_risk)),
        "at_risk_value": float(at_risk["value_at_risk"].sum()) if fitted else None,
        "evaluation": evaluation.figures(),
        "monitoring": {"source": monitoring_source, **(monitoring or {})},
    }


#: The tier table's headers as the report shows them (notebook 11 passes these to ``notebook.table``,
#: which translates them), and the slipping-away list's.
TIER_HEADERS = {"customers": N_("customers"), "clv_total": N_("CLV, total"), "clv_share": N_("share of all CLV"),
                "clv_mean": N_("CLV, mean"), "p_alive_mean": N_("mean P(alive)"), "value_at_risk": N_("value at risk")}
AT_RISK_HEADERS = {"rank": N_("rank"), "customer_id": N_("customer id"), "value_at_risk": N_("value at risk"),
                   "clv": N_("CLV"), "p_alive": N_("P(alive)")}
#: Names the section quotes from the value stage's records, for the catalogue: the value tiers
#: (clv.VALUE_TIERS) and the holdout's naive baselines (evaluation.HoldoutEvaluation).
RECORD_WORDS = (N_("top 10%"), N_("next 20%"), N_("middle 40%"), N_("bottom 30%"), N_("last period"),
                N_("average spend x frequency"))


def nobody_left(figures: dict) -> bool:
    """Whether the fitted model expects fewer than one of the customers to have left (the sum of
    1 - P(alive) under one): BG/NBD then put the dropout chance at about zero, as on a shop whose
    customers all kept buying within the history, and value at risk is 0 by construction."""
    p_alive = figures.get("mean_p_alive")
    return p_alive is not None and figures.get("customers", 0) * (1 - p_alive) < 1


def report_section(figures: dict, currency: str | None = None) -> tuple[list[str], pd.DataFrame | None]:
    """The report's customer-value section from the value stage's recorded figures: sentences (each
    true of the data, or saying why there is no figure) and the table of value tiers (None without),
    in the current language (:mod:`crm_utils.i18n`)."""
    if not figures:
        return [_("The customer-value notebook did not run this month.")], None
    if figures.get("skipped"):
        return [figures["skipped"]], None

    def m(value: float) -> str:
        return money(value, currency)

    if nobody_left(figures):  # "0 at risk" would be the model's blind spot, not a fact about the customers
        sentences = [
            _("The {customers} customers are expected to spend {total} over the next {months} months (CLV discounted "
              "at {rate} a year; mean {mean}, median {median}). The model sees no customer leaving (mean P(alive) "
              "{p_alive}; fewer than one customer expected to have left), so this history cannot say how much value "
              "is at risk: every customer kept buying often enough to look alive.").format(
                customers=number(figures["customers"]), total=m(figures["total_clv"]),
                months=figures["horizon_months"], rate=percent(figures["discount_rate"], 0),
                mean=m(figures["mean_clv"]), median=m(figures["median_clv"]),
                p_alive=percent(figures["mean_p_alive"], 1))]
    else:
        sentences = [
            _("The {customers} customers are expected to spend {total} over the next {months} months (CLV "
              "discounted at {rate} a year; mean {mean}, median {median}); {at_risk} of it is at risk (CLV x "
              "P(churn)).").format(
                customers=number(figures["customers"]), total=m(figures["total_clv"]),
                months=figures["horizon_months"], rate=percent(figures["discount_rate"], 0),
                mean=m(figures["mean_clv"]), median=m(figures["median_clv"]), at_risk=m(figures["value_at_risk"])),
        ]
    tiers = figures.get("tiers")
    if tiers and "top 10%" in tiers:
        sentences.append(_("The top 10% of customers by CLV hold {share} of it.").format(
            share=percent(tiers["top 10%"]["clv_share"], 0)))
    if not nobody_left(figures):
        sentences.append(_("{customers} valuable customers are slipping away (P(alive) under {threshold}), with "
                           "{value} of value at risk: artifacts/value_at_risk.csv lists them.").format(
            customers=number(figures["at_risk_customers"]), threshold=percent(actions.SLIPPING_P_ALIVE, 0),
            value=m(figures["at_risk_value"])))
    ev = figures.get("evaluation") or {}
    if ev.get("skipped"):
        sentences.append(ev["skipped"])
    elif ev:
        mae = ev["mae_spend"]
        # By name, not position: metrics.json is written with sorted keys, which puts the model last.
        model_name = next(n for n in mae if n in (evaluation.MODEL_SPEND, evaluation.MODEL_PURCHASES))
        base = _(", ").join(f"{_(n)} {m(mae[n])}" for n in mae if n != model_name)
        message = (_("Checked on the {months} months after {end} (fitted without them): total spend predicted {spend} "
                     "off, purchases {purchases}; the model beats the naive baselines per customer (MAE {mae} "
                     "against {baselines}).") if ev["beats_baselines"] else
                   _("Checked on the {months} months after {end} (fitted without them): total spend predicted {spend} "
                     "off, purchases {purchases}; the model does NOT beat the naive baselines per customer (MAE {mae} "
                     "against {baselines})."))
        sentences.append(message.format(months=ev["holdout_months"], end=ev["calibration_end"],
                                        spend=percent(ev["spend_error"], 1, signed=True),
                                        purchases=percent(ev["purchases_error"], 1, signed=True),
                                        mae=m(mae[model_name]), baselines=base))
    note = gamma_gamma_note(figures.get("gamma_gamma_check") or {})
    if note:
        sentences.append(note)
    mon = figures.get("monitoring") or {}
    if "predicted_purchases" in mon:
        sentences.append(_("Last month's prediction for this month: {predicted} purchases, {made} made "
                           "({error}).").format(
            predicted=number(mon["predicted_purchases"]), made=number(mon["actual_purchases"]),
            error=percent(mon["error"], 1, signed=True)))
    table = None
    if tiers:
        table = pd.DataFrame(tiers).T[["customers", "clv_total", "clv_share", "clv_mean", "p_alive_mean",
                                       "value_at_risk"]]
        table.index = table.index.map(lambda tier: _(tier))  # the tiers' names (clv.VALUE_TIERS)
        table.index.name = _("value tier")
    return sentences, table
