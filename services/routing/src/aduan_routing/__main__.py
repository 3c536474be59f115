"""Composition root of the routing service: reads settings, wires everything, serves."""

from __future__ import annotations

from datetime import UTC, datetime

import grpc

from aduan.core.settings import ServiceSettings
from aduan.eventstore.store import open_application
from aduan.service.auth import ServiceAuth
from aduan.service.backbone import WriteBackbone, upstream_consumer
from aduan.service.runtime import ServiceRuntime, Worker, run_service
from aduan.v1 import routing_pb2, routing_pb2_grpc
from aduan_routing.application import RoutingApplication
from aduan_routing.config import RoutingConfig
from aduan_routing.consumer import IntakeReactor
from aduan_routing.contract import SERVICE, translator
from aduan_routing.servicer import ROUTING_POLICY, RoutingServicer
from aduan_routing.ticker import SlaTicker

INTAKE_DURABLE = "routing-intake"


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    """Raises SettingsError when the routing data or settings are invalid."""
    config = RoutingConfig.from_extra(settings.extra)
    auth = ServiceAuth.from_settings(settings)
    app = open_application(
        settings.store_url,
        SERVICE,
        lambda env: RoutingApplication(env=env, policy=config.policy),
    )
    # The holiday tables load on first use (about a second of imports): at start, not while the
    # first filed complaint waits to be routed.
    config.policy.sla.accept_due(datetime.now(UTC))
    backbone = WriteBackbone(settings, app, translator(config.policy.registry))
    consumer, reader = upstream_consumer(
        settings,
        auth,
        backbone.link,
        backbone.leadership,
        durable=INTAKE_DURABLE,
        upstreams=["intake"],
        processor=IntakeReactor(app),
    )
    servicer = RoutingServicer(app)
    workers: list[Worker] = [*backbone.workers, consumer]
    if config.ticker_enabled:
        workers.append(
            SlaTicker(app, config.tick_seconds, is_leader=lambda: backbone.leadership.is_leader)
        )

    def register(server: grpc.aio.Server) -> None:
        routing_pb2_grpc.add_RoutingServicer_to_server(servicer, server)

    async def close_reader() -> None:
        await reader.close()

    return ServiceRuntime(
        settings=settings,
        service_names=[
            routing_pb2.DESCRIPTOR.services_by_name["Routing"].full_name,
            *backbone.service_names,
        ],
        registrars=[register, *backbone.registrars],
        workers=workers,
        health_checks=backbone.health_checks,
        shutdown_hooks=[close_reader, *backbone.shutdown_hooks],
        policies=[ROUTING_POLICY],
        auth=auth,
    )


def main(argv: list[str] | None = None) -> None:
    run_service(
        SERVICE,
        "Aduan routing service (gRPC aduan.v1.Routing and aduan.v1.EventLog); see docs/operations.md and docs/routing.md.",
        build_runtime,
        argv,
    )


if __name__ == "__main__":
    main()
