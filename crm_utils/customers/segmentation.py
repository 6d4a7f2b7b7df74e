"""Customer segments: who buys how, and what.

The pipeline is deliberately plain, so that an analyst can explain every step:

1. :func:`design_matrix` turns the features of :mod:`crm_utils.customers.features` into what K-means
   compares. Behaviour is described by *rates* rather than lifetime totals (orders per month of
   tenure, not orders ever), so a loyal customer who joined last quarter looks like a loyal
   customer, not like a small one; money and counts are logged because they are skewed; the
   category mix enters through the square roots of its shares, which makes Euclidean distance
   between mixes the Hellinger distance, so one dominant category cannot drown the rest.
2. :class:`CustomerSegmenter` standardises the columns (each gets unit variance, so no feature
   weighs more because of its unit), fits K-means for every k in a range and keeps the k with the
   best silhouette; the elbow of the inertia curve is reported beside it, not used.
3. :func:`name_segments` names each segment from its members by a written rule (RFM scores and
   the category the segment over-buys), so names follow the data instead of being typed by hand;
   each part of a name is true of most of the segment's members, or the name says "mixed".

:func:`compare_density_clusterings` runs DBSCAN and HDBSCAN on the same matrix for comparison.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.cluster import DBSCAN, HDBSCAN, KMeans
from sklearn.decomposition import PCA
from sklearn.metrics import adjusted_rand_score, silhouette_score
from sklearn.neighbors import NearestNeighbors
from sklearn.preprocessing import StandardScaler
from threadpoolctl import threadpool_limits

from crm_utils.artifacts import LastMonth
from crm_utils.config import month_end
from crm_utils.customers.features import category_columns, category_name, customer_table
from crm_utils.i18n import N_, _  # names are stored in English; the report shows them translated

#: Order lines of evidence the return rate is shrunk with: a customer who returned their only item
#: is not a "100% returner" but someone we know little about (empirical-Bayes shrinkage towards
#: the overall rate).
RETURN_PRIOR_LINES = 5.0
MONTH_DAYS = 30.44
#: A k is tried only if segments could hold this many customers on average: fewer customers
#: than that per segment describe individuals, not kinds of customers.
MIN_PER_SEGMENT = 10
#: Density-based clustering needs neighbourhoods to be dense: below this many customers it is skipped.
MIN_DENSITY_POINTS = 100


def overall_return_rate(features: pd.DataFrame) -> float:
    """The base's return rate, each customer weighted by their order lines."""
    return float(np.average(features["return_rate"], weights=np.maximum(features["lines"], 1e-9)))


def design_matrix(features: pd.DataFrame, overall_return: float | None = None) -> pd.DataFrame:
    """The columns K-means compares, before standardising (see the module docstring for why).

    ``overall_return`` is the rate return rates are shrunk towards (default: these customers').
    """
    months = np.maximum(features["tenure_days"].to_numpy(float) / MONTH_DAYS, 1.0)
    lines = features["lines"].to_numpy(float)
    if overall_return is None:
        overall_return = overall_return_rate(features)
    out = pd.DataFrame({
        "log_recency_days": np.log1p(features["recency_days"].to_numpy(float)),
        "log_orders_per_month": np.log(features["frequency"].to_numpy(float) / months),
        "log_avg_order_value": np.log1p(features["avg_order_value"].to_numpy(float)),
        "price_index": features["price_index"].to_numpy(float),
        "return_rate_shrunk": (features["return_rate"].to_numpy(float) * lines
                               + RETURN_PRIOR_LINES * overall_return) / (lines + RETURN_PRIOR_LINES),
    }, index=features.index)
    if "interactions" in features.columns and features["interactions"].any():
        out["log_contacts_per_month"] = np.log1p(features["interactions"].to_numpy(float) / months)
    cats = category_columns(features)
    if len(cats) > 1:  # a single category carries no information about the mix
        for c in cats:
            out["sqrt_" + c] = np.sqrt(features[c].to_numpy(float))
    return out


@dataclass
class KSelection:
    """The silhouette and inertia of K-means for each k tried, and the k chosen."""

    table: pd.DataFrame  # k, silhouette, inertia
    k: int
    elbow_k: int


class CustomerSegmenter(BaseEstimator):
    """K-means on the design matrix with k chosen by silhouette.

    Parameters
    ----------
    k_range : ks to try.
    seed : seeds K-means and every sample drawn, so the same data give the same segments.
    n_init : K-means restarts per k; the best objective wins.
    sample_size : when there are more customers, k is chosen and centroids are learned on a random
        sample of this size, then every customer goes to the nearest centroid (a sample of this
        size pins centroids down far more finely than segments differ).
    silhouette_size : the silhouette, which costs O(n^2), is measured on at most this many of
        the customers the centroids were learned on (the same random subset for every k).
    """

    def __init__(self, k_range: tuple[int, ...] = tuple(range(2, 11)), seed: int = 42, n_init: int = 10,
                 sample_size: int = 20_000, silhouette_size: int = 10_000):
        self.k_range = k_range
        self.seed = seed
        self.n_init = n_init
        self.sample_size = sample_size
        self.silhouette_size = silhouette_size

    def fit(self, features: pd.DataFrame) -> "CustomerSegmenter":
        self.overall_return_ = overall_return_rate(features)
        design = design_matrix(features, self.overall_return_)
        self.columns_ = list(design.columns)
        self.scaler_ = StandardScaler().fit(design.to_numpy())
        z = self.scaler_.transform(design.to_numpy())
        rng = np.random.default_rng(self.seed)
        fit_rows = (np.sort(rng.choice(len(z), self.sample_size, replace=False))
                    if len(z) > self.sample_size else np.arange(len(z)))
        zs = z[fit_rows]
        sil_rows = (np.sort(rng.choice(len(zs), self.silhouette_size, replace=False))
                    if len(zs) > self.silhouette_size else np.arange(len(zs)))
        ks = [k for k in self.k_range if 2 <= k and k * MIN_PER_SEGMENT <= len(zs)]
        self.too_few_ = not ks  # then everyone is one segment: there is nothing to choose between
        ks = ks or [1]
        rows, models = [], {}
        # One thread: on at most ``sample_size`` rows, thread start-up and contention with other
        # work on the machine cost more than parallel K-means saves (measured: 6.6 s vs 9.9 s).
        with threadpool_limits(limits=1):
            for k in ks:
                km = KMeans(n_clusters=k, n_init=self.n_init, random_state=self.seed).fit(zs)
                models[k] = km
                sil = silhouette_score(zs[sil_rows], km.labels_[sil_rows]) if k > 1 else np.nan
                rows.append({"k": k, "silhouette": sil, "inertia": km.inertia_})
        table = pd.DataFrame(rows)
        if self.too_few_:
            table["silhouette"] = 0.0  # idxmax needs a number; the single k is the only choice
        best = int(table.loc[table["silhouette"].idxmax(), "k"])
        self.selection_ = KSelection(table, best, elbow_k(table["k"].to_numpy(), table["inertia"].to_numpy()))
        km = models[best]
        # Segment ids ordered by value (the centroid's log order value x rate), so id 0 is the most
        # valuable whatever order K-means happened to find them in.
        centres = pd.DataFrame(self.scaler_.inverse_transform(km.cluster_centers_), columns=self.columns_)
        value = centres["log_orders_per_month"] + centres["log_avg_order_value"]
        order = np.argsort(-value.to_numpy(), kind="stable")
        self.kmeans_ = km
        self.cluster_centers_ = km.cluster_centers_[order]
        self._relabel = np.argsort(order)
        self.k_ = best
        self.silhouette_ = np.nan if self.too_few_ else float(table.set_index("k").loc[best, "silhouette"])
        if self.too_few_:
            self.selection_ = KSelection(table.iloc[0:0], 1, 1)
        self.labels_ = self.predict(features)
        return self

    def transform(self, features: pd.DataFrame) -> np.ndarray:
        """The standardised design matrix (what the clustering sees), in the fitted columns."""
        design = design_matrix(features, self.overall_return_).reindex(columns=self.columns_, fill_value=0.0)
        return self.scaler_.transform(design.to_numpy())

    def predict(self, features: pd.DataFrame) -> np.ndarray:
        """Segment id (0 = most valuable) of each customer: the nearest fitted centroid."""
        return self._relabel[self.kmeans_.predict(self.transform(features))]


def elbow_k(ks: np.ndarray, inertia: np.ndarray) -> int:
    """The k of the inertia curve's elbow: the point farthest from the chord joining its ends."""
    x = (ks - ks[0]) / max(ks[-1] - ks[0], 1)
    y = (inertia - inertia[-1]) / max(inertia[0] - inertia[-1], 1e-12)
    # Distance of each point below the straight line from (0, 1) to (1, 0).
    return int(ks[np.argmax(1 - x - y)])


# ------------------------------------------------------------------------------------------
# Names
# ------------------------------------------------------------------------------------------

def rfm_scores(features: pd.DataFrame) -> pd.DataFrame:
    """R, F and M scores 1-5 by quintile of the customer base (5 = most recent / frequent / valuable)."""
    def score(s: pd.Series, ascending: bool) -> pd.Series:
        pct = s.rank(pct=True, method="average", ascending=ascending)
        return np.ceil(pct * 5).clip(1, 5).astype(int)
    return pd.DataFrame({"R": score(features["recency_days"], ascending=False),
                         "F": score(features["frequency"], ascending=True),
                         "M": score(features["monetary"], ascending=True)}, index=features.index)


#: New customers: tenure under this many days (a quarter: too short to have a buying rhythm).
NEW_DAYS = 90
#: "Most of its customers": every claim a segment's name makes (its RFM label, its category) must
#: hold for more than this share of the segment's members, so the name is true of a majority.
NAME_SUPPORT = 0.5
#: A category is over-represented in a segment when its share of the members' order lines is at
#: least this many times its share among all customers: half as common again, a difference a
#: manager would act on (the bar the kit used before; support is now checked separately).
CATEGORY_LIFT = 1.5
#: A category needs at least this many buyers in the segment, however high its lift: fewer
#: customers describe individuals, not a kind of customer (the same bar as ``MIN_PER_SEGMENT``).
MIN_CATEGORY_BUYERS = MIN_PER_SEGMENT
#: What a name says when no category passes the rule: the segment buys no one category distinctively.
MIXED = N_("mixed basket")

#: The RFM grid, checked in this order (the usual RFM grid, simplified): each label with the
#: condition on a customer's R, F, M scores and tenure in days that it claims. A customer's label
#: is the first whose condition holds.
RFM_GRID: tuple[tuple[str, Callable[..., Any]], ...] = (
    (N_("New"), lambda r, f, m, t: t < NEW_DAYS),
    (N_("Champions"), lambda r, f, m, t: (r >= 4) & (f >= 4) & (m >= 4)),
    (N_("Loyal"), lambda r, f, m, t: (r >= 3) & (f >= 4)),
    (N_("Big spenders"), lambda r, f, m, t: (r >= 3) & (m >= 4)),
    (N_("Promising"), lambda r, f, m, t: r >= 4),
    (N_("At risk"), lambda r, f, m, t: (r <= 2) & ((f >= 3) | (m >= 3))),
    (N_("Lost"), lambda r, f, m, t: (r < 2) & (f < 3) & (m < 3)),
    (N_("Hibernating"), lambda r, f, m, t: (r <= 2) & (f < 3) & (m < 3)),
    (N_("Need attention"), lambda r, f, m, t: (r == 3) & (f < 4) & (m < 4)),
    # Never a customer's label (At risk or Hibernating comes first), but true of a segment whose
    # lapsed members split between those two.
    (N_("Lapsed"), lambda r, f, m, t: r <= 2),
)
#: A segment's label when no condition of the grid holds for most of its members. (Every customer
#: meets some condition above, so a single customer never gets it.)
RFM_FALLBACK = N_("Mixed RFM")


def rfm_label(r: float, f: float, m: float, tenure_days: float) -> str:
    """The RFM label of one customer: the first label of ``RFM_GRID`` whose condition holds."""
    return next((label for label, holds in RFM_GRID if holds(r, f, m, tenure_days)), RFM_FALLBACK)


def segment_rfm(scores: pd.DataFrame, tenure_days: pd.Series) -> tuple[str, float]:
    """A segment's RFM label and the share of its members the label is true of.

    The label is the first of ``RFM_GRID`` whose condition holds for more than ``NAME_SUPPORT`` of
    the members, each judged on their own scores. (The medians of R, F and M would not do: a
    segment whose halves are recent, frequent or big spenders can hold no one who is all three.)
    """
    r, f, m = (scores[c].to_numpy() for c in ("R", "F", "M"))
    t = tenure_days.to_numpy(dtype=float)
    for label, holds in RFM_GRID:
        share = float(np.mean(holds(r, f, m, t)))
        if share > NAME_SUPPORT:
            return label, share
    return RFM_FALLBACK, float("nan")


def segment_category(shares: pd.DataFrame, base: pd.Series) -> pd.Series:
    """The category that names one segment, and its figures.

    ``shares`` are the members' ``cat_`` columns (share of each member's order lines per category),
    ``base`` the mean shares of all customers. A category qualifies when (a) its lift, the members'
    mean share over the base's, is at least ``CATEGORY_LIFT``; (b) more than ``NAME_SUPPORT`` of the
    members bought it; (c) at least ``MIN_CATEGORY_BUYERS`` members bought it. Of those that qualify
    the largest share of the members' lines wins (then the higher lift, the more buyers): each
    qualifying category is true of most members, so no tie-break can name something false.
    Support counts customers, not lines or spend, because the bar is that the name be true of most
    customers: a category that is most of a few big buyers' spend is not what most members buy.
    Returns ``category`` (None when none qualifies), ``buyer_share``, ``line_share`` and ``lift``.
    """
    bought = shares.to_numpy() > 0
    line = shares.mean()
    cand = pd.DataFrame({"line_share": line.to_numpy(),
                         "lift": (line / base.where(base > 0)).to_numpy(),
                         "buyers": bought.sum(axis=0),
                         "buyer_share": bought.mean(axis=0)},
                        index=[category_name(c) for c in shares.columns])
    ok = cand[(cand["lift"] >= CATEGORY_LIFT) & (cand["buyer_share"] > NAME_SUPPORT)
              & (cand["buyers"] >= MIN_CATEGORY_BUYERS)]
    if ok.empty:
        return pd.Series({"category": None, "buyer_share": np.nan, "line_share": np.nan, "lift": np.nan})
    best = ok.sort_values(["line_share", "lift", "buyers"], ascending=False, kind="stable").iloc[0]
    return pd.Series({"category": best.name, "buyer_share": best["buyer_share"],
                      "line_share": best["line_share"], "lift": best["lift"]})


def naming_evidence(features: pd.DataFrame, labels: np.ndarray) -> pd.DataFrame:
    """Per segment id, what its name rests on: the RFM label and the share of members it is true
    of (``rfm_true_share``), and the named category (None: "mixed basket") with the share of members
    who bought it, its share of their order lines and its lift. See :func:`name_segments`."""
    scores = rfm_scores(features)
    cats = category_columns(features)
    base = features[cats].mean()
    rows = {}
    for seg in np.unique(labels):
        member = labels == seg
        label, true_share = segment_rfm(scores[member], features.loc[member, "tenure_days"])
        row = {"customers": int(member.sum()), "rfm_label": label, "rfm_true_share": true_share}
        if len(cats) > 1:  # a single category says nothing about a segment
            cat = segment_category(features.loc[member, cats], base)
            row.update({"category": cat["category"], "category_buyer_share": cat["buyer_share"],
                        "category_line_share": cat["line_share"], "category_lift": cat["lift"]})
        rows[int(seg)] = row
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("segment_id")


def name_segments(features: pd.DataFrame, labels: np.ndarray) -> pd.Series:
    """A readable name per segment id, "<RFM label> · <category>", each part true of most members.

    Rule, with the module's constants:

    * **RFM label** (:func:`segment_rfm`): R, F and M scores are quintiles of the whole base; the
      label is the first of ``RFM_GRID`` (New, Champions, Loyal, Big spenders, Promising, At risk,
      Lost, Hibernating, Need attention, Lapsed) whose condition holds for more than
      ``NAME_SUPPORT`` (half) of the members, each judged on their own scores; ``RFM_FALLBACK``
      ("Mixed RFM") when none does.
    * **Category** (:func:`segment_category`): a category enters the name only if (a) the members'
      share of order lines in it is at least ``CATEGORY_LIFT`` (1.5) times all customers' share,
      (b) more than ``NAME_SUPPORT`` (half) of the members bought it, and (c) at least
      ``MIN_CATEGORY_BUYERS`` (10) members bought it; of those, the one with the largest share of
      the members' lines. Otherwise the name says ``MIXED`` ("mixed basket"): a high lift carried
      by a handful of buyers names nothing. Without category data (one category) there is no
      category part.

    A name that still repeats gets the segment id appended. :func:`naming_evidence` gives the
    figures each name rests on.
    """
    evidence = naming_evidence(features, labels)
    names = {}
    for seg, row in evidence.iterrows():
        name = row["rfm_label"]
        if "category" in evidence.columns:
            name += f" · {row['category'] if pd.notna(row['category']) else MIXED}"
        names[int(seg)] = name
    counts = pd.Series(names).value_counts()
    return pd.Series({s: (n if counts[n] == 1 else f"{n} ({s})") for s, n in names.items()}, name="segment_name")


def profile(features: pd.DataFrame, labels: np.ndarray, names: pd.Series) -> pd.DataFrame:
    """One row per segment: size, share and the median of the features that describe it.

    ``top_category`` is the category with the largest share of the members' order lines and
    ``top_category_share`` that share, so the table shows what a segment mostly buys even when
    its name says "mixed basket" (or names a smaller, distinctive category).
    """
    cols = ["recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "return_rate",
            "price_index"]
    frame = features[cols].assign(segment_id=labels)
    out = frame.groupby("segment_id").median()
    out.insert(0, "customers", frame.groupby("segment_id").size())
    out.insert(1, "share", out["customers"] / out["customers"].sum())
    out.insert(0, "segment_name", names.reindex(out.index))
    cats = category_columns(features)
    if cats:
        mix = features[cats].groupby(labels).mean().reindex(out.index)
        out["top_category"] = [category_name(c) for c in mix.idxmax(axis=1)]
        out["top_category_share"] = mix.max(axis=1)
    return out


def centroid_profile(segmenter: CustomerSegmenter, names: pd.Series) -> pd.DataFrame:
    """Centroids in standard units (rows: segments, columns: design columns), for a heat map."""
    return pd.DataFrame(segmenter.cluster_centers_, columns=segmenter.columns_,
                        index=[names[i] for i in range(len(segmenter.cluster_centers_))])


# ------------------------------------------------------------------------------------------
# Density-based clusterings, for comparison
# ------------------------------------------------------------------------------------------

def kdistance_eps(z: np.ndarray, min_samples: int) -> tuple[float, np.ndarray]:
    """DBSCAN's eps at the knee of the sorted distances to each point's ``min_samples``-th neighbour.

    Points inside clusters have close neighbours; the knee is where distances start to climb,
    i.e. where noise begins (Ester et al., 1996). Returns eps and the sorted k-distances.
    """
    dist, _ = NearestNeighbors(n_neighbors=min_samples).fit(z).kneighbors(z)
    kd = np.sort(dist[:, -1])
    x = np.linspace(0, 1, len(kd))
    y = (kd - kd[0]) / max(kd[-1] - kd[0], 1e-12)
    return float(kd[np.argmax(x - y)]), kd


def compare_density_clusterings(z: np.ndarray, kmeans_labels: np.ndarray, seed: int = 42,
                                sample_size: int = 5_000) -> tuple[pd.DataFrame, dict] | None:
    """DBSCAN and HDBSCAN on (a sample of) the same standardised matrix, beside K-means.

    DBSCAN's ``min_samples`` is twice the number of dimensions (Sander et al., 1998) and its eps
    the k-distance knee; HDBSCAN needs only a minimum cluster size, here 1% of the points.
    Returns a comparison table and the labels of the sample (``-1`` = noise), or None when there
    are fewer than ``MIN_DENSITY_POINTS`` customers.
    """
    if len(z) < MIN_DENSITY_POINTS:
        return None
    rng = np.random.default_rng(seed)
    rows = np.sort(rng.choice(len(z), sample_size, replace=False)) if len(z) > sample_size else np.arange(len(z))
    zs, km = z[rows], kmeans_labels[rows]
    min_samples = 2 * z.shape[1]
    eps, kd = kdistance_eps(zs, min_samples)
    labels = {
        "K-means": km,
        "DBSCAN": DBSCAN(eps=eps, min_samples=min_samples).fit_predict(zs),
        "HDBSCAN": HDBSCAN(min_cluster_size=max(10, len(zs) // 100), copy=True).fit_predict(zs),
    }
    params = {"K-means": f"k={len(np.unique(km))} (silhouette)",
              "DBSCAN": f"eps={eps:.2f} (k-distance knee), min_samples={min_samples}",
              "HDBSCAN": f"min_cluster_size={max(10, len(zs) // 100)}"}
    out = []
    for name, lab in labels.items():
        clustered = lab >= 0
        n_clusters = len(np.unique(lab[clustered]))
        sil = (silhouette_score(zs[clustered], lab[clustered])
               if n_clusters > 1 and clustered.sum() > n_clusters else np.nan)
        out.append({"method": name, "parameters": params[name], "clusters": n_clusters,
                    "noise_share": float(1 - clustered.mean()), "silhouette": sil,
                    "ari_vs_kmeans": adjusted_rand_score(km[clustered], lab[clustered])})
    extra = {"rows": rows, "labels": labels, "eps": eps, "kdistance": kd, "min_samples": min_samples}
    return pd.DataFrame(out), extra


def dbscan_sensitivity(z: np.ndarray, eps: float, min_samples: int, factors=(0.5, 0.75, 1.0, 1.5, 2.0)) -> pd.DataFrame:
    """How DBSCAN's clusters and noise change as eps shrinks or grows around the chosen value."""
    rows = []
    for f in factors:
        lab = DBSCAN(eps=eps * f, min_samples=min_samples).fit_predict(z)
        rows.append({"eps": eps * f, "factor": f, "clusters": len(np.unique(lab[lab >= 0])),
                     "noise_share": float((lab < 0).mean())})
    return pd.DataFrame(rows)


def pca_projection(z: np.ndarray, seed: int = 42) -> tuple[np.ndarray, np.ndarray]:
    """The first two principal components of the standardised matrix and their explained variance."""
    k = min(2, *z.shape)
    pca = PCA(n_components=k, random_state=seed).fit(z)
    coords, explained = pca.transform(z), pca.explained_variance_ratio_
    if k < 2:  # a single customer or feature: pad so the map still has two axes
        coords = np.hstack([coords, np.zeros((len(z), 2 - k))])
        explained = np.r_[explained, np.zeros(2 - k)]
    return coords, explained


# ------------------------------------------------------------------------------------------
# Migration between months
# ------------------------------------------------------------------------------------------

NOT_YET = "not yet a customer"


def previous_segments(last: LastMonth, segmenter: CustomerSegmenter, names: pd.Series, orders: pd.DataFrame,
                      interactions: pd.DataFrame | None = None, customers: pd.DataFrame | None = None,
                      categories: list[str] | None = None) -> tuple[pd.Series | None, str]:
    """Each customer's segment name last month, and where it came from.

    Last month's own run (its ``segments`` artifact) is the record of what the business was told
    then, so it is used when present. Otherwise last month's segments are computed now: the
    features at last month's cutoff are assigned to this month's centroids, which shows movement
    between the same segment definitions. None when nobody had bought by last month's cutoff.
    """
    prev = last.table("segments", columns=["customer_id", "segment_name"])
    if prev is not None:
        return prev.set_index("customer_id")["segment_name"], str(last)
    try:
        feats = customer_table(orders, month_end(last.month), interactions, customers, categories)
    except ValueError:  # no purchase by last month's cutoff: the report month is the data's first
        return None, _("none: nobody had bought by last month's cutoff")
    labels = segmenter.predict(feats)
    return (pd.Series(names.reindex(labels).to_numpy(), index=feats.index, name="segment_name"),
            _("recomputed at last month's cutoff with this month's segment definitions"))


def migration_matrix(previous: pd.Series, current: pd.Series, order: list[str] | None = None) -> pd.DataFrame:
    """Customers by previous segment (rows) and current segment (columns).

    Both series are indexed by customer_id. Customers without a previous segment appear in the
    row ``not yet a customer``. ``order`` lists the segment names in display order (default:
    alphabetical); previous segments no longer in it come last.
    """
    prev = previous.reindex(current.index).astype(object).fillna(NOT_YET)
    table = pd.crosstab(prev.rename("previous segment"), current.rename("current segment"))
    order = [n for n in (order or sorted(current.unique())) if n in table.columns]
    rows = [n for n in order if n in table.index] + sorted(r for r in table.index if r not in order and r != NOT_YET)
    rows += [NOT_YET] if NOT_YET in table.index else []
    return table.reindex(index=rows, columns=order, fill_value=0)


def migration_summary(previous: pd.Series, current: pd.Series) -> dict:
    """How many customers kept their segment, moved, or are new since last month."""
    prev = previous.reindex(current.index)
    known = prev.notna()
    same = (prev[known].astype(str) == current[known].astype(str))
    return {"customers": int(len(current)), "new_since_last_month": int((~known).sum()),
            "stayed": int(same.sum()), "moved": int((~same).sum()),
            "stayed_share": float(same.mean()) if known.any() else float("nan")}


def headline(segments: pd.DataFrame, segmenter: CustomerSegmenter, profile: pd.DataFrame, names: pd.Series,
             density: pd.DataFrame | None, migration: dict, migration_source: str) -> dict:
    """The figures notebook 03 hands over in metrics.json: k and its silhouette, each segment's size
    and medians, the density clusterings against K-means, and the migration since last month."""
    return {
        "customers": len(segments), "k": segmenter.k_, "silhouette": segmenter.silhouette_,
        "elbow_k": segmenter.selection_.elbow_k,
        "segments": {names[i]: {"customers": int(r.customers), "share": r.share, "median_monetary": r.monetary,
                                "median_recency_days": r.recency_days}
                     for i, r in profile.iterrows()},
        "density_comparison": (density.set_index("method")[["clusters", "noise_share", "ari_vs_kmeans"]].to_dict("index")
                               if density is not None else None),
        "migration": migration, "migration_source": migration_source,
    }


def segment_table(features: pd.DataFrame, labels: np.ndarray, names: pd.Series) -> pd.DataFrame:
    """The ``segments`` artifact: one row per customer, its segment id and name, then its features."""
    out = features.assign(segment_id=labels, segment_name=names.reindex(labels).to_numpy()).reset_index()
    return out[["customer_id", "segment_id", "segment_name", *features.columns]]
