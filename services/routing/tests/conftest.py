"""Fixtures for the routing tests: a fake clock, an in-memory routing application, and a filer
that delivers ComplaintFiled reactions the way the intake consumer does."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_routing.application import RoutingApplication
from aduan_routing.domain import Case
from aduan_routing.policy import RoutingPolicy, default_policy
from aduan_routing.reactions import Filing

WIB = dt.timezone(dt.timedelta(hours=7))


@dataclass
class FakeClock:
    """An injectable clock that only moves when told."""

    current: dt.datetime = field(
        default_factory=lambda: dt.datetime(2026, 3, 17, 10, 0, tzinfo=WIB)
    )

    def now(self) -> dt.datetime:
        return self.current

    def set(self, moment: dt.datetime) -> None:
        self.current = moment

    def advance(self, **delta: float) -> dt.datetime:
        self.current = self.current + dt.timedelta(**delta)
        return self.current


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def policy() -> RoutingPolicy:
    return default_policy()


@pytest.fixture
def app(clock: FakeClock, policy: RoutingPolicy) -> Iterator[RoutingApplication]:
    application = RoutingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, policy=policy, clock=clock
    )
    yield application
    application.close()


@pytest.fixture
def officer() -> CommandContext:
    return CommandContext(
        actor=Actor(id="officer-7", kind=ActorKind.OFFICER, role="officer", office_code="")
    )


Filer = Callable[..., Case]


@pytest.fixture
def file_complaint(app: RoutingApplication, clock: FakeClock) -> Filer:
    """Deliver a ComplaintFiled reaction (next intake position) and return the opened case."""
    positions = iter(range(1, 1_000_000))

    def filer(
        category: Category = Category.LAND_SERVICE,
        regency: str = "32.73",
        province: str | None = None,
        ticket: str | None = None,
    ) -> Case:
        complaint_id = uuid.uuid4()
        location = Location(
            province_code=province if province is not None else regency[:2],
            regency_code=regency,
        )
        opened = app.open_case(
            Filing(
                complaint_id=complaint_id,
                ticket_number=ticket or f"ADU-2026-{complaint_id.hex[:6].upper()}",
                category=category,
                location=location,
                confidential=False,
                filed_at=clock.now(),
            ),
            upstream="intake",
            position=next(positions),
            ctx=CommandContext(actor=Actor.service("routing")),
        )
        assert opened is not None
        return app.get_case(str(complaint_id))

    return filer


@pytest.fixture
def wib() -> dt.timezone:
    return WIB
