"""Case events stored before the location was typed still load, into a `Location`, and publish
the same payloads and GetCase reply; new ones store the same mappings.

The fixture (data/location_compat.json) is what routing stored and published for
`_run_the_scenario` before the change: every way a location reaches a stored event (a filing, a
finding of intake's, an officer's classification with a location and one without)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.eventstore.chain import parse_state
from aduan.eventstore.store import store_env
from aduan.reference.locations import Location
from aduan.reference.offices import default_registry
from aduan.v1 import common_pb2, events_pb2
from aduan_routing.application import RoutingApplication
from aduan_routing.consumer import IntakeReactor
from aduan_routing.contract import builders, location_message, location_of
from aduan_routing.domain import Case, Scope
from aduan_routing.servicer import case_state

OLD = json.loads((Path(__file__).parent / "data" / "location_compat.json").read_text())
COMPLAINT_ID = uuid.UUID(OLD["complaint_id"])
FILED_AT = dt.datetime(2026, 3, 17, 3, 0, tzinfo=dt.UTC)
NOW = dt.datetime(2026, 3, 17, 10, 0, tzinfo=dt.timezone(dt.timedelta(hours=7)))
BUILDERS = builders(default_registry())


class StoppedClock:
    def now(self) -> dt.datetime:
        return NOW


@pytest.fixture(params=["memory", "sqlite"])
def store_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[RoutingApplication]:
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'routing.sqlite'}"
    application = RoutingApplication(env=store_env(url, "routing"), clock=StoppedClock())
    yield application
    application.close()


def _store_old_events(app: RoutingApplication) -> None:
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=COMPLAINT_ID,
                originator_version=stored["originator_version"],
                topic=stored["topic"],
                state=bytes.fromhex(stored["state"]),
            )
            for stored in OLD["events"]
        ]
    )


def _envelope(position: int, **payload: Any) -> events_pb2.Envelope:
    built = events_pb2.Envelope(
        service="intake", position=position, previous_position=position - 1, **payload
    )
    built.event_id, built.complaint_id = f"intake:{position}", str(COMPLAINT_ID)
    built.occurred_at.FromDatetime(FILED_AT)
    return built


def _run_the_scenario(app: RoutingApplication) -> None:
    """A WhatsApp filing that names a province and an address, located by intake, then moved by
    an officer to another regency and given a scope."""
    reactor = IntakeReactor(app)
    filed = events_pb2.ComplaintFiled(
        ticket_number="ADU-2026-K7QM2P",
        channel=common_pb2.CHANNEL_WHATSAPP,
        category=common_pb2.CATEGORY_LAND_SERVICE,
        location=common_pb2.Location(province_code="32", address="Jl. Asia Afrika 1, Bandung"),
        details_pending=True,
    )
    filed.details_due.FromDatetime(FILED_AT + dt.timedelta(minutes=30))
    reactor.process(_envelope(1, complaint_filed=filed))
    located = events_pb2.ComplaintLocated(
        location=common_pb2.Location(province_code="32", regency_code="32.73"),
        source=events_pb2.DETAIL_SOURCE_TEXT_RULE,
        rule_id="regency:32.73",
        details_pending=False,
    )
    reactor.process(_envelope(2, complaint_located=located))
    officer = CommandContext(
        actor=Actor(
            id="officer-7", kind=ActorKind.OFFICER, role="officer", office_code="PUSAT.IP3"
        ),
        correlation_id="c",
        causation_id="c",
    )
    # As ClassifyComplaint passes a request's location: every field, unstripped.
    app.classify(
        str(COMPLAINT_ID),
        category=None,
        scope=None,
        location=Location(province_code="", regency_code=" 34.71 ", address=" Jl. Malioboro 5 "),
        note="the land is in Yogyakarta",
        expected_version=0,
        ctx=officer,
    )
    app.classify(
        str(COMPLAINT_ID),
        category=None,
        scope=Scope.REGIONAL,
        location=None,
        note="wide impact",
        expected_version=0,
        ctx=officer,
    )


def _payloads(app: RoutingApplication) -> list[str]:
    events = [app.decode(n) for n in app.read_notifications(0, 100)]
    return [BUILDERS[type(e)](e).SerializeToString(deterministic=True).hex() for e in events]


def _timeless(state: bytes) -> str:
    """A stored body, in its stored order, without the moment it was stored (which the chain
    header hashes too)."""
    fields = json.loads(parse_state(state).body)
    del fields["timestamp"]
    return json.dumps(fields, separators=(",", ":"), ensure_ascii=False)


def test_old_events_load_with_a_typed_location(store_app: RoutingApplication) -> None:
    _store_old_events(store_app)

    def at(version: int) -> Case:
        case: Case = store_app.repository.get(COMPLAINT_ID, version=version)
        return case

    assert at(1).location == Location(province_code="32", address="Jl. Asia Afrika 1, Bandung")
    assert at(2).location == Location("32", "32.73", "Jl. Asia Afrika 1, Bandung")
    case = store_app.get_case(str(COMPLAINT_ID))
    assert case.location == Location("34", "34.71", "Jl. Malioboro 5")
    assert case.holder == "KANTAH.34.71"


def test_old_events_publish_the_same_payloads(store_app: RoutingApplication) -> None:
    _store_old_events(store_app)

    assert _payloads(store_app) == [stored["payload"] for stored in OLD["events"]]


def test_an_old_case_answers_get_case_as_before(store_app: RoutingApplication) -> None:
    _store_old_events(store_app)

    state = case_state(store_app, store_app.get_case(str(COMPLAINT_ID)))

    assert state.SerializeToString(deterministic=True).hex() == OLD["case_state"]


def test_new_events_store_what_old_ones_stored(store_app: RoutingApplication) -> None:
    _run_the_scenario(store_app)
    notifications = store_app.read_notifications(0, 100)

    assert [(n.originator_version, n.topic) for n in notifications] == [
        (stored["originator_version"], stored["topic"]) for stored in OLD["events"]
    ]
    assert [_timeless(n.state) for n in notifications] == [
        _timeless(bytes.fromhex(stored["state"])) for stored in OLD["events"]
    ]
    assert _payloads(store_app) == [stored["payload"] for stored in OLD["events"]]


def test_the_contracts_location_and_the_typed_one_carry_the_same_fields() -> None:
    location = Location(province_code="34", regency_code="34.71", address="Jl. Malioboro 5")
    message = location_message(location)

    assert (message.province_code, message.regency_code, message.address) == (
        "34",
        "34.71",
        "Jl. Malioboro 5",
    )
    assert location_of(message) == location
