"""The four services' gRPC servers in one process, wired as their composition roots wire them
(`ServiceRuntime.start()`: the production interceptors for telemetry, authentication and error
mapping, the production server options including the maximum message size), on SQLite stores in
a temporary directory, plus intake's WhatsApp webhook on a free port.

No NATS and no background workers: instead `pump()` hands every stored event to the consuming
services' processors (the same `process()` the JetStream consumers call), so that routing has
cases, notification has deliveries and query has read models. With nothing running in the
background, any change to a store is the effect of the call under test; `snapshot()` digests
every table of every store to prove a rejected call stored nothing.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import uuid
from collections.abc import Callable, Coroutine, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from aduan.contract.eventlog import EventLogServicer
from aduan.core.settings import WRITE_SERVICES, ServiceSettings
from aduan.eventstore.store import AduanApplication, store_env
from aduan.messaging.jetstream import EnvelopeProcessor
from aduan.service.auth import SERVICE, DevTokens, ServiceAuth, bearer_metadata
from aduan.service.peers import ServiceEventLogReader
from aduan.service.runtime import ServiceRuntime
from aduan.v1 import (
    common_pb2,
    eventlog_pb2,
    eventlog_pb2_grpc,
    intake_pb2,
    intake_pb2_grpc,
    notification_pb2,
    notification_pb2_grpc,
    query_pb2,
    query_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)
from aduan_intake.application import IntakeApplication
from aduan_intake.casestatus import CaseStatusProcessor
from aduan_intake.contract import translator as intake_translator
from aduan_intake.inbound import WhatsAppInbound
from aduan_intake.sealing import MasterKey
from aduan_intake.servicer import INTAKE_POLICY, IntakeServicer
from aduan_intake.webhook import WebhookServer, WebhookSettings
from aduan_notification.application import NotificationApplication
from aduan_notification.config import NotificationConfig
from aduan_notification.consumer import NotificationProcessor
from aduan_notification.contract import translator as notification_translator
from aduan_notification.servicer import NOTIFICATION_POLICY, NotificationServicer
from aduan_notification.templates import TemplateCatalog
from aduan_query.__main__ import migrate_exclusively
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine
from aduan_query.rebuild import Rebuilder
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter
from aduan_routing.application import RoutingApplication
from aduan_routing.config import RoutingConfig
from aduan_routing.consumer import IntakeReactor
from aduan_routing.contract import translator as routing_translator
from aduan_routing.servicer import ROUTING_POLICY, RoutingServicer

SECRET = "fuzz-tests-secret-0123456789abcdef-0123"
HOLDER = "KANTAH.32.73"  # Kota Bandung: where land-service complaints of 32.73 go
SUPERVISING = "KANWIL.32"
WEBHOOK_SECRET = "fuzz-app-secret"
WEBHOOK_VERIFY = "fuzz-verify-token"
T = TypeVar("T")

# Which processes serve each gRPC service.
SERVERS = {
    "aduan.v1.Intake": ("intake",),
    "aduan.v1.Routing": ("routing",),
    "aduan.v1.Notification": ("notification",),
    "aduan.v1.Query": ("query",),
    "aduan.v1.EventLog": ("intake", "routing", "notification"),
}


@dataclass
class Known:
    """Values that exist in the stores after seeding; the fuzzer mixes them into strings."""

    complaint_ids: list[str] = field(default_factory=list)
    ticket_numbers: list[str] = field(default_factory=list)
    reporter_ids: list[str] = field(default_factory=list)
    delivery_ids: list[str] = field(default_factory=list)
    strings: set[str] = field(default_factory=set)


@dataclass
class FuzzStack:
    tmp: Path
    tokens: DevTokens = field(default_factory=lambda: DevTokens(SECRET))
    known: Known = field(default_factory=Known)
    addresses: dict[str, str] = field(default_factory=dict)
    webhook_port: int = 0
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _runtimes: dict[str, ServiceRuntime] = field(default_factory=dict)
    _channels: dict[str, grpc.Channel] = field(default_factory=dict)
    apps: dict[str, AduanApplication] = field(default_factory=dict)
    eventlogs: dict[str, EventLogServicer] = field(default_factory=dict)
    consumers: dict[str, list[EnvelopeProcessor]] = field(default_factory=dict)
    _webhook: WebhookServer | None = None
    _webhook_task: Any = None
    _reader: ServiceEventLogReader | None = None
    query_engine: Any = None
    # Serialises calls with snapshots (hypothesis runs one example at a time anyway).
    lock: threading.Lock = field(default_factory=threading.Lock)

    # -- life cycle ------------------------------------------------------------------------

    def _settings(self, service: str) -> ServiceSettings:
        data = self.tmp / "data"
        data.mkdir(parents=True, exist_ok=True)
        env = {
            "ADUAN_GRPC_PORT": "0",
            "ADUAN_DATA_DIR": str(data),
            "ADUAN_METRICS_PORT": "0",
            "ADUAN_JWT_SECRET": SECRET,
            "ADUAN_WHATSAPP_APP_SECRET": WEBHOOK_SECRET,
            "ADUAN_WHATSAPP_VERIFY_TOKEN": WEBHOOK_VERIFY,
            "ADUAN_WEBHOOK_PORT": "0",
            **{f"ADUAN_{peer.upper()}_ADDR": a for peer, a in self.addresses.items()},
        }
        return ServiceSettings.from_env(service, env)

    def run(self, coroutine: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self._loop).result(timeout)

    def start(self) -> FuzzStack:
        threading.Thread(target=self._loop.run_forever, daemon=True).start()
        self.run(self._start())
        return self

    async def _start(self) -> None:
        writers = {
            "intake": self._intake,
            "routing": self._routing,
            "notification": self._notification,
        }
        for name, build in writers.items():
            runtime = build(self._settings(name))
            await runtime.start()
            self._runtimes[name] = runtime
            self.addresses[name] = f"127.0.0.1:{runtime.bound_port}"
        runtime = self._query(self._settings("query"))
        await runtime.start()
        self._runtimes["query"] = runtime
        self.addresses["query"] = f"127.0.0.1:{runtime.bound_port}"
        assert self._webhook is not None
        self._webhook_task = asyncio.ensure_future(self._webhook.run())
        self.webhook_port = await asyncio.wait_for(self._webhook.listening(), 10)

    def _write_runtime(
        self,
        settings: ServiceSettings,
        app: AduanApplication,
        eventlog: EventLogServicer,
        service_name: str,
        register: Callable[[grpc.aio.Server], None],
        policy: Any,
    ) -> ServiceRuntime:
        self.apps[settings.service] = app
        self.eventlogs[settings.service] = eventlog

        def register_eventlog(server: grpc.aio.Server) -> None:
            eventlog_pb2_grpc.add_EventLogServicer_to_server(eventlog, server)

        return ServiceRuntime(
            settings=settings,
            service_names=[service_name, "aduan.v1.EventLog"],
            registrars=[register, register_eventlog],
            policies=[policy],
            auth=ServiceAuth.from_settings(settings),
        )

    def _intake(self, settings: ServiceSettings) -> ServiceRuntime:
        app = IntakeApplication(
            env=store_env(settings.store_url, "intake"), master_key=MasterKey.from_setting(None)
        )
        servicer = IntakeServicer(app)
        self._webhook = WebhookServer(
            WhatsAppInbound(app), WebhookSettings.from_extra(settings.extra, "127.0.0.1")
        )
        self.consumers.setdefault("routing", []).append(CaseStatusProcessor(app))
        return self._write_runtime(
            settings,
            app,
            EventLogServicer(app, intake_translator()),
            "aduan.v1.Intake",
            lambda server: intake_pb2_grpc.add_IntakeServicer_to_server(servicer, server),
            INTAKE_POLICY,
        )

    def _routing(self, settings: ServiceSettings) -> ServiceRuntime:
        config = RoutingConfig.from_extra(settings.extra)
        app = RoutingApplication(env=store_env(settings.store_url, "routing"), policy=config.policy)
        servicer = RoutingServicer(app)
        self.consumers.setdefault("intake", []).append(IntakeReactor(app))
        return self._write_runtime(
            settings,
            app,
            EventLogServicer(app, routing_translator(config.policy.registry)),
            "aduan.v1.Routing",
            lambda server: routing_pb2_grpc.add_RoutingServicer_to_server(servicer, server),
            ROUTING_POLICY,
        )

    def _notification(self, settings: ServiceSettings) -> ServiceRuntime:
        config = NotificationConfig.from_extra(settings.extra)
        app = NotificationApplication(
            env=store_env(settings.store_url, "notification"),
            catalog=TemplateCatalog.load_packaged(),
            channels=config.channel_policy,
            retry_policy=config.retry,
        )
        servicer = NotificationServicer(app)
        processor = NotificationProcessor(app)
        for upstream in ("intake", "routing"):
            self.consumers.setdefault(upstream, []).append(processor)
        return self._write_runtime(
            settings,
            app,
            EventLogServicer(app, notification_translator()),
            "aduan.v1.Notification",
            lambda server: notification_pb2_grpc.add_NotificationServicer_to_server(
                servicer, server
            ),
            NOTIFICATION_POLICY,
        )

    def _query(self, settings: ServiceSettings) -> ServiceRuntime:
        engine = make_engine(settings.store_url)
        migrate_exclusively(engine)
        self.query_engine = engine
        projector = Projector(engine)
        for upstream in WRITE_SERVICES:
            self.consumers.setdefault(upstream, []).append(projector)
        auth = ServiceAuth.from_settings(settings)
        self._reader = ServiceEventLogReader(
            {name: self.addresses[name] for name in WRITE_SERVICES}, settings, auth
        )
        rebuilder = Rebuilder(engine, self._reader, WRITE_SERVICES, live=projector)
        servicer = QueryServicer(
            ComplaintQueries(engine), ProgressWaiter(projector), projector, rebuilder
        )
        return ServiceRuntime(
            settings=settings,
            service_names=["aduan.v1.Query"],
            registrars=[
                lambda server: query_pb2_grpc.add_QueryServicer_to_server(servicer, server)
            ],
            policies=[QUERY_POLICY],
            auth=auth,
        )

    def stop(self) -> None:
        for channel in self._channels.values():
            channel.close()

        async def shutdown() -> None:
            if self._webhook is not None:
                self._webhook.stop()
                await asyncio.wait_for(self._webhook_task, 10)
            if self._reader is not None:
                await self._reader.close()
            for runtime in self._runtimes.values():
                await runtime.shutdown()
            for app in self.apps.values():
                app.close()
            if self.query_engine is not None:
                self.query_engine.dispose()

        try:
            self.run(shutdown())
        finally:
            self._loop.call_soon_threadsafe(self._loop.stop)

    # -- calling -----------------------------------------------------------------------------

    def channel(self, service: str) -> grpc.Channel:
        if service not in self._channels:
            # The client sends anything: the server's limit is what is under test.
            self._channels[service] = grpc.insecure_channel(
                self.addresses[service],
                options=[
                    ("grpc.max_send_message_length", -1),
                    ("grpc.max_receive_message_length", -1),
                ],
            )
        return self._channels[service]

    def bearer(self, role: str | list[str], office: str = "", sub: str = "") -> Any:
        return bearer_metadata(self.tokens.issue(role, office, sub or f"{role}:fuzz"))

    def serving(self, service: str) -> bool:
        reply = health_pb2_grpc.HealthStub(self.channel(service)).Check(
            health_pb2.HealthCheckRequest(service=""), timeout=5
        )
        return bool(reply.status == health_pb2.HealthCheckResponse.SERVING)

    def canary(self, service: str) -> None:
        """An ordinary authenticated call that must still succeed (raises otherwise)."""
        if service == "query":
            query_pb2_grpc.QueryStub(self.channel(service)).GetStats(
                query_pb2.GetStatsRequest(), metadata=self.bearer("auditor"), timeout=10
            )
        else:
            eventlog_pb2_grpc.EventLogStub(self.channel(service)).GetHead(
                eventlog_pb2.GetHeadRequest(), metadata=self.bearer("auditor"), timeout=10
            )

    # -- state -------------------------------------------------------------------------------

    def heads(self) -> dict[str, int]:
        return {name: self.apps[name].head_position() for name in WRITE_SERVICES}

    def snapshot(self) -> dict[str, str]:
        """A digest of every table of every store (write services' events, side tables, tracking
        records; query's read models)."""
        digests = {}
        for path in sorted((self.tmp / "data").glob("*.sqlite")):
            digest = hashlib.sha256()
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                tables = [
                    row[0]
                    for row in db.execute(
                        "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name"
                    )
                ]
                for table in tables:
                    rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
                    digest.update(table.encode())
                    for row in sorted(rows, key=repr):
                        digest.update(repr(row).encode())
            db.close()
            digests[path.stem] = digest.hexdigest()
        return digests

    def table_counts(self) -> dict[str, int]:
        counts = {}
        for path in sorted((self.tmp / "data").glob("*.sqlite")):
            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as db:
                for (table,) in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'"):
                    (count,) = db.execute(f'SELECT count(*) FROM "{table}"').fetchone()
                    counts[f"{path.stem}.{table}"] = count
            db.close()
        return counts

    def pump(self) -> int:
        """Hands every stored event not yet processed to the consuming processors, in order,
        until nothing new is produced. Returns the number of deliveries made."""

        async def rounds() -> int:
            delivered = 0
            progress = True
            while progress:
                progress = False
                for upstream in WRITE_SERVICES:
                    processors = self.consumers.get(upstream, [])
                    async for envelope in self.eventlogs[upstream].read(0):
                        for processor in processors:
                            done = await asyncio.to_thread(processor.last_position, upstream)
                            if envelope.position > done:
                                await asyncio.to_thread(processor.process, envelope)
                                delivered += 1
                                progress = True
            return delivered

        return self.run(rounds(), timeout=120)

    # -- seeding -----------------------------------------------------------------------------

    def seed(self) -> None:
        """Complaints in several states, delivered downstream, and their ids remembered."""
        intake = intake_pb2_grpc.IntakeStub(self.channel("intake"))
        routing = routing_pb2_grpc.RoutingStub(self.channel("routing"))
        gateway = self.bearer("gateway", sub="gateway:fuzz")
        officer = self.bearer("officer", HOLDER, sub="officer:fuzz")
        filed = []
        for n, (anonymous, confidential) in enumerate(
            [(False, False), (False, False), (False, True), (True, False), (False, False)]
        ):
            reporter = (
                intake_pb2.Reporter(anonymous=True)
                if anonymous
                else intake_pb2.Reporter(
                    name="Dewi Lestari",
                    phone=f"0813777788{n:02d}",
                    email=f"dewi{n}@contoh.id",
                    confidential=confidential,
                )
            )
            reply = intake.FileComplaint(
                intake_pb2.FileComplaintRequest(
                    idempotency_key=f"fuzz-seed-{n}-{uuid.uuid4()}",
                    channel=common_pb2.CHANNEL_WEB,
                    category=common_pb2.CATEGORY_LAND_SERVICE,
                    reporter=reporter,
                    location=common_pb2.Location(province_code="32", regency_code="32.73"),
                    subject="Sertifikat belum terbit",
                    description="Sertifikat tanah saya belum terbit setelah enam bulan.",
                ),
                metadata=gateway,
                timeout=10,
            )
            filed.append(reply)
        self.pump()
        first, second, _, _, fifth = (r.complaint_id for r in filed)
        routing.AcceptCase(
            routing_pb2.AcceptCaseRequest(complaint_id=first), metadata=officer, timeout=10
        )
        routing.RespondToReporter(
            routing_pb2.RespondToReporterRequest(
                complaint_id=first, text="Berkas Anda sedang kami periksa."
            ),
            metadata=officer,
            timeout=10,
        )
        routing.AcceptCase(
            routing_pb2.AcceptCaseRequest(complaint_id=second), metadata=officer, timeout=10
        )
        routing.ResolveCase(
            routing_pb2.ResolveCaseRequest(
                complaint_id=second, summary="Sertifikat telah terbit dan dapat diambil."
            ),
            metadata=officer,
            timeout=10,
        )
        routing.ReassignCase(
            routing_pb2.ReassignCaseRequest(
                complaint_id=fifth,
                kind=common_pb2.REASSIGNMENT_KIND_ESCALATE,
                to_office_code=SUPERVISING,
                reason_code=common_pb2.REASON_CODE_NEEDS_HIGHER_AUTHORITY,
                note="Perlu keputusan Kanwil.",
            ),
            metadata=officer,
            timeout=10,
        )
        self.pump()
        known = self.known
        known.complaint_ids = [r.complaint_id for r in filed]
        known.ticket_numbers = [r.ticket_number for r in filed]
        service = self.bearer(SERVICE, sub="service:notification")
        for complaint_id in known.complaint_ids:
            try:
                contact = intake.GetReporterContact(
                    intake_pb2.GetReporterContactRequest(
                        complaint_id=complaint_id, purpose="fuzz seeding"
                    ),
                    metadata=service,
                    timeout=10,
                )
                known.reporter_ids.append(contact.reporter_id)
            except grpc.RpcError:
                pass  # anonymous: no reporter
            deliveries = notification_pb2_grpc.NotificationStub(
                self.channel("notification")
            ).ListDeliveries(
                notification_pb2.ListDeliveriesRequest(complaint_id=complaint_id),
                metadata=self.bearer("admin"),
                timeout=10,
            )
            known.delivery_ids += [d.delivery_id for d in deliveries.deliveries]
        self.pump()
        known.strings = {
            *known.complaint_ids,
            *known.ticket_numbers,
            *known.reporter_ids,
            *known.delivery_ids,
            HOLDER,
            SUPERVISING,
            "KANTAH.32.01",
            "PUSAT.IP3",
            "32",
            "32.73",
            "id",
            "en",
            "intake",
            "routing",
            "notification",
            "complaint_filed",
            "case_assigned",
            "officer_response",
            "status_reply",
            "081234567890",
            "+6281234567890",
            "warga@contoh.id",
            "3273012345678901",
            "12345678901234",
            "fuzz-key",
        }
        assert known.delivery_ids, "seeding made no deliveries"


def iterate_rpcs() -> Iterator[Any]:
    import importlib
    import pkgutil

    import aduan.v1

    for module in pkgutil.iter_modules(aduan.v1.__path__):
        if not module.name.endswith("_pb2"):
            continue
        descriptor = importlib.import_module(f"aduan.v1.{module.name}").DESCRIPTOR
        for service in descriptor.services_by_name.values():
            yield from service.methods
