"""The stages of the monthly run, in order: which notebook runs each, what it hands to the next,
and which function builds the headline figures it records in metrics.json.

This is the one place that knows the notebooks' names. The runner finds the report notebook here
(never by sort order), and the report reads each stage's figures by the stage's key, so a stage
added, or a notebook renumbered, touches this table and nothing else. A notebook is named
``NN_<notebook>.ipynb``; the number gives the order, the rest is what identifies it.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable


@dataclass(frozen=True)
class Stage:
    """One step of the run: its key, its notebook (without the number) and what it hands over."""

    key: str
    notebook: str
    question: str
    #: Artifacts (``artifacts/<name>.parquet`` unless it ends in ``.csv``) later stages may read.
    hands_over: tuple[str, ...]
    #: Dotted path of the function that builds the stage's figures for metrics.json ...
    headline: str
    #: ... and the figures it may hand over there (a stage without the data for one leaves it out).
    headline_figures: tuple[str, ...]
    #: Whether the stage is about customers: a shop whose every sale is a guest sale (no customer
    #: id on any line, a bakery's till) has none, and the runner skips it, saying why.
    needs_customers: bool = False

    def headline_function(self) -> Callable[..., dict]:
        """The function :attr:`headline` names (a module's function, or a class's method)."""
        parts = self.headline.split(".")
        for cut in range(len(parts) - 1, 0, -1):
            try:
                found = importlib.import_module(".".join(parts[:cut]))
            except ModuleNotFoundError:
                continue
            for name in parts[cut:]:
                found = getattr(found, name)
            return found
        raise ImportError(f"stage {self.key}: cannot import {self.headline}")


STAGES: tuple[Stage, ...] = (
    Stage("data", "data_cleaning", "Can we trust this month's data?",
          ("orders", "customers", "interactions", "surveys", "leads", "quarantine", "quarantine.csv", "cleaning_ledger"),
          "crm_utils.data.cleaning.CleanResult.metrics",
          ("cutoff", "tables", "tables_absent", "quarantined_by_reason", "duplicate_customers_merged",
           "orders_first_date", "orders_last_date", "data_end", "month_complete", "outlier_lines_flagged",
           "guest_lines", "guest_revenue",
           "guest_revenue_share", "merged_duplicate_lines", "merged_duplicate_revenue",
           "merged_duplicate_revenue_share")),
    Stage("overview", "customer_overview", "What happened this month?",
          ("monthly_series",), "crm_utils.customers.overview.headline",
          ("month", "compared_days", "kpis", "previous_month", "same_month_last_year", "change_vs_previous_month",
           "change_vs_last_year", "group_tests", "retention", "guest_lines", "guest_orders", "guest_revenue",
           "guest_revenue_share")),
    Stage("segments", "customer_segmentation", "Who are our customers?",
          ("segments",), "crm_utils.customers.segmentation.headline",
          ("customers", "k", "silhouette", "elbow_k", "segments", "density_comparison", "migration",
           "migration_source"), needs_customers=True),
    Stage("value", "customer_value", "What is each customer worth, and who is slipping away?",
          ("customer_value", "value_at_risk", "value_at_risk.csv"), "crm_utils.value.handover.headline",
          ("customers", "repeat_share", "skipped", "horizon_months", "discount_rate", "params", "gamma_gamma_check",
           "total_clv", "mean_clv", "median_clv", "expected_purchases", "expected_purchases_next_month",
           "mean_p_alive", "value_at_risk", "tiers", "at_risk_customers", "at_risk_value", "evaluation",
           "monitoring", "churn"), needs_customers=True),
    Stage("needs", "need_prediction", "Who will buy next month, and what?",
          ("propensity", "targets.csv"), "crm_utils.needs.prediction.headline",
          ("scored_customers", "expected_buyers", "mean_p_purchase", "voiced_need_customers", "sources",
           "propensity", "next_category", "notes", "monitoring"), needs_customers=True),
    # Rules need no customers (a bakery's till has none); the next best offer does, and says so when skipped.
    Stage("baskets", "market_baskets", "What sells together, and what should each customer be offered next?",
          ("association_rules", "next_best_offer"), "crm_utils.baskets.study.BasketStudy.figures",
          ("window_start", "basket", "min_support", "levels", "next_best_offer")),
    Stage("contacts", "contact_effectiveness", "Did our contacts change what customers did, and whom should we contact?",
          ("contact_effects", "campaign_plan", "campaign_targets", "targets.csv"), "crm_utils.contacts.plan.headline",
          ("window_days", "effects_status", "effects_message", "uplifts", "measured_channels", "assumed_channels",
           "budget", "plan", "nobody", "everyone", "contacts_by_channel", "budget_shadow_price",
           "capacity_shadow_prices", "control", "verdict", "no_plan_reason"), needs_customers=True),
    Stage("demand", "demand_forecasting", "How much will we sell?",
          ("forecast", "backtest", "demand_history", "forecast_check"), "crm_utils.demand.handover.headline",
          ("freq", "horizon_periods", "forecast_start", "gate_fallbacks", "gate_after_reconciliation", "peak", "peak_tested", "reconciliation", "series", "backtest_cutoffs", "prior_scales", "winners", "category",
           "nested_share_beating_seasonal_naive", "total_units_next_horizon", "total_revenue_next_horizon")),
    Stage("satisfaction", "satisfaction_clustering", "How do customers feel, and why?",
          ("satisfaction_clusters",), "crm_utils.satisfaction.analysis.SurveyStudy.figures",
          ("responses_in_window", "nps", "clustering", "method", "clusters", "silhouette", "counts",
           "cluster_share", "repurchase_rate", "churn_rate")),
    Stage("funnel", "sales_funnel", "How do leads become customers?",
          ("funnel",), "crm_utils.funnel.analysis.FunnelStudy.figures",
          ("leads", "skipped", "closed", "won", "won_rate", "won_rate_ci", "stage_rates", "won_rate_by_source",
           "cannot_show", "best_source", "worst_source", "open_leads", "stalled_leads", "pipeline_value",
           "weighted_pipeline_value", "median_days_to_win", "revenue_per_won_customer_by_source", "value_days",
           "scoring")),
    Stage("report", "monthly_report", "What should we do?", (), "crm_utils.report.summary.headline",
          ("sentences", "warnings", "monitoring", "campaign", "consistent_with_previous_report")),
)
#: The stage whose executed notebook becomes report.html.
REPORT = "report"
NOTEBOOK_NAME = re.compile(r"^(\d\d)_(\w+)$")


def stage(key: str) -> Stage:
    for s in STAGES:
        if s.key == key:
            return s
    raise KeyError(f"no stage {key!r}; stages are {[s.key for s in STAGES]}")


def notebook_stem(name: str | Path) -> str:
    """``05_need_prediction`` (a file name, path or metrics key) -> ``need_prediction``."""
    stem = Path(str(name)).stem
    m = NOTEBOOK_NAME.match(stem)
    return m.group(2) if m else stem


def stage_of(name: str | Path) -> Stage | None:
    """The stage a notebook (file, path or metrics key) runs, or None for one the table does not know."""
    stem = notebook_stem(name)
    return next((s for s in STAGES if s.notebook == stem), None)


def find_notebook(paths: Iterable[Path], key: str) -> Path | None:
    """The notebook among ``paths`` that runs stage ``key`` (None when it is not among them)."""
    wanted = stage(key).notebook
    found = [p for p in paths if notebook_stem(p) == wanted]
    if len(found) > 1:
        raise ValueError(f"two notebooks run stage {key!r}: {[p.name for p in found]}")
    return found[0] if found else None


def figures(metrics: dict, key: str) -> dict:
    """The figures stage ``key`` recorded in a run's metrics (``{}`` when it did not run)."""
    wanted = stage(key).notebook
    for name, value in metrics.items():
        if notebook_stem(name) == wanted:
            return value or {}
    return {}
