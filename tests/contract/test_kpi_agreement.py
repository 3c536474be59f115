"""The KPIs and the SLA ticker charge the same office for the same missed deadline.

Two rules decide who missed a deadline: routing's SLA ticker records a `SlaBreached` naming the
holder when it escalates (`aduan_routing.domain.Case.overdue`), and query derives breaches from
custody for the office KPIs (`aduan_query.kpis`), so that a breach counts also before the ticker
has run. They must agree whenever the ticker is up to date, or a supervisor's table would blame
one office while the audit trail names another. Random case histories (accept, answer, resolve,
reassign up, down and across, reopen, close, time passing over working days and holidays) run
through routing's real application with an SLA tick after every step; every `SlaBreached` it
stored, and nothing else, must be a KPI breach of the same office, kind and deadline.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections import Counter, defaultdict
from contextlib import suppress
from dataclasses import dataclass, field
from unittest.mock import patch

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.core.errors import AduanError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.v1 import common_pb2, events_pb2
from aduan_query.history import stamp
from aduan_query.kpis import fold_case
from aduan_query.kpisource import case_event
from aduan_routing.application import RoutingApplication
from aduan_routing.contract import translator
from aduan_routing.domain import ReasonCode, ReassignmentKind
from aduan_routing.policy import default_policy
from aduan_routing.reactions import Filing

WIB = dt.timezone(dt.timedelta(hours=7))
# Three regencies of two provinces, so that cases go up to their Kanwil and across.
REGENCIES = ("32.73", "32.04", "73.71")
POLICY = default_policy()


@dataclass
class FakeClock:
    current: dt.datetime = field(default_factory=lambda: dt.datetime(2026, 3, 9, 9, 0, tzinfo=WIB))

    def now(self) -> dt.datetime:
        return self.current


def officer_of(office: str) -> CommandContext:
    return CommandContext(
        actor=Actor(id="officer-1", kind=ActorKind.OFFICER, role="supervisor", office_code=office)
    )


# One step of a history: (what, which case, a number: hours to pass or which target to pick).
Step = tuple[str, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(
            (
                "wait",
                "wait",
                "wait",
                "accept",
                "answer",
                "resolve",
                "escalate",
                "delegate",
                "transfer",
                "reopen",
                "close",
            )
        ),
        st.integers(min_value=0, max_value=3),
        st.integers(min_value=1, max_value=400),
    ),
    min_size=5,
    max_size=40,
)


def tick(app: RoutingApplication) -> None:
    """The SLA ticker, up to date: one tick records one breach per case, so tick until quiet."""
    while app.enforce_deadlines():
        pass


def act(app: RoutingApplication, clock: FakeClock, case_id: str, what: str, n: int) -> None:
    case = app.get_case(case_id)
    ctx = officer_of(case.holder)
    version = case.version
    if what == "accept":
        app.accept(case_id, expected_version=version, ctx=ctx)
    elif what == "answer":
        app.respond(case_id, text="Sedang kami periksa", expected_version=version, ctx=ctx)
    elif what == "resolve":
        app.resolve(case_id, summary="Selesai", expected_version=version, ctx=ctx)
    elif what == "reopen":
        app.reopen(case_id, reason="Belum selesai", expected_version=version, ctx=ctx)
    elif what == "close":
        app.close_case(case_id, reason="Ditutup", expected_version=version, ctx=ctx)
    else:
        kind = {
            "escalate": ReassignmentKind.ESCALATE,
            "delegate": ReassignmentKind.DELEGATE,
            "transfer": ReassignmentKind.TRANSFER,
        }[what]
        targets = sorted(o.code for o in app.registry.targets(kind.value, case.holder))
        if not targets:
            return
        app.reassign(
            case_id,
            kind=kind,
            to_office=targets[n % len(targets)],
            reason_code=ReasonCode.WRONG_JURISDICTION
            if kind is ReassignmentKind.TRANSFER
            else ReasonCode.FIELD_WORK_NEEDED,
            note="dialihkan",
            expected_version=version,
            ctx=ctx,
        )


def envelopes_by_case(app: RoutingApplication) -> dict[str, list[events_pb2.Envelope]]:
    to_envelope = translator(app.registry)
    found: dict[str, list[events_pb2.Envelope]] = defaultdict(list)
    for notification in app.read_notifications(0, 100_000):
        envelope = to_envelope.translate(notification, app.decode(notification))
        if envelope is not None and envelope.complaint_id:
            found[envelope.complaint_id].append(envelope)
    return found


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    derandomize=True,
)
@given(history=steps)
def test_every_sla_breach_the_ticker_records_is_the_kpis_breach_and_no_other(
    history: list[Step],
) -> None:
    clock = FakeClock()
    # The events' own timestamps (the envelopes' occurred_at) follow the fake clock too.
    with patch("eventsourcing.domain.datetime_now_with_tzinfo", clock.now):
        recorded, derived = run_history(clock, history)
    assert recorded == derived


Breaches = Counter[tuple[str, str, dt.datetime]]


def run_history(clock: FakeClock, history: list[Step]) -> tuple[Breaches, Breaches]:
    """(the breaches the ticker recorded, those the KPIs derive) after `history`."""
    app = RoutingApplication(
        env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, policy=POLICY, clock=clock
    )
    cases = []
    for position, regency in enumerate((*REGENCIES, "32.73"), start=1):
        complaint_id = uuid.uuid4()
        app.open_case(
            Filing(
                complaint_id=complaint_id,
                ticket_number=f"ADU-2026-{complaint_id.hex[:6].upper()}",
                category=Category.LAND_SERVICE,
                location=Location(province_code=regency[:2], regency_code=regency),
                confidential=False,
                filed_at=clock.now(),
            ),
            upstream="intake",
            position=position,
            ctx=CommandContext(actor=Actor.service("routing")),
        )
        cases.append(str(complaint_id))
    for what, which, n in history:
        if what == "wait":
            clock.current += dt.timedelta(hours=n)
        else:
            # A step the case's state or direction does not allow is refused; the history goes on.
            with suppress(AduanError):
                act(app, clock, cases[which], what, n)
            clock.current += dt.timedelta(minutes=5)
        tick(app)

    as_of = clock.now().astimezone(dt.UTC) + dt.timedelta(seconds=1)
    recorded: Breaches = Counter()
    derived: Breaches = Counter()
    for envelopes in envelopes_by_case(app).values():
        for envelope in envelopes:
            if envelope.WhichOneof("payload") == "sla_breached":
                breached = envelope.sla_breached
                sla = common_pb2.SlaKind.Name(breached.sla).removeprefix("SLA_KIND_")
                recorded[(sla, breached.office.code, stamp(breached.due_at))] += 1
        facts = [fact for e in envelopes if (fact := case_event(e)) is not None]
        for breach in fold_case(facts, as_of).breaches:
            derived[(breach.sla, breach.office, breach.due)] += 1
    app.close()
    return recorded, derived
