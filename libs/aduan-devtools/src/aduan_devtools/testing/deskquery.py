"""The desk in front of the real query service in-process, for the desk's tests: a projected
history (Kota Bandung misses an accept deadline and bounces a case up to KANWIL.32; Kabupaten
Bandung accepts in time), the service's own token checks, the desk's gRPC backend and an HTTP
client of the desk (same event loop, so no threads)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import httpx

from aduan.core.settings import TlsSettings
from aduan.service.auth import AuthInterceptor, DevTokens, TokenVerifier, bearer_metadata
from aduan.service.grpcerrors import ErrorMappingInterceptor
from aduan.v1 import common_pb2, events_pb2, query_pb2_grpc
from aduan_desk import supervision
from aduan_desk.app import build_app
from aduan_desk.backend import GrpcBackend
from aduan_desk.settings import DeskSettings
from aduan_devtools.natsserver import free_port
from aduan_devtools.testing.query import History, file_complaint, office, officer, ts
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter

SECRET = "desk-supervision-tests-secret-0123456789"
NOW = datetime(2026, 11, 30, 3, 0, tzinfo=UTC)
KANWIL, BANDUNG, KAB_BANDUNG = "KANWIL.32", "KANTAH.32.73", "KANTAH.32.04"


def history() -> History:
    """Kota Bandung misses an accept deadline and bounces a case up to the Kanwil; Kabupaten
    Bandung accepts in time."""
    h = History()
    late, _ = file_complaint(h, NOW - timedelta(days=10), "32.73", ticket="ADU-LATE")
    h.add(
        NOW - timedelta(days=10, minutes=-1),
        late,
        events_pb2.CaseRouted(to_office=office(BANDUNG), accept_due=ts(NOW - timedelta(days=7))),
    )
    on_time, _ = file_complaint(h, NOW - timedelta(days=9), "32.04", ticket="ADU-ONTIME")
    h.add(
        NOW - timedelta(days=9, minutes=-1),
        on_time,
        events_pb2.CaseRouted(
            to_office=office(KAB_BANDUNG), accept_due=ts(NOW - timedelta(days=6))
        ),
    )
    h.add(
        NOW - timedelta(days=8),
        on_time,
        events_pb2.CaseAccepted(
            office=office(KAB_BANDUNG), response_due=ts(NOW + timedelta(days=20))
        ),
        officer(KAB_BANDUNG, 1),
    )
    bounced, _ = file_complaint(h, NOW - timedelta(days=5), "32.73", ticket="ADU-UP")
    h.add(
        NOW - timedelta(days=5, minutes=-1),
        bounced,
        events_pb2.CaseRouted(to_office=office(BANDUNG), accept_due=ts(NOW - timedelta(days=2))),
    )
    h.add(
        NOW - timedelta(days=4),
        bounced,
        events_pb2.CaseReassigned(
            kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
            from_office=office(BANDUNG),
            to_office=office(KANWIL),
            reason_code=common_pb2.REASON_CODE_NEEDS_HIGHER_AUTHORITY,
            accept_due=ts(NOW + timedelta(days=1)),
        ),
        officer(BANDUNG, 2),
    )
    h.seal()
    return h


@dataclass
class Desk:
    client: httpx.AsyncClient
    query: query_pb2_grpc.QueryStub

    async def sign_in(self, role: str, office_code: str) -> None:
        page = await self.client.get("/signin")
        match = re.search(r'name="csrf" value="([^"]+)"', page.text)
        assert match, page.text
        answer = await self.client.post(
            "/signin", data={"csrf": match[1], "role": role, "office": office_code}
        )
        assert answer.status_code == 303, answer.text

    async def stats(self, role: str, office_code: str, **fields: object) -> dict[str, object]:
        token = DevTokens(SECRET).issue(role, office_code)
        start = NOW - timedelta(weeks=supervision.DEFAULT_WEEKS)
        request = supervision.stats_request(office_code, start, NOW, NOW)
        response = await self.query.GetStats(request, metadata=bearer_metadata(token))
        return {row.office_code: row for row in response.offices}


@asynccontextmanager
async def served_desk(tmp_path: Path) -> AsyncIterator[Desk]:
    engine = make_engine(f"sqlite:///{tmp_path / 'query.sqlite'}")
    migrate(engine)
    projector = Projector(engine)
    for envelope in history().in_history_order():
        projector.process(envelope)
    server = grpc.aio.server(
        interceptors=[
            AuthInterceptor(TokenVerifier(secret=SECRET), [QUERY_POLICY]),
            ErrorMappingInterceptor(),
        ]
    )
    query_pb2_grpc.add_QueryServicer_to_server(
        QueryServicer(ComplaintQueries(engine, clock=lambda: NOW), ProgressWaiter(projector)),
        server,
    )
    port = free_port()
    address = f"127.0.0.1:{port}"
    server.add_insecure_port(address)
    await server.start()
    settings = DeskSettings.from_env({"ADUAN_AUTH_DEV": "true", "ADUAN_JWT_SECRET": SECRET})
    backend = GrpcBackend({"query": address, "routing": address, "intake": address}, TlsSettings())
    await backend.start()
    channel = grpc.aio.insecure_channel(address)
    app = build_app(settings, backend, clock=lambda: NOW)
    transport = httpx.ASGITransport(app=app)
    try:
        async with httpx.AsyncClient(transport=transport, base_url="http://desk") as client:
            yield Desk(client, query_pb2_grpc.QueryStub(channel))
    finally:
        await channel.close()
        await backend.close()
        await server.stop(grace=None)
        engine.dispose()
