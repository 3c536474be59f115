"""Composition root of the notification service: settings, store, consumer, sender, gRPC."""

from __future__ import annotations

import logging

import grpc

from aduan.core.settings import ServiceSettings
from aduan.eventstore.store import open_application
from aduan.service.auth import ServiceAuth
from aduan.service.backbone import WriteBackbone, upstream_consumer
from aduan.service.runtime import ServiceRuntime, run_service
from aduan.service.tls import service_channel
from aduan.v1 import notification_pb2, notification_pb2_grpc
from aduan_notification.application import NotificationApplication
from aduan_notification.channels import (
    EmailSender,
    LogSender,
    OfficeWebhookSender,
    Sender,
    WhatsAppSender,
)
from aduan_notification.config import NotificationConfig
from aduan_notification.consumer import DURABLE, UPSTREAMS, NotificationProcessor
from aduan_notification.contacts import IntakeContacts
from aduan_notification.contract import SERVICE, translator
from aduan_notification.domain import DeliveryChannel
from aduan_notification.servicer import NOTIFICATION_POLICY, NotificationServicer
from aduan_notification.templates import TemplateCatalog
from aduan_notification.worker import DeliveryWorker

log = logging.getLogger(__name__)


def build_senders(config: NotificationConfig) -> dict[DeliveryChannel, Sender]:
    senders: dict[DeliveryChannel, Sender] = {DeliveryChannel.LOG: LogSender()}
    if config.whatsapp is not None:
        senders[DeliveryChannel.WHATSAPP] = WhatsAppSender(
            config.whatsapp, config.send_timeout_seconds
        )
    if config.smtp is not None:
        senders[DeliveryChannel.EMAIL] = EmailSender(config.smtp, config.send_timeout_seconds)
    if config.webhook is not None:
        senders[DeliveryChannel.OFFICE_WEBHOOK] = OfficeWebhookSender(
            config.webhook, config.send_timeout_seconds
        )
    return senders


def build_runtime(settings: ServiceSettings) -> ServiceRuntime:
    auth = ServiceAuth.from_settings(settings)
    config = NotificationConfig.from_extra(settings.extra)
    # Loading validates every template: a broken one stops the service here, not at send time.
    catalog = TemplateCatalog.load_packaged()
    app = open_application(
        settings.store_url,
        SERVICE,
        lambda env: NotificationApplication(
            env=env,
            catalog=catalog,
            channels=config.channel_policy,
            retry_policy=config.retry,
        ),
    )
    if config.live:
        unconfigured = sorted(
            c.value
            for c in (
                DeliveryChannel.WHATSAPP,
                DeliveryChannel.EMAIL,
                DeliveryChannel.OFFICE_WEBHOOK,
            )
            if c not in config.configured_channels
        )
        if unconfigured:
            log.warning(
                "live mode: unconfigured channels fall back to the log channel",
                extra={"channels": ",".join(unconfigured)},
            )
    backbone = WriteBackbone(settings, app, translator())
    consumer, reader = upstream_consumer(
        settings,
        auth,
        backbone.link,
        backbone.leadership,
        durable=DURABLE,
        upstreams=UPSTREAMS,
        processor=NotificationProcessor(app),
    )
    senders = build_senders(config)
    contacts = IntakeContacts(
        settings.peers["intake"],
        timeout_seconds=config.send_timeout_seconds,
        channel_factory=lambda address: service_channel(address, settings, auth),
    )
    worker = DeliveryWorker(
        app,
        senders,
        contacts,
        concurrency=config.concurrency,
        poll_seconds=config.poll_seconds,
        leadership=backbone.leadership,
    )
    servicer = NotificationServicer(app, on_retry=worker.wake)

    def register(server: grpc.aio.Server) -> None:
        notification_pb2_grpc.add_NotificationServicer_to_server(servicer, server)

    async def close_clients() -> None:
        await reader.close()
        await contacts.close()
        for sender in senders.values():
            await sender.close()

    return ServiceRuntime(
        settings=settings,
        service_names=[
            notification_pb2.DESCRIPTOR.services_by_name["Notification"].full_name,
            *backbone.service_names,
        ],
        registrars=[register, *backbone.registrars],
        workers=[
            *backbone.workers,
            consumer,
            worker,
        ],
        health_checks=backbone.health_checks,
        shutdown_hooks=[close_clients, *backbone.shutdown_hooks],
        policies=[NOTIFICATION_POLICY],
        auth=auth,
    )


def main(argv: list[str] | None = None) -> None:
    run_service(
        SERVICE,
        "Aduan notification service (gRPC aduan.v1.Notification and aduan.v1.EventLog); see docs/notification.md.",
        build_runtime,
        argv,
    )


if __name__ == "__main__":
    main()
