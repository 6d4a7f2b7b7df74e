"""Demand series for forecasting: weekly (or daily) demand per series from cleaned order lines,
and the calendar of public holidays and retail events that moves it.

:func:`build_series` applies the rules (returns, bulk orders, complete periods, explicit zeros)
and keeps a ledger of what it left out; :func:`event_calendar` lists public holidays of the regions
present (``holidays`` package) and retail events, each with a window of days;
:func:`calendar_counts` and :func:`calendar_regressors` turn them into per-period regressors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

import holidays as holidays_lib
import numpy as np
import pandas as pd

from crm_utils import coverage, linecodes
from crm_utils.customers import features
from crm_utils.i18n import N_, _

LEVELS = ("total", "category", "region", "category_region")
#: The cleaned order columns demand series (and the report's forecast check) read.
ORDER_COLUMNS = ["customer_id", "order_date", "category", "quantity", "line_revenue", "is_return", "is_outlier"]
PERIOD_DAYS = {"W": 7, "D": 1}


@dataclass
class DemandSeries:
    """Demand per series and period, ready for the models.

    ``frame`` holds one row per series and period: ``series`` (its name), ``level``,
    ``category`` and ``region`` (empty where the level does not split by them), ``ds`` (the last
    day of the period) and ``y`` (demand). ``ledger`` says how many order lines and units went
    in and what was left out, so nothing disappears unaccounted.
    """

    frame: pd.DataFrame
    ledger: pd.DataFrame
    freq: str
    measure: str
    cutoff: pd.Timestamp
    region_weights: pd.Series  # share of demand per region, for holiday regressors of aggregates
    notes: list[str] = field(default_factory=list)
    end: pd.Timestamp | None = None  # the last complete period (the cutoff's, unless the data stop earlier)

    def __post_init__(self) -> None:
        if self.end is None:
            self.end = self.frame["ds"].max() if len(self.frame) else self.cutoff.normalize()

    @property
    def names(self) -> list[str]:
        return self.frame["series"].drop_duplicates().tolist()

    def history(self, name: str) -> pd.DataFrame:
        """One series' periods (``ds``, ``y``)."""
        out = self.frame.loc[self.frame["series"] == name, ["ds", "y"]].reset_index(drop=True)
        if out.empty:
            raise KeyError(f"no series named {name!r}; have e.g. {self.names[:5]}")
        return out

    def summary(self) -> pd.DataFrame:
        """Per series: level, first and last period, periods, share of zero periods, total demand."""
        g = self.frame.groupby("series", sort=False)
        zero = (self.frame["y"] == 0).groupby(self.frame["series"], sort=False).mean()
        out = pd.DataFrame({"level": g["level"].first(), "first": g["ds"].min(), "last": g["ds"].max(),
                            "periods": g.size(), "zero_share": zero, "total": g["y"].sum()})
        return out.reset_index()


def series_name(level: str, category: str | None = None, region: str | None = None) -> str:
    """The name under which a series appears in every table and artifact."""
    if level == "total":
        return "total"
    if level == "category":
        return f"category={category}"
    if level == "region":
        return f"region={region}"
    if level == "category_region":
        return f"category={category}, region={region}"
    raise ValueError(f"unknown level {level!r}; levels are {LEVELS}")


def period_end(dates: pd.Series, cutoff: pd.Timestamp, freq: str) -> pd.Series:
    """The last day of the period each date falls in.

    Weeks end on the cutoff's weekday, so the last week ends exactly with the report month and
    no week is ever half known; the forecast's first week starts the day after the cutoff.
    """
    day = dates.dt.normalize()
    if freq == "D":
        return day
    end = cutoff.normalize()
    days_before = (end - day).dt.days
    return end - pd.to_timedelta((days_before // 7) * 7, unit="D")


def _day_cells(orders: pd.DataFrame, customers: pd.DataFrame | None, value_col: str) -> pd.DataFrame:
    """Order lines summed per day, category, region (when ``customers`` is given), return and
    bulk flag: ``value`` (the measure), ``abs_value`` and ``lines``.

    Categories and regions are integer codes while the lines are summed; their names (missing:
    'unknown') are attached to the cells only.
    """
    day = linecodes.day_numbers(orders["order_date"])
    first_day = int(day.min())
    parts = {"day": (day - first_day, int(day.max()) - first_day + 1)}
    names: dict[str, pd.Index] = {}
    if "category" in orders.columns:
        cat, cat_names = pd.factorize(orders["category"])
        names["category"] = pd.Index(pd.Series(cat_names, dtype="object").astype("string").fillna("unknown"))
        parts["category"] = _with_unknown(cat, names, "category")
    if customers is not None:
        table = customers.drop_duplicates("customer_id")
        region, region_names = pd.factorize(table["region"])
        names["region"] = pd.Index(pd.Series(region_names, dtype="object").astype("string").fillna("unknown"))
        row = features.positions_in(table["customer_id"], orders["customer_id"])
        parts["region"] = _with_unknown(np.where(row >= 0, region[np.maximum(row, 0)], -1), names, "region")
    parts["is_return"] = (orders["is_return"].to_numpy(dtype=bool).astype(np.int64), 2)
    parts["is_outlier"] = (orders["is_outlier"].to_numpy(dtype=bool).astype(np.int64), 2)
    key = np.zeros(len(orders), dtype=np.int64)
    for code, size in parts.values():
        key = key * size + code
    cell, cell_key = pd.factorize(key)
    n = len(cell_key)
    value = orders[value_col].to_numpy(dtype=float)
    out = {}
    for col, (_codes, size) in reversed(parts.items()):  # undo the mixed-radix key, last part first
        cell_key, out[col] = np.divmod(cell_key, size)
    frame = pd.DataFrame({
        "day": pd.to_datetime(out["day"] + first_day, unit="D"),
        **{col: names[col].take(out[col]).to_numpy() for col in names},
        "is_return": out["is_return"].astype(bool), "is_outlier": out["is_outlier"].astype(bool),
        "value": np.bincount(cell, value, minlength=n),
        "abs_value": np.bincount(cell, np.abs(value), minlength=n),
        "lines": np.bincount(cell, minlength=n),
    })
    if "category" not in names:
        frame["category"] = "unknown"
    return frame


def _with_unknown(code: np.ndarray, names: dict[str, pd.Index], col: str) -> tuple[np.ndarray, int]:
    """Codes with a missing value (-1) pointing at an 'unknown' name, and the number of names."""
    if (code < 0).any():
        names[col] = names[col].append(pd.Index(["unknown"], dtype=names[col].dtype))
        code = np.where(code < 0, len(names[col]) - 1, code)
    return code.astype(np.int64), len(names[col])


def _require(frame: pd.DataFrame, table: str, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{table}: column(s) {missing} missing; demand series need {list(columns)} "
                         f"(have {list(frame.columns)[:12]})")


def build_series(orders: pd.DataFrame, customers: pd.DataFrame | None = None, *,
                 cutoff: pd.Timestamp, freq: str = "W", measure: str = "units",
                 levels: Sequence[str] = LEVELS, include_outliers: bool = False) -> DemandSeries:
    """Demand per series and period from cleaned order lines, up to ``cutoff``.

    The rules, each visible in the ledger:

    * **Returns** are not subtracted. Demand is what customers ordered (units, or revenue at
      the price paid) on the day they ordered; a return reverses a sale weeks later and says
      nothing about demand in the week it arrives. Return rates are reported beside the
      forecast (:func:`return_rates`) for anyone who needs net figures.
    * **Bulk lines** (``is_outlier``, flagged in notebook 01) are left out unless
      ``include_outliers``: one 300-unit order is a deal, not a change in weekly demand, and would
      dominate both the fit and the backtest scores.
    * **Periods**: weeks end on the cutoff's weekday. Lines before the first complete period
      are left out (the shop's first, partial week). Lines after ``cutoff`` are an error: the
      report must not know them.
    * **Zeros**: every period from a series' first sale to the cutoff is present, 0 where
      nothing sold; the shop counts as open for that whole span (the data contract has no
      opening days). Before its first sale a series does not exist yet.
    * **The data's end**: when the data stop before the cutoff (:func:`crm_utils.coverage.data_end`),
      the period they stop in and any after it are unknown, not zero: they are left out, and
      ``end`` is the last complete period, from which the forecast starts.
    """
    if freq not in PERIOD_DAYS:
        raise ValueError(f"freq must be 'W' (weekly) or 'D' (daily), got {freq!r}")
    if measure not in ("units", "revenue"):
        raise ValueError(f"measure must be 'units' or 'revenue', got {measure!r}")
    unknown = set(levels) - set(LEVELS)
    if unknown:
        raise ValueError(f"unknown level(s) {sorted(unknown)}; levels are {LEVELS}")
    value_col = "quantity" if measure == "units" else "line_revenue"
    _require(orders, "orders", ["order_date", "quantity", "is_return", "is_outlier", value_col])
    cutoff = pd.Timestamp(cutoff)
    notes: list[str] = []
    if orders.empty:
        raise ValueError("orders: no order lines, nothing to forecast")
    late = orders["order_date"] > cutoff
    if late.any():
        raise ValueError(f"orders: {int(late.sum())} line(s) dated after the cutoff {cutoff:%Y-%m-%d} "
                         f"(e.g. {orders.loc[late, 'order_date'].head(3).dt.strftime('%Y-%m-%d').tolist()}); "
                         f"the report must not know them")

    # Demand only ever adds lines up per day, category and region: sum the order lines into
    # those cells once (tens of millions of lines, a few hundred thousand cells), then apply
    # every rule below to the cells.
    has_region = customers is not None and "region" in customers.columns and "customer_id" in orders.columns
    o = _day_cells(orders, customers if has_region else None, value_col)
    o["ds"] = period_end(o["day"], cutoff, freq)
    # Regions come from the customers table; they also weigh public holidays for the series
    # that span several regions, so they are looked up even when no region series is wanted.
    if has_region:
        n_unknown = int(o.loc[o["region"] == "unknown", "lines"].sum())
        if n_unknown and any("region" in lv for lv in levels):
            notes.append(f"{n_unknown:,} order lines have no known region: they form region 'unknown'")
    else:
        notes.append("no customers table with a region: no region series")
        levels = [lv for lv in levels if "region" not in lv]

    first_day = orders["order_date"].min().normalize()
    first_period = first_day + pd.Timedelta(days=PERIOD_DAYS[freq] - 1)
    first_period = o.loc[o["ds"] >= first_period, "ds"].min() if (o["ds"] >= first_period).any() else pd.NaT
    partial = o["ds"] < first_period if pd.notna(first_period) else pd.Series(True, index=o.index)
    last_sale = orders["order_date"].max()
    known_to = coverage.data_end(o["day"], cutoff)  # the day cells: one date per sale day, not per line
    # A period is complete when the data reach its last day.
    last_complete = known_to if freq == "D" else period_end(pd.Series([known_to]), cutoff, freq).iloc[0]
    if last_complete > known_to:
        last_complete -= pd.Timedelta(days=PERIOD_DAYS[freq])

    after = o["ds"] > last_complete  # the data's last, incomplete period(s)
    sale = ~o["is_return"]
    used = sale & ~partial & ~after & (include_outliers | ~o["is_outlier"])
    ledger = pd.DataFrame([
        ("sale lines used", used),
        ("returns (not subtracted: see return rates)", o["is_return"]),
        ("bulk lines (is_outlier) left out" if not include_outliers else "bulk lines (is_outlier) included",
         sale & o["is_outlier"] & ~partial & ~after),
        ("sale lines before the first complete period", sale & partial),
        ("sale lines in the incomplete period the data end in", sale & after),
    ], columns=["what", "mask"])
    ledger["lines"] = [int(o.loc[m, "lines"].sum()) for m in ledger["mask"]]
    ledger[measure] = [float(o.loc[m, "abs_value"].sum()) for m in ledger["mask"]]
    ledger = ledger.drop(columns="mask")
    optional = (ledger["what"].str.startswith("bulk") & (not include_outliers)) | ledger["what"].str.contains("incomplete")
    ledger = ledger[~(optional & (ledger["lines"] == 0))]
    if pd.isna(first_period) or first_period > last_complete:
        raise ValueError(f"orders: the data ({first_day:%Y-%m-%d} to {last_sale:%Y-%m-%d}) hold no complete "
                         f"{'week' if freq == 'W' else 'day'} before the cutoff; nothing to forecast")
    if known_to < cutoff.normalize():
        unit = "week" if freq == "W" else "day"
        notes.append(f"the data end on {known_to:%Y-%m-%d}, before the cutoff {cutoff:%Y-%m-%d}: the {unit}s after "
                     f"{last_complete:%Y-%m-%d} are not complete and are left out (not counted as zero demand); "
                     f"the forecast starts after {last_complete:%Y-%m-%d}")

    periods = pd.date_range(first_period, last_complete, freq=f"{PERIOD_DAYS[freq]}D")
    # A series exists from its first sale line (bulk lines included: a series of only bulk
    # orders is a series with zero regular demand, not an absent one).
    exists = sale & ~partial & ~after
    keys = {"total": [], "category": ["category"], "region": ["region"],
            "category_region": ["category", "region"]}
    parts = []
    grid_ds = pd.DataFrame({"ds": periods})
    for level in levels:
        k = keys[level]
        if k:
            firsts = o[exists].groupby(k, observed=True)["ds"].min().rename("first").reset_index()
            sums = o[used].groupby(k + ["ds"], observed=True)["value"].sum().rename("y").reset_index()
        else:
            firsts = pd.DataFrame({"first": [o.loc[exists, "ds"].min()]})
            sums = o[used].groupby("ds")["value"].sum().rename("y").reset_index()
        for col in ("category", "region"):
            if col not in firsts.columns:
                firsts[col] = None
        # One name per series (not per row), then every period from the series' first sale.
        firsts["series"] = [series_name(level, c, r) for c, r in zip(firsts["category"], firsts["region"])]
        grid = firsts.merge(grid_ds, how="cross")
        grid = grid[grid["ds"] >= grid["first"]].drop(columns="first")
        part = grid.merge(sums, on=k + ["ds"], how="left").fillna({"y": 0.0}).assign(level=level)
        parts.append(part[["series", "level", "category", "region", "ds", "y"]])
    frame = pd.concat(parts, ignore_index=True)
    for col in ("series", "level", "category", "region"):
        frame[col] = frame[col].astype("string")
    if "region" in o.columns:
        by_region = o[used].groupby("region")["value"].sum()
        weights = by_region / by_region.sum() if by_region.sum() > 0 else by_region * 0
    else:
        weights = pd.Series(dtype=float)
    return DemandSeries(frame, ledger.reset_index(drop=True), freq, measure, cutoff, weights, notes, last_complete)


def return_rates(orders: pd.DataFrame, by: str = "category", since: pd.Timestamp | None = None) -> pd.DataFrame:
    """Units returned per unit sold, by group: the factor that turns gross demand into net.

    Dated by line date, so it is a rate over the window, not a per-sale match.
    """
    _require(orders, "orders", ["quantity", "is_return", by])
    o = orders if since is None else orders[orders["order_date"] >= since]
    units = o["quantity"].abs()
    g = pd.DataFrame({by: o[by], "sold": units.where(~o["is_return"], 0.0),
                      "returned": units.where(o["is_return"], 0.0)}).groupby(by, observed=True).sum()
    g["return_rate"] = g["returned"] / g["sold"].where(g["sold"] > 0)
    return g.reset_index().sort_values("return_rate", ascending=False).reset_index(drop=True)


# -- Holidays and retail events -------------------------------------------------------------

@dataclass(frozen=True)
class RetailEvent:
    """A shopping event: its anchor day in a year, and the days around it it moves demand on."""

    name: str
    anchor: Callable[[int], pd.Timestamp]
    lower_window: int  # days before the anchor (<= 0), Prophet's convention
    upper_window: int  # days after the anchor (>= 0)


def black_friday(year: int) -> pd.Timestamp:
    """The day after the fourth Thursday of November (US Thanksgiving)."""
    thursdays = pd.date_range(f"{year}-11-01", f"{year}-11-30", freq="W-THU")
    return thursdays[3] + pd.Timedelta(days=1)


#: The ``holidays`` package's name for the first day of China's Spring Festival (its English names).
SPRING_FESTIVAL_HOLIDAY = "Chinese New Year (Spring Festival)"
#: The Spring Festival shopping season (年货节) ends when couriers stop before the festival, about
#: three days ahead of it, and runs about two weeks up to then.
SPRING_SHOPPING_LAST_DAY_BEFORE = 3  # days before the festival's first day
SPRING_SHOPPING_DAYS = 14  # length of the season in days
#: 618 (JD.com's anniversary sale, June 18) has its run-up: the two days before count too.
RUN_UP_618_DAYS = 2


def spring_festival(year: int) -> pd.Timestamp:
    """The first day of the Spring Festival (Chinese New Year) in ``year``, from the ``holidays``
    package's calendar for China (a lunar date: it moves between late January and mid-February)."""
    cal = holidays_lib.country_holidays("CN", years=[year], language="en_US")
    days = [d for d, name in cal.items() if name == SPRING_FESTIVAL_HOLIDAY]
    if not days:
        raise ValueError(f"the holidays package names no {SPRING_FESTIVAL_HOLIDAY!r} in {year}; "
                         f"the Spring Festival shopping season cannot be placed")
    return pd.Timestamp(min(days))


#: The retail events a mapping can declare (``retail_events: [singles_day, mid_year_618]``), by the
#: name it uses. Each event's English name is its regressor's column (``event_<slug>``) in every
#: language; the catalogue translates it where it is shown (:meth:`EventCalendar.upcoming`).
KNOWN_RETAIL_EVENTS: dict[str, RetailEvent] = {
    "black_friday": RetailEvent(N_("Black Friday weekend"), black_friday, 0, 2),
    "cyber_monday": RetailEvent(N_("Cyber Monday"), lambda y: black_friday(y) + pd.Timedelta(days=3), 0, 0),
    "singles_day": RetailEvent(N_("Singles' Day 11.11"), lambda y: pd.Timestamp(y, 11, 11), 0, 0),
    "christmas": RetailEvent(N_("Christmas shopping"), lambda y: pd.Timestamp(y, 12, 23), -22, 0),
    "mid_year_618": RetailEvent(N_("618 mid-year sale"), lambda y: pd.Timestamp(y, 6, 18), -RUN_UP_618_DAYS, 0),
    "spring_festival": RetailEvent(
        N_("Spring Festival shopping"),
        lambda y: spring_festival(y) - pd.Timedelta(days=SPRING_SHOPPING_LAST_DAY_BEFORE),
        -(SPRING_SHOPPING_DAYS - 1), 0),
}
#: The events used when the data declare none (no ``retail_events`` key): Western online retail's.
DEFAULT_RETAIL_EVENTS: tuple[str, ...] = ("black_friday", "cyber_monday", "singles_day", "christmas")


def retail_events(names: Iterable[str] | None = None) -> tuple[RetailEvent, ...]:
    """The events ``names`` declare, in their order (None: :data:`DEFAULT_RETAIL_EVENTS`; empty: none).

    An unknown name is an error naming it and listing the known ones: a misspelt event would
    otherwise silently leave its demand peak to the noise."""
    names = DEFAULT_RETAIL_EVENTS if names is None else list(names)
    unknown = [n for n in names if n not in KNOWN_RETAIL_EVENTS]
    if unknown:
        raise ValueError(f"retail_events: unknown event(s) {unknown}; known events are "
                         f"{', '.join(KNOWN_RETAIL_EVENTS)}")
    return tuple(KNOWN_RETAIL_EVENTS[n] for n in dict.fromkeys(names))


RETAIL_EVENTS: tuple[RetailEvent, ...] = retail_events()


#: The name a holiday calendar of the whole shop (one country for every customer) goes by.
WHOLE_SHOP = "(whole shop)"


@dataclass(frozen=True)
class HolidayCalendar:
    """Which public holidays apply, as the data's owner declared it (mapping key ``holidays``).

    * ``country`` alone (``{country: GB}``): that country's holidays for every customer;
    * ``country`` and ``subdivisions: region`` (``{country: BR, subdivisions: region}``): the
      customers' region values are ISO 3166-2 subdivision codes of that country (MG, SP, ...);
      each region gets its subdivision's holidays, and a value that is not one of the country's
      codes gets the national ones, named in ``regions_without_calendar``;
    * ``regions_are: countries``: the region values name countries (``Germany``, ``DE``), one
      calendar each.

    A region code is never guessed to be a country: MG is Madagascar or Minas Gerais only by
    declaration. Without a declaration there are no public-holiday regressors.
    """

    country: str | None = None
    subdivisions: str | None = None
    regions_are: str | None = None

    def __post_init__(self) -> None:
        if self.regions_are not in (None, "countries"):
            raise ValueError(f"holidays: regions_are may only be 'countries', got {self.regions_are!r}")
        if self.subdivisions not in (None, "region"):
            raise ValueError(f"holidays: subdivisions may only be 'region' (the customers' region column), "
                             f"got {self.subdivisions!r}")
        if self.regions_are and self.country:
            raise ValueError("holidays: give either country (with subdivisions) or regions_are: countries, not both")
        if self.subdivisions and not self.country:
            raise ValueError("holidays: subdivisions need the country they belong to, e.g. {country: BR, subdivisions: region}")
        if not (self.country or self.regions_are):
            raise ValueError("holidays: declare a country ({country: GB}) or that regions are countries "
                             "({regions_are: countries})")
        if self.country and self.country not in holidays_lib.list_supported_countries():
            raise ValueError(f"holidays: country {self.country!r} is not an ISO 3166-1 alpha-2 code the holidays "
                             f"package knows (e.g. GB, US, DE, BR, CN)")

    @classmethod
    def from_declaration(cls, declared: dict | None) -> "HolidayCalendar | None":
        """The calendar a mapping's ``holidays`` entry declares, or None when it declares none."""
        if not declared:
            return None
        unknown = set(declared) - {"country", "subdivisions", "regions_are"}
        if unknown:
            raise ValueError(f"holidays: unknown keys {sorted(unknown)}; known keys are country, subdivisions, "
                             f"regions_are")
        country = declared.get("country")
        return cls(str(country).upper() if country else None, declared.get("subdivisions"),
                   declared.get("regions_are"))

    def describe(self) -> str:
        """The calendar in a few words, in the current language."""
        if self.regions_are:
            return _("public holidays of the country each region names")
        if self.subdivisions:
            return _("public holidays of {country}, per region as its ISO 3166-2 subdivision").format(
                country=self.country)
        return _("public holidays of {country} for the whole shop").format(country=self.country)

    def holidays_for(self, regions: Iterable[str], years: list[int]) -> tuple[list[tuple], list[str]]:
        """(name, day, region) rows of public holidays, and the regions without a calendar of their own."""
        rows, missing = [], []
        if self.country and not self.subdivisions:
            for day, name in sorted(holidays_lib.country_holidays(self.country, years=years).items()):
                rows.append((name, pd.Timestamp(day), WHOLE_SHOP))
            return rows, missing
        subdivisions = set(holidays_lib.list_supported_countries().get(self.country, [])) if self.country else set()
        for region in sorted(set(map(str, regions)) - {"unknown"}):
            if self.country:
                code = region.strip().upper()
                known = code in subdivisions
                if not known:
                    missing.append(region)
                cal = holidays_lib.country_holidays(self.country, subdiv=code if known else None, years=years)
            else:
                code = holiday_country(region)
                if code is None:
                    missing.append(region)
                    continue
                cal = holidays_lib.country_holidays(code, years=years)
            rows += [(name, pd.Timestamp(day), region) for day, name in sorted(cal.items())]
        return rows, missing


def holiday_country(region: str) -> str | None:
    """The ``holidays`` country for a region that is declared to name a country ('Germany',
    'United Kingdom', 'DE'), or None. Only for ``regions_are: countries``: see :class:`HolidayCalendar`."""
    key = re.sub(r"[^a-z]+", "_", str(region).strip().lower()).strip("_")
    for module, entry in holidays_lib.registry.COUNTRIES.items():
        if key == module or str(region).upper() in entry[1:3]:
            return entry[1]
    return None


#: The calendar's kinds and the columns of :meth:`EventCalendar.upcoming`, for the catalogue.
KIND_LABELS = {"retail event": N_("retail event"), "public holiday": N_("public holiday")}
COLUMN_LABELS = {"kind": N_("kind"), "holiday": N_("event or holiday"), "first": N_("first day"),
                 "regions": N_("regions")}


@dataclass
class EventCalendar:
    """Prophet-style holiday table (holiday, ds, lower_window, upper_window) plus kind and region."""

    frame: pd.DataFrame
    regions_without_calendar: list[str]
    holidays: HolidayCalendar | None = None

    def upcoming(self, after: pd.Timestamp, rows: int = 15) -> pd.DataFrame:
        """The first ``rows`` events and holidays after ``after``, for the reader: kind, name, first
        day and how many regions keep it, with the kit's words in the current language (the public
        holidays' names as the ``holidays`` package gives them)."""
        ahead = self.frame[self.frame["ds"] > after]
        out = (ahead.groupby(["kind", "holiday"], sort=False)
               .agg(first=("ds", "min"), regions=("region", "nunique")).head(rows).reset_index())
        retail = out["kind"] == "retail event"
        out["holiday"] = out["holiday"].where(~retail, out["holiday"].map(_))
        out["kind"] = out["kind"].map(lambda k: _(KIND_LABELS.get(k, k)))
        out = out.rename(columns=lambda c: _(COLUMN_LABELS.get(c, c)))
        return out.set_index(list(out.columns[:2]))  # grouped by kind, as a reader scans it

    def note(self) -> str:
        """What the public-holiday part rests on, in one sentence."""
        if self.holidays is None:
            return _("No holiday calendar is declared for this data (mapping: `holidays: {{country: GB}}`, or "
                     "`{{country: BR, subdivisions: region}}`, or `{{regions_are: countries}}`): no public-holiday "
                     "regressors; retail events only.").format()
        if self.regions_without_calendar:
            return _("Holiday calendar as declared: {calendar}; no calendar of their own for: {regions}.").format(
                calendar=self.holidays.describe(), regions=", ".join(self.regions_without_calendar))
        return _("Holiday calendar as declared: {calendar}.").format(calendar=self.holidays.describe())


def event_calendar(regions: Iterable[str], start: pd.Timestamp, end: pd.Timestamp,
                   events: Sequence[RetailEvent] = RETAIL_EVENTS,
                   holidays: HolidayCalendar | None = None) -> EventCalendar:
    """Retail events and, when a calendar is declared, public holidays, ``start`` to ``end``."""
    years = list(range(pd.Timestamp(start).year, pd.Timestamp(end).year + 1))
    rows = [(e.name, e.anchor(y), e.lower_window, e.upper_window, "retail event", None)
            for e in events for y in years]
    missing: list[str] = []
    if holidays is not None:
        found, missing = holidays.holidays_for(regions, years)
        rows += [(name, day, 0, 0, "public holiday", region) for name, day, region in found]
    frame = pd.DataFrame(rows, columns=["holiday", "ds", "lower_window", "upper_window", "kind", "region"])
    frame = frame[(frame["ds"] + pd.to_timedelta(frame["upper_window"], unit="D") >= start)
                  & (frame["ds"] + pd.to_timedelta(frame["lower_window"], unit="D") <= end)]
    return EventCalendar(frame.sort_values(["ds", "holiday"]).reset_index(drop=True), missing, holidays)


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def calendar_counts(calendar: EventCalendar, ds: pd.DatetimeIndex, freq: str) -> pd.DataFrame:
    """Per period (labelled by its last day): days of each retail event's window in it
    (``event_<name>``), and public-holiday days of each region (``holidays:<region>``).

    A period-level count replaces Prophet's day-level holiday table, which for weekly data would
    only match holidays falling on the very day that labels a week.
    """
    ds = pd.DatetimeIndex(ds)
    cal = calendar.frame
    out = pd.DataFrame(index=ds)
    if cal.empty:
        return out.rename_axis("ds")
    span = (cal["upper_window"] - cal["lower_window"] + 1).to_numpy()
    rep = cal.loc[cal.index.repeat(span)]
    offset = rep.groupby(level=0).cumcount().to_numpy() + rep["lower_window"].to_numpy()
    d = pd.DataFrame({"day": rep["ds"].to_numpy() + pd.to_timedelta(offset, unit="D"),
                      "holiday": rep["holiday"].to_numpy(), "kind": rep["kind"].to_numpy(),
                      "region": rep["region"].to_numpy()})
    width, end = PERIOD_DAYS[freq], ds.max()
    d["ds"] = end - pd.to_timedelta(((end - d["day"]).dt.days // width) * width, unit="D")
    d = d[d["ds"].isin(ds)]
    events = cal.loc[cal["kind"] == "retail event", "holiday"].drop_duplicates()
    for name in events:
        ev = d[(d["kind"] == "retail event") & (d["holiday"] == name)].drop_duplicates("day")
        out[f"event_{_slug(name)}"] = ev.groupby("ds").size().reindex(ds, fill_value=0).astype(float).to_numpy()
    pub = d[d["kind"] == "public holiday"].drop_duplicates(["region", "day"])
    per_region = pub.groupby(["ds", "region"]).size().unstack(fill_value=0).reindex(ds, fill_value=0)
    for region in per_region.columns:
        out[f"holidays:{region}"] = per_region[region].astype(float).to_numpy()
    return out.rename_axis("ds")


def calendar_regressors(counts: pd.DataFrame, region_weights: pd.Series) -> pd.DataFrame:
    """The model's regressors from :func:`calendar_counts`: the retail-event columns, and one
    ``public_holidays`` column, each region's holiday days weighted by its share of the series'
    demand (weight 1 for a one-region series), so a bank holiday in a region holding 10% of
    demand counts 0.1 days."""
    hol = [c for c in counts.columns if c.startswith("holidays:")]
    out = counts.drop(columns=hol)
    w = region_weights.reindex([c.split(":", 1)[1] for c in hol]).fillna(0.0)
    w[w.index == WHOLE_SHOP] = 1.0  # a calendar of the whole shop applies to all its demand
    w = w.to_numpy()
    out["public_holidays"] = counts[hol].to_numpy() @ w if hol else 0.0
    return out


def calendar_for(series: DemandSeries, horizon: int, events: Sequence[RetailEvent] = RETAIL_EVENTS,
                 holidays: HolidayCalendar | dict | None = None) -> EventCalendar:
    """The calendar covering a series set's history and ``horizon`` periods ahead, for its regions.

    ``holidays``: the declared calendar (a :class:`HolidayCalendar` or a mapping's ``holidays``
    entry); None gives retail events only.
    """
    if isinstance(holidays, dict):
        holidays = HolidayCalendar.from_declaration(holidays)
    step = pd.Timedelta(days=PERIOD_DAYS[series.freq])
    start = series.frame["ds"].min() - step
    end = series.end + step * horizon
    regions = [*series.region_weights.index, *series.frame["region"].dropna().unique()]
    return event_calendar(regions, start, end, events, holidays)
