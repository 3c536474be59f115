"""The Delivery aggregate and the retry policy; the provider's status reports."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from aduan.core.errors import InvalidStateError
from aduan_devtools.testing.notification import scheduled_delivery
from aduan_notification.domain import (
    Delivery,
    DeliveryChannel,
    DeliveryStatus,
    ProviderStatus,
    RecipientKind,
    RetryPolicy,
    SkipReason,
    delivery_id_for,
    idempotency_key_for,
)

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def scheduled(channel: DeliveryChannel = DeliveryChannel.WHATSAPP) -> Delivery:
    return scheduled_delivery(channel, due_at=NOW, variables={"ticket_number": "ADU-2026-AAAAAA"})


def test_delivery_id_is_derived_from_event_recipient_and_channel() -> None:
    first = scheduled()
    again = scheduled()
    assert first.id == again.id == delivery_id_for("intake:7|REPORTER:rep-1|WHATSAPP")
    assert first.idempotency_key == idempotency_key_for(
        "intake:7", RecipientKind.REPORTER, "rep-1", DeliveryChannel.WHATSAPP
    )
    assert scheduled(DeliveryChannel.EMAIL).id != first.id


def test_attempt_then_sent_records_the_provider_message_id() -> None:
    delivery = scheduled()
    assert delivery.is_due(NOW)
    attempt = delivery.attempt({})
    delivery.record_sent(attempt, "wamid.1", {})
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.provider_message_id == "wamid.1"
    assert not delivery.is_due(NOW + timedelta(days=1))
    with pytest.raises(InvalidStateError):
        delivery.attempt({})


def test_failure_schedules_a_retry_with_backoff_and_honours_retry_after() -> None:
    policy = RetryPolicy(max_attempts=6, base_seconds=10, cap_seconds=100, jitter=lambda: 1.0)
    delivery = scheduled()
    attempt = delivery.attempt({})
    delivery.record_failure(
        attempt,
        "whatsapp HTTP 429",
        retryable=True,
        retry_after_seconds=42,
        policy=policy,
        now=NOW,
        meta={},
    )
    assert delivery.status is DeliveryStatus.FAILED
    assert delivery.next_attempt_at == NOW + timedelta(seconds=42)
    assert not delivery.is_due(NOW + timedelta(seconds=41))
    assert delivery.is_due(NOW + timedelta(seconds=42))


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    policy = RetryPolicy(base_seconds=1, cap_seconds=30, jitter=lambda: 1.0)
    assert [policy.delay(n) for n in (1, 2, 3, 4, 5, 6)] == [1, 2, 4, 8, 16, 30]
    low = RetryPolicy(base_seconds=8, cap_seconds=30, jitter=lambda: 0.0)
    assert low.delay(1) == 4  # jitter scales into [0.5, 1] of the backoff
    assert low.delay(1, retry_after_seconds=60) == 60


def test_gives_up_after_the_maximum_attempts() -> None:
    policy = RetryPolicy(max_attempts=3, base_seconds=0, jitter=lambda: 0.0)
    delivery = scheduled()
    for _ in range(3):
        attempt = delivery.attempt({})
        delivery.record_failure(
            attempt,
            "whatsapp HTTP 500",
            retryable=True,
            retry_after_seconds=None,
            policy=policy,
            now=NOW,
            meta={},
        )
    assert delivery.status is DeliveryStatus.GAVE_UP
    assert delivery.attempts == 3
    assert delivery.last_error == "whatsapp HTTP 500"
    assert not delivery.is_due(NOW + timedelta(days=1))


def test_a_permanent_error_gives_up_at_once() -> None:
    delivery = scheduled()
    attempt = delivery.attempt({})
    delivery.record_failure(
        attempt,
        "whatsapp HTTP 400",
        retryable=False,
        retry_after_seconds=None,
        policy=RetryPolicy(),
        now=NOW,
        meta={},
    )
    assert delivery.status is DeliveryStatus.GAVE_UP


def test_an_operator_retry_gives_a_fresh_budget() -> None:
    policy = RetryPolicy(max_attempts=1, base_seconds=0)
    delivery = scheduled()
    attempt = delivery.attempt({})
    delivery.record_failure(
        attempt,
        "smtp 451",
        retryable=True,
        retry_after_seconds=None,
        policy=policy,
        now=NOW,
        meta={},
    )
    assert delivery.status.value == "GAVE_UP"
    delivery.reschedule(NOW, {})
    assert delivery.status.value == "SCHEDULED"
    assert delivery.is_due(NOW)
    assert delivery.attempt({}) == 2
    delivery.record_sent(2, "id-2", {})
    with pytest.raises(InvalidStateError):
        delivery.reschedule(NOW, {})


def test_an_interrupted_attempt_is_due_again() -> None:
    delivery = scheduled()
    delivery.attempt({})
    assert delivery.status is DeliveryStatus.ATTEMPTING
    assert delivery.is_due(NOW)


def test_an_interrupted_whatsapp_send_waits_the_confirmation_grace() -> None:
    """The Cloud API may have the message and would not recognise a repeat: the repeat waits
    for its status report, from the attempt or from `since` (this instance's start) if later."""
    delivery = scheduled()
    assert delivery.resend_after(60) is None  # not in doubt: nothing to wait for
    delivery.attempt({})
    attempted = delivery.attempted_at
    assert attempted is not None
    grace = {"confirm_grace_seconds": 60.0}
    assert delivery.resend_after(60) == attempted + timedelta(seconds=60)
    assert not delivery.is_due(attempted + timedelta(seconds=59), **grace)
    assert delivery.is_due(attempted + timedelta(seconds=60), **grace)
    later = attempted + timedelta(minutes=10)
    assert not delivery.is_due(later + timedelta(seconds=59), **grace, since=later)
    assert delivery.is_due(later + timedelta(seconds=60), **grace, since=later)
    assert delivery.is_due(attempted, confirm_grace_seconds=0)  # no grace: at once


@pytest.mark.parametrize("channel", [DeliveryChannel.EMAIL, DeliveryChannel.OFFICE_WEBHOOK])
def test_an_interrupted_send_to_a_deduplicating_provider_is_repeated_at_once(
    channel: DeliveryChannel,
) -> None:
    delivery = scheduled(channel)
    delivery.attempt({})
    assert delivery.resend_after(60) is None
    assert delivery.is_due(NOW, confirm_grace_seconds=60.0)


def test_skipping_is_final() -> None:
    delivery = scheduled()
    delivery.skip(SkipReason.ERASED, {})
    assert delivery.status is DeliveryStatus.SKIPPED
    assert delivery.skip_reason == "ERASED"
    with pytest.raises(InvalidStateError):
        delivery.skip(SkipReason.ERASED, {})


def test_outcomes_belong_to_the_current_attempt() -> None:
    delivery = scheduled()
    delivery.attempt({})
    with pytest.raises(InvalidStateError):
        delivery.record_sent(2, "x", {})


# -- the provider's status reports -----------------------------------------------------------


def sent_delivery() -> Delivery:
    delivery = Delivery.schedule(
        complaint_id="c-1",
        meta={},
        recipient_kind=RecipientKind.REPORTER,
        recipient="rep-1",
        recipient_masked="+62812****0001",
        channel=DeliveryChannel.WHATSAPP,
        template="case_assigned",
        language="id",
        source_event_id="routing:3",
        source_event_type="CaseRouted",
        variables={"ticket_number": "ADU-2026-AAAAAA", "office_name": "Kantah Bandung"},
        due_at=NOW,
    )
    attempt = delivery.attempt({})
    delivery.record_sent(attempt, "wamid.1", {})
    return delivery


def report(delivery: Delivery, status: ProviderStatus, message_id: str = "wamid.1") -> bool:
    return delivery.report_status(status, message_id, NOW + timedelta(minutes=1), "", {})


def test_statuses_only_move_forward() -> None:
    delivery = sent_delivery()
    assert not report(delivery, ProviderStatus.SENT)  # a repeat of what Sent recorded
    assert report(delivery, ProviderStatus.DELIVERED)
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.delivered_at == NOW + timedelta(minutes=1)
    assert not report(delivery, ProviderStatus.DELIVERED)
    assert not report(delivery, ProviderStatus.SENT)
    assert report(delivery, ProviderStatus.READ)
    assert delivery.status is DeliveryStatus.READ
    assert delivery.read_at == NOW + timedelta(minutes=1)
    for older in (ProviderStatus.SENT, ProviderStatus.DELIVERED, ProviderStatus.READ):
        assert not report(delivery, older)
    assert not report(delivery, ProviderStatus.FAILED)  # it reached the device
    assert delivery.status is DeliveryStatus.READ
    reported = [e for e in delivery.collect_events() if isinstance(e, Delivery.StatusReported)]
    assert [e.status for e in reported] == ["DELIVERED", "READ"]


def test_read_without_delivered_first_is_read() -> None:
    delivery = sent_delivery()
    assert report(delivery, ProviderStatus.READ)
    assert delivery.status is DeliveryStatus.READ
    assert delivery.delivered_at is None
    assert not report(delivery, ProviderStatus.DELIVERED)


def test_failed_after_acceptance_is_undelivered_and_final() -> None:
    delivery = sent_delivery()
    assert delivery.report_status(
        ProviderStatus.FAILED, "wamid.1", None, "131026 undeliverable", {}
    )
    assert delivery.status is DeliveryStatus.UNDELIVERED
    assert delivery.last_error == "131026 undeliverable"
    for later in ProviderStatus:
        assert not report(delivery, later)
    assert not delivery.is_due(NOW + timedelta(days=1))
    with pytest.raises(InvalidStateError):
        delivery.attempt({})
    with pytest.raises(InvalidStateError):
        delivery.reschedule(NOW, {})


def test_a_failure_of_another_message_than_the_one_recorded_changes_nothing() -> None:
    delivery = sent_delivery()
    assert not delivery.report_status(ProviderStatus.FAILED, "wamid.duplicate", None, "x", {})
    assert delivery.status is DeliveryStatus.SENT
    assert report(delivery, ProviderStatus.DELIVERED, "wamid.duplicate")


def test_an_interrupted_attempt_is_recorded_as_sent_by_its_status() -> None:
    delivery = Delivery.schedule(
        complaint_id="c-1",
        meta={},
        recipient_kind=RecipientKind.REPORTER,
        recipient="rep-1",
        recipient_masked="",
        channel=DeliveryChannel.WHATSAPP,
        template="complaint_filed",
        language="id",
        source_event_id="intake:1",
        source_event_type="ComplaintFiled",
        variables={"ticket_number": "ADU-2026-AAAAAA"},
        due_at=NOW,
    )
    delivery.attempt({})
    assert delivery.is_due(NOW)  # the sender died: due again ...
    assert report(delivery, ProviderStatus.DELIVERED, "wamid.7")
    # ... until the provider's report says it arrived.
    assert delivery.status is DeliveryStatus.DELIVERED
    assert delivery.provider_message_id == "wamid.7"
    assert delivery.sent_at is not None
    assert not delivery.is_due(NOW + timedelta(days=1))
    with pytest.raises(InvalidStateError):
        delivery.attempt({})
    kinds = [type(e).__name__ for e in delivery.collect_events()]
    assert kinds[-2:] == ["Sent", "StatusReported"]
    # The sender, had it lived, records the same attempt's Sent as done already.
    delivery.record_sent(1, "wamid.7", {})
    assert delivery.collect_events() == []


def test_a_failed_attempt_that_did_arrive_is_not_retried() -> None:
    delivery = Delivery.schedule(
        complaint_id="c-1",
        meta={},
        recipient_kind=RecipientKind.REPORTER,
        recipient="rep-1",
        recipient_masked="",
        channel=DeliveryChannel.WHATSAPP,
        template="complaint_filed",
        language="id",
        source_event_id="intake:1",
        source_event_type="ComplaintFiled",
        variables={"ticket_number": "ADU-2026-AAAAAA"},
        due_at=NOW,
    )
    attempt = delivery.attempt({})
    delivery.record_failure(
        attempt,
        "whatsapp timed out",
        retryable=True,
        retry_after_seconds=None,
        policy=RetryPolicy(),
        now=NOW,
        meta={},
    )
    assert delivery.next_attempt_at is not None
    assert report(delivery, ProviderStatus.SENT, "wamid.8")
    assert delivery.status is DeliveryStatus.SENT
    assert delivery.next_attempt_at is None
    assert not delivery.is_due(NOW + timedelta(days=1))


def test_a_delivery_never_handed_over_takes_no_report() -> None:
    delivery = sent_delivery()
    fresh = Delivery.schedule(
        complaint_id="c-1",
        meta={},
        recipient_kind=RecipientKind.REPORTER,
        recipient="rep-1",
        recipient_masked="",
        channel=DeliveryChannel.WHATSAPP,
        template="complaint_filed",
        language="id",
        source_event_id="intake:9",
        source_event_type="ComplaintFiled",
        variables={},
        due_at=NOW,
    )
    assert not report(fresh, ProviderStatus.READ)
    fresh.skip(SkipReason.ANONYMOUS, {})
    assert not report(fresh, ProviderStatus.READ)
    assert delivery.status is DeliveryStatus.SENT
