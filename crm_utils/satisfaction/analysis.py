"""Satisfaction clustering: how customers feel, why, and what it costs us (notebook 09).

The steps, in the order the notebook shows them:

* **responses** of a window of months up to the report month's end (:func:`response_window`),
  the answer scale of every item (:func:`detect_scales`) and each item's distribution;
* the **NPS** with an adjusted-Wald confidence interval, overall and by month (:func:`nps`);
* **clusters** of the standardised items (:class:`SatisfactionClusters`): K-means with k chosen by
  silhouette, a Gaussian mixture with k chosen by BIC and HDBSCAN on the same responses, one
  solution chosen by a stated rule, each cluster named from its item profile (:func:`name_clusters`);
* **key drivers** of overall satisfaction and NPS (:func:`key_drivers`);
* the **comments**: distinctive TF-IDF terms per cluster and two typical comments (:func:`distinctive_terms`,
  :func:`example_comments`);
* the **consequences**: repurchase and churn by cluster, observable before the cutoff
  (:func:`outcomes_by_cluster`), and a cross-tab against the customer segments (:func:`segment_crosstab`).

Missing answers follow one rule (see :class:`SatisfactionClusters`): no answer is ever invented.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats
from threadpoolctl import threadpool_limits

from crm_utils.config import month_end, parse_month
from crm_utils.customers.features import positions_in
from crm_utils.data import privacy
from crm_utils.i18n import N_, _
from crm_utils.notebook import MISSING, number, percent
from crm_utils.text import ANY_WORD_PATTERN, Tokenizer

ITEM_PREFIX = "q_"
#: The data stage's figure naming the export's columns that look like answers but were not
#: declared as items (``cleaning.CleanResult.metrics``): notebook 09 names them.
UNDECLARED_FIGURE = "surveys_undeclared_scale_columns"
#: Answer scales a survey item may use, narrowest first; detection picks the first that holds
#: every answer of the item. Declare the scale (``scale="1-5"``) when the data cannot show it.
KNOWN_SCALES: tuple[tuple[int, int], ...] = ((1, 4), (1, 5), (1, 7), (1, 10), (0, 10))
#: Naming rule thresholds, as a position on the item's scale (0 = lowest answer, 1 = highest).
DELIGHTED_FROM = 0.75  # every item at or above three quarters of the scale (4 of 1-5, 5.5 of 1-7)
PAIN_BELOW = 0.5  # an item below the scale's midpoint is a pain point (below 3 of 1-5)
#: The NPS groups of the 0-10 likelihood-to-recommend question.
PROMOTER_FROM, DETRACTOR_UPTO = 9, 6
NOT_CLUSTERED = -1
NOT_CLUSTERED_NAME = "Not clustered (too few answers)"
NOISE = -2
NOISE_NAME = "Not clustered (no dense group)"
#: The outcome table's last row (:func:`outcomes_by_cluster`): stored in English like the clusters'
#: names, shown through ``report.summary.cluster_label``.
ALL_CLUSTERED = N_("All clustered responses")
#: The candidates' names: codes (``method_``, metrics.json), shown in the current language.
METHOD_WORDS = {"K-means": N_("K-means"), "Gaussian mixture": N_("Gaussian mixture"), "HDBSCAN": N_("HDBSCAN")}
#: The key-driver analysis's targets (columns of the responses), named in the current language.
TARGET_WORDS = {"overall": N_("overall"), "nps": N_("nps")}
#: Headers of the tables notebook 09 shows (:func:`shown`): the frames keep these column names as
#: they are (tests, charts and the artifacts read them); only what is shown is translated.
HEADERS = {c: c for c in (
    N_("item"), N_("low"), N_("high"), N_("answered"), N_("outside_scale"), N_("observed_min"),
    N_("observed_max"), N_("detected"), N_("month"), N_("responses"), N_("promoters"), N_("passives"),
    N_("detractors"), N_("nps"), N_("ci_low"), N_("ci_high"), N_("cluster_id"), N_("cluster_name"), N_("share"),
    N_("std_coef"), N_("coef_low"), N_("coef_high"), N_("perm_importance"), N_("perm_sd"), N_("vif"),
    N_("distinctive terms"), N_("comment"), N_("repurchase_measurable"), N_("repurchased"), N_("repurchase_rate"),
    N_("repurchase_low"), N_("repurchase_high"), N_("churn_measurable"), N_("churned"), N_("churn_rate"),
    N_("churn_low"), N_("churn_high"), N_("segment_name"))}
#: A yes/no column's values as shown (the scales' ``detected``): English prints Python's True/False.
FLAGS = {True: N_("True"), False: N_("False")}


def shown(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """A table of notebook 09 as the reader sees it, in the current language: headers (:data:`HEADERS`)
    translated, cluster and segment names through the report's labels, yes/no values in words; the
    survey's item names and the other values stay as they are. The frame itself keeps its English
    column names and codes."""
    if frame is None:
        return None
    from crm_utils.report.summary import cluster_label, segment_label  # the report's words for the names

    out = frame.copy()
    if "cluster_name" in out.columns:
        out["cluster_name"] = out["cluster_name"].map(lambda n: n if pd.isna(n) else cluster_label(n))
    if out.index.name == "cluster_name":
        out.index = out.index.map(cluster_label)
    if out.columns.name == "segment_name":
        out.columns = out.columns.map(segment_label)
    for col in out.columns[[pd.api.types.is_bool_dtype(t) for t in out.dtypes]]:
        out[col] = out[col].map(lambda v: _(FLAGS[bool(v)]))
    header = {c: _(HEADERS[c]) for c in out.columns if isinstance(c, str) and c in HEADERS}
    out = out.rename(columns=header)
    out.index.name = _(HEADERS[out.index.name]) if out.index.name in HEADERS else out.index.name
    out.columns.name = _(HEADERS[out.columns.name]) if out.columns.name in HEADERS else out.columns.name
    return out


def sentences(*texts: str) -> str:
    """Whole sentences one after the other, as the language writes them (a space after English
    full stops, none after Chinese ones); empty ones left out."""
    out = ""
    for text in (t for t in texts if t):
        out = _("{sentence} {next}").format(sentence=out, next=text) if out else text
    return out


def _plain(value: float, decimals: int) -> str:
    """A number without thousands separators ('1234.5'), in the current language's symbols: where
    the English text always printed it so."""
    from babel.numbers import format_decimal

    from crm_utils import i18n

    if value is None or not np.isfinite(value):
        return MISSING
    return format_decimal(value, format="0." + "0" * decimals if decimals else "0", locale=i18n.locale())


# ------------------------------------------------------------------------------------------
# Responses, scales, distributions
# ------------------------------------------------------------------------------------------

def item_columns(surveys: pd.DataFrame) -> list[str]:
    """The survey items: every column named ``q_*``, in file order."""
    return [c for c in surveys.columns if str(c).startswith(ITEM_PREFIX)]


def item_label(item: str) -> str:
    """A readable item name: ``q_price_value`` -> ``price value``."""
    return item.removeprefix(ITEM_PREFIX).replace("_", " ")


def response_window(surveys: pd.DataFrame, report_month: str, months: int = 12) -> pd.DataFrame:
    """Responses dated in the ``months`` calendar months ending with the report month.

    Responses dated after the month's end never reach this step (notebook 01 holds them back);
    the check here makes the window safe on any table.
    """
    if months < 1:
        raise ValueError(f"the response window must be at least one month, got {months}")
    end = month_end(report_month)
    start = (parse_month(report_month) - (months - 1)).start_time
    inside = surveys["date"].between(start, end)
    return surveys.loc[inside].sort_values(["date", "customer_id"], kind="stable").reset_index(drop=True)


def _as_float(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.apply(lambda s: pd.to_numeric(s, errors="coerce").astype("Float64")
                       .to_numpy(dtype=float, na_value=np.nan))


def parse_scale(text: str) -> tuple[int, int]:
    """``"1-5"`` -> ``(1, 5)``; the form of the notebook's ``item_scale`` parameter."""
    m = re.fullmatch(r"\s*(-?\d+)\s*-\s*(-?\d+)\s*", str(text))
    if not m or int(m.group(1)) >= int(m.group(2)):
        raise ValueError(f"an answer scale is written low-high, e.g. '1-5' or '0-10'; got {text!r}")
    return int(m.group(1)), int(m.group(2))


def detect_scales(surveys: pd.DataFrame, items: list[str] | None = None,
                  scale: str | tuple[int, int] | None = None) -> pd.DataFrame:
    """The answer scale of the items: the narrowest of :data:`KNOWN_SCALES` holding all answers.

    One questionnaire uses one scale for its items, so the scale is detected from all items
    together: an item nobody rated at the bottom still gets the full scale. With ``scale`` given
    (``"1-7"``), it is used instead and answers outside it are counted (and later treated as
    missing). Answers that are not whole numbers, or fit no known scale, are an error naming the
    column and example values.
    """
    items = item_columns(surveys) if items is None else items
    values = _as_float(surveys[items])
    for item in items:
        if values[item].notna().sum() == 0:
            raise ValueError(f"surveys: column '{item}' has no answers in these responses")
    if scale is not None:
        low, high = parse_scale(scale) if isinstance(scale, str) else scale
    else:
        flat = values.stack()
        fractional = flat[flat != np.round(flat)]
        if len(fractional):
            item = fractional.index[0][1]
            raise ValueError(f"surveys: column '{item}': answers are not whole points of a scale, e.g. "
                             f"{fractional.unique()[:5].tolist()}; declare the scale (item_scale='1-5') "
                             f"if they are meant as such")
        low, high = next(((lo, hi) for lo, hi in KNOWN_SCALES if flat.min() >= lo and flat.max() <= hi),
                         (None, None))
        if low is None:
            item = values.max().idxmax() if flat.max() > KNOWN_SCALES[-1][1] else values.min().idxmin()
            raise ValueError(f"surveys: column '{item}': answers from {values[item].min():g} to "
                             f"{values[item].max():g} fit no known scale "
                             f"{[f'{lo}-{hi}' for lo, hi in KNOWN_SCALES]}; declare it (item_scale='low-high')")
    return pd.DataFrame({"item": items, "low": low, "high": high,
                         "answered": values.notna().sum().to_numpy(),
                         "outside_scale": ((values < low) | (values > high)).sum().to_numpy(),
                         "observed_min": values.min().to_numpy(), "observed_max": values.max().to_numpy(),
                         "detected": scale is None})


def item_answers(surveys: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """The items as floats; answers outside an item's declared scale become missing (and are counted
    by :func:`detect_scales` as ``outside_scale``)."""
    items = scales["item"].tolist()
    values = _as_float(surveys[items])
    low = scales.set_index("item")["low"]
    high = scales.set_index("item")["high"]
    return values.where((values >= low) & (values <= high))


def item_distribution(surveys: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """Share of responses giving each answer to each item, missing answers included (long form)."""
    values = item_answers(surveys, scales)
    rows = []
    for item, low, high in scales[["item", "low", "high"]].itertuples(index=False):
        counts = values[item].value_counts().reindex(np.arange(low, high + 1, dtype=float), fill_value=0)
        for answer, n in counts.items():
            rows.append({"item": item, "answer": str(int(answer)), "responses": int(n)})
        rows.append({"item": item, "answer": "missing", "responses": int(values[item].isna().sum())})
    out = pd.DataFrame(rows)
    out["share"] = out["responses"] / len(surveys) if len(surveys) else np.nan
    return out


def scale_position(values: pd.DataFrame, scales: pd.DataFrame) -> pd.DataFrame:
    """Answers as positions on their scale, 0 (lowest answer) to 1 (highest), comparable across scales."""
    s = scales.set_index("item")
    cols = [c for c in values.columns if c in s.index]
    return (values[cols] - s.loc[cols, "low"]) / (s.loc[cols, "high"] - s.loc[cols, "low"])


# ------------------------------------------------------------------------------------------
# NPS
# ------------------------------------------------------------------------------------------

def nps(scores: pd.Series, confidence: float = 0.95) -> dict:
    """Net Promoter Score (% promoters 9-10 minus % detractors 0-6) with an adjusted-Wald interval.

    The interval adds 3/4 of a promoter and of a detractor and 3 responses in all before using
    the variance of a difference of two multinomial shares, ``(p + d - (p - d)^2) / n``; it keeps
    its coverage for small monthly samples where the plain Wald interval does not (Rocks 2016,
    The American Statistician 70(4)). Scores outside 0-10 never get here (notebook 01 quarantines them).
    """
    s = pd.to_numeric(scores, errors="coerce").dropna()
    n = len(s)
    promoters = int((s >= PROMOTER_FROM).sum())
    detractors = int((s <= DETRACTOR_UPTO).sum())
    out = {"responses": n, "promoters": promoters, "passives": n - promoters - detractors,
           "detractors": detractors, "nps": np.nan, "ci_low": np.nan, "ci_high": np.nan}
    if n == 0:
        return out
    z = stats.norm.ppf(0.5 + confidence / 2)
    na = n + 3
    p, d = (promoters + 0.75) / na, (detractors + 0.75) / na
    se = math.sqrt(max(p + d - (p - d) ** 2, 0.0) / na)
    out.update(nps=100 * (promoters - detractors) / n,
               ci_low=max(-100.0, 100 * (p - d - z * se)), ci_high=min(100.0, 100 * (p - d + z * se)))
    return out


def nps_by_month(responses: pd.DataFrame, confidence: float = 0.95) -> pd.DataFrame:
    """The NPS and its interval for every month of the responses (months without answers included)."""
    r = responses.dropna(subset=["nps"])
    if r.empty:
        return pd.DataFrame(columns=["month", "responses", "promoters", "passives", "detractors",
                                     "nps", "ci_low", "ci_high"])
    month = r["date"].dt.to_period("M")
    months = pd.period_range(month.min(), month.max(), freq="M")
    rows = [{"month": m, **nps(r.loc[month == m, "nps"], confidence)} for m in months]
    return pd.DataFrame(rows)


# ------------------------------------------------------------------------------------------
# Clusters
# ------------------------------------------------------------------------------------------

@dataclass
class _Candidate:
    method: str
    k_rule: str
    labels: np.ndarray  # on the complete responses; NOISE where the method leaves a point out
    model: object


class SatisfactionClusters:
    """Cluster responses by their item profile; scikit-learn style (parameters here, ``fit``, state ending in ``_``).

    **Missing answers.** A response answering fewer than ``min_answered`` items (default: more
    than half of them) is not clustered. The models are fitted on the responses that answered
    every item; a response with gaps is then assigned by the items it did answer (nearest
    cluster mean over those items; for the Gaussian mixture, the highest posterior under the
    mixture's marginal for those items). No answer is imputed, so a gap never pulls a response
    towards the average.

    **Standardisation.** Each item is centred and divided by the width of its answer scale, so
    one answer step weighs the same on every item and a 0-10 item as much as a 1-5 one
    (``standardise="scale"``). Z-scores (``"z"``) divide by the observed spread instead; on
    survey items that inflates items squeezed against the top of the scale (nearly everyone
    answers 4 or 5) until their 4-versus-5 split looks like a cluster boundary.

    **Candidates.** K-means for k in ``k_range`` with k chosen by the silhouette; a Gaussian
    mixture (full covariance) for 1..max(k) components with k chosen by BIC, its covariance floored
    at the variance a one-point rounding adds (step^2/12 in standardised units), without which
    components collapse onto single answer values; HDBSCAN with a minimum cluster size of
    ``min_cluster_share`` of the responses. Silhouettes are computed on one seeded sample of
    ``silhouette_sample`` responses (all when fewer), the same for every candidate. With more than
    ``fit_sample`` complete responses, the candidates are fitted on a seeded sample of that many and
    every other response joins the chosen solution's nearest cluster, as responses with gaps do
    (``sample_note`` says so): a few tens of thousands of answers of a handful of items pin the
    clusters down, while HDBSCAN and the mixtures slow down far faster than the answers grow.

    **Choice.** The candidate with the highest silhouette among those with two to max(k) clusters
    that leave at most ``max_unassigned`` of the fitting responses out (HDBSCAN's noise); ties go
    to the simpler model (K-means, then the mixture).
    """

    def __init__(self, k_range: tuple[int, int] = (2, 8), min_answered: int | None = None,
                 silhouette_sample: int = 2000, min_cluster_share: float = 0.05,
                 max_unassigned: float = 0.2, scale: str | tuple[int, int] | None = None,
                 standardise: str = "scale", min_responses: int = 30, fit_sample: int | None = 20_000,
                 seed: int = 42):
        self.k_range = k_range
        self.min_answered = min_answered
        self.silhouette_sample = silhouette_sample
        self.min_cluster_share = min_cluster_share
        self.max_unassigned = max_unassigned
        self.scale = scale
        self.standardise = standardise
        self.min_responses = min_responses
        self.fit_sample = fit_sample
        self.seed = seed

    # -- fitting ----------------------------------------------------------------------------

    def fit(self, responses: pd.DataFrame) -> "SatisfactionClusters":
        # A few thousand rows of a few items: one thread is faster than OpenMP threads competing
        # for a busy machine's cores (measured 2 s against 13 s on a loaded 2-core machine).
        with threadpool_limits(limits=1):
            return self._fit(responses)

    def _fit(self, responses: pd.DataFrame) -> "SatisfactionClusters":
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ValueError(f"k_range must be (low, high) with 2 <= low <= high, got {self.k_range}")
        self.items_ = item_columns(responses)
        if len(self.items_) < 2:
            raise ValueError(f"surveys: clustering needs at least two item columns named "
                             f"'{ITEM_PREFIX}*', found {self.items_ or 'none'}")
        self.scales_ = detect_scales(responses, self.items_, self.scale)
        values = item_answers(responses, self.scales_)
        answered = values.notna().sum(axis=1)
        self.min_answered_ = min(self.min_answered or len(self.items_) // 2 + 1, len(self.items_))
        complete = answered == len(self.items_)
        if complete.sum() < self.min_responses:
            raise ValueError(f"surveys: only {int(complete.sum())} responses answer every item; "
                             f"clustering needs at least {self.min_responses}")
        X = values[complete].to_numpy()
        self.mean_ = X.mean(axis=0)
        if self.standardise == "scale":
            self.unit_ = (self.scales_["high"] - self.scales_["low"]).to_numpy(dtype=float)
        elif self.standardise == "z":
            self.unit_ = np.where(X.std(axis=0) > 0, X.std(axis=0), 1.0)
        else:
            raise ValueError(f"standardise must be 'scale' or 'z', got {self.standardise!r}")
        Z = self.standardised(X)
        fitted = np.ones(len(Z), dtype=bool)
        if self.fit_sample and len(Z) > self.fit_sample:
            fitted[:] = False
            fitted[np.random.default_rng([self.seed, 1]).choice(len(Z), self.fit_sample, replace=False)] = True
            Z = Z[fitted]
        rng = np.random.default_rng(self.seed)
        self.sample_ = np.sort(rng.choice(len(Z), min(self.silhouette_sample, len(Z)), replace=False))

        kmeans, self.kmeans_scores_ = self._kmeans(Z)
        gmm, self.gmm_scores_ = self._gmm(Z)
        candidates = [kmeans, gmm, self._hdbscan(Z)]
        self.comparison_ = self._compare(Z, candidates)
        chosen = candidates[int(self.comparison_["chosen"].to_numpy().argmax())]
        self.method_, self.model_ = chosen.method, chosen.model

        # Clusters numbered by size, largest first; centres in standardised units for assignment.
        fit_labels = chosen.labels
        ids, sizes = np.unique(fit_labels[fit_labels >= 0], return_counts=True)
        order = ids[np.argsort(-sizes, kind="stable")]
        self.relabel_ = {int(old): new for new, old in enumerate(order)}
        self.centers_ = np.vstack([Z[fit_labels == old].mean(axis=0) for old in order])
        self.n_clusters_ = len(order)
        self.fit_counts_ = {"responses": len(responses), "complete": int(complete.sum()), "fitted_on": len(Z),
                            "with_gaps": int(((answered >= self.min_answered_) & ~complete).sum()),
                            "too_few_answers": int((answered < self.min_answered_).sum()),
                            "answers_missing_share": float(values.isna().to_numpy().mean()),
                            "answers_outside_scale": int(self.scales_["outside_scale"].sum())}

        labels = pd.Series(NOT_CLUSTERED, index=responses.index, dtype=int)
        complete_labels = np.empty(len(X), dtype=int)
        complete_labels[fitted] = [self.relabel_.get(int(c), NOISE) for c in fit_labels]
        complete_labels[~fitted] = self._assign(X[~fitted])
        labels[complete] = complete_labels
        gaps = (answered >= self.min_answered_) & ~complete
        labels[gaps] = self._assign(values[gaps].to_numpy())
        self.labels_ = labels
        self.profile_ = self._profile(values, labels)
        self.positions_ = scale_position(self.profile_[self.items_], self.scales_)
        self.item_means_ = values[labels >= 0].mean()
        overall = scale_position(self.item_means_.to_frame().T, self.scales_).iloc[0]
        self.names_ = name_clusters(self.positions_, overall)
        return self

    def sample_note(self) -> str:
        """One sentence when the candidates were fitted on a sample of the complete responses, else ''."""
        c = self.fit_counts_
        if c["fitted_on"] == c["complete"]:
            return ""
        return _("The candidates were fitted on a seeded sample of {fitted} of the {complete} "
                 "complete responses; the others joined the chosen solution's nearest cluster.").format(
            fitted=number(c["fitted_on"]), complete=number(c["complete"]))

    def _silhouette(self, Z: np.ndarray, labels: np.ndarray) -> float:
        """Mean silhouette on the common sample, points a method left out (noise) excluded."""
        from sklearn.metrics import silhouette_score

        lab = labels[self.sample_]
        kept = lab >= 0
        if not 2 <= len(np.unique(lab[kept])) < kept.sum():
            return np.nan
        return float(silhouette_score(Z[self.sample_][kept], lab[kept]))

    def _kmeans(self, Z: np.ndarray) -> tuple[_Candidate, pd.DataFrame]:
        from sklearn.cluster import KMeans

        lo, hi = self.k_range
        rows, fits = [], {}
        for k in range(lo, min(hi, len(Z) - 1) + 1):
            fits[k] = KMeans(k, n_init=10, random_state=self.seed).fit(Z)
            rows.append({"k": k, "silhouette": self._silhouette(Z, fits[k].labels_), "inertia": fits[k].inertia_})
        scores = pd.DataFrame(rows)
        best = int(scores.loc[scores["silhouette"].idxmax(), "k"])
        scores["chosen"] = scores["k"] == best
        return _Candidate("K-means", _("k={k} by silhouette").format(k=best), fits[best].labels_, fits[best]), scores

    def rounding_floor(self) -> float:
        """Variance a rounding to whole answer points adds, in standardised units (largest over items)."""
        return float(np.max((1.0 / self.unit_) ** 2 / 12))

    def standardised(self, X: np.ndarray) -> np.ndarray:
        """Answers in the clustering's units: centred on the fitting responses, divided by ``unit_``."""
        return (X - self.mean_) / self.unit_

    def _gmm(self, Z: np.ndarray) -> tuple[_Candidate, pd.DataFrame]:
        from sklearn.mixture import GaussianMixture

        rows, fits = [], {}
        for k in range(1, min(self.k_range[1], len(Z) // 10) + 1):
            fits[k] = GaussianMixture(k, covariance_type="full", n_init=2, reg_covar=self.rounding_floor(),
                                      random_state=self.seed).fit(Z)
            rows.append({"k": k, "bic": fits[k].bic(Z)})
        scores = pd.DataFrame(rows)
        best = int(scores.loc[scores["bic"].idxmin(), "k"])
        scores["chosen"] = scores["k"] == best
        rule = _("k={k} by BIC").format(k=best)
        return _Candidate("Gaussian mixture", rule, fits[best].predict(Z), fits[best]), scores

    def _hdbscan(self, Z: np.ndarray) -> _Candidate:
        from sklearn.cluster import HDBSCAN

        size = max(5, math.ceil(self.min_cluster_share * len(Z)))
        model = HDBSCAN(min_cluster_size=size, copy=True).fit(Z)
        labels = np.where(model.labels_ >= 0, model.labels_, NOISE)
        return _Candidate("HDBSCAN", _("min cluster size {size}").format(size=_plain(size, 0)), labels, model)

    def _compare(self, Z: np.ndarray, candidates: list[_Candidate]) -> pd.DataFrame:
        rows = []
        for c in candidates:
            k = len(np.unique(c.labels[c.labels >= 0]))
            sil = self._silhouette(Z, c.labels)
            unassigned = float((c.labels < 0).mean())
            sizes = np.bincount(c.labels[c.labels >= 0]) if k else np.array([0])
            rows.append({"method": c.method, "k_rule": c.k_rule, "clusters": k,
                         "unassigned_share": unassigned,
                         "smallest_cluster_share": sizes[sizes > 0].min() / len(c.labels) if k else 0.0,
                         "silhouette": sil,
                         "eligible": 2 <= k <= self.k_range[1] and unassigned <= self.max_unassigned
                         and not np.isnan(sil)})
        out = pd.DataFrame(rows)
        score = out["silhouette"].where(out["eligible"])
        if score.notna().any():
            best = score.round(3).max()  # within 0.001 counts as a tie: the simpler model wins
            chosen = int(np.flatnonzero((score.round(3) == best).to_numpy())[0])
        else:
            chosen = 0  # no candidate qualifies: fall back to K-means, and say so in the reason
        out["chosen"] = np.arange(len(out)) == chosen
        out["reason"] = [self._reason(r, out.loc[chosen]) for _, r in out.iterrows()]
        return out

    def _reason(self, row: pd.Series, chosen: pd.Series) -> str:
        if row["clusters"] < 2:
            return _("fewer than two clusters")
        if row["clusters"] > self.k_range[1]:
            return _("more clusters than the {k} a report can act on").format(k=number(self.k_range[1]))
        if row["unassigned_share"] > self.max_unassigned:
            return _("leaves {share} of responses unassigned (limit {limit})").format(
                share=percent(row["unassigned_share"], 0), limit=percent(self.max_unassigned, 0))
        if row["chosen"]:
            return (_("highest silhouette among the eligible") if row["eligible"]
                    else _("no candidate eligible: fallback"))
        return _("lower silhouette ({silhouette} vs {chosen})").format(
            silhouette=number(row["silhouette"], 3), chosen=number(chosen["silhouette"], 3))

    # -- assignment -------------------------------------------------------------------------

    def _assign(self, X: np.ndarray) -> np.ndarray:
        """Cluster ids for rows with gaps, using only the items each row answered."""
        if len(X) == 0:
            return np.array([], dtype=int)
        Z = self.standardised(X)
        observed = ~np.isnan(Z)
        if self.method_ == "Gaussian mixture":
            return self._assign_gmm(Z, observed)
        d2 = np.stack([np.nansum((Z - c) ** 2, axis=1) / observed.sum(axis=1) for c in self.centers_], axis=1)
        return d2.argmin(axis=1)

    def _assign_gmm(self, Z: np.ndarray, observed: np.ndarray) -> np.ndarray:
        g = self.model_
        out = np.empty(len(Z), dtype=int)
        patterns, inverse = np.unique(observed, axis=0, return_inverse=True)
        for p, pattern in enumerate(patterns):
            rows = np.flatnonzero(inverse.ravel() == p)
            # Components that won no fitted response are not clusters: they cannot win here either.
            logp = np.column_stack([
                np.log(g.weights_[j]) + stats.multivariate_normal(
                    g.means_[j][pattern], g.covariances_[j][np.ix_(pattern, pattern)]).logpdf(Z[np.ix_(rows, pattern)])
                if j in self.relabel_ else np.full(len(rows), -np.inf)
                for j in range(g.n_components)]).reshape(len(rows), -1)
            out[rows] = [self.relabel_[int(j)] for j in logp.argmax(axis=1)]
        return out

    # -- description ------------------------------------------------------------------------

    def _profile(self, values: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
        """Mean answer per item and cluster (answered items only), with each cluster's size."""
        clustered = labels >= 0
        prof = values[clustered].groupby(labels[clustered]).mean()
        prof.insert(0, "responses", labels[clustered].value_counts().sort_index())
        prof.insert(1, "share", prof["responses"] / int(clustered.sum()))
        prof.index.name = "cluster_id"
        return prof

    def profile_table(self) -> pd.DataFrame:
        """The profile as shown: name, size and mean answer per item (rounded), one row per cluster."""
        out = self.profile_.round({"share": 3, **{i: 2 for i in self.items_}})
        out.insert(0, "cluster_name", self.names_)
        return shown(out.rename(columns={i: item_label(i) for i in self.items_}))

    def choice_summary(self) -> str:
        """Which solution was chosen and why the others were not, one line each."""
        lines = []
        for _index, r in self.comparison_.iterrows():  # not `_`: that is gettext here
            sil = _("n/a") if pd.isna(r["silhouette"]) else number(r["silhouette"], 3)
            mark = _("CHOSEN") if r["chosen"] else _("not chosen")
            lines.append(_("{method} ({rule}): {clusters} clusters, silhouette {silhouette}, "
                           "{unassigned} unassigned -> {verdict}: {reason}").format(
                method=_(METHOD_WORDS.get(r["method"], r["method"])), rule=r["k_rule"], clusters=number(r["clusters"]),
                silhouette=sil, unassigned=percent(r["unassigned_share"], 0), verdict=mark, reason=r["reason"]))
        return "\n".join(lines)

    def cluster_names(self) -> dict[int, str]:
        """cluster_id -> name, the two 'not clustered' codes included."""
        return {**self.names_.to_dict(), NOT_CLUSTERED: NOT_CLUSTERED_NAME, NOISE: NOISE_NAME}

    def assignments(self, responses: pd.DataFrame) -> pd.DataFrame:
        """The artifact: response_id, customer_id, cluster_id, cluster_name (one row per response)."""
        rid = responses["response_id"] if "response_id" in responses else pd.Series(
            [f"row{i}" for i in range(len(responses))], index=responses.index)
        return pd.DataFrame({"response_id": rid.astype(str).to_numpy(),
                             "customer_id": responses["customer_id"].astype(str).to_numpy(),
                             "cluster_id": self.labels_.to_numpy(dtype="int64"),
                             "cluster_name": self.labels_.map(self.cluster_names()).to_numpy()})

    def gap_summary(self) -> str:
        """One paragraph saying what was done with missing answers (shown by the notebook)."""
        c = self.fit_counts_
        n_items = len(self.items_)
        text = _("{missing} of item answers are missing. {complete} of {responses} responses answered all "
                 "{items} items and were used to fit the clusters; {with_gaps} with gaps were assigned to the "
                 "cluster that best matches the items they did answer; {too_few} answered fewer than {minimum} "
                 "of {items} items and are not clustered. No answer was imputed.").format(
            missing=percent(c["answers_missing_share"], 1), complete=number(c["complete"]),
            responses=number(c["responses"]), items=number(n_items), with_gaps=number(c["with_gaps"]),
            too_few=number(c["too_few_answers"]), minimum=number(self.min_answered_))
        outside = _("{answers} answers outside their item's declared scale were treated as missing.").format(
            answers=number(c["answers_outside_scale"])) if c["answers_outside_scale"] else ""
        return sentences(text, self.sample_note(), outside)


def name_clusters(positions: pd.DataFrame, overall_position: pd.Series) -> pd.Series:
    """Name each cluster from its item profile by one rule (no name is typed per cluster).

    ``positions`` holds each cluster's (row) mean answer per item (column) as a position on the
    item's scale, 0 the lowest answer and 1 the highest; ``overall_position`` the same over all
    responses. Then:

    1. every item at or above :data:`DELIGHTED_FROM` -> "Delighted";
    2. items below the midpoint (:data:`PAIN_BELOW`) are pain points: one or two ->
       "Unhappy with <item> [and <item>]" (lowest first); three or more -> "Dissatisfied overall";
    3. otherwise "Mostly satisfied".

    Clusters that would share a name get ", lowest: <item>" added, the item furthest below its
    overall mean; the cluster id is added if that still does not separate them.
    """
    names = {}
    for cid, pos in positions.iterrows():
        pains = pos[pos < PAIN_BELOW].sort_values()
        if (pos >= DELIGHTED_FROM).all():
            names[cid] = "Delighted"
        elif 1 <= len(pains) <= 2:
            names[cid] = "Unhappy with " + " and ".join(item_label(i) for i in pains.index)
        elif len(pains) >= 3:
            names[cid] = "Dissatisfied overall"
        else:
            names[cid] = "Mostly satisfied"
    out = pd.Series(names, name="cluster_name")
    out.index.name = "cluster_id"
    for name in out[out.duplicated(keep=False)].unique():
        for cid in out.index[out == name]:
            lowest = (positions.loc[cid] - overall_position.reindex(positions.columns)).idxmin()
            out[cid] = f"{name}, lowest: {item_label(lowest)}"
    dup = out.duplicated(keep=False)
    out[dup] = out[dup] + " (" + out.index[dup].astype(str) + ")"
    return out


def skip_reason(responses: pd.DataFrame | None, min_responses: int = 30, undeclared: list[str] | None = None) -> str:
    """Why there is nothing to cluster, in one line; empty when clustering can run. ``undeclared``
    names the export's columns that looked like answers but were not declared as items."""
    if responses is None:
        return _("There is no surveys table in this run: there is nothing to cluster.")
    items = item_columns(responses)
    if len(items) < 2:
        return sentences(_("The surveys table has {count} item column(s) named '{prefix}*' (two or more are "
                           "needed): there is nothing to cluster.").format(count=number(len(items)),
                                                                          prefix=ITEM_PREFIX),
                         undeclared_note(undeclared))
    complete = int(_as_float(responses[items]).notna().all(axis=1).sum())
    if complete < min_responses:
        return _("Only {complete} responses in the window answer every item (at least {minimum} are needed): "
                 "there is nothing to cluster.").format(complete=number(complete), minimum=number(min_responses))
    return ""


def undeclared_note(columns: list[str] | None) -> str:
    """The sentence naming export columns that look like answers on a scale but are not items
    (notebook 01 left them out); "" when there are none."""
    if not columns:
        return ""
    return _("The export's column(s) {columns} look like answers on a scale but are not survey items, so they "
             "are not analysed here: declare them under `survey.items` in the mapping (data/README.md, "
             "\"Survey items\") to include them.").format(columns=", ".join(repr(c) for c in columns))


# ------------------------------------------------------------------------------------------
# Key drivers
# ------------------------------------------------------------------------------------------

@dataclass
class Drivers:
    """Key drivers of one target: the table, the fits' R², and how strongly the items correlate."""

    target: str
    table: pd.DataFrame  # item, std_coef, coef_low, coef_high, perm_importance, perm_sd, vif
    responses: int
    r2_linear: float  # in-sample R² of the standardised regression
    r2_model_test: float  # held-out R² of the gradient-boosting model behind the permutation importance
    max_corr: float
    max_corr_pair: tuple[str, str]

    def caveat(self) -> str:
        """The correlated-items caveat with this fit's numbers."""
        a, b = (item_label(i) for i in self.max_corr_pair)
        return _("Items correlate (strongest: {a} and {b}, r = {r}; largest variance inflation factor {vif}). "
                 "Correlated items share credit: a coefficient is the effect of one item with the others held "
                 "fixed, and permuting one item leaves its partner to carry the information, so both measures "
                 "understate items that move together.").format(
            a=a, b=b, r=number(self.max_corr, 2), vif=_plain(self.table["vif"].max(), 1))


def key_drivers(responses: pd.DataFrame, items: list[str], target: str, seed: int = 42,
                test_share: float = 0.3, n_repeats: int = 5, min_responses: int = 50) -> Drivers | None:
    """Which items move ``target``: standardised regression coefficients beside permutation importance.

    Both use the responses that answered every item and the target. The coefficients (with
    95% intervals, heteroscedasticity-robust HC3) come from a linear regression of the z-scored
    target on the z-scored items: the change in target, in standard deviations, per standard
    deviation of the item with the others held fixed. The permutation importance is the drop
    in held-out R² of a gradient-boosting model when one item is shuffled (``n_repeats`` times):
    it assumes no straight-line effect. ``None`` when fewer than ``min_responses`` responses qualify.
    """
    import statsmodels.api as sm
    from sklearn.ensemble import HistGradientBoostingRegressor
    from sklearn.inspection import permutation_importance
    from sklearn.model_selection import train_test_split

    data = _as_float(responses[items + [target]]).dropna()
    if len(data) < min_responses:
        return None
    X, y = data[items], data[target]
    sd = X.std().replace(0, 1.0)
    Xz, yz = (X - X.mean()) / sd, (y - y.mean()) / (y.std() or 1.0)
    ols = sm.OLS(yz, sm.add_constant(Xz)).fit(cov_type="HC3")
    ci = ols.conf_int().loc[items]
    corr = X.corr().fillna(0.0)
    vif = np.diag(np.linalg.pinv(corr.to_numpy()))
    with threadpool_limits(limits=1):
        X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_share, random_state=seed)
        model = HistGradientBoostingRegressor(random_state=seed).fit(X_tr, y_tr)
        perm = permutation_importance(model, X_te, y_te, n_repeats=n_repeats, random_state=seed, scoring="r2")
    table = pd.DataFrame({"item": items, "std_coef": ols.params[items].to_numpy(),
                          "coef_low": ci[0].to_numpy(), "coef_high": ci[1].to_numpy(),
                          "perm_importance": perm.importances_mean, "perm_sd": perm.importances_std,
                          "vif": vif})
    table = table.sort_values("std_coef", ascending=False, kind="stable").reset_index(drop=True)
    pairs = corr.abs().where(~np.eye(len(items), dtype=bool)).stack()  # off the diagonal
    return Drivers(target, table, len(data), float(ols.rsquared), float(model.score(X_te, y_te)),
                   float(pairs.max()), tuple(pairs.idxmax()))


# ------------------------------------------------------------------------------------------
# Comments
# ------------------------------------------------------------------------------------------

#: The marks notebook 01 leaves where an e-mail address, phone number or a customer's own name was.
MASK_RE = privacy.MASKED_RE


def _comment_frame(comments: pd.Series, clusters: pd.Series) -> pd.DataFrame:
    """Non-empty comments of clustered responses, with the privacy masks taken out of the text."""
    text = comments.astype("string").str.replace(MASK_RE, " ", regex=True).str.strip()
    df = pd.DataFrame({"cluster_id": clusters.to_numpy(), "text": text.to_numpy(),
                       "raw": comments.astype("string").to_numpy()})
    return df[(df["cluster_id"] >= 0) & df["text"].fillna("").str.len().gt(0)].reset_index(drop=True)


def _tfidf(texts: pd.Series, min_df: int):
    from sklearn.feature_extraction.text import TfidfVectorizer

    # English and Chinese stop words left out; Chinese comments segmented into words (crm_utils.text).
    vec = TfidfVectorizer(ngram_range=(1, 2), min_df=min_df, sublinear_tf=True,
                          tokenizer=Tokenizer(drop_stop_words=True), token_pattern=None)
    return vec, vec.fit_transform(texts)


def distinctive_terms(comments: pd.Series, clusters: pd.Series, top: int = 6, min_df: int = 3) -> pd.DataFrame:
    """Each cluster's most distinctive comment terms: mean TF-IDF in its comments minus in all others.

    Terms (words and two-word phrases, English and Chinese stop words removed; Chinese comments
    segmented with jieba, see :mod:`crm_utils.text`) used in fewer than ``min_df``
    comments are left out, so a rare word, which might identify someone, never shows. Only
    positive differences are kept.
    """
    df = _comment_frame(comments, clusters)
    cols = ["cluster_id", "rank", "term", "score", "share_in_cluster", "share_elsewhere"]
    if df["cluster_id"].nunique() < 2 or len(df) < 2 * min_df:
        return pd.DataFrame(columns=cols)
    try:
        vec, X = _tfidf(df["text"], min_df)
    except ValueError:  # every term below min_df
        return pd.DataFrame(columns=cols)
    terms = vec.get_feature_names_out()
    present = (X > 0).astype(float).tocsc()
    # Terms found in exactly the same comments say the same thing ("refund" and
    # "refund promised"): only the best-scoring of them is listed.
    signature = [present.indices[present.indptr[j]:present.indptr[j + 1]].tobytes() for j in range(len(terms))]
    rows = []
    for cid in sorted(df["cluster_id"].unique()):
        inside = (df["cluster_id"] == cid).to_numpy()
        score = np.asarray(X[inside].mean(axis=0)).ravel() - np.asarray(X[~inside].mean(axis=0)).ravel()
        share_in = np.asarray(present[inside].mean(axis=0)).ravel()
        share_out = np.asarray(present[~inside].mean(axis=0)).ravel()
        seen: set[bytes] = set()
        # Best score first; among equals the shorter (more general) term, then alphabetical.
        for j in np.lexsort((terms, [len(t) for t in terms], -score)):
            if score[j] <= 0 or len(seen) == top:
                break
            if signature[j] in seen:
                continue
            seen.add(signature[j])
            rows.append({"cluster_id": int(cid), "rank": len(seen), "term": terms[j], "score": score[j],
                         "share_in_cluster": share_in[j], "share_elsewhere": share_out[j]})
    return pd.DataFrame(rows, columns=cols)


def terms_by_cluster(terms: pd.DataFrame, names: pd.Series) -> pd.DataFrame:
    """One row per cluster: its name and its distinctive terms, best first."""
    if terms.empty:
        return pd.DataFrame(columns=["cluster_name", "distinctive terms"])
    out = terms.sort_values(["cluster_id", "rank"]).groupby("cluster_id")["term"].agg(", ".join)
    return pd.DataFrame({"cluster_name": names.reindex(out.index), "distinctive terms": out})


def safe_to_show(text: pd.Series) -> pd.Series:
    """Whether a comment may be quoted in a report: no masked or unmasked e-mail/phone, no '@', no
    run of three or more digits (order numbers, house numbers, dates of birth) and not overly long."""
    t = text.astype("string").fillna("")
    unchanged = privacy.mask_free_text(t)[0].fillna("") == t
    return (unchanged & ~t.str.contains(MASK_RE, regex=True) & ~t.str.contains("@", regex=False)
            & ~t.str.contains(r"\d{3}", regex=True) & t.str.len().between(1, 200))


def only_common_words(texts: pd.Series, min_df: int) -> np.ndarray:
    """Whether every word of a text occurs in at least ``min_df`` texts of the collection.

    A name ("thanks to Maria Gonzalez"), a street or an order detail is rare in a collection of
    comments; words many customers use are not. Quoting only comments made of common words keeps
    such details out of a report, without needing a list of names.
    """
    from sklearn.feature_extraction.text import CountVectorizer

    t = texts.astype("string").fillna("")
    try:
        vec = CountVectorizer(binary=True, lowercase=True, tokenizer=Tokenizer(pattern=ANY_WORD_PATTERN),
                              token_pattern=None)
        X = vec.fit_transform(t)
    except ValueError:  # no words at all
        return np.zeros(len(t), dtype=bool)
    rare = np.asarray(X.sum(axis=0)).ravel() < min_df
    return np.asarray(X[:, rare].sum(axis=1)).ravel() == 0


def example_comments(comments: pd.Series, clusters: pd.Series, per_cluster: int = 2,
                     min_df: int = 3) -> pd.DataFrame:
    """The ``per_cluster`` most typical distinct comments of each cluster that are safe to show.

    Typical means closest (cosine) to the cluster's mean TF-IDF vector, which favours the
    cluster's common wording over one-off details; a comment is quoted only when
    :func:`safe_to_show` allows it and every one of its words is used in at least ``min_df``
    comments (:func:`only_common_words`), which keeps names and other one-off details out.
    """
    df = _comment_frame(comments, clusters)
    cols = ["cluster_id", "comment"]
    if df.empty:
        return pd.DataFrame(columns=cols)
    try:
        _, X = _tfidf(df["text"], min(min_df, len(df)))
    except ValueError:
        return pd.DataFrame(columns=cols)
    df["safe"] = safe_to_show(df["raw"]).to_numpy() & only_common_words(df["raw"], min_df)
    rows = []
    for cid in sorted(df["cluster_id"].unique()):
        inside = (df["cluster_id"] == cid).to_numpy()
        centre = np.asarray(X[inside].mean(axis=0)).ravel()
        norm = np.linalg.norm(centre) or 1.0
        sim = np.asarray(X[inside] @ centre).ravel() / norm
        cand = df[inside].assign(sim=sim)
        cand = cand[cand["safe"]].assign(key=lambda d: d["text"].str.casefold().str.strip(" .!?。！？"))
        cand = cand.sort_values(["sim", "text"], ascending=[False, True], kind="stable").drop_duplicates("key")
        for text in cand["text"].head(per_cluster):
            rows.append({"cluster_id": int(cid), "comment": text})
    return pd.DataFrame(rows, columns=cols)


# ------------------------------------------------------------------------------------------
# Consequences
# ------------------------------------------------------------------------------------------

def _rate(k: int, n: int) -> tuple[float, float, float]:
    from statsmodels.stats.proportion import proportion_confint

    if n == 0:
        return np.nan, np.nan, np.nan
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    return k / n, float(low), float(high)


def _purchases(orders: pd.DataFrame, customers: pd.Index, cutoff: pd.Timestamp | None = None) -> pd.DataFrame:
    """Purchase days of ``customers``: their order lines that are not returns, dated by ``cutoff``
    when given, one row per customer and distinct purchase time.

    ``customer`` is the position in ``customers``. Responding customers are a small share of
    all buyers, so their rows are picked by an integer lookup before anything is copied.
    """
    keep = (~orders["is_return"] if "is_return" in orders else orders["quantity"] > 0).to_numpy(dtype=bool)
    if cutoff is not None:
        keep &= (orders["order_date"] <= cutoff).to_numpy()
    code = positions_in(customers, orders["customer_id"])
    rows = np.flatnonzero(keep & (code >= 0))
    return pd.DataFrame({"customer": code[rows], "order_date": orders["order_date"].to_numpy()[rows]}).drop_duplicates()


def _respondents(responses: pd.DataFrame) -> tuple[pd.Index, np.ndarray]:
    """The distinct responding customers (as text) and each response's position among them."""
    ids = responses["customer_id"].astype(str)
    customers = pd.Index(pd.unique(ids.to_numpy()))
    return customers, customers.get_indexer(ids)


def next_purchase(responses: pd.DataFrame, orders: pd.DataFrame) -> pd.Series:
    """For each response, the customer's first purchase on a later calendar day (NaT if none yet).

    The order that triggered the survey is days before it and so never counts as the next one.
    """
    customers, code = _respondents(responses)
    return _next_purchase(responses, code, _purchases(orders, customers))


def _next_purchase(responses: pd.DataFrame, code: np.ndarray, buys: pd.DataFrame) -> pd.Series:
    buys = buys.sort_values("order_date", kind="stable")
    left = pd.DataFrame({"customer": code,
                         "after": (responses["date"].dt.normalize() + pd.Timedelta(days=1)).to_numpy(),
                         "pos": np.arange(len(responses))}).sort_values("after", kind="stable")
    merged = pd.merge_asof(left, buys, left_on="after", right_on="order_date", by="customer",
                           direction="forward")
    return pd.Series(merged.sort_values("pos")["order_date"].to_numpy(), index=responses.index, name="next_purchase")


def outcomes_by_cluster(responses: pd.DataFrame, assignments: pd.DataFrame, orders: pd.DataFrame,
                        cutoff: pd.Timestamp, repurchase_days: int = 90, churn_days: int = 180) -> pd.DataFrame:
    """Repurchase and churn by satisfaction cluster, one count per response.

    Only what is known at the ``cutoff`` (the report month's end) is used, so each outcome is
    measured only on responses old enough for it to be observable:

    * **repurchased**: a purchase (order line that is not a return) within ``repurchase_days``
      days after the response; measured for responses dated at least ``repurchase_days`` days
      before the cutoff;
    * **churned**: the customer has made no purchase in the last ``churn_days`` days before the
      cutoff (lapsed, as far as the data can tell: some will come back); measured for responses
      dated at least ``churn_days`` days before the cutoff, so the lapse lies wholly after the answer.

    Rates carry 95% Wilson intervals; a final row covers all clustered responses.
    """
    customers, code = _respondents(responses)
    buys = _purchases(orders, customers, cutoff)  # nothing after the cutoff is known
    day = responses["date"].dt.normalize()
    gap = (_next_purchase(responses, code, buys) - day).dt.days
    last = buys.groupby("customer")["order_date"].max().reindex(range(len(customers)))
    last_buy = pd.Series(last.to_numpy()[code], index=responses.index)
    frame = pd.DataFrame({"cluster_id": assignments["cluster_id"].to_numpy(),
                          "cluster_name": assignments["cluster_name"].to_numpy(),
                          "rep_ok": (day + pd.Timedelta(days=repurchase_days) <= cutoff).to_numpy(),
                          "rep": (gap <= repurchase_days).to_numpy(),
                          "churn_ok": (day + pd.Timedelta(days=churn_days) <= cutoff).to_numpy(),
                          "churn": ~(last_buy > cutoff - pd.Timedelta(days=churn_days)).to_numpy()})
    frame = frame[frame["cluster_id"] >= 0]
    groups = [(cid, g["cluster_name"].iloc[0], g) for cid, g in frame.groupby("cluster_id", sort=True)]
    groups.append((None, ALL_CLUSTERED, frame))
    rows = []
    for cid, name, g in groups:
        rep_n, rep_k = int(g["rep_ok"].sum()), int((g["rep_ok"] & g["rep"]).sum())
        ch_n, ch_k = int(g["churn_ok"].sum()), int((g["churn_ok"] & g["churn"]).sum())
        rr, rl, rh = _rate(rep_k, rep_n)
        cr, cl, chh = _rate(ch_k, ch_n)
        rows.append({"cluster_id": cid, "cluster_name": name, "responses": len(g),
                     "repurchase_measurable": rep_n, "repurchased": rep_k, "repurchase_rate": rr,
                     "repurchase_low": rl, "repurchase_high": rh,
                     "churn_measurable": ch_n, "churned": ch_k, "churn_rate": cr, "churn_low": cl, "churn_high": chh})
    out = pd.DataFrame(rows)
    out["cluster_id"] = out["cluster_id"].astype("Int64")
    return out


@dataclass
class CrossTab:
    """Satisfaction clusters against customer segments, one count per customer."""

    counts: pd.DataFrame  # satisfaction cluster x segment (customers)
    shares: pd.DataFrame  # within each segment, share of its customers in each satisfaction cluster
    customers: int
    without_segment: int
    chi2: float
    p_value: float
    cramers_v: float


def segment_crosstab(responses: pd.DataFrame, assignments: pd.DataFrame, segments: pd.DataFrame) -> CrossTab:
    """Cross-tab of each customer's latest satisfaction cluster against their segment (notebook 03).

    Customers count once, with their latest clustered response in the window. Customers without
    a segment are counted in ``without_segment`` and left out of the test of independence
    (chi-square; Cramér's V: 0 no association, 1 a segment tells the cluster).
    """
    for col in ("customer_id", "segment_name"):
        if col not in segments.columns:
            raise ValueError(f"segments: column '{col}' is missing; have {list(segments.columns)}")
    seg = segments[["customer_id", "segment_name"]].astype({"customer_id": "string"})
    dup = seg["customer_id"][seg["customer_id"].duplicated()]
    if len(dup):
        raise ValueError(f"segments: {dup.nunique()} customer_id values appear more than once, "
                         f"e.g. {dup.unique()[:3].tolist()}; one segment per customer is expected")
    latest = pd.DataFrame({"customer_id": assignments["customer_id"].astype("string").to_numpy(),
                           "date": responses["date"].to_numpy(), "cluster_id": assignments["cluster_id"].to_numpy(),
                           "cluster_name": assignments["cluster_name"].to_numpy()})
    latest = (latest[latest["cluster_id"] >= 0].sort_values(["customer_id", "date"], kind="stable")
              .drop_duplicates("customer_id", keep="last"))
    joined = latest.merge(seg, on="customer_id", how="left")
    without = int(joined["segment_name"].isna().sum())
    joined = joined.dropna(subset=["segment_name"])
    counts = pd.crosstab(joined["cluster_name"], joined["segment_name"].astype(str))
    order = latest.drop_duplicates("cluster_id").sort_values("cluster_id")["cluster_name"]
    counts = counts.reindex([n for n in order if n in counts.index])
    shares = counts / counts.sum(axis=0)
    chi2 = p = v = np.nan
    if counts.shape[0] >= 2 and counts.shape[1] >= 2:
        chi2, p, _, _ = stats.chi2_contingency(counts.to_numpy(), correction=False)
        v = math.sqrt(chi2 / (counts.to_numpy().sum() * (min(counts.shape) - 1)))
    return CrossTab(counts, shares, len(latest), without, float(chi2), float(p), float(v))


# ------------------------------------------------------------------------------------------
# Headline figures
# ------------------------------------------------------------------------------------------

def headline(clusters: SatisfactionClusters | None, overall_nps: dict | None,
             outcomes: pd.DataFrame | None, responses: int, skipped: str = "") -> dict:
    """The notebook's figures for metrics.json."""
    out: dict = {"responses_in_window": responses}
    if overall_nps is not None and overall_nps["responses"]:
        out["nps"] = {k: overall_nps[k] for k in ("nps", "ci_low", "ci_high", "responses")}
    if clusters is None:
        out["clustering"] = skipped or _("not run")
        return out
    sel = clusters.comparison_.set_index("method")
    out.update(method=clusters.method_, clusters=clusters.n_clusters_,
               silhouette=sel.loc[clusters.method_, "silhouette"], counts=clusters.fit_counts_,
               cluster_share={clusters.names_[c]: clusters.profile_.loc[c, "share"] for c in clusters.names_.index})
    if outcomes is not None:
        o = outcomes.dropna(subset=["cluster_id"]).set_index("cluster_name")
        out["repurchase_rate"] = o["repurchase_rate"].to_dict()
        out["churn_rate"] = o["churn_rate"].to_dict()
    return out


# ------------------------------------------------------------------------------------------
# Notebook 09 step by step
# ------------------------------------------------------------------------------------------

class SurveyStudy:
    """The satisfaction stage as notebook 09 shows it: the response window, scales, NPS, clusters,
    key drivers, comments, outcomes and segments.

    ``skipped`` says in one line why there is nothing to cluster ("" when there is). A step the
    responses cannot support returns None (a table, a chart's input) or "" (a sentence), so the
    notebook's cells need no branches; what each step learns is kept in attributes ending in ``_``.
    """

    def __init__(self, surveys: pd.DataFrame | None, report_month: str, window_months: int = 12,
                 item_scale: str | None = None, seed: int = 42, undeclared: list[str] | None = None):
        self.responses = None if surveys is None else response_window(surveys, report_month, window_months)
        #: columns of the export that look like answers but were not declared as items (notebook 01)
        self.undeclared = list(undeclared or [])
        self.skipped = skip_reason(self.responses, undeclared=self.undeclared)
        self.item_scale, self.seed = item_scale or None, seed
        self.scales_ = self.clusters_ = self.overall_nps_ = self.monthly_nps_ = self.outcomes_ = None
        self.crosstab_: CrossTab | None = None
        self.drivers_: dict[str, Drivers | None] = {}

    @property
    def has_nps(self) -> bool:
        r = self.responses
        return r is not None and "nps" in r and bool(r["nps"].notna().any())

    def window_note(self) -> str:
        if self.skipped:
            return self.skipped
        r = self.responses
        return _("{responses} responses from {customers} customers, {first} to {last}").format(
            responses=number(len(r)), customers=number(r["customer_id"].nunique()),
            first=f"{r['date'].min():%Y-%m-%d}", last=f"{r['date'].max():%Y-%m-%d}")

    def items_note(self) -> str:
        """Which items are analysed, and which columns that look like answers are not (never silent)."""
        if self.responses is None:
            return ""
        items = item_columns(self.responses)
        text = _("{count} item(s): {items}.").format(count=number(len(items)),
                                                      items=", ".join(item_label(i) for i in items)) if items else ""
        rest = "" if self.skipped else undeclared_note(self.undeclared)  # the skip reason already names them
        return sentences(text, rest)

    def detect_scales(self) -> pd.DataFrame | None:
        """The items' answer scales (:func:`detect_scales`)."""
        if not self.skipped:
            self.scales_ = detect_scales(self.responses, scale=self.item_scale)
        return self.scales_

    def distribution(self) -> pd.DataFrame | None:
        return None if self.scales_ is None else item_distribution(self.responses, self.scales_)

    def nps_note(self) -> str:
        """The NPS over the window with its interval (computing it and its monthly series)."""
        if not self.has_nps:
            return _("No NPS answers in these responses: the NPS section is skipped.")
        self.overall_nps_ = nps(self.responses["nps"])
        self.monthly_nps_ = nps_by_month(self.responses)
        n = self.overall_nps_
        return _("NPS over the window: {nps} (95% interval {ci_low} to {ci_high}; {promoters} promoters, "
                 "{passives} passives, {detractors} detractors)").format(
            **{k: number(n[k], 1) for k in ("nps", "ci_low", "ci_high")},
            **{k: number(n[k]) for k in ("promoters", "passives", "detractors")})

    def cluster(self, k_max: int = 8, min_answered: int | None = None, silhouette_sample: int = 2000) -> str:
        """Fit :class:`SatisfactionClusters`; returns the missing-answers summary ("" when skipped)."""
        if self.skipped:
            return ""
        self.clusters_ = SatisfactionClusters(k_range=(2, k_max), min_answered=min_answered or None,
                                              silhouette_sample=silhouette_sample, scale=self.item_scale,
                                              seed=self.seed).fit(self.responses)
        return self.clusters_.gap_summary()

    def choice_note(self) -> str:
        return "" if self.clusters_ is None else self.clusters_.choice_summary()

    def profile_table(self) -> pd.DataFrame | None:
        return None if self.clusters_ is None else self.clusters_.profile_table()

    def key_drivers(self) -> list[str | pd.DataFrame]:
        """For the overall item and the NPS: a line and the drivers table each, then the caveat."""
        if self.clusters_ is None:
            return []
        for target in ("overall", "nps"):
            if target in self.responses:
                self.drivers_[target] = key_drivers(self.responses, self.clusters_.items_, target, seed=self.seed)
        if not self.drivers_:
            return [_("No overall or NPS column: the key-driver analysis is skipped.")]
        out: list[str | pd.DataFrame] = []
        for target, d in self.drivers_.items():
            name = _(TARGET_WORDS.get(target, target))
            out += ([_("{target}: too few complete responses for a driver analysis").format(target=name)]
                    if d is None else [_("{target}: {responses} responses").format(target=name,
                                                                                   responses=number(d.responses)),
                                       shown(d.table.round(3))])
        fitted = [d for d in self.drivers_.values() if d is not None]
        return out + ([fitted[0].caveat()] if fitted else [])

    def fitted_drivers(self) -> list[Drivers]:
        return [d for d in self.drivers_.values() if d is not None]

    def comment_terms(self) -> list[str | pd.DataFrame]:
        """Each cluster's distinctive comment terms, or why there are none."""
        if self.clusters_ is None:
            return []
        if "comment" not in self.responses:
            return [_("No comment column in the surveys: the comment analysis is skipped.")]
        terms = distinctive_terms(self.responses["comment"], self.clusters_.labels_)
        return [shown(terms_by_cluster(terms, self.clusters_.names_))]

    def example_comments(self) -> pd.DataFrame | None:
        if self.clusters_ is None or "comment" not in self.responses:
            return None
        examples = example_comments(self.responses["comment"], self.clusters_.labels_)
        return shown(examples.assign(cluster_name=examples["cluster_id"].map(self.clusters_.names_))[["cluster_name",
                                                                                                       "comment"]])

    def assignments(self) -> pd.DataFrame | None:
        """The ``satisfaction_clusters`` artifact (None when nothing was clustered)."""
        return None if self.clusters_ is None else self.clusters_.assignments(self.responses)

    def outcomes(self, orders: pd.DataFrame, cutoff: pd.Timestamp, repurchase_days: int = 90,
                 churn_days: int = 180) -> pd.DataFrame | None:
        """Repurchase and churn by cluster (:func:`outcomes_by_cluster`); None, with
        :meth:`outcomes_note` saying why, when no respondent is a buyer in the orders (an anonymous
        survey's respondent ids): every respondent would otherwise count as churned."""
        if self.clusters_ is not None and self._buyers(orders, cutoff):
            self.outcomes_ = outcomes_by_cluster(self.responses, self.assignments(), orders, cutoff, repurchase_days,
                                                 churn_days)
        return self.outcomes_

    def _buyers(self, orders: pd.DataFrame, cutoff: pd.Timestamp) -> int:
        """How many responding customers bought anything by ``cutoff``."""
        customers, _ = _respondents(self.responses)
        self.buyers_ = int(_purchases(orders, customers, cutoff)["customer"].nunique())
        return self.buyers_

    def outcomes_note(self) -> str:
        """Why there are no outcomes by cluster although there are clusters ("" otherwise)."""
        if self.clusters_ is None or self.outcomes_ is not None or getattr(self, "buyers_", None) != 0:
            return ""
        return _("None of the {customers} responding customers has a purchase in the orders up to the report "
                 "month's end, so repurchase and churn by cluster cannot be measured (an anonymous survey's "
                 "respondent ids do not link to the shop's customers).").format(
            customers=number(self.responses["customer_id"].nunique()))

    def measurable_outcomes(self) -> pd.DataFrame | None:
        """The outcomes when both repurchase and churn could be measured for some cluster."""
        o = self.outcomes_
        return o if o is not None and o["repurchase_measurable"].sum() and o["churn_measurable"].sum() else None

    def segments(self, segments: pd.DataFrame | None) -> list[str | pd.DataFrame]:
        """Clusters against notebook 03's segments: a line with the test, and the counts."""
        if self.clusters_ is None:
            return []
        if segments is None:
            return [_("Customer segments are not available in this run (notebook 03 has not written them): "
                      "no cross-tab.")]
        tab = self.crosstab_ = segment_crosstab(self.responses, self.assignments(), segments)
        # p keeps Python's 3 significant digits (1.2e-05), written the same in every language; a test
        # that cannot run (one cluster or one segment) shows '–' for its figures, not 'nan'.
        p = f"{tab.p_value:.3g}" if np.isfinite(tab.p_value) else MISSING
        return [_("{customers} customers; {without} without a segment. Chi-square {chi2}, p = {p}, "
                  "Cramér's V = {v}").format(customers=number(tab.customers), without=number(tab.without_segment),
                                             chi2=_plain(tab.chi2, 1), p=p, v=number(tab.cramers_v, 2)),
                shown(tab.counts)]

    def crosstab_shares(self) -> pd.DataFrame | None:
        return None if self.crosstab_ is None else self.crosstab_.shares

    def figures(self) -> dict:
        """What the stage hands over in metrics.json (:func:`headline`)."""
        return headline(self.clusters_, self.overall_nps_ if self.has_nps else None, self.outcomes_,
                        0 if self.responses is None else len(self.responses), self.skipped)
