"""A stateful property test over random command sequences on one case: the case is always in a
legal state, every command either succeeds with the transition the workflow allows or raises
the documented error, and a refused command stores nothing."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.core.errors import ConcurrencyConflictError, InvalidStateError, ValidationError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan_routing.application import RoutingApplication
from aduan_routing.domain import (
    OPEN_STATUSES,
    SYSTEM_REASONS,
    CaseStatus,
    ReasonCode,
    ReassignmentKind,
    Scope,
)
from aduan_routing.policy import default_policy
from aduan_routing.reactions import Filing

WIB = dt.timezone(dt.timedelta(hours=7))
POLICY = default_policy()
REGISTRY = POLICY.registry
OFFICER = CommandContext(actor=Actor(id="officer-1", kind=ActorKind.OFFICER, role="officer"))
TARGETS = [
    "KANTAH.32.73",
    "KANTAH.32.04",
    "KANTAH.33.01",
    "KANWIL.32",
    "KANWIL.33",
    "PUSAT.IP3",
    "PUSAT.PSKP",
    "PUSAT.ITJEN",
    "KANTAH.99.99",  # unknown
    "",
]
ALLOWED = {
    "accept": {CaseStatus.ASSIGNED},
    "reassign": set(OPEN_STATUSES),
    "classify": set(OPEN_STATUSES),
    "respond": {CaseStatus.IN_PROGRESS},
    "resolve": {CaseStatus.IN_PROGRESS},
    "reopen": {CaseStatus.RESOLVED, CaseStatus.CLOSED},
    "close": {CaseStatus.ASSIGNED, CaseStatus.IN_PROGRESS, CaseStatus.RESOLVED},
}
AFTER = {
    "accept": CaseStatus.IN_PROGRESS,
    "reassign": CaseStatus.ASSIGNED,
    "resolve": CaseStatus.RESOLVED,
    "reopen": CaseStatus.IN_PROGRESS,
    "close": CaseStatus.CLOSED,
}


class FakeClock:
    def __init__(self) -> None:
        self.current = dt.datetime(2026, 3, 16, 9, 0, tzinfo=WIB)

    def now(self) -> dt.datetime:
        return self.current


def direction_ok(kind: ReassignmentKind, holder: str, target: str) -> bool:
    if kind is ReassignmentKind.ESCALATE:
        return REGISTRY.is_ancestor(target, holder)
    if kind is ReassignmentKind.DELEGATE:
        return REGISTRY.is_ancestor(holder, target)
    if kind is ReassignmentKind.TRANSFER:
        return REGISTRY.require(target).level == REGISTRY.require(holder).level
    return target == REGISTRY.triage_code


class CaseMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.app = RoutingApplication(
            env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, policy=POLICY, clock=self.clock
        )
        self.case_id = uuid.uuid4()
        self.app.open_case(
            Filing(
                self.case_id,
                "ADU-2026-STATE1",
                Category.LAND_SERVICE,
                Location(province_code="32", regency_code="32.73"),
                False,
                self.clock.now(),
            ),
            upstream="intake",
            position=1,
            ctx=CommandContext(actor=Actor.service("routing")),
        )
        self.intake_position = 1
        self.status = CaseStatus.ASSIGNED
        self.holder = "KANTAH.32.73"

    @property
    def case(self) -> Any:
        return self.app.get_case(str(self.case_id))

    def attempt(self, command: str, expected: type[Exception] | None, call: Any) -> None:
        """Run `call`; it must raise `expected` (and store nothing) or succeed when None."""
        head = self.app.head_position()
        version = self.case.version
        if expected is not None:
            try:
                call()
            except expected:
                pass
            else:
                raise AssertionError(f"{command} should have raised {expected.__name__}")
            assert self.app.head_position() == head, f"refused {command} stored events"
            assert self.case.version == version
            return
        result = call()
        assert self.app.head_position() > head
        assert result.position == self.app.head_position()
        assert result.case.version > version
        if command in AFTER:
            assert result.case.status is AFTER[command]
        elif command == "respond":
            assert result.case.status is self.status
        else:  # classify: unchanged, or re-routed to another office and waiting for acceptance
            assert result.case.status in {self.status, CaseStatus.ASSIGNED}
        self.status = result.case.status
        self.holder = result.case.holder

    def version_arg(self, choice: str) -> tuple[int, type[Exception] | None]:
        if choice == "none":
            return 0, None
        if choice == "current":
            return self.case.version, None
        return self.case.version + 7, ConcurrencyConflictError

    def expect(self, command: str, version_error: type[Exception] | None) -> type[Exception] | None:
        if version_error is not None:
            return version_error
        if self.status not in ALLOWED[command]:
            return InvalidStateError
        return None

    @rule(version=st.sampled_from(["none", "current", "stale"]))
    def accept(self, version: str) -> None:
        expected_version, error = self.version_arg(version)
        self.attempt(
            "accept",
            self.expect("accept", error),
            lambda: self.app.accept(
                str(self.case_id), expected_version=expected_version, ctx=OFFICER
            ),
        )

    @rule(
        kind=st.sampled_from(list(ReassignmentKind)),
        office=st.sampled_from(TARGETS),
        reason=st.sampled_from([None, *ReasonCode]),
        version=st.sampled_from(["none", "current", "stale"]),
    )
    def reassign(
        self, kind: ReassignmentKind, office: str, reason: ReasonCode | None, version: str
    ) -> None:
        target = office
        expected_version, error = self.version_arg(version)
        resolved_target = (
            REGISTRY.triage_code
            if kind is ReassignmentKind.RETURN_TO_TRIAGE and not target
            else target
        )
        expected: type[Exception] | None
        if (
            kind is ReassignmentKind.REROUTE
            or reason is None
            or reason in SYSTEM_REASONS
            or resolved_target not in REGISTRY
        ):
            expected = ValidationError
        else:
            expected = self.expect("reassign", error)
            if expected is None and (
                resolved_target == self.holder
                or not direction_ok(kind, self.holder, resolved_target)
            ):
                expected = ValidationError
        self.attempt(
            "reassign",
            expected,
            lambda: self.app.reassign(
                str(self.case_id),
                kind=kind,
                to_office=target,
                reason_code=reason,
                note="",
                expected_version=expected_version,
                ctx=OFFICER,
            ),
        )

    @rule(
        category=st.sampled_from([None, *Category]),
        scope=st.sampled_from([None, *Scope]),
        regency=st.sampled_from([None, "32.73", "33.01", "94.01", "99.99"]),
    )
    def classify(self, category: Category | None, scope: Scope | None, regency: str | None) -> None:
        location = Location(regency_code=regency) if regency else None
        expected: type[Exception] | None
        if regency == "99.99" or (category is None and scope is None and location is None):
            expected = ValidationError
        else:
            expected = self.expect("classify", None)
        self.attempt(
            "classify",
            expected,
            lambda: self.app.classify(
                str(self.case_id),
                category=category,
                scope=scope,
                location=location,
                note="",
                expected_version=0,
                ctx=OFFICER,
            ),
        )

    @rule(text=st.sampled_from(["", "Kami proses."]))
    def respond(self, text: str) -> None:
        expected = ValidationError if not text else self.expect("respond", None)
        self.attempt(
            "respond",
            expected,
            lambda: self.app.respond(str(self.case_id), text=text, expected_version=0, ctx=OFFICER),
        )

    @rule(summary=st.sampled_from(["", "Selesai."]))
    def resolve(self, summary: str) -> None:
        expected = ValidationError if not summary else self.expect("resolve", None)
        self.attempt(
            "resolve",
            expected,
            lambda: self.app.resolve(
                str(self.case_id), summary=summary, expected_version=0, ctx=OFFICER
            ),
        )

    @rule(reason=st.sampled_from(["", "Belum selesai."]))
    def reopen(self, reason: str) -> None:
        expected = ValidationError if not reason else self.expect("reopen", None)
        self.attempt(
            "reopen",
            expected,
            lambda: self.app.reopen(
                str(self.case_id), reason=reason, expected_version=0, ctx=OFFICER
            ),
        )

    @rule(reason=st.sampled_from(["", "Duplikat."]))
    def close(self, reason: str) -> None:
        expected = ValidationError if not reason else self.expect("close", None)
        self.attempt(
            "close",
            expected,
            lambda: self.app.close_case(
                str(self.case_id), reason=reason, expected_version=0, ctx=OFFICER
            ),
        )

    @rule()
    def reporter_replies(self) -> None:
        self.intake_position += 1
        before = self.status
        self.app.reporter_replied(
            self.case_id,
            upstream="intake",
            position=self.intake_position,
            ctx=CommandContext(actor=Actor.service("routing")),
        )
        self.status = self.case.status
        if before is CaseStatus.RESOLVED:
            assert self.status is CaseStatus.IN_PROGRESS
        else:
            assert self.status is before

    @rule(hours=st.integers(min_value=1, max_value=24 * 20))
    def time_passes(self, hours: int) -> None:
        before_status, before_holder = self.status, self.holder
        self.clock.current += dt.timedelta(hours=hours)
        self.app.enforce_deadlines()
        case = self.case
        if case.holder != before_holder:
            # The ticker only ever escalates to the parent office, and never out of the
            # independent Inspectorate.
            assert case.holder == REGISTRY.require(before_holder).parent_code
            assert not REGISTRY.oversight.is_independent(before_holder)
            assert case.status is CaseStatus.ASSIGNED
        if case.status != before_status:
            assert (before_status, case.status) in {
                (CaseStatus.RESOLVED, CaseStatus.CLOSED),
                (CaseStatus.IN_PROGRESS, CaseStatus.ASSIGNED),
            }
        self.status, self.holder = case.status, case.holder

    @invariant()
    def the_case_is_in_a_legal_state(self) -> None:
        case = self.case
        assert case.status is self.status
        assert case.holder == self.holder
        assert case.holder in REGISTRY
        assert case.custody[-1]["office"] == case.holder
        for earlier, later in zip(case.custody, case.custody[1:], strict=False):
            assert earlier["handed_to"] == later["office"]
            assert later["received_from"] == earlier["office"]
        if case.status is CaseStatus.RESOLVED:
            assert case.auto_close_due is not None
        if case.status is CaseStatus.IN_PROGRESS:
            assert case.accept_due is None
        assert case.reassignment_count == len(case.custody) - 1
        notifications = self.app.read_notifications(0, 100_000)
        assert [n.id for n in notifications] == list(range(1, len(notifications) + 1))
        assert len(notifications) == case.version


CaseMachine.TestCase.settings = settings(
    max_examples=60,
    stateful_step_count=30,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestCaseWorkflow = CaseMachine.TestCase
