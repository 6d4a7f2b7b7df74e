"""Synthetic CRM data with planted structure, realistic dirt and a written ground truth.

The generator exists so that every notebook has something true to find and every test can
check what a method recovers against what was planted:

* customer **personas** drive order frequency, spend, category mix, sensitivity to retail
  events and churn;
* **satisfaction archetypes** drive survey answers, comments and churn;
* demand has weekly and yearly **seasonality**, growth through acquisition, public holidays
  of each region (the ``holidays`` package) and retail events (Black Friday, Cyber Monday,
  11.11, the run-up to Christmas);
* some interaction notes **voice a need** for a category days before the customer buys it;
* **dirt** is injected at fixed rates (duplicate customers, missing values, mixed date
  formats, city spellings, returns, bulk outliers, test accounts, unknown customers, exact
  duplicate lines, invalid prices ...), and every dirty row is listed in ``_truth/dirt.parquet``.

Everything is vectorised NumPy and depends only on the seed and the end date, never on
today's date. Large data sets are generated in chunks of customers so memory stays bounded.
"""

from __future__ import annotations

import json
import logging
import os
import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path

import holidays as holidays_lib
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

log = logging.getLogger(__name__)

DEFAULT_END = "2026-10-31"
DEFAULT_MONTHS = 36
DEFAULT_CUSTOMERS = 10_000
CHUNK_CUSTOMERS = 100_000

# --------------------------------------------------------------------------------------------
# The planted world
# --------------------------------------------------------------------------------------------

#: Categories: median unit price, price spread (log sd), products, monthly seasonality (Jan..Dec),
#: share of lines returned, mean extra units per line.
CATEGORIES: dict[str, dict] = {
    "Electronics": dict(price=120.0, spread=0.8, products=40, returns=0.06, extra_units=0.1,
                        season=[0.8, 0.7, 0.8, 0.8, 0.8, 0.8, 0.8, 0.9, 0.9, 1.0, 1.6, 1.9]),
    "Home & Kitchen": dict(price=35.0, spread=0.7, products=50, returns=0.04, extra_units=0.3,
                           season=[1.0, 0.9, 1.0, 1.0, 1.0, 0.9, 0.9, 0.9, 1.0, 1.1, 1.3, 1.4]),
    "Fashion": dict(price=45.0, spread=0.6, products=60, returns=0.15, extra_units=0.2,
                    season=[1.1, 0.8, 1.1, 1.2, 1.1, 1.0, 0.9, 0.9, 1.2, 1.1, 1.1, 1.2]),
    "Beauty": dict(price=22.0, spread=0.5, products=40, returns=0.03, extra_units=0.5,
                   season=[0.9, 1.3, 1.0, 1.0, 1.2, 1.0, 0.9, 0.9, 0.9, 1.0, 1.1, 1.4]),
    "Sports & Outdoors": dict(price=55.0, spread=0.7, products=40, returns=0.05, extra_units=0.1,
                              season=[1.2, 0.9, 1.0, 1.1, 1.3, 1.4, 1.4, 1.2, 0.9, 0.8, 0.7, 0.8]),
    "Toys & Games": dict(price=28.0, spread=0.6, products=40, returns=0.04, extra_units=0.2,
                         season=[0.6, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7, 0.8, 1.0, 1.7, 2.6]),
    "Books": dict(price=15.0, spread=0.4, products=60, returns=0.02, extra_units=0.3,
                  season=[1.0, 0.9, 0.9, 0.9, 0.9, 0.9, 1.0, 1.1, 1.0, 1.0, 1.1, 1.5]),
    "Grocery": dict(price=8.0, spread=0.5, products=60, returns=0.01, extra_units=1.8,
                    season=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.2]),
    "Garden": dict(price=30.0, spread=0.7, products=30, returns=0.03, extra_units=0.4,
                   season=[0.4, 0.5, 1.0, 1.7, 2.0, 1.8, 1.5, 1.1, 0.8, 0.6, 0.4, 0.4]),
    "Pet Supplies": dict(price=18.0, spread=0.5, products=30, returns=0.02, extra_units=0.8,
                         season=[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.1]),
}
CATEGORY_NAMES = list(CATEGORIES)

#: Regions: holiday calendar code, share of customers, phone calling code, mobile number shape
#: (leading digits, total national digits), Faker locale for names, cities.
REGIONS: dict[str, dict] = {
    "United Kingdom": dict(code="GB", share=0.35, calling="44", mobile=("7", 10), locale="en_GB",
                           cities=["London", "Manchester", "Birmingham", "Leeds", "Glasgow"]),
    "Germany": dict(code="DE", share=0.25, calling="49", mobile=("15", 11), locale="de_DE",
                    cities=["Berlin", "München", "Hamburg", "Köln", "Düsseldorf"]),
    "France": dict(code="FR", share=0.18, calling="33", mobile=("6", 9), locale="fr_FR",
                   cities=["Paris", "Lyon", "Marseille", "Toulouse", "Nice"]),
    "Spain": dict(code="ES", share=0.12, calling="34", mobile=("6", 9), locale="es_ES",
                  cities=["Madrid", "Barcelona", "Valencia", "Sevilla", "Málaga"]),
    "Netherlands": dict(code="NL", share=0.10, calling="31", mobile=("6", 9), locale="nl_NL",
                        cities=["Amsterdam", "Rotterdam", "Den Haag", "Utrecht", "Eindhoven"]),
}
REGION_NAMES = list(REGIONS)

CHANNELS = ["organic_search", "paid_search", "social", "referral", "email", "marketplace"]


@dataclass(frozen=True)
class Persona:
    """A planted customer type; segmentation should find these again."""

    name: str
    share: float
    orders_per_month: float  # while active
    monthly_churn: float  # probability of churning in any month
    price_preference: float  # >0 favours expensive products, <0 cheap ones
    event_sensitivity: float  # how strongly Black Friday & co. pull orders forward
    category_weights: tuple[float, ...]  # over CATEGORY_NAMES
    channel_weights: tuple[float, ...]  # over CHANNELS
    mean_age: float


PERSONAS: tuple[Persona, ...] = (
    # Category weights over: Electronics, Home & Kitchen, Fashion, Beauty, Sports & Outdoors,
    # Toys & Games, Books, Grocery, Garden, Pet Supplies. Each persona has a basket of its own.
    Persona("Champions", 0.12, 3.0, 0.006, 1.2, 1.0,
            (5, 4, 2, 1, 2, 0.3, 0.3, 0.3, 0.3, 0.3), (3, 1, 1, 3, 2, 0.5), 44),
    Persona("Loyal regulars", 0.24, 2.0, 0.010, 0.0, 1.0,
            (0.2, 1, 0.2, 0.5, 0.2, 0.2, 2, 6, 0.2, 4), (3, 1, 1, 2, 3, 0.5), 51),
    Persona("Bargain hunters", 0.20, 0.8, 0.025, -1.5, 4.0,
            (0.3, 0.3, 4, 3, 0.3, 3, 0.3, 0.3, 0.3, 0.3), (1, 3, 3, 0.5, 1, 3), 33),
    Persona("Occasional buyers", 0.28, 0.3, 0.020, 0.3, 1.5,
            (0.3, 0.5, 0.3, 0.3, 3, 1, 2, 0.3, 4, 0.3), (3, 2, 2, 1, 1, 1), 40),
    Persona("One-off shoppers", 0.16, 1.0, 0.60, -0.3, 2.0,
            (1, 1, 1, 1, 1, 1, 1, 1, 1, 1), (1, 3, 3, 0.5, 0.5, 2), 29),
)

SURVEY_ITEMS = ["q_product_quality", "q_delivery", "q_price_value", "q_customer_service",
                "q_website_ease"]


@dataclass(frozen=True)
class Archetype:
    """A planted satisfaction type; satisfaction clustering should find these again."""

    name: str
    share: float
    item_means: tuple[float, ...]  # over SURVEY_ITEMS, on the 1-5 scale
    churn_multiplier: float
    comments: tuple[str, ...]


ARCHETYPES: tuple[Archetype, ...] = (
    Archetype("Delighted", 0.40, (4.6, 4.5, 4.2, 4.5, 4.5), 0.7, (
        "Great quality and fast delivery, will order again.",
        "Everything arrived on time and works perfectly.",
        "Very happy with the product and the service.",
        "Easy to order, excellent quality, thank you!",
        "Love the shop, recommended it to friends.")),
    Archetype("Price-sensitive", 0.25, (4.2, 4.0, 1.8, 3.9, 4.1), 1.2, (
        "Good products but far too expensive compared to other shops.",
        "Prices went up again, I will wait for a sale next time.",
        "Quality is fine, the price is not.",
        "Shipping costs are too high for small orders.",
        "Only bought because of the discount code.")),
    Archetype("Delivery-frustrated", 0.20, (3.9, 1.6, 3.6, 3.2, 3.9), 1.7, (
        "The parcel arrived a week late and the box was damaged.",
        "Delivery took forever and tracking never updated.",
        "Courier left the package outside in the rain.",
        "Order was split into three deliveries, one never came.",
        "Product is fine but the delivery was a disaster.")),
    Archetype("Service-unhappy", 0.15, (3.6, 3.6, 3.4, 1.5, 3.2), 1.5, (
        "Nobody answered my emails about the refund.",
        "Support closed my ticket without solving anything.",
        "Waited forty minutes on the phone for no help.",
        "The chat agent was rude and unhelpful.",
        "Still waiting for the refund promised a month ago.")),
)

#: Words that voice a need for a category in an interaction note.
NEED_ITEMS: dict[str, list[str]] = {
    "Electronics": ["laptop", "pair of headphones", "phone charger", "tablet", "smart watch", "TV"],
    "Home & Kitchen": ["coffee machine", "set of pans", "blender", "duvet", "kettle", "knife set"],
    "Fashion": ["winter coat", "pair of jeans", "dress for a wedding", "pair of boots", "jacket"],
    "Beauty": ["face cream", "bottle of perfume", "bottle of shampoo", "make-up set", "bottle of sunscreen"],
    "Sports & Outdoors": ["pair of running shoes", "tent", "yoga mat", "bike helmet", "rucksack"],
    "Toys & Games": ["board game", "LEGO set", "doll house", "puzzle", "toy car"],
    "Books": ["cookbook", "novel", "travel guide", "children's book", "biography"],
    "Grocery": ["bag of coffee beans", "bottle of olive oil", "tea selection", "pack of pasta", "snack box"],
    "Garden": ["lawn mower", "garden hose", "packet of flower seeds", "garden chair", "hedge trimmer"],
    "Pet Supplies": ["bag of dog food", "bag of cat litter", "dog bed", "bag of bird seed", "cat toy"],
}
NEED_TEMPLATES = [
    "Customer asked whether the {item} is back in stock.",
    "Looking for a {item}, asked for a recommendation.",
    "Wants advice on choosing a {item} within budget.",
    "Asked about delivery times for a {item} before ordering.",
    "Interested in a {item}, asked if there is a discount.",
    "Compared two models of {item}, will decide soon.",
    "Asked for the size guide / specs of a {item}.",
]
SERVICE_NOTES: dict[str, list[str]] = {
    "order_status": ["Asked where the parcel is, tracking shared.",
                     "Wanted to know when the order ships.",
                     "Checked the status of last week's order."],
    "delivery_problem": ["Parcel delivered to the wrong address, reshipped.",
                         "Package arrived damaged, replacement sent.",
                         "Courier did not show up, rebooked delivery."],
    "return_request": ["Requested a return label for an item.",
                       "Item did not fit, return opened.",
                       "Asked how long refunds take after a return."],
    "billing": ["Charged twice, duplicate payment refunded.",
                "Asked for an invoice copy.",
                "Payment failed, helped with card details."],
    "account": ["Password reset requested.",
                "Asked to update the delivery address on the account.",
                "Wanted to unsubscribe from the newsletter."],
}
INTERACTION_CHANNELS = ["phone", "email", "chat", "store_visit"]


@dataclass
class DirtRates:
    """Rates at which each kind of dirt is injected (share of rows of the table it affects)."""

    duplicate_customers: float = 0.03
    missing_birth_year: float = 0.08
    missing_gender: float = 0.05
    missing_city: float = 0.03
    missing_channel: float = 0.02
    city_spelling: float = 0.10
    signup_date_format: float = 0.15
    unparseable_signup_date: float = 0.005
    test_accounts: int = 12
    order_date_format: float = 0.12
    unparseable_order_date: float = 0.001
    category_spelling: float = 0.02
    missing_category: float = 0.01
    unknown_customer: float = 0.003
    missing_customer_id: float = 0.001
    invalid_price: float = 0.001
    invalid_quantity: float = 0.0005
    bulk_outlier: float = 0.001
    exact_duplicate: float = 0.005
    interaction_unparseable_date: float = 0.002
    interaction_unknown_customer: float = 0.002
    survey_missing_answer: float = 0.05
    survey_nps_out_of_range: float = 0.003
    survey_unknown_customer: float = 0.003
    contact_in_text: float = 0.01  # notes and comments where the customer wrote an e-mail or phone


@dataclass
class SynthConfig:
    """Everything the generator depends on: the same config gives the same files."""

    customers: int = DEFAULT_CUSTOMERS
    seed: int = 42
    end: str = DEFAULT_END
    months: int = DEFAULT_MONTHS
    file_format: str = "csv"  # csv or parquet
    #: Customers per chunk; each chunk has its own random stream, so this is part of the output's identity.
    chunk_customers: int = CHUNK_CUSTOMERS
    dirt: DirtRates = field(default_factory=DirtRates)

    @property
    def end_ts(self) -> pd.Timestamp:
        return pd.Timestamp(self.end).normalize()

    @property
    def start_ts(self) -> pd.Timestamp:
        return (self.end_ts + pd.Timedelta(days=1) - pd.DateOffset(months=self.months)).normalize()


# --------------------------------------------------------------------------------------------
# Calendar: the daily multipliers every order is drawn from
# --------------------------------------------------------------------------------------------

#: Relative order volume by weekday (Mon..Sun): online shops peak on Sunday evening and Monday.
WEEKDAY_PROFILE = np.array([1.15, 1.0, 0.95, 0.95, 0.85, 0.8, 1.3])


def retail_events(years: list[int]) -> pd.DataFrame:
    """Retail event days with their demand boost: Black Friday, Cyber Monday, 11.11."""
    rows = []
    for y in years:
        thanksgiving = pd.Timestamp(y, 11, 1) + pd.offsets.WeekOfMonth(week=3, weekday=3)
        if thanksgiving.month != 11 or thanksgiving.day < 22:  # WeekOfMonth anchors oddly at month start
            thanksgiving = pd.date_range(f"{y}-11-01", f"{y}-11-30", freq="W-THU")[3]
        bf = thanksgiving + pd.Timedelta(days=1)
        rows += [(bf, "Black Friday", 2.6), (bf + pd.Timedelta(days=1), "Black Friday weekend", 1.6),
                 (bf + pd.Timedelta(days=2), "Black Friday weekend", 1.5),
                 (bf + pd.Timedelta(days=3), "Cyber Monday", 2.0),
                 (pd.Timestamp(y, 11, 11), "Singles' Day 11.11", 1.9)]
    return pd.DataFrame(rows, columns=["date", "event", "boost"])


def region_holidays(code: str, years: list[int]) -> pd.DatetimeIndex:
    """Public holidays of a region from the ``holidays`` package."""
    return pd.DatetimeIndex(sorted(holidays_lib.country_holidays(code, years=years).keys()))


def _seasonal_curve(days: pd.DatetimeIndex, monthly: list[float]) -> np.ndarray:
    """Smooth yearly curve through 12 monthly values (periodic linear interpolation at mid-month)."""
    doy = days.dayofyear.to_numpy() - 1
    mid = (np.arange(12) + 0.5) * 365.25 / 12
    xp = np.concatenate([mid - 365.25, mid, mid + 365.25])
    fp = np.tile(np.asarray(monthly, dtype=float), 3)
    return np.interp(doy, xp, fp)


@dataclass
class Calendar:
    """Daily multipliers over the generation window (persona x region x day, category x day)."""

    days: pd.DatetimeIndex
    category_season: np.ndarray  # (categories, days)
    event_boost: np.ndarray  # (days,) boost above 1 on retail events, 1 elsewhere
    holiday: np.ndarray  # (regions, days) bool
    weekday: np.ndarray  # (days,)

    @classmethod
    def build(cls, start: pd.Timestamp, end: pd.Timestamp) -> "Calendar":
        days = pd.date_range(start, end, freq="D")
        years = sorted(set(days.year))
        season = np.stack([_seasonal_curve(days, CATEGORIES[c]["season"]) for c in CATEGORY_NAMES])
        events = retail_events(years)
        boost = np.ones(len(days))
        idx = days.get_indexer(pd.DatetimeIndex(events["date"]))
        ok = idx >= 0
        boost[idx[ok]] = events["boost"].to_numpy()[ok]
        # The run-up to Christmas: a ramp over the first three weeks of December.
        dec = (days.month == 12) & (days.day <= 22)
        boost[dec] *= 1.0 + 0.5 * (days.day[dec] / 22.0)
        hol = np.stack([days.isin(region_holidays(REGIONS[r]["code"], years)) for r in REGION_NAMES])
        return cls(days, season, boost, hol, WEEKDAY_PROFILE[days.dayofweek])

    def intensity(self, persona: Persona) -> np.ndarray:
        """Relative order intensity (regions, days) for a persona, max-normalised to 1."""
        w = np.asarray(persona.category_weights, float)
        mix = (w[:, None] * self.category_season).sum(0) / w.sum()
        events = 1.0 + (self.event_boost - 1.0) * persona.event_sensitivity
        base = mix * events * self.weekday
        # Public holidays: fewer orders on the day itself.
        return base[None, :] * np.where(self.holiday, 0.6, 1.0)

    def category_probs(self, persona: Persona) -> np.ndarray:
        """P(category | persona, day) as cumulative probabilities (days, categories)."""
        w = np.asarray(persona.category_weights, float)
        p = w[:, None] * self.category_season
        p = p / p.sum(0, keepdims=True)
        return np.cumsum(p.T, axis=1)


# --------------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------------


def _choice_cum(rng: np.random.Generator, cum: np.ndarray) -> np.ndarray:
    """Vectorised categorical draw: one index per row of a cumulative-probability matrix."""
    u = rng.random(cum.shape[0])[:, None]
    return np.minimum((u > cum).sum(1), cum.shape[1] - 1)


def _choice(rng: np.random.Generator, n: int, weights) -> np.ndarray:
    w = np.asarray(weights, float)
    return rng.choice(len(w), size=n, p=w / w.sum())


def _strip_accents(s: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", s) if not unicodedata.combining(ch))


@dataclass
class Catalogue:
    """Products with a category, a list price and a popularity."""

    product_id: np.ndarray
    category: np.ndarray  # index into CATEGORY_NAMES
    price: np.ndarray
    popularity: np.ndarray

    @classmethod
    def build(cls, seed: int) -> "Catalogue":
        rng = np.random.default_rng([seed, 7])
        ids, cats, prices, pops = [], [], [], []
        for ci, name in enumerate(CATEGORY_NAMES):
            spec = CATEGORIES[name]
            n = spec["products"]
            cats.append(np.full(n, ci))
            prices.append(np.round(spec["price"] * np.exp(rng.normal(0, spec["spread"], n)), 2) + 0.0)
            pops.append(1.0 / np.arange(1, n + 1) ** 0.9)  # Zipf-like popularity
        cat = np.concatenate(cats)
        ids = np.array([f"P{ci + 1:02d}{k:03d}" for ci, n in enumerate(CATEGORY_NAMES)
                        for k in range(1, CATEGORIES[n]["products"] + 1)])
        price = np.maximum(np.concatenate(prices), 0.99)
        return cls(ids, cat, price, np.concatenate(pops))

    def product_cum(self, persona: Persona) -> dict[int, tuple[np.ndarray, np.ndarray]]:
        """Per category: product indices and cumulative choice probabilities for a persona."""
        out = {}
        for ci in range(len(CATEGORY_NAMES)):
            idx = np.flatnonzero(self.category == ci)
            rel = self.price[idx] / np.median(self.price[idx])
            w = self.popularity[idx] * rel ** persona.price_preference
            out[ci] = (idx, np.cumsum(w / w.sum()))
        return out

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame({"product_id": self.product_id,
                             "category": np.array(CATEGORY_NAMES)[self.category],
                             "list_price": self.price})


def _names(rng: np.random.Generator, region_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Fake first and last names drawn from Faker's locale lists (vectorised, no Faker calls per row)."""
    from faker import Faker

    first = np.empty(len(region_idx), dtype=object)
    last = np.empty(len(region_idx), dtype=object)
    for ri, region in enumerate(REGION_NAMES):
        mask = region_idx == ri
        n = int(mask.sum())
        if not n:
            continue
        provider = Faker(REGIONS[region]["locale"]).provider("faker.providers.person")
        firsts = sorted(set(provider.first_names))
        lasts = sorted(set(provider.last_names))
        first[mask] = np.array(firsts, dtype=object)[rng.integers(0, len(firsts), n)]
        last[mask] = np.array(lasts, dtype=object)[rng.integers(0, len(lasts), n)]
    return first, last


def _email_local(first: np.ndarray, last: np.ndarray, number: np.ndarray) -> np.ndarray:
    """ASCII e-mail local parts; the customer number keeps them unique."""
    def ascii_(values: np.ndarray) -> pd.Series:
        s = pd.Series(values)
        uniq = pd.unique(s)
        table = {u: "".join(ch for ch in _strip_accents(u.casefold()) if ch.isascii() and ch.isalnum())
                 for u in uniq}
        return s.map(table)

    local = ascii_(first) + "." + ascii_(last) + pd.Series(number).astype(str)
    return local.to_numpy(dtype=object)


def _phones(rng: np.random.Generator, region_idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """National significant numbers and their calling codes, per region."""
    nsn = np.empty(len(region_idx), dtype=object)
    calling = np.empty(len(region_idx), dtype=object)
    for ri, region in enumerate(REGION_NAMES):
        mask = region_idx == ri
        n = int(mask.sum())
        if not n:
            continue
        lead, digits = REGIONS[region]["mobile"]
        rest = digits - len(lead)
        nums = rng.integers(0, 10 ** rest, n)
        nsn[mask] = _ids(lead, nums, rest)
        calling[mask] = REGIONS[region]["calling"]
    return nsn, calling


def _format_phone(nsn: np.ndarray, calling: np.ndarray, style: np.ndarray) -> np.ndarray:
    """Render numbers in one of three common export styles (international, national, 00-prefixed)."""
    n, c = pa.array(np.asarray(nsn, dtype=object), pa.string()), pa.array(np.asarray(calling, dtype=object), pa.string())

    def cut(a: int, b: int | None = None):
        return pc.utf8_slice_codeunits(n, a, b if b is not None else 1 << 30)

    join = pc.binary_join_element_wise
    intl = join("+", c, " ", cut(0, 4), " ", cut(4), "")
    national = join("0", cut(0, 4), "-", cut(4, 7), "-", cut(7), "")
    prefixed = join("00", c, n, "")
    style = np.asarray(style)
    out = pc.if_else(pa.array(style == 0), intl, pc.if_else(pa.array(style == 1), national, prefixed))
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=object)


def _ids(prefix: str, numbers, width: int) -> np.ndarray:
    """Zero-padded identifiers such as C0000042, built with Arrow (fast, and fine when empty)."""
    nums = pa.array(np.asarray(numbers, dtype=np.int64))
    padded = pc.utf8_lpad(pc.cast(nums, pa.string()), width=width, padding="0")
    joined = pc.binary_join_element_wise(pa.scalar(prefix), padded, "")
    return np.asarray(joined.to_numpy(zero_copy_only=False), dtype=object)


def _fmt_dates(ts: np.ndarray, fmt: str, arrow: bool = False):
    """Format datetime64 values as strings.

    Arrow's cast to text (ISO order) is ~40x faster than strftime, so the common export
    formats are cut from it; anything else falls back to strftime.
    """
    arr = pa.array(np.asarray(ts).astype("datetime64[s]"), type=pa.timestamp("s"))
    iso = pc.cast(arr, pa.string())  # 'YYYY-MM-DD HH:MM:SS'

    def cut(a: int, b: int):
        return pc.utf8_slice_codeunits(iso, a, b)

    def dmy():
        return pc.binary_join_element_wise(cut(8, 10), cut(5, 7), cut(0, 4), ".")

    fast = {
        "%Y-%m-%d %H:%M:%S": lambda: iso,
        "%Y-%m-%dT%H:%M:%S": lambda: pc.replace_substring(iso, " ", "T"),
        "%Y-%m-%d": lambda: cut(0, 10),
        "%Y/%m/%d": lambda: pc.replace_substring(cut(0, 10), "-", "/"),
        "%Y/%m/%d %H:%M:%S": lambda: pc.replace_substring(iso, "-", "/"),
        "%d.%m.%Y": dmy,
        "%d.%m.%Y %H:%M": lambda: pc.binary_join_element_wise(dmy(), cut(11, 16), " "),
    }
    out = fast[fmt]() if fmt in fast else pc.strftime(arr, format=fmt)
    if arrow:
        return out
    return np.asarray(out.to_numpy(zero_copy_only=False), dtype=object)


# --------------------------------------------------------------------------------------------
# Generation of one chunk of customers
# --------------------------------------------------------------------------------------------


@dataclass
class Chunk:
    customers: pd.DataFrame
    orders: pd.DataFrame
    interactions: pd.DataFrame
    surveys: pd.DataFrame
    truth_customers: pd.DataFrame
    truth_interactions: pd.DataFrame
    dirt: pd.DataFrame  # table, row (within chunk), kind
    last_order_number: int


class _Dirt:
    """Records which rows got which dirt, choosing disjoint rows for quarantine-level dirt."""

    def __init__(self, rng: np.random.Generator):
        self.rng = rng
        self.rows: list[pd.DataFrame] = []

    def pick(self, n_rows: int, rate: float, taken: np.ndarray | None = None) -> np.ndarray:
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
        if not self.rows:
            return pd.DataFrame({"table": [], "row": np.array([], np.int64), "kind": []})
        return pd.concat(self.rows, ignore_index=True)


def _generate_chunk(cfg: SynthConfig, cal: Calendar, cat: Catalogue, chunk: int, first_number: int,
                    n: int, order_offset: int, interaction_offset: int, survey_offset: int,
                    extra_id_start: int) -> Chunk:
    rng = np.random.default_rng([cfg.seed, chunk])
    start, end = cfg.start_ts, cfg.end_ts
    n_days = len(cal.days)
    dirt = _Dirt(rng)
    rates = cfg.dirt

    # ---- customers -------------------------------------------------------------------------
    numbers = np.arange(first_number, first_number + n)
    cust_id = _ids("C", numbers, 7)
    persona = _choice(rng, n, [p.share for p in PERSONAS])
    archetype = _choice(rng, n, [a.share for a in ARCHETYPES])
    region = _choice(rng, n, [REGIONS[r]["share"] for r in REGION_NAMES])
    city_idx = rng.integers(0, 5, n)
    city = np.array([REGIONS[r]["cities"] for r in REGION_NAMES], dtype=object)[region, city_idx]
    channel = np.empty(n, dtype=object)
    for pi, p in enumerate(PERSONAS):
        m = persona == pi
        channel[m] = np.array(CHANNELS, dtype=object)[_choice(rng, int(m.sum()), p.channel_weights)]
    ages = np.array([PERSONAS[p].mean_age for p in persona]) + rng.normal(0, 10, n)
    birth_year = (end.year - np.clip(np.round(ages), 18, 90)).astype(int)
    gender = np.array(["F", "M", "X"], dtype=object)[_choice(rng, n, [0.52, 0.46, 0.02])]

    # Signups: 30% existed before the window (over the two years before it), the rest arrive
    # inside it at a rate growing 30% a year (the business's growth).
    window_days = (end - start).days + 1
    pre = rng.random(n) < 0.30
    growth = np.log(1.3) / 365.25
    u = rng.random(n)
    inside = np.log1p(u * np.expm1(growth * window_days)) / growth
    signup_off = np.where(pre, -rng.integers(1, 730, n), np.floor(inside)).astype(int)
    signup = start + pd.to_timedelta(signup_off, unit="D")

    # Churn: geometric lifetime in months, hazard from persona x satisfaction archetype.
    hazard = np.array([PERSONAS[p].monthly_churn for p in persona]) * \
        np.array([ARCHETYPES[a].churn_multiplier for a in archetype])
    life_days = np.ceil(rng.exponential(30.44 / np.clip(hazard, 1e-6, None))).astype(int)
    last_day_off = signup_off + life_days  # days after start at which the customer stops buying
    churn_date = pd.Series(start + pd.to_timedelta(last_day_off, unit="D"))
    churn_date[last_day_off > window_days - 1] = pd.NaT

    first, last = _names(rng, region)
    email_local = _email_local(first, last, numbers)
    domains = np.array(["example.com", "example.org", "example.net", "mail.example", "post.example"],
                       dtype=object)
    email = np.char.add(np.char.add(email_local.astype(str), "@"),
                        domains[rng.integers(0, len(domains), n)].astype(str)).astype(object)
    nsn, calling = _phones(rng, region)
    phone_style = rng.integers(0, 3, n)
    phone = _format_phone(nsn, calling, phone_style)

    # ---- orders ----------------------------------------------------------------------------
    a = np.clip(signup_off, 0, None)  # active from signup (or window start)
    b = np.clip(last_day_off, None, n_days - 1)
    active = b >= a
    span = np.where(active, b - a + 1, 0)
    order_cust, order_day = [], []
    for pi, p in enumerate(PERSONAS):
        inten = cal.intensity(p)  # (regions, days)
        peak = inten.max()
        m = np.flatnonzero((persona == pi) & active)
        if not len(m):
            continue
        # Thinning: candidates at the peak rate, accepted in proportion to the day's intensity.
        lam = p.orders_per_month / 30.44 * peak / inten.mean() * span[m]
        k = rng.poisson(lam)
        ci = np.repeat(m, k)
        day = a[ci] + np.floor(rng.random(len(ci)) * span[ci]).astype(int)
        keep = rng.random(len(ci)) < inten[region[ci], day] / peak
        order_cust.append(ci[keep])
        order_day.append(day[keep])
    # Acquisition: a customer who signs up inside the window places a first order within a week.
    newc = np.flatnonzero((signup_off >= 0) & active)
    first_day = np.minimum(signup_off[newc] + rng.integers(0, 7, len(newc)), b[newc])
    order_cust.append(newc)
    order_day.append(first_day)
    o_cust = np.concatenate(order_cust)
    o_day = np.concatenate(order_day)
    o_sort = np.lexsort((o_cust, o_day))
    o_cust, o_day = o_cust[o_sort], o_day[o_sort]
    n_orders = len(o_cust)
    seconds = (np.clip(rng.normal(19.5, 3.5, n_orders), 0, 23.99) * 3600).astype(int)
    o_time = cal.days.values[o_day] + (seconds * 1_000_000_000).astype("timedelta64[ns]")
    o_number = order_offset + np.arange(1, n_orders + 1)

    n_lines_per = 1 + rng.poisson(0.8, n_orders)
    li = np.repeat(np.arange(n_orders), n_lines_per)
    l_cust = o_cust[li]
    l_day = o_day[li]
    l_persona = persona[l_cust]
    l_cat = np.empty(len(li), dtype=int)
    l_prod = np.empty(len(li), dtype=int)
    for pi, p in enumerate(PERSONAS):
        m = np.flatnonzero(l_persona == pi)
        if not len(m):
            continue
        cum = cal.category_probs(p)[l_day[m]]
        l_cat[m] = _choice_cum(rng, cum)
        prods = cat.product_cum(p)
        for ci, (idx, pcum) in prods.items():
            mm = m[l_cat[m] == ci]
            if len(mm):
                l_prod[mm] = idx[np.minimum(np.searchsorted(pcum, rng.random(len(mm))), len(idx) - 1)]
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
    # with Arrow, after the dirt is in (see _render_orders).
    orders = pd.DataFrame({
        "cust": l_cust.astype(np.int64),  # index into this chunk's customers; -1 missing, -2 unknown
        "unknown_id": np.zeros(len(li), np.int64),
        "prefix": np.zeros(len(li), np.int8),  # 0 order, 1 return, 2 test-account order
        "onum": o_number[li].astype(np.int64),
        "order_date": o_time[li],
        "prod": l_prod.astype(np.int64),
        "cat": l_cat.astype(np.int64),  # -1 missing
        "quantity": qty.astype(float),
        "unit_price": price,
    })

    # Returns: a later line with negative quantity for a share of lines, by category.
    ret_rate = np.array([CATEGORIES[c]["returns"] for c in CATEGORY_NAMES])[l_cat]
    r = np.flatnonzero(rng.random(len(li)) < ret_rate)
    r_day = l_day[r] + rng.integers(3, 30, len(r))
    r = r[r_day < n_days]
    r_day = r_day[r_day < n_days]
    returns = orders.iloc[r].copy()
    returns["prefix"] = np.int8(1)
    returns["order_date"] = cal.days.values[r_day] + (
        rng.integers(9 * 3600, 18 * 3600, len(r)) * 1_000_000_000).astype("timedelta64[ns]")
    returns["quantity"] = -returns["quantity"]
    orders = pd.concat([orders, returns], ignore_index=True)
    order = np.lexsort((orders["prefix"].to_numpy(), orders["onum"].to_numpy(),
                        orders["order_date"].to_numpy().view(np.int64)))
    orders = orders.iloc[order].reset_index(drop=True)
    is_return = orders["quantity"].to_numpy() < 0

    # ---- interactions ----------------------------------------------------------------------
    # Service contacts: ~one every eight active months; need notes: before a quarter of
    # orders (1-14 days ahead), plus needs voiced by customers who then do not buy.
    svc_rate = span / 30.44 / 8
    k = rng.poisson(svc_rate)
    s_cust = np.repeat(np.arange(n), k)
    s_day = a[s_cust] + np.floor(rng.random(len(s_cust)) * span[s_cust]).astype(int)
    topics = list(SERVICE_NOTES)
    s_topic = rng.integers(0, len(topics), len(s_cust))
    s_note = np.array([SERVICE_NOTES[t] for t in topics], dtype=object)[
        s_topic, rng.integers(0, 3, len(s_cust))]

    first_line = np.searchsorted(li, np.arange(n_orders))  # every order keeps its first line
    need_orders = np.flatnonzero(rng.random(n_orders) < 0.25)
    n_cat = l_cat[first_line[need_orders]]
    n_day = o_day[need_orders] - rng.integers(1, 15, len(need_orders))
    ok = n_day >= 0
    n_cust, n_cat, n_day = o_cust[need_orders][ok], n_cat[ok], n_day[ok]
    # Unfulfilled needs: as many again as 20% of the fulfilled ones, at random active days.
    k2 = int(len(n_cust) * 0.2)
    cand = np.flatnonzero(active)
    u_cust = rng.choice(cand, k2) if len(cand) and k2 else np.array([], int)
    u_day = a[u_cust] + np.floor(rng.random(len(u_cust)) * span[u_cust]).astype(int)
    u_cat = np.zeros(len(u_cust), int)
    for pi, p in enumerate(PERSONAS):
        m = persona[u_cust] == pi
        u_cat[m] = _choice(rng, int(m.sum()), p.category_weights)
    need_cust = np.concatenate([n_cust, u_cust])
    need_day = np.concatenate([n_day, u_day])
    need_cat = np.concatenate([n_cat, u_cat])
    tmpl = rng.integers(0, len(NEED_TEMPLATES), len(need_cust))
    n_items = np.array([len(NEED_ITEMS[c]) for c in CATEGORY_NAMES])
    item_j = rng.integers(0, 1 << 30, len(need_cust)) % n_items[need_cat]
    width = n_items.max()
    phrase = np.array([[t.format(item=NEED_ITEMS[c][j % len(NEED_ITEMS[c])]) for c in CATEGORY_NAMES
                        for j in range(width)] for t in NEED_TEMPLATES], dtype=object)
    need_note = phrase[tmpl, need_cat * width + item_j]

    i_cust = np.concatenate([s_cust, need_cust])
    i_day = np.concatenate([s_day, need_day])
    i_topic = np.concatenate([np.array(topics, dtype=object)[s_topic],
                              np.full(len(need_cust), "product_question", dtype=object)])
    i_note = np.concatenate([s_note, need_note])
    i_need = np.concatenate([np.full(len(s_cust), None, dtype=object),
                             np.array(CATEGORY_NAMES, dtype=object)[need_cat]])
    i_secs = rng.integers(8 * 3600, 21 * 3600, len(i_cust))
    i_time = cal.days.values[i_day] + (i_secs * 1_000_000_000).astype("timedelta64[ns]")
    i_order = np.lexsort((i_cust, i_time))
    n_int = len(i_order)
    interactions = pd.DataFrame({
        "interaction_id": _ids("I", interaction_offset + np.arange(1, n_int + 1), 9),
        "customer_id": cust_id[i_cust[i_order]],
        "timestamp": i_time[i_order],
        "channel": np.array(INTERACTION_CHANNELS, dtype=object)[
            _choice(rng, n_int, [0.35, 0.35, 0.25, 0.05])],
        "topic": i_topic[i_order],
        "note": i_note[i_order],
        "outcome": np.array(["resolved", "pending", "escalated"], dtype=object)[
            _choice(rng, n_int, [0.8, 0.12, 0.08])],
    })
    truth_interactions = pd.DataFrame({"interaction_id": interactions["interaction_id"],
                                       "need_category": i_need[i_order]})

    # ---- surveys ---------------------------------------------------------------------------
    # 6% of orders trigger a survey that is answered 2-10 days later.
    sv = np.flatnonzero(rng.random(n_orders) < 0.06)
    sv_day = o_day[sv] + rng.integers(2, 11, len(sv))
    sv = sv[sv_day < n_days]
    sv_day = sv_day[sv_day < n_days]
    sv_cust = o_cust[sv]
    means = np.array([ARCHETYPES[a].item_means for a in archetype[sv_cust]]).reshape(len(sv), len(SURVEY_ITEMS))
    items = np.clip(np.round(means + rng.normal(0, 0.6, means.shape)), 1, 5)
    overall = np.clip(np.round(items.mean(1) + rng.normal(0, 0.4, len(sv))), 1, 5)
    nps = np.clip(np.round(2.5 * items.mean(1) - 2.0 + rng.normal(0, 1.0, len(sv))), 0, 10)
    comments = np.array([x.comments for x in ARCHETYPES], dtype=object)[
        archetype[sv_cust], rng.integers(0, 5, len(sv))]
    no_comment = rng.random(len(sv)) < 0.35
    comments[no_comment] = ""
    s_order = np.lexsort((sv_cust, sv_day))
    surveys = pd.DataFrame({
        "response_id": _ids("S", survey_offset + np.arange(1, len(sv) + 1), 8),
        "customer_id": cust_id[sv_cust[s_order]],
        "date": cal.days.values[sv_day[s_order]],
        **{q: items[s_order, j] for j, q in enumerate(SURVEY_ITEMS)},
        "overall": overall[s_order],
        "nps": nps[s_order],
        "comment": comments[s_order],
    })

    customers = pd.DataFrame({
        "customer_id": cust_id, "name": np.char.add(np.char.add(first.astype(str), " "),
                                                     last.astype(str)).astype(object),
        "email": email, "phone": phone, "signup_date": signup.values,
        "region": np.array(REGION_NAMES, dtype=object)[region], "city": city, "channel": channel,
        "gender": gender, "birth_year": birth_year.astype(float),
    })
    truth_customers = pd.DataFrame({
        "customer_id": cust_id, "canonical_id": cust_id,
        "persona": np.array([p.name for p in PERSONAS], dtype=object)[persona],
        "satisfaction_archetype": np.array([x.name for x in ARCHETYPES], dtype=object)[archetype],
        "is_test_account": False, "signup_date": signup.values, "churn_date": churn_date.values,
    })

    # ---- dirt ------------------------------------------------------------------------------
    customers, orders, interactions, surveys, truth_customers, extra_ids = _inject_dirt(
        rng, dirt, rates, cfg, chunk, customers, orders, interactions, surveys, truth_customers,
        nsn, calling, phone_style, is_return, extra_id_start, cat)

    return Chunk(customers, orders, interactions, surveys, truth_customers, truth_interactions,
                 dirt.frame(), int(o_number.max()) if len(o_number) else order_offset)


def _render_orders(lines: dict[str, np.ndarray], customer_ids: pd.Series, catalogue: "Catalogue",
                   text: dict[str, tuple[np.ndarray, np.ndarray]]) -> pd.DataFrame:
    """Numeric order lines as the export's text columns (Arrow-backed), with dirty text put in."""
    lines = {k: np.asarray(v) for k, v in lines.items()}
    n_lines = len(lines["cust"])
    cust = lines["cust"]
    cust_ids = pc.take(pa.array(customer_ids.astype(str).to_numpy()), pa.array(cust, mask=cust < 0))
    unknown = cust == -2
    if unknown.any():
        cust_ids = pc.replace_with_mask(cust_ids, pa.array(unknown),
                                        pa.array(_ids("C9", lines["unknown_id"][unknown], 7)))
    prefix = pc.take(pa.array(["O", "R", "T"]), pa.array(lines["prefix"]))
    padded = pc.utf8_lpad(pc.cast(pa.array(lines["onum"]), pa.string()), width=9, padding="0")
    cat = lines["cat"]
    cols = {
        "order_id": pc.binary_join_element_wise(prefix, padded, ""),
        "customer_id": cust_ids,
        "order_date": pa.array(_fmt_dates(lines["order_date"], "%Y-%m-%d %H:%M:%S", arrow=True)),
        "product_id": pc.take(pa.array(catalogue.product_id.astype(str)), pa.array(lines["prod"])),
        "category": pc.take(pa.array(CATEGORY_NAMES), pa.array(cat, mask=cat < 0)),
    }
    for col, (rows, values) in text.items():
        if len(rows):
            mask = np.zeros(n_lines, bool)
            mask[rows] = True
            order = np.argsort(rows, kind="stable")  # replace_with_mask fills in row order
            cols[col] = pc.replace_with_mask(cols[col], pa.array(mask),
                                             pa.array(np.asarray(values, dtype=object)[order], pa.string()))
    out = pd.DataFrame({k: pd.arrays.ArrowStringArray(pa.chunked_array([v])) for k, v in cols.items()})
    q = lines["quantity"]
    missing = np.isnan(q)
    out["quantity"] = pd.arrays.IntegerArray(np.where(missing, 0, q).astype(np.int64), missing)
    out["unit_price"] = lines["unit_price"]
    return out


def _with_contact(rng: np.random.Generator, text: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Append a fake e-mail address or phone number to the free text of ``rows``."""
    out = text.copy()
    for i, r in enumerate(rows):
        digits = "".join(str(d) for d in rng.integers(0, 10, 9))
        contact = [f"Please reach me at jo.{digits[:5]}@example.net",
                   f"Call me back on +44 7{digits[:3]} {digits[3:]}",
                   f"My number is (0{digits[:3]}) {digits[3:6]} {digits[6:]}"][i % 3]
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
            stripped = _strip_accents(v)
            out[i] = stripped if stripped != v else v.lower() + " "
    return out


def _inject_dirt(rng, dirt: _Dirt, rates: DirtRates, cfg: SynthConfig, chunk: int,
                 customers: pd.DataFrame, orders: pd.DataFrame, interactions: pd.DataFrame,
                 surveys: pd.DataFrame, truth: pd.DataFrame, nsn, calling, phone_style,
                 is_return: np.ndarray, extra_id_start: int, catalogue: "Catalogue"):
    """Add realistic dirt and record every dirty row. Row numbers refer to the final tables."""
    n = len(customers)
    next_id = [extra_id_start]

    def new_ids(k: int) -> np.ndarray:
        ids = _ids("C", np.arange(next_id[0], next_id[0] + k), 7)
        next_id[0] += k
        return ids.astype(object)

    # Duplicate customers: a second record of the same person, e-mail differing in case or
    # whitespace, phone in another format, name re-cased; part of the later orders use it.
    dup_src = dirt.pick(n, rates.duplicate_customers)
    dups = customers.iloc[dup_src].copy()
    dup_ids = new_ids(len(dup_src))
    dups["customer_id"] = dup_ids
    em = dups["email"].to_numpy()
    style = rng.integers(0, 3, len(em))
    dups["email"] = np.where(style == 0, np.char.upper(em.astype(str)),
                             np.where(style == 1, np.char.add(" ", em.astype(str)),
                                      np.array([e[0].upper() + e[1:] + " " for e in em]))).astype(object)
    dups["phone"] = _format_phone(nsn[dup_src], calling[dup_src], (phone_style[dup_src] + 1) % 3)
    nm = dups["name"].to_numpy()
    dups["name"] = np.where(rng.random(len(nm)) < 0.5, np.char.upper(nm.astype(str)),
                            np.char.replace(nm.astype(str), " ", "  ")).astype(object)
    later = dups["signup_date"] + pd.to_timedelta(rng.integers(30, 400, len(dups)), unit="D")
    dups["signup_date"] = later.where(later <= cfg.end_ts, cfg.end_ts)
    truth_dups = truth.iloc[dup_src].copy()
    truth_dups["customer_id"] = dup_ids
    truth_dups["signup_date"] = dups["signup_date"].values

    # Test accounts (only in the first chunk): staff and QA logins with orders of their own.
    n_test = rates.test_accounts if chunk == 0 else 0
    test_ids = new_ids(n_test)
    test_names = np.array(["Test User", "QA Tester", "test account", "Demo Customer"], dtype=object)
    tests = pd.DataFrame({
        "customer_id": test_ids,
        "name": test_names[np.arange(n_test) % len(test_names)],
        "email": np.array([f"qa+{i}@test.example" if i % 2 else f"test{i}@example.com"
                           for i in range(n_test)], dtype=object),
        "phone": np.array(["+44 0000 000000"] * n_test, dtype=object),
        "signup_date": np.array([cfg.start_ts + pd.Timedelta(days=int(d)) for d in
                                 rng.integers(0, max(1, min(300, (cfg.end_ts - cfg.start_ts).days)), n_test)],
                                dtype="datetime64[ns]"),
        "region": "United Kingdom", "city": "London", "channel": "organic_search",
        "gender": None, "birth_year": np.nan,
    })
    truth_tests = pd.DataFrame({"customer_id": test_ids, "canonical_id": test_ids, "persona": None,
                                "satisfaction_archetype": None, "is_test_account": True,
                                "signup_date": tests["signup_date"].values, "churn_date": pd.NaT})

    # Orders of duplicates: lines after the duplicate's signup move to the duplicate id.
    src_to_dup = dict(zip(customers["customer_id"].to_numpy()[dup_src], dup_ids))
    dup_signup = dict(zip(dup_ids, dups["signup_date"].to_numpy()))
    o_cust = orders["cust"].to_numpy().copy()
    dup_of = np.full(n, -1)
    dup_of[dup_src] = np.arange(len(dup_src))
    cand = np.flatnonzero((dup_of[o_cust] >= 0) & ~is_return)
    after = orders["order_date"].to_numpy()[cand] >= dups["signup_date"].to_numpy()[dup_of[o_cust[cand]]]
    move = cand[after & (rng.random(len(cand)) < 0.7)]
    o_cust[move] = n + dup_of[o_cust[move]]
    orders["cust"] = o_cust
    dirt.note("orders", move, "duplicate_customer_id")
    order_moved = move

    # Orders of test accounts.
    if n_test:
        k = 8 * n_test
        pick = orders.iloc[np.sort(rng.choice(len(orders), min(k, len(orders)), replace=False))].copy()
        pick["cust"] = n + len(dups) + np.arange(len(pick)) % n_test
        pick["prefix"] = np.int8(2)
        pick["onum"] = np.arange(1, len(pick) + 1)
        pick["quantity"] = pick["quantity"].abs()
        orders = pd.concat([orders, pick], ignore_index=True)
    test_order_rows = np.flatnonzero(orders["cust"].to_numpy() >= n + len(dups))
    dirt.note("orders", test_order_rows, "test_account")

    customers = pd.concat([customers, dups, tests], ignore_index=True)
    truth = pd.concat([truth, truth_dups, truth_tests], ignore_index=True)
    nc = len(customers)
    dirt.note("customers", np.arange(n, n + len(dups)), "duplicate_customer")
    dirt.note("customers", np.arange(n + len(dups), nc), "test_account")
    c_real = np.zeros(nc, bool)
    c_real[n:] = True  # "taken": only original rows get other dirt, so outcomes stay unambiguous

    # Customers: missing values, city spellings, date formats.
    for col, rate in [("birth_year", rates.missing_birth_year), ("gender", rates.missing_gender),
                      ("city", rates.missing_city), ("channel", rates.missing_channel)]:
        rows = dirt.pick(n, rate)
        customers.loc[rows, col] = np.nan if col == "birth_year" else None
        dirt.note("customers", rows, f"missing_{col}")
    city = customers["city"].to_numpy()
    rows = dirt.pick(n, rates.city_spelling)
    rows = rows[pd.notna(city[rows])]
    city[rows] = _case_variant(rng, city[rows])
    customers["city"] = city
    dirt.note("customers", rows, "city_spelling")

    signup_str = _fmt_dates(customers["signup_date"].to_numpy(), "%Y-%m-%d")
    no_bad_signup = c_real.copy()
    no_bad_signup[dup_src] = True  # with its sign-up unreadable, which record came first is unknowable
    bad_signup = dirt.pick(nc, rates.unparseable_signup_date, no_bad_signup)
    taken = c_real.copy()
    taken[bad_signup] = True
    fmt_rows = dirt.pick(nc, rates.signup_date_format, taken)
    alt = rng.integers(0, 3, len(fmt_rows))
    for j, fmt in enumerate(["%d.%m.%Y", "%Y/%m/%d", "%d %b %Y"]):
        sel = fmt_rows[alt == j]
        signup_str[sel] = _fmt_dates(customers["signup_date"].to_numpy()[sel], fmt)
    signup_str[bad_signup] = np.array(["unknown", "31.02.2024", "0000-00-00", "n/a"],
                                      dtype=object)[np.arange(len(bad_signup)) % 4]
    customers["signup_date"] = signup_str
    customers["birth_year"] = customers["birth_year"].astype("Int64")
    dirt.note("customers", fmt_rows, "date_format")
    dirt.note("customers", bad_signup, "unparseable_signup_date")

    # Orders: row-level problems on disjoint rows so each has one expected quarantine reason.
    no = len(orders)
    taken = np.zeros(no, bool)
    taken[test_order_rows] = True
    taken[order_moved] = True  # rows re-assigned to a duplicate id carry no other dirt
    taken[is_return.nonzero()[0][is_return.nonzero()[0] < no]] = True  # returns stay clean
    o_cust = orders["cust"].to_numpy().copy()
    unknown_id = orders["unknown_id"].to_numpy().copy()
    catg = orders["cat"].to_numpy().copy()
    qty = orders["quantity"].to_numpy().astype(float)
    price = orders["unit_price"].to_numpy().astype(float)
    text: dict[str, tuple[np.ndarray, np.ndarray]] = {}  # column -> (rows, replacement text)

    bad = dirt.pick(no, rates.unparseable_order_date, taken)
    date_bad = (bad, np.array(["not a date", "2025-13-45 10:00:00", "", "32.01.2025 09:00"],
                              dtype=object)[np.arange(len(bad)) % 4])
    dirt.note("orders", bad, "unparseable_date")
    bad = dirt.pick(no, rates.unknown_customer, taken)
    o_cust[bad] = -2
    unknown_id[bad] = rng.integers(0, 10_000_000, len(bad))
    dirt.note("orders", bad, "unknown_customer")
    bad = dirt.pick(no, rates.missing_customer_id, taken)
    o_cust[bad] = -1
    dirt.note("orders", bad, "missing_customer_id")
    bad = dirt.pick(no, rates.invalid_price, taken)
    price[bad] = np.where(np.arange(len(bad)) % 2 == 0, 0.0, -np.abs(price[bad]))
    dirt.note("orders", bad, "invalid_price")
    bad = dirt.pick(no, rates.invalid_quantity, taken)
    qty[bad] = np.where(np.arange(len(bad)) % 2 == 0, 0.0, np.nan)
    dirt.note("orders", bad, "invalid_quantity")
    # Kept-but-dirty rows.
    rows = dirt.pick(no, rates.bulk_outlier, taken)
    qty[rows] = rng.integers(60, 400, len(rows))
    dirt.note("orders", rows, "bulk_outlier")
    rows = dirt.pick(no, rates.missing_category, taken)
    catg[rows] = -1
    dirt.note("orders", rows, "missing_category")
    rows = dirt.pick(no, rates.category_spelling, taken)
    text["category"] = (rows, _case_variant(rng, np.array(CATEGORY_NAMES, dtype=object)[catg[rows]]))
    dirt.note("orders", rows, "category_spelling")
    rows = dirt.pick(no, rates.order_date_format, taken)
    alt = rng.integers(0, 2, len(rows))
    fmt_rows, fmt_text = [date_bad[0]], [date_bad[1]]
    for j, fmt in enumerate(["%d.%m.%Y %H:%M", "%Y/%m/%d %H:%M:%S"]):
        sel = rows[alt == j]
        fmt_rows.append(sel)
        fmt_text.append(_fmt_dates(orders["order_date"].to_numpy()[sel], fmt))
    text["order_date"] = (np.concatenate(fmt_rows), np.concatenate(fmt_text))
    dirt.note("orders", rows, "date_format")
    orders = _render_orders({"cust": o_cust, "unknown_id": unknown_id, "cat": catg, "quantity": qty,
                             "unit_price": price, **{c: orders[c].to_numpy() for c in ("prefix", "onum",
                                                                                       "order_date", "prod")}},
                            customers["customer_id"], catalogue, text)
    # Exact duplicate lines: the export repeated some lines verbatim (appended at the end).
    rows = dirt.pick(no, rates.exact_duplicate, taken)
    orders = pd.concat([orders, orders.iloc[rows]], ignore_index=True)
    dirt.note("orders", np.arange(no, no + len(rows)), "exact_duplicate")

    # Interactions: duplicates' contacts partly under the duplicate id; bad dates; unknown ids.
    ni = len(interactions)
    i_cid = interactions["customer_id"].to_numpy().copy()
    cand = np.flatnonzero(pd.Series(i_cid).isin(src_to_dup).to_numpy())
    dup_signup = pd.Series(dups["signup_date"].to_numpy(), index=dup_ids)
    after = interactions["timestamp"].to_numpy()[cand] >= \
        pd.Series(i_cid[cand]).map(src_to_dup).map(dup_signup).to_numpy()
    move = cand[after & (rng.random(len(cand)) < 0.5)]
    i_cid[move] = pd.Series(i_cid[move]).map(src_to_dup).to_numpy()
    dirt.note("interactions", move, "duplicate_customer_id")
    taken = np.zeros(ni, bool)
    taken[move] = True
    ts = _fmt_dates(interactions["timestamp"].to_numpy(), "%Y-%m-%dT%H:%M:%S")
    bad = dirt.pick(ni, rates.interaction_unparseable_date, taken)
    ts[bad] = "yesterday"
    dirt.note("interactions", bad, "unparseable_date")
    bad = dirt.pick(ni, rates.interaction_unknown_customer, taken)
    i_cid[bad] = _ids("C9", rng.integers(0, 10_000_000, len(bad)), 7)
    dirt.note("interactions", bad, "unknown_customer")
    interactions = interactions.assign(customer_id=i_cid, timestamp=ts)
    rows = dirt.pick(ni, rates.contact_in_text, taken)
    interactions["note"] = _with_contact(rng, interactions["note"].to_numpy(), rows)
    dirt.note("interactions", rows, "contact_in_text")

    # Surveys: skipped answers, NPS outside 0-10, unknown respondents.
    ns = len(surveys)
    taken = np.zeros(ns, bool)
    bad = dirt.pick(ns, rates.survey_nps_out_of_range, taken)
    nps = surveys["nps"].to_numpy().copy()
    nps[bad] = np.where(np.arange(len(bad)) % 2 == 0, 11, -1)
    dirt.note("surveys", bad, "nps_out_of_range")
    bad = dirt.pick(ns, rates.survey_unknown_customer, taken)
    s_cid = surveys["customer_id"].to_numpy().copy()
    s_cid[bad] = _ids("C9", rng.integers(0, 10_000_000, len(bad)), 7)
    dirt.note("surveys", bad, "unknown_customer")
    rows = dirt.pick(ns, rates.contact_in_text, taken)
    surveys = surveys.assign(nps=nps, customer_id=s_cid,
                             date=_fmt_dates(surveys["date"].to_numpy(), "%Y-%m-%d"),
                             comment=_with_contact(rng, surveys["comment"].to_numpy(), rows))
    dirt.note("surveys", rows, "contact_in_text")
    item_block = surveys[SURVEY_ITEMS].to_numpy()
    miss = rng.random(item_block.shape) < rates.survey_missing_answer
    item_block[miss] = np.nan
    surveys[SURVEY_ITEMS] = item_block
    dirt.note("surveys", np.flatnonzero(miss.any(1)), "missing_answer")
    for col in SURVEY_ITEMS + ["overall", "nps"]:
        surveys[col] = surveys[col].astype("Int64")

    truth["canonical_id"] = truth["customer_id"]
    dup_canon = dict(zip(dup_ids, customers["customer_id"].to_numpy()[dup_src]))
    truth["canonical_id"] = truth["customer_id"].map(dup_canon).fillna(truth["customer_id"])
    return customers, orders, interactions, surveys, truth, next_id[0]


# --------------------------------------------------------------------------------------------
# Writing
# --------------------------------------------------------------------------------------------

TABLES = ("customers", "orders", "interactions", "surveys")


class _TableWriter:
    """Appends Arrow tables to one CSV or Parquet file per table, in the first part's schema."""

    def __init__(self, path: Path, file_format: str):
        self.path = path
        self.format = file_format
        self._writer = None
        self._schema = None
        self.rows = 0

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._schema = table.schema
            if self.format == "parquet":
                self._writer = pq.ParquetWriter(self.path, table.schema)
            else:
                self._writer = pacsv.CSVWriter(self.path, table.schema,
                                               write_options=pacsv.WriteOptions(quoting_style="needed"))
        self._writer.write_table(table.cast(self._schema))
        self.rows += table.num_rows

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()


def _as_arrow(df: pd.DataFrame) -> pa.Table:
    """Text columns as Arrow strings (an all-missing column stays text); numbers stay numbers."""
    out = {}
    for col in df.columns:
        s = df[col]
        out[col] = s.astype(pd.StringDtype("pyarrow")) if s.dtype == object else s
    return pa.Table.from_pandas(pd.DataFrame(out), preserve_index=False)


@dataclass
class GenerationSummary:
    out_dir: str
    customers: int
    rows: dict[str, int]
    seconds: float


def _extra_ids_per_chunk(cfg: SynthConfig) -> int:
    """Room for duplicate and test-account ids in each chunk's own id range."""
    return int(np.ceil(cfg.chunk_customers * cfg.dirt.duplicate_customers)) + cfg.dirt.test_accounts + 1


def _chunk_job(cfg: SynthConfig, k: int, part_dir: str) -> dict:
    """Generate chunk ``k`` and write its tables as Parquet parts; return its truth and row counts.

    Every chunk has its own random stream and id ranges, so chunks can be made in any order,
    in parallel, and still give the same files.
    """
    cal = Calendar.build(cfg.start_ts, cfg.end_ts)
    catalogue = Catalogue.build(cfg.seed)
    first = k * cfg.chunk_customers + 1
    size = min(cfg.chunk_customers, cfg.customers - k * cfg.chunk_customers)
    room = _extra_ids_per_chunk(cfg)
    ch = _generate_chunk(cfg, cal, catalogue, k, first, size, order_offset=k * 10 ** 8,
                         interaction_offset=k * 10 ** 8, survey_offset=k * 10 ** 7,
                         extra_id_start=cfg.customers + 1 + k * room)
    if len(ch.customers) - size > room:
        raise ValueError("duplicate_customers rate leaves no room for the planted duplicate ids")
    rows = {}
    for t in TABLES:
        table = getattr(ch, t)
        pq.write_table(_as_arrow(table), Path(part_dir) / f"{t}-{k:05d}.parquet")
        rows[t] = len(table)
    return {"rows": rows, "dirt": ch.dirt, "customers": ch.truth_customers,
            "interactions": ch.truth_interactions}


def generate(out_dir: str | Path, config: SynthConfig | None = None, progress: bool = False,
             workers: int | None = None) -> GenerationSummary:
    """Write the four tables to ``out_dir`` and the ground truth to ``out_dir/_truth``.

    Deterministic: the same config writes byte-identical files, whatever today's date is and
    however many ``workers`` (processes, default: one per core) share the chunks of 100,000
    customers.
    """
    import tempfile
    import time
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    cfg = config or SynthConfig()
    if cfg.file_format not in ("csv", "parquet"):
        raise ValueError(f"file_format must be 'csv' or 'parquet', got {cfg.file_format!r}")
    if cfg.customers < 50:
        raise ValueError(f"need at least 50 customers to plant every kind of dirt, got {cfg.customers}")
    t0 = time.perf_counter()
    out = Path(out_dir)
    truth_dir = out / "_truth"
    truth_dir.mkdir(parents=True, exist_ok=True)
    for t in TABLES:
        for ext in ("csv", "parquet"):
            (out / f"{t}.{ext}").unlink(missing_ok=True)
    ext = "parquet" if cfg.file_format == "parquet" else "csv"
    n_chunks = -(-cfg.customers // cfg.chunk_customers)
    workers = max(1, min(workers or os.cpu_count() or 1, n_chunks))

    with tempfile.TemporaryDirectory(prefix=".parts-", dir=out) as part_dir:
        if workers == 1:
            results = (_chunk_job(cfg, k, part_dir) for k in range(n_chunks))
            pool = None
        else:
            pool = ProcessPoolExecutor(workers, mp_context=get_context("spawn"))
            results = pool.map(_chunk_job, [cfg] * n_chunks, range(n_chunks), [part_dir] * n_chunks)
        if progress:
            from tqdm.auto import tqdm
            results = tqdm(results, total=n_chunks, desc="generating", unit="chunk")
        writers = {t: _TableWriter(out / f"{t}.{ext}", cfg.file_format) for t in TABLES}
        truth_parts: dict[str, list[pd.DataFrame]] = {"customers": [], "interactions": [], "dirt": []}
        try:
            for k, res in enumerate(results):  # in chunk order, so files do not depend on workers
                d = res["dirt"]
                d["row"] = d["row"] + d["table"].map({t: writers[t].rows for t in TABLES}).astype(np.int64)
                truth_parts["dirt"].append(d)
                truth_parts["customers"].append(res["customers"])
                truth_parts["interactions"].append(res["interactions"])
                for t in TABLES:
                    part = Path(part_dir) / f"{t}-{k:05d}.parquet"
                    writers[t].write(pq.read_table(part))
                    part.unlink()
        finally:
            for w in writers.values():
                w.close()
            if pool is not None:
                pool.shutdown()

    pd.concat(truth_parts["customers"], ignore_index=True).to_parquet(truth_dir / "customers.parquet", index=False)
    pd.concat(truth_parts["interactions"], ignore_index=True).to_parquet(
        truth_dir / "interactions.parquet", index=False)
    dirt = pd.concat(truth_parts["dirt"], ignore_index=True).sort_values(["table", "row", "kind"])
    dirt.to_parquet(truth_dir / "dirt.parquet", index=False)
    Catalogue.build(cfg.seed).frame().to_parquet(truth_dir / "products.parquet", index=False)
    rows = {t: writers[t].rows for t in TABLES}
    manifest = {
        "generator": "crm_utils.synth", "config": {**asdict(cfg), "start": str(cfg.start_ts.date())},
        "rows": rows, "dirt_counts": dirt.groupby(["table", "kind"]).size().rename("rows")
        .reset_index().to_dict(orient="records"),
        "personas": [p.name for p in PERSONAS], "archetypes": [x.name for x in ARCHETYPES],
        "note": "Ground truth for tests and for checking what the notebooks recover. "
                "No notebook reads this folder.",
    }
    (truth_dir / "manifest.json").write_text(json.dumps(manifest, indent=2, default=str))
    return GenerationSummary(str(out), cfg.customers, rows, time.perf_counter() - t0)


def load_truth(data_dir: str | Path) -> dict[str, pd.DataFrame]:
    """The ground truth written beside generated data (for tests and checks, never notebooks)."""
    d = Path(data_dir) / "_truth"
    return {p.stem: pd.read_parquet(p) for p in sorted(d.glob("*.parquet"))}
