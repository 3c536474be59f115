"""Upstream log checkpoints (CheckpointSealed, no complaint) are tracked and skipped: they never
block the consumer and never schedule a delivery."""

from __future__ import annotations

import pytest

from aduan.eventstore.store import DuplicateEventError
from aduan.v1 import events_pb2
from aduan_devtools.testing.notification import memory_app
from aduan_notification.consumer import NotificationProcessor


def test_a_checkpoint_is_tracked_without_deliveries() -> None:
    app = memory_app()
    processor = NotificationProcessor(app)
    sealed = events_pb2.Envelope(
        event_id="routing:7",
        event_type="CheckpointSealed",
        service="routing",
        position=7,
        previous_position=0,
        checkpoint_sealed=events_pb2.CheckpointSealed(
            service="routing", from_position=1, to_position=6, event_count=6
        ),
    )
    processor.process(sealed)
    assert processor.last_position("routing") == 7
    assert app.head_position() == 0  # nothing scheduled
    with pytest.raises(DuplicateEventError):
        processor.process(sealed)
