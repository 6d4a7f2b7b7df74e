"""Retail events as the data declare them (mapping key ``retail_events``, issue 24): a registry of
known events, checked names, the default list when the key is absent, and the Chinese shop's
618 and Spring Festival reaching the forecast's calendar."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from crm_utils import synth
from crm_utils.config import PROJECT_ROOT
from crm_utils.data import importer
from crm_utils.data import mapping as mapping_rules
from crm_utils.data.schema import ContractError
from crm_utils.data.sources import FolderSource
from crm_utils.demand import series as demand
from crm_utils.run import pipeline

#: The regressor columns the default (English) data have always had: they must not change.
DEFAULT_COLUMNS = ["event_black_friday_weekend", "event_cyber_monday", "event_singles_day_11_11",
                   "event_christmas_shopping"]


def _days(event: demand.RetailEvent, year: int) -> pd.DatetimeIndex:
    anchor = event.anchor(year)
    return pd.date_range(anchor + pd.Timedelta(days=event.lower_window),
                         anchor + pd.Timedelta(days=event.upper_window))


def test_the_registry_places_618_and_the_spring_festival_season():
    days_618 = _days(demand.KNOWN_RETAIL_EVENTS["mid_year_618"], 2025)
    assert days_618[-1] == pd.Timestamp("2025-06-18") and list(days_618.day) == [16, 17, 18]
    # Chinese New Year 2025 fell on January 29 (2026: February 17): the season is the two weeks
    # ending three days before it, when couriers stop.
    assert demand.spring_festival(2025) == pd.Timestamp("2025-01-29")
    spring = _days(demand.KNOWN_RETAIL_EVENTS["spring_festival"], 2025)
    assert (spring[0], spring[-1], len(spring)) == (pd.Timestamp("2025-01-13"), pd.Timestamp("2025-01-26"), 14)
    assert _days(demand.KNOWN_RETAIL_EVENTS["spring_festival"], 2026)[-1] == pd.Timestamp("2026-02-14")


def test_an_unknown_event_is_an_error_naming_it_and_the_known_ones():
    with pytest.raises(ContractError, match=r"mapping\.yml: retail_events: unknown event\(s\) '618'; "
                                            r"known events are black_friday, .*mid_year_618, spring_festival"):
        mapping_rules.check_document({"retail_events": ["singles_day", "618"], "tables": {}}, "mapping.yml")
    with pytest.raises(ContractError, match="retail_events: must be a list of event names"):
        mapping_rules.document_retail_events({"retail_events": "singles_day"}, "mapping.yml")
    with pytest.raises(ValueError, match=r"unknown event\(s\) \['boxing_day'\]; known events are black_friday"):
        demand.retail_events(["boxing_day"])
    with pytest.raises(ContractError, match="the retail_events parameter: retail_events: unknown event"):
        mapping_rules.data_retail_events(["cyber_tuesday"])


def test_without_a_declaration_the_default_events_are_unchanged(tmp_path):
    assert [e.name for e in demand.RETAIL_EVENTS] == ["Black Friday weekend", "Cyber Monday",
                                                      "Singles' Day 11.11", "Christmas shopping"]
    assert [(e.lower_window, e.upper_window) for e in demand.RETAIL_EVENTS] == [(0, 2), (0, 0), (0, 0), (-22, 0)]
    (tmp_path / "mapping.yml").write_text("currency: EUR\n")
    assert mapping_rules.data_retail_events(None, tmp_path) == list(demand.DEFAULT_RETAIL_EVENTS)
    (tmp_path / "mapping.yml").write_text("retail_events: []\n")
    assert mapping_rules.data_retail_events(None, tmp_path) == [] and demand.retail_events([]) == ()
    # From the command line: names separated by commas, or a list.
    assert mapping_rules.data_retail_events("singles_day, mid_year_618") == ["singles_day", "mid_year_618"]
    s = _series(pd.Timestamp("2025-12-31"))
    counts = demand.calendar_counts(demand.calendar_for(s, 13), s.frame["ds"].drop_duplicates(), "W")
    assert sorted(counts.columns) == sorted(DEFAULT_COLUMNS)


def _series(cutoff: pd.Timestamp) -> demand.DemandSeries:
    """A tiny weekly series of a shop in Guangdong through 2025: one order line a day."""
    days = pd.date_range("2025-01-01", cutoff, freq="D")
    orders = pd.DataFrame({"customer_id": "C1", "order_date": days, "category": "home",
                           "quantity": 1.0, "line_revenue": 10.0, "is_return": False, "is_outlier": False})
    customers = pd.DataFrame({"customer_id": ["C1"], "region": ["广东省"]})
    return demand.build_series(orders, customers, cutoff=cutoff, levels=["total"])


@pytest.fixture(scope="module")
def zh_tiny(tmp_path_factory):
    out = tmp_path_factory.mktemp("zh_events")
    synth.generate(out, synth.SynthConfig(customers=200, seed=3, months=4, locale="zh_CN"), workers=1)
    return out


def test_the_chinese_shop_declares_its_events_and_the_calendar_has_them(zh_tiny):
    declared = yaml.safe_load((zh_tiny / "mapping.yml").read_text(encoding="utf-8"))
    assert declared["retail_events"] == ["spring_festival", "mid_year_618", "singles_day"]
    names = mapping_rules.data_retail_events(None, zh_tiny)
    s = _series(pd.Timestamp("2025-12-31"))
    calendar = demand.calendar_for(s, 13, events=demand.retail_events(names),
                                   holidays=mapping_rules.declared_holidays(zh_tiny / "mapping.yml"))
    events = calendar.frame[calendar.frame["kind"] == "retail event"]
    assert set(events["holiday"]) == {"Spring Festival shopping", "618 mid-year sale", "Singles' Day 11.11"}
    counts = demand.calendar_counts(calendar, s.frame["ds"].drop_duplicates(), "W")
    assert counts["event_618_mid_year_sale"].sum() == 3  # June 16-18, 2025
    assert counts["event_spring_festival_shopping"].sum() == 14  # January 13-26, 2025
    assert "event_black_friday_weekend" not in counts and "holidays:(whole shop)" in counts
    # Every day the generator planted an event on (its ground truth) lies in a declared event's window.
    planted = pd.to_datetime([e["date"] for e in json.loads((zh_tiny / "_truth" / "manifest.json").read_text())
                              ["retail_events"]])
    assert len(planted) >= 18  # a year's season (14 days), 618 with its run-up (3) and 11.11
    windows = np.concatenate([_days(e, y).values for e in demand.retail_events(names) for y in set(planted.year)])
    assert planted.isin(windows).all()


def test_import_carries_the_declared_events_into_the_run_folder(tmp_path):
    mapping = tmp_path / "shop.yml"
    mapping.write_text((PROJECT_ROOT / "data" / "mappings" / "generic_crm.yml").read_text(encoding="utf-8")
                       .replace("holidays: {regions_are: countries}\n",
                                "holidays: {regions_are: countries}\nretail_events: [singles_day, mid_year_618]\n"),
                       encoding="utf-8")
    out = importer.import_export(PROJECT_ROOT / "data" / "examples" / "generic_crm", mapping, tmp_path / "raw").out
    assert mapping_rules.declared_retail_events(out / "mapping.yml") == ["singles_day", "mid_year_618"]
    assert mapping_rules.data_retail_events(None, out) == ["singles_day", "mid_year_618"]


def test_the_runner_gives_notebook_08_the_datas_events_and_a_p_value_wins(zh_tiny):
    src = FolderSource(zh_tiny)
    base = pipeline.base_parameters(src, "2026-10", zh_tiny / "run", 42)
    declared = {**dict.fromkeys(base), "retail_events": None}
    params = pipeline.notebook_parameters(src, base, declared, {}, notebook="08_demand_forecasting.ipynb")
    assert params["retail_events"] == ["spring_festival", "mid_year_618", "singles_day"]
    params = pipeline.notebook_parameters(src, base, declared, {"08.retail_events": "singles_day"},
                                          notebook="08_demand_forecasting.ipynb")
    assert mapping_rules.data_retail_events(params["retail_events"]) == ["singles_day"]
    assert "retail_events" not in pipeline.notebook_parameters(src, base, dict.fromkeys(base), {})
