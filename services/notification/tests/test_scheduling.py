"""scheduling.py: a planned delivery becomes a scheduled Delivery on the channel that really
sends, only when the event supplies every variable its template declares."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from aduan.core.errors import ValidationError
from aduan_notification.domain import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    RecipientKind,
    SkipReason,
)
from aduan_notification.rules import PlannedDelivery
from aduan_notification.scheduling import ChannelPolicy, DeliveryScheduler
from aduan_notification.templates import TemplateCatalog

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CATALOG = TemplateCatalog.load_packaged()
FILED = PlannedDelivery(
    recipient_kind=RecipientKind.REPORTER,
    recipient="rep-1",
    recipient_masked="+62812****0001",
    channel=DeliveryChannel.WHATSAPP,
    template="complaint_filed",
    language="id",
    variables={name: "x" for name in CATALOG.get("complaint_filed").variables}
    | {"not_a_variable": "dropped"},
)


def schedule(planned: PlannedDelivery, channels: ChannelPolicy) -> Delivery:
    return DeliveryScheduler(CATALOG, channels, lambda: NOW).schedule(
        planned,
        complaint_id="c-1",
        source_event_id="intake:1",
        source_event_type="ComplaintFiled",
        meta={},
    )


def test_log_mode_and_unconfigured_channels_send_to_the_log() -> None:
    assert ChannelPolicy().resolve(DeliveryChannel.WHATSAPP) is DeliveryChannel.LOG
    live = ChannelPolicy(live=True, configured=frozenset({DeliveryChannel.EMAIL}))
    assert live.resolve(DeliveryChannel.EMAIL) is DeliveryChannel.EMAIL
    assert live.resolve(DeliveryChannel.WHATSAPP) is DeliveryChannel.LOG


def test_a_planned_delivery_is_scheduled_now_with_its_templates_variables_only() -> None:
    live = ChannelPolicy(live=True, configured=frozenset({DeliveryChannel.WHATSAPP}))
    delivery = schedule(FILED, live)
    assert delivery.status is DeliveryStatus.SCHEDULED
    assert delivery.channel is DeliveryChannel.WHATSAPP
    assert delivery.next_attempt_at == NOW
    assert set(delivery.variables) == CATALOG.get("complaint_filed").variables


def test_an_anonymous_reporters_message_is_skipped_at_once() -> None:
    delivery = schedule(replace(FILED, skip_reason="ANONYMOUS"), ChannelPolicy())
    assert delivery.status is DeliveryStatus.SKIPPED
    assert delivery.skip_reason == SkipReason.ANONYMOUS


def test_a_missing_template_variable_is_refused_naming_it() -> None:
    missing = replace(FILED, variables={})
    with pytest.raises(
        ValidationError, match=r"template complaint_filed needs \[.*\] from ComplaintFiled"
    ):
        schedule(missing, ChannelPolicy())
