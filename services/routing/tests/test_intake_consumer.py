"""The intake consumer adapter: envelopes in, cases out, each with its tracking record so a
redelivery is recognised; settings that stop start-up."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest

from aduan.core.settings import SettingsError
from aduan.eventstore.store import DuplicateEventError
from aduan.v1 import common_pb2, events_pb2
from aduan_routing.application import RoutingApplication
from aduan_routing.config import RoutingConfig
from aduan_routing.consumer import IntakeReactor
from aduan_routing.domain import CaseStatus


def envelope(position: int, complaint_id: str, **payload: object) -> events_pb2.Envelope:
    built = events_pb2.Envelope(
        event_id=f"intake:{position}",
        service="intake",
        position=position,
        complaint_id=complaint_id,
        correlation_id="corr-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
        **payload,  # type: ignore[arg-type]
    )
    built.occurred_at.FromDatetime(dt.datetime(2026, 3, 17, 3, 0, tzinfo=dt.UTC))
    return built


def filed(position: int, complaint_id: str) -> events_pb2.Envelope:
    return envelope(
        position,
        complaint_id,
        complaint_filed=events_pb2.ComplaintFiled(
            ticket_number="ADU-2026-XYZ234",
            category=common_pb2.CATEGORY_LAND_DISPUTE,
            location=common_pb2.Location(province_code="73", regency_code="73.71"),
        ),
    )


def test_complaint_filed_opens_a_case_once(app: RoutingApplication) -> None:
    reactor = IntakeReactor(app)
    complaint_id = str(uuid.uuid4())
    reactor.process(filed(1, complaint_id))
    case = app.get_case("ADU-2026-XYZ234")
    assert str(case.id) == complaint_id
    assert case.holder == "KANTAH.73.71"
    assert case.rule_id == "dispute-local-to-kantah"
    assert case.filed_at == dt.datetime(2026, 3, 17, 3, 0, tzinfo=dt.UTC)
    routed = app.decode(app.read_notifications(1, 1)[0])
    # The reaction carries the cause: same correlation and trace, caused by the intake event.
    assert routed.meta["causation_id"] == "intake:1"
    assert routed.meta["correlation_id"] == "corr-1"
    assert routed.meta["actor"]["id"] == "service:routing"
    assert reactor.last_position("intake") == 1
    with pytest.raises(DuplicateEventError):
        reactor.process(filed(1, complaint_id))
    assert app.head_position() == 2


def test_other_intake_events_are_tracked_or_acted_on(app: RoutingApplication, officer) -> None:
    reactor = IntakeReactor(app)
    complaint_id = str(uuid.uuid4())
    reactor.process(filed(1, complaint_id))
    reactor.process(
        envelope(2, complaint_id, status_requested=events_pb2.StatusRequested(channel=1))
    )
    reactor.process(
        envelope(3, complaint_id, reporter_message_added=events_pb2.ReporterMessageAdded(text="?"))
    )
    assert app.head_position() == 2
    assert reactor.last_position("intake") == 3
    app.accept(complaint_id, expected_version=0, ctx=officer)
    app.resolve(complaint_id, summary="Selesai.", expected_version=0, ctx=officer)
    reactor.process(
        envelope(
            4, complaint_id, reporter_message_added=events_pb2.ReporterMessageAdded(text="Belum!")
        )
    )
    assert app.get_case(complaint_id).status is CaseStatus.IN_PROGRESS
    reactor.process(
        envelope(5, complaint_id, complaint_withdrawn=events_pb2.ComplaintWithdrawn(reason="damai"))
    )
    assert app.get_case(complaint_id).status is CaseStatus.WITHDRAWN
    reactor.process(envelope(6, "not-a-uuid", status_requested=events_pb2.StatusRequested()))
    assert reactor.last_position("intake") == 6


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"PING_PONG_LIMIT": "zero"}, "ADUAN_PING_PONG_LIMIT must be an integer"),
        ({"PING_PONG_LIMIT": "0"}, "ADUAN_PING_PONG_LIMIT must be at least 1"),
        ({"SLA_TICK_SECONDS": "-1"}, "ADUAN_SLA_TICK_SECONDS must be positive"),
        ({"SLA_TICKER": "maybe"}, "ADUAN_SLA_TICKER must be true or false"),
        ({"SLA_ACCEPT_WORKING_DAYS": "x"}, "ADUAN_SLA_ACCEPT_WORKING_DAYS must be an integer"),
    ],
)
def test_bad_settings_stop_start_up(extra: dict[str, str], message: str) -> None:
    with pytest.raises(SettingsError, match=message):
        RoutingConfig.from_extra(extra)


def test_settings_are_applied() -> None:
    config = RoutingConfig.from_extra(
        {"PING_PONG_LIMIT": "2", "SLA_TICK_SECONDS": "0.5", "SLA_ACCEPT_WORKING_DAYS": "1"}
    )
    assert config.policy.ping_pong_limit == 2
    assert config.tick_seconds == 0.5
    assert config.policy.sla.policy.accept_working_days == 1
    assert config.ticker_enabled
