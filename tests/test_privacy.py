"""Pseudonymisation: keys are never constants, hashes link without revealing, free text is masked."""

from __future__ import annotations

import os
import stat

import pandas as pd
import pytest

from crm_utils.data import privacy


def test_missing_key_file_is_created_private_and_then_reused(tmp_path, monkeypatch):
    path = tmp_path / "sub" / "k.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(path))
    monkeypatch.delenv(privacy.KEY_ENV, raising=False)
    first = privacy.load_key()
    assert first.created and path.exists()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    second = privacy.load_key()
    assert not second.created and second.key == first.key
    other = tmp_path / "other.key"
    monkeypatch.setenv(privacy.KEY_FILE_ENV, str(other))
    assert privacy.load_key().key != first.key  # a fresh key each time one is created, never a constant


def test_key_from_environment_and_bad_keys(monkeypatch):
    monkeypatch.setenv(privacy.KEY_ENV, "ab" * 32)
    assert privacy.load_key().key == bytes([0xAB]) * 32
    monkeypatch.setenv(privacy.KEY_ENV, "abcd")
    with pytest.raises(ValueError, match="too short"):
        privacy.load_key()
    monkeypatch.setenv(privacy.KEY_ENV, "not hex")
    with pytest.raises(ValueError, match="must be hex"):
        privacy.load_key()


def test_normalised_keys_agree_across_formats():
    phones = pd.Series(["+44 7911 123456", "07911-123-456", "00447911123456", "12345"])
    p = privacy.normalise_phone(phones)
    assert p.iloc[0] == p.iloc[1] == p.iloc[2] == "911123456"
    assert pd.isna(p.iloc[3])
    e = privacy.normalise_email(pd.Series([" Anna.Schmidt@Example.com ", "anna.schmidt@example.com"]))
    assert e.iloc[0] == e.iloc[1]
    n = privacy.normalise_name(pd.Series(["JÜRGEN  Müller", "jurgen muller"]))
    assert n.iloc[0] == n.iloc[1] == "jurgen muller"
    n = privacy.normalise_name(pd.Series(["Liesbeth Preiß", "LIESBETH PREISS", "Søren Łukasz", "王 小明"]))
    assert n.iloc[0] == n.iloc[1] == "liesbeth preiss"
    assert n.iloc[2] == "søren łukasz" and n.iloc[3] == "王小明"  # letters without a decomposition are kept
    # Between CJK characters a space is layout; between Latin words it separates names.
    n = privacy.normalise_name(pd.Series(["王 小明", "王小明", "王 小 明", "김 민준", "김민준", "Ann Lee", "AnnLee"]))
    assert n.iloc[0] == n.iloc[1] == "王小明" and n.iloc[2] == "王小明" and n.iloc[3] == n.iloc[4]
    assert n.iloc[5] != n.iloc[6]


def test_keyed_hash_links_equal_values_and_depends_on_key():
    k1 = privacy.PseudonymKey(b"1" * 32, "t", False)
    k2 = privacy.PseudonymKey(b"2" * 32, "t", False)
    s = pd.Series(["a@example.com", "a@example.com", "b@example.com", None])
    h1, h2 = privacy.keyed_hash(s, k1), privacy.keyed_hash(s, k2)
    assert h1.iloc[0] == h1.iloc[1] != h1.iloc[2]
    assert pd.isna(h1.iloc[3])
    assert h1.iloc[0] != h2.iloc[0]
    assert "example" not in "".join(h1.dropna())


def test_free_text_masks_emails_and_phones_but_not_dates():
    s = pd.Series(["Call me on +49 151 2345 6789 or mail jo@example.org", "Ordered on 2024-03-05", None])
    masked, changed = privacy.mask_free_text(s)
    assert masked.iloc[0] == "Call me on [phone] or mail [email]"
    assert masked.iloc[1] == "Ordered on 2024-03-05"
    assert changed == 1


def test_mask_text_hides_contacts_in_messages():
    msg = ("values are not dates (e.g. 'ann.lee@example.com', '+44 7911 123456', '07700-900-123', "
           "'10/13/2026 14:05', '2026-10-01 10:00:00')")
    assert privacy.mask_text(msg) == ("values are not dates (e.g. '[email]', '[phone]', '[phone]', "
                                      "'10/13/2026 14:05', '2026-10-01 10:00:00')")
