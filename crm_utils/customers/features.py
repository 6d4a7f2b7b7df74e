"""Customer features as of a cutoff: what segmentation and prediction learn from.

Every feature of :func:`customer_features` is computed from rows dated at or before the
cutoff; rows dated later are ignored, so the same function serves the report month and the
earlier cutoffs that prediction trains on, without leaking the future. The test of that
promise compares features computed with and without later rows present.

One row per customer who bought at least once by the cutoff. Order lines without a customer id
(guest sales) are sales of the shop but belong to no customer: they are left out here, and
:func:`guest_figures` says how many lines, orders and how much revenue that leaves out.


========================  =====================================================================
``recency_days``          days from the last purchase to the cutoff
``frequency``             distinct orders with at least one purchased line
``monetary``              net revenue: purchases minus returns (currency units, at least 0)
``avg_order_value``       purchase revenue per order
``tenure_days``           days from the first purchase (or the earlier sign-up) to the cutoff
``orders_90d``            orders in the 90 days before the cutoff
``return_rate``           units returned / units bought (0-1)
``price_index``           mean log ratio of the prices paid to the category's median price:
                          > 0 buys the dearer products of a category, < 0 the cheaper ones
``lines``                 purchased order lines (how much evidence the category mix rests on)
``cat_<category>``        share of purchased lines in each category (they sum to 1)
``interactions``          contacts in the interaction log (0 without one)
``interactions_90d``      contacts in the 90 days before the cutoff
========================  =====================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_utils import linecodes

#: Features of money and counts: right-skewed, so models see them on a log scale.
SKEWED = ("recency_days", "frequency", "monetary", "avg_order_value", "tenure_days", "orders_90d",
          "lines", "interactions", "interactions_90d")
CATEGORY_PREFIX = "cat_"
TEXT = pd.StringDtype("pyarrow")
RECENT_DAYS = 90
DAY = np.timedelta64(1, "D")


def guest_mask(orders: pd.DataFrame) -> np.ndarray:
    """Lines without a customer id: guest sales, which no customer-level figure can include."""
    if "customer_id" not in orders.columns:
        return np.ones(len(orders), dtype=bool)
    return orders["customer_id"].isna().to_numpy()


def guest_figures(orders: pd.DataFrame, month: str | pd.Period | None = None) -> dict:
    """What customer-level figures leave out because no customer is known: the guest lines, their
    orders (distinct order ids with a purchased line) and revenue (net, as the KPIs count it), and
    the revenue's share of all revenue; of one month's lines when ``month`` is given.

    Keys are those the overview headline records: ``guest_lines``, ``guest_orders``,
    ``guest_revenue``, ``guest_revenue_share`` (NaN when there is no revenue to share).
    """
    rows = np.ones(len(orders), dtype=bool)
    if month is not None:
        rows = linecodes.month_numbers(orders["order_date"]) == pd.Period(month, freq="M").ordinal
    guest = guest_mask(orders) & rows
    revenue = orders["line_revenue"].to_numpy(dtype=float)
    total = float(revenue[rows].sum())
    bought = guest & ~orders["is_return"].to_numpy(dtype=bool)
    return {"guest_lines": int(guest.sum()),
            "guest_orders": int(orders["order_id"][bought].nunique()),
            "guest_revenue": float(revenue[guest].sum()),
            "guest_revenue_share": float(revenue[guest].sum()) / total if total else float("nan")}


def category_column(category: str) -> str:
    """``cat_<category>``: the share column of a category, named so it reads in tables and charts."""
    text = str(category)
    return CATEGORY_PREFIX + (text if text.strip() else "unknown")


def category_name(column: str) -> str:
    """The category a ``cat_`` column holds the share of."""
    return column.removeprefix(CATEGORY_PREFIX)


def category_columns(features: pd.DataFrame) -> list[str]:
    return [c for c in features.columns if c.startswith(CATEGORY_PREFIX)]


def customer_features(orders: pd.DataFrame, cutoff: pd.Timestamp,
                      interactions: pd.DataFrame | None = None,
                      categories: list[str] | None = None,
                      price_medians: dict[str, float] | None = None) -> pd.DataFrame:
    """Features of every customer who bought by ``cutoff``, indexed by ``customer_id``.

    ``orders`` is the cleaned order-line table of notebook 01 (returns as negative quantity);
    ``categories`` fixes the category columns, so features at two cutoffs line up even when a
    category had no sales yet at the earlier one. ``price_medians`` (from
    :func:`category_price_medians` on all orders) is the reference of ``price_index`` when
    ``orders`` hold only some customers' lines; by default it comes from ``orders`` themselves.
    """
    cutoff = pd.Timestamp(cutoff)
    _order_columns(orders)
    # Masks and codes over the whole table, then column by column only the rows needed: at 36
    # million lines a copy of the frame (or of its purchases) would cost gigabytes.
    # Guest lines (no customer id) describe no customer: left out (``guest_figures`` counts them).
    known = (orders["order_date"] <= cutoff).to_numpy() & ~guest_mask(orders)
    is_return = orders["is_return"].to_numpy(dtype=bool)
    buy_rows = known & ~is_return
    if not buy_rows.any():
        raise ValueError(f"no purchases on or before {cutoff:%Y-%m-%d} by a known customer: nothing to describe"
                         + (" (every order line is a guest sale, without a customer id)"
                            if guest_mask(orders).all() else ""))
    # Hash-based codes straight from the (Arrow) strings: no Python object per row at scale.
    all_cust, all_ids = pd.factorize(orders["customer_id"], sort=True)
    buyer = np.bincount(all_cust[buy_rows], minlength=len(all_ids)) > 0
    remap = np.cumsum(buyer) - 1  # customers who bought by the cutoff, in id order
    ids = all_ids[buyer]
    n = len(ids)
    cust = remap[all_cust[buy_rows]]
    days_before = (cutoff.to_datetime64() - orders["order_date"].to_numpy()[buy_rows]) / DAY

    # One row per (customer, order): frequency and recency count orders, not lines.
    order_code = pd.factorize(orders["order_id"])[0][buy_rows].astype(np.int64)
    first = _first_lines(cust, order_code)
    frequency = np.bincount(cust[first], minlength=n)
    orders_90d = np.bincount(cust[first[days_before[first] < RECENT_DAYS]], minlength=n)
    recency = _group_min(cust, days_before, n)
    first_buy = _group_max(cust, days_before, n)

    revenue = orders["line_revenue"].to_numpy(dtype=float)
    quantity = orders["quantity"].to_numpy(dtype=float)
    bought = np.bincount(cust, revenue[buy_rows], minlength=n)
    units = np.bincount(cust, quantity[buy_rows], minlength=n)
    ret_rows = known & is_return & buyer[all_cust]  # a return by someone with no purchase yet has no row
    ret_cust = remap[all_cust[ret_rows]]
    returned_revenue = np.bincount(ret_cust, revenue[ret_rows], minlength=n)
    returned_units = np.bincount(ret_cust, -quantity[ret_rows], minlength=n)
    del revenue, quantity, all_cust

    # Price tier within category, so a taste for dear products is not confused with the category mix.
    cat_code, cat_names = _category_codes(orders, buy_rows)
    log_price = np.log(orders["unit_price"].to_numpy(dtype=float)[buy_rows])
    if price_medians is None:  # the shop's prices: guest sales included (they are sales at its prices)
        guest_buys = (guest_mask(orders) & ~is_return & (orders["order_date"] <= cutoff).to_numpy()).any()
        price_medians = (category_price_medians(orders, cutoff) if guest_buys
                         else _price_medians(log_price, cat_code, cat_names))
    medians = np.array([price_medians.get(name, 0.0) for name in cat_names])
    lines = np.bincount(cust, minlength=n)
    price_index = np.bincount(cust, log_price - medians[cat_code], minlength=n) / lines

    out = pd.DataFrame({
        "recency_days": recency,
        "frequency": frequency,
        "monetary": np.clip(bought + returned_revenue, 0, None),
        "avg_order_value": bought / frequency,
        "tenure_days": first_buy,
        "orders_90d": orders_90d,
        "return_rate": np.clip(returned_units / np.maximum(units, 1e-9), 0, 1),
        "price_index": price_index,
        "lines": lines,
    }, index=pd.Index(ids, name="customer_id", dtype=pd.StringDtype("pyarrow")))
    out = out.join(_category_shares(cust, cat_code, cat_names, n, categories).set_index(out.index))
    counts = _interaction_counts(interactions, cutoff, out.index)
    return out.join(counts)


def with_signup(features: pd.DataFrame, customers: pd.DataFrame | None, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Tenure from the sign-up date where the account is older than its first purchase."""
    if customers is None or "signup_date" not in customers.columns:
        return features
    signup = customers.set_index("customer_id")["signup_date"].reindex(features.index)
    signup_days = ((pd.Timestamp(cutoff) - signup).dt.total_seconds() / 86400).where(signup <= cutoff)
    out = features.copy()
    out["tenure_days"] = np.fmax(out["tenure_days"].to_numpy(), signup_days.to_numpy(dtype=float))
    return out


#: The cleaned order columns the customer-level notebooks (02-05) read: notebook 01's other
#: columns (source rows, product ids, flags) would add a gigabyte at a million customers.
ORDER_COLUMNS = ["order_id", "customer_id", "order_date", "category", "quantity", "unit_price", "line_revenue",
                 "is_return"]



def customer_table(orders: pd.DataFrame, cutoff: pd.Timestamp, interactions: pd.DataFrame | None = None,
                   customers: pd.DataFrame | None = None, categories: list[str] | None = None) -> pd.DataFrame:
    """:func:`customer_features` with the tenure of :func:`with_signup` when there is a customers table:
    every customer who bought by ``cutoff``, as segmentation describes them."""
    feats = customer_features(orders, cutoff, interactions, categories=categories)
    return with_signup(feats, customers, cutoff) if customers is not None else feats

def _order_columns(orders: pd.DataFrame) -> list[str]:
    need = [c for c in ORDER_COLUMNS if c != "category"]  # an export without categories is one mix
    missing = [c for c in need if c not in orders.columns]
    if missing:
        raise ValueError(f"orders lack {missing}: pass the cleaned orders of notebook 01")
    return need + (["category"] if "category" in orders.columns else [])


def _first_lines(cust: np.ndarray, order_code: np.ndarray) -> np.ndarray:
    """Position of the first line of each distinct (customer, order), in no particular order.

    An order id normally belongs to one customer; then the first line per order is a single
    pass. Exports where one id is reused across customers take the slower, general sort.
    """
    n_orders = int(order_code.max()) + 1
    owner_low = _group_min(order_code, cust, n_orders)
    owner_high = _group_max(order_code, cust, n_orders)
    seen = owner_low <= owner_high  # codes of orders with no line here have neither
    if np.array_equal(owner_low[seen], owner_high[seen]):
        first = np.full(n_orders, len(order_code), dtype=np.int64)
        np.minimum.at(first, order_code, np.arange(len(order_code)))
        return first[first < len(order_code)]
    _, first = np.unique(cust.astype(np.int64) * n_orders + order_code, return_index=True)
    return first


def _group_min(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, np.inf)
    np.minimum.at(out, group, values)
    return out


def _group_max(group: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    out = np.full(n, -np.inf)
    np.maximum.at(out, group, values)
    return out


def category_price_medians(orders: pd.DataFrame, cutoff: pd.Timestamp) -> dict[str, float]:
    """Median log unit price of each category's purchases by ``cutoff`` (guest sales included):
    where ``price_index`` measures a customer's price tier from."""
    rows = ((orders["order_date"] <= pd.Timestamp(cutoff)) & ~orders["is_return"]).to_numpy()
    cat_code, cat_names = _category_codes(orders, rows)
    return _price_medians(np.log(orders["unit_price"].to_numpy(dtype=float)[rows]), cat_code, cat_names)


def _price_medians(log_price: np.ndarray, cat_code: np.ndarray, cat_names: list[str]) -> dict[str, float]:
    return {name: float(np.median(log_price[cat_code == c])) if (cat_code == c).any() else 0.0
            for c, name in enumerate(cat_names)}


def _category_codes(orders: pd.DataFrame, rows: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """Integer category of the selected lines and the category names; a missing category is 'unknown'."""
    if "category" not in orders:  # an export without categories: a single mix
        return np.zeros(int(rows.sum()), dtype=np.int64), ["unknown"]
    cat = orders["category"] if isinstance(orders["category"].dtype, pd.CategoricalDtype) \
        else orders["category"].astype("category")
    names = [str(c) for c in cat.cat.categories]
    codes = cat.cat.codes.to_numpy()[rows].astype(np.int64)
    if (codes < 0).any():
        codes = np.where(codes < 0, len(names), codes)
        names.append("unknown")
    return codes, names


def _category_shares(cust: np.ndarray, cat_code: np.ndarray, cat_names: list[str], n: int,
                     categories: list[str] | None) -> pd.DataFrame:
    names = list(categories) if categories is not None else sorted(set(cat_names))
    # Column of each line's category in ``names``; a category outside ``categories`` counts only
    # towards the customer's total, so the listed shares then sum to less than 1.
    code = pd.Index(names).get_indexer(cat_names)[cat_code]
    known = code >= 0
    counts = np.bincount(cust[known].astype(np.int64) * len(names) + code[known],
                         minlength=n * len(names)).reshape(n, len(names))
    total = np.bincount(cust, minlength=n).astype(float)
    return pd.DataFrame(counts / total[:, None], columns=[category_column(c) for c in names])


def positions_in(index: pd.Index | pd.Series, values: pd.Series | pd.Index) -> np.ndarray:
    """Position of each value in ``index`` (-1 when absent), by an Arrow hash lookup.

    pandas' ``get_indexer`` takes seconds per million Arrow strings; Arrow's ``index_in`` does
    tens of millions in that time.
    """
    def arrow(x) -> pa.Array | pa.ChunkedArray:  # Arrow text of one type on both sides
        return pa.array(pd.Series(x, copy=False).astype(TEXT)).cast(pa.large_string())

    def lookup(x) -> np.ndarray:
        return pc.index_in(arrow(x), value_set=arrow(index)).fill_null(-1).to_numpy().astype(np.int64)

    if len(values) <= 4 * len(index):
        return lookup(values)
    # Ids repeat (order lines against customers): hash each line once, look up each distinct id once.
    code, uniques = pd.factorize(pd.Series(values, copy=False))
    found = lookup(pd.Index(uniques))
    return np.where(code >= 0, found[np.maximum(code, 0)], -1) if len(found) else np.full(len(code), -1)


def _interaction_counts(interactions: pd.DataFrame | None, cutoff: pd.Timestamp, index: pd.Index) -> pd.DataFrame:
    zeros = pd.DataFrame({"interactions": 0, "interactions_90d": 0}, index=index)
    if interactions is None or interactions.empty:
        return zeros
    known = (interactions["timestamp"] <= cutoff).to_numpy()
    row = positions_in(index, interactions["customer_id"])
    days = (cutoff.to_datetime64() - interactions["timestamp"].to_numpy()) / DAY
    ok = known & (row >= 0)
    return pd.DataFrame({"interactions": np.bincount(row[ok], minlength=len(index)),
                         "interactions_90d": np.bincount(row[ok & (days < RECENT_DAYS)], minlength=len(index))},
                        index=index)


def category_recency(orders: pd.DataFrame, cutoff: pd.Timestamp, index: pd.Index,
                     categories: list[str]) -> pd.DataFrame:
    """Days from each customer's last purchase in each category to the cutoff (NaN: never bought it).

    Rows follow ``index`` (customer ids), columns ``categories``; rows after the cutoff are ignored.
    """
    cutoff = pd.Timestamp(cutoff)
    rows = ((orders["order_date"] <= cutoff) & ~orders["is_return"]).to_numpy()
    n, k = len(index), len(categories)
    cat = orders["category"] if isinstance(orders["category"].dtype, pd.CategoricalDtype) \
        else orders["category"].astype("category")
    # Map the column's own categories onto ``categories`` once, then every line by its code.
    lookup = pd.Index([str(c) for c in categories]).get_indexer([str(c) for c in cat.cat.categories])
    codes = cat.cat.codes.to_numpy()[rows]
    col = np.where(codes >= 0, np.append(lookup, -1)[codes], -1)
    row = positions_in(index, orders["customer_id"][rows])
    keep = (row >= 0) & (col >= 0)
    key = row[keep].astype(np.int64) * k + col[keep]
    days = (cutoff.to_datetime64() - orders["order_date"].to_numpy()[rows][keep]) / DAY
    out = np.full(n * k, np.inf)
    np.minimum.at(out, key, days)
    out[np.isinf(out)] = np.nan
    return pd.DataFrame(out.reshape(n, k), index=index, columns=list(categories))
