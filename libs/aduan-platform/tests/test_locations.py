"""The one Location value: what stored events carry for it, and back."""

from __future__ import annotations

import json

from aduan.reference.locations import Location


def test_fields_keep_the_stored_key_order() -> None:
    location = Location(province_code="32", regency_code="32.73", address="Jl. X")

    # Stored events are hashed and published from these exact bytes.
    assert json.dumps(location.fields()) == (
        '{"province_code": "32", "regency_code": "32.73", "address": "Jl. X"}'
    )


def test_from_fields_reads_what_fields_wrote() -> None:
    location = Location(province_code="34", regency_code="34.71", address="Jl. Malioboro 5")

    assert Location.from_fields(location.fields()) == location


def test_missing_fields_are_empty() -> None:
    assert Location.from_fields({"regency_code": "32.73"}) == Location(regency_code="32.73")
    assert Location.from_fields({}) == Location()
