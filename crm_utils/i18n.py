"""The kit's languages: gettext message catalogues read with Babel, and the locale that formats
numbers, dates and amounts.

The kit's own text is written in English in the code, wrapped for translation:

>>> from crm_utils.i18n import _, N_
>>> _("Net revenue was {revenue}").format(revenue=...)      # translated where it is used
>>> LABELS = {"orders": N_("orders")}                        # marked here, translated with _() when shown
>>> TABLE = NC_("table", "orders")                           # one meaning of a word: pgettext("table", "orders")

A language is a catalogue file: ``crm_utils/locale/<locale>/LC_MESSAGES/messages.po`` (e.g.
``zh_CN``), read at run time with :func:`babel.messages.pofile.read_po`, so a clean
``pip install -e .`` needs no compile step. The languages the kit offers are English (the
source text) and every catalogue present: adding one is adding a file. ``make messages``
extracts the wrapped strings into ``messages.pot`` and updates every catalogue from it.

The current language is the process's, as in gettext: a notebook sets it once
(``notebook.start(..., language=language)``) and every sentence, table header and chart label
drawn afterwards is in that language.
"""

from __future__ import annotations

import functools
from pathlib import Path

from babel import Locale, UnknownLocaleError
from babel.messages.pofile import read_po

#: Where the catalogues live: ``<locale>/LC_MESSAGES/<DOMAIN>.po``, and the template ``<DOMAIN>.pot``.
LOCALE_DIR = Path(__file__).parent / "locale"
DOMAIN = "messages"
#: The language the kit's strings are written in: it needs no catalogue.
SOURCE_LANGUAGE = "en"

_current = SOURCE_LANGUAGE


def tag(locale: Locale | str) -> str:
    """The language tag a user types (BCP 47, 'zh-CN') for a Babel locale or its name ('zh_CN')."""
    return str(locale).replace("_", "-")


def catalogue_path(language: str) -> Path:
    """The ``.po`` file of a language ('zh-CN' -> locale/zh_CN/LC_MESSAGES/messages.po)."""
    return LOCALE_DIR / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def available() -> list[str]:
    """The languages the kit can write: English and one per catalogue present."""
    return list(_available())


@functools.lru_cache(maxsize=1)
def _available() -> tuple[str, ...]:
    found = sorted(tag(p.parent.parent.name) for p in LOCALE_DIR.glob(f"*/LC_MESSAGES/{DOMAIN}.po"))
    return (SOURCE_LANGUAGE, *found)


def parse_language(value: str | None) -> str:
    """A language as the kit names it ('zh_CN', 'zh-cn' -> 'zh-CN'; None or '' -> 'en'), or a
    ValueError naming the languages there are."""
    if value is None or str(value).strip() == "":
        return SOURCE_LANGUAGE
    known = {lang.lower().replace("_", "-"): lang for lang in available()}
    found = known.get(str(value).strip().lower().replace("_", "-"))
    if found is None:
        raise ValueError(f"language {value!r} has no message catalogue; available: {', '.join(available())} "
                         f"(a new language is a file {catalogue_path('xx-YY').relative_to(LOCALE_DIR.parent.parent)})")
    return found


@functools.lru_cache(maxsize=None)
def catalogue(language: str) -> dict[str, str]:
    """The translations of a language, msgid -> msgstr; untranslated and fuzzy entries are left
    out, so their English text shows (and the catalogue test names them)."""
    language = parse_language(language)
    if language == SOURCE_LANGUAGE:
        return {}
    with catalogue_path(language).open("rb") as f:
        cat = read_po(f, locale=language.replace("-", "_"))
    return {_key(m.context, m.id): m.string for m in cat
            if m.id and isinstance(m.id, str) and m.string and not m.fuzzy}


def _key(context: str | None, message: str) -> str:
    """A catalogue entry's key: the message, or gettext's ``context\x04message`` for one with a context."""
    return f"{context}\x04{message}" if context else message


def set_language(language: str | None) -> str:
    """Make ``language`` the one every later ``_()`` and number format uses; returns its tag."""
    global _current
    _current = parse_language(language)
    return _current


def current() -> str:
    """The language in use ('en' until :func:`set_language` is called)."""
    return _current


def gettext(message: str) -> str:
    """``message`` in the current language: its translation, or the English text when the
    catalogue has none."""
    if _current == SOURCE_LANGUAGE:
        return message
    return catalogue(_current).get(message, message)


_ = gettext


def pgettext(context: str, message: str) -> str:
    """``message`` in the current language as meant in ``context``: one English word with two
    meanings gets two translations ('orders' as a table, 订单; as a count, 订单数)."""
    if _current == SOURCE_LANGUAGE:
        return message
    return catalogue(_current).get(_key(context, message), message)


def translate(message: str, language: str) -> str:
    """``message`` in ``language``, whatever the current one (the runner, which runs no notebook)."""
    return catalogue(language).get(message, message)


def N_(message: str) -> str:
    """Mark a string for the catalogue without translating it now (a module-level label table,
    translated with ``_()`` where it is shown)."""
    return message


def NC_(context: str, message: str) -> str:
    """Mark a string with its context for the catalogue without translating it now (``make
    messages`` extracts it with the keyword ``NC_:1c,2``); translated with :func:`pgettext`."""
    return message


#: What ``make messages`` and the catalogue test extract: Babel's default keywords and :func:`NC_`.
EXTRACT_KEYWORDS = {"NC_": ((1, "c"), 2)}


def locale(language: str | None = None) -> Locale:
    """The Babel locale of a language (the current one by default) for numbers and dates."""
    return _locale(parse_language(language or _current))


@functools.lru_cache(maxsize=None)
def _locale(language: str) -> Locale:
    try:
        return Locale.parse(language.replace("-", "_"))
    except UnknownLocaleError as exc:  # a catalogue named after no CLDR locale
        raise ValueError(f"language {language!r}: Babel knows no locale of that name ({exc})") from None


def extract_markdown_cells(fileobj, keywords, comment_tags, options):
    """Babel extraction method for the report notebook (babel.cfg): each markdown cell's text is one
    message, translated whole when the report is rendered (``run.pipeline.render_html``), and the
    ``_()`` strings of its code cells (:func:`extract_code_cells`)."""
    import io

    import nbformat

    text = fileobj.read()
    node = nbformat.reads(text.decode("utf-8"), as_version=4)
    for index, cell in enumerate(node.cells):
        if cell.cell_type == "markdown" and cell.source.strip():
            yield index + 1, None, cell.source, [f"markdown cell {index + 1}"]
    yield from extract_code_cells(io.BytesIO(text), keywords, comment_tags, options)  # its own sentences too


def extract_code_cells(fileobj, keywords, comment_tags, options):
    """Babel extraction method for notebooks (babel.cfg): the ``_()`` / ``N_()`` strings of the code
    cells, so a notebook's own sentences (``notebook.say(_("..."))``) are in the catalogue too."""
    import io

    import nbformat
    from babel.messages.extract import extract_python

    node = nbformat.reads(fileobj.read().decode("utf-8"), as_version=4)
    for index, cell in enumerate(node.cells):
        if cell.cell_type == "code" and cell.source.strip():
            source = io.BytesIO(cell.source.encode("utf-8"))
            for lineno, funcname, message, comments in extract_python(source, keywords, comment_tags, options):
                yield index + 1, funcname, message, comments


def translated_characters(language: str) -> set[str]:
    """Every character the language's translations use beyond ASCII: what its fonts must draw."""
    return {ch for text in catalogue(language).values() for ch in text if ord(ch) > 127 and not ch.isspace()}
