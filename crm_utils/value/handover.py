"""What the value stage hands over: its headline figures for metrics.json, and the report's
customer-value section built from those figures alone (the report never recomputes)."""

from __future__ import annotations

import pandas as pd

from crm_utils.value import actions
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


def report_section(figures: dict, currency: str | None = None) -> tuple[list[str], pd.DataFrame | None]:
    """The report's customer-value section from the value stage's recorded figures: sentences (each
    true of the data, or saying why there is no figure) and the table of value tiers (None without)."""
    if not figures:
        return ["The customer-value notebook did not run this month."], None
    unit = f" {currency}" if currency else ""
    if figures.get("skipped"):
        return [figures["skipped"]], None
    h = figures["horizon_months"]
    sentences = [
        f"The {figures['customers']:,} customers are expected to spend {figures['total_clv']:,.0f}{unit} over the next "
        f"{h} months (CLV discounted at {figures['discount_rate']:.0%} a year; mean {figures['mean_clv']:,.0f}{unit}, "
        f"median {figures['median_clv']:,.0f}{unit}); {figures['value_at_risk']:,.0f}{unit} of it is at risk "
        f"(CLV x P(churn)).",
    ]
    tiers = figures.get("tiers")
    if tiers and "top 10%" in tiers:
        sentences.append(f"The top 10% of customers by CLV hold {tiers['top 10%']['clv_share']:.0%} of it.")
    sentences.append(f"{figures['at_risk_customers']:,} valuable customers are slipping away (P(alive) under "
                     f"{actions.SLIPPING_P_ALIVE:.0%}), with {figures['at_risk_value']:,.0f}{unit} of value at risk: "
                     f"artifacts/value_at_risk.csv lists them.")
    ev = figures.get("evaluation") or {}
    if ev.get("skipped"):
        sentences.append(ev["skipped"])
    elif ev:
        mae = ev["mae_spend"]
        # By name, not position: metrics.json is written with sorted keys, which puts the model last.
        model_name = next(n for n in mae if n.startswith("model"))
        model_mae = mae[model_name]
        base = ", ".join(f"{n} {mae[n]:,.0f}{unit}" for n in mae if n != model_name)
        verdict = "beats" if ev["beats_baselines"] else "does NOT beat"
        sentences.append(f"Checked on the {ev['holdout_months']} months after {ev['calibration_end']} (fitted without "
                         f"them): total spend predicted {ev['spend_error']:+.1%} off, purchases "
                         f"{ev['purchases_error']:+.1%}; the model {verdict} the naive baselines per customer "
                         f"(MAE {model_mae:,.0f}{unit} against {base}).")
    note = gamma_gamma_note(figures.get("gamma_gamma_check") or {})
    if note:
        sentences.append(note)
    mon = figures.get("monitoring") or {}
    if "predicted_purchases" in mon:
        sentences.append(f"Last month's prediction for this month: {mon['predicted_purchases']:,.0f} purchases, "
                         f"{mon['actual_purchases']:,.0f} made ({mon['error']:+.1%}).")
    table = None
    if tiers:
        table = pd.DataFrame(tiers).T[["customers", "clv_total", "clv_share", "clv_mean", "p_alive_mean",
                                       "value_at_risk"]]
        table.index.name = "value tier"
    return sentences, table
