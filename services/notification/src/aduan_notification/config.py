"""Notification's own settings, read from `ServiceSettings.extra` (the ADUAN_* variables).

Secrets may come from files (Kubernetes secrets mounted as volumes): for ADUAN_WHATSAPP_TOKEN,
ADUAN_SMTP_PASSWORD and ADUAN_OFFICE_WEBHOOK_SECRET, a variable of the same name with the suffix
_FILE names a file whose content is used.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from aduan.core.settings import SettingsError, extra_flag, extra_int, extra_number, extra_secret
from aduan_notification.channels import SmtpConfig, WebhookConfig, WhatsAppConfig
from aduan_notification.domain import DeliveryChannel, RetryPolicy
from aduan_notification.scheduling import ChannelPolicy

MODES = ("log", "live")
# How long a WhatsApp send left in doubt waits for the provider's status report before it is sent
# again (RetryPolicy.confirm_grace_seconds; docs/notification.md, "Exactly once").
DEFAULT_CONFIRM_GRACE_SECONDS = RetryPolicy.confirm_grace_seconds


@dataclass(frozen=True)
class NotificationConfig:
    live: bool
    retry: RetryPolicy
    send_timeout_seconds: float
    concurrency: int
    poll_seconds: float
    whatsapp: WhatsAppConfig | None
    smtp: SmtpConfig | None
    webhook: WebhookConfig | None

    @classmethod
    def from_extra(cls, extra: Mapping[str, str]) -> NotificationConfig:
        mode = extra.get("NOTIFY_CHANNEL_MODE", "log").strip().lower() or "log"
        if mode not in MODES:
            raise SettingsError(f"ADUAN_NOTIFY_CHANNEL_MODE must be log or live, not {mode!r}")
        whatsapp = None
        wa_values = {
            "WHATSAPP_BASE_URL": extra.get("WHATSAPP_BASE_URL", ""),
            "WHATSAPP_TOKEN": extra_secret(extra, "WHATSAPP_TOKEN"),
            "WHATSAPP_PHONE_NUMBER_ID": extra.get("WHATSAPP_PHONE_NUMBER_ID", ""),
        }
        if any(wa_values.values()):
            missing = [f"ADUAN_{k}" for k, v in wa_values.items() if not v]
            if missing:
                raise SettingsError(f"WhatsApp is partly configured; missing {missing}")
            whatsapp = WhatsAppConfig(
                base_url=wa_values["WHATSAPP_BASE_URL"],
                token=wa_values["WHATSAPP_TOKEN"],
                phone_number_id=wa_values["WHATSAPP_PHONE_NUMBER_ID"],
            )
        smtp = None
        if extra.get("SMTP_HOST"):
            smtp = SmtpConfig(
                host=extra["SMTP_HOST"],
                port=extra_int(extra, "SMTP_PORT", 587, 1),
                username=extra.get("SMTP_USERNAME", ""),
                password=extra_secret(extra, "SMTP_PASSWORD"),
                sender=extra.get("SMTP_FROM") or SmtpConfig.sender,
                start_tls=extra_flag(extra, "SMTP_STARTTLS", None),
                use_tls=bool(extra_flag(extra, "SMTP_TLS", False)),
            )
        webhook = None
        if extra.get("OFFICE_WEBHOOK_URL"):
            secret = extra_secret(extra, "OFFICE_WEBHOOK_SECRET")
            if not secret:
                raise SettingsError("ADUAN_OFFICE_WEBHOOK_URL needs ADUAN_OFFICE_WEBHOOK_SECRET")
            webhook = WebhookConfig(url=extra["OFFICE_WEBHOOK_URL"], secret=secret)
        return cls(
            live=mode == "live",
            retry=RetryPolicy(
                max_attempts=extra_int(extra, "DELIVERY_MAX_ATTEMPTS", 6, 1),
                base_seconds=extra_number(extra, "DELIVERY_BACKOFF_BASE_SECONDS", 5.0, 0.0),
                cap_seconds=extra_number(extra, "DELIVERY_BACKOFF_CAP_SECONDS", 3600.0, 0.0),
                confirm_grace_seconds=extra_number(
                    extra, "WHATSAPP_CONFIRM_GRACE_SECONDS", DEFAULT_CONFIRM_GRACE_SECONDS, 0.0
                ),
            ),
            send_timeout_seconds=extra_number(extra, "DELIVERY_SEND_TIMEOUT_SECONDS", 10.0, 0.01),
            concurrency=extra_int(extra, "DELIVERY_CONCURRENCY", 8, 1),
            poll_seconds=extra_number(extra, "DELIVERY_POLL_SECONDS", 1.0, 0.01),
            whatsapp=whatsapp,
            smtp=smtp,
            webhook=webhook,
        )

    @property
    def configured_channels(self) -> frozenset[DeliveryChannel]:
        channels = set()
        if self.whatsapp is not None:
            channels.add(DeliveryChannel.WHATSAPP)
        if self.smtp is not None:
            channels.add(DeliveryChannel.EMAIL)
        if self.webhook is not None:
            channels.add(DeliveryChannel.OFFICE_WEBHOOK)
        return frozenset(channels)

    @property
    def channel_policy(self) -> ChannelPolicy:
        return ChannelPolicy(live=self.live, configured=self.configured_channels)
