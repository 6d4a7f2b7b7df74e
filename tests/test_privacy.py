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


# ------------------------------------------------------------------------------------------
# Hostile inputs: each text with what masking must make of it (mask_text and mask_free_text alike).
# ------------------------------------------------------------------------------------------

NBSP, THIN, NNBSP, ZWSP = "\u00a0", "\u2009", "\u202f", "\u200b"
MASKED = [
    # phone numbers written with Unicode spaces, full-width digits and other scripts
    (f"Call +44{NBSP}7911{NBSP}123456 today", "Call [phone] today"),
    (f"Call +44{THIN}7911{THIN}123456", "Call [phone]"),
    (f"Call +44{NNBSP}7911{NNBSP}123456", "Call [phone]"),
    ("Tel ０７９１１ １２３４５６.", "Tel [phone]."),
    ("Tel ＋４４ ７９１１ １２３４５６", "Tel [phone]"),
    ("رقمي ٠٧٩١١١٢٣٤٥٦", "رقمي [phone]"),
    (f"0151{ZWSP}2345678", "[phone]"),  # a zero-width space inside
    ("0151\u20112345678", "[phone]"),  # a non-breaking hyphen
    ("+44\u20137911\u2013123456", "[phone]"),  # en dashes
    # international and national forms
    ("+44 (0) 20 7946 0958", "[phone]"),
    ("0044 20 7946 0958", "[phone]"),
    ("0044 (0)20 7946 0958, ask for Jo", "[phone], ask for Jo"),
    ("+49 (0)30 1234567", "[phone]"),
    ("(020) 7946 0958", "[phone]"),
    ("call me: 07911 123 456!", "call me: [phone]!"),
    ("ring 01.23.45.67.89 after six", "ring [phone] after six"),  # French, dotted: not a date
    ("555-123-4567", "[phone]"),
    ("Vienna office 01 234567", "Vienna office [phone]"),  # 8 digits: phonenumbers finds it valid (AT)
    ("+43 1 234567", "[phone]"),
    ("2024-03-05 0151 2345678", "2024-03-05 [phone]"),  # a date before a number: the number only
    ("0151 2345678 on 2024-03-05", "[phone] on 2024-03-05"),
    # e-mail addresses with unusual but valid characters
    ("mail anna.b+shop@mail.example.co.uk.", "mail [email]."),
    ("o'brien@example.ie!", "[email]!"),
    ("'ann.lee@example.com'", "'[email]'"),
    ('"john doe"@example.com', "[email]"),
    ("user!#$%&*=?^_`{|}~-@example.com", "[email]"),
    ("jürgen.müller@bücher.de", "[email]"),
    ("ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ", "[email]"),
    (f"an{ZWSP}na@example.com", "[email]"),
    ("<ANNA@EXAMPLE.COM>", "<[email]>"),
    ("user@[192.168.0.1]", "[email]"),
    ("mailto:jo@sub.domain.example.org?subject=x", "mailto:[email]?subject=x"),
    ("jo.12345678901@example.net", "[email]"),
    # what must stay: dates, times, Excel serials, prices, order numbers, long plain numbers
    ("Ordered on 2024-03-05", "Ordered on 2024-03-05"),
    ("10/13/2026 14:05", "10/13/2026 14:05"),
    ("2026-10-01 10:00:00", "2026-10-01 10:00:00"),
    ("05.03.2024 and 2024-03-05T10:15:00", "05.03.2024 and 2024-03-05T10:15:00"),
    ("from 2024-03-05/2024-03-12", "from 2024-03-05/2024-03-12"),
    ("45123.541666666664", "45123.541666666664"),
    ("45123.5", "45123.5"),
    ("serials 45123.5, 45124.25", "serials 45123.5, 45124.25"),
    ("Order 12345678", "Order 12345678"),
    ("20240305", "20240305"),
    ("quantity=99999999999999999999999999999", "quantity=99999999999999999999999999999"),
    ("price 1,234.50 EUR, 3 items", "price 1,234.50 EUR, 3 items"),
    ("Véronique écrit «merci»", "Véronique écrit «merci»"),
]


@pytest.mark.parametrize("text,expected", MASKED, ids=[t for t, _ in MASKED])
def test_hostile_text_is_masked_as_expected(text, expected):
    assert privacy.mask_text(text) == expected
    masked, changed = privacy.mask_free_text(pd.Series([text, None]))
    assert masked.iloc[0] == expected and pd.isna(masked.iloc[1])
    assert changed == (expected != text)


def test_a_long_column_of_few_values_is_masked_on_its_values():
    s = pd.Series(["Books", "Garden"] * 150_000 + [f"Books, call +44{NBSP}7911{NBSP}123456"], dtype="string[pyarrow]")
    masked, changed = privacy.mask_free_text(s)
    assert changed == 1 and masked.iloc[-1] == "Books, call [phone]"
    assert (masked.iloc[:-1] == s.iloc[:-1]).all()


def test_phonenumbers_runs_only_on_short_candidate_numbers(monkeypatch):
    """Masking millions of notes must not parse each with phonenumbers: notes with dates, times,
    long numbers or none are settled without it."""
    import phonenumbers

    calls = []
    real = phonenumbers.PhoneNumberMatcher
    monkeypatch.setattr(phonenumbers, "PhoneNumberMatcher", lambda *a, **k: calls.append(a[0]) or real(*a, **k))
    privacy._valid_somewhere.cache_clear()
    notes = pd.Series(["Called on 12/03/2024 14:05.", "Call +44 7911 123456", "Order 12345678", "Fine."] * 2500)
    masked, changed = privacy.mask_free_text(notes)
    assert changed == 2500 and calls == []
    privacy.mask_free_text(pd.Series(["Vienna office 01 234567"] * 100))
    assert set(calls) == {"01 234567"}


def test_contract_error_examples_keep_excel_serials_and_dates():
    """An all-Excel-serial date column's examples are what the error must show, not '[phone]'."""
    from crm_utils.data.schema import ContractError

    err = ContractError("orders.xlsx", "3 of 3 values are not dates", column="order_date",
                        examples=["45123.541666666664", "45124.5", "10/13/2026 14:05", "+44 7911 123456"])
    assert err.examples == ["45123.541666666664", "45124.5", "10/13/2026 14:05", "[phone]"]


IDS = [
    ("anna@example.com", True), ("Anna.Schmidt+shop@Example.co.uk", True), ("ａｎｎａ＠ｅｘａｍｐｌｅ．ｃｏｍ", True),
    ("+44 7700 900123", True), ("+447700900123", True), ("07700 900123", True), ("(0151) 234 5678", True),
    ("０７７００ ９００１２３", True), (f"+44{NBSP}7700{NBSP}900123", True),
    ("C0000001", False), ("17850", False), ("0000012345", False), ("5938123456789", False),
    ("07700900123", False),  # a plain string of digits is taken for an id scheme
    ("INV-2024-0001", False), ("2024-03-05", False), ("0-12", False), ("", False),
]


@pytest.mark.parametrize("value,personal", IDS, ids=[v or "empty" for v, _ in IDS])
def test_ids_that_are_emails_or_phones_are_personal(value, personal):
    assert privacy.personal_ids(pd.Series([value, "C1"])).tolist() == [personal, False]


def test_personal_ids_get_the_keyed_hash_of_the_id_and_others_stay():
    key = privacy.PseudonymKey(b"k" * 32, "t", False)
    ids = pd.Series(["anna@example.com", "C2", "anna@example.com", "+44 7700 900123", None])
    out, n = privacy.pseudonymise_ids(ids, key)
    assert n == 3
    assert out.iloc[0] == out.iloc[2] == privacy.keyed_hash(pd.Series(["anna@example.com"]), key).iloc[0]
    assert out.iloc[1] == "C2" and pd.isna(out.iloc[4]) and "@" not in out.iloc[0] and "7700" not in out.iloc[3]
    # The key is only asked for when there is an id to hash.
    same, n = privacy.pseudonymise_ids(pd.Series(["C1", "C2"]), lambda: pytest.fail("key loaded for nothing"))
    assert n == 0 and same.tolist() == ["C1", "C2"]


NAMES = pd.Series(["Anna Schmidt", "Jörg Müller", "Jean-Luc O'Brien", "Li Wei", "Tom Bird"],
                  index=["C1", "C2", "C3", "C4", "C5"])
NAMED = [
    ("Anna Schmidt called back", "C1", "[name] [name] called back"),
    ("ANNA wants a tent; schmidt's wife too", "C1", "[name] wants a tent; [name] wife too"),
    ("ＡＮＮＡ called", "C1", "[name] called"),
    ("Annabelle and Schmidtke asked", "C1", "Annabelle and Schmidtke asked"),  # whole words only
    ("Anna called", "C2", "Anna called"),  # not C2's name
    ("Herr Müller rief an", "C2", "Herr [name] rief an"),
    ("Herr Muller rief an", "C2", "Herr [name] rief an"),  # without accents too
    ("Jean-Luc O'Brien's order", "C3", "[name]-[name] [name] order"),
    ("Li Wei called", "C4", "Li [name] called"),  # parts of fewer than three letters stay
    ("Mr Bird bought bird seed", "C5", "Mr Bird bought bird seed"),  # a word many others use
    ("Anna here", "C9", "Anna here"),  # an owner without a name
]


@pytest.mark.parametrize("text,owner,expected", NAMED, ids=[t for t, _, _ in NAMED])
def test_customers_own_names_are_masked_in_their_texts(text, owner, expected):
    # Five other customers write 'bird': a common word, not a mention of Mr Bird.
    others = [f"bird seed for {i}" for i in range(5)]
    masked, changed = privacy.mask_names(pd.Series([text, *others]), pd.Series([owner, *"VWXYZ"]), NAMES)
    assert masked.iloc[0] == expected
    assert masked.iloc[1:].tolist() == others
    assert changed == (expected != text)
