"""gRPC adapter for aduan.v1.Intake: request messages in, application calls, responses out."""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from aduan.context import Actor, ActorKind, CommandContext
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc
from aduan_intake.application import FilingRequest, IntakeApplication
from aduan_intake.contract import SERVICE
from aduan_intake.domain import Category, Channel


def _channel(value: int) -> Channel:
    name = common_pb2.Channel.Name(value).removeprefix("CHANNEL_")
    if name == "UNSPECIFIED":
        from aduan.errors import FieldViolation, ValidationError

        raise ValidationError(FieldViolation("channel", "required"))
    return Channel(name)


def _category(value: int) -> Category:
    name = common_pb2.Category.Name(value).removeprefix("CATEGORY_")
    return Category.UNCLASSIFIED if name == "UNSPECIFIED" else Category(name)


def caller_context(context: grpc.aio.ServicerContext[Any, Any]) -> CommandContext:
    metadata = dict(context.invocation_metadata() or ())
    actor = Actor(id=str(metadata.get("x-aduan-actor", "api")), kind=ActorKind.GATEWAY, role="gateway")
    return CommandContext(actor=actor, traceparent=str(metadata.get("traceparent", "")))


class IntakeServicer(intake_pb2_grpc.IntakeServicer):
    def __init__(self, app: IntakeApplication) -> None:
        self.app = app

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
            parcel={"nib": request.parcel.nib, "certificate_number": request.parcel.certificate_number},
            attachments=[
                {"uri": a.uri, "media_type": a.media_type, "sha256": a.sha256, "caption": a.caption}
                for a in request.attachments
            ],
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
            position=common_pb2.EventPosition(service=SERVICE, position=result.position),
        )
