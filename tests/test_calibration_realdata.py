"""Expected buyers add up on a real export: the sum of p_purchase against the customers who did buy.

Superstore (Tableau's US sample) is imported and cleaned as a user's export would be. Its buyers
swing from month to month (December is a fifth below November), which the old calibration,
fitted for another model on an older month, missed by 29%.
"""

from __future__ import annotations

import pandas as pd
import pytest

import realdata
from crm_utils.data import cleaning, importer, io
from crm_utils.needs import prediction, propensity


@pytest.fixture(scope="module")
def superstore(tmp_path_factory, key):
    """Superstore's orders, cleaned to the end of its data (December 2017)."""
    out = tmp_path_factory.mktemp("superstore")
    importer.import_export(realdata.path("superstore/Sample - Superstore.csv"), realdata.mapping("superstore"), out)
    orders = cleaning.clean(io.load_raw(out), "2017-12", key=key).tables["orders"]
    return orders, sorted(orders["category"].dropna().unique().astype(str))


def _within(expected: float, realised: int) -> bool:
    return abs(expected - realised) <= propensity.BUYERS_TOLERANCE * realised


def test_expected_buyers_of_the_shipped_scores_match_december_2017(superstore):
    """The report of November 2017 scores every active customer; December's buyers judge the sum."""
    orders, cats = superstore
    study = propensity.PropensityStudy(orders, "2017-11", categories=cats).run()
    scored = prediction.NeedScorer.from_studies(study).score(orders, study.plan.scoring)
    end = study.plan.scoring + pd.Timedelta(days=study.horizon_days)
    assert orders["order_date"].max() >= pd.Timestamp("2017-12-30")  # the window lies in the data
    realised = int(scored["customer_id"].isin(propensity.buyers_between(orders, study.plan.scoring, end)).sum())
    expected = scored["p_purchase"].sum()
    assert realised == 168 and len(scored) == 680  # the export's December buyers among November's actives
    assert _within(expected, realised), (expected, realised)


def test_test_month_check_of_the_report_of_december_2017(superstore):
    """The report of December 2017: its test month (December) judges the calibration procedure."""
    orders, cats = superstore
    study = propensity.PropensityStudy(orders, "2017-12", categories=cats).run()
    check = study.check_
    assert check["cutoff"] == "2017-11-30" and check["realised"] == 168
    assert check["expected"] == pytest.approx(study.test_probabilities().sum())
    assert check["within_tolerance"] and _within(check["expected"], check["realised"])
    lo, hi = check["interval"]
    assert lo < check["expected"] < hi and study.figures()["buyers_check"] == check
