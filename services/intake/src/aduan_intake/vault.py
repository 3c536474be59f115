"""The reporters' sealed personal data, as the application keeps it (docs/architecture.md, rule 4):
an identity sealed under its reporter's own data key, opened for an audited reveal, destroyed on
erasure, and the phone index that finds a number's complaints without storing the number.
Transport-free.

The application decides when each happens and records the events; the vault holds the master key
and the side tables' reporter rows, so that key handling is written once, not in every command.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from aduan.eventstore.store import SideWrites
from aduan_intake.domain import reporter_id_for
from aduan_intake.sealing import (
    Identity,
    MasterKey,
    SealedReporter,
    TextSealer,
    masked_contact,
    open_identity,
    seal_identity,
)
from aduan_intake.sidetables import SideTables, SqlSideTables, StoredIdentity


@dataclass(frozen=True)
class NewReporter:
    """The rows of a reporter seen for the first time, sealed ahead of a group's transaction."""

    sealed: SealedReporter
    data_key: tuple[str, bytes]  # reporter id, wrapped data key
    identity: StoredIdentity
    phone: tuple[str, str, str] | None  # phone digest, complaint id, reporter id
    texts: TextSealer  # the complaint's free texts, under the same data key


class ReporterVault:
    def __init__(self, tables: SideTables, master_key: MasterKey) -> None:
        self.tables = tables
        self.master_key = master_key

    def seal_reporter(self, complaint_id: uuid.UUID, identity: Identity) -> SealedReporter:
        """Seals the identity of a complaint's reporter and indexes their phone number. Call it
        before the complaint is saved, so that no complaint is ever missing from the index;
        lookups skip ids whose complaint does not exist (yet)."""
        reporter_id = reporter_id_for(complaint_id)
        stored = self._seal(reporter_id, complaint_id, identity)
        if stored.phone:
            self.tables.index_phone(
                self.master_key.phone_digest(stored.phone), str(complaint_id), reporter_id
            )
        return SealedReporter(reporter_id, masked_contact(stored))

    def seal_sender(self, conversation_id: uuid.UUID, identity: Identity) -> SealedReporter:
        """Seals the identity of a WhatsApp sender answered about no complaint (their number
        finds no complaint, so it is not indexed)."""
        reporter_id = reporter_id_for(conversation_id)
        stored = self._seal(reporter_id, conversation_id, identity)
        return SealedReporter(reporter_id, masked_contact(stored))

    def _seal(self, reporter_id: str, holder_id: uuid.UUID, identity: Identity) -> Identity:
        """Seals the identity under the reporter's data key; returns the identity that is stored
        (a concurrent duplicate filing may have stored its own first: first writer wins)."""
        wrapped = self.tables.put_data_key(
            reporter_id, self.master_key.new_wrapped_data_key(reporter_id)
        )
        data_key = self.master_key.unwrap(wrapped, reporter_id)
        stored = self.tables.put_identity(
            StoredIdentity(
                reporter_id, str(holder_id), seal_identity(identity, data_key, reporter_id)
            )
        )
        return open_identity(stored.sealed, data_key, reporter_id)

    @property
    def joins_transactions(self) -> bool:
        """Whether `record_new_reporters` can write in the event store's transaction."""
        return isinstance(self.tables, SqlSideTables)

    def new_reporter(self, complaint_id: uuid.UUID, identity: Identity) -> NewReporter:
        """The sealed rows of a reporter whose complaint does not exist yet, written later by
        `record_new_reporters` (in the transaction that saves the complaint)."""
        reporter_id = reporter_id_for(complaint_id)
        (_, wrapped), texts = self.new_text_key(complaint_id)
        data_key = self.master_key.unwrap(wrapped, reporter_id)
        sealed = seal_identity(identity, data_key, reporter_id)
        phone: tuple[str, str, str] | None = None
        if identity.phone:
            phone = (self.master_key.phone_digest(identity.phone), str(complaint_id), reporter_id)
        return NewReporter(
            SealedReporter(reporter_id, masked_contact(identity)),
            (reporter_id, wrapped),
            StoredIdentity(reporter_id, str(complaint_id), sealed),
            phone,
            texts,
        )

    def new_text_key(self, complaint_id: uuid.UUID) -> tuple[tuple[str, bytes], TextSealer]:
        """A new data key for a complaint that does not exist yet (its row, reporter id and
        wrapped key, is written later by `record_new_reporters`), and the sealer of the
        complaint's texts under it. Anonymous filings get one too: their texts are sealed like
        anyone's, under `reporter_id_for(complaint_id)` with no identity row."""
        key_owner = reporter_id_for(complaint_id)
        wrapped = self.master_key.new_wrapped_data_key(key_owner)
        data_key = self.master_key.unwrap(wrapped, key_owner)
        return (key_owner, wrapped), TextSealer(data_key, key_owner, complaint_id)

    def text_sealer(self, complaint_id: uuid.UUID) -> TextSealer:
        """The sealer of a complaint's free texts under its reporter's data key. The key is
        made when missing (an anonymous complaint filed before texts were sealed), except for
        a named reporter, whose key is made with their identity and missing only once they were
        erased: then texts are kept as the redacted copy alone."""
        key_owner = reporter_id_for(complaint_id)
        wrapped = self.tables.get_data_key(key_owner)
        if wrapped is None:
            if self.tables.get_identity(key_owner) is not None:
                return TextSealer(None, key_owner, complaint_id)
            # First writer wins: concurrent duplicates of a filing seal under one key.
            wrapped = self.tables.put_data_key(
                key_owner, self.master_key.new_wrapped_data_key(key_owner)
            )
        return TextSealer(self.master_key.unwrap(wrapped, key_owner), key_owner, complaint_id)

    def record_new_reporters(
        self,
        side: SideWrites,
        reporters: Sequence[NewReporter],
        text_keys: Sequence[tuple[str, bytes]] = (),
    ) -> None:
        """Inserts the reporters' rows, and the data keys of anonymous filings' texts
        (`new_text_key`), in `side`'s transaction (only when `joins_transactions`); a row
        present already fails that transaction."""
        tables = self.tables
        assert isinstance(tables, SqlSideTables)
        tables.record_new_reporters(
            side,
            [r.data_key for r in reporters] + list(text_keys),
            [r.identity for r in reporters],
            [r.phone for r in reporters if r.phone is not None],
        )

    def open(self, reporter_id: str) -> Identity | None:
        """The reporter's identity in plaintext; None once the reporter was erased."""
        wrapped = self.tables.get_data_key(reporter_id)
        stored = self.tables.get_identity(reporter_id)
        if wrapped is None or stored is None:
            return None
        data_key = self.master_key.unwrap(wrapped, reporter_id)
        return open_identity(stored.sealed, data_key, reporter_id)

    def holder_of(self, reporter_id: str) -> uuid.UUID | None:
        """The complaint (or conversation) whose reporter this is; None for an unknown one.
        Still known after erasure, so that a retried erasure completes its record."""
        stored = self.tables.get_identity(reporter_id)
        return None if stored is None else uuid.UUID(stored.complaint_id)

    def destroy(self, reporter_id: str) -> None:
        """Destroys the reporter's data key and phone index entries beyond recovery."""
        self.tables.destroy_data_key(reporter_id)

    def is_recoverable(self, reporter_id: str) -> bool:
        return self.tables.get_data_key(reporter_id) is not None

    def phone_digest(self, phone: str) -> str:
        return self.master_key.phone_digest(phone)

    def complaints_for_phone(self, phone: str) -> list[str]:
        """The ids of the complaints `phone` (E.164) filed, in no particular order; they may
        include an id whose complaint is not saved (yet)."""
        return self.tables.complaints_for_phone(self.master_key.phone_digest(phone))
