"""Transport security for NATS, from the ADUAN_NATS_TLS_* settings."""

from __future__ import annotations

import ssl

from aduan.core.settings import ServiceSettings, SettingsError


def nats_tls_context(settings: ServiceSettings) -> ssl.SSLContext | None:
    """The TLS context for NATS (ADUAN_NATS_TLS_CA, _CERT, _KEY); None without any of them."""
    if not (settings.nats_tls_ca or settings.nats_tls_cert):
        return None
    try:
        context = ssl.create_default_context(
            ssl.Purpose.SERVER_AUTH, cafile=settings.nats_tls_ca or None
        )
        if settings.nats_tls_cert:
            if not settings.nats_tls_key:
                raise SettingsError("ADUAN_NATS_TLS_CERT needs ADUAN_NATS_TLS_KEY")
            context.load_cert_chain(settings.nats_tls_cert, settings.nats_tls_key)
    except (OSError, ssl.SSLError) as error:
        raise SettingsError(f"NATS TLS: {error}") from None
    return context
