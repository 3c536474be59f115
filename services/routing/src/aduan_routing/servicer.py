"""gRPC adapter for aduan.v1.Routing: request messages in, application calls, responses out.

Callers authenticate with a bearer token (`aduan.service.auth`); `ROUTING_POLICY` names the roles per
RPC and `aduan.service.visibility` limits officers to cases their office holds and supervisors to their
office and the offices below it (an overseeing Pusat supervisor: every office, sealed cases
outside their chain aside). W3C `traceparent`/`tracestate`
are carried onto the stored events.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from collections.abc import Callable
from typing import Any, Protocol

import grpc

from aduan.contract.envelopes import timestamp
from aduan.core.context import CommandContext
from aduan.core.errors import (
    ConcurrencyConflictError,
    FieldViolation,
    NotFoundError,
    PermissionDeniedError,
    ValidationError,
)
from aduan.reference.categories import Category
from aduan.reference.offices import Office, OfficeLevel
from aduan.service.auth import (
    ADMIN,
    ANYONE,
    AUDITOR,
    OFFICER,
    SERVICE,
    SUPERVISOR,
    Access,
    access,
    command_context,
    current_principal,
    policy,
)
from aduan.service.visibility import may_act, may_see_case
from aduan.v1 import common_pb2, routing_pb2, routing_pb2_grpc
from aduan_routing.application import CommandResult, RoutingApplication
from aduan_routing.contract import SERVICE as SERVICE_NAME
from aduan_routing.contract import location_message, location_of, office_level, office_ref
from aduan_routing.domain import Case, ReasonCode, ReassignmentKind, Scope

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500


_CASE_WORK = access(OFFICER, SUPERVISOR, office_scoped=True)

ROUTING_POLICY: dict[str, Access] = policy(
    routing_pb2.DESCRIPTOR.services_by_name["Routing"].full_name,
    {
        "GetCase": access(OFFICER, SUPERVISOR, AUDITOR, ADMIN, SERVICE, office_scoped=True),
        "ClassifyComplaint": _CASE_WORK,
        "AcceptCase": _CASE_WORK,
        "ReassignCase": _CASE_WORK,
        "RespondToReporter": _CASE_WORK,
        "ResolveCase": _CASE_WORK,
        "ReopenCase": _CASE_WORK,
        "CloseCase": _CASE_WORK,
        "ListOffices": access(*ANYONE),
        "GetRoutingRules": access(*ANYONE),
    },
)


def caller_context(context: grpc.aio.ServicerContext[Any, Any]) -> CommandContext:
    """The authenticated caller as the actor, plus correlation and trace context."""
    return command_context(context.invocation_metadata())


def _enum_name(enum: Any, value: int, prefix: str) -> str:
    try:
        return str(enum.Name(value)).removeprefix(prefix)
    except ValueError:
        return "UNSPECIFIED"


def _category(value: int) -> Category | None:
    name = _enum_name(common_pb2.Category, value, "CATEGORY_")
    return None if name == "UNSPECIFIED" else Category(name)


def _scope(value: int) -> Scope | None:
    name = _enum_name(common_pb2.Scope, value, "SCOPE_")
    return None if name == "UNSPECIFIED" else Scope(name)


def _kind(value: int) -> ReassignmentKind | None:
    name = _enum_name(common_pb2.ReassignmentKind, value, "REASSIGNMENT_KIND_")
    return None if name == "UNSPECIFIED" else ReassignmentKind(name)


def _reason(value: int) -> ReasonCode | None:
    name = _enum_name(common_pb2.ReasonCode, value, "REASON_CODE_")
    return None if name == "UNSPECIFIED" else ReasonCode(name)


def case_state(app: RoutingApplication, case: Case) -> routing_pb2.CaseState:
    deadlines = routing_pb2.SlaDeadlines()
    for name in ("accept_due", "response_due", "resolution_due", "auto_close_due"):
        value = getattr(case, name)
        if value is not None:
            getattr(deadlines, name).CopyFrom(timestamp(value))
    status = case.status.value if case.status else "RECEIVED"
    return routing_pb2.CaseState(
        complaint_id=str(case.id),
        ticket_number=case.ticket_number,
        status=f"COMPLAINT_STATUS_{status}",
        holding_office=office_ref(app.registry, case.holder),
        category=f"CATEGORY_{case.category.value}",
        location=location_message(case.location),
        scope=f"SCOPE_{case.scope.value}",
        deadlines=deadlines,
        breached=[f"SLA_KIND_{k.value}" for k in case.breached],
        reassignment_count=case.reassignment_count,
        ping_pong_flagged=case.ping_pong_flagged,
        confidential=case.confidential,
        version=case.version,
        opened_at=timestamp(case.opened_at),
        updated_at=timestamp(case.updated_at),
    )


def office_message(office: Office) -> common_pb2.Office:
    return common_pb2.Office(
        code=office.code,
        level=office_level(office.level),
        name=office.name,
        parent_code=office.parent_code,
        province_codes=list(office.province_codes),
        regency_code=office.regency_code,
    )


def _page_offset(token: str) -> int:
    if not token:
        return 0
    try:
        decoded = base64.urlsafe_b64decode(token.encode()).decode()
        offset = int(decoded.removeprefix("offices:"))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        offset = -1
    if offset < 0:
        raise ValidationError(FieldViolation("page.page_token", "not a token from this service"))
    return offset


def _page_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offices:{offset}".encode()).decode()


class _CaseCommandRequest(Protocol):
    complaint_id: str
    expected_version: int


class RoutingServicer(routing_pb2_grpc.RoutingServicer):
    def __init__(self, app: RoutingApplication) -> None:
        self.app = app

    async def _may_act(self, complaint_ref: str, expected_version: int) -> None:
        """Refuses unless the caller may act on the case; then refuses a stale
        `expected_version` (ABORTED), as the application would. The office comes first: a
        version conflict would tell a caller who may not act on the case that it exists (a
        sealed case outside their chain) and how far it has moved."""
        principal = current_principal()
        case = await asyncio.to_thread(self.app.get_case, complaint_ref)
        if not may_act(
            principal,
            case.holder,
            self.app.registry,
            category=case.category.value,
            confidential=case.confidential,
        ):
            raise PermissionDeniedError(
                f"{principal.sub} ({principal.role} of {principal.office or 'no office'}) may not "
                f"act on a case held by {case.holder or 'no office'}"
            )
        if expected_version and expected_version != case.version:
            raise ConcurrencyConflictError(
                f"case {complaint_ref} is at version {case.version}, not {expected_version}"
            )

    async def _command(
        self,
        request: _CaseCommandRequest,
        context: grpc.aio.ServicerContext[Any, Any],
        call: Callable[[CommandContext], CommandResult],
    ) -> routing_pb2.CaseCommandResponse:
        """A command on one case: refused unless the caller may act on it (`_may_act`), then
        run with the caller as the actor; answers the case as it now stands."""
        await self._may_act(request.complaint_id, request.expected_version)
        ctx = caller_context(context)
        result = await asyncio.to_thread(call, ctx)
        return routing_pb2.CaseCommandResponse(
            state=case_state(self.app, result.case),
            position=common_pb2.EventPosition(service=SERVICE_NAME, position=result.position),
        )

    async def GetCase(  # noqa: N802 - gRPC method name
        self, request: routing_pb2.GetCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.GetCaseResponse:
        case = await asyncio.to_thread(self.app.get_case, request.complaint_id)
        principal = current_principal()
        category = case.category.value
        registry = self.app.registry
        if not may_see_case(
            principal, case.holder, registry, category=category, confidential=case.confidential
        ):
            if registry.oversight.is_sealed(case.holder, category, case.confidential):
                # Outside the holding chain a sealed (e.g. confidential) case does not exist.
                raise NotFoundError(f"no case for complaint {request.complaint_id!r}")
            raise PermissionDeniedError(
                f"{principal.sub} may not see cases held by {case.holder or 'no office'}"
            )
        return routing_pb2.GetCaseResponse(state=case_state(self.app, case))

    async def ClassifyComplaint(  # noqa: N802
        self,
        request: routing_pb2.ClassifyComplaintRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> routing_pb2.CaseCommandResponse:
        location = location_of(request.location) if request.HasField("location") else None
        return await self._command(
            request,
            context,
            lambda ctx: self.app.classify(
                request.complaint_id,
                category=_category(request.category),
                scope=_scope(request.scope),
                location=location,
                note=request.note,
                expected_version=request.expected_version,
                ctx=ctx,
            ),
        )

    async def AcceptCase(  # noqa: N802
        self, request: routing_pb2.AcceptCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.CaseCommandResponse:
        return await self._command(
            request,
            context,
            lambda ctx: self.app.accept(
                request.complaint_id, expected_version=request.expected_version, ctx=ctx
            ),
        )

    async def ReassignCase(  # noqa: N802
        self, request: routing_pb2.ReassignCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.CaseCommandResponse:

        def reassign(ctx: CommandContext) -> CommandResult:
            kind = _kind(request.kind)
            if kind is None:
                raise ValidationError(FieldViolation("kind", "required"))
            return self.app.reassign(
                request.complaint_id,
                kind=kind,
                to_office=request.to_office_code,
                reason_code=_reason(request.reason_code),
                note=request.note,
                expected_version=request.expected_version,
                ctx=ctx,
            )

        return await self._command(request, context, reassign)

    async def RespondToReporter(  # noqa: N802
        self,
        request: routing_pb2.RespondToReporterRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> routing_pb2.CaseCommandResponse:
        return await self._command(
            request,
            context,
            lambda ctx: self.app.respond(
                request.complaint_id,
                text=request.text,
                expected_version=request.expected_version,
                ctx=ctx,
            ),
        )

    async def ResolveCase(  # noqa: N802
        self, request: routing_pb2.ResolveCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.CaseCommandResponse:
        return await self._command(
            request,
            context,
            lambda ctx: self.app.resolve(
                request.complaint_id,
                summary=request.summary,
                expected_version=request.expected_version,
                ctx=ctx,
            ),
        )

    async def ReopenCase(  # noqa: N802
        self, request: routing_pb2.ReopenCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.CaseCommandResponse:
        return await self._command(
            request,
            context,
            lambda ctx: self.app.reopen(
                request.complaint_id,
                reason=request.reason,
                expected_version=request.expected_version,
                ctx=ctx,
            ),
        )

    async def CloseCase(  # noqa: N802
        self, request: routing_pb2.CloseCaseRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.CaseCommandResponse:
        return await self._command(
            request,
            context,
            lambda ctx: self.app.close_case(
                request.complaint_id,
                reason=request.reason,
                expected_version=request.expected_version,
                ctx=ctx,
            ),
        )

    async def ListOffices(  # noqa: N802
        self, request: routing_pb2.ListOfficesRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> routing_pb2.ListOfficesResponse:
        size = request.page.page_size or DEFAULT_PAGE_SIZE
        if size < 0:
            raise ValidationError(FieldViolation("page.page_size", "must not be negative"))
        size = min(size, MAX_PAGE_SIZE)
        offset = _page_offset(request.page.page_token)
        level_name = _enum_name(common_pb2.OfficeLevel, request.level, "OFFICE_LEVEL_")
        registry = self.app.registry
        offices = registry.list(
            level=None if level_name == "UNSPECIFIED" else OfficeLevel(level_name),
            parent_code=request.parent_code.strip(),
            province_code=request.province_code.strip(),
        )
        page = offices[offset : offset + size]
        following = offset + size
        return routing_pb2.ListOfficesResponse(
            offices=[office_message(o) for o in page],
            page=common_pb2.PageResponse(
                next_page_token=_page_token(following) if following < len(offices) else ""
            ),
            registry_version=registry.version,
        )

    async def GetRoutingRules(  # noqa: N802
        self,
        request: routing_pb2.GetRoutingRulesRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> routing_pb2.GetRoutingRulesResponse:
        rules = self.app.rules
        return routing_pb2.GetRoutingRulesResponse(
            ruleset_version=rules.version,
            rules=[
                routing_pb2.RoutingRule(
                    id=rule.id, description=rule.description, when=rule.when, route_to=rule.route_to
                )
                for rule in rules.rules
            ],
            source=rules.source,
        )
