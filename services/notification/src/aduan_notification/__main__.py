"""Composition root of the notification service."""

from __future__ import annotations

import argparse
import asyncio

import grpc

from aduan.backbone import WriteBackbone
from aduan.logs import configure_logging
from aduan.runtime import ServiceRuntime
from aduan.settings import ServiceSettings
from aduan.store import store_env
from aduan.v1 import notification_pb2, notification_pb2_grpc
from aduan_notification.application import NotificationApplication
from aduan_notification.contract import SERVICE, translator


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    app = NotificationApplication(env=store_env(settings.store_url, SERVICE))
    backbone = WriteBackbone(settings, app, translator())

    def register(server: grpc.aio.Server) -> None:
        notification_pb2_grpc.add_NotificationServicer_to_server(notification_pb2_grpc.NotificationServicer(), server)

    return ServiceRuntime(
        settings=settings,
        service_names=[notification_pb2.DESCRIPTOR.services_by_name["Notification"].full_name, *backbone.service_names],
        registrars=[register, *backbone.registrars],
        workers=backbone.workers,
        health_checks=backbone.health_checks,
        shutdown_hooks=backbone.shutdown_hooks,
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="aduan-notification",
        description="Aduan notification service (gRPC aduan.v1.Notification and aduan.v1.EventLog). "
        "Configured by ADUAN_* environment variables; see docs/operations.md.",
    )
    parser.parse_args(argv)
    settings = ServiceSettings.from_env(SERVICE)
    configure_logging(SERVICE, settings.log_level, settings.log_format)
    asyncio.run(build_runtime(settings).serve())


if __name__ == "__main__":
    main()
