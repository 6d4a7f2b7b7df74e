"""Charts of notebook 05, need prediction."""

from __future__ import annotations

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from sklearn.metrics import precision_recall_curve, roc_curve

from crm_utils.charts import skippable
from crm_utils.i18n import N_, _
from crm_utils.notebook import date, number, percent
from crm_utils.safe import chart_text

#: The cutoffs' roles (:meth:`crm_utils.needs.propensity.CutoffPlan.frame`'s codes, marked for the catalogue).
ROLE_COLOURS = {N_("training (model choice)"): "#6c8ebf", N_("validation"): "#d98c2b", N_("test"): "#d9534f",
                N_("training (final model)"): "#9fb7d9", N_("training (final purchase model)"): "#b8cbe4",
                N_("scoring"): "#4c9a2a"}
#: The names the kit gives its models, baselines and score variants (the propensity candidates and
#: rules, the next-category model and baseline, raw and calibrated scores), as the charts show them.
MODEL_LABELS = {name: name for name in (
    N_("logistic regression"), N_("random forest"), N_("gradient boosting"), N_("recency rule"),
    N_("frequency rule"), N_("BG/NBD"), N_("model"), N_("most frequent past category"), N_("raw"),
    N_("calibrated"))}
#: The kinds of note of :func:`crm_utils.needs.need_text.question_gaps`.
NOTE_KINDS = (N_("product question"), N_("other topics"))
#: The propensity features (:func:`crm_utils.needs.propensity.customer_examples`) as the drivers chart
#: names them: the column names in English, a Chinese description in a translated report.
FEATURE_LABELS = (N_("recency_days"), N_("frequency"), N_("monetary"), N_("avg_order_value"), N_("tenure_days"),
                  N_("return_rate"), N_("price_index"), N_("lines"), N_("orders_90d"), N_("interactions"),
                  N_("interactions_90d"), N_("bgnbd_expected_purchases"), N_("bgnbd_p_alive"))
#: Prefix of a feature holding a category's share of the customer's lines (``cat_<category>``).
CATEGORY_PREFIX = "cat_"


def model_label(name: str) -> str:
    """A model's name in the current language (a name the kit does not give, as written)."""
    return _(MODEL_LABELS[name]) if name in MODEL_LABELS else chart_text(name)


def feature_label(feature: str) -> str:
    """A feature's name on the drivers chart: its column name in English, described in a translation;
    a category share names the data's category."""
    if feature in FEATURE_LABELS:
        return _(feature)
    if feature.startswith(CATEGORY_PREFIX):
        return _("cat_{category}").format(category=chart_text(feature.removeprefix(CATEGORY_PREFIX)))
    return chart_text(feature)
BASELINE_COLOUR = "#b0b0b0"
SELECTED_COLOUR = "#d98c2b"


@skippable
def cutoff_timeline(plan: pd.DataFrame) -> plt.Figure:
    """Each cutoff of each role as a bar from the cutoff to the end of its label window."""
    fig, ax = plt.subplots(figsize=(10, 0.32 * len(plan) + 1.4))
    for i, r in enumerate(plan.itertuples()):
        end = r.label_window_end if pd.notna(r.label_window_end) else r.cutoff + pd.Timedelta(days=30)
        ax.barh(i, (end - r.cutoff).days, left=r.cutoff, color=ROLE_COLOURS.get(r.role, "#888888"),
                hatch="//" if r.role == "scoring" else None, edgecolor="white")
        ax.plot([r.cutoff, r.cutoff], [i - 0.4, i + 0.4], color="black", lw=1)
    ax.set_yticks(range(len(plan)), [f"{_(r.role) if r.role in ROLE_COLOURS else chart_text(r.role)}  {date(r.cutoff)}"
                                     for r in plan.itertuples()], fontsize=8)
    ax.invert_yaxis()
    ax.set_xlabel(_("date (black tick: cutoff, features end here; bar: the 30-day label window)"))
    ax.set_title(_("Cutoffs: every label window ends before the data that judge it (scoring: not yet known)"))
    fig.tight_layout()
    return fig


@skippable
def model_comparison(table: pd.DataFrame) -> plt.Figure:
    """Validation and test ROC-AUC and PR-AUC of every candidate (blue) and baseline (grey)."""
    from matplotlib.patches import Patch

    fig, axes = plt.subplots(1, 2, figsize=(12, 0.42 * len(table) + 1.8), sharey=True)
    order = table.sort_values("validation_roc_auc").index
    y = np.arange(len(order))
    shades = {"validation": ("#9fb7d9", "#d4d4d4"), "test": ("#4f79b5", "#8c8c8c")}  # (candidate, baseline)
    for ax, metric in zip(axes, ("roc_auc", "pr_auc")):
        for split, offset in (("validation", 0.19), ("test", -0.19)):
            vals = table.loc[order, f"{split}_{metric}"]
            colours = [shades[split][0] if table.loc[m, "kind"] == "candidate" else shades[split][1] for m in order]
            edges = [SELECTED_COLOUR if table.loc[m, "selected"] else "none" for m in order]
            ax.barh(y + offset, vals, height=0.36, color=colours, edgecolor=edges, linewidth=2)
            for yy, v in zip(y + offset, vals):
                ax.text(v, yy, f" {v:.3f}", va="center", fontsize=7)
        lo = table[[f"validation_{metric}", f"test_{metric}"]].min().min()
        ax.set_xlim(max(0.0, lo - 0.05), 1.0)
        ax.set_xlabel(_("ROC-AUC (0-1)") if metric == "roc_auc" else _("PR-AUC (average precision) (0-1)"))
    axes[0].set_yticks(y, [_("{model} (chosen)").format(model=model_label(m)) if table.loc[m, "selected"]
                           else model_label(m) for m in order])
    axes[1].legend(handles=[Patch(color=shades["validation"][0], label=_("validation (chooses)")),
                            Patch(color=shades["test"][0], label=_("test (reports)")),
                            Patch(color=shades["test"][1], label=_("baseline"))], fontsize=8, loc="lower right")
    axes[0].set_title(_("ROC-AUC by model"))
    axes[1].set_title(_("PR-AUC by model"))
    fig.suptitle(_("Candidates and baselines: chosen on validation, reported on test"), fontweight="bold")
    fig.tight_layout()
    return fig


@skippable
def roc_pr_curves(y: np.ndarray, scores: dict[str, np.ndarray], chosen: str) -> plt.Figure:
    """ROC and precision-recall curves on the test cutoff."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.6))
    y = np.asarray(y, bool)
    for name, s in scores.items():
        style = dict(lw=2.4, color=SELECTED_COLOUR) if name == chosen else dict(lw=1, alpha=0.8)
        fpr, tpr, _thresholds = roc_curve(y, s)
        a1.plot(fpr, tpr, label=model_label(name), **style)
        prec, rec, _thresholds = precision_recall_curve(y, s)
        a2.plot(rec, prec, label=model_label(name), **style)
    a1.plot([0, 1], [0, 1], ls=":", color="grey")
    a1.set_xlabel(_("false positive rate (share of non-buyers flagged)"))
    a1.set_ylabel(_("true positive rate (share of buyers found)"))
    a1.set_title(_("ROC on the test cutoff"))
    a1.legend(fontsize=7, loc="lower right")
    a2.axhline(y.mean(), ls=":", color="grey", label=_("base rate {share}").format(share=percent(y.mean(), 0)))
    a2.set_xlabel(_("recall (share of buyers found)"))
    a2.set_ylabel(_("precision (share of flagged who buy)"))
    a2.set_title(_("Precision-recall on the test cutoff"))
    fig.tight_layout()
    return fig


@skippable
def gains_chart(gains: dict[str, pd.DataFrame], chosen: str) -> plt.Figure:
    """Cumulative gains of each score (left) and the chosen model's lift by decile (right)."""
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(12, 4.2))
    for name, g in gains.items():
        style = dict(lw=2.4, color=SELECTED_COLOUR) if name == chosen else dict(lw=1)
        a1.plot([0, *g["customers_share"] * 100], [0, *g["gain"] * 100], marker="o", ms=3, label=model_label(name),
                **style)
    a1.plot([0, 100], [0, 100], ls=":", color="grey", label=_("random"))
    a1.set_xlabel(_("customers contacted, highest scores first (%)"))
    a1.set_ylabel(_("buyers reached (% of all buyers)"))
    a1.set_title(_("Cumulative gains on the test cutoff"))
    a1.legend(fontsize=7, loc="lower right")
    g = gains[chosen]
    a2.bar(g.index, g["lift"], color="#6c8ebf")
    a2.axhline(1, ls=":", color="grey")
    for d, (lift, rate) in enumerate(zip(g["lift"], g["hit_rate"]), 1):
        a2.text(d, lift, f"{rate:.0%}", ha="center", va="bottom", fontsize=7)
    a2.set_xticks(g.index)
    a2.set_xlabel(_("decile of the score (1 = highest)"))
    a2.set_ylabel(_("lift (purchase rate / overall rate)"))
    a2.set_title(_("Lift by decile, {model} (labels: purchase rate)").format(model=model_label(chosen)))
    fig.tight_layout()
    return fig


@skippable
def calibration_chart(tables: dict[str, pd.DataFrame]) -> plt.Figure:
    """Predicted probability against observed purchase rate, in bins of equal size."""
    fig, ax = plt.subplots(figsize=(5.5, 5))
    for name, t in tables.items():
        ax.plot(t["predicted"], t["observed"], marker="o", label=model_label(name))
    ax.plot([0, 1], [0, 1], ls=":", color="grey", label=_("perfectly calibrated"))
    ax.set_xlabel(_("mean predicted probability of a purchase"))
    ax.set_ylabel(_("observed share who bought"))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title(_("Calibration on the test cutoff (10 bins)"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@skippable
def drivers_chart(drivers: pd.DataFrame, top: int = 12) -> plt.Figure:
    """Permutation importance: ROC-AUC lost when a feature is shuffled, with its spread."""
    d = drivers.head(top).iloc[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.32 * len(d) + 1.4))
    ax.barh([feature_label(f) for f in d["feature"]], d["auc_drop"], xerr=d["std"], color="#6c8ebf", ecolor="#333333")
    ax.set_xlabel(_("drop in test ROC-AUC when the feature is shuffled"))
    ax.set_title(_("Top {count} drivers of the chosen model").format(count=len(d)))
    fig.tight_layout()
    return fig


@skippable
def question_gap_chart(gaps: pd.DataFrame, window_days: int, max_days: int = 60) -> plt.Figure:
    """Share of notes followed by a purchase within d days, product questions against other notes."""
    fig, ax = plt.subplots(figsize=(9, 3.8))
    days = np.arange(0, max_days + 1)
    for kind, g in gaps.groupby("kind"):
        d = g["days"].to_numpy(float)
        name = _(kind) if kind in NOTE_KINDS else chart_text(kind)
        ax.plot(days, [(d <= x).mean() * 100 for x in days],
                label=_("{kind} ({count} notes)").format(kind=name, count=number(len(g))))
    ax.axvline(window_days, ls="--", color=SELECTED_COLOUR,
               label=_("label window: {days} days").format(days=window_days))
    ax.set_xlabel(_("days after the note"))
    ax.set_ylabel(_("notes followed by a purchase (%)"))
    ax.set_title(_("A product question is followed by a purchase sooner than other contacts"))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@skippable
def confusion_heatmap(cm: pd.DataFrame) -> plt.Figure:
    """Row-normalised confusion matrix: rows = label from the data, columns = predicted."""
    fig, ax = plt.subplots(figsize=(0.6 * len(cm) + 3, 0.5 * len(cm) + 2))
    labels = [chart_text(c) for c in cm.index]
    sns.heatmap(cm * 100, annot=True, fmt=".0f", cmap="Blues", vmin=0, vmax=100, ax=ax,
                xticklabels=labels, yticklabels=labels, cbar_kws={"label": _("% of the row's notes")},
                annot_kws={"size": 7})
    ax.set_xlabel(_("predicted"))
    ax.set_ylabel(_("label from the data (next order)"))
    ax.set_title(_("Held-out notes: where each label's notes went"))
    fig.tight_layout()
    return fig


@skippable
def next_category_chart(accuracy: pd.DataFrame) -> plt.Figure:
    """Top-1 and top-3 accuracy of the model and the baseline on the test cutoff."""
    fig, ax = plt.subplots(figsize=(7, 3.4))
    x = np.arange(2)
    for j, (name, row) in enumerate(accuracy.iterrows()):
        vals = [row["test_top1"] * 100, row["test_top3"] * 100]
        ax.bar(x + (j - 0.5) * 0.38, vals, width=0.36, label=model_label(name),
               color="#6c8ebf" if j == 0 else BASELINE_COLOUR)
        for xx, v in zip(x + (j - 0.5) * 0.38, vals):
            ax.text(xx, v, f"{v:.1f}", ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, [_("top-1"), _("top-3")])
    ax.set_ylabel(_("customers whose next order holds it (%)"))
    ax.set_ylim(0, 100)
    ax.set_title(_("Next category on the test cutoff's buyers"))
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


@skippable
def monitoring_chart(gains: pd.DataFrame, figures: dict, cutoff: pd.Timestamp) -> plt.Figure:
    """Purchase rate by decile of last month's scores, against the overall rate (``figures`` of
    :func:`crm_utils.needs.monitoring.realised`)."""
    base_rate = figures["base_rate"]
    fig, ax = plt.subplots(figsize=(8, 3.4))
    ax.bar(gains.index, gains["hit_rate"] * 100, color="#6c8ebf")
    ax.axhline(base_rate * 100, ls=":", color="grey",
               label=_("all scored customers: {share}").format(share=percent(base_rate, 0)))
    ax.set_xticks(gains.index)
    ax.set_xlabel(_("decile of last month's score (1 = highest)"))
    ax.set_ylabel(_("bought in the 30 days (%)"))
    ax.set_title(_("How last month's scores (made on {date}) turned out").format(date=date(cutoff)))
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig
