"""Segmentation recovers the planted personas, is stable, and names and moves customers by rule."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import adjusted_rand_score

from crm_utils import artifacts
from crm_utils.customers import features, segmentation

CUTOFF = pd.Timestamp("2026-10-31 23:59:59")


@pytest.fixture(scope="module")
def default_features(default_cleaned):
    t = default_cleaned.tables
    f = features.customer_features(t["orders"], CUTOFF, t["interactions"])
    return features.with_signup(f, t["customers"], CUTOFF)


@pytest.fixture(scope="module")
def fitted(default_features):
    return segmentation.CustomerSegmenter(seed=42).fit(default_features)


def _persona(default_data, index: pd.Index) -> pd.Series:
    truth = pd.read_parquet(default_data / "_truth" / "customers.parquet")
    return truth.drop_duplicates("canonical_id").set_index("canonical_id")["persona"].reindex(index)


def test_segments_recover_the_planted_personas(fitted, default_features, default_data):
    persona = _persona(default_data, default_features.index)
    assert persona.notna().all()  # every cleaned customer is a planted one
    ari = adjusted_rand_score(persona, fitted.labels_)
    assert ari >= 0.75, f"ARI {ari:.3f} against the planted personas (k = {fitted.k_})"


def test_k_is_the_best_silhouette_and_the_curves_are_reported(fitted):
    table = fitted.selection_.table
    assert list(table["k"]) == list(range(2, 11))
    assert fitted.k_ == table.loc[table["silhouette"].idxmax(), "k"]
    assert (np.diff(table["inertia"]) < 0).all()  # inertia falls with k, so it cannot choose alone
    assert fitted.selection_.elbow_k in set(table["k"])


def test_same_seed_same_segments_other_seed_nearly_the_same(fitted, default_features):
    again = segmentation.CustomerSegmenter(seed=42).fit(default_features)
    np.testing.assert_array_equal(again.labels_, fitted.labels_)
    other = segmentation.CustomerSegmenter(seed=2024).fit(default_features)
    assert adjusted_rand_score(fitted.labels_, other.labels_) >= 0.9


def test_segment_ids_are_ordered_by_value(fitted, default_features):
    value = (default_features["frequency"] / np.maximum(default_features["tenure_days"] / 30.44, 1)
             * default_features["avg_order_value"])
    medians = value.groupby(fitted.labels_).median()
    assert medians.idxmax() == 0


def test_sampled_fit_assigns_everyone_and_agrees_with_the_full_fit(fitted, default_features):
    sampled = segmentation.CustomerSegmenter(seed=42, sample_size=3000).fit(default_features)
    assert len(sampled.labels_) == len(default_features)
    assert adjusted_rand_score(fitted.labels_, sampled.labels_) >= 0.9


def test_design_matrix_uses_rates_logs_and_root_shares():
    f = pd.DataFrame({"recency_days": [10.0, 400.0], "frequency": [24, 2], "monetary": [2400.0, 50.0],
                      "avg_order_value": [100.0, 25.0], "tenure_days": [12 * segmentation.MONTH_DAYS, 15.0], "orders_90d": [6, 0],
                      "return_rate": [0.0, 1.0], "price_index": [0.2, -0.4], "lines": [30, 1],
                      "interactions": [0, 0], "interactions_90d": [0, 0],
                      "cat_A": [0.25, 1.0], "cat_B": [0.75, 0.0]}, index=["x", "y"])
    d = segmentation.design_matrix(f, overall_return=0.1)
    assert d.loc["x", "log_orders_per_month"] == pytest.approx(np.log(24 / 12))
    assert d.loc["y", "log_orders_per_month"] == pytest.approx(np.log(2 / 1))  # under a month counts as one
    assert d.loc["x", "sqrt_cat_A"] == pytest.approx(0.5)
    # One returned line out of one is shrunk towards the overall 10% with five lines of prior.
    assert d.loc["y", "return_rate_shrunk"] == pytest.approx((1 + 5 * 0.1) / 6)
    assert "log_contacts_per_month" not in d  # no interaction log: no column of zeros


@pytest.mark.parametrize("r,f,m,tenure,expected", [
    (5, 5, 5, 400, "Champions"), (5, 5, 5, 30, "New"), (4, 4, 2, 400, "Loyal"), (3, 2, 5, 400, "Big spenders"),
    (5, 1, 1, 400, "Promising"), (2, 4, 4, 400, "At risk"), (2, 1, 1, 400, "Hibernating"),
    (1, 1, 2, 400, "Lost"), (3, 3, 3, 400, "Need attention"),
])
def test_rfm_label_follows_the_grid(r, f, m, tenure, expected):
    assert segmentation.rfm_label(r, f, m, tenure) == expected


def test_names_come_from_members_and_never_repeat():
    # Scores are quintiles of the base: 20 recent big Books buyers (the top fifth), 60 middling
    # Books-and-Garden buyers, 20 long-gone small Garden buyers (the bottom fifth). The middling
    # 60 span R scores 2, 3 and 4 (a third each): no RFM label is true of most of them.
    rng = np.random.default_rng(0)
    f = pd.DataFrame({"recency_days": np.r_[rng.uniform(1, 5, 20), rng.uniform(30, 90, 60), rng.uniform(300, 600, 20)],
                      "frequency": np.r_[rng.integers(50, 60, 20), rng.integers(5, 15, 60), rng.integers(1, 3, 20)],
                      "monetary": np.r_[rng.uniform(9000, 9900, 20), rng.uniform(300, 900, 60), rng.uniform(10, 50, 20)],
                      "tenure_days": np.full(100, 700.0),
                      "cat_Books": np.r_[np.full(20, 0.9), np.full(60, 0.5), np.full(20, 0.1)],
                      "cat_Garden": np.r_[np.full(20, 0.1), np.full(60, 0.5), np.full(20, 0.9)]})
    labels = np.r_[np.zeros(20, int), np.ones(60, int), np.full(20, 2)]
    names = segmentation.name_segments(f, labels)
    assert names.to_dict() == {0: "Champions · Books", 1: "Mixed RFM · mixed basket", 2: "Lost · Garden"}
    # Two segments with the same profile get distinguishable names.
    twins = segmentation.name_segments(f, np.r_[np.zeros(10, int), np.ones(10, int), np.full(80, 2)])
    assert twins.is_unique and twins[0] != twins[1]


def test_migration_matrix_counts_moves_and_newcomers():
    previous = pd.Series({"a": "Loyal", "b": "Loyal", "c": "At risk", "gone": "Lost"})
    current = pd.Series({"a": "Loyal", "b": "At risk", "c": "At risk", "new": "New"})
    m = segmentation.migration_matrix(previous, current, order=["Loyal", "At risk", "New"])
    assert list(m.columns) == ["Loyal", "At risk", "New"]
    assert list(m.index) == ["Loyal", "At risk", segmentation.NOT_YET]
    assert m.loc["Loyal", "Loyal"] == 1 and m.loc["Loyal", "At risk"] == 1
    assert m.loc[segmentation.NOT_YET, "New"] == 1 and m.to_numpy().sum() == len(current)
    s = segmentation.migration_summary(previous, current)
    assert s == {"customers": 4, "new_since_last_month": 1, "stayed": 2, "moved": 1, "stayed_share": 2 / 3}


def test_previous_segments_prefer_last_months_report(tmp_path, fitted, default_features, default_cleaned):
    names = segmentation.name_segments(default_features, fitted.labels_)
    t = default_cleaned.tables
    last = artifacts.LastMonth(tmp_path / "2026-10", "2026-10")
    recomputed, source = segmentation.previous_segments(last, fitted, names, t["orders"], t["interactions"],
                                                        t["customers"])
    september = features.customer_table(t["orders"], pd.Timestamp("2026-09-30 23:59:59"), t["interactions"],
                                        t["customers"])
    assert source.startswith("recomputed") and recomputed.index.equals(september.index)
    assert (recomputed.to_numpy() == names.reindex(fitted.predict(september)).to_numpy()).all()
    artifacts.write_table(tmp_path / "2026-09", "segments",
                          pd.DataFrame({"customer_id": ["C1"], "segment_id": [0], "segment_name": ["Loyal"]}))
    # last month's report exists: its segments are used, whatever the orders say
    stored, source = segmentation.previous_segments(last, fitted, names, t["orders"].iloc[:0])
    assert "last month's report (2026-09)" in source and stored.to_dict() == {"C1": "Loyal"}


def test_first_month_of_the_data_has_no_previous_segments_and_tiny_data_still_maps(fitted, default_cleaned, tmp_path):
    orders = default_cleaned.tables["orders"]
    first = str(orders["order_date"].min().to_period("M"))  # nobody had bought before the data's first month
    previous, source = segmentation.previous_segments(artifacts.LastMonth(tmp_path / first, first), fitted,
                                                      pd.Series(dtype=str), orders)
    assert previous is None and "nobody had bought" in source
    coords, explained = segmentation.pca_projection(np.ones((1, 5)))
    assert coords.shape == (1, 2) and len(explained) == 2


def test_density_comparison_reports_each_method(fitted, default_features):
    z = fitted.transform(default_features)
    table, extra = segmentation.compare_density_clusterings(z, fitted.labels_, seed=1, sample_size=1500)
    assert list(table["method"]) == ["K-means", "DBSCAN", "HDBSCAN"]
    assert table.loc[0, "ari_vs_kmeans"] == 1.0 and table.loc[0, "noise_share"] == 0
    assert extra["min_samples"] == 2 * z.shape[1] and extra["eps"] > 0
    sens = segmentation.dbscan_sensitivity(z[extra["rows"]], extra["eps"], extra["min_samples"])
    assert sens["noise_share"].is_monotonic_decreasing  # a larger radius never makes more noise


def test_elbow_of_a_sharp_curve():
    ks = np.arange(2, 9)
    inertia = np.array([100, 40, 12, 10, 9, 8, 7.5])
    assert segmentation.elbow_k(ks, inertia) == 4
