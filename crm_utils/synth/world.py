"""The planted world: what the synthetic customers live in, before any of them acts.

The config (:class:`SynthConfig`, :class:`DirtRates`), the product categories and regions,
the customer **personas** (order frequency, spend, category mix, sensitivity to retail events,
churn) and the satisfaction **archetypes** (survey answers, comments, churn), the words of
interaction notes, the daily :class:`Calendar` (weekly and yearly seasonality, each region's
public holidays from the ``holidays`` package, Black Friday, Cyber Monday, 11.11 and the run-up
to Christmas; a locale's own, see :mod:`~crm_utils.synth.locales`), the product :class:`Catalogue`,
and the people's names and phone numbers.

Nothing here depends on today's date: only on the seed and the end date.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import holidays as holidays_lib
import numpy as np
import pandas as pd

from crm_utils.synth.text import format_ids, strip_accents

DEFAULT_END = "2026-10-31"
DEFAULT_MONTHS = 36
DEFAULT_CUSTOMERS = 10_000
CHUNK_CUSTOMERS = 100_000


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

#: Planted product affinities (market baskets, issue 23): an order holding the first product gets
#: the second added with the stated probability (unless it holds it already). Products are named
#: by (category, popularity rank), so the pairs exist in every catalogue; the ground truth's
#: ``affinities`` table lists them with their product ids. Drawn from a stream of their own
#: (:data:`AFFINITY_STREAM`), as extra lines, so every other draw stays as it was.
AFFINITIES: tuple[tuple[tuple[str, int], tuple[str, int], float], ...] = (
    (("Electronics", 2), ("Electronics", 6), 0.35),      # a camera, and its memory card
    (("Pet Supplies", 1), ("Grocery", 3), 0.30),         # dog food, and the treats beside it
    (("Toys & Games", 1), ("Books", 2), 0.25),           # a board game, and its rule book
    (("Sports & Outdoors", 3), ("Fashion", 4), 0.30),    # running shoes, and running socks
)
#: The affinities' own random stream: ``default_rng([seed, chunk, AFFINITY_STREAM])``; not the leads'
#: stream (23, :data:`crm_utils.synth.leads.LEADS_STREAM`), which would draw the same numbers.
AFFINITY_STREAM = 2301

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

#: The shop's outreach (see :mod:`crm_utils.synth.outreach`): per channel, the share of the active
#: customers it reaches in a month (on average; frequent buyers more), the days from the month's
#: start over which its contacts spread, and the planted **lift**: the probability that a contact
#: brings an extra order within OUTREACH_WINDOW_DAYS. Some channels help, SMS does not.
OUTREACH_CHANNELS: dict[str, dict] = {
    "email": dict(reach=0.25, days=5, lift=0.06),
    "sms": dict(reach=0.12, days=5, lift=0.0),
    "phone": dict(reach=0.06, days=20, lift=0.20),
    "visit": dict(reach=0.03, days=25, lift=0.35),
}
#: Outreach topics and their shares; the effect does not depend on the topic.
OUTREACH_TOPICS = {"promotion": 0.6, "reminder": 0.4}
OUTREACH_WINDOW_DAYS = 30
#: Campaign months: every month of the window but the first (which has no history to target on).
#: A shop's outreach runs all along; campaigns starting mid-window would plant a step into the
#: year-on-year season factors that need prediction reads.
OUTREACH_MONTHS = 10_000


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
    #: Where the shop is (crm_utils.synth.locales): ``en`` (default, a European shop) or ``zh_CN``.
    locale: str = "en"

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
    def build(cls, start: pd.Timestamp, end: pd.Timestamp, locale=None) -> "Calendar":
        """The calendar of ``locale`` (a :class:`~crm_utils.synth.locales.Locale`; default ``en``):
        its retail events, its season-long ramp and its regions' holidays."""
        if locale is None:
            from crm_utils.synth.locales import EN as locale
        days = pd.date_range(start, end, freq="D")
        years = sorted(set(days.year))
        season = np.stack([_seasonal_curve(days, CATEGORIES[c]["season"]) for c in CATEGORY_NAMES])
        events = locale.retail_events(years)
        boost = np.ones(len(days))
        idx = days.get_indexer(pd.DatetimeIndex(events["date"]))
        ok = idx >= 0
        boost[idx[ok]] = events["boost"].to_numpy()[ok]
        # A season-long ramp (in ``en`` the run-up to Christmas over the first three weeks of December).
        boost *= locale.season_ramp(days)
        hol = np.stack([days.isin(region_holidays(spec["code"], years)) for spec in locale.regions.values()])
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
# Catalogue, people, and what every chunk shares
# --------------------------------------------------------------------------------------------


@dataclass
class Catalogue:
    """Products with a category, a list price and a popularity."""

    product_id: np.ndarray
    category: np.ndarray  # index into CATEGORY_NAMES
    price: np.ndarray
    popularity: np.ndarray

    @classmethod
    def build(cls, seed: int, price_factor: float = 1.0) -> "Catalogue":
        """The catalogue of ``seed``; ``price_factor`` converts the euro price levels to a locale's currency."""
        rng = np.random.default_rng([seed, 7])
        ids, cats, prices, pops = [], [], [], []
        for ci, name in enumerate(CATEGORY_NAMES):
            spec = CATEGORIES[name]
            n = spec["products"]
            cats.append(np.full(n, ci))
            prices.append(np.round(spec["price"] * price_factor * np.exp(rng.normal(0, spec["spread"], n)), 2) + 0.0)
            pops.append(1.0 / np.arange(1, n + 1) ** 0.9)  # Zipf-like popularity
        cat = np.concatenate(cats)
        ids = np.array([f"P{ci + 1:02d}{k:03d}" for ci, n in enumerate(CATEGORY_NAMES)
                        for k in range(1, CATEGORIES[n]["products"] + 1)])
        price = np.maximum(np.concatenate(prices), 0.99 * price_factor)
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
        """The catalogue as the ground truth's ``products`` table."""
        return pd.DataFrame({"product_id": self.product_id,
                             "category": np.array(CATEGORY_NAMES)[self.category],
                             "list_price": self.price})

    def affinities(self) -> pd.DataFrame:
        """The planted :data:`AFFINITIES` as catalogue indices and product ids (the ground truth's
        ``affinities`` table): antecedent, consequent, their categories and the probability."""
        def index(cat: str, rank: int) -> int:
            return int(np.flatnonzero(self.category == CATEGORY_NAMES.index(cat))[rank - 1])

        a = [index(*x) for x, _, _ in AFFINITIES]
        b = [index(*y) for _, y, _ in AFFINITIES]
        return pd.DataFrame({"antecedent_index": a, "consequent_index": b,
                             "antecedent": self.product_id[a], "consequent": self.product_id[b],
                             "antecedent_category": [x[0] for x, _, _ in AFFINITIES],
                             "consequent_category": [y[0] for _, y, _ in AFFINITIES],
                             "probability": [p for _, _, p in AFFINITIES]})


def names(rng: np.random.Generator, region_idx: np.ndarray, regions: dict[str, dict] = REGIONS,
          romanized: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Fake first and last names drawn from Faker's locale lists (vectorised, no Faker calls per row);
    ``romanized``: Faker's romanized lists of a locale whose names are not in Latin letters."""
    from faker import Faker

    first = np.empty(len(region_idx), dtype=object)
    last = np.empty(len(region_idx), dtype=object)
    kind = "romanized_names" if romanized else "names"
    for ri, region in enumerate(regions):
        mask = region_idx == ri
        n = int(mask.sum())
        if not n:
            continue
        provider = Faker(regions[region]["locale"]).provider("faker.providers.person")
        firsts = sorted(set(getattr(provider, f"first_{kind}")))
        lasts = sorted(set(getattr(provider, f"last_{kind}")))
        first[mask] = np.array(firsts, dtype=object)[rng.integers(0, len(firsts), n)]
        last[mask] = np.array(lasts, dtype=object)[rng.integers(0, len(lasts), n)]
    return first, last


def email_local(first: np.ndarray, last: np.ndarray, number: np.ndarray) -> np.ndarray:
    """ASCII e-mail local parts; the customer number keeps them unique."""
    def ascii_(values: np.ndarray) -> pd.Series:
        s = pd.Series(values)
        uniq = pd.unique(s)
        table = {u: "".join(ch for ch in strip_accents(u.casefold()) if ch.isascii() and ch.isalnum())
                 for u in uniq}
        return s.map(table)

    local = ascii_(first) + "." + ascii_(last) + pd.Series(number).astype(str)
    return local.to_numpy(dtype=object)


def phones(rng: np.random.Generator, region_idx: np.ndarray,
           regions: dict[str, dict] = REGIONS) -> tuple[np.ndarray, np.ndarray]:
    """National significant numbers and their calling codes, per region."""
    nsn = np.empty(len(region_idx), dtype=object)
    calling = np.empty(len(region_idx), dtype=object)
    for ri, region in enumerate(regions):
        mask = region_idx == ri
        n = int(mask.sum())
        if not n:
            continue
        lead, digits = regions[region]["mobile"]
        rest = digits - len(lead)
        nums = rng.integers(0, 10 ** rest, n)
        nsn[mask] = format_ids(lead, nums, rest)
        calling[mask] = regions[region]["calling"]
    return nsn, calling



@dataclass(frozen=True)
class World:
    """What every chunk shares: the config, its locale, its daily calendar and its product catalogue."""

    cfg: SynthConfig
    calendar: Calendar
    catalogue: Catalogue
    locale: object = None  # crm_utils.synth.locales.Locale of cfg.locale

    @classmethod
    def build(cls, cfg: SynthConfig) -> "World":
        from crm_utils.synth.locales import locale_of

        locale = locale_of(cfg.locale)
        return cls(cfg, Calendar.build(cfg.start_ts, cfg.end_ts, locale),
                   Catalogue.build(cfg.seed, locale.price_factor), locale)


def extra_ids_per_chunk(cfg: SynthConfig) -> int:
    """Room for duplicate and test-account ids in each chunk's own id range."""
    return int(np.ceil(cfg.chunk_customers * cfg.dirt.duplicate_customers)) + cfg.dirt.test_accounts + 1


@dataclass(frozen=True)
class ChunkSpec:
    """Where chunk ``index`` sits: its customers' numbers and its own ranges of ids.

    Every chunk has its own random stream (seeded with the seed and ``index``) and id ranges,
    so chunks can be made in any order, in parallel, and still give the same files.
    """

    index: int
    first_number: int  # customer number of the chunk's first customer
    size: int  # customers in the chunk
    order_offset: int
    interaction_offset: int
    survey_offset: int
    extra_id_start: int  # first customer number for the chunk's duplicates and test accounts

    @classmethod
    def of(cls, cfg: SynthConfig, k: int) -> "ChunkSpec":
        return cls(index=k, first_number=k * cfg.chunk_customers + 1,
                   size=min(cfg.chunk_customers, cfg.customers - k * cfg.chunk_customers),
                   order_offset=k * 10 ** 8, interaction_offset=k * 10 ** 8, survey_offset=k * 10 ** 7,
                   extra_id_start=cfg.customers + 1 + k * extra_ids_per_chunk(cfg))
