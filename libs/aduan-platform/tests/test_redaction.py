"""The redacted copy of free text, on text as Indonesian citizens and officers write it."""

from __future__ import annotations

import pytest

from aduan.core.redaction import RedactionRulesError, build_redactor, redact


@pytest.mark.parametrize(
    ("text", "expected", "rules"),
    [
        (
            "Nama saya Budi, NIK 3273019912870001, HP 0813-9988-7766, email budi.s@gmail.com",
            "Nama saya Budi, NIK [NIK], HP [nomor telepon], email [email]",
            ("nik-cued", "phone-mobile", "email"),
        ),
        (
            # A valid NIK (a woman born 25-08-1985 in Kota Bandung) needs no cue.
            "Tanah atas nama ibu saya 3273016508850003 dijual tanpa sepengetahuan kami",
            "Tanah atas nama ibu saya [NIK] dijual tanpa sepengetahuan kami",
            ("nik",),
        ),
        (
            "no KK 3273 0199 1287 0001, npwp 12.345.678.9-012.345",
            "no KK [NIK], npwp [NPWP]",
            ("nik-cued", "npwp"),
        ),
        (
            "Sudah transfer Rp 50.000.000 ke rek BRI 0123-01-012345-50-1 a/n Pak Joko tgl 12-05-2026",
            "Sudah transfer Rp 50.000.000 ke rek BRI [rekening …5501] a/n Pak Joko tgl 12-05-2026",
            ("bank-account",),
        ),
        (
            "hubungi saya di wa.me/6281399887766 atau +62 813 9988 7766 atau telp (021) 555-1234",
            "hubungi saya di wa.me/[nomor telepon] atau [nomor telepon] atau telp [nomor telepon]",
            ("phone-mobile", "phone-mobile", "phone-cued"),
        ),
        (
            # A NIK followed by an unrelated number is still found.
            "NIK 3273019912870001 2 orang datang ke kantah jam 10.30",
            "NIK [NIK] 2 orang datang ke kantah jam 10.30",
            ("nik-cued",),
        ),
        (
            "nomor saya 628123456789. Terima kasih",
            "nomor saya [nomor telepon]. Terima kasih",
            ("phone-mobile",),
        ),
    ],
)
def test_personal_numbers_and_addresses_are_masked(
    text: str, expected: str, rules: tuple[str, ...]
) -> None:
    redacted = redact(text)
    assert redacted.text == expected
    assert redacted.rule_ids == rules


@pytest.mark.parametrize(
    "text",
    [
        # What officers need to read stays: land and certificate numbers, areas, money, dates.
        "Sertifikat SHM No. 1234/Cibeunying, NIB 10050000012345, luas 250 m2",
        "Harga Rp 1.500.000.000 dibayar lunas pada 2019-03-01, surat ukur 00123/2018",
        "Pengukuran dijadwalkan 12-05-2026 pukul 10.30 WIB di Kelurahan Cipedes RT 03 RW 07",
        "Berkas 2026/123/45 sudah 6 bulan belum selesai",
    ],
)
def test_land_numbers_amounts_and_dates_stay(text: str) -> None:
    redacted = redact(text)
    assert redacted.text == text
    assert not redacted.changed


def test_a_number_that_is_no_phone_stays_without_a_phone_word() -> None:
    assert redact("biaya 5551234 ditagih").text == "biaya 5551234 ditagih"
    assert redact("telp 5551234").text == "telp [nomor telepon]"


def test_the_canary_spellings_are_all_masked() -> None:
    for spelling in ("0813-9988-7766", "0813 9988 7766", "+6281399887766", "081399887766"):
        redacted = redact(f"tolong hubungi {spelling} segera")
        assert "7766" not in redacted.text, spelling


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"rules": [{"id": "a", "label": "x"}]}, "exactly one of pattern and digits"),
        ({"rules": [{"id": "a", "label": "x", "pattern": "("}]}, "pattern"),
        ({"rules": [{"id": "a", "label": "x", "pattern": "a", "cue": "b"}]}, "digits rules"),
        ({"rules": [{"id": "a", "label": "x", "digits": "1", "colour": 1}]}, "unknown keys"),
        ({"rules": [], "extra": 1}, "unknown keys"),
        ({"rules": [{"id": "a", "label": "x", "digits": "1", "keep_last": 9}]}, "keep_last"),
    ],
)
def test_malformed_rules_are_refused(data: object, message: str) -> None:
    with pytest.raises(RedactionRulesError, match=message):
        build_redactor(data)
