"""Lead scoring: will a new lead be won? A seeded gradient-boosting model on what is known when the
lead comes in (source, deal value, the export's num_* and cat_* attributes), judged on leads it
has not seen against the best simple rule: each source's won rate in the training leads.

With created dates the split is in time (train on older leads, test on the latest), as the model
would be used; the label is "won within LABEL_DAYS of coming in", so only leads created at least
LABEL_DAYS before the cutoff are labelled and no lead is called lost merely for being recent.
Without dates the split is a seeded, stratified random one, and the report says so.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

from crm_utils.funnel.leads import Leads
from crm_utils.i18n import _
from crm_utils.notebook import number, percent

#: A lead not won within this many days of coming in counts as not won: half a year holds the
#: planted and the usual B2B sales cycles (a few weeks to a few months) with room to spare.
LABEL_DAYS = 180
#: Time split: the leads of the last TEST_MONTHS labelled months are the test set (half a year
#: gives a test set of a few hundred leads on the default data, and tests the latest behaviour).
TEST_MONTHS = 6
#: Random split (undated leads): share of leads held out for the test.
TEST_SHARE = 0.3
#: Fewer labelled leads or won leads than these in train or test: no model is fitted, and the
#: notebook says why (a few dozen wins give an AUC whose interval spans most of 0.5-1).
MIN_TRAIN, MIN_WON = 200, 30
#: Prior weight of the baseline's smoothing: a source's rate is (won + m p) / (leads + m), with p
#: the overall rate, so a source seen a few times is not given a rate of 0 or 1 (infinite log loss).
BASELINE_PRIOR = 10.0
#: Paired bootstrap resamples of the test leads for the interval of the AUC gain.
BOOTSTRAP = 300
#: The model: boosted trees, small enough for a few thousand leads; seeded.
MODEL_PARAMS = {"max_iter": 200, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 40,
                "l2_regularization": 1.0}


@dataclass
class ScoringData:
    """Labelled leads, their features and the split."""

    X: pd.DataFrame
    y: np.ndarray
    test: np.ndarray  # bool per row
    split: str  # how train and test were cut, in words (the run's language)
    numeric: list[str]
    categorical: list[str]


def features(df: pd.DataFrame) -> tuple[pd.DataFrame, list[str], list[str]]:
    """What is known when a lead comes in: source, deal value, num_* and cat_* attributes."""
    categorical = ["source"] + sorted(c for c in df.columns if c.startswith("cat_"))
    numeric = (["value"] if "value" in df.columns and df["value"].notna().any() else []) + \
        sorted(c for c in df.columns if c.startswith("num_"))
    X = pd.DataFrame(index=df.index)
    for c in categorical:
        X[c] = df[c].astype("string").fillna("missing").astype(str)
    for c in numeric:
        X[c] = pd.to_numeric(df[c], errors="coerce").astype(float)
    return X, numeric, categorical


def labelled(leads: Leads, seed: int) -> ScoringData | str:
    """The labelled leads and their split, or the reason there are too few."""
    df = leads.frame
    if leads.dated and leads.cutoff is not None and "outcome_date" in df.columns:
        old = df[df["created_date"] + pd.Timedelta(days=LABEL_DAYS) <= leads.cutoff]
        days = (old["outcome_date"] - old["created_date"]).dt.days
        y = ((old["status"] == "won") & (days <= LABEL_DAYS)).to_numpy()
        month = old["created_date"].dt.to_period("M")
        months = sorted(month.unique())
        if len(months) <= TEST_MONTHS:
            return _("only {months} months of leads are old enough to know their outcome ({days} days); a time split "
                     "needs more than {needed}").format(months=len(months), days=LABEL_DAYS, needed=TEST_MONTHS)
        first_test = months[-TEST_MONTHS]
        test = (month >= first_test).to_numpy()
        split = _("time split: trained on leads created {first}–{last_trained}, tested on {first_tested}–{last}; won "
                  "means won within {days} days").format(first=months[0], last_trained=months[-TEST_MONTHS - 1],
                                                         first_tested=first_test, last=months[-1], days=LABEL_DAYS)
        X, numeric, categorical = features(old)
    else:
        closed = df[df["status"].isin(["won", "lost"])]
        y = (closed["status"] == "won").to_numpy()
        if y.sum() < 2 or (~y).sum() < 2:
            return _("fewer than two won or two lost leads: nothing to learn")
        idx = np.arange(len(closed))
        _train_idx, test_idx = train_test_split(idx, test_size=TEST_SHARE, random_state=seed, stratify=y)
        test = np.isin(idx, test_idx)
        split = _("seeded random split ({train} train, {test} test, stratified by outcome): the leads have no dates, "
                  "so how the score holds on future leads cannot be tested").format(train=percent(1 - TEST_SHARE, 0),
                                                                                    test=percent(TEST_SHARE, 0))
        X, numeric, categorical = features(closed)
    for part, mask in (("training", ~test), ("test", test)):
        if mask.sum() < MIN_TRAIN or y[mask].sum() < MIN_WON:
            return (_("too few leads to score: the training set has {leads} leads, {won} won (at least {min_leads} and "
                      "{min_won} needed)") if part == "training" else
                    _("too few leads to score: the test set has {leads} leads, {won} won (at least {min_leads} and "
                      "{min_won} needed)")).format(leads=number(int(mask.sum())), won=number(int(y[mask].sum())),
                                                   min_leads=MIN_TRAIN, min_won=MIN_WON)
    return ScoringData(X.reset_index(drop=True), y, test, split, numeric, categorical)


class SourceRateBaseline:
    """The best simple rule: each source's smoothed won rate in the training leads."""

    def fit(self, X: pd.DataFrame, y: np.ndarray) -> "SourceRateBaseline":
        self.overall_ = float(np.mean(y))
        grp = pd.DataFrame({"s": X["source"].to_numpy(), "y": y}).groupby("s")["y"]
        self.rates_ = (grp.sum() + BASELINE_PRIOR * self.overall_) / (grp.size() + BASELINE_PRIOR)
        return self

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        p = X["source"].map(self.rates_).fillna(self.overall_).to_numpy(dtype=float)
        return np.column_stack([1 - p, p])


def model(categorical: list[str], numeric: list[str], seed: int):
    """Ordinal-encoded categories (unknown ones as their own code) and numbers into boosted trees."""
    enc = ColumnTransformer([("cat", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1,
                                                    encoded_missing_value=-1), categorical),
                             ("num", "passthrough", numeric)])
    n_cat = len(categorical)
    clf = HistGradientBoostingClassifier(categorical_features=list(range(n_cat)), random_state=seed,
                                         early_stopping=False, **MODEL_PARAMS)
    return make_pipeline(enc, clf)


def _metrics(y: np.ndarray, p: np.ndarray) -> dict:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return {"roc_auc": float(roc_auc_score(y, p)), "log_loss": float(log_loss(y, p)),
            "brier": float(brier_score_loss(y, p))}


def _auc(y: np.ndarray, p: np.ndarray) -> float:
    """ROC-AUC as the Mann-Whitney statistic (ties half): sklearn's value, at a fraction of its
    per-call cost, for the bootstrap's hundreds of resamples."""
    r = rankdata(p)
    n1 = int(y.sum())
    return float((r[y].sum() - n1 * (n1 + 1) / 2) / (n1 * (len(y) - n1)))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(np.where(y, np.log(p), np.log1p(-p))))


@dataclass
class ScoringResult:
    """The model and the baseline on the same test leads, with the intervals of their differences."""

    split: str
    train_leads: int
    test_leads: int
    test_won: int
    model: dict
    baseline: dict
    auc_gain_ci: tuple[float, float]
    log_loss_gain_ci: tuple[float, float]
    scores: pd.DataFrame  # test leads: row, label, model and baseline scores

    @property
    def ranks_better(self) -> bool:
        """The model orders leads better: the AUC gain's 95% interval lies above 0."""
        return self.auc_gain_ci[0] > 0

    @property
    def prices_better(self) -> bool:
        """The model's probabilities are better: the log-loss change's 95% interval lies below 0."""
        return self.log_loss_gain_ci[1] < 0

    @property
    def beats_baseline(self) -> bool:
        """Better in ranking and in probability: both must hold."""
        return self.ranks_better and self.prices_better

    def table(self) -> pd.DataFrame:
        """The two scorers' measures side by side; the scorers named in the run's language (shown as they are)."""
        return pd.DataFrame([{"scorer": _("model (boosted trees)"), **self.model},
                             {"scorer": _("baseline: won rate by source"), **self.baseline}])

    def verdict(self) -> str:
        """The comparison in one sentence, in the current language: figures, then what to use the score for."""
        gain = self.model["roc_auc"] - self.baseline["roc_auc"]
        head = _("Lead scoring on {leads} test leads ({won} won): the model's ROC-AUC is {auc} against {base_auc} for "
                 "the won rate by source (gain {gain}, 95% interval {low} to {high}); log loss {loss} against "
                 "{base_loss}").format(
            leads=number(self.test_leads), won=number(self.test_won), auc=number(self.model["roc_auc"], 3),
            base_auc=number(self.baseline["roc_auc"], 3), gain=number(gain, 3, signed=True),
            low=number(self.auc_gain_ci[0], 3, signed=True), high=number(self.auc_gain_ci[1], 3, signed=True),
            loss=number(self.model["log_loss"], 3), base_loss=number(self.baseline["log_loss"], 3))
        if self.beats_baseline:
            return _("{head}: the model ranks leads and states their chances better than their source alone.").format(
                head=head)
        if self.ranks_better:
            return _("{head}: the model ranks leads better than their source alone (use it to choose whom to call "
                     "first), but its probabilities are no better than the source's won rate (use that for "
                     "forecasts).").format(head=head)
        return _("{head}: the model does not clearly beat the source's won rate, so rank leads by source.").format(
            head=head)

    def figures(self) -> dict:
        return {"split": self.split, "train_leads": self.train_leads, "test_leads": self.test_leads,
                "test_won": self.test_won, "model": self.model, "baseline": self.baseline,
                "auc_gain_ci": list(self.auc_gain_ci), "log_loss_gain_ci": list(self.log_loss_gain_ci),
                "ranks_better": self.ranks_better, "prices_better": self.prices_better,
                "beats_baseline": self.beats_baseline, "verdict": self.verdict()}


def score_leads(leads: Leads | None, seed: int) -> ScoringResult | str:
    """Fit the model and the baseline on the training leads and compare them on the test leads;
    a string says why there is no comparison."""
    if leads is None or leads.frame.empty:
        return _("there are no leads")
    data = labelled(leads, seed)
    if isinstance(data, str):
        return data
    tr, te = ~data.test, data.test
    Xtr, Xte, ytr, yte = data.X[tr], data.X[te], data.y[tr], data.y[te]
    # One thread: a few thousand leads gain nothing from more, and on a shared machine OpenMP's
    # threads fighting for the cores made the fit twenty times slower.
    with threadpool_limits(1):
        fitted = model(data.categorical, data.numeric, seed).fit(Xtr, ytr)
        p_model = fitted.predict_proba(Xte)[:, 1]
    p_base = SourceRateBaseline().fit(Xtr, ytr).predict_proba(Xte)[:, 1]
    rng = np.random.default_rng(seed)
    auc_gain, ll_gain = [], []
    for _resample in range(BOOTSTRAP):
        i = rng.integers(0, len(yte), len(yte))
        if yte[i].min() == yte[i].max():
            continue
        auc_gain.append(_auc(yte[i], p_model[i]) - _auc(yte[i], p_base[i]))
        ll_gain.append(_log_loss(yte[i], p_model[i]) - _log_loss(yte[i], p_base[i]))
    q = [(1 - 0.95) / 2 * 100, (1 + 0.95) / 2 * 100]
    scores = pd.DataFrame({"won": yte, "model": p_model, "baseline": p_base})
    return ScoringResult(data.split, int(tr.sum()), int(te.sum()), int(yte.sum()), _metrics(yte, p_model),
                         _metrics(yte, p_base), tuple(float(x) for x in np.percentile(auc_gain, q)),
                         tuple(float(x) for x in np.percentile(ll_gain, q)), scores)


def verdict_note(result: ScoringResult | str) -> str:
    """The notebook's sentence: the comparison's verdict, or why there is none."""
    if isinstance(result, ScoringResult):
        return _("{split}.").format(split=result.split) + "\n" + result.verdict()
    return _("No lead-scoring comparison: {reason}.").format(reason=result)


def figures_of(result: ScoringResult | str) -> dict:
    """The scoring's figures for metrics.json: the comparison, or why there is none."""
    return result.figures() if isinstance(result, ScoringResult) else {"skipped": result}


def comparison(result: ScoringResult | str) -> pd.DataFrame | None:
    """The scorers' measures side by side (None when there was no comparison)."""
    return result.table() if isinstance(result, ScoringResult) else None


def test_scores(result: ScoringResult | str) -> pd.DataFrame | None:
    """The test leads' labels and both scores, for the ROC chart (None when there was no comparison)."""
    return result.scores if isinstance(result, ScoringResult) else None
