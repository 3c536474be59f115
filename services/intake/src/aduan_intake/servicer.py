"""gRPC adapter for aduan.v1.Intake: request messages in, application calls, responses out.

Callers authenticate with a bearer token (`aduan.service.auth`); `INTAKE_POLICY` says which roles may
call which RPC, and the two reveals (`GetReporterContact`, `RevealComplaintText`) check the caller
against the holding office and the reveal's purpose themselves (`aduan_intake.reveals`). The
token's subject becomes the actor recorded on the events.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import grpc

from aduan.core.context import CommandContext
from aduan.core.errors import PermissionDeniedError
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.reference.offices import default_registry
from aduan.service.auth import (
    ADMIN,
    FILERS,
    OFFICER,
    SERVICE,
    SUPERVISOR,
    Access,
    Principal,
    access,
    command_context,
    current_principal,
    policy,
)
from aduan.service.visibility import in_holding_chain
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import SERVICE as SERVICE_NAME
from aduan_intake.domain import Attachment, Channel, LandParcel
from aduan_intake.filing import FilingRequest
from aduan_intake.groupcommit import FilingGroups
from aduan_intake.reveals import (
    DEFAULT_PURPOSE,
    REVEALED_TO,
    Revealed,
    Revealer,
    RevealPurpose,
    may_reveal,
    purposes_for,
)
from aduan_intake.trackingcodes import TrackedState

# The only service identity that may see a reporter's contact: it sends their messages.
CONTACT_SERVICE = "service:notification"
# How a refusal names who may ask.
REVEALER_NAMES = {
    Revealer.CONTACT_SERVICE: CONTACT_SERVICE,
    Revealer.HOLDING_OFFICER: "officers of the holding office",
    Revealer.CHAIN_SUPERVISOR: "supervisors of the holding office or an office above it",
    Revealer.ADMIN: "administrators",
}

# Who may ask for a reveal at all, of the identity or of the words as written; which purpose
# each caller may ask for, and which purposes open the words, is `aduan_intake.reveals`.
REVEAL_ACCESS = access(SERVICE, OFFICER, SUPERVISOR, ADMIN, office_scoped=True)
INTAKE_POLICY: dict[str, Access] = policy(
    intake_pb2.DESCRIPTOR.services_by_name["Intake"].full_name,
    {
        "FileComplaint": access(*FILERS),
        "AddReporterMessage": access(*FILERS),
        "RequestStatus": access(*FILERS),
        "RequestStatusByTrackingCode": access(*FILERS),
        "WithdrawComplaint": access(*FILERS),
        "RateResolution": access(*FILERS),
        "GetReporterContact": REVEAL_ACCESS,
        "RevealComplaintText": REVEAL_ACCESS,
        "EraseReporter": access(ADMIN),
    },
)


def _channel(value: int) -> Channel | None:
    try:
        name = common_pb2.Channel.Name(value).removeprefix("CHANNEL_")
    except ValueError:
        return None
    return None if name == "UNSPECIFIED" else Channel(name)


def _reveal_purpose(value: int) -> RevealPurpose | None:
    """None for a value this intake does not know (refused by validation)."""
    try:
        name = common_pb2.RevealPurpose.Name(value).removeprefix("REVEAL_PURPOSE_")
    except ValueError:
        return None
    # Old callers do not say: they get the least a reveal returns, never the NIK.
    return DEFAULT_PURPOSE if name == "UNSPECIFIED" else RevealPurpose(name)


def _refusal(principal: Principal, purpose: RevealPurpose | None, what: Revealed) -> str:
    """Why `principal` may not see `what` for `purpose`, naming what would be allowed."""
    purposes = purposes_for(what)
    if purpose is not None and purpose not in purposes:
        named = " or ".join(sorted(p.value for p in purposes))
        allowed = frozenset().union(*(REVEALED_TO[p] for p in purposes))
        return (
            f"{principal.sub} may not see {what} for {purpose.value}: they may hold the "
            f"reporter's NIK, so they are revealed only for {named} (to {_names(allowed)})"
        )
    asked = purpose.value if purpose is not None else "that purpose"
    allowed = REVEALED_TO[purpose] if purpose is not None else frozenset()
    return f"{principal.sub} may not see {what} for {asked} (only {_names(allowed)})"


def _names(revealers: frozenset[Revealer]) -> str:
    return " or ".join(sorted(REVEALER_NAMES[r] for r in revealers)) or "nobody"


COMPLAINT_STATUSES: dict[TrackedState, common_pb2.ComplaintStatus] = {
    TrackedState.RECEIVED: common_pb2.COMPLAINT_STATUS_RECEIVED,
    TrackedState.ASSIGNED: common_pb2.COMPLAINT_STATUS_ASSIGNED,
    TrackedState.RESOLVED: common_pb2.COMPLAINT_STATUS_RESOLVED,
    TrackedState.CLOSED: common_pb2.COMPLAINT_STATUS_CLOSED,
    TrackedState.WITHDRAWN: common_pb2.COMPLAINT_STATUS_WITHDRAWN,
}


def _category(value: int) -> Category | None:
    try:
        name = common_pb2.Category.Name(value).removeprefix("CATEGORY_")
    except ValueError:
        return None
    return Category.UNCLASSIFIED if name == "UNSPECIFIED" else Category(name)


def caller_context(context: grpc.aio.ServicerContext[Any, Any]) -> CommandContext:
    """The authenticated caller as the actor, plus correlation and trace context."""
    return command_context(context.invocation_metadata())


def _attachments(items: Iterable[common_pb2.Attachment]) -> tuple[Attachment, ...]:
    return tuple(
        Attachment(uri=a.uri, media_type=a.media_type, sha256=a.sha256, caption=a.caption)
        for a in items
    )


def _position(position: int) -> common_pb2.EventPosition:
    return common_pb2.EventPosition(service=SERVICE_NAME, position=position)


class IntakeServicer(intake_pb2_grpc.IntakeServicer):
    def __init__(self, app: IntakeApplication) -> None:
        self.app = app
        self.filings = FilingGroups(app)

    async def _authorised_purpose(
        self, complaint_ref: str, value: int, what: Revealed
    ) -> RevealPurpose | None:
        """The request's reveal purpose (None: one this intake does not know, refused as
        invalid by the application), once the caller may ask for a reveal of `what` for it;
        PERMISSION_DENIED otherwise."""
        purpose = _reveal_purpose(value)
        principal = current_principal()
        revealer = await self._revealer(principal, complaint_ref)
        if may_reveal(purpose, revealer, what):
            return purpose
        raise PermissionDeniedError(_refusal(principal, purpose, what))

    async def _revealer(self, principal: Principal, complaint_ref: str) -> Revealer | None:
        """What the caller is to this complaint, for `REVEALED_TO`; None when nothing."""
        if principal.role == SERVICE:
            return Revealer.CONTACT_SERVICE if principal.sub == CONTACT_SERVICE else None
        if principal.role not in (ADMIN, OFFICER, SUPERVISOR):
            return None
        # Only a complaint: a WhatsApp conversation's sender is the notification service's alone
        # (NOT_FOUND here).
        holder = await asyncio.to_thread(self.app.holding_office, complaint_ref)
        if principal.role == ADMIN:
            return Revealer.ADMIN
        if not holder or not principal.office:
            # Not placed yet: no office's.
            return None
        if principal.role == OFFICER:
            return Revealer.HOLDING_OFFICER if principal.office == holder else None
        registry = default_registry()
        return Revealer.CHAIN_SUPERVISOR if in_holding_chain(principal, holder, registry) else None

    async def FileComplaint(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.FileComplaintRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.FileComplaintResponse:
        filing = FilingRequest(
            idempotency_key=request.idempotency_key,
            channel=_channel(request.channel),
            description=request.description,
            subject=request.subject,
            category=_category(request.category),
            location=Location(
                province_code=request.location.province_code,
                regency_code=request.location.regency_code,
                address=request.location.address,
            ),
            parcel=LandParcel(
                nib=request.parcel.nib, certificate_number=request.parcel.certificate_number
            ),
            attachments=_attachments(request.attachments),
            reporter_name=request.reporter.name,
            reporter_phone=request.reporter.phone,
            reporter_email=request.reporter.email,
            reporter_nik=request.reporter.nik,
            anonymous=request.reporter.anonymous,
            confidential=request.reporter.confidential,
            language=request.reporter.language or "id",
        )
        result = await self.filings.file(filing, caller_context(context))
        return intake_pb2.FileComplaintResponse(
            complaint_id=str(result.complaint_id),
            ticket_number=result.ticket_number,
            created=result.created,
            position=_position(result.position),
            tracking_code=result.tracking_code,
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

    async def RequestStatusByTrackingCode(  # noqa: N802 - gRPC method name
        self,
        request: intake_pb2.RequestStatusByTrackingCodeRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> intake_pb2.RequestStatusByTrackingCodeResponse:
        ctx = caller_context(context)
        tracked = await asyncio.to_thread(
            lambda: self.app.request_status_by_tracking_code(
                request.tracking_code,
                channel=_channel(request.channel),
                idempotency_key=request.idempotency_key,
                ctx=ctx,
            )
        )
        return intake_pb2.RequestStatusByTrackingCodeResponse(
            ticket_number=tracked.ticket_number,
            status=COMPLAINT_STATUSES[tracked.status],
            position=_position(tracked.position),
        )

    async def GetReporterContact(  # noqa: N802 - gRPC method name
        self,
        request: intake_pb2.GetReporterContactRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> intake_pb2.GetReporterContactResponse:
        purpose = await self._authorised_purpose(
            request.complaint_id, request.reveal_purpose, Revealed.IDENTITY
        )
        ctx = caller_context(context)
        revealed = await asyncio.to_thread(
            self.app.reveal_contact, request.complaint_id, request.purpose, ctx, purpose
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

    async def RevealComplaintText(  # noqa: N802 - gRPC method name
        self,
        request: intake_pb2.RevealComplaintTextRequest,
        context: grpc.aio.ServicerContext[Any, Any],
    ) -> intake_pb2.RevealComplaintTextResponse:
        purpose = await self._authorised_purpose(
            request.complaint_id, request.reveal_purpose, Revealed.TEXT
        )
        ctx = caller_context(context)
        revealed = await asyncio.to_thread(
            self.app.reveal_text, request.complaint_id, request.purpose, ctx, purpose
        )
        return intake_pb2.RevealComplaintTextResponse(
            subject=revealed.subject,
            description=revealed.description,
            captions=revealed.captions,
            messages=[
                intake_pb2.RevealedMessage(
                    message_id=message.message_id, text=message.text, captions=message.captions
                )
                for message in revealed.messages
            ],
            withdrawal_reason=revealed.withdrawal_reason,
            rating_comment=revealed.rating_comment,
            position=_position(revealed.position),
        )

    async def EraseReporter(  # noqa: N802 - gRPC method name
        self, request: intake_pb2.EraseReporterRequest, context: grpc.aio.ServicerContext[Any, Any]
    ) -> intake_pb2.EraseReporterResponse:
        position = await asyncio.to_thread(
            self.app.erase_reporter, request.reporter_id, request.reason, caller_context(context)
        )
        return intake_pb2.EraseReporterResponse(position=_position(position))
