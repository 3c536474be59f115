"""Composition root of the intake service: reads settings, wires everything, serves."""

from __future__ import annotations

import argparse
import asyncio

import grpc

from aduan.backbone import WriteBackbone
from aduan.logs import configure_logging
from aduan.runtime import ServiceRuntime
from aduan.settings import ServiceSettings
from aduan.store import store_env
from aduan.v1 import intake_pb2, intake_pb2_grpc
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import SERVICE, translator
from aduan_intake.servicer import IntakeServicer


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    app = IntakeApplication(env=store_env(settings.store_url, SERVICE))
    backbone = WriteBackbone(settings, app, translator())
    servicer = IntakeServicer(app)

    def register(server: grpc.aio.Server) -> None:
        intake_pb2_grpc.add_IntakeServicer_to_server(servicer, server)

    return ServiceRuntime(
        settings=settings,
        service_names=[intake_pb2.DESCRIPTOR.services_by_name["Intake"].full_name, *backbone.service_names],
        registrars=[register, *backbone.registrars],
        workers=backbone.workers,
        health_checks=backbone.health_checks,
        shutdown_hooks=backbone.shutdown_hooks,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="aduan-intake",
        description="Aduan intake service (gRPC aduan.v1.Intake and aduan.v1.EventLog). "
        "Configured by ADUAN_* environment variables; see docs/operations.md.",
    )
    parser.parse_args(argv)
    settings = ServiceSettings.from_env(SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    asyncio.run(build_runtime(settings).serve())


if __name__ == "__main__":
    main()
