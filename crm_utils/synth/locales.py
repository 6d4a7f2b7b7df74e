"""Where the synthetic shop is: the words, places, money and calendar that differ between locales.

The planted truth is the same in every locale (personas, satisfaction archetypes with their item
means, needs voiced in notes before a purchase, the dirt); a :class:`Locale` says how it is
written down: regions and cities, people's names, the text of notes and survey comments, the
currency and price level, the retail events and the holiday calendar the mapping declares.

* ``en`` - the default: a European shop (UK, Germany, France, Spain, the Netherlands), English notes
  and comments, euros, Black Friday, Cyber Monday, 11.11 and the run-up to Christmas;
* ``zh_CN`` - a shop in mainland China (:mod:`~crm_utils.synth.zh_cn`): five provinces as regions,
  Chinese names, notes and comments, yuan, China's public holidays, and the Spring Festival
  shopping season, 618 and Singles' Day (11.11) as retail events.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from crm_utils.synth import world as w


@dataclass(frozen=True)
class Locale:
    """How one locale writes the planted world down (see the module docstring)."""

    name: str
    regions: dict[str, dict]  # as world.REGIONS: holiday code, share, calling code, mobile shape, Faker locale, cities
    need_items: dict[str, list[str]]  # per category (world.CATEGORY_NAMES): items a note asks about
    need_templates: list[str]  # note text around an item: "{item}"
    service_notes: dict[str, list[str]]  # per service topic (topic names are codes, the same everywhere)
    comments: tuple[tuple[str, ...], ...]  # per satisfaction archetype (world.ARCHETYPES order), five each
    contact_phrases: tuple[str, ...]  # an e-mail or phone written into a note: {dA_B} = random digits[A:B]
    currency: str  # ISO 4217, declared in mapping.yml
    price_factor: float  # list prices relative to the euro catalogue
    mapping_yml: str  # the mapping.yml written beside the tables
    retail_events: Callable[[list[int]], pd.DataFrame]  # years -> date, event, boost
    #: Extra boost per day beyond the retail events (the run-up to Christmas in ``en``), days -> factor.
    season_ramp: Callable[[pd.DatetimeIndex], np.ndarray]
    test_account_place: tuple[str, str, str]  # region, city, phone of staff test accounts
    name_order: str = "first last"  # "last first": family name first, written without a space
    romanized_email: bool = False  # e-mail addresses from Faker's romanized names (names are not Latin)

    @property
    def region_names(self) -> list[str]:
        return list(self.regions)

    def full_names(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """People's names as the export writes them."""
        f, la = first.astype(str), last.astype(str)
        if self.name_order == "last first":
            return np.char.add(la, f).astype(object)
        return np.char.add(np.char.add(f, " "), la).astype(object)


def contact_text(phrase: str, digits: str) -> str:
    """A contact phrase with its digit fields (``{d3_9}`` = ``digits[3:9]``) filled in."""
    n = len(digits)
    return phrase.format(**{f"d{a}_{b}": digits[a:b] for a in range(n) for b in range(a + 1, n + 1)})


def christmas_ramp(days: pd.DatetimeIndex) -> np.ndarray:
    """The run-up to Christmas: a ramp over the first three weeks of December."""
    ramp = np.ones(len(days))
    dec = (days.month == 12) & (days.day <= 22)
    ramp[dec] = 1.0 + 0.5 * (days.day[dec] / 22.0)
    return ramp


EN = Locale(
    name="en", regions=w.REGIONS, need_items=w.NEED_ITEMS, need_templates=w.NEED_TEMPLATES,
    service_notes=w.SERVICE_NOTES, comments=tuple(a.comments for a in w.ARCHETYPES),
    contact_phrases=("Please reach me at jo.{d0_5}@example.net", "Call me back on +44 7{d0_3} {d3_9}",
                     "My number is (0{d0_3}) {d3_6} {d6_9}"),
    currency="EUR", price_factor=1.0,
    mapping_yml="# Written by `crm-report generate`: the synthetic shop's prices are in euros, and\n"
                "# its customers' regions are the countries they live in (their public holidays).\n"
                "currency: EUR\nholidays: {regions_are: countries}\n",
    retail_events=w.retail_events, season_ramp=christmas_ramp,
    test_account_place=("United Kingdom", "London", "+44 0000 000000"),
)


def _zh_cn() -> Locale:
    from crm_utils.synth import zh_cn

    return zh_cn.LOCALE


#: The locales ``crm-report generate --locale`` accepts.
LOCALES: dict[str, Callable[[], Locale]] = {"en": lambda: EN, "zh_CN": _zh_cn}


def locale_of(name: str) -> Locale:
    """The locale called ``name``, or a clear error naming the ones there are."""
    if name not in LOCALES:
        raise ValueError(f"locale must be one of {sorted(LOCALES)}, got {name!r}")
    return LOCALES[name]()
