"""Next need: which product categories a customer's next order will contain.

The model scores every (customer, category) pair with features that mean the same for every
category, so one model serves all categories and a category with few buyers borrows strength
from the others:

==========================  ================================================================
``share``                   the customer's share of past order lines in the category
``log_lines_in_category``   log(1 + past lines in the category): how much evidence the share rests on
``days_since_category``     days since the customer last bought the category (missing: never)
``log_customer_lines``      log(1 + all past lines of the customer)
``popularity``              the category's share of all lines in the year before the cutoff
``season_index``            log of the category's share in the same weeks a year earlier over its
                            yearly share: > 0 when the coming weeks are its season (missing
                            without a year of history)
``voiced``                  1 when a note in the ``need_window_days`` before the cutoff asked about
                            the category (from the text classifier), else 0
==========================  ================================================================

The label of a pair is whether the category is among those of the customer's first order in the
30 days after the cutoff. Gradient boosting learns the pairs; a customer's scores are divided by
their sum, so the probabilities over categories add up to 1. Accuracy: a prediction is a hit
when the category (top-1), or one of the three (top-3), is in that first order. The baseline
ranks each customer's categories by their past share (the most frequent first; ties by popularity).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingClassifier
from threadpoolctl import threadpool_limits

from crm_utils.customers.features import category_column, category_recency
from crm_utils.i18n import N_, NC_, _, pgettext
from crm_utils.needs.propensity import CutoffPlan, ExampleSets, prediction_threads, single_threaded

PAIR_COLUMNS = ("share", "log_lines_in_category", "days_since_category", "log_customer_lines", "popularity",
                "season_index", "voiced")
YEAR = pd.Timedelta(days=365)


def next_order_categories(orders: pd.DataFrame, cutoff: pd.Timestamp, horizon_days: int = 30) -> pd.DataFrame:
    """(customer_id, category) of every category in each customer's first order after ``cutoff``.

    The first order is the earliest purchase moment in ``(cutoff, cutoff + horizon_days]``; lines
    without a category are left out.
    """
    end = cutoff + pd.Timedelta(days=horizon_days)
    d = orders["order_date"]
    w = orders.loc[(d > cutoff) & (d <= end) & ~orders["is_return"] & orders["category"].notna(),
                   ["customer_id", "order_date", "category"]]
    first = w.groupby("customer_id", observed=True)["order_date"].transform("min")
    out = w.loc[w["order_date"] == first, ["customer_id", "category"]]
    return pd.DataFrame({"customer_id": out["customer_id"].astype(str).to_numpy(),
                         "category": out["category"].astype(str).to_numpy()}).drop_duplicates(ignore_index=True)


def shop_category_mix(orders: pd.DataFrame, cutoff: pd.Timestamp, categories: list[str],
                      horizon_days: int = 30) -> pd.DataFrame:
    """Each category's share of purchased lines in the year to ``cutoff`` and its season index."""
    # Masks and category codes over the whole table: no copy of tens of millions of lines.
    d = orders["order_date"].to_numpy()
    buy = ~orders["is_return"].to_numpy(dtype=bool)
    cat = orders["category"] if isinstance(orders["category"].dtype, pd.CategoricalDtype) \
        else orders["category"].astype("category")
    codes = cat.cat.codes.to_numpy()
    names = [str(c) for c in cat.cat.categories]

    def shares(start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
        rows = buy & (codes >= 0) & (d > start.to_datetime64()) & (d <= end.to_datetime64())
        counts = pd.Series(np.bincount(codes[rows], minlength=len(names)), index=names, dtype=float)
        total = counts.sum()  # over every category seen, as a share of all lines
        counts = counts.groupby(level=0).sum().reindex(categories, fill_value=0.0)
        return counts / total if total else counts

    popularity = shares(cutoff - YEAR, cutoff)
    season = pd.Series(np.nan, index=categories)
    first = d[buy & (codes >= 0)].min() if (buy & (codes >= 0)).any() else None
    if first is not None and first <= (cutoff - YEAR).to_datetime64():
        # A full year of history: the coming weeks of last year are known.
        then = shares(cutoff - YEAR, cutoff - YEAR + pd.Timedelta(days=horizon_days))
        season = np.log((then + 1e-3) / (popularity + 1e-3))
    return pd.DataFrame({"popularity": popularity.to_numpy(), "season_index": season.to_numpy()}, index=categories)


def category_pairs(features: pd.DataFrame, orders: pd.DataFrame, cutoff: pd.Timestamp, categories: list[str],
                   needs: pd.DataFrame | None = None, need_window_days: int = 14,
                   horizon_days: int = 30, mix: pd.DataFrame | None = None) -> pd.DataFrame:
    """The pair features (module docstring) of every customer in ``features`` x every category.

    ``features`` come from ``customer_features`` at ``cutoff``; ``needs`` (customer_id, timestamp,
    category) are the needs read from notes (``need_text.note_needs``), of which only those in
    ``(cutoff - need_window_days, cutoff]`` count. ``mix`` is :func:`shop_category_mix` of all
    orders, for when ``orders`` hold only some customers' lines (computed from them by default).
    """
    cutoff = pd.Timestamp(cutoff)
    idx = features.index
    n, k = len(idx), len(categories)
    share = np.column_stack([features[category_column(c)].to_numpy(float) if category_column(c) in features
                             else np.zeros(n) for c in categories]) if n else np.zeros((0, k))
    lines = features["lines"].to_numpy(float)
    recency = category_recency(orders, cutoff, idx, categories).to_numpy()
    if mix is None:
        mix = shop_category_mix(orders, cutoff, categories, horizon_days)
    voiced = np.zeros((n, k))
    if needs is not None and len(needs):
        t = needs["timestamp"]
        w = needs[(t > cutoff - pd.Timedelta(days=need_window_days)) & (t <= cutoff)]
        r = idx.get_indexer(w["customer_id"])
        c = pd.Index(categories).get_indexer(w["category"].astype(str))
        ok = (r >= 0) & (c >= 0)
        voiced[r[ok], c[ok]] = 1.0
    # Customer-major layout (each customer's k categories together), indexed from codes so that
    # millions of pairs need no hashing of strings.
    index = pd.MultiIndex(levels=[pd.Index(idx.astype(str)), pd.Index(categories)],
                          codes=[np.repeat(np.arange(n), k), np.tile(np.arange(k), n)],
                          names=["customer_id", "category"])
    return pd.DataFrame({
        "share": share.ravel(),
        "log_lines_in_category": np.log1p(share * lines[:, None]).ravel(),
        "days_since_category": recency.ravel(),
        "log_customer_lines": np.repeat(np.log1p(lines), k),
        "popularity": np.tile(mix["popularity"].to_numpy(), n),
        "season_index": np.tile(mix["season_index"].to_numpy(), n),
        "voiced": voiced.ravel(),
    }, index=index)


def pair_labels(pairs: pd.DataFrame, actual: pd.DataFrame) -> np.ndarray:
    """1 where the pair's category is in the customer's first order after the cutoff."""
    key = pd.MultiIndex.from_frame(actual[["customer_id", "category"]])
    return pairs.index.isin(key)


class NextCategoryModel(BaseEstimator):
    """Gradient boosting on (customer, category) pairs; probabilities normalised per customer."""

    def __init__(self, seed: int = 42):
        self.seed = seed

    @single_threaded
    def fit(self, pairs: pd.DataFrame, bought: np.ndarray) -> "NextCategoryModel":
        # A feature missing in every training pair (the season index without a year of history)
        # carries nothing to learn and is left out.
        self.columns_ = [c for c in PAIR_COLUMNS if pairs[c].notna().any()]
        self.model_ = HistGradientBoostingClassifier(early_stopping=False, random_state=self.seed)
        self.model_.fit(pairs[self.columns_], np.asarray(bought, dtype=int))
        return self

    def predict_proba(self, pairs: pd.DataFrame) -> pd.DataFrame:
        """Customers x categories; each row sums to 1 (``pairs`` as laid out by :func:`category_pairs`)."""
        with threadpool_limits(limits=prediction_threads(len(pairs))):
            return normalise(self.model_.predict_proba(pairs[self.columns_])[:, 1], pairs)


def normalise(values: np.ndarray, pairs: pd.DataFrame) -> pd.DataFrame:
    """Scores of ``pairs`` (one customer's categories together) as customers x categories shares."""
    categories = pairs.index.levels[1][pairs.index.codes[1][: len(pairs.index.levels[1])]]
    k = len(categories)
    if len(pairs) % k or not (pairs.index.codes[1].reshape(-1, k) == pairs.index.codes[1][:k]).all():
        raise ValueError("pairs must list every category of a customer together, as category_pairs does")
    table = np.asarray(values, float).reshape(-1, k)
    total = table.sum(axis=1, keepdims=True)
    table = np.where(total > 0, table / np.where(total > 0, total, 1), 1.0 / k)
    customers = pairs.index.get_level_values(0)[::k]
    return pd.DataFrame(table, index=customers, columns=pd.Index(categories, name="category"))


def frequent_category_scores(pairs: pd.DataFrame) -> pd.DataFrame:
    """The baseline: a customer's past share of each category (ties broken by popularity)."""
    return normalise((pairs["share"] + 1e-6 * pairs["popularity"]).to_numpy(), pairs)


def top_k_accuracy(scores: pd.DataFrame, actual: pd.DataFrame, k: int) -> float:
    """Share of customers (rows of ``scores`` with a next order in ``actual``) whose top-k holds a bought category."""
    bought = pd.crosstab(actual["customer_id"], actual["category"]).reindex(
        index=scores.index, columns=scores.columns, fill_value=0).to_numpy() > 0
    has = bought.any(axis=1)
    top = np.argsort(-scores.to_numpy(), axis=1, kind="stable")[:, :k]
    hit = np.take_along_axis(bought, top, axis=1).any(axis=1)
    return float(hit[has].mean()) if has.any() else float("nan")


def top_category(scores: pd.DataFrame) -> pd.DataFrame:
    """Each customer's most likely category and its probability."""
    return pd.DataFrame({"next_category": scores.idxmax(axis=1).astype("string"),
                         "p_next_category": scores.max(axis=1).to_numpy()}, index=scores.index)


#: The accuracy table's names as notebook 05 shows them (context 'accuracy column'); the table
#: keeps these names, which the chart and metrics.json read.
SHOWN_COLUMNS = {
    "method": NC_("accuracy column", "method"), "validation_top1": NC_("accuracy column", "validation_top1"),
    "validation_top3": NC_("accuracy column", "validation_top3"), "test_top1": NC_("accuracy column", "test_top1"),
    "test_top3": NC_("accuracy column", "test_top3"), "test_customers": NC_("accuracy column", "test_customers"),
    "selected": NC_("accuracy column", "selected"),
}
#: The two ways of ranking categories, as the accuracy table's rows name them.
RANKINGS = (N_("model"), N_("most frequent past category"))


def shown(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """The accuracy table (:meth:`NextNeedStudy.evaluate`) as notebook 05 displays it, in the
    current language; the same table in English. A display copy."""
    if table is None:
        return None
    out = table.rename(columns={c: pgettext("accuracy column", c) for c in table.columns if c in SHOWN_COLUMNS})
    out.index = out.index.map(lambda m: _(m) if m in RANKINGS else m)
    if out.index.name in SHOWN_COLUMNS:
        out.index.name = pgettext("accuracy column", out.index.name)
    return out


@dataclass
class NextNeedStudy:
    """Next-category model for one report month, on the cutoffs of the propensity study.

    As for propensity, the choice is made on the validation cutoff: the model (trained on the
    buyers after the model-choice training cutoffs) against the baseline, by top-3 accuracy on the
    buyers after the validation cutoff; the baseline keeps a tie. For the report, the model is
    retrained with the validation cutoff added and both are scored on the test cutoff's buyers;
    then the model is refitted on the final training cutoffs if it was chosen. Without training
    data (``sets`` None) only the baseline can score.
    """

    orders: pd.DataFrame
    plan: CutoffPlan
    sets: ExampleSets | None
    categories: list[str]
    needs: pd.DataFrame | None = None
    need_window_days: int = 14
    seed: int = 42
    accuracy_: pd.DataFrame | None = field(init=False, default=None)
    final_model_: NextCategoryModel | None = field(init=False, default=None)

    @property
    def skipped(self) -> str:
        """Why there is no next category to predict ("" when there is one)."""
        if len(self.categories or []) < 2:
            return _("The orders hold fewer than two categories: there is no next category to predict.")
        return ""

    def note(self) -> str:
        """What this month's next category comes from, in one line."""
        if self.skipped:
            return self.skipped
        if self.accuracy_ is None:
            return _("Too little history to train the next-category model: this month's next category is the "
                     "baseline, each customer's most frequent past category.")
        return (_("Chosen on validation: the model") if self.use_model_
                else _("Chosen on validation: the baseline (the model did not beat it)"))

    def _pairs(self, X: pd.DataFrame, y: pd.Series | None = None) -> tuple[pd.DataFrame, np.ndarray, pd.DataFrame]:
        """Pairs of the buyers in ``X`` (stacked over its cutoffs), their labels and next orders."""
        parts, labels, actuals = [], [], []
        for cutoff in X.index.get_level_values("cutoff").unique():
            Xc = X.xs(cutoff, level="cutoff")
            if y is not None:
                Xc = Xc[y.xs(cutoff, level="cutoff").to_numpy()]
            p = category_pairs(Xc, self.orders, cutoff, self.categories, self.needs, self.need_window_days,
                               self.plan.horizon_days)
            actual = next_order_categories(self.orders, cutoff, self.plan.horizon_days)
            actual = actual[actual["customer_id"].isin(Xc.index.astype(str))]
            parts.append(p)
            labels.append(pair_labels(p, actual))
            actuals.append(actual.assign(cutoff=cutoff))
        return pd.concat(parts), np.concatenate(labels), pd.concat(actuals, ignore_index=True)

    def _accuracy(self, model: NextCategoryModel, X: pd.DataFrame, y: pd.Series) -> dict[str, dict]:
        pairs, _, actual = self._pairs(X, y)
        scores = {"model": model.predict_proba(pairs), "most frequent past category": frequent_category_scores(pairs)}
        return {name: {"top1": top_k_accuracy(s, actual, 1), "top3": top_k_accuracy(s, actual, 3),
                       "customers": int(actual["customer_id"].nunique())} for name, s in scores.items()}

    @single_threaded
    def evaluate(self) -> pd.DataFrame | None:
        """Top-1 and top-3 accuracy of the model and the baseline on validation (chooses) and test (reports)."""
        if self.sets is None or self.skipped:
            return None
        (Xtr, ytr), (Xv, yv), (Xt, yt) = self.sets.train, self.sets.validation, self.sets.test
        val = self._accuracy(NextCategoryModel(self.seed).fit(*self._pairs(Xtr, ytr)[:2]), Xv, yv)
        pairs, labels, _ = self._pairs(pd.concat([Xtr, Xv]), pd.concat([ytr, yv]))
        test = self._accuracy(NextCategoryModel(self.seed).fit(pairs, labels), Xt, yt)
        self.use_model_ = val["model"]["top3"] > val["most frequent past category"]["top3"]
        rows = [{"method": name, **{f"validation_{k}": v for k, v in val[name].items() if k != "customers"},
                 **{f"test_{k}": v for k, v in test[name].items()}} for name in val]
        table = pd.DataFrame(rows).set_index("method")
        table["selected"] = [self.use_model_, not self.use_model_]
        self.accuracy_ = table
        return table

    @single_threaded
    def fit_final(self) -> NextCategoryModel | None:
        """The model refitted on the final training cutoffs, or None when the baseline was chosen."""
        if self.sets is None or self.skipped:
            return None
        if not hasattr(self, "use_model_"):
            raise RuntimeError("call evaluate() first: it chooses between the model and the baseline")
        if not self.use_model_:
            return None
        pairs, labels, _ = self._pairs(*self.sets.final_train)
        self.final_model_ = NextCategoryModel(self.seed).fit(pairs, labels)
        return self.final_model_
