"""What contacts did: the effect of a shop's outreach (by channel and topic) on purchase within a window.

Interface (agreed with :mod:`crm_utils.contacts.plan`, which reads the measured effects)::

    est = ContactEffect(window_days=30, seed=42).fit(orders, interactions, customers, cutoff)
    est.effects_     # one row per channel (topic "all") and per (channel, topic) where data allow
    est.status_      # "measured" | "no interactions table" | "no outreach contacts"
    est.message_     # one sentence: what was measured, or why nothing could be
    est.assumption_  # what makes the numbers causal (ASSUMPTION)
    est.effect_of("email")  # the channel's effect (share 0-1), or None when not measured

``effects_`` columns: see :data:`EFFECT_COLUMNS`. Effects are shares (0.05 = 5 percentage points);
a row with fewer than :data:`MIN_CONTACTS` measured contacts has NaN figures and the note
"too few contacts".

**The design.** A contact is the shop's own outreach (a topic named like one, :data:`OUTREACH_WORDS`,
or the ``topics`` given): customer-initiated contacts (service, product questions) follow the
customer's intent and are never treated as a cause. Month by month over the ``months`` before the
cutoff, every customer active at the month's start (bought in the year before, as need prediction
defines active) is described by need prediction's features as of that start
(:func:`crm_utils.needs.propensity.customer_examples`, nothing later read). A customer whose first
outreach contact of the month came by channel ``c`` is *contacted* (the outcome: a purchase within
``window_days`` after the contact); an active customer with no outreach contact that month is a
*comparison* customer, given a date drawn (seeded) from the contacted's dates of that channel and
month, so both windows fall in the same days of the year. Contacts whose window runs past the
cutoff are left out: their outcome is not known yet.

**The estimate.** The effect on the contacted (ATT) by inverse-propensity weighting: a logistic
regression on the features (log-scaled as need prediction scales them) and the month gives each
comparison customer's probability ``e`` of having been contacted; weighting the comparison by
``e / (1 - e)`` makes it resemble the contacted in those features, and the effect is the contacted's
purchase rate minus the weighted comparison rate (``base_rate``: what the contacted would have
bought without the contact). ``e`` is capped at :data:`MAX_PROPENSITY`, so no comparison customer
stands in for more than 19 contacted; ``trimmed`` counts the capped, ``ess`` is the comparison's
effective sample size (Kish: (sum w)^2 / sum w^2). The interval is a seeded bootstrap over
customers (a customer's months stay together), with the fitted propensities held fixed.
``naive`` is the plain contacted-minus-comparison difference, which a targeted
campaign inflates: the shop contacts the customers who buy anyway.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.preprocessing import StandardScaler

from crm_utils.i18n import N_, _
from crm_utils.needs.propensity import ACTIVE_DAYS, LogSkewed, customer_examples

#: The window after a contact in which a purchase counts as its outcome (days).
WINDOW_DAYS = 30
#: Below this many measured contacts a channel (or topic) gets no figure: a purchase rate over fewer
#: than 100 contacts has a standard error of ~5 points, as large as the effects worth acting on.
MIN_CONTACTS = 100
#: Propensity cap: a comparison customer's weight e/(1-e) is at most 19. Beyond it one customer would
#: decide the comparison for a whole group of the contacted (the usual 0.95 trimming bound).
MAX_PROPENSITY = 0.95
#: Below this effective comparison size the weighted comparison rests on a handful of customers
#: (its standard error alone near 7 points): no figure, the note says the groups do not overlap.
MIN_ESS = 50
#: Bootstrap replicates of the interval: 200 put the 2.5% and 97.5% percentiles within a few
#: tenths of a point of their limit at the sample sizes measured here.
N_BOOT = 200
LEVEL = 0.95
#: Months of contacts measured, before the cutoff.
MONTHS = 12
#: Topic words that name the shop's own outreach (a topic containing one of them is a contact).
#: Words a customer's own question could carry ("discount", "sale") are left out: an inbound
#: question follows the customer's intent to buy and would pass for a large effect.
OUTREACH_WORDS = ("promotion", "promo", "reminder", "offer", "campaign", "newsletter", "mailing", "win-back",
                  "winback", "follow-up", "follow_up", "coupon", "voucher", "营销", "促销", "回访")
ALL = "all"
EFFECT_COLUMNS = ["channel", "topic", "n_contacted", "n_comparison", "base_rate", "effect", "ci_low", "ci_high",
                  "naive", "ess", "trimmed", "note"]
#: Marked for the catalogue here, translated with ``_()`` when a fit stores it (:attr:`ContactEffect.assumption_`).
ASSUMPTION = N_(
    "The figures are causal only if, among customers with the same purchase history, sign-up and contact "
    "history (the features the comparison is weighted on), whether a customer was contacted had nothing "
    "to do with whether they were about to buy (no unmeasured confounding: no contact followed a signal "
    "the features do not hold, such as a call the customer asked for), and if every kind of customer "
    "contacted also had a chance of not being contacted (positivity; `trimmed` and `ess` show where it is thin). "
    "A hold-out group that is not contacted at random makes both true by design.")

_DAY = np.timedelta64(1, "D")
_SECOND = np.timedelta64(1, "s")


# ------------------------------------------------------------------------------------------
# Contacts and outcomes
# ------------------------------------------------------------------------------------------

def outreach_contacts(interactions: pd.DataFrame, topics: Sequence[str] | None = None) -> pd.DataFrame:
    """The shop's own contacts: customer_id, timestamp, channel, topic (text), in time order.

    ``topics`` names them; by default a topic containing one of :data:`OUTREACH_WORDS` (any case).
    """
    if "topic" not in interactions.columns:
        return interactions.iloc[0:0][["customer_id", "timestamp"]].assign(channel=pd.Series(dtype=str),
                                                                             topic=pd.Series(dtype=str))
    topic = interactions["topic"].astype("string").str.strip()
    if topics is None:
        low = topic.str.lower()
        keep = np.zeros(len(topic), dtype=bool)
        for word in OUTREACH_WORDS:
            keep |= low.str.contains(word, regex=False).fillna(False).to_numpy(dtype=bool)
    else:
        keep = topic.isin([str(t).strip() for t in topics]).fillna(False).to_numpy(dtype=bool)
    channel = (interactions["channel"].astype("string").fillna("unknown") if "channel" in interactions.columns
               else pd.Series("unknown", index=interactions.index, dtype="string"))
    out = pd.DataFrame({"customer_id": interactions["customer_id"], "timestamp": interactions["timestamp"],
                        "channel": channel.astype(str), "topic": topic.astype(str)}).loc[keep]
    out = out.dropna(subset=["customer_id", "timestamp"])
    return out.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)


class _Purchases:
    """Every customer's purchase times, searchable: did customer i buy in (start, end]?"""

    def __init__(self, orders: pd.DataFrame):
        buys = orders.loc[~orders["is_return"].to_numpy(dtype=bool) & orders["customer_id"].notna().to_numpy(),
                          ["customer_id", "order_date"]]
        self.codes = pd.Index(pd.unique(buys["customer_id"].astype(str)))
        self.keys = np.sort(self._key(buys["customer_id"].astype(str).to_numpy(), buys["order_date"].to_numpy()))

    def _key(self, customer: np.ndarray, when: np.ndarray) -> np.ndarray:
        code = self.codes.get_indexer(customer).astype(np.int64)  # -1: never bought
        secs = ((when.astype("datetime64[ns]") - np.datetime64("1970-01-01", "ns")) // _SECOND).astype(np.int64)
        return (code + 1) * (1 << 34) + secs

    def bought(self, customer: np.ndarray, start: np.ndarray, days: int) -> np.ndarray:
        """Per row: a purchase dated after ``start`` and at most ``days`` days after it."""
        customer = np.asarray(customer).astype(str)
        start = np.asarray(start).astype("datetime64[ns]")
        lo = np.searchsorted(self.keys, self._key(customer, start), "right")
        hi = np.searchsorted(self.keys, self._key(customer, start + days * _DAY), "right")
        return hi > lo


# ------------------------------------------------------------------------------------------
# The panel: contacted and comparison customer-months with their features
# ------------------------------------------------------------------------------------------

def _month_panel(orders: pd.DataFrame, contacts: pd.DataFrame, month: pd.Period, *, interactions, customers,
                 categories: list[str]) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """One month: features of the active customers at its start, and their first contact in it (if any)."""
    start = month.start_time
    snapshot = start - pd.Timedelta(seconds=1)  # the month's list is drawn from what was known before it
    try:
        X, _labels = customer_examples(orders, snapshot, interactions=interactions, customers=customers,
                                 categories=categories, active_days=ACTIVE_DAYS, horizon_days=None)
    except ValueError:  # no purchase yet by then: nobody to compare
        return None
    in_month = contacts[(contacts["timestamp"] >= start) & (contacts["timestamp"] <= month.end_time)]
    first = in_month.drop_duplicates("customer_id", keep="first").set_index("customer_id")
    return X, first.reindex(X.index.astype(str))


def _with_month(X: pd.DataFrame, month: pd.Period) -> pd.DataFrame:
    return X.assign(_month=str(month))


# ------------------------------------------------------------------------------------------
# The estimator
# ------------------------------------------------------------------------------------------

class ContactEffect(BaseEstimator):
    """Effect of a contact on purchase within ``window_days``, by channel and topic (IPW, effect on the contacted).

    ``fit(orders, interactions, customers, cutoff)`` takes notebook 01's cleaned tables
    (``interactions`` and ``customers`` may be None) and the report month's end.
    """

    def __init__(self, window_days: int = WINDOW_DAYS, seed: int = 42, n_boot: int = N_BOOT, months: int = MONTHS,
                 topics: Sequence[str] | None = None, min_contacts: int = MIN_CONTACTS, level: float = LEVEL):
        self.window_days = window_days
        self.seed = seed
        self.n_boot = n_boot
        self.months = months
        self.topics = topics
        self.min_contacts = min_contacts
        self.level = level

    # -- fitting -------------------------------------------------------------------------------

    def fit(self, orders: pd.DataFrame, interactions: pd.DataFrame | None, customers: pd.DataFrame | None,
            cutoff: pd.Timestamp) -> "ContactEffect":
        from crm_utils.notebook import date, number  # the run's language formats them (imports matplotlib: late)

        self._check_params()
        cutoff = pd.Timestamp(cutoff)
        self.cutoff_ = cutoff
        self.assumption_ = _(ASSUMPTION)
        self.effects_ = pd.DataFrame({c: pd.Series(dtype=float if c in _FIGURES else object) for c in EFFECT_COLUMNS})
        if interactions is None or not len(interactions):
            return self._nothing("no interactions table",
                                 _("No interactions table: what contacts did cannot be measured; a plan can only "
                                   "rest on stated assumptions."))
        contacts = outreach_contacts(interactions, self.topics)
        if not len(contacts):
            # The topic words are the data's own (matched in the data's language), quoted as they are.
            message = (_("The interactions table holds no contact by the shop under the topics given: "
                         "customer-initiated contacts are not treatments, so no effect is measured.")
                       if self.topics is not None else
                       _("The interactions table holds no contact by the shop under a topic naming outreach "
                         "({words}, ...): customer-initiated contacts are not treatments, so no effect is "
                         "measured.").format(words=", ".join(OUTREACH_WORDS[:6])))
            return self._nothing("no outreach contacts", message)
        rows = self._panel(orders, interactions, customers, contacts, cutoff)
        if rows is None:
            return self._nothing("no outreach contacts",
                                 _("No outreach contact in the {months} months before {cutoff} has its "
                                   "{days}-day window inside the data.").format(
                                     months=self.months, cutoff=date(cutoff), days=self.window_days))
        X, info = rows
        self.panel_ = info
        effects = []
        for channel in sorted(info.loc[info["contacted"], "channel"].unique()):
            effects.append(self._estimate(X, info, channel, ALL))
            topics = sorted(info.loc[info["contacted"] & (info["channel"] == channel), "topic"].unique())
            if len(topics) > 1:
                effects += [self._estimate(X, info, channel, t) for t in topics]
        self.effects_ = pd.DataFrame(effects, columns=EFFECT_COLUMNS)
        self.status_ = "measured"
        measured = self.effects_[(self.effects_["topic"] == ALL) & self.effects_["effect"].notna()]
        self.message_ = _("{measured} of {channels} channels measured on {contacts} contacts in {months} months "
                          "(purchase within {days} days, against comparable customers not contacted).").format(
            measured=len(measured), channels=int((self.effects_["topic"] == ALL).sum()),
            contacts=number(int(info["contacted"].sum())), months=info["month"].nunique(), days=self.window_days)
        return self

    def _check_params(self) -> None:
        if not (isinstance(self.window_days, (int, np.integer)) and self.window_days > 0):
            raise ValueError(f"window_days must be a positive whole number of days, got {self.window_days!r}")
        if not (0 < self.level < 1):
            raise ValueError(f"level must lie between 0 and 1, got {self.level!r}")
        if self.n_boot < 20:
            raise ValueError(f"n_boot must be at least 20 for a percentile interval, got {self.n_boot!r}")

    def _nothing(self, status: str, message: str) -> "ContactEffect":
        self.status_, self.message_ = status, message
        self.panel_ = None
        return self

    def _panel(self, orders, interactions, customers, contacts, cutoff) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """Stacked customer-months: features (X) and who/when/channel/outcome (info), aligned by row."""
        rng = np.random.default_rng([self.seed, 21])
        purchases = _Purchases(orders)
        categories = sorted(orders["category"].dropna().astype(str).unique()) if "category" in orders else None
        full = contacts["timestamp"] + pd.Timedelta(days=self.window_days) <= cutoff
        contacts = contacts.assign(full=full.to_numpy())
        last = cutoff.to_period("M")
        xs, infos = [], []
        for month in pd.period_range(last - self.months + 1, last, freq="M"):
            got = _month_panel(orders, contacts, month, interactions=interactions, customers=customers,
                               categories=categories)
            if got is None:
                continue
            X, first = got
            contacted = first["timestamp"].notna().to_numpy()
            full_window = first["full"].eq(True).to_numpy(dtype=bool)
            keep_t = contacted & full_window
            if not keep_t.any():
                continue
            ids = X.index.astype(str).to_numpy()
            t_info = pd.DataFrame({"customer_id": ids[keep_t], "month": str(month), "contacted": True,
                                   "channel": first["channel"].to_numpy()[keep_t],
                                   "topic": first["topic"].to_numpy()[keep_t],
                                   "when": first["timestamp"].to_numpy()[keep_t]})
            t_info["bought"] = purchases.bought(t_info["customer_id"], t_info["when"], self.window_days)
            xs.append(_with_month(X[keep_t], month))
            infos.append(t_info)
            # Comparison: active, not contacted that month; one dated copy per channel contacted that month.
            comp = ~contacted
            for channel, g in t_info.groupby("channel", sort=True):
                dates = rng.choice(g["when"].to_numpy(), int(comp.sum()))
                c_info = pd.DataFrame({"customer_id": ids[comp], "month": str(month), "contacted": False,
                                       "channel": channel, "topic": "", "when": dates})
                c_info["bought"] = purchases.bought(c_info["customer_id"], c_info["when"], self.window_days)
                xs.append(_with_month(X[comp], month))
                infos.append(c_info)
        if not infos:
            return None
        X = pd.concat(xs, ignore_index=True)
        info = pd.concat(infos, ignore_index=True)
        return X, info

    # -- one effect ----------------------------------------------------------------------------

    def _estimate(self, X: pd.DataFrame, info: pd.DataFrame, channel: str, topic: str) -> dict:
        """The effect of one channel (all its topics, or one) with its interval and diagnostics."""
        sel_t = info["contacted"].to_numpy() & (info["channel"] == channel).to_numpy()
        if topic != ALL:
            sel_t &= (info["topic"] == topic).to_numpy()
        sel_c = ~info["contacted"].to_numpy() & (info["channel"] == channel).to_numpy()
        rows = np.flatnonzero(sel_t | sel_c)
        t = sel_t[rows]
        y = info["bought"].to_numpy(dtype=float)[rows]
        row = {"channel": channel, "topic": topic, "n_contacted": int(t.sum()), "n_comparison": int((~t).sum())}
        naive = y[t].mean() - y[~t].mean() if (~t).any() else np.nan
        row.update(base_rate=np.nan, effect=np.nan, ci_low=np.nan, ci_high=np.nan, naive=naive, ess=np.nan,
                   trimmed=np.nan, note="")
        if t.sum() < self.min_contacts:
            row["note"] = _("too few contacts (n < {minimum})").format(minimum=self.min_contacts)
            return row
        if not (~t).any():
            row["note"] = _("no comparison customers (everyone active was contacted)")
            return row
        Z = _design(X.iloc[rows])
        model = LogisticRegression(solver="newton-cholesky", max_iter=100).fit(Z, t)
        e = model.predict_proba(Z)[:, 1]
        effect, base, ess, trimmed = _ipw(y, t, e, np.ones(len(y)))
        row.update(base_rate=base, effect=effect, ess=ess, trimmed=trimmed)
        if ess < MIN_ESS:
            row.update(base_rate=np.nan, effect=np.nan,
                       note=_("contacted and comparison customers hardly overlap (effective comparison size "
                              "{ess} < {minimum})").format(ess=f"{ess:.0f}", minimum=MIN_ESS))
            return row
        row["ci_low"], row["ci_high"] = self._bootstrap(e, y, t, info["customer_id"].to_numpy()[rows])
        return row

    def _bootstrap(self, e: np.ndarray, y: np.ndarray, t: np.ndarray, customer: np.ndarray) -> tuple[float, float]:
        """Percentile interval over customer resamples (a customer's months drawn together).

        The propensities stay those of the fit: refitting the model in every replicate cost minutes
        on a shop of 10,000 customers, and treating estimated propensities as known errs on the wide
        side for inverse-propensity estimates (Hirano, Imbens & Ridder 2003).
        """
        rng = np.random.default_rng([self.seed, 2101])
        codes, uniq = pd.factorize(customer)
        draws = []
        for _draw in range(self.n_boot):
            weight = np.bincount(rng.integers(0, len(uniq), len(uniq)), minlength=len(uniq))[codes].astype(float)
            if (weight[t] > 0).any() and (weight[~t] > 0).any():
                draws.append(_ipw(y, t, e, weight)[0])
        alpha = (1 - self.level) / 2
        return float(np.quantile(draws, alpha)), float(np.quantile(draws, 1 - alpha))

    # -- reading -------------------------------------------------------------------------------

    def effect_of(self, channel: str, topic: str = ALL) -> float | None:
        """The measured effect of ``channel`` (and ``topic``), or None where none was measured."""
        e = self.effects_
        hit = e[(e["channel"] == channel) & (e["topic"] == topic)]
        if not len(hit) or pd.isna(hit["effect"].iloc[0]):
            return None
        return float(hit["effect"].iloc[0])


def shown(effects: pd.DataFrame) -> pd.DataFrame:
    """:attr:`ContactEffect.effects_` as notebook 07 shows it: headers, the channels the catalogue
    knows and the "all topics" row in the current language (topics are the data's own words and the
    notes are already in the run's language). In English the table is returned as it is."""
    from crm_utils.contacts.plan import channel_label

    out = effects.copy()
    out["channel"] = out["channel"].map(channel_label)
    out["topic"] = out["topic"].map(lambda t: _(SHOWN_WORDS[ALL]) if t == ALL else t)
    return out.rename(columns=lambda c: _(SHOWN_WORDS.get(c, c)))


#: Headers of :func:`shown` (the artifact keeps :data:`EFFECT_COLUMNS`), and the "all topics" row.
SHOWN_WORDS = {"channel": N_("channel"), "topic": N_("topic"), "n_contacted": N_("n_contacted"),
               "n_comparison": N_("n_comparison"), "base_rate": N_("base_rate"), "effect": N_("effect"),
               "ci_low": N_("ci_low"), "ci_high": N_("ci_high"), "naive": N_("naive"), "ess": N_("ess"),
               "trimmed": N_("trimmed"), "note": N_("note"), ALL: N_("all")}

_FIGURES = {"n_contacted", "n_comparison", "base_rate", "effect", "ci_low", "ci_high", "naive", "ess", "trimmed"}


def _design(X: pd.DataFrame) -> np.ndarray:
    """The propensity model's inputs: need prediction's features, log-scaled and standardised, and the month."""
    features = X.drop(columns="_month")
    scaled = StandardScaler().fit_transform(LogSkewed().fit_transform(features).fillna(0.0))
    months = pd.get_dummies(X["_month"], drop_first=True, dtype=float).to_numpy()
    return np.hstack([scaled, months])


def _ipw(y: np.ndarray, t: np.ndarray, e: np.ndarray, weight: np.ndarray) -> tuple[float, float, float, int]:
    """Effect on the contacted, the weighted comparison rate, its effective size and how many weights were capped.

    ``weight`` holds bootstrap multiplicities (1 for the estimate itself).
    """
    capped = e > MAX_PROPENSITY
    e = np.minimum(e, MAX_PROPENSITY)
    w = weight * e / (1 - e)
    wc = w[~t]
    base = float((wc * y[~t]).sum() / wc.sum())
    treated = float((weight[t] * y[t]).sum() / weight[t].sum())
    ess = float(wc.sum() ** 2 / (wc ** 2).sum())
    return treated - base, base, ess, int(capped[~t].sum())
