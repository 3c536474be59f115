"""Fixtures for intake's tests: applications on the in-memory and SQLite stores, and the Intake
gRPC service served in-process (in a background thread, so that synchronous clients, hypothesis
and thread pools can call it)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.eventstore.store import store_env
from aduan.reference.locations import Location
from aduan.service.auth import (
    AuthInterceptor,
    DevTokens,
    TokenVerifier,
    bearer_metadata,
    with_bearer,
)
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc
from aduan_intake.application import IntakeApplication
from aduan_intake.domain import Channel
from aduan_intake.filing import FilingRequest
from aduan_intake.servicer import INTAKE_POLICY, IntakeServicer

DESCRIPTION = "Pengukuran ulang bidang tanah saya tertunda tiga bulan tanpa kabar."


@pytest.fixture
def ctx() -> CommandContext:
    return CommandContext(actor=Actor("gateway:test", ActorKind.GATEWAY, role="gateway"))


@pytest.fixture
def app() -> Iterator[IntakeApplication]:
    application = IntakeApplication(env={"PERSISTENCE_MODULE": "eventsourcing.popo"})
    yield application
    application.close()


@pytest.fixture(params=["memory", "sqlite"])
def stored_app(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[IntakeApplication]:
    """The application on each kind of store a stored event is read back from."""
    url = "memory://" if request.param == "memory" else f"sqlite:///{tmp_path / 'intake.sqlite'}"
    application = IntakeApplication(env=store_env(url, "intake"))
    yield application
    application.close()


@pytest.fixture
def sqlite_path(tmp_path: Path) -> Path:
    return tmp_path / "intake.sqlite"


@pytest.fixture
def sqlite_app(sqlite_path: Path) -> Iterator[IntakeApplication]:
    application = IntakeApplication(env=store_env(f"sqlite:///{sqlite_path}", "intake"))
    yield application
    application.close()


def _unsealed(fields: dict[str, Any]) -> dict[str, Any]:
    assert list(fields)[-2:] == ["sealed_text", "redacted"]
    assert fields["sealed_text"]  # every non-empty text is sealed
    return {k: v for k, v in fields.items() if k not in ("sealed_text", "redacted")}


@pytest.fixture
def unsealed() -> Callable[[dict[str, Any]], dict[str, Any]]:
    """A new stored event's fields without the two that events store since free text is sealed
    (the last two: the words as written, sealed, and the redaction rules that fired), so that it
    compares with an event stored before."""
    return _unsealed


@pytest.fixture
def filing() -> Callable[..., FilingRequest]:
    """A valid filing; keyword arguments override its fields."""

    def make(**overrides: Any) -> FilingRequest:
        fields: dict[str, Any] = {
            "idempotency_key": "key-1",
            "channel": Channel.WEB,
            "description": DESCRIPTION,
            "reporter_name": "Siti Aminah",
            "reporter_phone": "081298765432",
            "location": Location(province_code="32", regency_code="32.73"),
        }
        fields.update(overrides)
        return FilingRequest(**fields)

    return make


def grpc_request(**overrides: Any) -> intake_pb2.FileComplaintRequest:
    request = intake_pb2.FileComplaintRequest(
        idempotency_key="key-1",
        channel=common_pb2.CHANNEL_WEB,
        reporter=intake_pb2.Reporter(name="Siti Aminah", phone="081298765432"),
        location=common_pb2.Location(province_code="32", regency_code="32.73"),
        description=DESCRIPTION,
    )
    for name, value in overrides.items():
        if isinstance(value, dict):
            getattr(request, name).CopyFrom(type(getattr(request, name))(**value))
        else:
            setattr(request, name, value)
    return request


@pytest.fixture
def file_request() -> Callable[..., intake_pb2.FileComplaintRequest]:
    return grpc_request


class IntakeServer:
    """aduan.v1.Intake served in-process with the platform's authentication and error mapping.
    `stub` calls as a gateway that is also an administrator; `bearer(...)` makes the metadata
    of any other caller."""

    SECRET = "intake-tests-secret-of-at-least-32-bytes"

    def __init__(self, app: IntakeApplication) -> None:
        self.app = app
        self.tokens = DevTokens(self.SECRET)
        self.port = 0
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._server: grpc.aio.Server | None = None
        self.channel: grpc.Channel | None = None

    async def _start(self) -> None:
        self._server = grpc.aio.server(
            interceptors=[
                AuthInterceptor(TokenVerifier(secret=self.SECRET), [INTAKE_POLICY]),
                ErrorMappingInterceptor(),
            ]
        )
        intake_pb2_grpc.add_IntakeServicer_to_server(IntakeServicer(self.app), self._server)
        self.port = self._server.add_insecure_port("127.0.0.1:0")
        await self._server.start()

    def start(self) -> IntakeServer:
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), self._loop).result(10)
        self._plain = grpc.insecure_channel(self.address)
        self.channel = with_bearer(
            self._plain, self.tokens.issue(["gateway", "admin"], sub="gateway:test")
        )
        return self

    def bearer(self, role: str, office: str = "", sub: str = "") -> tuple[tuple[str, str]]:
        return bearer_metadata(self.tokens.issue(role, office, sub))

    def notification(self) -> tuple[tuple[str, str]]:
        """The metadata of the notification service's identity."""
        return self.bearer("service", sub="service:notification")

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def stub(self) -> intake_pb2_grpc.IntakeStub:
        assert self.channel is not None
        return intake_pb2_grpc.IntakeStub(self.channel)

    def stop(self) -> None:
        if self.channel is not None:
            self._plain.close()
        if self._server is not None:
            asyncio.run_coroutine_threadsafe(self._server.stop(0), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)


@pytest.fixture
def intake_server(sqlite_app: IntakeApplication) -> Iterator[IntakeServer]:
    server = IntakeServer(sqlite_app).start()
    yield server
    server.stop()


def stored_event_types(app: IntakeApplication, complaint_id: str = "") -> list[str]:
    """Types of the stored events (optionally of one complaint), in log order."""
    types = []
    for notification in app.read_notifications(0, 100_000):
        if complaint_id and str(notification.originator_id) != complaint_id:
            continue
        types.append(type(app.decode(notification)).__qualname__)
    return types


@pytest.fixture
def event_types() -> Callable[..., list[str]]:
    return stored_event_types
