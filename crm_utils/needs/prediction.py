"""Need prediction put together: one trained scorer for the month's customers, the target list,
and last month's predictions for monitoring.

The studies (:mod:`propensity`, :mod:`next_category`, :mod:`need_text`) fit and evaluate;
:class:`NeedScorer` holds what they fitted and scores customers at a cutoff in one call. The
notebook writes its artifact with it, and ``benchmarks/bench_prediction.py`` times it on a
million customers, so both measure the same code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from threadpoolctl import threadpool_limits

from crm_utils.artifacts import LastMonth
from crm_utils.customers.features import category_price_medians, customer_features, positions_in
from crm_utils.fanout import fan_out
from crm_utils.i18n import _
from crm_utils.needs import monitoring
from crm_utils.needs.bgnbd import BGNBD
from crm_utils.needs.need_text import NeedTextClassifier, note_needs, voiced_in
from crm_utils.needs.next_category import (NextCategoryModel, category_pairs, frequent_category_scores,
                                           shop_category_mix, top_category)
from crm_utils.needs.propensity import (ACTIVE_DAYS, HORIZON_DAYS, PropensityStudy, WindowCalibrator,
                                        customer_examples, prediction_threads, single_threaded)
from crm_utils.notebook import date

OUTPUT_COLUMNS = ["customer_id", "p_purchase", "next_category", "p_next_category", "voiced_need"]


@dataclass
class NeedScorer:
    """Everything fitted that scoring needs, and :meth:`score`.

    ``propensity_model`` (with ``feature_bgnbd`` for its BG/NBD features and ``calibrator``) gives
    p_purchase; without one, ``fallback_bgnbd``'s probability of a purchase does, and without that
    (purchase prediction not possible: ``sources["p_purchase"]`` says why) p_purchase is missing,
    never a made-up zero. ``next_model``
    ranks categories (without one, the customer's most frequent past category); its ``voiced``
    feature comes from ``feature_text``. ``report_text`` reads the month's notes for ``voiced_need``.
    """

    categories: list[str] | None
    active_days: int = ACTIVE_DAYS
    horizon_days: int = HORIZON_DAYS
    need_window_days: int = 14
    feature_bgnbd: BGNBD | None = None
    propensity_model: Pipeline | None = None
    calibrator: WindowCalibrator | None = None
    fallback_bgnbd: BGNBD | None = None
    next_model: NextCategoryModel | None = None
    feature_text: NeedTextClassifier | None = None
    report_text: NeedTextClassifier | None = None
    sources: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_studies(cls, study: PropensityStudy, next_model: NextCategoryModel | None = None,
                     feature_text: NeedTextClassifier | None = None, report_text: NeedTextClassifier | None = None,
                     need_window_days: int = 14) -> "NeedScorer":
        trained = not study.skipped
        return cls(categories=study.categories, active_days=study.active_days, horizon_days=study.horizon_days,
                   need_window_days=need_window_days,
                   feature_bgnbd=study.feature_bgnbd_ if trained else None,
                   propensity_model=study.final_model_ if trained else None,
                   calibrator=study.final_calibrator_ if trained else None,
                   fallback_bgnbd=None if trained else study.fallback_bgnbd_,
                   next_model=next_model, feature_text=feature_text if next_model is not None else None,
                   report_text=report_text,
                   sources={"p_purchase": study.source,
                            "next_category": ("gradient boosting on (customer, category) pairs" if next_model is not None
                                              else "each customer's most frequent past category"),
                            "voiced_need": "text classifier" if report_text is not None else "no interaction notes"})

    def shop_context(self, orders: pd.DataFrame, cutoff: pd.Timestamp) -> ShopContext:
        """What scoring a customer reads of all customers' orders at ``cutoff``."""
        cutoff = pd.Timestamp(cutoff)
        mix = (shop_category_mix(orders, cutoff, self.categories, self.horizon_days)
               if self.categories and len(self.categories) > 1 else None)
        return ShopContext(category_price_medians(orders, cutoff), mix)

    @single_threaded
    def score(self, orders: pd.DataFrame, cutoff: pd.Timestamp, interactions: pd.DataFrame | None = None,
              customers: pd.DataFrame | None = None, context: ShopContext | None = None) -> pd.DataFrame:
        """One row per customer active at ``cutoff``: the columns of ``OUTPUT_COLUMNS``.

        ``voiced_need`` is the latest need a note voiced in the calendar month of ``cutoff``.
        ``context`` (:meth:`shop_context` of all orders) is needed when ``orders`` hold only some
        customers' lines, as in :meth:`score_partitioned`; by default it comes from ``orders``.
        """
        cutoff = pd.Timestamp(cutoff)
        model = self.propensity_model is not None
        feats, _ = customer_examples(orders, cutoff, interactions=interactions,
                                     customers=customers if model else None, categories=self.categories,
                                     bgnbd=self.feature_bgnbd if model else None, active_days=self.active_days,
                                     horizon_days=None,
                                     price_medians=context.price_medians if context is not None else None)
        if feats.empty:  # nobody bought within active_days: nothing to score
            return _no_scores()
        if model:
            with threadpool_limits(limits=prediction_threads(len(feats))):
                p = self.calibrator.transform(self.propensity_model.predict_proba(feats)[:, 1])
        elif self.fallback_bgnbd is not None:
            p = self.fallback_bgnbd.purchase_probability(feats)
        else:  # purchase prediction is not possible for this shop
            p = np.full(len(feats), np.nan)
        out = pd.DataFrame({"customer_id": pd.array(feats.index.astype(str), dtype="string"), "p_purchase": p})

        month_start = cutoff.to_period("M").start_time
        recent = None
        if interactions is not None and len(interactions):
            since = min(month_start, cutoff - pd.Timedelta(days=self.need_window_days))
            t = interactions["timestamp"]
            recent = interactions[(t > since) & (t <= cutoff)]
        if self.categories and len(self.categories) > 1:
            needs = None
            if self.feature_text is not None and recent is not None:  # only the pairs' window counts
                window = recent["timestamp"] > cutoff - pd.Timedelta(days=self.need_window_days)
                needs = note_needs(recent[window], self.feature_text)
            pairs = category_pairs(feats, orders, cutoff, self.categories, needs, self.need_window_days,
                                   self.horizon_days, mix=context.mix if context is not None else None)
            scores = (self.next_model.predict_proba(pairs) if self.next_model is not None
                      else frequent_category_scores(pairs))
            top = top_category(scores)
            out["next_category"] = top["next_category"].to_numpy()
            out["p_next_category"] = top["p_next_category"].to_numpy()
        else:  # one category (or none): nothing to choose between
            only = self.categories[0] if self.categories else pd.NA
            out["next_category"] = pd.array([only] * len(out), dtype="string")
            out["p_next_category"] = 1.0
        voiced = pd.Series(dtype="string")
        if self.report_text is not None and recent is not None:
            voiced = voiced_in(note_needs(recent, self.report_text), month_start - pd.Timedelta(seconds=1), cutoff)
        out["voiced_need"] = pd.array(voiced.reindex(out["customer_id"]).to_numpy(), dtype="string")
        return out[OUTPUT_COLUMNS]

    def score_partitioned(self, orders: pd.DataFrame, cutoff: pd.Timestamp,
                          interactions: pd.DataFrame | None = None, customers: pd.DataFrame | None = None, *,
                          partitions: int = 8, engine: str = "joblib", n_jobs: int | None = None,
                          dask_address: str | None = None) -> pd.DataFrame:
        """:meth:`score`, with the customers split into ``partitions`` groups scored in parallel by
        :func:`fanout.fan_out`: local processes, or the Dask cluster at ``dask_address``.

        The same rows as :meth:`score`: every customer's lines, notes and account go to one group,
        and what a customer's scores read of everyone (category price medians, the shop's category
        mix) is computed once here and sent with each group.
        """
        cutoff = pd.Timestamp(cutoff)
        context = self.shop_context(orders, cutoff)
        ids = pd.Index(pd.unique(orders["customer_id"].dropna()))

        def groups(table: pd.DataFrame | None) -> list[pd.DataFrame | None]:
            if table is None:
                return [None] * partitions
            pos = positions_in(ids, table["customer_id"])
            group = np.where(pos >= 0, pos % partitions, -1)  # a customer without orders is never scored
            return [table[group == g] for g in range(partitions)]

        items = [(self, o, cutoff, i, c, context)
                 for o, i, c in zip(groups(orders), groups(interactions), groups(customers))]
        parts = fan_out(_score_group, items, engine=engine, n_jobs=n_jobs, dask_address=dask_address)
        out = pd.concat(parts, ignore_index=True)
        # score() lists customers in id order (from its sorted factorisation): the same here.
        order = np.argsort(pd.factorize(out["customer_id"], sort=True)[0], kind="stable")
        return out.take(order).reset_index(drop=True)


@dataclass(frozen=True)
class ShopContext:
    """What one customer's scores read of all customers: each category's median log unit price
    (the reference of ``price_index``) and the shop's category mix (popularity and season index
    of the next-category pairs; None with one category)."""

    price_medians: dict[str, float]
    mix: pd.DataFrame | None


def _no_scores() -> pd.DataFrame:
    return pd.DataFrame({c: pd.Series(dtype="float64" if c.startswith("p_") else "string") for c in OUTPUT_COLUMNS})


def _score_group(item: tuple) -> pd.DataFrame:
    """One group of :meth:`NeedScorer.score_partitioned` (module level, so workers can import it)."""
    scorer, orders, cutoff, interactions, customers, context = item
    if not ((orders["order_date"] <= cutoff) & ~orders["is_return"]).any():  # nobody here to score
        return _no_scores()
    return scorer.score(orders, cutoff, interactions, customers, context=context)


def target_list(scored: pd.DataFrame) -> pd.DataFrame:
    """Customers ranked by p_purchase (1 = most likely to buy), with their decile: the campaign list.

    Only ids and scores: nothing that identifies a person beyond the pseudonymous customer id.
    Without purchase probabilities (prediction not possible) nobody can be ranked: the list is empty.
    """
    if scored["p_purchase"].isna().all():
        scored = scored.iloc[:0]
    out = scored.sort_values(["p_purchase", "customer_id"], ascending=[False, True], ignore_index=True)
    out.insert(0, "rank", np.arange(1, len(out) + 1))
    out.insert(3, "decile", np.arange(len(out)) * 10 // max(len(out), 1) + 1)
    return out


def voiced_summary(scored: pd.DataFrame) -> pd.DataFrame:
    """Customers by predicted next category, split by whether a note voiced a need this month."""
    voiced = scored["voiced_need"].notna().map({True: "voiced a need", False: "no note"})
    return pd.crosstab(scored["next_category"], voiced, margins=True, margins_name="all")


def segment_summary(scored: pd.DataFrame, segments: pd.DataFrame | None) -> pd.DataFrame | None:
    """Per segment of notebook 03: customers scored, mean p_purchase and the commonest next category
    (None when the run has no segments)."""
    if segments is None:
        return None
    m = scored.merge(segments[["customer_id", "segment_name"]], on="customer_id", how="left")
    m["segment_name"] = m["segment_name"].fillna("(no segment)")
    out = m.groupby("segment_name").agg(customers=("customer_id", "size"), mean_p_purchase=("p_purchase", "mean"))
    out["top_next_category"] = m.groupby("segment_name")["next_category"].agg(
        lambda s: s.value_counts().index[0] if s.notna().any() else pd.NA)
    return out.sort_values("mean_p_purchase", ascending=False)


def last_month_predictions(last: LastMonth, report_month: str, study: PropensityStudy
                           ) -> tuple[pd.DataFrame | None, str]:
    """Last month's p_purchase per customer and where it came from (None when the window is not yet over).

    From last month's report when it holds the ``propensity`` artifact; otherwise recomputed at last
    month's cutoff: this run's test-set predictions when the test cutoff is last month's end (the
    model chose and learned from data known then), else the BG/NBD baseline fitted on data up to then.
    Where they came from is a phrase in the current language (the report quotes it).
    """
    if not monitoring.window_covered(report_month, study.horizon_days):
        return None, _("the {days} days after last month's end run past this report month's end: last month's "
                       "predictions can be scored next month").format(days=study.horizon_days)
    previous = last.table("propensity", columns=["customer_id", "p_purchase"])
    if previous is not None:
        return previous, _("last month's report ({path})").format(path=f"{last.path.name}/artifacts/propensity.parquet")
    cutoff = monitoring.previous_cutoff(report_month)
    if not study.skipped and study.plan.test == cutoff:
        X = study.sets_.test[0]
        frame = pd.DataFrame({"customer_id": X.index.get_level_values("customer_id").astype(str),
                              "p_purchase": study.test_probabilities()})
        return frame, _("recomputed: no report of last month in this reports folder, so the test-set predictions at "
                        "{date} stand in (the {model} model, trained on cutoffs up to {last_cutoff})").format(
            date=date(cutoff), model=_(study.selected_), last_cutoff=date(max(study.plan.selection_train)))
    everyone = customer_features(study.orders, cutoff, categories=study.categories)
    active = everyone[everyone["recency_days"] <= study.active_days]
    if active.empty:
        return None, _("no customer was active at last month's end")
    bg = BGNBD(study.horizon_days).fit(everyone)
    frame = pd.DataFrame({"customer_id": active.index.astype(str), "p_purchase": bg.purchase_probability(active)})
    return frame, _("recomputed with the BG/NBD baseline fitted on data up to last month's end (no model could be "
                    "trained)")


def last_month_outcome(last: LastMonth, report_month: str, study: PropensityStudy, orders: pd.DataFrame,
                       horizon_days: int = HORIZON_DAYS) -> tuple[dict | None, pd.DataFrame | None, str]:
    """How last month's predictions turned out: the realised figures and gains by decile
    (:func:`monitoring.realised`; None while their window is open), and where they came from."""
    predictions, source = last_month_predictions(last, report_month, study)
    if predictions is None:
        return None, None, source
    figures, gains = monitoring.realised(predictions, orders, monitoring.previous_cutoff(report_month), horizon_days)
    return figures, gains, source


def headline(scored: pd.DataFrame, scorer: NeedScorer, study: PropensityStudy, next_accuracy: pd.DataFrame | None,
             notes: dict, monitoring_source: str, monitoring: dict | None) -> dict:
    """The figures notebook 05 hands over in metrics.json: this month's scores, where each came from,
    the purchase model's evaluation, the next-category accuracy, the note classifier's, and how last
    month's scores turned out.

    Without purchase probabilities, expected buyers and the mean probability are None (not a sum of
    nothing, which would read 0) and ``propensity["not_possible"]`` is the sentence the report shows.
    """
    possible = study.prediction_possible and bool(scored["p_purchase"].notna().any())
    return {
        "scored_customers": len(scored),
        "expected_buyers": float(scored["p_purchase"].sum()) if possible else None,
        "mean_p_purchase": float(scored["p_purchase"].mean()) if possible else None,
        "voiced_need_customers": int(scored["voiced_need"].notna().sum()),
        "sources": scorer.sources,
        "propensity": study.figures(),
        "next_category": (next_accuracy.to_dict("index") if next_accuracy is not None
                          else {"skipped": "too little history or fewer than two categories"}),
        "notes": notes,
        "monitoring": {"source": monitoring_source, **(monitoring or {})},
    }
