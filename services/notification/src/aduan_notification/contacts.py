"""The reporter's contact, asked of intake at send time (docs/architecture.md, rule 4).

Never stored, never logged: `ReporterContact` hides its fields from repr, and the sender keeps
it only for the duration of one send. Intake records every reveal (ContactRevealed).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import grpc

from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc


@dataclass(frozen=True)
class ReporterContact:
    name: str = field(default="", repr=False)
    phone: str = field(default="", repr=False)
    email: str = field(default="", repr=False)
    language: str = ""


class ReporterErasedError(Exception):
    """The reporter's identity was erased: the message must not be sent."""


class ContactNotFoundError(Exception):
    """Intake knows no contact for the complaint."""


class ContactUnavailableError(Exception):
    """Intake could not answer now; the delivery is retried."""


class ContactSource(Protocol):
    async def reporter_contact(self, complaint_id: str, purpose: str) -> ReporterContact: ...

    async def close(self) -> None: ...


class IntakeContacts:
    """gRPC client of aduan.v1.Intake/GetReporterContact. The channel (from `channel_factory`,
    `aduan.service.tls.service_channel` in production) carries TLS and the notification service's own
    token, `sub: service:notification`: the one service identity intake reveals contacts to."""

    def __init__(
        self,
        address: str,
        timeout_seconds: float = 5.0,
        channel_factory: Callable[[str], grpc.aio.Channel] = grpc.aio.insecure_channel,
    ) -> None:
        self.address = address
        self.timeout_seconds = timeout_seconds
        self.channel_factory = channel_factory
        self._channel: grpc.aio.Channel | None = None

    def _stub(self) -> intake_pb2_grpc.IntakeStub:
        if self._channel is None:
            self._channel = self.channel_factory(self.address)
        return intake_pb2_grpc.IntakeStub(self._channel)

    async def reporter_contact(self, complaint_id: str, purpose: str) -> ReporterContact:
        try:
            response = await self._stub().GetReporterContact(
                intake_pb2.GetReporterContactRequest(
                    complaint_id=complaint_id,
                    purpose=purpose,
                    # A message needs the contact only; never the NIK (docs/security.md).
                    reveal_purpose=common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER,
                ),
                timeout=self.timeout_seconds,
            )
        except grpc.aio.AioRpcError as error:
            code = error.code()
            # Only the code is kept: details might quote the request.
            if code == grpc.StatusCode.FAILED_PRECONDITION:
                raise ReporterErasedError(complaint_id) from None
            if code == grpc.StatusCode.NOT_FOUND:
                raise ContactNotFoundError(complaint_id) from None
            raise ContactUnavailableError(f"intake GetReporterContact {code.name}") from None
        return ReporterContact(
            name=response.name,
            phone=response.phone,
            email=response.email,
            language=response.language,
        )

    async def close(self) -> None:
        if self._channel is not None:
            await self._channel.close()
            self._channel = None
