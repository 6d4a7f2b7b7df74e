"""Pseudonymisation: personal data never leaves the cleaning step.

Names are dropped. E-mail addresses and phone numbers are replaced by a keyed hash (HMAC-SHA256)
of their normalised form, so the same person links across tables and months without the
address itself being stored. An identifier that is itself an e-mail address or a phone number
(some exports key customers by e-mail) is replaced by the keyed hash of the identifier, the same
in every table, so joins still work. The key lives outside the repository: ``CRM_PSEUDONYM_KEY``
(hex) in the environment, or the file named by ``CRM_PSEUDONYM_KEY_FILE``
(default ``~/.config/crm-report/pseudonym.key``). A missing key file is created with fresh random
bytes, never replaced by a constant, and the notebook says so.

**Masking free text.** One implementation, :func:`mask_text` for one string, used by
:func:`mask_free_text` for a column (and by error messages), replaces e-mail addresses by
``[email]`` and phone numbers by ``[phone]``; :func:`mask_names` replaces a customer's own first
and last names by ``[name]``. Matching is Unicode-aware: the text is matched in its NFKC form
(full-width digits and '＠' are digits and '@'), every space separator (no-break, thin, narrow
no-break ...) counts as a space, dashes as '-', and invisible format characters (zero-width space,
soft hyphen) are ignored; the text outside what is masked is left exactly as written. A column is
first searched by Arrow for rows that could hold an address or a number (an '@', or seven or more
digits close together), and only those rows are masked one by one.

What counts as a phone number: a run of digits joined by at most three spaces, dots, dashes,
slashes or brackets, optionally after '+' or '(', that

* has 9 to 15 digits, or more with separators (several numbers in a row); a run of more than 15
  digits without any separator is a number (E.164 numbers have at most 15 digits);
* or has 7 or 8 digits, starts with '+', '00' or a trunk '0', and ``phonenumbers`` finds a valid
  number in it for one of :data:`PHONE_REGIONS` (as '01 234567', Vienna);

and is not a date (``2024-03-05``, ``10/13/2026``, ``05.03.24``; see :data:`DATE_LIKE_RE`) nor
a decimal number with at most six digits before the point (an Excel date serial as
``45123.541666666664``, a price). ``phonenumbers`` is slow, so it only sees those 7- and
8-digit runs, never a whole column.

**Identifiers.** :func:`personal_ids` says which ids are e-mail addresses or phone numbers written
as such; :func:`pseudonymise_ids` replaces them by their keyed hash.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import os
import re
import secrets
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crm_utils.i18n import _

TEXT = pd.StringDtype("pyarrow")

log = logging.getLogger(__name__)

KEY_ENV = "CRM_PSEUDONYM_KEY"
KEY_FILE_ENV = "CRM_PSEUDONYM_KEY_FILE"
DEFAULT_KEY_FILE = Path.home() / ".config" / "crm-report" / "pseudonym.key"

#: Characters that end an e-mail address (besides whitespace); Python's ``re`` and RE2 read the
#: pattern alike (RE2's ``\s`` is ASCII only, which matters only where it validates an address).
_NOT_IN_ADDRESS = "\\s@<>()\\[\\],;:\"'\u201c\u201d\u2018\u2019\u00ab\u00bb"
#: An e-mail address, internationalised ones included: a local part (quoted, or without spaces;
#: an apostrophe only inside it, as in o'brien), '@', and a domain with a dot and a top-level part
#: of two or more characters, or an address literal ``[192.0.2.1]``.
EMAIL_RE = (f"(?:\"[^\"\\r\\n@]{{1,64}}\"|[^{_NOT_IN_ADDRESS}]+(?:['\u2019][^{_NOT_IN_ADDRESS}]+)*)"
            f"@(?:\\[[0-9A-Fa-f:.]+\\]|[^{_NOT_IN_ADDRESS}]+\\.[^{_NOT_IN_ADDRESS}.!?\u2026]{{2,}})")
#: A phone-like run in the matching form of a text (see :func:`_matching_form`): an optional '+'
#: or bracket, then seven or more digits separated by at most three spaces, dots, dashes, slashes
#: or brackets ('(020) 7946 0958', '0151 / 234 567 89'). Which runs are phone numbers: module docstring.
PHONE_RE = r"[+(]?\d(?:[\s()./-]{0,3}+\d){6,}"
#: A date in a phone-like run ('10/13/2026 14:05' has ten digits): not a phone number. Not when it
#: continues with more groups of one or two digits, as the French '01.23.45.67.89' does.
DATE_LIKE_RE = re.compile(r"(?<!\d)(?<!\d[./-])\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?!\d)(?![./-]\d{1,2}(?!\d))")
#: A decimal number with at most six digits before the point: an Excel date serial, a price.
DECIMAL_RE = re.compile(r"(?:[1-9]\d{0,5}|0)[.,]\d+")
#: What masking leaves in a text.
MASKED_RE = r"\[(?:email|phone|name)\]"

#: Regions whose national numbers (trunk '0') ``phonenumbers`` checks in 7- and 8-digit runs.
#: Regions where every 8-digit string is a valid number (Denmark, Norway, Luxembourg) are left out:
#: there an order number or a compact date would pass for a phone number.
PHONE_REGIONS = ("GB", "IE", "DE", "AT", "CH", "FR", "BE", "NL", "IT", "ES", "PT", "SE", "FI", "PL",
                 "US", "CA", "AU", "NZ")

#: Arrow (RE2) search for rows that may hold an address or a phone number: an '@' (or its
#: full-width and small forms), seven digits of any script with no letter between them, or a
#: character whose NFKC form is several digits (circled numbers, vulgar fractions).
_PREFILTER = ("[@\uff20\ufe6b\u2150-\u218f\u2460-\u24ff\u3251-\u325f\u32b1-\u32bf]"
              "|[\\p{Nd}\\p{No}](?:[^\\p{L}\\p{Nd}\\p{No}]*[\\p{Nd}\\p{No}]){6,}")

#: Dates the Arrow search leaves out (in RE2, which has no look-around): only those with a
#: character other than a digit, '.', '/' or '-' (or nothing) on both sides, which DATE_LIKE_RE
#: leaves out too, so no phone number is lost with them.
_DATES = "(^|[^0-9./-])[0-9]{1,4}[./-][0-9]{1,2}[./-][0-9]{1,4}($|[^0-9./-])"

#: Searched from the start of a word only: trying every position inside one costs more than the
#: rest of masking together.
_EMAIL = re.compile(f"(?<![^{_NOT_IN_ADDRESS}])" + EMAIL_RE)
_PHONE = re.compile(PHONE_RE)
_NOT_DIGIT = re.compile(r"\D")


@dataclass(frozen=True)
class PseudonymKey:
    key: bytes
    source: str  # where the key came from, for the notebook to say
    created: bool  # True when this run created the key file


def load_key(create: bool = True) -> PseudonymKey:
    """The pseudonymisation key from the environment or the key file, creating the file if absent."""
    env = os.environ.get(KEY_ENV)
    if env:
        try:
            key = bytes.fromhex(env.strip())
        except ValueError as exc:
            raise ValueError(f"{KEY_ENV} must be hex (e.g. from `python -c 'import secrets; "
                             f"print(secrets.token_hex(32))'`)") from exc
        if len(key) < 16:
            raise ValueError(f"{KEY_ENV} is too short: use at least 16 bytes (32 hex digits)")
        return PseudonymKey(key, _("environment variable {name}").format(name=KEY_ENV), False)
    path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"the key in {path} is too short: delete it to create a new one")
        return PseudonymKey(key, _("key file"), False)
    if not create:
        raise FileNotFoundError(f"no pseudonymisation key: set {KEY_ENV} or create {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    log.warning("created a new pseudonymisation key file; keep it to link customers across runs")
    return PseudonymKey(bytes.fromhex(path.read_text().strip()), _("key file (created by this run)"), True)


def normalise_email(s: pd.Series) -> pd.Series:
    """Case-folded, trimmed e-mail addresses in NFKC form ('＠' is '@'); empty becomes missing."""
    out = s.astype(TEXT).str.normalize("NFKC").str.strip().str.casefold()
    return out.mask(out == "")


def normalise_phone(s: pd.Series) -> pd.Series:
    """The last nine digits of a phone number, so '+44 7700 900123', '07700-900-123',
    '00447700900123' and the same in full-width digits agree; numbers with fewer than nine
    digits are treated as missing."""
    digits = s.astype(TEXT).str.normalize("NFKC").str.replace(r"\D", "", regex=True)
    return digits.str[-9:].mask(digits.str.len() < 9)


def normalise_name(s: pd.Series) -> pd.Series:
    """Case-folded names without accents or repeated whitespace ('Preiß' and 'PREISS' agree).

    Case-folding comes first (it turns ß into ss); then accents, which NFKD splits off as
    combining marks, are removed. Other letters (ø, ł, Chinese characters) are kept, and
    spaces between CJK characters are dropped ('王 小明' and '王小明' agree).
    """
    out = (s.astype(TEXT).str.casefold().str.normalize("NFKD")
           .str.replace("[\u0300-\u036f]", "", regex=True).str.split().str.join(" "))
    # Between Chinese, Japanese or Korean characters a space is layout, not a word break.
    cjk = "[\u1100-\u11ff\u3040-\u30ff\u3130-\u318f\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uac00-\ud7af]"
    for _ in range(3):  # each pass joins every other gap: '王 小 明' needs two
        out = out.str.replace(f"({cjk}) ({cjk})", r"\1\2", regex=True)
    return out.mask(out == "")


def keyed_hash(values: pd.Series, key: PseudonymKey, length: int = 16) -> pd.Series:
    """HMAC-SHA256 of each value, hex-truncated; missing stays missing. Equal inputs, equal hashes."""
    uniq = pd.unique(values.dropna())
    table = {v: hmac.new(key.key, str(v).encode("utf-8"), hashlib.sha256).hexdigest()[:length]
             for v in uniq}
    return values.map(table).astype(TEXT)


# ------------------------------------------------------------------------------------------
# One string
# ------------------------------------------------------------------------------------------

def _matching_char(ch: str) -> str:
    """How one character reads when matching: spaces of every kind a space, dashes '-', format
    characters and combining marks nothing, anything else its NFKC form."""
    if ch.isspace():
        return " "
    if ch.isascii():
        return ch
    cat = unicodedata.category(ch)
    if cat in ("Cf", "Mn"):
        return ""
    if cat == "Pd" or ch == "\u2212":
        return "-"
    return unicodedata.normalize("NFKC", ch)


class _MatchingTable(dict):
    """``str.translate`` table to the matching form, filled as characters are first seen; it
    remembers the characters that do not read as exactly one character (ﬁ, ½, a zero-width space)."""

    uneven: set[str] = set()
    uneven_re: re.Pattern | None = None

    def __missing__(self, code: int) -> str:
        out = _matching_char(chr(code))
        if len(out) != 1:
            self.uneven.add(chr(code))
            type(self).uneven_re = re.compile("[" + "".join(re.escape(c) for c in sorted(self.uneven)) + "]")
        self[code] = out
        return out


_TABLE = _MatchingTable()


def _matching_form(text: str) -> tuple[str, list[int] | None]:
    """The text as matched, and for each of its characters the position of the character of
    ``text`` it comes from (None when that is the same position: no character became several or
    none)."""
    if text.isascii():
        return text, None
    form = text.translate(_TABLE)
    if len(form) == len(text) and (_TABLE.uneven_re is None or not _TABLE.uneven_re.search(text)):
        return form, None
    parts, source = [], []
    for i, ch in enumerate(text):
        m = _TABLE[ord(ch)]
        parts.append(m)
        source.extend([i] * len(m))
    return "".join(parts), source


@functools.lru_cache(maxsize=65536)
def _valid_somewhere(run: str, regions: tuple[str, ...]) -> bool:
    """Whether ``phonenumbers`` reads all of ``run`` as a valid number of one of ``regions``."""
    import phonenumbers

    digits = _NOT_DIGIT.sub("", run)
    for region in regions:
        for match in phonenumbers.PhoneNumberMatcher(run, region, leniency=phonenumbers.Leniency.VALID):
            if _NOT_DIGIT.sub("", match.raw_string) == digits:
                return True
    return False


def _is_phone(run: str, regions: tuple[str, ...]) -> bool:
    """Whether a phone-like run (see ``PHONE_RE``, dates already left out) is a phone number."""
    if DECIMAL_RE.fullmatch(run):
        return False
    digits = len(_NOT_DIGIT.sub("", run))
    if digits > 15 and run.isdigit():
        return False
    if digits >= 9:
        return True
    return run.lstrip("(")[:1] in ("+", "0") and _valid_somewhere(run, regions)


def _spans(form: str, regions: tuple[str, ...]) -> list[tuple[int, int, str]]:
    """Spans of ``form`` (a matching form) to mask, with their replacement, in order."""
    spans = []

    def blank(label: str | None):
        def repl(m: re.Match) -> str:
            if label:
                spans.append((m.start(), m.end(), label))
            return "x" * (m.end() - m.start())
        return repl

    # Addresses, then dates, are blanked (same length, no digits) so that no phone run crosses them.
    work = _EMAIL.sub(blank("[email]"), form) if "@" in form else form
    if _PHONE.search(work):
        work = DATE_LIKE_RE.sub(blank(None), work)
        for m in _PHONE.finditer(work):
            if _is_phone(m.group(0), regions):
                spans.append((m.start(), m.end(), "[phone]"))
        spans.sort()
    return spans


def _mask_one(text: str, regions: tuple[str, ...] = PHONE_REGIONS) -> str:
    form, source = _matching_form(text)
    spans = _spans(form, regions)
    if not spans:
        return text
    out, at = [], 0
    for s, e, label in spans:
        if source is not None:  # back to the positions of the text as written
            s, e = source[s], source[e - 1] + 1
        out.append(text[at:s])
        out.append(label)
        at = e
    out.append(text[at:])
    return "".join(out)


def mask_text(text: str, regions: Iterable[str] = PHONE_REGIONS) -> str:
    """One string with e-mail addresses and phone numbers masked: for error messages and logs,
    which may quote values from a column that holds personal data by mistake. Dates and decimal
    numbers (Excel date serials) stay, as they are what an error about an unreadable date column
    must show. The same rules as :func:`mask_free_text` (see the module docstring)."""
    return _mask_one(text, tuple(regions))


# ------------------------------------------------------------------------------------------
# Columns
# ------------------------------------------------------------------------------------------

def _arrow_text(s: pd.Series) -> pa.ChunkedArray:
    """The values of a Series as Arrow text (not copied when it is Arrow-backed text already)."""
    if not (isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow"):
        s = s.astype(TEXT)
    arr = s.array._pa_array
    return arr if isinstance(arr, pa.ChunkedArray) else pa.chunked_array([arr])


def _as_series(arr, like: pd.Series) -> pd.Series:
    if arr.type != pa.large_string():
        arr = arr.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(arr), index=like.index, name=like.name, dtype=TEXT)


def _as_text(s: pd.Series) -> pd.Series:
    return s if isinstance(s.dtype, pd.StringDtype) and s.dtype.storage == "pyarrow" else s.astype(TEXT)


def _few_values(arr, sample: int = 100_000, share: float = 0.05) -> bool:
    """Whether a long column has few distinct values, judged on its first rows."""
    return len(arr) >= 2 * sample and len(pc.unique(arr.slice(0, sample))) <= share * sample


def _flags(arr) -> np.ndarray:
    """A boolean Arrow result as a numpy array, missing as False."""
    return pc.fill_null(arr, False).to_numpy(zero_copy_only=False).astype(bool, copy=False)


def _replace_rows(arr, rows: np.ndarray, new: list[str], like: pd.Series) -> pd.Series:
    """``arr`` with the values at positions ``rows`` replaced by ``new``."""
    where = np.zeros(len(arr), dtype=bool)
    where[rows] = True
    return _as_series(pc.replace_with_mask(arr, pa.array(where), pa.array(new, arr.type)), like)


def mask_free_text(s: pd.Series, regions: Iterable[str] = PHONE_REGIONS) -> tuple[pd.Series, int]:
    """Replace e-mail addresses and phone numbers in free text; returns the text and cells changed.

    Rows are picked by one Arrow search (an '@' or seven digits close together); only those are
    masked in Python, each distinct text once, so millions of notes cost little more than the
    search. A column of few distinct values (a category of tens of millions of lines) is masked
    on its distinct values. A column in which nothing is masked is returned as it was.
    """
    regions = tuple(regions)
    text = _as_text(s)
    arr = _arrow_text(text)
    if _few_values(arr):
        encoded = pc.dictionary_encode(arr).combine_chunks()
        values = encoded.dictionary
        masked, n = mask_free_text(pd.Series(pd.arrays.ArrowStringArray(values.cast(pa.large_string())),
                                             dtype=TEXT), regions)
        if not n:
            return text, 0
        new = _arrow_text(masked).combine_chunks().cast(values.type)
        changed = np.flatnonzero(~_flags(pc.equal(new, values)))
        cells = int(np.isin(encoded.indices.to_numpy(zero_copy_only=False), changed).sum())
        return _as_series(pc.take(new, encoded.indices), text), cells
    rows = np.flatnonzero(_flags(pc.match_substring_regex(arr, _PREFILTER)))
    if len(rows):
        # Most rows picked for their digits hold a date or a time: with the dates left out (those
        # the rules leave out for certain), many have no run of seven digits left.
        undated = pc.replace_substring_regex(arr.take(pa.array(rows)), _DATES, "\\1x\\2")
        rows = rows[_flags(pc.match_substring_regex(undated, _PREFILTER))]
    if not len(rows):
        return text, 0
    values = arr.take(pa.array(rows)).to_pylist()
    done: dict[str, str] = {}
    for v in values:
        if v not in done:
            done[v] = _mask_one(v, regions)
    new = [done[v] for v in values]
    changed = np.fromiter((a != b for a, b in zip(values, new)), dtype=bool, count=len(values))
    if not changed.any():
        return text, 0
    return _replace_rows(arr, rows[changed], [v for v, c in zip(new, changed) if c], text), int(changed.sum())


# ------------------------------------------------------------------------------------------
# Identifiers that are e-mail addresses or phone numbers
# ------------------------------------------------------------------------------------------

#: Arrow (RE2) search for ids that may be personal (ids come trimmed): an '@', a leading '+' or
#: '(', or a leading '0' with a separator after it (a plain string of digits is an id).
_ID_PREFILTER = ("[@\uff20\ufe6b]|^\\s*[+(\uff0b\uff08]|^\\s*[0\uff10]\\P{L}*[^\\p{L}\\p{Nd}]")
_ID_PHONE = re.compile(r"[+(]?\d[\d\s()./-]*\d")


@functools.lru_cache(maxsize=65536)
def _personal_id(value: str, regions: tuple[str, ...] = PHONE_REGIONS) -> bool:
    form = _matching_form(value)[0].strip()
    if "@" in form and _EMAIL.search(form):
        return True
    if not _ID_PHONE.fullmatch(form):
        return False
    digits = len(_NOT_DIGIT.sub("", form))
    if not 7 <= digits <= 15 or form.isdigit() or DATE_LIKE_RE.fullmatch(form) or DECIMAL_RE.fullmatch(form):
        return False  # a plain string of digits is an id scheme (zero-padded, numeric)
    if form.startswith("+"):
        return True
    # Digits in groups after a trunk 0: a phone number written as one, as free text would read it.
    return form.lstrip("(")[:1] == "0" and (digits >= 9 or _valid_somewhere(form, regions))


def personal_ids(values: pd.Series) -> np.ndarray:
    """Which identifiers are e-mail addresses or phone numbers (True: personal data).

    An id is personal when it holds an e-mail address, or is a phone number written as one: with
    '+' ('+447700900123'), or in groups after a trunk '0' ('07700 900123', '(0151) 234 5678'). A
    plain string of digits ('0000012345', '5938123456789', but also '07700900123') is taken for a
    numeric id scheme, not a phone number: the two cannot be told apart. Arrow picks the ids that
    may be either (an '@', or a leading '+', '(' or '0'); only those are checked one by one, and a
    column of few distinct ids (customer ids of order lines) on its distinct ids.
    """
    arr = _arrow_text(values)
    if _few_values(arr):
        encoded = pc.dictionary_encode(arr).combine_chunks()
        distinct = personal_ids(pd.Series(pd.arrays.ArrowStringArray(encoded.dictionary.cast(pa.large_string())),
                                          dtype=TEXT))
        codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False)
        return np.where(codes >= 0, distinct[np.maximum(codes, 0)] if len(distinct) else False, False)
    hit = pc.match_substring_regex(arr, _ID_PREFILTER)
    out = np.zeros(len(arr), dtype=bool)
    rows = np.flatnonzero(_flags(hit))
    if len(rows):
        out[rows] = [_personal_id(v) for v in arr.take(pa.array(rows)).to_pylist()]
    return out


def pseudonymise_ids(values: pd.Series, key: PseudonymKey | Callable[[], PseudonymKey],
                     length: int = 16) -> tuple[pd.Series, int]:
    """Identifiers that are e-mail addresses or phone numbers (:func:`personal_ids`) replaced by
    their keyed hash, as :func:`keyed_hash` makes it (of the id as written), so the same id gets the
    same hash in every table and joins still work; other ids stay. Returns the ids and how many
    were replaced. ``key`` may be a function, called only when there is an id to hash."""
    text = _as_text(values)
    personal = personal_ids(text)
    if not personal.any():
        return text, 0
    key = key() if callable(key) else key
    arr = _arrow_text(text)
    encoded = pc.dictionary_encode(arr.filter(pa.array(personal))).combine_chunks()
    hashed = pa.array([hmac.new(key.key, v.encode("utf-8"), hashlib.sha256).hexdigest()[:length]
                       for v in encoded.dictionary.to_pylist()], arr.type)
    out = pc.replace_with_mask(arr, pa.array(personal), pc.take(hashed, encoded.indices))
    return _as_series(out, text), int(personal.sum())


# ------------------------------------------------------------------------------------------
# Customers' own names
# ------------------------------------------------------------------------------------------

#: A word: letters (with combining accents), apostrophes only inside ("O'Brien").
_WORD = re.compile(r"(?:[^\W\d_]|[\u0300-\u036f])+(?:['\u2019](?:[^\W\d_]|[\u0300-\u036f])+)*")
#: Fewest letters of a name part that is masked ('Li' and 'Wu' are not, as they are words too often).
MIN_NAME_LETTERS = 3
#: A name part written in the texts of this many other customers is a common word, not masked.
COMMON_WORD_USERS = 5
_SEP = pa.scalar("\x1f", pa.large_string())  # between owner and word in a key
#: Characters trimmed from the ends of a whitespace-separated word before it is looked up.
_TRIM = "\"'\u2019\u201c\u201d\u2018\u00ab\u00bb.,;:!?()[]{}<>/\\|*_~`#%&+=-"


def _strip_accents(word: str) -> str:
    return "".join(ch for ch in unicodedata.normalize("NFKD", word) if unicodedata.category(ch) != "Mn")


@functools.lru_cache(maxsize=65536)
def _word_forms(word: str) -> frozenset[str]:
    """What a written word is compared as: lower-case NFKC, with and without accents, whole and
    each part between apostrophes (O'Brien's: o'brien's, o, brien, s)."""
    w = word.lower() if word.isascii() else unicodedata.normalize("NFKC", word).lower()
    if w.isascii() and "'" not in w:
        return frozenset((w,))
    forms = {w, *re.split("['\u2019]", w)}
    return frozenset(forms | {_strip_accents(f) for f in forms})


def name_words(name: str) -> frozenset[str]:
    """The forms of a name's parts that are masked: each part of at least three letters, lower-case,
    with and without accents ('Jean-Luc Müller': jean, luc, müller, muller)."""
    out = set()
    for m in _WORD.finditer(unicodedata.normalize("NFKC", name or "").lower()):
        for part in {m.group(0), *re.split("['\u2019]", m.group(0))}:
            if sum(ch.isalpha() for ch in part) >= MIN_NAME_LETTERS:
                out |= {part, _strip_accents(part)}
    return frozenset(out)


def _mask_words(text: str, words: frozenset[str]) -> str:
    out, at = [], 0
    for m in _WORD.finditer(text):
        if _word_forms(m.group(0)) & words:
            out.append(text[at:m.start()])
            out.append("[name]")
            at = m.end()
    if not out:
        return text
    out.append(text[at:])
    return "".join(out)


def _text_words(arr) -> list[tuple[pa.Array, np.ndarray]]:
    """The words of every text that could be a name part (lower-case NFKC, at least three
    characters, ends trimmed; words joined by hyphens, dots or apostrophes also in their parts,
    with and without accents) and the row each is in, in a few pieces (not copied into one)."""
    low = pc.utf8_lower(pc.utf8_normalize(arr, "NFKC"))
    if isinstance(low, pa.ChunkedArray):
        low = low.combine_chunks()  # one piece, so the rows words come from are counted from 0
    split = pc.split_pattern(low.cast(pa.large_string()), " ")
    words, rows = pc.list_flatten(split), pc.list_parent_indices(split).to_numpy()
    long = _flags(pc.greater_equal(pc.utf8_length(words), MIN_NAME_LETTERS))
    words, rows = pc.utf8_trim(words.filter(pa.array(long)), _TRIM), rows[long]
    pieces = [(words, rows)]
    # Words that are not all letters ('jean-luc', "o'brien's", 'anna,bob', a line break) in parts too.
    joined = np.flatnonzero(~_flags(pc.utf8_is_alpha(words)))
    if len(joined):
        parts = pc.split_pattern_regex(words.take(pa.array(joined)), "[^\\p{L}\\p{M}]+")
        pieces.append((pc.list_flatten(parts), rows[joined][pc.list_parent_indices(parts).to_numpy()]))
    for words, rows in list(pieces):
        accented = np.flatnonzero(~_flags(pc.string_is_ascii(words)))
        if len(accented):
            decomposed = pc.utf8_normalize(words.take(pa.array(accented)), "NFKD")
            pieces.append((pc.replace_substring_regex(decomposed, "\\p{Mn}", ""), rows[accented]))
    return pieces


def mask_names(texts: pd.Series, owners: pd.Series, names: pd.Series) -> tuple[pd.Series, int]:
    """Replace, in each text, the words of its owner's own name by ``[name]``.

    ``owners`` says whose each text is (a customer id per row of ``texts``); ``names`` holds each
    owner's name, indexed by owner. A word is masked when, compared without case (and without
    accents), it is one of the owner's name parts of at least three letters (:func:`name_words`):
    'Anna Schmidt' masks 'anna' and 'SCHMIDT' in Anna's own notes, not in anybody else's, and not
    inside 'Annabelle'. A name part that the texts of :data:`COMMON_WORD_USERS` or more other owners
    use is taken for a common word and not masked (Mr Bird's 'bird seed', Ms Thé's 'the'); names
    in scripts written without spaces (Chinese) are not found.

    Arrow splits every text and every name into words and finds the texts holding a word of their
    own owner's name; only those are masked, one by one.
    """
    text = _as_text(texts)
    names = names[names.notna().to_numpy() & ~names.index.duplicated()]
    if not len(text) or not len(names):
        return text, 0
    # All words of all names, and every (owner, word of the owner's name) pair as one key.
    name_ids = pa.array(names.index.astype(str).to_numpy(dtype=object), pa.large_string())
    pieces = _text_words(_arrow_text(names))
    nwords = pa.concat_arrays([w for w, _ in pieces])
    if not len(nwords):
        return text, 0
    nrows = pa.array(np.concatenate([r for _, r in pieces]))
    pairs = pc.unique(pc.binary_join_element_wise(name_ids.take(nrows), nwords, _SEP))
    vocabulary = pc.unique(nwords)
    # The words of the texts that are words of some name, and whose text each is in.
    arr = _arrow_text(text)
    found = [(words.filter(pa.array(hit)), rows[hit]) for words, rows in _text_words(arr)
             for hit in [_flags(pc.is_in(words, value_set=vocabulary))] if hit.any()]
    if not found:
        return text, 0
    rows = np.concatenate([r for _, r in found])
    owner = pa.array(_as_text(owners).fillna("").to_numpy(dtype=object), pa.large_string())
    hits = pa.table({"word": pa.concat_arrays([w for w, _ in found]), "owner": owner.take(pa.array(rows))})
    mine = _flags(pc.is_in(pc.binary_join_element_wise(hits["owner"], hits["word"], _SEP), value_set=pairs))
    # A word in the texts of many other customers is a word ('the', 'bird', 'smart'), not a mention
    # of the customer named so (Thé, Bird, Smart): it is not masked.
    users = hits.filter(pa.array(~mine)).group_by("word").aggregate([("owner", "count_distinct")])
    common = users.filter(pc.greater_equal(users["owner_count_distinct"], COMMON_WORD_USERS))["word"]
    mine &= ~_flags(pc.is_in(hits["word"], value_set=common.combine_chunks()))
    own = np.unique(rows[mine])
    if not len(own):
        return text, 0
    common = set(common.to_pylist())
    values = arr.take(pa.array(own)).to_pylist()
    whose = owner.take(pa.array(own)).to_pylist()
    lookup = pd.Series(names.to_numpy(), index=names.index.astype(str))
    their = lookup.reindex(pd.unique(np.asarray(whose, dtype=object)))
    by_owner = {o: name_words(str(n)) - common for o, n in their.items() if pd.notna(n)}
    new = [_mask_words(v, by_owner.get(w, frozenset())) for v, w in zip(values, whose)]
    changed = np.fromiter((a != b for a, b in zip(values, new)), dtype=bool, count=len(values))
    if not changed.any():
        return text, 0
    return _replace_rows(arr, own[changed], [v for v, c in zip(new, changed) if c], text), int(changed.sum())
