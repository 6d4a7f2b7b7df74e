"""Needs voiced in interaction notes: which product category a note asks about, if any.

**Where the labels come from.** Nobody has labelled our notes by hand, but the shop's own records
label them after the fact:

* a note whose ``topic`` is a service topic (order status, billing, returns ...) voices no need:
  its label is ``no need``;
* a product question (``topic == question_topic``) is labelled with the categories of the
  customer's **first order within** ``window_days`` **after it**, each weighted by its share of that
  order's lines. A question followed by no order in the window stays unlabelled (we cannot tell
  what was wanted), and so does one whose window has not closed by the cutoff.

These labels are noisy (the next order may hold other things besides, or instead of, what was
asked about), so a measured accuracy understates the true one; since the noise is spread over many
categories while the asked-about category recurs, the classifier still learns the words of each
category. Without a ``topic`` column every note is treated as a possible question and there is no
``no need`` class.

**The classifier** is a scikit-learn Pipeline: TF-IDF of words and word pairs (words found by
:class:`crm_utils.text.Tokenizer`, so notes in Chinese are segmented into words), then multinomial
naive Bayes or logistic regression (both compared; the better macro-F1 on a validation period
wins). Notes are split by time: the oldest labelled notes train, the next validate, the latest
are held out for the reported figures.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import confusion_matrix, f1_score, precision_recall_fscore_support
from sklearn.naive_bayes import MultinomialNB
from sklearn.pipeline import Pipeline

from crm_utils.data import privacy
from crm_utils.i18n import N_, NC_, _, pgettext
from crm_utils.notebook import date, number, percent
from crm_utils.text import Tokenizer

NO_NEED = "no need"
QUESTION_TOPIC = "product_question"
WINDOW_DAYS = 14
#: Fewest labelled notes (with at least two labels among them) to train and evaluate a classifier.
MIN_NOTES = 100
METHODS = {N_("naive Bayes"): "naive_bayes", N_("logistic regression"): "logistic_regression"}


#: The column and index names of the tables notebook 05's text section shows, as a reader reads
#: them (context 'notes column'); the tables keep these names, which charts and metrics read.
SHOWN_COLUMNS = {
    "method": NC_("notes column", "method"), "validation_macro_f1": NC_("notes column", "validation_macro_f1"),
    "validation_accuracy": NC_("notes column", "validation_accuracy"), "selected": NC_("notes column", "selected"),
    "class": NC_("notes column", "class"), "precision": NC_("notes column", "precision"),
    "recall": NC_("notes column", "recall"), "f1": NC_("notes column", "f1"),
    "notes": NC_("notes column", "notes"), "label": NC_("notes column", "label"),
    "kind": NC_("notes column", "kind"), "note": NC_("notes column", "note"),
    "predicted": NC_("notes column", "predicted"), "p_predicted": NC_("notes column", "p_predicted"),
    "margin": NC_("notes column", "margin"), "bought_predicted": NC_("notes column", "bought_predicted"),
}


def shown(table: pd.DataFrame | None) -> pd.DataFrame | None:
    """``table`` (a study's comparison, per-class report or hard examples) as notebook 05 displays
    it: column names, index name and the methods' names in the current language; the same table in
    English. A display copy: the study keeps its table as it is."""
    if table is None:
        return None
    out = table.rename(columns={c: pgettext("notes column", c) for c in table.columns if c in SHOWN_COLUMNS})
    if out.index.name == "method":
        out.index = out.index.map(lambda m: _(m) if m in METHODS else m)
    if out.index.name in SHOWN_COLUMNS:
        out.index.name = pgettext("notes column", out.index.name)
    return out


def _notes(interactions: pd.DataFrame) -> pd.DataFrame:
    """Interactions with a non-empty note, in time order."""
    if "note" not in interactions.columns:
        return interactions.iloc[0:0].assign(note=pd.Series(dtype="string"))
    keep = interactions["note"].notna() & (interactions["note"].astype("string").str.strip() != "")
    return interactions.loc[keep].sort_values("timestamp", kind="stable")


def labelled_notes(interactions: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp,
                   window_days: int = WINDOW_DAYS, question_topic: str = QUESTION_TOPIC) -> pd.DataFrame:
    """Notes with labels taken from the data (see the module docstring), known by ``as_of``.

    One row per (note, label): ``weight`` is the label's share of the note (1 for a single label),
    ``single`` marks notes with exactly one label (used for evaluation). Only notes dated at or
    before ``as_of - window_days`` are labelled, so every label is known at ``as_of``.
    """
    window = pd.Timedelta(days=window_days)
    notes = _notes(interactions)
    notes = notes[notes["timestamp"] <= pd.Timestamp(as_of) - window]
    has_topic = "topic" in notes.columns
    is_q = (notes["topic"].astype("string") == question_topic).fillna(False).to_numpy() if has_topic \
        else np.ones(len(notes), bool)
    cols = ["interaction_id", "customer_id", "timestamp", "note"] if "interaction_id" in notes else \
        ["customer_id", "timestamp", "note"]
    q = notes.loc[is_q, cols].reset_index(drop=True)
    q["note_row"] = np.arange(len(q))

    buy = orders.loc[~orders["is_return"] & orders["category"].notna(), ["customer_id", "order_date", "category"]]
    buy = buy.assign(customer_id=buy["customer_id"].astype(str), category=buy["category"].astype(str))
    # The first purchase after each note (per customer), then every line dated at that moment.
    firsts = buy[["customer_id", "order_date"]].drop_duplicates().sort_values("order_date", kind="stable")
    left = q.assign(customer_id=q["customer_id"].astype(str)).sort_values("timestamp", kind="stable")
    nxt = pd.merge_asof(left, firsts, left_on="timestamp", right_on="order_date", by="customer_id",
                        direction="forward", allow_exact_matches=False)
    nxt = nxt[nxt["order_date"].notna() & (nxt["order_date"] <= nxt["timestamp"] + window)]
    lines = nxt[["note_row", "customer_id", "order_date"]].merge(buy, on=["customer_id", "order_date"])
    counts = lines.groupby(["note_row", "category"]).size().rename("lines").reset_index()
    counts["weight"] = counts["lines"] / counts.groupby("note_row")["lines"].transform("sum")
    counts["single"] = counts.groupby("note_row")["category"].transform("size") == 1
    out = q.merge(counts[["note_row", "category", "weight", "single"]], on="note_row")
    out = out.rename(columns={"category": "label"})
    if has_topic:
        svc = notes.loc[~is_q, cols].assign(label=NO_NEED, weight=1.0, single=True)
        out = pd.concat([out.drop(columns="note_row"), svc], ignore_index=True)
    else:
        out = out.drop(columns="note_row")
    out["note"] = out["note"].astype(str)
    return out.sort_values(["timestamp", "label"], kind="stable", ignore_index=True)


def skip_reason(interactions: pd.DataFrame | None, labelled: pd.DataFrame | None, min_notes: int = MIN_NOTES,
                question_topic: str = QUESTION_TOPIC) -> str:
    """Why notes cannot be classified here, in one line ("" when they can)."""
    if interactions is None:
        return _("No interaction log in this data: the text section is skipped.")
    if "note" not in interactions.columns or _notes(interactions).empty:
        return _("The interaction log has no notes: the text section is skipped.")
    if "topic" in interactions.columns and not (interactions["topic"].astype("string") == question_topic).any():
        topics = _(", ").join(sorted(interactions["topic"].dropna().astype(str).unique())[:8])
        return _("No note has the topic '{topic}' (topics here: {topics}); set question_topic to the topic of "
                 "product questions. The text section is skipped.").format(topic=question_topic, topics=topics)
    n = 0 if labelled is None else len(labelled[["customer_id", "timestamp"]].drop_duplicates())
    if n < min_notes or labelled.loc[labelled["label"] != NO_NEED, "label"].nunique() < 2:
        return _("Only {count} notes could be labelled from the data (at least {needed}, naming at least two "
                 "categories, are needed): the text section is skipped.").format(count=n, needed=min_notes)
    return ""


def classifier_as_of(interactions: pd.DataFrame, orders: pd.DataFrame, as_of: pd.Timestamp, method: str,
                     window_days: int = WINDOW_DAYS, question_topic: str = QUESTION_TOPIC, seed: int = 42,
                     min_notes: int = MIN_NOTES) -> NeedTextClassifier | None:
    """A classifier trained only on labels known at ``as_of``, or None with too few of them.

    Features of a model that learns from past cutoffs must not use later labels: the voiced-need
    feature of the next-category model reads notes with a classifier fitted as of its earliest cutoff.
    """
    labelled = labelled_notes(interactions, orders, as_of, window_days, question_topic)
    if skip_reason(interactions, labelled, min_notes, question_topic):
        return None
    return NeedTextClassifier(method, seed=seed).fit(labelled)


def split_by_time(labelled: pd.DataFrame, validation: float = 0.2, holdout: float = 0.2
                  ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Oldest notes for training, then a validation period, then the latest ``holdout`` share.

    The split is by the note's time, so every label of a training note was known before any
    held-out note was written; all labels of one note stay in one part.
    """
    t = labelled["timestamp"]
    stamps = np.sort(t.unique())
    if len(stamps) < 3:
        raise ValueError(f"{len(stamps)} distinct note times are too few to split into train/validation/holdout")
    cut_v = stamps[int(len(stamps) * (1 - validation - holdout))]
    cut_h = stamps[int(len(stamps) * (1 - holdout))]
    return labelled[t < cut_v], labelled[(t >= cut_v) & (t < cut_h)], labelled[t >= cut_h]


class NeedTextClassifier(BaseEstimator):
    """TF-IDF (words and word pairs) and naive Bayes or logistic regression, as one Pipeline.

    Parameters
    ----------
    method : ``naive_bayes`` (multinomial) or ``logistic_regression``.
    min_df : a word must occur in this many training notes to count (drops typos and names).
    seed : for the solver of logistic regression.
    """

    def __init__(self, method: str = "naive_bayes", min_df: int = 2, seed: int = 42):
        self.method = method
        self.min_df = min_df
        self.seed = seed

    def _pipeline(self) -> Pipeline:
        if self.method == "naive_bayes":
            model = MultinomialNB()
        elif self.method == "logistic_regression":
            model = LogisticRegression(max_iter=2000, random_state=self.seed)
        else:
            raise ValueError(f"method must be one of {sorted(METHODS.values())}, got {self.method!r}")
        # Words as scikit-learn's default pattern finds them in English; Chinese notes segmented by jieba.
        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=self.min_df, sublinear_tf=True, strip_accents="unicode",
                                tokenizer=Tokenizer(), token_pattern=None)
        return Pipeline([("tfidf", tfidf), ("model", model)])

    def fit(self, labelled: pd.DataFrame) -> "NeedTextClassifier":
        """Fit on the rows of :func:`labelled_notes` (each label of a note weighted by its share)."""
        if labelled["label"].nunique() < 2:
            raise ValueError(f"need at least two labels to classify notes, got {sorted(labelled['label'].unique())}")
        self.pipeline_ = self._pipeline()
        self.pipeline_.fit(labelled["note"].astype(str), labelled["label"].astype(str),
                           model__sample_weight=labelled["weight"].to_numpy(float))
        self.classes_ = self.pipeline_.classes_
        return self

    def predict(self, notes: pd.Series) -> np.ndarray:
        return self.pipeline_.predict(notes.astype(str))

    def predict_proba(self, notes: pd.Series) -> pd.DataFrame:
        return pd.DataFrame(self.pipeline_.predict_proba(notes.astype(str)), columns=self.classes_, index=notes.index)


def single_labels(labelled: pd.DataFrame) -> pd.DataFrame:
    """The notes with exactly one label (what macro-F1 can be computed on)."""
    return labelled[labelled["single"]].reset_index(drop=True)


def compare_methods(train: pd.DataFrame, validation: pd.DataFrame, seed: int = 42
                    ) -> tuple[pd.DataFrame, dict[str, NeedTextClassifier]]:
    """Fit both methods on ``train``; macro-F1 and accuracy on the single-label validation notes."""
    val = single_labels(validation)
    rows, fitted = [], {}
    for name, method in METHODS.items():
        clf = NeedTextClassifier(method, seed=seed).fit(train)
        pred = clf.predict(val["note"])
        fitted[name] = clf
        rows.append({"method": name, "validation_macro_f1": f1_score(val["label"], pred, average="macro"),
                     "validation_accuracy": float(np.mean(pred == val["label"].to_numpy()))})
    table = pd.DataFrame(rows).set_index("method")
    table["selected"] = table.index == table["validation_macro_f1"].idxmax()
    return table, fitted


def bootstrap_macro_f1(y_true, y_pred, n_boot: int = 1000, seed: int = 42, level: float = 0.95) -> dict:
    """Macro-F1 with a percentile bootstrap interval (notes resampled with replacement).

    Per-class counts are recomputed for each resample with ``bincount``, so 1,000 resamples of
    tens of thousands of notes take a fraction of a second.
    """
    labels = np.unique(np.concatenate([np.asarray(y_true, str), np.asarray(y_pred, str)]))
    t = np.searchsorted(labels, np.asarray(y_true, str))
    p = np.searchsorted(labels, np.asarray(y_pred, str))
    k, n = len(labels), len(t)

    def macro(idx: np.ndarray) -> float:
        tt, pp = t[idx], p[idx]
        tp = np.bincount(tt[tt == pp], minlength=k)
        true_n = np.bincount(tt, minlength=k)
        pred_n = np.bincount(pp, minlength=k)
        present = true_n > 0  # as sklearn: classes in truth or prediction count; absent both -> skipped
        present |= pred_n > 0
        denom = true_n + pred_n
        f1 = np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)
        return float(f1[present].mean())

    rng = np.random.default_rng(seed)
    point = macro(np.arange(n))
    boots = np.array([macro(rng.integers(0, n, n)) for _ in range(n_boot)])
    alpha = (1 - level) / 2
    return {"macro_f1": point, "ci_low": float(np.quantile(boots, alpha)),
            "ci_high": float(np.quantile(boots, 1 - alpha)), "notes": n, "resamples": n_boot}


def per_class_report(y_true, y_pred) -> pd.DataFrame:
    """Precision, recall, F1 and support of each class."""
    labels = sorted(set(np.asarray(y_true, str)) | set(np.asarray(y_pred, str)))
    p, r, f, s = precision_recall_fscore_support(y_true, y_pred, labels=labels, zero_division=0)
    return pd.DataFrame({"precision": p, "recall": r, "f1": f, "notes": s}, index=pd.Index(labels, name="class"))


def confusion(y_true, y_pred) -> pd.DataFrame:
    """Confusion matrix, rows = label from the data, columns = predicted; each row sums to 1."""
    labels = sorted(set(np.asarray(y_true, str)) | set(np.asarray(y_pred, str)))
    cm = confusion_matrix(y_true, y_pred, labels=labels).astype(float)
    cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    return pd.DataFrame(cm, index=pd.Index(labels, name="label"), columns=pd.Index(labels, name="predicted"))


def hard_examples(clf: NeedTextClassifier, notes: pd.DataFrame, orders: pd.DataFrame | None = None,
                  window_days: int = WINDOW_DAYS, n: int = 3) -> pd.DataFrame:
    """Misclassified notes of two kinds, ``n`` of each (distinct texts), and a clue to why.

    * *confident, label disagrees*: the model is sure and the data's label disagrees; often the
      label is what is wrong (the next order held something else). With ``orders``, the column
      ``bought_predicted`` says whether the customer bought the predicted category at any time in
      the ``window_days`` after the note;
    * *unsure*: the smallest margin between the two likeliest classes: wording shared by several
      categories, or extra text (a masked phone number) diluting the words that matter.

    The notes shown have e-mail addresses and phone numbers masked (``privacy.mask_free_text``).
    """
    proba = clf.predict_proba(notes["note"])
    pred = proba.idxmax(axis=1).to_numpy()
    top2 = np.sort(proba.to_numpy(), axis=1)[:, -2:]
    frame = notes.assign(predicted=pred, p_predicted=top2[:, 1], margin=top2[:, 1] - top2[:, 0])
    wrong = frame[frame["predicted"] != frame["label"]].drop_duplicates("note")
    confident = wrong.sort_values(["p_predicted", "timestamp"], ascending=[False, True]).head(n)
    unsure = wrong.sort_values(["margin", "timestamp"]).head(n)
    out = pd.concat([confident.assign(kind=_("confident, label disagrees")), unsure.assign(kind=_("unsure"))],
                    ignore_index=True)
    # Notes are masked when cleaned (e-mails, phones, the customer's own name); shown here, they are
    # masked again for e-mails and phones, as a run folder cleaned by an older version may hold some.
    out["note"] = privacy.mask_free_text(out["note"].astype("string[pyarrow]"))[0].astype(str).to_numpy()
    keep = ["kind", "note", "label", "predicted", "p_predicted", "margin"]
    if orders is not None:
        buy = orders.loc[~orders["is_return"], ["customer_id", "order_date", "category"]]
        window = pd.Timedelta(days=window_days)
        out["bought_predicted"] = [
            bool(((buy["customer_id"] == c) & (buy["order_date"] > t) & (buy["order_date"] <= t + window)
                  & (buy["category"].astype("string") == p)).any())
            for c, t, p in zip(out["customer_id"], out["timestamp"], out["predicted"])]
        keep.append("bought_predicted")
    return out[keep]


def note_needs(interactions: pd.DataFrame, clf: NeedTextClassifier) -> pd.DataFrame:
    """Every note the classifier reads as voicing a need: customer_id, timestamp, category."""
    notes = _notes(interactions)
    if notes.empty:
        return pd.DataFrame({"customer_id": pd.Series(dtype="string"), "timestamp": pd.Series(dtype="datetime64[ns]"),
                             "category": pd.Series(dtype="string")})
    pred = clf.predict(notes["note"])
    need = pred != NO_NEED
    return pd.DataFrame({"customer_id": notes["customer_id"].astype("string").to_numpy()[need],
                         "timestamp": notes["timestamp"].to_numpy()[need],
                         "category": pd.array(pred[need], dtype="string")})


def voiced_in(needs: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp) -> pd.Series:
    """Each customer's latest need voiced in ``(start, end]``, indexed by customer_id."""
    w = needs[(needs["timestamp"] > start) & (needs["timestamp"] <= end)]
    latest = w.sort_values("timestamp", kind="stable").drop_duplicates("customer_id", keep="last")
    return latest.set_index("customer_id")["category"].rename("voiced_need")


def question_gaps(interactions: pd.DataFrame, orders: pd.DataFrame, question_topic: str = QUESTION_TOPIC,
                  max_days: int = 60) -> pd.DataFrame:
    """Days from each note to the customer's next purchase (NaN: none within ``max_days``), by kind of note.

    Notes on other topics show how soon customers buy anyway; the excess of questions over them in
    the first days is the purchase a question leads to, and where it fades is a sensible label
    window. Only notes at least ``max_days`` before the last order date are used, so every note
    had the same time to be followed by a purchase.
    """
    notes = _notes(interactions)
    if "topic" not in notes or notes.empty:
        return pd.DataFrame({"kind": pd.Series(dtype=str), "days": pd.Series(dtype=float)})
    notes = notes[notes["timestamp"] <= orders["order_date"].max() - pd.Timedelta(days=max_days)]
    buy = orders.loc[~orders["is_return"], ["customer_id", "order_date"]].astype({"customer_id": str})
    buy = buy.drop_duplicates().sort_values("order_date", kind="stable")
    left = notes[["customer_id", "timestamp", "topic"]].astype({"customer_id": str})
    left = left.sort_values("timestamp", kind="stable")
    m = pd.merge_asof(left, buy, left_on="timestamp", right_on="order_date", by="customer_id", direction="forward",
                      allow_exact_matches=False)
    days = ((m["order_date"] - m["timestamp"]) / pd.Timedelta(days=1)).to_numpy()
    days[days > max_days] = np.nan
    kind = np.where(m["topic"].astype("string") == question_topic, "product question", "other topics")
    return pd.DataFrame({"kind": kind, "days": days})


class NoteStudy:
    """Section 2 of notebook 05, step by step: label notes from the data, compare the two methods
    over time, report the held-out macro-F1, and train the classifiers used downstream.

    ``skipped`` says in one line why notes cannot be classified here ("" when they can). Every step
    then returns None (a table, a chart's input) or "" (a sentence), so the notebook's cells need no
    branches. ``interactions`` and ``orders`` are what the models learn from (a sample of whole
    customers at scale); ``all_interactions``, the whole log, decides whether the data have notes.
    """

    def __init__(self, interactions: pd.DataFrame | None, orders: pd.DataFrame, cutoff: pd.Timestamp, *,
                 window_days: int = WINDOW_DAYS, question_topic: str = QUESTION_TOPIC, seed: int = 42,
                 bootstrap_resamples: int = 1000, all_interactions: pd.DataFrame | None = None):
        self.interactions, self.orders, self.cutoff = interactions, orders, cutoff
        self.window_days, self.question_topic, self.seed = window_days, question_topic, seed
        self.bootstrap_resamples = bootstrap_resamples
        # Filled by compare() and fit_classifiers(); they stay None when notes cannot be classified.
        self.method_ = self.report_classifier_ = self.feature_classifier_ = self.needs_ = None
        log = interactions if all_interactions is None else all_interactions
        self.labelled_ = (labelled_notes(interactions, orders, cutoff, window_days, question_topic)
                          if log is not None and interactions is not None and "note" in log else None)
        self.skipped = skip_reason(log, self.labelled_, question_topic=question_topic)

    def gaps(self) -> pd.DataFrame | None:
        """Days from each note to the next purchase, by kind of note (see :func:`question_gaps`)."""
        if self.skipped:
            return None
        gaps = question_gaps(self.interactions, self.orders, self.question_topic)
        return gaps if len(gaps) else None

    def label_note(self) -> str:
        if self.skipped:
            return ""
        notes = len(self.labelled_[["customer_id", "timestamp"]].drop_duplicates())
        return _("{notes} notes labelled from the data ({share} of labels are the only category of their next "
                 "order)").format(notes=number(notes), share=percent(self.labelled_["single"].mean(), 0))

    def label_weights(self) -> pd.Series | None:
        """Labelled notes per class, a note with two labels counting half to each."""
        if self.skipped:
            return None
        weights = self.labelled_.groupby("label")["weight"].sum().sort_values(ascending=False)
        return weights.round(1).rename(_("notes (weighted)"))

    def compare(self) -> pd.DataFrame | None:
        """Both methods on the oldest 60% of notes, chosen by validation macro-F1 on the next 20%, and
        the chosen one's macro-F1 on the latest 20% with its bootstrap interval."""
        if self.skipped:
            return None
        train, validation, holdout = split_by_time(self.labelled_)
        self.comparison_, self.models_ = compare_methods(train, validation, self.seed)
        self.method_ = self.comparison_.index[self.comparison_["selected"]][0]
        self.held_ = single_labels(holdout)
        self.held_pred_ = self.models_[self.method_].predict(self.held_["note"])
        self.holdout_f1_ = bootstrap_macro_f1(self.held_["label"], self.held_pred_, self.bootstrap_resamples,
                                              self.seed)
        return self.comparison_

    def holdout_note(self) -> str:
        if self.method_ is None:
            return ""
        f1 = self.holdout_f1_
        return _("{method}: held-out macro-F1 {f1} (95% bootstrap interval {low}-{high}, {notes} notes from "
                 "{start} on)").format(method=_(self.method_), f1=number(f1["macro_f1"], 3),
                                       low=number(f1["ci_low"], 3), high=number(f1["ci_high"], 3),
                                       notes=number(f1["notes"]), start=date(self.held_["timestamp"].min()))

    def per_class(self) -> pd.DataFrame | None:
        return None if self.method_ is None else per_class_report(self.held_["label"], self.held_pred_)

    def confusion(self) -> pd.DataFrame | None:
        return None if self.method_ is None else confusion(self.held_["label"], self.held_pred_)

    def hard_examples(self) -> pd.DataFrame | None:
        if self.method_ is None:
            return None
        return hard_examples(self.models_[self.method_], self.held_, self.orders, self.window_days)

    def fit_classifiers(self, earliest_cutoff: pd.Timestamp | None) -> str:
        """The chosen method refitted on every labelled note (this month's voiced needs), and a second
        classifier trained only on labels known at ``earliest_cutoff`` (the voiced-need feature of past
        examples; None when no model learns from past cutoffs). Returns a sentence on the feature
        ("" when notes cannot be classified)."""
        if self.method_ is None:
            return ""
        method = METHODS[self.method_]
        self.report_classifier_ = NeedTextClassifier(method, seed=self.seed).fit(self.labelled_)
        self.feature_classifier_ = (None if earliest_cutoff is None else classifier_as_of(
            self.interactions, self.orders, earliest_cutoff, method, self.window_days, self.question_topic, self.seed))
        self.needs_ = (note_needs(self.interactions, self.feature_classifier_)
                       if self.feature_classifier_ is not None else None)
        if self.needs_ is not None:
            return _("Voiced needs as a next-category feature: notes read by a classifier trained on labels known "
                     "by {day}.").format(day=date(earliest_cutoff))
        return _("Voiced needs are not a next-category feature here: no classifier could be trained on labels "
                 "known by the first training cutoff.")

    def figures(self) -> dict:
        """What the study hands over in metrics.json."""
        if self.method_ is None:
            return {"skipped": self.skipped}
        return {"method": self.method_, "holdout": self.holdout_f1_}
