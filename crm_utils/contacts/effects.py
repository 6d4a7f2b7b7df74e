"""What contacts did: the effect of a shop's outreach (by channel and topic) on purchase within a window.

Interface (agreed with :mod:`crm_utils.contacts.plan`, which reads the measured effects)::

    est = ContactEffect(window_days=30, seed=42).fit(orders, interactions, customers, cutoff)
    est.effects_     # one row per channel (topic "all") and per (channel, topic) where data allow
    est.status_      # "measured" | "no interactions table" | "no outreach contacts"
    est.message_     # one sentence: what was measured, or why nothing could be
    est.assumption_  # what makes the numbers causal (ASSUMPTION)
    est.effect_of("email")  # the channel's effect (share 0-1), or None when not measured

``effects_`` columns: channel, topic, n_contacted, n_comparison, base_rate, effect, ci_low,
ci_high, naive, ess, note. Effects are shares (0.05 = 5 percentage points); a channel with fewer
than ``MIN_CONTACTS`` measured contacts has NaN figures and the note "too few contacts".
"""

from __future__ import annotations

#: The window after a contact in which a purchase counts as its outcome (days).
WINDOW_DAYS = 30
#: Below this many measured contacts a channel (or topic) gets no figure: a purchase rate over fewer
#: than 100 contacts has a standard error of ~5 points, as large as the effects worth acting on.
MIN_CONTACTS = 100
