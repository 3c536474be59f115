"""deliveryindex.py over a log of Delivery events: what is due when, per complaint, read in
pages to the end of the log."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from aduan_devtools.testing.notification import scheduled_delivery
from aduan_notification import deliveryindex
from aduan_notification.deliveryindex import DeliveryIndex
from aduan_notification.domain import Delivery, DeliveryChannel, RetryPolicy

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
# Later than any attempt's timestamp: the grace of an in-doubt WhatsApp send counts from here.
SINCE = datetime.now(UTC) + timedelta(hours=1)
GRACE = 120.0


@dataclass(frozen=True)
class Note:
    id: int
    event: Any


class Log:
    def __init__(self) -> None:
        self.notes: list[Note] = []
        self.reads = 0

    def add(self, *deliveries: Delivery) -> None:
        for delivery in deliveries:
            for event in delivery.collect_events():
                self.notes.append(Note(len(self.notes) + 1, event))

    def read_notifications(self, after: int, limit: int) -> Sequence[Any]:
        self.reads += 1
        return [note for note in self.notes if note.id > after][:limit]

    def decode(self, notification: Any) -> Any:
        return notification.event


def delivery(
    source: str, channel: DeliveryChannel = DeliveryChannel.EMAIL, complaint_id: str = "c-1"
) -> Delivery:
    return scheduled_delivery(channel, source=source, complaint_id=complaint_id, due_at=NOW)


def index_of(log: Log) -> DeliveryIndex:
    return DeliveryIndex(log, confirm_grace_seconds=GRACE, since=SINCE)


def test_deliveries_are_due_until_finished_and_listed_per_complaint() -> None:
    log = Log()
    scheduled, sent, other = delivery("e:1"), delivery("e:2"), delivery("e:3", complaint_id="c-2")
    sent.attempt({})
    sent.record_sent(1, "m-1", {})
    log.add(scheduled, sent, other)
    index = index_of(log)

    assert index.catch_up() == len(log.notes)
    assert index.by_complaint("c-1") == [scheduled.id, sent.id]
    assert set(index.due(NOW, set(), 10)) == {scheduled.id, other.id}
    assert index.due(NOW, {other.id}, 10) == [scheduled.id]
    assert index.due(NOW - timedelta(seconds=1), set(), 10) == []
    assert index.pending_count() == 2


def test_a_failure_is_due_at_its_retry_and_an_in_doubt_whatsapp_send_after_the_grace() -> None:
    log = Log()
    failed, in_doubt = delivery("e:1"), delivery("e:2", DeliveryChannel.WHATSAPP)
    failed.attempt({})
    failed.record_failure(
        1,
        "boom",
        retryable=True,
        retry_after_seconds=None,
        policy=RetryPolicy(jitter=lambda: 1.0),
        now=NOW,
        meta={},
    )
    in_doubt.attempt({})
    log.add(failed, in_doubt)
    index = index_of(log)
    index.catch_up()

    retry_at = failed.next_attempt_at
    assert retry_at is not None
    assert index.next_due_at(set()) == retry_at
    assert index.next_due_at({failed.id}) == SINCE + timedelta(seconds=GRACE)
    assert index.due(retry_at, set(), 10) == [failed.id]


def test_catching_up_reads_page_after_page_to_the_end_of_the_log(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(deliveryindex, "CATCH_UP_PAGE", 2)
    log = Log()
    log.add(*(delivery(f"e:{n}") for n in range(5)))
    index = index_of(log)
    assert index.catch_up() == 5
    assert log.reads == 3  # 2 + 2 + a short page of 1: the end
    assert len(index.due(NOW, set(), 10)) == 5
    assert index.by_complaint("nobody") == []
    assert isinstance(index.by_complaint("c-1")[0], uuid.UUID)
