"""A tiny write service ('notes') for testing the backbone without any real service's domain."""

from __future__ import annotations

from typing import Any

import pytest
from eventsourcing.domain import Aggregate, event

from aduan.contract.envelopes import EnvelopeTranslator
from aduan.core.context import Actor, CommandContext
from aduan.eventstore.store import AduanApplication
from aduan.v1 import events_pb2


class Note(Aggregate):
    @event("Written")
    def __init__(self, text: str, meta: dict[str, Any]) -> None:
        self.text = text

    @event("Withdrawn")
    def withdraw(self, reason: str, meta: dict[str, Any]) -> None:
        self.withdrawn = reason


class NotesApplication(AduanApplication):
    name = "notes"

    def write(self, text: str) -> int:
        note = Note(text=text, meta=CTX.meta())
        return int(self.save(note)[-1].notification.id)


CTX = CommandContext(
    actor=Actor.system("tests"), traceparent="00-" + "1" * 32 + "-" + "2" * 16 + "-01"
)


def notes_translator(service: str = "intake") -> EnvelopeTranslator:
    return EnvelopeTranslator(
        service,
        {
            Note.Written: lambda e: events_pb2.ComplaintFiled(description=e.text),
            Note.Withdrawn: lambda e: events_pb2.ComplaintWithdrawn(reason=e.reason),
        },
    )


@pytest.fixture
def notes_app() -> NotesApplication:
    return NotesApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
