"""From raw tables to trusted ones, accounting for every row.

Each raw row ends in exactly one place, so for every table

    rows in = rows kept + rows quarantined + duplicates merged + rows held back

*Held back* rows are dated after the report month: they are valid but not yet "known" for
this report (zero when the data ends with the report month). They are set aside first, so that
no later step looks at them; a database source does the same in its query and only counts them.
*Quarantined* rows break a row rule and are kept, with their reason, in the quarantine table.
*Merged* rows are exact duplicate lines and duplicate customer records folded into their
canonical record.

:class:`CleaningRun` performs the steps one at a time so the cleaning notebook can show each;
:func:`clean` runs them all, in the same order, for the pipeline and the tests.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from crm_utils.coverage import data_end as data_coverage_end
from crm_utils.config import month_end, parse_month
from crm_utils.data import privacy
from crm_utils.data.io import MALFORMED, TEXT, RawTable, coerce, search
from crm_utils.data.reasons import table_label
from crm_utils.data.schema import CONTRACTS, ContractError, row_failures
from crm_utils.i18n import N_, NC_, _, pgettext

OUTCOMES = ("kept", "quarantined", "merged", "held_back")

#: A customer is a test account when a whole word of the name, or the start of the e-mail's
#: local part, or its domain, says test/QA/demo. Override per data set with ``test_account_rules``.
TEST_ACCOUNT_RULES = {
    "name": r"(?i)\b(?:test|tester|qa|demo|dummy)\b",
    "email": r"(?i)^\s*(?:test|qa|demo|dummy)(?:[0-9+._-]|@)|@(?:test|demo)\.|\.(?:test|invalid)\s*$",
}
GENDER_MAP = {"f": "F", "female": "F", "w": "F", "woman": "F", "frau": "F", "femme": "F",
              "m": "M", "male": "M", "man": "M", "mann": "M", "homme": "M",
              "x": "X", "d": "X", "diverse": "X", "other": "X", "non-binary": "X", "nonbinary": "X"}
UNKNOWN = "unknown"
#: The keys that link duplicate customer records, as the deduplication summary names them.
SAME_KEY = {"email": N_("same email"), "phone+name": N_("same phone+name")}
#: The free-text columns, where customers' own names are masked too.
FREE_TEXT = (("interactions", "note"), ("surveys", "comment"))


class LedgerError(RuntimeError):
    """The row ledger does not balance: a bug, never a data problem."""


@dataclass
class CleanResult:
    tables: dict[str, pd.DataFrame]
    quarantine: pd.DataFrame
    ledger: pd.DataFrame
    quarantine_by_reason: pd.DataFrame
    fixes: pd.DataFrame
    id_map: pd.Series  # duplicate customer_id -> canonical customer_id
    cutoff: pd.Timestamp
    key_source: str = ""
    absent: list[str] = field(default_factory=list)  # contract tables the data does not have
    #: order lines merged as exact duplicates: lines, revenue, revenue_share (``merge_exact_duplicates``)
    merged_duplicates: dict = field(default_factory=dict)
    #: surveys columns left out that look like answers on a scale (``io.RawTable.scale_like_columns``)
    undeclared_survey_items: list[str] = field(default_factory=list)

    def notes(self) -> list[str]:
        """What a reader of the figures must be told about how the order lines were counted."""
        out = []
        if self.merged_duplicates.get("lines"):
            out.append(duplicate_note(self.merged_duplicates))
        if "orders" in self.tables:
            guests = guest_lines(self.tables["orders"])
            if guests["guest_lines"]:
                out.append(guest_note(guests))
        return out

    def metrics(self) -> dict:
        """Headline figures of the cleaning step for metrics.json."""
        led = self.ledger.set_index("table")
        out = {"cutoff": str(self.cutoff.date()),
               "tables": {t: {k: int(led.loc[t, k]) for k in ("rows_in",) + OUTCOMES} for t in led.index},
               "quarantined_by_reason": {f"{r.table}.{r.reason}": int(r.rows)
                                         for r in self.quarantine_by_reason.itertuples()},
               "duplicate_customers_merged": int(len(self.id_map)),
               "tables_absent": list(self.absent)}
        if self.undeclared_survey_items:  # notebook 09 names them: answers are never dropped without a word
            out["surveys_undeclared_scale_columns"] = list(self.undeclared_survey_items)
        if "orders" in self.tables:
            o = self.tables["orders"]
            out["orders_first_date"] = str(o["order_date"].min().date())
            out["orders_last_date"] = str(o["order_date"].max().date())
            if len(o):
                # How far the data reach into the report month: a partial month is refused by the
                # runner unless asked for, and then every comparison is made on the same days.
                end = data_coverage_end(o["order_date"], self.cutoff)
                out["data_end"] = str(end.date())
                out["month_complete"] = bool(end >= self.cutoff.normalize())
            out["outlier_lines_flagged"] = int(o["is_outlier"].sum())
            out.update(guest_lines(o))
        if self.merged_duplicates.get("lines"):  # none merged: no figures (a 0/0 share would be NaN)
            out.update({f"merged_duplicate_{k}": v for k, v in self.merged_duplicates.items()})
        return out


def guest_lines(orders: pd.DataFrame) -> dict:
    """Kept order lines without a customer id (guest sales): how many, and their revenue and its
    share of all revenue. They are sales (in revenue, orders, units); customer-level figures leave
    them out."""
    guest = orders["customer_id"].isna().to_numpy() if "customer_id" in orders.columns else np.ones(len(orders), bool)
    revenue = orders["line_revenue"].to_numpy(dtype=float)
    total = float(revenue.sum())
    return {"guest_lines": int(guest.sum()), "guest_revenue": round(float(revenue[guest].sum()), 2),
            "guest_revenue_share": float(revenue[guest].sum()) / total if total else float("nan")}


def guest_note(guests: dict) -> str:
    """The sentence notebook 01 prints about guest lines (``guest_lines``'s figures)."""
    from crm_utils.notebook import number, percent

    return _("{lines} kept order line(s) have no customer id (guest sales, {revenue} revenue, {share} of all): "
             "they count in revenue, orders and units; customer-level figures (active customers, cohorts, "
             "segments, propensity) leave them out.").format(
        lines=number(guests["guest_lines"]), revenue=number(guests["guest_revenue"], 2),
        share=percent(guests["guest_revenue_share"]))


#: What :func:`duplicate_note` says was done with the repeated lines (codes: each has its own
#: whole sentence, with and without the share of revenue).
MERGED = "were merged"
MERGED_AT_EVERY_RUN = "are merged at every run"
_DUPLICATE_SENTENCES = {
    (MERGED, True): N_("{lines} order line(s) repeat another line exactly (same order, product, price, quantity "
                       "and date) and were merged: {revenue} revenue, {share} of the lines' revenue."),
    (MERGED, False): N_("{lines} order line(s) repeat another line exactly (same order, product, price, quantity "
                        "and date) and were merged: {revenue} revenue."),
    (MERGED_AT_EVERY_RUN, True): N_("{lines} order line(s) repeat another line exactly (same order, product, price, "
                                    "quantity and date) and are merged at every run: {revenue} revenue, {share} of "
                                    "the lines' revenue."),
    (MERGED_AT_EVERY_RUN, False): N_("{lines} order line(s) repeat another line exactly (same order, product, "
                                     "price, quantity and date) and are merged at every run: {revenue} revenue."),
}


def duplicate_note(merged: dict, done: str = MERGED) -> str:
    """The sentences that say order lines were (``done``: :data:`MERGED` or
    :data:`MERGED_AT_EVERY_RUN`) merged as exact duplicates and how to keep them."""
    from crm_utils.notebook import number, percent

    share = merged.get("revenue_share") is not None
    if (done, share) not in _DUPLICATE_SENTENCES:
        raise ValueError(f"duplicate_note: done must be {MERGED!r} or {MERGED_AT_EVERY_RUN!r}, got {done!r}")
    first = _(_DUPLICATE_SENTENCES[done, share]).format(
        lines=number(merged["lines"]), revenue=number(merged["revenue"], 2),
        share=percent(merged["revenue_share"]) if share else "")
    return first + " " + _("The contract has no line number, so a repeated export line and a second item of the "
                           "same product in one order look the same; if the export has one line per item (no item "
                           "number), these are real sales: set `exact_duplicates: keep` for orders in the mapping.")


def _norm_key(s: pd.Series) -> pd.Series:
    """Spelling-insensitive key: accents stripped, case-folded, whitespace collapsed."""
    return privacy.normalise_name(s)


def canonical_spelling(s: pd.Series, within: pd.Series | None = None) -> pd.Series:
    """Replace each value by the most frequent spelling of its normalised key (per ``within`` group)."""
    codes, uniques = pd.factorize(s.astype(TEXT), use_na_sentinel=True)
    if len(uniques) == 0:  # nothing to unify in an all-missing column
        return s.astype(TEXT)
    if within is None:
        return _canonical_spelling_of_values(s, codes, uniques)
    ukeys = _norm_key(pd.Series(uniques, dtype=TEXT)).to_numpy()
    key = pd.Series(np.where(codes >= 0, ukeys[np.maximum(codes, 0)], None), index=s.index, dtype=TEXT)
    frame = pd.DataFrame({"v": s.astype(TEXT), "k": key})
    frame["g"] = within.astype(TEXT).fillna("") if within is not None else ""
    ok = frame["v"].notna() & frame["k"].notna()
    counts = (frame[ok].assign(v=frame.loc[ok, "v"].str.strip())
              .groupby(["g", "k", "v"], observed=True).size().rename("n").reset_index()
              .sort_values(["g", "k", "n", "v"], ascending=[True, True, False, True]))
    best = counts.drop_duplicates(["g", "k"]).set_index(["g", "k"])["v"]
    idx = pd.MultiIndex.from_frame(frame.loc[ok, ["g", "k"]])
    out = frame["v"].copy()
    out.loc[ok] = best.reindex(idx).to_numpy()
    return out


def _canonical_spelling_of_values(s: pd.Series, codes: np.ndarray, uniques) -> pd.Series:
    """``canonical_spelling`` without groups, worked out on the distinct values and their counts:
    a category column of tens of millions of lines has a few dozen spellings."""
    values = pd.Series(uniques, dtype=TEXT)
    counts = np.bincount(codes[codes >= 0], minlength=len(values))
    keys = _norm_key(values)
    ok = keys.notna().to_numpy()
    table = (pd.DataFrame({"k": keys[ok].to_numpy(), "v": values[ok].str.strip().to_numpy(), "n": counts[ok]})
             .astype({"k": TEXT, "v": TEXT})
             .groupby(["k", "v"], observed=True)["n"].sum().rename("n").reset_index()
             .sort_values(["k", "n", "v"], ascending=[True, False, True]))
    best = table.drop_duplicates("k").set_index("k")["v"]
    # Each distinct value's replacement: its key's best spelling, or itself when it has no key.
    replacement = values.copy()
    replacement[ok] = best.reindex(keys[ok]).to_numpy()
    picked = pc.take(_arrow(replacement, combine=True), pa.array(codes, mask=codes < 0))
    return pd.Series(pd.arrays.ArrowStringArray(picked), index=s.index, dtype=TEXT)


def most_frequent_by(keys: pd.Series, values: pd.Series) -> pd.Series:
    """The most frequent value per key (ties: as ``value_counts``), indexed by key.

    Most products have one category: those are read off a count table of codes; only keys with
    several values are counted one by one.
    """
    kcode, kuniq = pd.factorize(keys, sort=True)
    vcode, vuniq = pd.factorize(values)
    if not len(vuniq):
        return pd.Series(dtype=object)
    known = (kcode >= 0) & (vcode >= 0)
    counts = np.bincount(kcode[known].astype(np.int64) * len(vuniq) + vcode[known],
                         minlength=len(kuniq) * len(vuniq)).reshape(len(kuniq), len(vuniq))
    distinct = (counts > 0).sum(axis=1)
    single = distinct == 1
    out = pd.Series(np.asarray(vuniq, dtype=object)[counts[single].argmax(axis=1)],
                    index=pd.Index(np.asarray(kuniq, dtype=object)[single]), dtype=object)
    several = np.asarray(kuniq, dtype=object)[distinct > 1]
    if len(several):
        rows = keys.isin(several).to_numpy()
        out = pd.concat([out, values[rows].groupby(keys[rows]).agg(lambda s: s.value_counts().index[0])])
    return out


def bulk_outliers(quantity: pd.Series, group: pd.Series, fence: float = 3.0) -> tuple[pd.Series, pd.Series]:
    """Flags and log-scale limits of the bulk-order rule (see ``CleaningRun.flag_outliers``)."""
    lq = np.log(quantity.abs().astype(float))
    # Quartiles of each group's values (Series.quantile, as a per-group transform would), then one
    # value per line looked up by the group's code: no copy of the lines per group.
    codes, names = pd.factorize(group)
    values = lq.to_numpy()
    order = np.argsort(codes, kind="stable")
    ends = np.cumsum(np.bincount(codes[codes >= 0], minlength=len(names)))
    starts = ends - np.bincount(codes[codes >= 0], minlength=len(names))
    skip = int((codes < 0).sum())  # lines without a group sort first and get no quartiles
    quartiles = np.full((len(names) + 1, 2), np.nan)
    for k in range(len(names)):
        members = pd.Series(values[order[skip + starts[k]:skip + ends[k]]])
        quartiles[k] = members.quantile(0.25), members.quantile(0.75)
    q1, q3 = quartiles[codes, 0], quartiles[codes, 1]  # code -1 reads the last row: NaN
    limit = pd.Series(q3 + fence * np.maximum(q3 - q1, np.log(2)), index=lq.index, name=lq.name)
    return lq > limit, limit


def _arrow(text: pd.Series, combine: bool = False):
    """The Arrow array behind an Arrow-backed text Series (in one piece when ``combine``)."""
    arr = text.array._pa_array
    return arr.combine_chunks() if combine and isinstance(arr, pa.ChunkedArray) else arr


def _keep_rows(df: pd.DataFrame, keep: np.ndarray) -> pd.DataFrame:
    """``df.loc[keep]``, built so that the table is never held twice: see ``_rebuild``."""
    return _rebuild(df, lambda values: values[keep], df.index[keep])


def _take_rows(df: pd.DataFrame, order: np.ndarray) -> pd.DataFrame:
    """``df.take(order)`` with a fresh RangeIndex, built as ``_keep_rows`` is."""
    return _rebuild(df, lambda values: values.take(order), pd.RangeIndex(len(order)))


#: Tables of at least this many rows are rebuilt releasing each column at once (a garbage
#: collection per column: noticeable on small tables, gigabytes on large ones).
LARGE_TABLE = 1_000_000


def _rebuild(df: pd.DataFrame, rows: Callable, index: pd.Index) -> pd.DataFrame:
    """A new table of ``rows(column)`` for every column of ``df``, which is emptied on the way.

    A row filter or re-ordering of tens of millions of lines would otherwise hold the old and the
    new table at once. Text (and other one-array) columns are copied and released one by one; the
    number columns, which pandas keeps side by side in blocks, are copied first and their blocks
    released together. The new table is assembled column by column, not stacked into blocks again.
    """
    columns = list(df.columns)
    extension = [c for c in columns if isinstance(df[c].dtype, pd.api.extensions.ExtensionDtype)]
    plain = [c for c in columns if c not in extension]
    large = len(df) >= LARGE_TABLE
    out = {c: rows(df[c].to_numpy()) for c in plain}
    df.drop(columns=plain, inplace=True)
    for c in extension:
        out[c] = rows(df[c].array)
        del df[c]
        if large:
            gc.collect()  # pandas' caches hold the column in a reference cycle: free it now, not later
    new = pd.DataFrame(index=index)
    for c in columns:
        new[c] = out.pop(c)
    return new


def _positions(index: pd.Index, labels: pd.Index) -> np.ndarray:
    """Positions of ``labels`` in ``index`` (a table's index: unique, and increasing until the
    customers are re-ordered), without a hash table over tens of millions of labels when it is sorted."""
    if index.is_monotonic_increasing:
        return np.searchsorted(index.to_numpy(), np.asarray(labels))
    return index.get_indexer(labels)


def _of_rows(values: pd.Series, index: pd.Index, mask: np.ndarray) -> pd.Series:
    """``values`` of the rows ``index`` (the rows under ``mask``): given for every row, or for some
    rows that include them."""
    return values[mask] if len(values) == len(mask) else values.reindex(index)


def exact_duplicates(df: pd.DataFrame, cols: list[str]) -> pd.Series:
    """``df.duplicated(subset=cols, keep="first")``, computed where it can be true only.

    Rows that differ in a column of numbers or dates, or in a text column of few distinct values
    (product, category), differ in all ``cols``: hashing those (text by its dictionary codes) leaves
    few candidates, and only those are compared on every column, instead of hashing tens of millions
    of strings.
    """
    key = []
    for c in cols:
        s = df[c]
        if pd.api.types.is_datetime64_any_dtype(s):
            key.append(s.to_numpy(dtype="datetime64[ns]").view(np.int64).astype(np.float64))
        elif pd.api.types.is_numeric_dtype(s):
            key.append(s.to_numpy(dtype=np.float64, na_value=np.nan))
        elif isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow" and _few_values(s):
            codes = pc.dictionary_encode(_arrow(s)).combine_chunks().indices
            key.append(pc.fill_null(codes, -1).to_numpy().astype(np.float64))
    if not key or len(key) == len(cols):
        return df.duplicated(subset=cols, keep="first")
    # One 64-bit mix of the key columns: equal rows get equal mixes (a collision only adds a candidate).
    mix = np.zeros(len(df), dtype=np.uint64)
    for values in key:
        bits = np.where(np.isnan(values), np.nan, values + 0.0).view(np.uint64)  # one NaN, and 0.0 == -0.0
        mix = (mix ^ bits) * np.uint64(0x9E3779B97F4A7C15)
        mix ^= mix >> np.uint64(29)
    candidate = pd.Series(mix).duplicated(keep=False).to_numpy()
    dup = np.zeros(len(df), dtype=bool)
    if candidate.any():
        dup[candidate] = df.loc[candidate].duplicated(subset=cols, keep="first").to_numpy()
    return pd.Series(dup, index=df.index)


def _merged_revenue(orders: pd.DataFrame, dup: np.ndarray, total: float | None = None) -> dict:
    """Lines about to be merged as exact duplicates, their revenue (readable quantities and prices
    only) and its share of ``total`` revenue; without ``total``, of all the lines as they stand.

    Only the merged lines' text is converted when ``total`` is given: on tens of millions of lines
    converting every quantity and price to find the total costs more than the cleaning step itself
    (the run passes the kept lines' typed revenue instead, :meth:`CleaningRun.finish`)."""
    def number(frame: pd.DataFrame, col: str) -> np.ndarray:  # typed numbers, or the text of an import
        return pd.to_numeric(frame[col], errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    picked = orders.loc[dup, ["quantity", "unit_price"]] if total is not None else orders
    revenue = np.nan_to_num(number(picked, "quantity") * number(picked, "unit_price"))
    merged = float(revenue.sum()) if total is not None else float(revenue[dup].sum())
    whole = (total + merged) if total is not None else float(revenue.sum())
    return {"lines": int(dup.sum()), "revenue": round(merged, 2),
            "revenue_share": merged / whole if whole else float("nan")}


def duplicate_lines(orders: pd.DataFrame) -> dict:
    """Order lines that repeat another line in every column (what ``merge_exact_duplicates`` merges
    unless the mapping says ``exact_duplicates: keep``): lines, revenue and revenue share. The
    importer uses it to say so before any run."""
    cols = [c for c in orders.columns if c not in ("_row", MALFORMED)]
    return _merged_revenue(orders, orders.duplicated(subset=cols, keep="first").to_numpy())


def _dictionary(text: pd.Series) -> pd.Series:
    """Arrow-backed text as a categorical of the same values (categories in order of appearance)."""
    encoded = pc.dictionary_encode(_arrow(text)).combine_chunks()
    codes = pc.fill_null(encoded.indices, -1).to_numpy().astype(np.int32)
    categories = pd.Index(pd.arrays.ArrowStringArray(encoded.dictionary.cast(pa.large_string())), dtype=TEXT)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories)), index=text.index,
                     name=text.name)


def _few_values(s: pd.Series, sample: int = 100_000, share: float = 0.05) -> bool:
    """Whether a text column has few distinct values, judged on its first rows."""
    head = s.iloc[:sample]
    return len(head) > 0 and head.nunique(dropna=False) <= share * len(head)


class CleaningRun:
    """The cleaning steps for one report month, run in order, with a ledger of every row."""

    STEPS = ("hold_back_after_cutoff", "merge_exact_duplicates", "validate_rows",
             "quarantine_test_accounts", "deduplicate_customers", "link_customers",
             "fix_values", "impute", "flag_outliers", "pseudonymise")

    def __init__(self, raw: dict[str, RawTable], report_month: str,
                 key: privacy.PseudonymKey | None = None,
                 test_account_rules: dict[str, str] | None = None):
        if "orders" not in raw:
            raise ValueError("an orders table is required")
        self.raw = raw
        self.report_month = report_month
        self.cutoff = month_end(report_month)
        self.next_month_start = (parse_month(report_month) + 1).start_time
        self.key = key
        self.test_account_rules = test_account_rules or TEST_ACCOUNT_RULES
        self.files = {t: r.origin for t, r in raw.items()}
        self.rows_read = {t: len(r.frame) for t, r in raw.items()}
        #: a database source leaves rows dated after the month in the database and only counts them
        self.at_source = {t: int(r.held_back_at_source) for t, r in raw.items()}
        self.rows_in = {t: self.rows_read[t] + self.at_source[t] for t in raw}
        coerced = {}
        #: per table, the columns as read (in file order) and those whose values coerce left as read
        self._raw_columns: dict[str, list[str]] = {}
        self._as_read: dict[str, set[str]] = {}
        self._records: dict[str, list[pd.Series]] = {t: [] for t in raw}
        for t, r in raw.items():
            if r.consumed_by:
                raise ValueError(f"the {t} table was taken over by an earlier cleaning run ({r.consumed_by}), "
                                 f"which kept only what it needs; load the tables again")
            coerced[t] = coerce(r)
            self._take_over(t, r, coerced[t].frame)
        self.tables = {t: c.frame for t, c in coerced.items()}
        if "customer_id" not in self.tables["orders"].columns:
            # An export without customers (a till's receipts): every line is a guest sale.
            self.tables["orders"]["customer_id"] = pd.Series(pd.NA, index=self.tables["orders"].index, dtype=TEXT)
        #: order lines merged as exact duplicates (see ``CleanResult.merged_duplicates``)
        self.merged_duplicates: dict = {}
        self.date_range = (self.tables["orders"]["order_date"].min(), self.tables["orders"]["order_date"].max())
        self.failed = {t: c.failed for t, c in coerced.items()}
        self._outcomes: list[pd.DataFrame] = []
        self._fixes: list[dict] = []
        self.id_map = pd.Series(dtype=TEXT, name="canonical_id")
        self.done: list[str] = []

    # -- bookkeeping ---------------------------------------------------------------------------

    def _take_over(self, table: str, raw: RawTable, typed: pd.DataFrame) -> None:
        """Keep of the table as read only the columns whose values coercion changed (dates and
        numbers written as text, text that had blanks or surrounding spaces) and those the mapping's
        rules read: the others equal the typed table's until a step changes them, and every row that
        goes to quarantine leaves before that happens, so its record is taken from the typed table.
        At tens of millions of lines this halves the memory of cleaning."""
        frame = raw.frame
        self._raw_columns[table] = list(frame.columns)
        ruled = {c for rule in raw.mapping.rules for c in rule["where"]}
        same = {c for c in frame.columns if c != "_row" and c not in ruled and c in typed.columns
                and typed[c].dtype == frame[c].dtype and typed[c].equals(frame[c])}
        self._as_read[table] = same
        # The table as read is numbered by position (``_row`` is 0, 1, 2, ...): that column goes too,
        # and text of few distinct values (categories as written) is held by its dictionary codes.
        kept = frame.drop(columns=sorted(same | {"_row"}))
        for c in kept.columns:
            if isinstance(kept[c].dtype, pd.StringDtype) and kept[c].dtype.storage == "pyarrow" and _few_values(kept[c]):
                kept[c] = _dictionary(kept[c])
        raw.frame = kept
        raw.consumed_by = f"report month {self.report_month}"

    def _step(self, name: str) -> None:
        expected = self.STEPS[len(self.done)] if len(self.done) < len(self.STEPS) else None
        if name != expected:
            raise RuntimeError(f"cleaning step '{name}' called out of order; next is '{expected}'")
        self.done.append(name)

    def _remove(self, table: str, mask: pd.Series, outcome: str, reason: pd.Series | str,
                detail: pd.Series | str | Callable[[pd.DataFrame], pd.Series] = "") -> int:
        """Take the rows under ``mask`` out of ``table`` and record where they went.

        ``reason`` and ``detail`` are one text for all, or a Series holding at least the removed
        rows; ``detail`` may also be a function of the removed rows, so that a detail is written
        for the few rows removed rather than for tens of millions kept.
        """
        df = self.tables[table]
        if not (mask.index is df.index or mask.index.equals(df.index)):
            mask = mask.reindex(df.index, fill_value=False)
        take = mask.to_numpy(dtype=bool, na_value=False)
        n = int(take.sum())
        if n:
            removed = df.loc[take]
            rec = pd.DataFrame({"table": table, "row": removed["_row"].to_numpy(), "outcome": outcome})
            rec["reason"] = _of_rows(reason, removed.index, take).to_numpy() if isinstance(reason, pd.Series) else reason
            if callable(detail):
                detail = detail(removed)
            rec["detail"] = (_of_rows(detail, removed.index, take).astype(TEXT).to_numpy()
                             if isinstance(detail, pd.Series) else detail)
            self._outcomes.append(rec)
            if outcome == "quarantined":
                self._records[table].append(self._record(table, removed))
            self.tables[table] = _keep_rows(df, ~take)
        return n

    def _fix(self, table: str, column: str, fix: str, rows: int) -> None:
        if rows:
            self._fixes.append({"table": table, "column": column, "fix": fix, "rows": int(rows)})

    def _rules(self, table: str, action: str) -> list[dict]:
        """The mapping's row rules of one kind ('quarantine' or 'set') for a table."""
        return [r for r in self.raw[table].mapping.rules if action in r]

    def _rule_hits(self, table: str, rule: dict, index: pd.Index) -> pd.Series:
        """Rows whose values, as read, contain every pattern of the rule's ``where``."""
        hit = pd.Series(True, index=index)
        for col, pattern in rule["where"].items():
            hit &= search(self._raw_value(table, col, index), pattern).to_numpy()
        return hit

    def _rule_detail(self, table: str, rule: dict, index: pd.Index) -> pd.Series:
        parts = [col + "=" + self._shown(table, col, self._raw_value(table, col, index)).fillna("")
                 for col in rule["where"]]
        out = parts[0]
        for p in parts[1:]:
            out = out + "; " + p
        return out

    def _raw_value(self, table: str, column: str, index: pd.Index) -> pd.Series:
        """The values as read of ``column`` for the rows ``index`` of the current table."""
        df = self.tables[table]
        # Rows found by position, not label: a label lookup would build (and keep) a hash table of
        # the whole table's index.
        at = slice(None) if index is df.index else _positions(df.index, index)
        if column in self._as_read[table]:  # unchanged since reading: the typed table holds them
            return df[column] if index is df.index else df[column].iloc[at].set_axis(index)
        raw = self.raw[table].frame
        if column not in raw.columns:
            return pd.Series("", index=index)
        rows = df["_row"].to_numpy()[at]
        # The raw table is numbered by _row from 0 (``io.shape_table``): positions, not labels.
        return raw[column].take(rows).set_axis(index)

    def _pseudonym_key(self) -> privacy.PseudonymKey:
        """The key, loaded when first needed (an id to hash before the pseudonymise step)."""
        if self.key is None:
            self.key = privacy.load_key()
        return self.key

    def _ids(self, values: pd.Series) -> pd.Series:
        """Ids as they may be shown and handed over: one that is an e-mail address or a phone
        number replaced by its keyed hash, the same in every table (see ``privacy.pseudonymise_ids``)."""
        return privacy.pseudonymise_ids(values, self._pseudonym_key)[0]

    def _shown(self, table: str, column: str, values: pd.Series) -> pd.Series:
        """Values of ``column`` as they may be shown in a quarantine detail or record: ids
        pseudonymised (``_ids``), e-mail addresses and phone numbers in anything else masked."""
        spec = CONTRACTS[table].column(column)
        text = values.astype(TEXT)
        if spec is not None and spec.kind == "id":
            return self._ids(text)
        return privacy.mask_free_text(text)[0]

    def _record(self, table: str, removed: pd.DataFrame) -> pd.Series:
        """The records as read of rows going to quarantine (JSON, personal data left out), by row.

        Personal columns are left out; ids that are e-mail addresses or phone numbers are
        pseudonymised, and e-mail addresses and phone numbers are masked in every other field (an
        address in a date column, a shifted field of a malformed line). The customer's own name is
        masked in the text fields: a customer record's in all its fields, an activity's by its
        customer's name while the customers table still has names."""
        contract = CONTRACTS[table]
        keep = [c for c in self._raw_columns[table] if c != "_row" and contract.column(c) is not None
                and c not in contract.pii_columns]
        rows = removed["_row"].to_numpy()
        raw = self.raw[table].frame
        rec = pd.DataFrame({c: (removed[c] if c in self._as_read[table] else raw[c].take(rows)).set_axis(rows)
                            for c in keep}, index=rows)
        owners, names = self._owners_and_names(table, removed)
        fields = {}
        for c in keep:
            text = pd.Series([None if pd.isna(v) else str(v) for v in rec[c]], index=rows, dtype=TEXT)
            text = self._shown(table, c, text)
            if names is not None and (table == "customers" or contract.column(c).kind == "text") \
                    and contract.column(c).kind != "id":
                text = privacy.mask_names(text, owners, names)[0]
            fields[c] = text.to_numpy(dtype=object, na_value=None)
        records = [json.dumps(dict(zip(keep, values)), ensure_ascii=False) for values in zip(*fields.values())] \
            if keep else ["{}"] * len(rows)
        return pd.Series(records, index=rows, dtype=object)

    def _owners_and_names(self, table: str, removed: pd.DataFrame) -> tuple[pd.Series | None, pd.Series | None]:
        """Whose each removed row is and their names (for ``privacy.mask_names``): a customer record
        is its own owner; an activity row is its customer's, named while the customers table has names."""
        if table == "customers":
            if "name" not in removed.columns:
                return None, None
            own = pd.Series(np.arange(len(removed)).astype(str), index=removed["_row"].to_numpy())
            return own, pd.Series(removed["name"].to_numpy(), index=own.to_numpy())
        c = self.tables.get("customers")
        if c is None or "name" not in c.columns or "customer_id" not in removed.columns:
            return None, None
        owners = pd.Series(removed["customer_id"].astype(TEXT).to_numpy(), index=removed["_row"].to_numpy())
        known = c[c["customer_id"].isin(owners.dropna().unique())]
        return owners, pd.Series(known["name"].to_numpy(), index=known["customer_id"].astype(TEXT).to_numpy())

    # -- steps ---------------------------------------------------------------------------------

    def hold_back_after_cutoff(self) -> pd.DataFrame:
        """Rows dated after the report month are not known yet at its end: hold them back, before
        any other step looks at them (a line repeated in next month's data is next month's business).

        A database source has already left them in the database (its query asks for rows up to the
        month's end only): those are counted in ``at_source`` and in the ledger's held back.
        """
        self._step("hold_back_after_cutoff")
        rows = []
        for t, df in self.tables.items():
            col = CONTRACTS[t].date_column
            n = 0
            if col in df.columns:
                n = self._remove(t, df[col] >= self.next_month_start, "held_back", "after_report_month",
                                 lambda rows, col=col: rows[col].dt.strftime("%Y-%m-%d"))
            row = {"table": t, "date_column": col, "held_back": n + self.at_source[t]}
            if any(self.at_source.values()):
                row["of which left in the database"] = self.at_source[t]
            rows.append(row)
        return pd.DataFrame(rows)

    def merge_exact_duplicates(self) -> pd.DataFrame:
        """Lines repeated verbatim by the export are one line: keep the first, count the rest.

        Unless the mapping says ``exact_duplicates: keep``: some exports (UCI Online Retail) have
        no line number, so the same item entered twice in one order gives two identical lines
        that are both real. They are then kept, and counted in the fixes table.

        The contract has no line number either, so merged order lines always have that shape (same
        order, product and price repeated): how many were merged and their revenue are recorded
        (``merged_duplicates``) and said (``duplicate_note``), never merged without a word.
        """
        self._step("merge_exact_duplicates")
        rows = []
        for t, df in self.tables.items():
            cols = [c for c in df.columns if c != "_row"]
            dup = exact_duplicates(df, cols)
            if self.raw[t].mapping.exact_duplicates == "keep":
                self._fix(t, "*", _("exact duplicate line kept (mapping: exact_duplicates: keep)"), int(dup.sum()))
                rows.append({"table": t, "exact_duplicates": int(dup.sum()), "action": _("kept (mapping)")})
                continue
            if t == "orders":  # the share of revenue is set at finish, from the kept lines' typed revenue
                self.merged_duplicates = _merged_revenue(df, dup.to_numpy(dtype=bool), total=0.0)
            n = self._remove(t, dup, "merged", "exact_duplicate")
            rows.append({"table": t, "exact_duplicates": n, "action": pgettext("done", "merged")})
            if t == "orders" and n:
                rows[-1].update(revenue=self.merged_duplicates["revenue"],
                                note=duplicate_note({**self.merged_duplicates, "revenue_share": None}))
        return pd.DataFrame(rows).reindex(columns=["table", "exact_duplicates", "action"] +
                                          (["revenue", "note"] if self.merged_duplicates.get("lines") else []))

    def validate_rows(self) -> pd.DataFrame:
        """Apply the contract's row checks; failing rows go to quarantine with their reason."""
        self._step("validate_rows")
        rows = []
        for t, df in self.tables.items():
            fails = row_failures(t, df)
            # Reasons and details are worked out for the rows some check or rule singles out only.
            rules = self._rules(t, "quarantine")
            hits = [self._rule_hits(t, rule, df.index) for rule in rules]
            flagged = np.zeros(len(df), dtype=bool)
            flagged[_positions(df.index, fails.index)] = True
            for hit in hits:
                flagged |= hit.to_numpy(dtype=bool)
            if MALFORMED in df.columns:
                flagged |= df[MALFORMED].notna().to_numpy()
            if t == "customers":
                flagged |= (df["customer_id"].notna() & df.duplicated("customer_id")).to_numpy()
            sub = df.loc[flagged]
            reason = fails["reason"].reindex(sub.index)
            # An empty date is 'missing_date', a present but unreadable one 'unparseable_date'.
            date_col = CONTRACTS[t].date_column
            if date_col in df.columns:
                raw_date = self._raw_value(t, date_col, sub.index).astype(TEXT).str.strip()
                empty = raw_date.isna() | (raw_date == "")
                reason = reason.mask((reason == "unparseable_date") & empty, "missing_date")
            detail = pd.Series("", index=sub.index, dtype=TEXT)
            for r, col in [("unparseable_date", date_col), ("missing_date", date_col),
                           ("invalid_quantity", "quantity"), ("invalid_price", "unit_price"),
                           ("nps_out_of_range", "nps")]:
                m = reason == r
                if m.any() and col in sub.columns:
                    detail[m] = col + "=" + self._shown(t, col, self._raw_value(t, col, sub.index[m])).fillna("")
            # Rules the mapping declares come before the contract's checks (a postage line with
            # price 0 is postage, not an invalid price); the first matching rule names the reason.
            for rule, hit in reversed(list(zip(rules, hits))):
                hit = hit.reindex(sub.index)
                reason = reason.mask(hit, rule["quarantine"])
                detail = detail.mask(hit, self._rule_detail(t, rule, sub.index))
            # A CSV record whose fields did not line up with the header: its values may be shifted.
            if MALFORMED in sub.columns:
                m = sub[MALFORMED].notna()
                reason = reason.mask(m, "wrong_field_count")
                detail = detail.mask(m, sub[MALFORMED])
            bad = reason.notna()
            # A customer id given twice with different details: the first record is kept.
            if t == "customers":
                conflict = (sub["customer_id"].notna() & df.duplicated("customer_id", keep="first").reindex(sub.index)
                            & ~bad)
                reason = reason.mask(conflict, "conflicting_duplicate_id")
                detail = detail.mask(conflict, "customer_id=" + self._ids(sub["customer_id"]))
                bad = bad | conflict
            remove = np.zeros(len(df), dtype=bool)
            remove[np.flatnonzero(flagged)[bad.to_numpy(dtype=bool)]] = True
            self._remove(t, pd.Series(remove, index=df.index), "quarantined", reason, detail)
            for r, n in reason[bad].value_counts().items():
                rows.append({"table": t, "reason": r, "rows": int(n)})
        return pd.DataFrame(rows, columns=["table", "reason", "rows"])

    def quarantine_test_accounts(self) -> pd.DataFrame:
        """Staff and QA accounts are not customers: quarantine them and everything they did."""
        self._step("quarantine_test_accounts")
        rows = []
        if "customers" not in self.tables:
            return pd.DataFrame(rows, columns=["table", "rows"])
        c = self.tables["customers"]
        hit = pd.Series(False, index=c.index)
        for col, pattern in self.test_account_rules.items():
            if col in c.columns:
                hit |= c[col].astype(TEXT).str.contains(pattern, regex=True).fillna(False).astype(bool)
        ids = set(c.loc[hit, "customer_id"].dropna())
        rows.append({"table": "customers", "rows": self._remove("customers", hit, "quarantined", "test_account")})
        for t in ("orders", "interactions", "surveys", "leads"):
            if t in self.tables and "customer_id" in self.tables[t].columns:
                m = self.tables[t]["customer_id"].isin(ids)
                rows.append({"table": t, "rows": self._remove(t, m, "quarantined", "test_account")})
        return pd.DataFrame(rows)

    def deduplicate_customers(self) -> pd.DataFrame:
        """Fold records of the same person into one.

        Two records are the same person when their normalised e-mail matches, or when both
        their normalised phone and normalised name match (a shared phone alone may be a
        household). Matches chain: A~B and B~C put A, B and C in one group. The canonical
        record is the one seen first (sign-up or first order, then the smallest id); it keeps
        its own values and takes missing ones from the others.
        """
        self._step("deduplicate_customers")
        if "customers" not in self.tables:
            return pd.DataFrame(columns=["rule", "records"])
        c = self.tables["customers"].reset_index(drop=True)
        n = len(c)
        keys = {}
        if "email" in c.columns:
            email = privacy.normalise_email(c["email"])
            # Placeholders such as 'n/a' or 'none' are not addresses and must not link people.
            keys["email"] = email.where(email.str.fullmatch(privacy.EMAIL_RE).fillna(False).astype(bool))
        if "phone" in c.columns and "name" in c.columns:
            keys["phone+name"] = (privacy.normalise_phone(c["phone"]) + "|" +
                                  privacy.normalise_name(c["name"]))
        src, dst, by_rule = [], [], []
        for rule, key in keys.items():
            ok = key.notna()
            first = pd.Series(np.arange(n))[ok].groupby(key[ok].to_numpy()).transform("first")
            linked = first.to_numpy() != first.index.to_numpy()
            src.append(first.index.to_numpy()[linked])
            dst.append(first.to_numpy()[linked])
            by_rule.append({"rule": _(SAME_KEY[rule]), "records": int(linked.sum())})
        if src:
            s, d = np.concatenate(src), np.concatenate(dst)
            graph = coo_matrix((np.ones(len(s)), (s, d)), shape=(n, n))
            _count, group = connected_components(graph, directed=False)
        else:
            group = np.arange(n)
        c["_group"] = group
        # The record seen first is canonical: its sign-up, or its first order when the sign-up date
        # is missing or later. (Not contacts: a prospect may chat before opening an account.)
        seen = [self.tables["orders"].groupby("customer_id")["order_date"].min()]
        if "signup_date" in c.columns:
            seen.append(c.set_index("customer_id")["signup_date"])
        first_seen = pd.concat(seen, axis=1).min(axis=1) if seen else pd.Series(dtype="datetime64[ns]")
        order = c.assign(_sd=c["customer_id"].map(first_seen)) \
            .sort_values(["_group", "_sd", "customer_id"], na_position="last", kind="stable")
        canon = order.groupby("_group", sort=False)["customer_id"].transform("first")
        is_dup = (order["customer_id"] != canon).to_numpy()
        self.id_map = pd.Series(canon[is_dup].to_numpy(), index=order.loc[is_dup, "customer_id"].to_numpy(),
                                name="canonical_id", dtype=TEXT)
        # Canonical record first in each group; groupby.first() fills its gaps from the others.
        data_cols = [col for col in c.columns if col not in ("_group", "_row")]
        merged = order.groupby("_group", sort=False)[data_cols].first()
        canon_rows = order.loc[~is_dup].set_index("_group")
        merged = merged.assign(_row=canon_rows["_row"].reindex(merged.index).to_numpy())
        filled = int((canon_rows[data_cols].isna() & merged[data_cols].notna()).to_numpy().sum())
        counts = order.groupby("_group", sort=False).size()
        merged["records_merged"] = (counts.reindex(merged.index).to_numpy() - 1).astype(np.int64)
        # Record the folded rows in the ledger, then swap in the merged table.
        self.tables["customers"] = order
        self._remove("customers", pd.Series(is_dup, index=order.index), "merged", "duplicate_customer",
                     lambda rows: "canonical=" + self._ids(canon.reindex(rows.index)))
        self.tables["customers"] = merged.reset_index(drop=True)
        self._fix("customers", "*", _("filled from duplicate record"), filled)
        summary = pd.DataFrame(by_rule, columns=["rule", "records"])
        summary.loc[len(summary)] = {"rule": _("records merged (after chaining)"), "records": int(is_dup.sum())}
        summary.loc[len(summary)] = {"rule": _("customers with duplicates"), "records":
                                     int((merged["records_merged"] > 0).sum())}
        return summary

    def link_customers(self) -> pd.DataFrame:
        """Point activity of duplicate records at the canonical customer; quarantine activity
        of customers the customers table does not know."""
        self._step("link_customers")
        rows = []
        known = (_arrow(self.tables["customers"]["customer_id"].dropna().astype(TEXT), combine=True)
                 if "customers" in self.tables else None)
        duplicate = _arrow(self.id_map.index.to_series().astype(TEXT), combine=True)
        canonical = _arrow(self.id_map.astype(TEXT), combine=True)
        for t in ("orders", "interactions", "surveys", "leads"):
            if t not in self.tables or "customer_id" not in self.tables[t].columns:
                continue
            df = self.tables[t]
            # Arrow's hash lookups against the (small) sets of ids, not a Python dict per row.
            ids = _arrow(df["customer_id"].astype(TEXT))
            where = pc.index_in(ids, value_set=duplicate)
            remapped = len(where) - where.null_count
            if remapped:
                ids = pc.if_else(pc.is_valid(where), pc.take(canonical, where), ids)
            df = df.assign(customer_id=pd.Series(pd.arrays.ArrowStringArray(ids), index=df.index, dtype=TEXT))
            self.tables[t] = df
            self._fix(t, "customer_id", _("duplicate id replaced by canonical id"), remapped)
            unknown = 0
            if t == "orders":  # a guest sale has no customer to be unknown: it is kept
                self._fix(t, "customer_id", _("no customer id: kept as a guest sale (left out of customer-level "
                                            "figures)"), int(df["customer_id"].isna().sum()))
            if known is not None:
                # A missing id is not an unknown one (orders keep it as a guest sale; elsewhere the
                # row checks have quarantined it already).
                m = pd.Series(~pc.is_in(ids, value_set=known).to_numpy(zero_copy_only=False)
                              & pc.is_valid(ids).to_numpy(zero_copy_only=False), index=df.index)
                unknown = self._remove(t, m, "quarantined", "unknown_customer",
                                       lambda rows: "customer_id=" + self._ids(rows["customer_id"]))
            rows.append({"table": t, "ids_remapped": remapped, "unknown_customer": unknown})
        return pd.DataFrame(rows, columns=["table", "ids_remapped", "unknown_customer"])

    def fix_values(self) -> pd.DataFrame:
        """Apply the mapping's ``set`` rules; unify spellings (category, region, city, channel)
        and gender codes."""
        self._step("fix_values")
        before = len(self._fixes)
        for t in self.tables:
            for rule in self._rules(t, "set"):
                df = self.tables[t]
                hit = self._rule_hits(t, rule, df.index)
                where = _(" and ").join(f"{c} ~ {p!r}" for c, p in rule["where"].items())
                for col, value in rule["set"].items():
                    current = df[col] if col in df.columns else pd.Series(pd.NA, index=df.index, dtype=TEXT)
                    df = df.assign(**{col: current.astype(TEXT).mask(hit, value)})
                    self._fix(t, col, _("set to {value} where {where} (mapping rule)").format(value=repr(value), where=where),
                              int(hit.sum()))
                self.tables[t] = df
        if "orders" in self.tables and "category" in self.tables["orders"].columns:
            o = self.tables["orders"]
            fixed = canonical_spelling(o["category"])
            self._fix("orders", "category", _("spelling unified"), int((fixed != o["category"]).fillna(False).sum()))
            self.tables["orders"] = o.assign(category=fixed)
        if "customers" in self.tables:
            c = self.tables["customers"]
            for col, within in [("region", None), ("city", "region"), ("channel", None)]:
                if col in c.columns:
                    grp = c[within] if within and within in c.columns else None
                    fixed = canonical_spelling(c[col], grp)
                    self._fix("customers", col, _("spelling unified"),
                              int((fixed != c[col]).fillna(False).sum()))
                    c = c.assign(**{col: fixed})
            if "gender" in c.columns:
                g = c["gender"].astype(TEXT).str.strip().str.lower()
                fixed = g.map(GENDER_MAP).astype(TEXT)
                unmapped = g.notna() & fixed.isna()
                fixed = fixed.mask(unmapped, "other")
                self._fix("customers", "gender", _("coded as F/M/X"),
                          int((fixed != c["gender"]).fillna(False).sum() - unmapped.sum()))
                self._fix("customers", "gender", _("unrecognised value coded as 'other'"), int(unmapped.sum()))
                c = c.assign(gender=fixed)
            self.tables["customers"] = c
        if "leads" in self.tables:
            self._fix_leads()
        return pd.DataFrame(self._fixes[before:], columns=["table", "column", "fix", "rows"])

    def _fix_leads(self) -> None:
        """Leads: one spelling per source ('Google' and 'google' are one source), outcomes in lower
        case, and stage dates that could not be read left empty and counted (the lead keeps its
        created date and outcome; only that stage's timing is unknown)."""
        df = self.tables["leads"]
        if "source" in df.columns:
            fixed = canonical_spelling(df["source"])
            self._fix("leads", "source", _("spelling unified"), int((fixed != df["source"]).fillna(False).sum()))
            df = df.assign(source=fixed)
        if "outcome" in df.columns:
            fixed = df["outcome"].astype(TEXT).str.strip().str.lower().replace("", pd.NA)
            self._fix("leads", "outcome", _("written in lower case"), int((fixed != df["outcome"]).fillna(False).sum()))
            df = df.assign(outcome=fixed)
        for col in ("contacted_date", "qualified_date", "proposal_date", "outcome_date"):
            if col in self.failed["leads"]:
                bad = self.failed["leads"][col].reindex(df.index, fill_value=False)
                self._fix("leads", col, _("unreadable date left empty (stage timing unknown)"), int(bad.sum()))
        self.tables["leads"] = df

    def impute(self) -> pd.DataFrame:
        """Fill gaps where the data itself says what the value is; label the rest 'unknown'.

        * category: the product's category in the other lines of the same product (a lookup,
          not a guess); 'unknown' if the product never has one.
        * signup_date: the customer's first recorded activity (a lower bound of tenure).
        * region, city, channel, gender: 'unknown', a group of its own, because inventing a
          value would distort the group comparisons these columns exist for.
        * birth_year: left missing; models that need it impute inside their own pipeline.
        """
        self._step("impute")
        before = len(self._fixes)
        o = self.tables["orders"]
        if "category" not in o.columns:
            o = o.assign(category=pd.Series(pd.NA, index=o.index, dtype=TEXT))
        miss = o["category"].isna()
        if miss.any():
            known = most_frequent_by(o.loc[~miss, "product_id"], o.loc[~miss, "category"])
            fill = o.loc[miss, "product_id"].map(known)
            self._fix("orders", "category", _("imputed from product_id"), int(fill.notna().sum()))
            self._fix("orders", "category", _("set to 'unknown' (product never categorised)"), int(fill.isna().sum()))
            category = o["category"].copy()
            category[miss.to_numpy()] = fill.fillna(UNKNOWN).astype(TEXT).to_numpy()
            o = o.assign(category=category, category_imputed=miss)
        else:
            o = o.assign(category_imputed=False)
        self.tables["orders"] = o
        if "customers" in self.tables:
            c = self.tables["customers"]
            if "signup_date" not in c.columns:
                c = c.assign(signup_date=pd.Series(pd.NaT, index=c.index, dtype="datetime64[ns]"))
            miss = c["signup_date"].isna()
            if miss.any():
                firsts = [self.tables[t].groupby("customer_id")[CONTRACTS[t].date_column].min()
                          for t in ("orders", "interactions", "surveys") if t in self.tables]
                first_seen = pd.concat(firsts, axis=1).min(axis=1)
                fill = c.loc[miss, "customer_id"].map(first_seen)
                self._fix("customers", "signup_date", _("imputed as first activity"), int(fill.notna().sum()))
                self._fix("customers", "signup_date", _("left missing (no activity to date it by)"),
                          int(fill.isna().sum()))
                c = c.assign(signup_date=c["signup_date"].fillna(fill.reindex(c.index)))
            c = c.assign(signup_date_imputed=miss)
            for col in ("region", "city", "channel", "gender"):
                if col in c.columns:
                    m = c[col].isna()
                    self._fix("customers", col, _("missing set to 'unknown'"), int(m.sum()))
                    c = c.assign(**{col: c[col].fillna(UNKNOWN)})
            if "birth_year" in c.columns:
                self._fix("customers", "birth_year", _("missing left missing"), int(c["birth_year"].isna().sum()))
            self.tables["customers"] = c
        return pd.DataFrame(self._fixes[before:], columns=["table", "column", "fix", "rows"])

    def flag_outliers(self, fence: float = 3.0) -> pd.DataFrame:
        """Flag (never drop) bulk order lines.

        On the log scale, per category: a line is an outlier when
        ``log|q| > Q3 + fence * max(IQR, log 2)``. The log makes the rule about ratios; the
        ``log 2`` floor keeps it sane when nearly every line has the same quantity (then the
        fence is 2**3 = 8 times the upper quartile).
        """
        self._step("flag_outliers")
        o = self.tables["orders"]
        flag, limit = bulk_outliers(o["quantity"], o["category"], fence)
        o["is_outlier"] = flag.to_numpy()  # in place: the run owns its tables, and a copy would double them
        summary = (pd.DataFrame({"category": o["category"], "quantity": o["quantity"], "is_outlier": flag,
                                 "limit": np.floor(np.exp(limit))})
                   .groupby("category", observed=True)
                   .agg(lines=("quantity", "size"), flagged=("is_outlier", "sum"),
                        fence_units=("limit", "first"), max_units=("quantity", "max"))
                   .reset_index())
        self._fix("orders", "quantity", _("flagged as bulk outlier (kept)"), int(flag.sum()))
        return summary

    def pseudonymise(self) -> pd.DataFrame:
        """Drop names; replace e-mail and phone by keyed hashes; mask personal data everywhere else.

        * e-mail addresses and phone numbers are masked in every text column the contract keeps
          (notes and comments, but also a topic, a city or a status that holds one);
        * then the customers' own first and last names (parts of at least three letters) in their
          own notes and comments, while the names are still known (``privacy.mask_names``);
        * names are dropped, e-mail addresses and phone numbers replaced by keyed hashes;
        * an id that is an e-mail address or a phone number (exports that key customers by e-mail)
          is replaced by its keyed hash in every id column of every table, the same hash for the same
          id everywhere, so that joins still match (and ``id_map`` says it in hashes too).

        Columns are replaced in place: the run owns its tables, and a copy would double them.
        """
        self._step("pseudonymise")
        if self.key is None:
            self.key = privacy.load_key()
        rows, masked_rows = [], []
        # E-mail addresses and phone numbers first: an address holds names ('anna.schmidt@...').
        for t in list(self.tables):
            # The contract's text columns, and prefixed text columns a table may add (the leads' cat_*).
            prefixed = [c for c in self.tables[t].columns if CONTRACTS[t].column(c) is not None
                        and CONTRACTS[t].column(c).kind == "text" and CONTRACTS[t].column(c) not in CONTRACTS[t].columns]
            for col in [spec.name for spec in CONTRACTS[t].columns if spec.kind == "text" and not spec.pii] + prefixed:
                if col not in self.tables[t].columns:
                    continue
                masked, n = privacy.mask_free_text(self.tables[t][col])
                if n:
                    self.tables[t][col] = masked
                if n or (t, col) in FREE_TEXT:
                    masked_rows.append({"table": t, "column": col, "action": _("e-mails/phones masked"), "rows": n})
                self._fix(t, col, _("e-mail or phone masked"), n)
        c = self.tables.get("customers")
        if c is not None and "name" in c.columns:
            names = pd.Series(c["name"].to_numpy(), index=c["customer_id"].astype(TEXT).to_numpy())
            for t, col in FREE_TEXT:
                if t in self.tables and col in self.tables[t].columns:
                    df = self.tables[t]
                    masked, n = privacy.mask_names(df[col], df["customer_id"], names)
                    if n:
                        df[col] = masked
                        masked_rows.append({"table": t, "column": col, "action": _("customer's own name masked"),
                                            "rows": n})
                        self._fix(t, col, _("customer's own name masked"), n)
        if c is not None:
            out = c.drop(columns=[col for col in ("name", "email", "phone") if col in c.columns])
            if "email" in c.columns:
                out["email_hash"] = privacy.keyed_hash(privacy.normalise_email(c["email"]), self.key)
            if "phone" in c.columns:
                out["phone_hash"] = privacy.keyed_hash(privacy.normalise_phone(c["phone"]), self.key)
            for col in ("name", "email", "phone"):
                if col in c.columns:
                    rows.append({"table": "customers", "column": col,
                                 "action": _("dropped") if col == "name" else _("replaced by keyed hash"),
                                 "rows": int(c[col].notna().sum())})
            self.tables["customers"] = out
        rows += masked_rows
        for t in list(self.tables):
            for col in [spec.name for spec in CONTRACTS[t].columns if spec.kind == "id"]:
                if col not in self.tables[t].columns:
                    continue
                ids, n = privacy.pseudonymise_ids(self.tables[t][col], self.key)
                if n:
                    self.tables[t][col] = ids
                    rows.append({"table": t, "column": col, "rows": n,
                                 "action": _("e-mail/phone used as id replaced by keyed hash (same in every table)")})
                    self._fix(t, col, _("e-mail or phone used as id replaced by keyed hash (joins kept)"), n)
        if len(self.id_map):
            duplicate = self._ids(pd.Series(self.id_map.index, dtype=TEXT))
            self.id_map = pd.Series(self._ids(self.id_map).to_numpy(), index=duplicate.to_numpy(),
                                    name="canonical_id", dtype=TEXT)
        return pd.DataFrame(rows, columns=["table", "column", "action", "rows"])

    # -- result --------------------------------------------------------------------------------

    def outcomes(self) -> pd.DataFrame:
        if not self._outcomes:
            return pd.DataFrame(columns=["table", "row", "outcome", "reason", "detail"])
        return pd.concat(self._outcomes, ignore_index=True)

    def ledger(self) -> pd.DataFrame:
        """rows in = kept + quarantined + merged + held back, per table."""
        out = self.outcomes()
        counts = out.groupby(["table", "outcome"]).size().unstack(fill_value=0) if len(out) else pd.DataFrame()
        rows = []
        for t in self.tables:
            r = {"table": t, "file": self.files[t], "rows_in": self.rows_in[t], "kept": len(self.tables[t])}
            for o in OUTCOMES[1:]:
                r[o] = int(counts.loc[t, o]) if t in counts.index and o in counts.columns else 0
            r["held_back"] += self.at_source[t]
            rows.append(r)
        led = pd.DataFrame(rows)
        led["balanced"] = led["rows_in"] == led[list(OUTCOMES)].sum(axis=1)
        return led

    def quarantine(self) -> pd.DataFrame:
        """Quarantined rows with file, row, reason, detail and the raw record minus personal data."""
        out = self.outcomes()
        q = out[out["outcome"] == "quarantined"].drop(columns="outcome")
        parts = []
        for t, grp in q.groupby("table", sort=True):
            records = pd.concat(self._records[t]).loc[grp["row"].to_numpy()].to_numpy()
            parts.append(grp.assign(file=self.files[t], record=records))
        cols = ["table", "file", "row", "reason", "detail", "record"]
        if not parts:
            return pd.DataFrame(columns=cols)
        return pd.concat(parts, ignore_index=True)[cols].sort_values(["table", "row"]).reset_index(drop=True)

    def finish(self) -> CleanResult:
        """Check every step ran and every table balances; return the cleaned tables.

        The tables are handed over: afterwards ``tables`` holds the finished tables too, so a
        notebook keeps one copy of tens of millions of order lines, not two. A second call returns
        the same result.
        """
        if getattr(self, "result_", None) is not None:
            return self.result_
        missing = [s for s in self.STEPS if s not in self.done]
        if missing:
            raise RuntimeError(f"cleaning steps not run yet: {missing}")
        led = self.ledger()
        if not led["balanced"].all():
            raise LedgerError(f"row ledger does not balance:\n{led}")
        out = self.outcomes()
        for t, df in self.tables.items():
            # Every source row exactly once: kept, or in one outcome.
            rows = np.concatenate([df["_row"].to_numpy(), out.loc[out["table"] == t, "row"].to_numpy()]).astype(np.int64)
            n = self.rows_read[t]
            if len(rows) != n or (n and (rows.min() < 0 or rows.max() >= n or
                                         (np.bincount(rows, minlength=n) != 1).any())):
                raise LedgerError(f"{t}: source rows are missing or counted twice")
        self._check_month_in_data(led)
        q = self.quarantine()
        by_reason = (q.groupby(["table", "reason"]).size().rename("rows").reset_index()
                     .sort_values(["table", "rows"], ascending=[True, False]).reset_index(drop=True))
        tables = {}
        for t in list(self.tables):  # one table at a time, each replacing its working copy
            tables[t] = self.tables[t] = _finalise(t, self.tables.pop(t))
        if self.merged_duplicates.get("lines") and "orders" in tables:
            kept = float(tables["orders"]["line_revenue"].sum())
            merged = self.merged_duplicates["revenue"]
            self.merged_duplicates["revenue_share"] = merged / (kept + merged) if kept + merged else float("nan")
        fixes = pd.DataFrame(self._fixes, columns=["table", "column", "fix", "rows"])
        self.result_ = CleanResult(tables, q, led, by_reason, fixes, self.id_map, self.cutoff,
                                   self.key.source if self.key else "", [t for t in CONTRACTS if t not in self.raw],
                                   dict(self.merged_duplicates),
                                   self.raw["surveys"].scale_like_columns if "surveys" in self.raw else [])
        return self.result_

    def _check_month_in_data(self, led: pd.DataFrame) -> None:
        """A report month outside the data is a mistake, not an empty or a stale report."""
        first, last = self.date_range
        span = (f"the readable order dates run from {first:%Y-%m-%d} to {last:%Y-%m-%d}" if pd.notna(first)
                else "no order date is readable")
        month_start = parse_month(self.report_month).start_time
        if self.tables["orders"].empty:
            raise ContractError(self.files["orders"], f"no order lines are left for {self.report_month} after "
                                f"cleaning ({self.rows_in['orders']:,} rows read; see the ledger: "
                                f"{led.set_index('table').loc['orders', list(OUTCOMES)].to_dict()}); {span}. "
                                f"Is the report month inside the data?", column="order_date")
        kept_last = self.tables["orders"]["order_date"].max()
        if kept_last < month_start:
            raise ContractError(self.files["orders"], f"the last order line kept is dated {kept_last:%Y-%m-%d}, "
                                f"before the report month {self.report_month} begins ({span}); a report for it would "
                                f"show nothing new. Choose a month the data cover "
                                f"(`crm-report latest-month`)", column="order_date")


def _finalise(table: str, df: pd.DataFrame) -> pd.DataFrame:
    """Compact dtypes and derived columns of a cleaned table.

    The table is taken over: it is changed in place (and emptied when its rows are re-ordered),
    so that tens of millions of rows are never held twice.
    """
    if MALFORMED in df.columns:
        del df[MALFORMED]
    df.columns = ["source_row" if c == "_row" else c for c in df.columns]
    df.index = pd.RangeIndex(len(df))
    if table == "orders":
        df["quantity"] = df["quantity"].astype(float)
        df["unit_price"] = df["unit_price"].astype(float)
        df["is_return"] = df["quantity"] < 0
        df["line_revenue"] = (df["quantity"] * df["unit_price"]).round(2)
        order = _order_line_order(df)
        if not np.array_equal(order, np.arange(len(df))):  # exports often come in date order already
            df = _take_rows(df, order)
    for col in ("category", "region", "city", "channel", "gender", "topic", "outcome"):
        if col in df.columns:
            df[col] = as_category(df[col])
    for col in df.columns:
        if df[col].dtype == object:
            df[col] = df[col].astype(TEXT)
    return df


def _order_line_order(df: pd.DataFrame) -> np.ndarray:
    """Positions that sort order lines by (order_date, order_id, source_row), as a stable
    ``sort_values`` on the three would.

    Sorting by date alone (a stable sort of integers, quick on data that arrive nearly in date
    order) leaves lines of equal date in their source order; only runs of equal date whose order
    ids are then out of order are sorted again, by order id and source row.
    """
    dates = df["order_date"].to_numpy(dtype="datetime64[ns]").view(np.int64)
    pos = np.argsort(dates, kind="stable")
    d = dates[pos]
    ids = _arrow(df["order_id"].astype(TEXT), combine=True)
    if not np.array_equal(pos, np.arange(len(pos))):
        ids = pc.take(ids, pa.array(pos))
    rows = df["source_row"].to_numpy()[pos]
    tie = d[1:] == d[:-1]
    in_order = pc.fill_null(pc.less(ids[:-1], ids[1:]), False).to_numpy(zero_copy_only=False)
    same_id = pc.fill_null(pc.equal(ids[:-1], ids[1:]), False).to_numpy(zero_copy_only=False)
    wrong = tie & ~(in_order | (same_id & (rows[1:] > rows[:-1])))
    if ids.null_count:
        # A missing order id sorts after every id of its date: the runs holding one are sorted again.
        missing = pc.is_null(ids).to_numpy(zero_copy_only=False)
        wrong |= tie & (missing[1:] | missing[:-1])
    if wrong.any():
        run = np.concatenate([[0], np.cumsum(~tie)])  # run number of each sorted line (equal dates)
        redo = np.isin(run, run[1:][wrong])
        at = np.flatnonzero(redo)
        part = df.iloc[pos[at]][["order_date", "order_id", "source_row"]].assign(_pos=pos[at])
        pos[at] = part.sort_values(["order_date", "order_id", "source_row"], kind="stable")["_pos"].to_numpy()
    return pos


def as_category(values: pd.Series) -> pd.Series:
    """``values.astype(TEXT).astype("category")``, with the distinct values found by Arrow's
    dictionary encoding rather than pandas' hashing of every value."""
    text = values.astype(TEXT)
    encoded = pc.dictionary_encode(_arrow(text, combine=True))
    categories = pd.Series(encoded.dictionary.to_pylist(), dtype=TEXT).astype("category").cat.categories
    lookup = categories.get_indexer(pd.Index(encoded.dictionary.to_pylist(), dtype=TEXT))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    codes = np.where(np.isnan(codes), -1, codes).astype(np.int64) if codes.dtype.kind == "f" else codes.astype(np.int64)
    codes = np.where(codes >= 0, lookup[np.maximum(codes, 0)] if len(lookup) else -1, -1)
    return pd.Series(pd.Categorical.from_codes(codes, dtype=pd.CategoricalDtype(categories)), index=values.index,
                     name=values.name)


#: The column names of the tables notebook 01 shows (the steps' summaries, the ledger, the
#: quarantine, the fixes), as a reader reads them; the tables themselves keep these names, which
#: artifacts and charts read. Context 'cleaning column': 'merged' as a column of row counts.
SHOWN_COLUMNS = {
    "table": NC_("cleaning column", "table"), "file": NC_("cleaning column", "file"),
    "date_column": NC_("cleaning column", "date_column"), "held_back": NC_("cleaning column", "held_back"),
    "of which left in the database": NC_("cleaning column", "of which left in the database"),
    "exact_duplicates": NC_("cleaning column", "exact_duplicates"), "action": NC_("cleaning column", "action"),
    "revenue": NC_("cleaning column", "revenue"), "note": NC_("cleaning column", "note"),
    "reason": NC_("cleaning column", "reason"), "rows": NC_("cleaning column", "rows"),
    "rule": NC_("cleaning column", "rule"), "records": NC_("cleaning column", "records"),
    "ids_remapped": NC_("cleaning column", "ids_remapped"),
    "unknown_customer": NC_("cleaning column", "unknown_customer"), "column": NC_("cleaning column", "column"),
    "fix": NC_("cleaning column", "fix"), "category": NC_("cleaning column", "category"),
    "lines": NC_("cleaning column", "lines"), "flagged": NC_("cleaning column", "flagged"),
    "fence_units": NC_("cleaning column", "fence_units"), "max_units": NC_("cleaning column", "max_units"),
    "rows_in": NC_("cleaning column", "rows_in"), "kept": NC_("cleaning column", "kept"),
    "quarantined": NC_("cleaning column", "quarantined"), "merged": NC_("cleaning column", "merged"),
    "balanced": NC_("cleaning column", "balanced"), "row": NC_("cleaning column", "row"),
    "detail": NC_("cleaning column", "detail"), "record": NC_("cleaning column", "record"),
}


def shown(frame: pd.DataFrame | None) -> pd.DataFrame | None:
    """``frame`` as notebook 01 displays it: its column names and the contract's table names in the
    current language (the same table in English). A display copy: the table, an artifact or a
    chart's input, keeps its names and codes."""
    if frame is None:
        return None
    out = frame.rename(columns={c: pgettext("cleaning column", c) for c in frame.columns if c in SHOWN_COLUMNS})
    if "table" in frame.columns:
        out[pgettext("cleaning column", "table")] = frame["table"].map(table_label).to_numpy()
    return out


def quarantine_sheet(quarantine: pd.DataFrame) -> pd.DataFrame:
    """The quarantine for the people who fix the export: one column per field of each record,
    as written in the file (write it with ``artifacts.write_csv``, which defuses formulas)."""
    fields = pd.DataFrame([json.loads(r) for r in quarantine["record"]], index=quarantine.index)
    return pd.concat([quarantine.drop(columns="record"), fields], axis=1)


#: What cleaning cannot check when a table is absent (said once in notebook 01).
WITHOUT = {
    "customers": N_("without customers: duplicate and test accounts cannot be found, and every customer id in "
                    "the other tables is accepted: 'unknown_customer' needs a customer table to be unknown to."),
    "interactions": N_("without interactions: there is no contact history."),
    "surveys": N_("without surveys: there are no satisfaction answers."),
    "leads": N_("without leads: there is no sales funnel."),
}


def coverage(raw: dict[str, RawTable]) -> str:
    """One line per absent table: what is missing and what therefore is not checked or shown."""
    absent = [t for t in CONTRACTS if t not in raw]
    if not absent:
        return _("All five tables are present: every check below runs.")
    lines = [_("Not in this data: {tables}. Later notebooks skip the sections that need them.").format(
        tables=_(", ").join(table_label(t) for t in absent))]
    lines += ["- " + _(WITHOUT[t]) for t in absent if t in WITHOUT]
    return "\n".join(lines)


def clean(raw: dict[str, RawTable], report_month: str,
          key: privacy.PseudonymKey | None = None) -> CleanResult:
    """Run every cleaning step in order and return the result (what notebook 01 does step by step)."""
    run = CleaningRun(raw, report_month, key=key)
    for step in CleaningRun.STEPS:
        getattr(run, step)()
    return run.finish()
