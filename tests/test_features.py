"""Customer features: right by hand, and blind to everything after the cutoff."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crm_utils.customers import features


def _orders(rows: list[tuple]) -> pd.DataFrame:
    df = pd.DataFrame(rows, columns=["order_id", "customer_id", "order_date", "category", "quantity", "unit_price"])
    df["order_date"] = pd.to_datetime(df["order_date"])
    df["is_return"] = df["quantity"] < 0
    df["line_revenue"] = df["quantity"] * df["unit_price"]
    return df


HAND = _orders([
    ("O1", "A", "2026-01-10", "Books", 1, 10.0),
    ("O1", "A", "2026-01-10", "Grocery", 2, 5.0),   # same order: one order, two lines
    ("O2", "A", "2026-03-01", "Books", 1, 30.0),
    ("R1", "A", "2026-03-05", "Books", -1, 30.0),   # return of O2
    ("O3", "B", "2026-02-15", "Grocery", 4, 5.0),
    ("O4", "B", "2026-04-20", "Grocery", 1, 5.0),   # after the cutoff below
    ("O5", "C", "2026-04-02", "Books", 1, 10.0),    # C has bought only after the cutoff
])
CUTOFF = pd.Timestamp("2026-03-31 23:59:59")


def test_features_by_hand():
    f = features.customer_features(HAND, CUTOFF)
    assert list(f.index) == ["A", "B"]  # C had not bought yet
    a, b = f.loc["A"], f.loc["B"]
    assert a["frequency"] == 2 and b["frequency"] == 1
    assert a["recency_days"] == pytest.approx((CUTOFF - pd.Timestamp("2026-03-01")) / pd.Timedelta(days=1))
    assert a["tenure_days"] == pytest.approx((CUTOFF - pd.Timestamp("2026-01-10")) / pd.Timedelta(days=1))
    assert a["monetary"] == pytest.approx(10 + 10 + 30 - 30)  # net of the return
    assert a["avg_order_value"] == pytest.approx(50 / 2)  # purchases per order, before returns
    assert a["return_rate"] == pytest.approx(1 / 4)  # one of four units bought came back
    assert a["lines"] == 3
    assert a["cat_Books"] == pytest.approx(2 / 3) and a["cat_Grocery"] == pytest.approx(1 / 3)
    assert b["monetary"] == pytest.approx(20) and b["return_rate"] == 0
    # Books prices 10 and 30 around a median of 10 (three lines: 10, 30, 10): A paid the dear end.
    assert a["price_index"] > 0
    assert np.allclose(f[features.category_columns(f)].sum(axis=1), 1.0)


def test_features_ignore_rows_after_the_cutoff(default_cleaned):
    """Features computed with and without later data present are identical: no leakage."""
    orders, interactions = default_cleaned.tables["orders"], default_cleaned.tables["interactions"]
    cutoff = pd.Timestamp("2026-04-30 23:59:59")  # six months of later rows exist in the data
    assert (orders["order_date"] > cutoff).sum() > 10_000
    cats = sorted(orders["category"].dropna().unique().astype(str))
    with_future = features.customer_features(orders, cutoff, interactions, categories=cats)
    without = features.customer_features(orders[orders["order_date"] <= cutoff], cutoff,
                                         interactions[interactions["timestamp"] <= cutoff], categories=cats)
    pd.testing.assert_frame_equal(with_future, without)
    # And the later rows would have changed them: the comparison above can fail.
    later = features.customer_features(orders, pd.Timestamp("2026-10-31 23:59:59"), interactions, categories=cats)
    assert not later.reindex(with_future.index)["frequency"].equals(with_future["frequency"])


def test_signup_extends_tenure_but_never_from_the_future():
    customers = pd.DataFrame({"customer_id": ["A", "B"],
                              "signup_date": pd.to_datetime(["2025-12-01", "2026-05-01"])})
    f = features.with_signup(features.customer_features(HAND, CUTOFF), customers, CUTOFF)
    assert f.loc["A", "tenure_days"] == pytest.approx((CUTOFF - pd.Timestamp("2025-12-01")) / pd.Timedelta(days=1))
    # B's sign-up date lies after the cutoff (a data error): tenure stays at the first purchase.
    assert f.loc["B", "tenure_days"] == pytest.approx((CUTOFF - pd.Timestamp("2026-02-15")) / pd.Timedelta(days=1))


def test_interactions_are_counted_up_to_the_cutoff():
    inter = pd.DataFrame({"customer_id": ["A", "A", "A", "Z"],
                          "timestamp": pd.to_datetime(["2025-06-01", "2026-03-30", "2026-04-02", "2026-03-01"])})
    f = features.customer_features(HAND, CUTOFF, inter)
    assert f.loc["A", "interactions"] == 2 and f.loc["A", "interactions_90d"] == 1
    assert f.loc["B", "interactions"] == 0


def test_fixed_categories_line_up_and_missing_category_column_works():
    f = features.customer_features(HAND, CUTOFF, categories=["Books", "Garden", "Grocery"])
    assert features.category_columns(f) == ["cat_Books", "cat_Garden", "cat_Grocery"]
    assert (f["cat_Garden"] == 0).all()
    no_cat = features.customer_features(HAND.drop(columns="category"), CUTOFF)
    assert features.category_columns(no_cat) == ["cat_unknown"]


def test_no_purchase_by_the_cutoff_is_a_clear_error():
    with pytest.raises(ValueError, match="no purchases on or before 2025-01-01"):
        features.customer_features(HAND, pd.Timestamp("2025-01-01"))
    with pytest.raises(ValueError, match="orders lack"):
        features.customer_features(HAND.drop(columns="line_revenue"), CUTOFF)


def test_recency_and_tenure_are_never_negative(default_cleaned):
    f = features.customer_features(default_cleaned.tables["orders"], pd.Timestamp("2026-10-31 23:59:59"))
    assert (f["recency_days"] >= 0).all() and (f["tenure_days"] >= f["recency_days"]).all()
    assert np.isfinite(f.to_numpy(dtype=float)).all()


def test_category_recency_by_hand():
    r = features.category_recency(HAND, CUTOFF, pd.Index(["A", "B", "C"]), ["Books", "Garden", "Grocery"])
    day = pd.Timedelta(days=1)
    assert r.loc["A", "Books"] == pytest.approx((CUTOFF - pd.Timestamp("2026-03-01")) / day)  # the return is no purchase
    assert r.loc["A", "Grocery"] == pytest.approx((CUTOFF - pd.Timestamp("2026-01-10")) / day)
    assert r.loc["B", "Grocery"] == pytest.approx((CUTOFF - pd.Timestamp("2026-02-15")) / day)  # not April's order
    assert r.loc[["A", "B"], "Garden"].isna().all() and r.loc["C"].isna().all()  # never bought / only later


def test_an_order_id_reused_by_two_customers_counts_once_for_each():
    # Some exports number orders per shop or per day, so the same id belongs to several customers.
    reused = _orders([
        ("O1", "A", "2025-12-01", "Books", 1, 10.0),
        ("O1", "A", "2025-12-01", "Books", 1, 10.0),
        ("O1", "B", "2026-03-20", "Books", 1, 10.0),
        ("O2", "B", "2026-03-21", "Books", 1, 10.0),
    ])
    f = features.customer_features(reused, CUTOFF)
    assert f["frequency"].to_dict() == {"A": 1, "B": 2}
    assert f["orders_90d"].to_dict() == {"A": 0, "B": 2}


def test_positions_of_many_repeated_ids_in_a_small_index():
    index = pd.Index(["b", "a"])
    lines = pd.Series(["a", "c", None, "b"] * 50, dtype="string[pyarrow]")  # many more lines than ids
    assert features.positions_in(index, lines).tolist() == [1, -1, -1, 0] * 50
    assert features.positions_in(index, lines[:4]).tolist() == [1, -1, -1, 0]
