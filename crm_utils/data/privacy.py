"""Pseudonymisation: personal data never leaves the cleaning step.

Names are dropped. E-mail addresses and phone numbers are replaced by a keyed hash (HMAC-SHA256)
of their normalised form, so the same person links across tables and months without the
address itself being stored. The key lives outside the repository: ``CRM_PSEUDONYM_KEY`` (hex) in
the environment, or the file named by ``CRM_PSEUDONYM_KEY_FILE``
(default ``~/.config/crm-report/pseudonym.key``). A missing key file is created with fresh random
bytes, never replaced by a constant, and the notebook says so.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import secrets
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

TEXT = pd.StringDtype("pyarrow")

log = logging.getLogger(__name__)

KEY_ENV = "CRM_PSEUDONYM_KEY"
KEY_FILE_ENV = "CRM_PSEUDONYM_KEY_FILE"
DEFAULT_KEY_FILE = Path.home() / ".config" / "crm-report" / "pseudonym.key"

#: An e-mail address, internationalised ones included: something@domain.tld without spaces.
EMAIL_RE = r"[^\s@<>()\[\],;:\"']+@[^\s@<>()\[\],;:\"']+\.[^\s@<>()\[\],;:\"'.]{2,}"
#: Phone-like runs: an optional + or bracket, then 9 or more digits separated by at most three
#: spaces, dots, dashes, slashes or brackets ('(020) 7946 0958', '0151 / 234 567 89'). Nine,
#: so that a date such as 2024-03-05 is not mistaken for a phone number.
PHONE_RE = r"[+(]?\d(?:[\s().\/-]{0,3}\d){8,}"


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
        return PseudonymKey(key, f"environment variable {KEY_ENV}", False)
    path = Path(os.environ.get(KEY_FILE_ENV) or DEFAULT_KEY_FILE).expanduser()
    if path.exists():
        key = bytes.fromhex(path.read_text().strip())
        if len(key) < 16:
            raise ValueError(f"the key in {path} is too short: delete it to create a new one")
        return PseudonymKey(key, "key file", False)
    if not create:
        raise FileNotFoundError(f"no pseudonymisation key: set {KEY_ENV} or create {path}")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32) + "\n")
    log.warning("created a new pseudonymisation key file; keep it to link customers across runs")
    return PseudonymKey(bytes.fromhex(path.read_text().strip()), "key file (created by this run)", True)


def normalise_email(s: pd.Series) -> pd.Series:
    """Case-folded, trimmed e-mail addresses; empty becomes missing."""
    out = s.astype(TEXT).str.strip().str.casefold()
    return out.mask(out == "")


def normalise_phone(s: pd.Series) -> pd.Series:
    """The last nine digits of a phone number, so '+44 7700 900123', '07700-900-123' and
    '00447700900123' agree; numbers with fewer than nine digits are treated as missing."""
    digits = s.astype(TEXT).str.replace(r"\D", "", regex=True)
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


#: A date inside a phone-like run ('10/13/2026 14:05' has ten digits): not a phone number.
DATE_LIKE_RE = re.compile(r"\b\d{1,4}[./-]\d{1,2}[./-]\d{1,4}\b")


def mask_text(text: str) -> str:
    """One string with e-mail addresses and phone numbers masked: for error messages and logs,
    which may quote values from a column that holds personal data by mistake. Dates stay, as
    they are what an error about an unreadable date column must show."""
    text = re.sub(EMAIL_RE, "[email]", text)
    return re.sub(PHONE_RE, lambda m: m.group(0) if DATE_LIKE_RE.search(m.group(0)) else "[phone]", text)


def mask_free_text(s: pd.Series) -> tuple[pd.Series, int]:
    """Replace e-mail addresses and phone numbers in free text; returns the text and cells changed."""
    text = s.astype(TEXT)
    masked = text.str.replace(EMAIL_RE, "[email]", regex=True).str.replace(PHONE_RE, "[phone]", regex=True)
    changed = int((masked.fillna("") != text.fillna("")).sum())
    return masked, changed
