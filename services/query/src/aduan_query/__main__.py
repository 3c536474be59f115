"""Composition root of the query service."""

from __future__ import annotations

import asyncio

import grpc
from sqlalchemy import Engine, text

from aduan.core.settings import WRITE_SERVICES, ServiceSettings
from aduan.eventstore.leader import leadership_for, lock_key
from aduan.messaging.jetstream import NatsLink
from aduan.service.auth import ServiceAuth
from aduan.service.backbone import upstream_consumer
from aduan.service.health import HealthCheck
from aduan.service.runtime import ServiceRuntime, run_service
from aduan.v1 import query_pb2, query_pb2_grpc
from aduan_query.projector import Projector
from aduan_query.readmodels import make_engine, migrate
from aduan_query.rebuild import Rebuilder
from aduan_query.servicer import QUERY_POLICY, QueryServicer
from aduan_query.views import ComplaintQueries, ProgressWaiter

SERVICE = "query"


def migrate_exclusively(engine: Engine) -> None:
    """Run the migrations; on PostgreSQL under an advisory lock, so replicas starting together
    do not race."""
    if engine.dialect.name != "postgresql":
        migrate(engine)
        return
    key = lock_key("aduan:query:migrations")
    with engine.connect() as conn:
        conn.execute(text("SELECT pg_advisory_lock(:key)"), {"key": key})
        try:
            migrate(engine)
        finally:
            conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})
            conn.commit()


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    auth = ServiceAuth.from_settings(settings)
    engine = make_engine(settings.store_url)
    projector = Projector(engine)
    link = NatsLink(settings)
    # Replicas share the read models on PostgreSQL: one projects, all answer queries.
    leadership = leadership_for(settings.store_url, "aduan:query:projector")
    consumer, reader = upstream_consumer(
        settings,
        auth,
        link,
        leadership,
        durable="query-projector",
        upstreams=WRITE_SERVICES,
        processor=projector,
    )
    rebuilder = Rebuilder(engine, reader, WRITE_SERVICES, live=projector)
    servicer = QueryServicer(
        ComplaintQueries(engine), ProgressWaiter(projector), projector, rebuilder
    )

    def register(server: grpc.aio.Server) -> None:
        query_pb2_grpc.add_QueryServicer_to_server(servicer, server)

    async def migrate_read_models() -> None:
        await asyncio.to_thread(migrate_exclusively, engine)

    async def read_models_reachable() -> bool:
        def ping() -> None:
            with engine.connect() as conn:
                conn.execute(text("SELECT 1"))

        await asyncio.to_thread(ping)  # the check's runner applies the timeout
        return True

    async def close() -> None:
        await reader.close()
        engine.dispose()

    return ServiceRuntime(
        settings=settings,
        service_names=[query_pb2.DESCRIPTOR.services_by_name["Query"].full_name],
        registrars=[register],
        workers=[leadership, link, consumer],
        # Queries are answered from the read models alone, so they gate readiness. NATS feeds
        # the projector: while it is down the answers grow stale (aduan_consumer_upstream_lag)
        # but are still answers. See docs/operations.md, Probes.
        health_checks=[
            HealthCheck("read-models", read_models_reachable, gates_readiness=True),
            HealthCheck("nats", link.healthy, gates_readiness=False),
        ],
        # Migrations run with the ports open: `startup` answers NOT_SERVING until they are done
        # (waiting for another replica's migration lock, or for the database).
        startup_hooks=[migrate_read_models],
        shutdown_hooks=[link.drain, close],
        policies=[QUERY_POLICY],
        auth=auth,
    )


def main(argv: list[str] | None = None) -> None:
    run_service(
        SERVICE,
        "Aduan query service (gRPC aduan.v1.Query): read models, audit trail, statistics; see docs/operations.md.",
        build_runtime,
        argv,
    )


if __name__ == "__main__":
    main()
