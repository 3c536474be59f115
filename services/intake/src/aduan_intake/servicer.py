"""gRPC adapter for aduan.v1.Intake: request messages in, application calls, responses out.

Callers identify themselves with gRPC metadata until the security issue replaces it with tokens:
`x-aduan-caller` names the calling system (e.g. "gateway:oca", "service:notification") and
`x-aduan-actor` the person or agent it acts for (defaults to the caller).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable
from typing import Any

import grpc

from aduan.context import Actor, ActorKind, CommandContext
from aduan.errors import PermissionDeniedError
from aduan.telemetry import active_trace_context
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc
from aduan_intake.application import FilingRequest, IntakeApplication
from aduan_intake.contract import SERVICE
from aduan_intake.domain import Category, Channel

CALLER_HEADER = "x-aduan-caller"
ACTOR_HEADER = "x-aduan-actor"
DEFAULT_CONTACT_ALLOWLIST = frozenset({"service:notification"})


def _channel(value: int) -> Channel | None:
    try:
        name = common_pb2.Channel.Name(value).removeprefix("CHANNEL_")
    except ValueError:
        return None
    return None if name == "UNSPECIFIED" else Channel(name)


def _category(value: int) -> Category | None:
    try:
        name = common_pb2.Category.Name(value).removeprefix("CATEGORY_")
    except ValueError:
        return None
    return Category.UNCLASSIFIED if name == "UNSPECIFIED" else Category(name)


def _metadata(context: grpc.aio.ServicerContext[Any, Any]) -> dict[str, str]:
    return {str(k): str(v) for k, v in (context.invocation_metadata() or ())}


def caller_of(context: grpc.aio.ServicerContext[Any, Any]) -> str:
    return _metadata(context).get(CALLER_HEADER, "").strip()


def caller_context(context: grpc.aio.ServicerContext[Any, Any]) -> CommandContext:
    metadata = _metadata(context)
    caller = metadata.get(CALLER_HEADER, "").strip()
    is_service = caller.startswith("service:")
    actor = Actor(
        id=metadata.get(ACTOR_HEADER, "").strip() or caller or "api",
        kind=ActorKind.SERVICE if is_service else ActorKind.GATEWAY,
        role="service" if is_service else "gateway",
    )
    return CommandContext(
        actor=actor,
        correlation_id=metadata.get("x-correlation-id", "").strip() or uuid.uuid4().hex,
        causation_id=metadata.get("x-request-id", "").strip(),
        **active_trace_context(metadata),
    )


def _attachments(items: Iterable[common_pb2.Attachment]) -> list[dict[str, str]]:
    return [
        {"uri": a.uri, "media_type": a.media_type, "sha256": a.sha256, "caption": a.caption}
        for a in items
    ]


def _position(position: int) -> common_pb2.EventPosition:
    return common_pb2.EventPosition(service=SERVICE, position=position)


class IntakeServicer(intake_pb2_grpc.IntakeServicer):
    def __init__(
        self,
        app: IntakeApplication,
        contact_allowlist: frozenset[str] = DEFAULT_CONTACT_ALLOWLIST,
    ) -> None:
        self.app = app
        self.contact_allowlist = contact_allowlist

    async def FileComplaint(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.FileComplaintRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.FileComplaintResponse:
        filing = FilingRequest(
            idempotency_key=request.idempotency_key,
            channel=_channel(request.channel),
            description=request.description,
            subject=request.subject,
            category=_category(request.category),
            location={
                "province_code": request.location.province_code,
                "regency_code": request.location.regency_code,
                "address": request.location.address,
            },
            parcel={
                "nib": request.parcel.nib,
                "certificate_number": request.parcel.certificate_number,
            },
            attachments=_attachments(request.attachments),
            reporter_name=request.reporter.name,
            reporter_phone=request.reporter.phone,
            reporter_email=request.reporter.email,
            reporter_nik=request.reporter.nik,
            anonymous=request.reporter.anonymous,
            confidential=request.reporter.confidential,
            language=request.reporter.language or "id",
        )
        result = await asyncio.to_thread(self.app.file_complaint, filing, caller_context(context))
        return intake_pb2.FileComplaintResponse(
            complaint_id=str(result.complaint_id),
            ticket_number=result.ticket_number,
            created=result.created,
            position=_position(result.position),
        )

    async def AddReporterMessage(  # noqa: N802 - gRPC method name
        self,
        request: intake_pb2.AddReporterMessageRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> intake_pb2.AddReporterMessageResponse:
        ctx = caller_context(context)
        result = await asyncio.to_thread(
            lambda: self.app.add_reporter_message(
                request.complaint_id,
                idempotency_key=request.idempotency_key,
                channel=_channel(request.channel),
                text=request.text,
                attachments=_attachments(request.attachments),
                ctx=ctx,
            )
        )
        return intake_pb2.AddReporterMessageResponse(
            message_id=result.message_id,
            created=result.created,
            position=_position(result.position),
        )

    async def WithdrawComplaint(  # noqa: N802 - gRPC method name
        self,
        request: intake_pb2.WithdrawComplaintRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> intake_pb2.WithdrawComplaintResponse:
        position = await asyncio.to_thread(
            self.app.withdraw_complaint,
            request.complaint_id,
            request.reason,
            caller_context(context),
        )
        return intake_pb2.WithdrawComplaintResponse(position=_position(position))

    async def RateResolution(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.RateResolutionRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.RateResolutionResponse:
        position = await asyncio.to_thread(
            self.app.rate_resolution,
            request.complaint_id,
            request.rating,
            request.comment,
            caller_context(context),
        )
        return intake_pb2.RateResolutionResponse(position=_position(position))

    async def RequestStatus(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.RequestStatusRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.RequestStatusResponse:
        ctx = caller_context(context)
        position = await asyncio.to_thread(
            lambda: self.app.request_status(
                request.complaint_id,
                channel=_channel(request.channel),
                idempotency_key=request.idempotency_key,
                ctx=ctx,
            )
        )
        return intake_pb2.RequestStatusResponse(position=_position(position))

    async def GetReporterContact(  # noqa: N802 - gRPC method name
        self,
        request: intake_pb2.GetReporterContactRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> intake_pb2.GetReporterContactResponse:
        caller = caller_of(context)
        if caller not in self.contact_allowlist:
            # Until real authorisation arrives, the allow-list is the policy (ADUAN_CONTACT_ALLOWLIST).
            raise PermissionDeniedError(f"caller {caller or '(anonymous)'!r} may not see contacts")
        ctx = caller_context(context)
        revealed = await asyncio.to_thread(
            self.app.reveal_contact, request.complaint_id, request.purpose, ctx
        )
        identity = revealed.identity
        return intake_pb2.GetReporterContactResponse(
            reporter_id=revealed.reporter_id,
            name=identity.name,
            phone=identity.phone,
            email=identity.email,
            nik=identity.nik,
            language=identity.language,
            position=_position(revealed.position),
        )

    async def EraseReporter(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.EraseReporterRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.EraseReporterResponse:
        position = await asyncio.to_thread(
            self.app.erase_reporter, request.reporter_id, request.reason, caller_context(context)
        )
        return intake_pb2.EraseReporterResponse(position=_position(position))


def parse_allowlist(value: str | None) -> frozenset[str]:
    """ADUAN_CONTACT_ALLOWLIST: comma-separated caller ids; unset means the default."""
    if value is None:
        return DEFAULT_CONTACT_ALLOWLIST
    return frozenset(item.strip() for item in value.split(",") if item.strip())
