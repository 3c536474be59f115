"""Composition root of the intake service: reads settings, wires everything, serves."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from pathlib import Path

import grpc

from aduan.core.settings import ServiceSettings, SettingsError, extra_number
from aduan.eventstore.store import open_application
from aduan.service.auth import ServiceAuth
from aduan.service.backbone import WriteBackbone, upstream_consumer
from aduan.service.runtime import ServiceRuntime, run_service
from aduan.service.tls import service_channel
from aduan.v1 import intake_pb2, intake_pb2_grpc
from aduan_intake.application import IntakeApplication
from aduan_intake.casestatus import DURABLE, UPSTREAMS, CaseStatusProcessor
from aduan_intake.contract import SERVICE, translator
from aduan_intake.details import DEFAULT_ANSWER_TIME, DetailFinder
from aduan_intake.inbound import WhatsAppInbound
from aduan_intake.media import media_keeper_from_settings
from aduan_intake.pins import RegencyBoundaries
from aduan_intake.sealing import MasterKey
from aduan_intake.servicer import INTAKE_POLICY, IntakeServicer
from aduan_intake.statuses import NotificationStatusForwarder
from aduan_intake.textrules import TextRules, TextRulesError
from aduan_intake.webhook import WebhookServer, WebhookSettings


def detail_finder(extra: Mapping[str, str]) -> DetailFinder:
    """The text rules (ADUAN_TEXT_RULES_FILE, else the packaged ones), the regency boundaries,
    and how long routing waits for the reporter's answers (ADUAN_WHATSAPP_ANSWER_SECONDS)."""
    rules_file = extra.get("TEXT_RULES_FILE", "").strip()
    try:
        rules = TextRules.load_file(Path(rules_file)) if rules_file else TextRules.load_packaged()
    except TextRulesError as error:
        raise SettingsError(str(error)) from None
    default = DEFAULT_ANSWER_TIME.total_seconds()
    seconds = extra_number(extra, "WHATSAPP_ANSWER_SECONDS", default, minimum=0.1)
    answer_time = timedelta(seconds=seconds)
    return DetailFinder(rules, RegencyBoundaries.load_packaged(), answer_time)


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    auth = ServiceAuth.from_settings(settings)
    master_key = MasterKey.from_setting(settings.extra.get("MASTER_KEY"))
    media = media_keeper_from_settings(settings.extra, settings.data_dir)
    app = open_application(
        settings.store_url,
        SERVICE,
        lambda env: IntakeApplication(env=env, master_key=master_key, media=media.store),
    )
    backbone = WriteBackbone(settings, app, translator())
    servicer = IntakeServicer(app)
    forwarder = NotificationStatusForwarder(
        settings.peers["notification"],
        channel_factory=lambda address: service_channel(address, settings, auth),
    )
    webhook = WebhookServer(
        WhatsAppInbound(app, detail_finder(settings.extra)),
        WebhookSettings.from_extra(settings.extra, settings.grpc_host),
        statuses=forwarder,
        media=media,
    )
    case_status, reader = upstream_consumer(
        settings,
        auth,
        backbone.link,
        backbone.leadership,
        durable=DURABLE,
        upstreams=UPSTREAMS,
        processor=CaseStatusProcessor(app),
    )

    def register(server: grpc.aio.Server) -> None:
        intake_pb2_grpc.add_IntakeServicer_to_server(servicer, server)

    async def close_reader() -> None:
        await reader.close()
        await forwarder.close()
        await media.aclose()

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
    run_service(
        SERVICE,
        "Aduan intake service (gRPC aduan.v1.Intake and aduan.v1.EventLog, and the WhatsApp webhook); see docs/intake.md.",
        build_runtime,
        argv,
    )


if __name__ == "__main__":
    main()
