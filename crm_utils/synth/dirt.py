"""The dirt: what a real export does to clean tables, injected into one chunk and recorded row by row.

:func:`inject_dirt` runs these steps on the chunk's random stream, always in this order (the
order of the draws is part of the output's identity: the same seed gives the same bytes):

1. **duplicate customers** - a second record of the same person (e-mail differing in case or
   whitespace, phone in another format, name re-cased, later sign-up), and **test accounts**
   (first chunk only), with orders moved to or made for them;
2. **customers** - missing values, city spellings, sign-up dates in other formats or unreadable;
3. **orders** - on disjoint rows, so each has one expected outcome: unreadable dates, unknown or
   missing customer ids, invalid prices and quantities (quarantined by cleaning), bulk outliers,
   missing or re-spelled categories, other date formats (kept), then exact duplicate lines;
4. **interactions** - part of duplicates' contacts under the duplicate id, unreadable dates,
   unknown customers, contact details written into the note;
5. **surveys** - NPS outside 0-10, unknown respondents, contact details in comments, skipped answers.

Every dirty row is listed (table, row, kind) in the :class:`DirtLog`; row numbers refer to the
final tables.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_utils.synth.behaviour import Behaviour
from crm_utils.synth.locales import contact_text, locale_of
from crm_utils.synth.text import format_dates, format_ids, format_phone, strip_accents
from crm_utils.synth.world import CATEGORY_NAMES, SURVEY_ITEMS, Catalogue, ChunkSpec, DirtRates, SynthConfig, World


class DirtLog:
    """Records which rows got which dirt, choosing disjoint rows for quarantine-level dirt."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.rows: list[pd.DataFrame] = []

    def pick(self, n_rows: int, rate: float, taken: np.ndarray | None = None) -> np.ndarray:
        """``round(n_rows * rate)`` sorted rows at random, none of them ``taken`` (which then marks them)."""
        k = int(round(n_rows * rate))
        pool = np.arange(n_rows) if taken is None else np.flatnonzero(~taken)
        k = min(k, len(pool))
        chosen = np.sort(self.rng.choice(pool, size=k, replace=False)) if k else np.array([], int)
        if taken is not None:
            taken[chosen] = True
        return chosen

    def note(self, table: str, rows: np.ndarray, kind: str) -> None:
        if len(rows):
            self.rows.append(pd.DataFrame({"table": table, "row": np.asarray(rows, np.int64), "kind": kind}))

    def frame(self) -> pd.DataFrame:
        """Every recorded dirty row: table, row (within the chunk), kind."""
        if not self.rows:
            return pd.DataFrame({"table": [], "row": np.array([], np.int64), "kind": []})
        return pd.concat(self.rows, ignore_index=True)


@dataclass
class _Job:
    """What every dirt step needs: the chunk's random stream, the log of dirty rows and the config."""

    rng: np.random.Generator
    log: DirtLog
    cfg: SynthConfig

    @property
    def rates(self) -> DirtRates:
        return self.cfg.dirt


class _IdRange:
    """Customer ids handed out, in order, to the chunk's duplicates and test accounts."""

    def __init__(self, start: int):
        self.next = start

    def take(self, k: int) -> np.ndarray:
        ids = format_ids("C", np.arange(self.next, self.next + k), 7)
        self.next += k
        return ids.astype(object)


def _with_contact(rng: np.random.Generator, text: np.ndarray, rows: np.ndarray, phrases: tuple[str, ...]) -> np.ndarray:
    """Append a fake e-mail address or phone number to the free text of ``rows``, in the locale's ``phrases``."""
    out = text.copy()
    for i, r in enumerate(rows):
        digits = "".join(str(d) for d in rng.integers(0, 10, 9))
        contact = contact_text(phrases[i % len(phrases)], digits)
        out[r] = f"{out[r]} {contact}".strip()
    return out


def _case_variant(rng: np.random.Generator, values: np.ndarray) -> np.ndarray:
    """Same text, other spelling: changed case, stray whitespace or stripped accents."""
    out = np.empty(len(values), dtype=object)
    kinds = rng.integers(0, 4, len(values))
    for i, (v, k) in enumerate(zip(values, kinds)):
        if k == 0:
            out[i] = v.upper()
        elif k == 1:
            out[i] = v.lower()
        elif k == 2:
            out[i] = f"  {v} "
        else:
            stripped = strip_accents(v)
            out[i] = stripped if stripped != v else v.lower() + " "
    return out


# --------------------------------------------------------------------------------------------
# Duplicate customers and test accounts
# --------------------------------------------------------------------------------------------


@dataclass
class _Duplicates:
    """Second records of some customers: which rows they copy, their ids, rows and truth."""

    src: np.ndarray  # rows of the original records
    src_ids: np.ndarray  # the original records' ids
    ids: np.ndarray
    customers: pd.DataFrame
    truth: pd.DataFrame


def _duplicate_customers(job: _Job, ids: _IdRange, clean: Behaviour) -> _Duplicates:
    """A second record of the same person: e-mail differing in case or whitespace, phone in
    another format, name re-cased, a later sign-up."""
    rng, customers, ph = job.rng, clean.customers, clean.phones
    dup_src = job.log.pick(len(customers), job.rates.duplicate_customers)
    dups = customers.iloc[dup_src].copy()
    dup_ids = ids.take(len(dup_src))
    dups["customer_id"] = dup_ids
    em = dups["email"].to_numpy()
    style = rng.integers(0, 3, len(em))
    dups["email"] = np.where(style == 0, np.char.upper(em.astype(str)),
                             np.where(style == 1, np.char.add(" ", em.astype(str)),
                                      np.array([e[0].upper() + e[1:] + " " for e in em]))).astype(object)
    dups["phone"] = format_phone(ph.nsn[dup_src], ph.calling[dup_src], (ph.style[dup_src] + 1) % 3)
    nm = dups["name"].to_numpy()
    dups["name"] = np.where(rng.random(len(nm)) < 0.5, np.char.upper(nm.astype(str)),
                            np.char.replace(nm.astype(str), " ", "  ")).astype(object)
    later = dups["signup_date"] + pd.to_timedelta(rng.integers(30, 400, len(dups)), unit="D")
    dups["signup_date"] = later.where(later <= job.cfg.end_ts, job.cfg.end_ts)
    truth_dups = clean.truth_customers.iloc[dup_src].copy()
    truth_dups["customer_id"] = dup_ids
    truth_dups["signup_date"] = dups["signup_date"].values
    return _Duplicates(dup_src, customers["customer_id"].to_numpy()[dup_src], dup_ids, dups, truth_dups)


def _test_accounts(job: _Job, ids: _IdRange, n_test: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Staff and QA logins (rows and truth); they get orders of their own."""
    cfg = job.cfg
    region, city, phone = locale_of(cfg.locale).test_account_place
    test_ids = ids.take(n_test)
    test_names = np.array(["Test User", "QA Tester", "test account", "Demo Customer"], dtype=object)
    tests = pd.DataFrame({
        "customer_id": test_ids,
        "name": test_names[np.arange(n_test) % len(test_names)],
        "email": np.array([f"qa+{i}@test.example" if i % 2 else f"test{i}@example.com"
                           for i in range(n_test)], dtype=object),
        "phone": np.array([phone] * n_test, dtype=object),
        "signup_date": np.array([cfg.start_ts + pd.Timedelta(days=int(d)) for d in
                                 job.rng.integers(0, max(1, min(300, (cfg.end_ts - cfg.start_ts).days)), n_test)],
                                dtype="datetime64[ns]"),
        "region": region, "city": city, "channel": "organic_search",
        "gender": None, "birth_year": np.nan,
    })
    truth_tests = pd.DataFrame({"customer_id": test_ids, "canonical_id": test_ids, "persona": None,
                                "satisfaction_archetype": None, "is_test_account": True,
                                "signup_date": tests["signup_date"].values, "churn_date": pd.NaT})
    return tests, truth_tests


def _move_orders_to_duplicates(job: _Job, orders: pd.DataFrame, dups: _Duplicates, n: int,
                               is_return: np.ndarray) -> np.ndarray:
    """Lines after a duplicate's sign-up move to the duplicate id (70% of them); returns the moved rows."""
    o_cust = orders["cust"].to_numpy().copy()
    dup_of = np.full(n, -1)
    dup_of[dups.src] = np.arange(len(dups.src))
    cand = np.flatnonzero((dup_of[o_cust] >= 0) & ~is_return)
    after = orders["order_date"].to_numpy()[cand] >= dups.customers["signup_date"].to_numpy()[dup_of[o_cust[cand]]]
    move = cand[after & (job.rng.random(len(cand)) < 0.7)]
    o_cust[move] = n + dup_of[o_cust[move]]
    orders["cust"] = o_cust
    job.log.note("orders", move, "duplicate_customer_id")
    return move


def _add_test_orders(job: _Job, orders: pd.DataFrame, first_test: int, n_test: int) -> tuple[pd.DataFrame, np.ndarray]:
    """Copies of 8 random lines per test account, under test-order numbers; returns them and their rows.

    ``first_test`` is the customer row of the first test account.
    """
    if n_test:
        k = 8 * n_test
        pick = orders.iloc[np.sort(job.rng.choice(len(orders), min(k, len(orders)), replace=False))].copy()
        pick["cust"] = first_test + np.arange(len(pick)) % n_test
        pick["prefix"] = np.int8(2)
        pick["onum"] = np.arange(1, len(pick) + 1)
        pick["quantity"] = pick["quantity"].abs()
        orders = pd.concat([orders, pick], ignore_index=True)
    test_order_rows = np.flatnonzero(orders["cust"].to_numpy() >= first_test)
    job.log.note("orders", test_order_rows, "test_account")
    return orders, test_order_rows


# --------------------------------------------------------------------------------------------
# Customers
# --------------------------------------------------------------------------------------------


def _dirty_customer_fields(job: _Job, customers: pd.DataFrame, n: int) -> None:
    """Missing birth year, gender, city and channel; cities spelled otherwise (first ``n`` rows only)."""
    rates = job.rates
    for col, rate in [("birth_year", rates.missing_birth_year), ("gender", rates.missing_gender),
                      ("city", rates.missing_city), ("channel", rates.missing_channel)]:
        rows = job.log.pick(n, rate)
        customers.loc[rows, col] = np.nan if col == "birth_year" else None
        job.log.note("customers", rows, f"missing_{col}")
    city = customers["city"].to_numpy()
    rows = job.log.pick(n, rates.city_spelling)
    rows = rows[pd.notna(city[rows])]
    city[rows] = _case_variant(job.rng, city[rows])
    customers["city"] = city
    job.log.note("customers", rows, "city_spelling")


def _dirty_signup_dates(job: _Job, customers: pd.DataFrame, n: int, dup_src: np.ndarray) -> None:
    """Sign-up dates as text: ISO, three other formats, and a few unreadable (original rows only)."""
    nc = len(customers)
    c_real = np.zeros(nc, bool)
    c_real[n:] = True  # "taken": only original rows get other dirt, so outcomes stay unambiguous
    signup_str = format_dates(customers["signup_date"].to_numpy(), "%Y-%m-%d")
    no_bad_signup = c_real.copy()
    no_bad_signup[dup_src] = True  # with its sign-up unreadable, which record came first is unknowable
    bad_signup = job.log.pick(nc, job.rates.unparseable_signup_date, no_bad_signup)
    taken = c_real.copy()
    taken[bad_signup] = True
    fmt_rows = job.log.pick(nc, job.rates.signup_date_format, taken)
    alt = job.rng.integers(0, 3, len(fmt_rows))
    for j, fmt in enumerate(["%d.%m.%Y", "%Y/%m/%d", "%d %b %Y"]):
        sel = fmt_rows[alt == j]
        signup_str[sel] = format_dates(customers["signup_date"].to_numpy()[sel], fmt)
    signup_str[bad_signup] = np.array(["unknown", "31.02.2024", "0000-00-00", "n/a"],
                                      dtype=object)[np.arange(len(bad_signup)) % 4]
    customers["signup_date"] = signup_str
    customers["birth_year"] = customers["birth_year"].astype("Int64")
    job.log.note("customers", fmt_rows, "date_format")
    job.log.note("customers", bad_signup, "unparseable_signup_date")


# --------------------------------------------------------------------------------------------
# Orders
# --------------------------------------------------------------------------------------------


@dataclass
class OrderLines:
    """Numeric order lines as arrays the dirt edits, and dirty text to write over rendered columns."""

    cust: np.ndarray  # index into the chunk's customers; -1 missing, -2 unknown
    unknown_id: np.ndarray  # customer number written for an unknown customer
    prefix: np.ndarray  # 0 order, 1 return, 2 test-account order
    onum: np.ndarray
    order_date: np.ndarray
    prod: np.ndarray  # index into the catalogue
    cat: np.ndarray  # index into CATEGORY_NAMES; -1 missing
    quantity: np.ndarray  # float, NaN missing
    unit_price: np.ndarray
    text: dict[str, tuple[np.ndarray, np.ndarray]] = field(default_factory=dict)  # column -> (rows, text)

    @classmethod
    def of(cls, orders: pd.DataFrame) -> "OrderLines":
        return cls(cust=orders["cust"].to_numpy().copy(), unknown_id=orders["unknown_id"].to_numpy().copy(),
                   prefix=orders["prefix"].to_numpy(), onum=orders["onum"].to_numpy(),
                   order_date=orders["order_date"].to_numpy(), prod=orders["prod"].to_numpy(),
                   cat=orders["cat"].to_numpy().copy(), quantity=orders["quantity"].to_numpy().astype(float),
                   unit_price=orders["unit_price"].to_numpy().astype(float))


def _quarantined_lines(job: _Job, lines: OrderLines, taken: np.ndarray) -> None:
    """Lines cleaning must quarantine: unreadable date, unknown or missing customer, invalid price or quantity."""
    log, rates, no = job.log, job.rates, len(lines.cust)
    bad = log.pick(no, rates.unparseable_order_date, taken)
    lines.text["order_date"] = (bad, np.array(["not a date", "2025-13-45 10:00:00", "", "32.01.2025 09:00"],
                                              dtype=object)[np.arange(len(bad)) % 4])
    log.note("orders", bad, "unparseable_date")
    bad = log.pick(no, rates.unknown_customer, taken)
    lines.cust[bad] = -2
    lines.unknown_id[bad] = job.rng.integers(0, 10_000_000, len(bad))
    log.note("orders", bad, "unknown_customer")
    bad = log.pick(no, rates.missing_customer_id, taken)
    lines.cust[bad] = -1
    log.note("orders", bad, "missing_customer_id")
    bad = log.pick(no, rates.invalid_price, taken)
    lines.unit_price[bad] = np.where(np.arange(len(bad)) % 2 == 0, 0.0, -np.abs(lines.unit_price[bad]))
    log.note("orders", bad, "invalid_price")
    bad = log.pick(no, rates.invalid_quantity, taken)
    lines.quantity[bad] = np.where(np.arange(len(bad)) % 2 == 0, 0.0, np.nan)
    log.note("orders", bad, "invalid_quantity")


def _kept_dirty_lines(job: _Job, lines: OrderLines, taken: np.ndarray) -> None:
    """Lines cleaning keeps but must mend or flag: bulk outliers, missing or re-spelled category,
    dates in other formats."""
    rng, log, rates, no = job.rng, job.log, job.rates, len(lines.cust)
    rows = log.pick(no, rates.bulk_outlier, taken)
    lines.quantity[rows] = rng.integers(60, 400, len(rows))
    log.note("orders", rows, "bulk_outlier")
    rows = log.pick(no, rates.missing_category, taken)
    lines.cat[rows] = -1
    log.note("orders", rows, "missing_category")
    rows = log.pick(no, rates.category_spelling, taken)
    lines.text["category"] = (rows, _case_variant(rng, np.array(CATEGORY_NAMES, dtype=object)[lines.cat[rows]]))
    log.note("orders", rows, "category_spelling")
    rows = log.pick(no, rates.order_date_format, taken)
    alt = rng.integers(0, 2, len(rows))
    date_bad = lines.text["order_date"]
    fmt_rows, fmt_text = [date_bad[0]], [date_bad[1]]
    for j, fmt in enumerate(["%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S"]):
        sel = rows[alt == j]
        fmt_rows.append(sel)
        fmt_text.append(format_dates(lines.order_date[sel], fmt))
    lines.text["order_date"] = (np.concatenate(fmt_rows), np.concatenate(fmt_text))
    log.note("orders", rows, "date_format")


def render_orders(lines: OrderLines, customer_ids: pd.Series, catalogue: Catalogue) -> pd.DataFrame:
    """Numeric order lines as the export's text columns (Arrow-backed), with dirty text put in."""
    n_lines = len(lines.cust)
    cust = np.asarray(lines.cust)
    cust_ids = pc.take(pa.array(customer_ids.astype(str).to_numpy()), pa.array(cust, mask=cust < 0))
    unknown = cust == -2
    if unknown.any():
        cust_ids = pc.replace_with_mask(cust_ids, pa.array(unknown),
                                        pa.array(format_ids("C9", np.asarray(lines.unknown_id)[unknown], 7)))
    prefix = pc.take(pa.array(["O", "R", "T"]), pa.array(np.asarray(lines.prefix)))
    padded = pc.utf8_lpad(pc.cast(pa.array(np.asarray(lines.onum)), pa.string()), width=9, padding="0")
    cat = np.asarray(lines.cat)
    cols = {
        "order_id": pc.binary_join_element_wise(prefix, padded, ""),
        "customer_id": cust_ids,
        "order_date": pa.array(format_dates(lines.order_date, "%Y-%m-%d %H:%M:%S", arrow=True)),
        "product_id": pc.take(pa.array(catalogue.product_id.astype(str)), pa.array(np.asarray(lines.prod))),
        "category": pc.take(pa.array(CATEGORY_NAMES), pa.array(cat, mask=cat < 0)),
    }
    for col, (rows, values) in lines.text.items():
        if len(rows):
            mask = np.zeros(n_lines, bool)
            mask[rows] = True
            order = np.argsort(rows, kind="stable")  # replace_with_mask fills in row order
            cols[col] = pc.replace_with_mask(cols[col], pa.array(mask),
                                             pa.array(np.asarray(values, dtype=object)[order], pa.string()))
    out = pd.DataFrame({k: pd.arrays.ArrowStringArray(pa.chunked_array([v])) for k, v in cols.items()})
    q = np.asarray(lines.quantity)
    missing = np.isnan(q)
    out["quantity"] = pd.arrays.IntegerArray(np.where(missing, 0, q).astype(np.int64), missing)
    out["unit_price"] = np.asarray(lines.unit_price)
    return out


def _dirty_orders(job: _Job, orders: pd.DataFrame, taken: np.ndarray, customer_ids: pd.Series,
                  catalogue: Catalogue) -> pd.DataFrame:
    """Row-level problems on disjoint rows (not ``taken``), each with one expected outcome; the
    lines rendered as text; exact duplicate lines appended at the end (the export repeated them)."""
    no = len(orders)
    lines = OrderLines.of(orders)
    _quarantined_lines(job, lines, taken)
    _kept_dirty_lines(job, lines, taken)
    orders = render_orders(lines, customer_ids, catalogue)
    rows = job.log.pick(no, job.rates.exact_duplicate, taken)
    orders = pd.concat([orders, orders.iloc[rows]], ignore_index=True)
    job.log.note("orders", np.arange(no, no + len(rows)), "exact_duplicate")
    return orders


# --------------------------------------------------------------------------------------------
# Interactions and surveys
# --------------------------------------------------------------------------------------------


def _dirty_interactions(job: _Job, interactions: pd.DataFrame, dups: _Duplicates) -> pd.DataFrame:
    """Duplicates' contacts partly under the duplicate id; bad dates; unknown ids; contacts in notes."""
    rng, log, rates = job.rng, job.log, job.rates
    ni = len(interactions)
    src_to_dup = dict(zip(dups.src_ids, dups.ids))
    i_cid = interactions["customer_id"].to_numpy().copy()
    cand = np.flatnonzero(pd.Series(i_cid).isin(src_to_dup).to_numpy())
    dup_signup = pd.Series(dups.customers["signup_date"].to_numpy(), index=dups.ids)
    after = interactions["timestamp"].to_numpy()[cand] >= \
        pd.Series(i_cid[cand]).map(src_to_dup).map(dup_signup).to_numpy()
    move = cand[after & (rng.random(len(cand)) < 0.5)]
    i_cid[move] = pd.Series(i_cid[move]).map(src_to_dup).to_numpy()
    log.note("interactions", move, "duplicate_customer_id")
    taken = np.zeros(ni, bool)
    taken[move] = True
    ts = format_dates(interactions["timestamp"].to_numpy(), "%Y-%m-%dT%H:%M:%S")
    bad = log.pick(ni, rates.interaction_unparseable_date, taken)
    ts[bad] = "yesterday"
    log.note("interactions", bad, "unparseable_date")
    bad = log.pick(ni, rates.interaction_unknown_customer, taken)
    i_cid[bad] = format_ids("C9", rng.integers(0, 10_000_000, len(bad)), 7)
    log.note("interactions", bad, "unknown_customer")
    interactions = interactions.assign(customer_id=i_cid, timestamp=ts)
    rows = log.pick(ni, rates.contact_in_text, taken)
    interactions["note"] = _with_contact(rng, interactions["note"].to_numpy(), rows,
                                         locale_of(job.cfg.locale).contact_phrases)
    log.note("interactions", rows, "contact_in_text")
    return interactions


def _dirty_surveys(job: _Job, surveys: pd.DataFrame) -> pd.DataFrame:
    """NPS outside 0-10, unknown respondents, contacts in comments, skipped answers."""
    rng, log, rates = job.rng, job.log, job.rates
    ns = len(surveys)
    taken = np.zeros(ns, bool)
    bad = log.pick(ns, rates.survey_nps_out_of_range, taken)
    nps = surveys["nps"].to_numpy().copy()
    nps[bad] = np.where(np.arange(len(bad)) % 2 == 0, 11, -1)
    log.note("surveys", bad, "nps_out_of_range")
    bad = log.pick(ns, rates.survey_unknown_customer, taken)
    s_cid = surveys["customer_id"].to_numpy().copy()
    s_cid[bad] = format_ids("C9", rng.integers(0, 10_000_000, len(bad)), 7)
    log.note("surveys", bad, "unknown_customer")
    rows = log.pick(ns, rates.contact_in_text, taken)
    surveys = surveys.assign(nps=nps, customer_id=s_cid,
                             date=format_dates(surveys["date"].to_numpy(), "%Y-%m-%d"),
                             comment=_with_contact(rng, surveys["comment"].to_numpy(), rows,
                                                   locale_of(job.cfg.locale).contact_phrases))
    log.note("surveys", rows, "contact_in_text")
    item_block = surveys[SURVEY_ITEMS].to_numpy()
    miss = rng.random(item_block.shape) < rates.survey_missing_answer
    item_block[miss] = np.nan
    surveys[SURVEY_ITEMS] = item_block
    log.note("surveys", np.flatnonzero(miss.any(1)), "missing_answer")
    for col in SURVEY_ITEMS + ["overall", "nps"]:
        surveys[col] = surveys[col].astype("Int64")
    return surveys


# --------------------------------------------------------------------------------------------
# One chunk
# --------------------------------------------------------------------------------------------


@dataclass
class DirtyChunk:
    """One chunk's tables as exported (dirt in, orders as text) and its customers' ground truth."""

    customers: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    surveys: pd.DataFrame
    truth_customers: pd.DataFrame  # with duplicates and test accounts; canonical_id names the original


def inject_dirt(log: DirtLog, world: World, spec: ChunkSpec, clean: Behaviour) -> DirtyChunk:
    """Add realistic dirt to a chunk and record every dirty row in ``log`` (whose stream it draws from)."""
    job = _Job(log.rng, log, world.cfg)
    ids = _IdRange(spec.extra_id_start)
    n = len(clean.customers)
    dups = _duplicate_customers(job, ids, clean)
    n_test = job.rates.test_accounts if spec.index == 0 else 0  # test accounts only in the first chunk
    tests, truth_tests = _test_accounts(job, ids, n_test)
    moved = _move_orders_to_duplicates(job, clean.orders, dups, n, clean.is_return)
    orders, test_order_rows = _add_test_orders(job, clean.orders, n + len(dups.ids), n_test)

    customers = pd.concat([clean.customers, dups.customers, tests], ignore_index=True)
    truth = pd.concat([clean.truth_customers, dups.truth, truth_tests], ignore_index=True)
    log.note("customers", np.arange(n, n + len(dups.ids)), "duplicate_customer")
    log.note("customers", np.arange(n + len(dups.ids), len(customers)), "test_account")
    _dirty_customer_fields(job, customers, n)
    _dirty_signup_dates(job, customers, n, dups.src)

    taken = np.zeros(len(orders), bool)
    taken[test_order_rows] = True
    taken[moved] = True  # rows re-assigned to a duplicate id carry no other dirt
    taken[np.flatnonzero(clean.is_return)] = True  # returns stay clean
    orders = _dirty_orders(job, orders, taken, customers["customer_id"], world.catalogue)
    interactions = _dirty_interactions(job, clean.interactions, dups)
    surveys = _dirty_surveys(job, clean.surveys)

    truth["canonical_id"] = truth["customer_id"].map(dict(zip(dups.ids, dups.src_ids))).fillna(truth["customer_id"])
    return DirtyChunk(customers, orders, interactions, surveys, truth)
