"""The behaviour: what one chunk of customers does over the window, before any dirt.

:func:`behave` runs the steps below on the chunk's one random stream, always in this order
(the order of the draws is part of the output's identity: the same seed gives the same bytes):

1. **people** - persona, satisfaction archetype, region, city, channel, age, gender, sign-up
   (30% before the window, the rest arriving at a rate growing 30% a year), churn (a hazard
   from persona x archetype), names, e-mails and phone numbers;
2. **orders** - order days thinned from each persona's daily intensity, a first order soon
   after each sign-up inside the window, order lines with category and product, quantities,
   prices (event discounts, ~3% a year of drift) and later returns (the planted product
   affinities' extra lines come from :func:`plant_affinities`, drawn on a stream of their own);
3. **interactions** - service contacts, and notes that voice a need for a category days
   before the customer buys it (or, for some, never does);
4. **surveys** - answered after 6% of orders, following the customer's archetype.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_utils.synth.text import format_ids, format_phone
from crm_utils.synth.world import (AFFINITY_STREAM, ARCHETYPES, CATEGORIES, CATEGORY_NAMES, CHANNELS,
                                   INTERACTION_CHANNELS, PERSONAS, SURVEY_ITEMS, ChunkSpec, World, email_local,
                                   names, phones)


@dataclass(frozen=True)
class _Job:
    """What every behaviour step needs: the chunk's random stream, the world, where the chunk sits."""

    rng: np.random.Generator
    world: World
    spec: ChunkSpec


def choice_cum(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: one index per row of a cumulative-probability matrix."""
    u = rng.random(cum.shape[0])[:, None]
    return np.minimum((u > cum).sum(1), cum.shape[1] - 1)


def choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    """``n`` indices drawn with the given (unnormalised) weights."""
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum())


# --------------------------------------------------------------------------------------------
# People
# --------------------------------------------------------------------------------------------


@dataclass
class Phones:
    """Each customer's national number, calling code and the export style it was written in."""

    nsn: np.ndarray
    calling: np.ndarray
    style: np.ndarray  # 0 international, 1 national, 2 00-prefixed (see format_phone)


@dataclass
class People:
    """One chunk's customers as drawn; indices point into the world's tables."""

    numbers: np.ndarray
    customer_id: np.ndarray
    persona: np.ndarray  # index into PERSONAS
    archetype: np.ndarray  # index into ARCHETYPES
    region: np.ndarray  # index into the locale's regions
    city: np.ndarray
    channel: np.ndarray
    birth_year: np.ndarray
    gender: np.ndarray
    signup_off: np.ndarray  # sign-up, in days after the window's start (negative: before it)
    last_day_off: np.ndarray  # days after the start at which the customer stops buying
    first: np.ndarray
    last: np.ndarray
    email: np.ndarray
    phones: Phones


@dataclass
class Activity:
    """The days each customer can buy on: from ``a`` to ``b`` (calendar indices) if ``active``."""

    a: np.ndarray
    b: np.ndarray
    active: np.ndarray
    span: np.ndarray  # number of active days (0 if never active inside the window)

    @classmethod
    def of(cls, people: People, n_days: int) -> "Activity":
        a = np.clip(people.signup_off, 0, None)  # active from signup (or window start)
        b = np.clip(people.last_day_off, None, n_days - 1)
        active = b >= a
        return cls(a, b, active, np.where(active, b - a + 1, 0))


def _draw_lifetimes(job: _Job, persona: np.ndarray, archetype: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Sign-up and last buying day, in days after the window's start.

    Signups: 30% existed before the window (over the two years before it), the rest arrive
    inside it at a rate growing 30% a year (the business's growth). Churn: geometric lifetime
    in months, hazard from persona x satisfaction archetype.
    """
    rng, cfg, n = job.rng, job.world.cfg, len(persona)
    window_days = (cfg.end_ts - cfg.start_ts).days + 1
    pre = rng.random(n) < 0.30
    growth = np.log(1.3) / 365.25
    u = rng.random(n)
    inside = np.log1p(u * np.expm1(growth * window_days)) / growth
    signup_off = np.where(pre, -rng.integers(1, 730, n), np.floor(inside)).astype(int)
    hazard = np.array([PERSONAS[p].monthly_churn for p in persona]) * \
        np.array([ARCHETYPES[a].churn_multiplier for a in archetype])
    life_days = np.ceil(rng.exponential(30.44 / np.clip(hazard, 1e-6, None))).astype(int)
    return signup_off, signup_off + life_days


def _draw_emails(rng: np.random.Generator, first: np.ndarray, last: np.ndarray, numbers: np.ndarray) -> np.ndarray:
    """first.last<number>@ one of a few example domains."""
    local = email_local(first, last, numbers)
    domains = np.array(["example.com", "example.org", "example.net", "mail.example", "post.example"],
                       dtype=object)
    return np.char.add(np.char.add(local.astype(str), "@"),
                       domains[rng.integers(0, len(domains), len(numbers))].astype(str)).astype(object)


def _draw_people(job: _Job) -> People:
    """Who the chunk's customers are: type, place, age, lifetime and contact details."""
    rng, spec, n = job.rng, job.spec, job.spec.size
    regions = job.world.locale.regions
    numbers = np.arange(spec.first_number, spec.first_number + n)
    persona = choice(rng, n, [p.share for p in PERSONAS])
    archetype = choice(rng, n, [a.share for a in ARCHETYPES])
    region = choice(rng, n, [spec_["share"] for spec_ in regions.values()])
    city_idx = rng.integers(0, 5, n)
    city = np.array([spec_["cities"] for spec_ in regions.values()], dtype=object)[region, city_idx]
    channel = np.empty(n, dtype=object)
    for pi, p in enumerate(PERSONAS):
        m = persona == pi
        channel[m] = np.array(CHANNELS, dtype=object)[choice(rng, int(m.sum()), p.channel_weights)]
    ages = np.array([PERSONAS[p].mean_age for p in persona]) + rng.normal(0, 10, n)
    birth_year = (job.world.cfg.end_ts.year - np.clip(np.round(ages), 18, 90)).astype(int)
    gender = np.array(["F", "M", "X"], dtype=object)[choice(rng, n, [0.52, 0.46, 0.02])]
    signup_off, last_day_off = _draw_lifetimes(job, persona, archetype)
    first, last = names(rng, region, regions)
    # Names not in Latin letters: the e-mail address from romanized names (drawn only then).
    efirst, elast = names(rng, region, regions, romanized=True) if job.world.locale.romanized_email else (first, last)
    email = _draw_emails(rng, efirst, elast, numbers)
    nsn, calling = phones(rng, region, regions)
    style = rng.integers(0, 3, n)
    return People(numbers, format_ids("C", numbers, 7), persona, archetype, region, city, channel,
                  birth_year, gender, signup_off, last_day_off, first, last, email, Phones(nsn, calling, style))


def _people_frames(world: World, people: People) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The customers table as exported, and its ground truth (persona, archetype, churn)."""
    start = world.cfg.start_ts
    window_days = (world.cfg.end_ts - start).days + 1
    signup = start + pd.to_timedelta(people.signup_off, unit="D")
    churn_date = pd.Series(start + pd.to_timedelta(people.last_day_off, unit="D"))
    churn_date[people.last_day_off > window_days - 1] = pd.NaT
    cust_id = people.customer_id
    ph = people.phones
    customers = pd.DataFrame({
        "customer_id": cust_id, "name": world.locale.full_names(people.first, people.last),
        "email": people.email, "phone": format_phone(ph.nsn, ph.calling, ph.style), "signup_date": signup.values,
        "region": np.array(world.locale.region_names, dtype=object)[people.region], "city": people.city,
        "channel": people.channel, "gender": people.gender, "birth_year": people.birth_year.astype(float),
    })
    truth = pd.DataFrame({
        "customer_id": cust_id, "canonical_id": cust_id,
        "persona": np.array([p.name for p in PERSONAS], dtype=object)[people.persona],
        "satisfaction_archetype": np.array([x.name for x in ARCHETYPES], dtype=object)[people.archetype],
        "is_test_account": False, "signup_date": signup.values, "churn_date": churn_date.values,
    })
    return customers, truth


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


@dataclass
class Orders:
    """A chunk's orders (one entry per order) and their numeric lines, returns included."""

    cust: np.ndarray  # per order: index into the chunk's customers
    day: np.ndarray  # per order: calendar day index
    line_order: np.ndarray  # per line (before returns): index of its order
    line_cat: np.ndarray  # per line (before returns): index into CATEGORY_NAMES
    lines: pd.DataFrame  # numeric order lines, returns included (text is rendered after the dirt)
    is_return: np.ndarray  # per row of ``lines``


@dataclass
class _OrderHeads:
    """One entry per order, sorted by day then customer: customer, calendar day, time, order number."""

    cust: np.ndarray
    day: np.ndarray
    time: np.ndarray
    number: np.ndarray


def _draw_order_heads(job: _Job, people: People, act: Activity) -> _OrderHeads:
    """Who orders on which day (thinned from each persona's daily intensity), at what time of day."""
    rng, cal = job.rng, job.world.calendar
    order_cust, order_day = [], []
    for pi, p in enumerate(PERSONAS):
        inten = cal.intensity(p)  # (regions, days)
        peak = inten.max()
        m = np.flatnonzero((people.persona == pi) & act.active)
        if not len(m):
            continue
        # Thinning: candidates at the peak rate, accepted in proportion to the day's intensity.
        lam = p.orders_per_month / 30.44 * peak / inten.mean() * act.span[m]
        k = rng.poisson(lam)
        ci = np.repeat(m, k)
        day = act.a[ci] + np.floor(rng.random(len(ci)) * act.span[ci]).astype(int)
        keep = rng.random(len(ci)) < inten[people.region[ci], day] / peak
        order_cust.append(ci[keep])
        order_day.append(day[keep])
    # Acquisition: a customer who signs up inside the window places a first order within a week.
    newc = np.flatnonzero((people.signup_off >= 0) & act.active)
    first_day = np.minimum(people.signup_off[newc] + rng.integers(0, 7, len(newc)), act.b[newc])
    order_cust.append(newc)
    order_day.append(first_day)
    o_cust = np.concatenate(order_cust)
    o_day = np.concatenate(order_day)
    o_sort = np.lexsort((o_cust, o_day))
    o_cust, o_day = o_cust[o_sort], o_day[o_sort]
    n_orders = len(o_cust)
    seconds = (np.clip(rng.normal(19.5, 3.5, n_orders), 0, 23.99) * 3600).astype(int)
    o_time = cal.days.values[o_day] + (seconds * 1_000_000_000).astype("timedelta64[ns]")
    return _OrderHeads(o_cust, o_day, o_time, job.spec.order_offset + np.arange(1, n_orders + 1))


def _draw_products(job: _Job, l_persona: np.ndarray, l_day: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Category (by persona and season) and product (by popularity and price taste) of each line."""
    l_cat = np.empty(len(l_day), dtype=int)
    l_prod = np.empty(len(l_day), dtype=int)
    for pi, p in enumerate(PERSONAS):
        m = np.flatnonzero(l_persona == pi)
        if not len(m):
            continue
        cum = job.world.calendar.category_probs(p)[l_day[m]]
        l_cat[m] = choice_cum(job.rng, cum)
        prods = job.world.catalogue.product_cum(p)
        for ci, (idx, pcum) in prods.items():
            mm = m[l_cat[m] == ci]
            if len(mm):
                l_prod[mm] = idx[np.minimum(np.searchsorted(pcum, job.rng.random(len(mm))), len(idx) - 1)]
    return l_cat, l_prod


def _draw_lines(job: _Job, people: People, heads: _OrderHeads) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Order lines: products, quantities and prices. Returns the lines, each line's order and category."""
    rng, cal, cat = job.rng, job.world.calendar, job.world.catalogue
    n_lines_per = 1 + rng.poisson(0.8, len(heads.cust))
    li = np.repeat(np.arange(len(heads.cust)), n_lines_per)
    l_cust = heads.cust[li]
    l_day = heads.day[li]
    l_cat, l_prod = _draw_products(job, people.persona[l_cust], l_day)
    # One line per product within an order (a repeated product is one line with more units).
    first_of_pair = ~pd.Series(li.astype(np.int64) * len(cat.product_id) + l_prod).duplicated().to_numpy()
    li, l_cust, l_day, l_cat, l_prod = (x[first_of_pair] for x in (li, l_cust, l_day, l_cat, l_prod))
    extra = np.array([CATEGORIES[c]["extra_units"] for c in CATEGORY_NAMES])[l_cat]
    qty = 1 + rng.poisson(extra)
    event_day = cal.event_boost[l_day] > 1.4
    discount = np.where(event_day, 0.8, 1.0)
    # Prices drift up ~3% a year.
    years_in = l_day / 365.25
    price = np.round(cat.price[l_prod] * discount * (1.03 ** years_in), 2)

    # Order lines stay numeric (indices and codes) until they are written: text is rendered once,
    # with Arrow, after the dirt is in (see dirt.render_orders).
    lines = pd.DataFrame({
        "cust": l_cust.astype(np.int64),  # index into this chunk's customers; -1 missing, -2 unknown
        "unknown_id": np.zeros(len(li), np.int64),
        "prefix": np.zeros(len(li), np.int8),  # 0 order, 1 return, 2 test-account order
        "onum": heads.number[li].astype(np.int64),
        "order_date": heads.time[li],
        "prod": l_prod.astype(np.int64),
        "cat": l_cat.astype(np.int64),  # -1 missing
        "quantity": qty.astype(float),
        "unit_price": price,
    })
    return lines, li, l_cat


def _add_returns(job: _Job, lines: pd.DataFrame, l_day: np.ndarray, l_cat: np.ndarray) -> pd.DataFrame:
    """Returns: a later line with negative quantity for a share of lines, by category; sorted by date."""
    rng, days = job.rng, job.world.calendar.days
    n_days = len(days)
    ret_rate = np.array([CATEGORIES[c]["returns"] for c in CATEGORY_NAMES])[l_cat]
    r = np.flatnonzero(rng.random(len(l_cat)) < ret_rate)
    r_day = l_day[r] + rng.integers(3, 30, len(r))
    r = r[r_day < n_days]
    r_day = r_day[r_day < n_days]
    returns = lines.iloc[r].copy()
    returns["prefix"] = np.int8(1)
    returns["order_date"] = days.values[r_day] + (
        rng.integers(9 * 3600, 18 * 3600, len(r)) * 1_000_000_000).astype("timedelta64[ns]")
    returns["quantity"] = -returns["quantity"]
    lines = pd.concat([lines, returns], ignore_index=True)
    order = np.lexsort((lines["prefix"].to_numpy(), lines["onum"].to_numpy(),
                        lines["order_date"].to_numpy().view(np.int64)))
    return lines.iloc[order].reset_index(drop=True)


def _draw_orders(job: _Job, people: People, act: Activity) -> Orders:
    """When the customers order, at what time of day, what is on each order and what comes back."""
    heads = _draw_order_heads(job, people, act)
    lines, li, l_cat = _draw_lines(job, people, heads)
    lines = _add_returns(job, lines, heads.day[li], l_cat)
    return Orders(heads.cust, heads.day, li, l_cat, lines, lines["quantity"].to_numpy() < 0)


def plant_affinities(world: World, spec: ChunkSpec, lines: pd.DataFrame) -> pd.DataFrame:
    """The planted affinities' extra lines (numeric, as ``lines``): an order holding an affinity's first
    product gets its second with the stated probability (never a second line of a product it holds),
    at the first's date and customer, quantity 1 and the second's list price under the same discount
    and drift. Drawn from the affinities' own stream; the writer appends them after the chunk's dirt,
    so every other table and every dirty row stays as it was."""
    rng = np.random.default_rng([world.cfg.seed, spec.index, AFFINITY_STREAM])
    sale = lines["prefix"].to_numpy() == 0  # orders only: not returns, not test-account copies
    prod, onum = lines["prod"].to_numpy(), lines["onum"].to_numpy()
    cat = world.catalogue
    added = [lines.iloc[:0]]
    for row in cat.affinities().itertuples():
        a_rows = np.flatnonzero(sale & (prod == row.antecedent_index))
        draw = rng.random(len(a_rows)) < row.probability  # one draw per line holding the first product
        holds_b = np.isin(onum[a_rows], onum[sale & (prod == row.consequent_index)])
        new = lines.iloc[a_rows[draw & ~holds_b]].copy()
        factor = new["unit_price"].to_numpy() / cat.price[row.antecedent_index]  # the line's discount x drift
        new["prod"] = np.int64(row.consequent_index)
        new["cat"] = np.int64(cat.category[row.consequent_index])
        new["quantity"] = 1.0
        new["unit_price"] = np.round(cat.price[row.consequent_index] * factor, 2)
        added.append(new)
    return pd.concat(added, ignore_index=True)


# --------------------------------------------------------------------------------------------
# Interactions
# --------------------------------------------------------------------------------------------


@dataclass
class Contacts:
    """Interactions before they are sorted: customer, day, topic, note and voiced need."""

    cust: np.ndarray
    day: np.ndarray
    topic: np.ndarray
    note: np.ndarray
    need: np.ndarray  # category name, or None for a service contact


def _draw_service_contacts(rng: np.random.Generator, act: Activity, service_notes: dict[str, list[str]]) -> Contacts:
    """Service contacts: ~one every eight active months, on a random active day (notes in the locale's words)."""
    svc_rate = act.span / 30.44 / 8
    k = rng.poisson(svc_rate)
    s_cust = np.repeat(np.arange(len(act.span)), k)
    s_day = act.a[s_cust] + np.floor(rng.random(len(s_cust)) * act.span[s_cust]).astype(int)
    topics = list(service_notes)
    s_topic = rng.integers(0, len(topics), len(s_cust))
    s_note = np.array([service_notes[t] for t in topics], dtype=object)[
        s_topic, rng.integers(0, 3, len(s_cust))]
    return Contacts(s_cust, s_day, np.array(topics, dtype=object)[s_topic], s_note,
                    np.full(len(s_cust), None, dtype=object))


def _draw_needs(rng: np.random.Generator, people: People, act: Activity,
                orders: Orders) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Customer, day and category of each voiced need.

    Before a quarter of orders (1-14 days ahead, the category of the order's first line),
    plus as many again as 20% of those voiced by customers who then do not buy.
    """
    first_line = np.searchsorted(orders.line_order, np.arange(len(orders.cust)))  # every order keeps its first line
    need_orders = np.flatnonzero(rng.random(len(orders.cust)) < 0.25)
    n_cat = orders.line_cat[first_line[need_orders]]
    n_day = orders.day[need_orders] - rng.integers(1, 15, len(need_orders))
    ok = n_day >= 0
    n_cust, n_cat, n_day = orders.cust[need_orders][ok], n_cat[ok], n_day[ok]
    # Unfulfilled needs: at random active days.
    k2 = int(len(n_cust) * 0.2)
    cand = np.flatnonzero(act.active)
    u_cust = rng.choice(cand, k2) if len(cand) and k2 else np.array([], int)
    u_day = act.a[u_cust] + np.floor(rng.random(len(u_cust)) * act.span[u_cust]).astype(int)
    u_cat = np.zeros(len(u_cust), int)
    for pi, p in enumerate(PERSONAS):
        m = people.persona[u_cust] == pi
        u_cat[m] = choice(rng, int(m.sum()), p.category_weights)
    return np.concatenate([n_cust, u_cust]), np.concatenate([n_day, u_day]), np.concatenate([n_cat, u_cat])


def _draw_need_contacts(rng: np.random.Generator, people: People, act: Activity, orders: Orders,
                        locale) -> Contacts:
    """Product questions whose note names an item of the category the customer needs (in the locale's words)."""
    need_items, templates = locale.need_items, locale.need_templates
    need_cust, need_day, need_cat = _draw_needs(rng, people, act, orders)
    tmpl = rng.integers(0, len(templates), len(need_cust))
    n_items = np.array([len(need_items[c]) for c in CATEGORY_NAMES])
    item_j = rng.integers(0, 1 << 30, len(need_cust)) % n_items[need_cat]
    width = n_items.max()
    phrase = np.array([[t.format(item=need_items[c][j % len(need_items[c])]) for c in CATEGORY_NAMES
                        for j in range(width)] for t in templates], dtype=object)
    return Contacts(need_cust, need_day, np.full(len(need_cust), "product_question", dtype=object),
                    phrase[tmpl, need_cat * width + item_j], np.array(CATEGORY_NAMES, dtype=object)[need_cat])


def _draw_interactions(job: _Job, people: People, act: Activity, orders: Orders) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The interactions table, sorted by time, and its truth (the category each note voices)."""
    rng = job.rng
    locale = job.world.locale
    svc = _draw_service_contacts(rng, act, locale.service_notes)
    need = _draw_need_contacts(rng, people, act, orders, locale)
    i_cust = np.concatenate([svc.cust, need.cust])
    i_day = np.concatenate([svc.day, need.day])
    i_secs = rng.integers(8 * 3600, 21 * 3600, len(i_cust))
    i_time = job.world.calendar.days.values[i_day] + (i_secs * 1_000_000_000).astype("timedelta64[ns]")
    i_order = np.lexsort((i_cust, i_time))
    n_int = len(i_order)
    interactions = pd.DataFrame({
        "interaction_id": format_ids("I", job.spec.interaction_offset + np.arange(1, n_int + 1), 9),
        "customer_id": people.customer_id[i_cust[i_order]],
        "timestamp": i_time[i_order],
        "channel": np.array(INTERACTION_CHANNELS, dtype=object)[
            choice(rng, n_int, [0.35, 0.35, 0.25, 0.05])],
        "topic": np.concatenate([svc.topic, need.topic])[i_order],
        "note": np.concatenate([svc.note, need.note])[i_order],
        "outcome": np.array(["resolved", "pending", "escalated"], dtype=object)[
            choice(rng, n_int, [0.8, 0.12, 0.08])],
    })
    truth = pd.DataFrame({"interaction_id": interactions["interaction_id"],
                          "need_category": np.concatenate([svc.need, need.need])[i_order]})
    return interactions, truth


# --------------------------------------------------------------------------------------------
# Surveys
# --------------------------------------------------------------------------------------------


def _draw_surveys(job: _Job, people: People, orders: Orders) -> pd.DataFrame:
    """6% of orders trigger a survey answered 2-10 days later, following the customer's archetype."""
    rng, days = job.rng, job.world.calendar.days
    n_days = len(days)
    sv = np.flatnonzero(rng.random(len(orders.cust)) < 0.06)
    sv_day = orders.day[sv] + rng.integers(2, 11, len(sv))
    sv = sv[sv_day < n_days]
    sv_day = sv_day[sv_day < n_days]
    sv_cust = orders.cust[sv]
    archetype = people.archetype[sv_cust]
    means = np.array([ARCHETYPES[a].item_means for a in archetype]).reshape(len(sv), len(SURVEY_ITEMS))
    items = np.clip(np.round(means + rng.normal(0, 0.6, means.shape)), 1, 5)
    overall = np.clip(np.round(items.mean(1) + rng.normal(0, 0.4, len(sv))), 1, 5)
    nps = np.clip(np.round(2.5 * items.mean(1) - 2.0 + rng.normal(0, 1.0, len(sv))), 0, 10)
    comments = np.array(job.world.locale.comments, dtype=object)[archetype, rng.integers(0, 5, len(sv))]
    no_comment = rng.random(len(sv)) < 0.35
    comments[no_comment] = ""
    s_order = np.lexsort((sv_cust, sv_day))
    return pd.DataFrame({
        "response_id": format_ids("S", job.spec.survey_offset + np.arange(1, len(sv) + 1), 8),
        "customer_id": people.customer_id[sv_cust[s_order]],
        "date": days.values[sv_day[s_order]],
        **{q: items[s_order, j] for j, q in enumerate(SURVEY_ITEMS)},
        "overall": overall[s_order],
        "nps": nps[s_order],
        "comment": comments[s_order],
    })


# --------------------------------------------------------------------------------------------
# One chunk
# --------------------------------------------------------------------------------------------


@dataclass
class Behaviour:
    """One chunk's clean tables, as its customers made them (orders still numeric lines)."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    surveys: pd.DataFrame
    truth_customers: pd.DataFrame
    truth_interactions: pd.DataFrame
    phones: Phones  # the dirt writes duplicates' numbers in another style
    is_return: np.ndarray  # per order line: the dirt leaves returns clean
    people: People | None = None  # as drawn: the outreach targets on them (crm_utils.synth.outreach)
    activity: Activity | None = None
    drawn_orders: Orders | None = None


def behave(rng: np.random.Generator, world: World, spec: ChunkSpec) -> Behaviour:
    """People, then orders, interactions and surveys of one chunk, all from ``rng`` in this order."""
    job = _Job(rng, world, spec)
    people = _draw_people(job)
    act = Activity.of(people, len(world.calendar.days))
    orders = _draw_orders(job, people, act)
    interactions, truth_interactions = _draw_interactions(job, people, act, orders)
    surveys = _draw_surveys(job, people, orders)
    customers, truth_customers = _people_frames(world, people)
    return Behaviour(customers, orders.lines, interactions, surveys, truth_customers, truth_interactions,
                     people.phones, orders.is_return, people, act, orders)
