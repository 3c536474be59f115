"""Provider message id -> delivery id: where a status report that names only the provider's
message id (not the delivery id WhatsApp echoes) finds its delivery.

Kept as claims (aduan.eventstore.store.UniqueClaims) beside the ticket numbers, written with the WhatsApp
Sent event that names the message id."""

from __future__ import annotations

from collections.abc import Sequence

from aduan.eventstore.store import SideWrites, UniqueClaims
from aduan_notification.domain import Delivery, DeliveryChannel

PROVIDER_MESSAGES = "provider-message"


def sent_messages(deliveries: Sequence[Delivery]) -> list[tuple[str, str]]:
    """(provider message id, delivery id) of the WhatsApp Sent events pending (not yet saved) in
    `deliveries`: what saving them adds to the index."""
    return [
        (event.provider_message_id, str(delivery.id))
        for delivery in deliveries
        if delivery.channel is DeliveryChannel.WHATSAPP
        for event in delivery.pending_events
        if isinstance(event, Delivery.Sent) and event.provider_message_id
    ]


class ProviderMessageIndex:
    def __init__(self, claims: UniqueClaims) -> None:
        self.claims = claims

    def record(self, deliveries: Sequence[Delivery]) -> None:
        """Indexes the message ids the deliveries are about to save, at once and idempotently:
        written before the save, a claim left by a save that then failed still names the right
        delivery (the provider did accept that message for it)."""
        for message_id, delivery_id in sent_messages(deliveries):
            self.claims.claim(PROVIDER_MESSAGES, message_id, delivery_id)

    def record_with(self, side: SideWrites, deliveries: Sequence[Delivery]) -> bool:
        """Indexes them in `side`'s transaction instead (a message id claimed already fails it);
        False when there is nothing to index."""
        sent = sent_messages(deliveries)
        self.claims.claim_all(side, PROVIDER_MESSAGES, sent)
        return bool(sent)

    def delivery_of(self, provider_message_id: str) -> str | None:
        """The id of the delivery the provider accepted that message for, if one was recorded."""
        return self.claims.get(PROVIDER_MESSAGES, provider_message_id)
