"""From a planned delivery (rules.py: whom to tell what) to a scheduled Delivery: the template
checked against the variables the event supplies, the logical channel resolved to the one that
really sends, and an anonymous reporter's message skipped at once."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from aduan.core.errors import ValidationError
from aduan_notification.domain import Delivery, DeliveryChannel, SkipReason
from aduan_notification.rules import PlannedDelivery
from aduan_notification.templates import TemplateCatalog


@dataclass(frozen=True)
class ChannelPolicy:
    """Which channels really send. In log mode (the default of `make up`) everything goes to the
    log channel; in live mode a channel without configuration also falls back to the log, and the
    delivery record says so (channel LOG)."""

    live: bool = False
    configured: frozenset[DeliveryChannel] = frozenset()

    def resolve(self, channel: DeliveryChannel) -> DeliveryChannel:
        if self.live and channel in self.configured:
            return channel
        return DeliveryChannel.LOG


@dataclass(frozen=True)
class DeliveryScheduler:
    catalog: TemplateCatalog
    channels: ChannelPolicy
    clock: Callable[[], datetime]

    def schedule(
        self,
        planned: PlannedDelivery,
        *,
        complaint_id: str,
        source_event_id: str,
        source_event_type: str,
        meta: dict[str, Any],
    ) -> Delivery:
        """The delivery `planned` asks for, due now. Raises ValidationError when the event did
        not supply a variable the template declares."""
        template = self.catalog.get(planned.template)
        missing = template.missing(planned.variables)
        if missing:
            # A programming error in rules.py; the rules tests cover every event type.
            raise ValidationError(
                f"template {template.name} needs {sorted(missing)} from {source_event_type}"
            )
        variables = {k: planned.variables[k] for k in template.variables if k in planned.variables}
        delivery = Delivery.schedule(
            complaint_id=complaint_id,
            meta=meta,
            recipient_kind=planned.recipient_kind,
            recipient=planned.recipient,
            recipient_masked=planned.recipient_masked,
            channel=self.channels.resolve(planned.channel),
            template=planned.template,
            language=planned.language,
            source_event_id=source_event_id,
            source_event_type=source_event_type,
            variables={**variables, **planned.question},
            due_at=self.clock(),
        )
        if planned.skip_reason:
            delivery.skip(SkipReason(planned.skip_reason), meta)
        return delivery
