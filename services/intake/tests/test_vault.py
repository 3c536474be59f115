"""The reporter vault (`vault.py`): sealing, the phone index, reveal and destruction, over the
in-memory side tables."""

from __future__ import annotations

import uuid

import pytest

from aduan_intake.application import IntakeApplication
from aduan_intake.domain import reporter_id_for
from aduan_intake.sealing import Identity, MasterKey, SealedReporter
from aduan_intake.sidetables import MemorySideTables
from aduan_intake.vault import ReporterVault

SITI = Identity(name="Siti Aminah", phone="+6281298765432", email="siti@example.id")


@pytest.fixture
def tables() -> MemorySideTables:
    return MemorySideTables()


@pytest.fixture
def vault(tables: MemorySideTables) -> ReporterVault:
    return ReporterVault(tables, MasterKey.development_key())


def test_a_sealed_reporter_is_an_id_and_a_masked_contact_and_their_phone_finds_the_complaint(
    vault: ReporterVault, tables: MemorySideTables
) -> None:
    complaint_id = uuid.uuid4()

    sealed = vault.seal_reporter(complaint_id, SITI)

    assert sealed == SealedReporter(reporter_id_for(complaint_id), "+62812****432")
    assert vault.open(sealed.reporter_id) == SITI
    assert SITI.name.encode() not in tables.get_identity(sealed.reporter_id).sealed  # type: ignore[union-attr]
    assert vault.holder_of(sealed.reporter_id) == complaint_id
    assert vault.complaints_for_phone(SITI.phone) == [str(complaint_id)]
    assert vault.complaints_for_phone("+6281200000000") == []


def test_the_first_sealed_identity_wins(vault: ReporterVault) -> None:
    complaint_id = uuid.uuid4()
    first = vault.seal_reporter(complaint_id, SITI)

    again = vault.seal_reporter(complaint_id, Identity(email="other@example.id"))

    assert again == first
    assert vault.open(first.reporter_id) == SITI


def test_a_sender_is_sealed_without_indexing_their_phone(vault: ReporterVault) -> None:
    conversation_id = uuid.uuid4()

    sealed = vault.seal_sender(conversation_id, Identity(name="Budi", phone="+6281211112222"))

    assert sealed.reporter_id == reporter_id_for(conversation_id)
    assert sealed.masked_contact == "+62812****222"
    assert vault.complaints_for_phone("+6281211112222") == []
    assert vault.open(sealed.reporter_id) == Identity(name="Budi", phone="+6281211112222")


def test_destroying_the_key_leaves_nothing_to_open_and_no_phone_index(
    vault: ReporterVault,
) -> None:
    complaint_id = uuid.uuid4()
    reporter_id = vault.seal_reporter(complaint_id, SITI).reporter_id
    assert vault.is_recoverable(reporter_id)

    vault.destroy(reporter_id)

    assert not vault.is_recoverable(reporter_id)
    assert vault.open(reporter_id) is None
    assert vault.complaints_for_phone(SITI.phone) == []
    # A retried erasure still finds whose reporter it was.
    assert vault.holder_of(reporter_id) == complaint_id


def test_an_unknown_reporter_has_no_holder_and_nothing_to_open(vault: ReporterVault) -> None:
    assert vault.holder_of("nobody") is None
    assert vault.open("nobody") is None
    assert not vault.is_recoverable("nobody")


def test_a_new_reporter_is_sealed_ahead_of_its_transaction(vault: ReporterVault) -> None:
    complaint_id = uuid.uuid4()

    new = vault.new_reporter(complaint_id, SITI)

    reporter_id = reporter_id_for(complaint_id)
    assert new.sealed == SealedReporter(reporter_id, "+62812****432")
    assert new.data_key[0] == new.identity.reporter_id == reporter_id
    assert new.identity.complaint_id == str(complaint_id)
    assert new.phone == (vault.phone_digest(SITI.phone), str(complaint_id), reporter_id)
    assert vault.open(reporter_id) is None  # nothing written yet
    assert vault.new_reporter(uuid.uuid4(), Identity(email="a@example.id")).phone is None


def test_only_sql_side_tables_join_the_event_stores_transaction(
    vault: ReporterVault, sqlite_app: IntakeApplication
) -> None:
    assert not vault.joins_transactions
    assert sqlite_app.vault.joins_transactions
