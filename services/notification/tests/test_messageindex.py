"""messageindex.py: the WhatsApp message ids a save records, and where a status report that
names only one finds its delivery."""

from __future__ import annotations

from datetime import UTC, datetime

from eventsourcing.popo import POPOAggregateRecorder

from aduan.eventstore.store import SideWrites, UniqueClaims
from aduan_devtools.testing.notification import scheduled_delivery
from aduan_notification.domain import Delivery, DeliveryChannel
from aduan_notification.messageindex import ProviderMessageIndex, sent_messages


def delivery(channel: DeliveryChannel, source: str = "intake:7") -> Delivery:
    return scheduled_delivery(channel, source=source, due_at=datetime(2026, 3, 2, tzinfo=UTC))


def sent(channel: DeliveryChannel, message_id: str, source: str = "intake:7") -> Delivery:
    """A delivery whose pending events end with its Sent (as the sender is about to save it)."""
    sending = delivery(channel, source)
    sending.attempt({})
    sending.record_sent(1, message_id, {})
    return sending


def test_only_pending_whatsapp_sends_with_a_message_id_are_indexed() -> None:
    whatsapp = sent(DeliveryChannel.WHATSAPP, "wamid.1")
    email = sent(DeliveryChannel.EMAIL, "<mail-1>", source="intake:8")
    no_id = sent(DeliveryChannel.WHATSAPP, "", source="intake:9")
    attempting = delivery(DeliveryChannel.WHATSAPP, source="intake:10")
    attempting.attempt({})
    assert sent_messages([whatsapp, email, no_id, attempting]) == [("wamid.1", str(whatsapp.id))]


def test_a_saved_send_is_no_longer_pending_and_not_indexed_again() -> None:
    whatsapp = sent(DeliveryChannel.WHATSAPP, "wamid.1")
    whatsapp.collect_events()
    assert sent_messages([whatsapp]) == []


def test_recorded_message_ids_lead_to_their_delivery() -> None:
    index = ProviderMessageIndex(UniqueClaims(POPOAggregateRecorder()))
    whatsapp = sent(DeliveryChannel.WHATSAPP, "wamid.1")
    index.record([whatsapp])
    index.record([whatsapp])  # idempotent: a save that failed and is tried again
    assert index.delivery_of("wamid.1") == str(whatsapp.id)
    assert index.delivery_of("wamid.2") is None


def test_recording_with_a_transaction_says_whether_there_was_anything_to_write() -> None:
    index = ProviderMessageIndex(UniqueClaims(POPOAggregateRecorder()))
    nothing, something = SideWrites(), SideWrites()
    assert index.record_with(nothing, [delivery(DeliveryChannel.WHATSAPP)]) is False
    assert index.record_with(something, [sent(DeliveryChannel.WHATSAPP, "wamid.1")]) is True
