"""Composition root of the intake service: reads settings, wires everything, serves."""

from __future__ import annotations

import argparse
import asyncio
import sys

import grpc

from aduan.auth import ServiceAuth
from aduan.backbone import WriteBackbone
from aduan.jetstream import TrackedConsumer, observe_consumer
from aduan.runtime import ServiceRuntime, bootstrap
from aduan.settings import ServiceSettings, SettingsError
from aduan.store import store_env
from aduan.tls import ServiceEventLogReader
from aduan.v1 import intake_pb2, intake_pb2_grpc
from aduan_intake.application import IntakeApplication
from aduan_intake.casestatus import DURABLE, UPSTREAMS, CaseStatusProcessor
from aduan_intake.contract import SERVICE, translator
from aduan_intake.inbound import WhatsAppInbound
from aduan_intake.sealing import MasterKey
from aduan_intake.servicer import INTAKE_POLICY, IntakeServicer
from aduan_intake.webhook import WebhookServer, WebhookSettings


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    auth = ServiceAuth.from_settings(settings)
    master_key = MasterKey.from_setting(settings.extra.get("MASTER_KEY"))
    app = IntakeApplication(env=store_env(settings.store_url, SERVICE), master_key=master_key)
    backbone = WriteBackbone(settings, app, translator())
    servicer = IntakeServicer(app)
    webhook = WebhookServer(
        WhatsAppInbound(app), WebhookSettings.from_extra(settings.extra, settings.grpc_host)
    )
    reader = ServiceEventLogReader(
        {name: settings.peers[name] for name in UPSTREAMS}, settings, auth
    )
    case_status = TrackedConsumer(
        backbone.link,
        durable=DURABLE,
        upstreams=UPSTREAMS,
        processor=CaseStatusProcessor(app),
        gap_filler=reader.read_range,
        head_reader=reader.head,
        leadership=backbone.leadership,
    )
    observe_consumer(case_status)

    def register(server: grpc.aio.Server) -> None:
        intake_pb2_grpc.add_IntakeServicer_to_server(servicer, server)

    async def close_reader() -> None:
        await reader.close()

    return ServiceRuntime(
        settings=settings,
        service_names=[
            intake_pb2.DESCRIPTOR.services_by_name["Intake"].full_name,
            *backbone.service_names,
        ],
        registrars=[register, *backbone.registrars],
        workers=[*backbone.workers, case_status, webhook],
        health_checks=backbone.health_checks,
        shutdown_hooks=[close_reader, *backbone.shutdown_hooks],
        policies=[INTAKE_POLICY],
        auth=auth,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="aduan-intake",
        description="Aduan intake service (gRPC aduan.v1.Intake and aduan.v1.EventLog, and the "
        "WhatsApp webhook). Configured by ADUAN_* environment variables; see docs/intake.md.",
    )
    parser.parse_args(argv)
    settings = bootstrap(SERVICE)
    try:
        runtime = build_runtime(settings)
    except SettingsError as error:
        sys.exit(f"aduan-intake: refusing to start: {error}")
    asyncio.run(runtime.serve())


if __name__ == "__main__":
    main()
