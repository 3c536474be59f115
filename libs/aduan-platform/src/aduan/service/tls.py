"""Transport security for gRPC (TLS, mutual TLS), from `TlsSettings`.

Servers: `server_credentials` (used by `ServiceRuntime` when ADUAN_TLS_CERT/KEY are set).
Clients: `aio_channel`/`sync_channel` open a TLS channel when ADUAN_TLS_CA is set (presenting the
client certificate when one is configured), a plaintext one otherwise; `service_channel` adds
the service's own bearer token. NATS's TLS is `aduan.messaging.natstls`; the peers' EventLog
clients are `aduan.service.peers`.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc

from aduan.core.settings import ServiceSettings, SettingsError, TlsSettings
from aduan.service.auth import ServiceAuth, bearer_interceptors


def _read(path: str, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except OSError as error:
        raise SettingsError(f"{what} {path!r}: {error}") from None


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials:
    return grpc.ssl_server_credentials(
        [(_read(tls.key, "ADUAN_TLS_KEY"), _read(tls.cert, "ADUAN_TLS_CERT"))],
        root_certificates=_read(tls.ca, "ADUAN_TLS_CA") if tls.ca else None,
        require_client_auth=tls.client_auth == "require",
    )


def channel_credentials(tls: TlsSettings) -> grpc.ChannelCredentials:
    has_client_cert = bool(tls.client_cert and tls.client_key)
    return grpc.ssl_channel_credentials(
        root_certificates=_read(tls.ca, "ADUAN_TLS_CA") if tls.ca else None,
        private_key=_read(tls.client_key, "ADUAN_TLS_CLIENT_KEY") if has_client_cert else None,
        certificate_chain=(
            _read(tls.client_cert, "ADUAN_TLS_CLIENT_CERT") if has_client_cert else None
        ),
    )


def _options(tls: TlsSettings, options: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    merged = list(options)
    if tls.server_name:
        merged.append(("grpc.ssl_target_name_override", tls.server_name))
    return merged


def aio_channel(
    address: str,
    tls: TlsSettings,
    *,
    options: Sequence[tuple[str, Any]] = (),
    interceptors: Sequence[grpc.aio.ClientInterceptor] = (),
) -> grpc.aio.Channel:
    if tls.client_enabled:
        return grpc.aio.secure_channel(
            address,
            channel_credentials(tls),
            options=_options(tls, options),
            interceptors=list(interceptors),
        )
    return grpc.aio.insecure_channel(
        address, options=list(options), interceptors=list(interceptors)
    )


def sync_channel(
    address: str, tls: TlsSettings, *, options: Sequence[tuple[str, Any]] = ()
) -> grpc.Channel:
    if tls.client_enabled:
        return grpc.secure_channel(
            address, channel_credentials(tls), options=_options(tls, options)
        )
    return grpc.insecure_channel(address, options=list(options))


def service_channel(
    address: str,
    settings: ServiceSettings,
    auth: ServiceAuth | None = None,
    *,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """A channel to a peer service: TLS per the settings, this service's token on every call."""
    identity = (auth or ServiceAuth.from_settings(settings)).identity
    return aio_channel(
        address,
        settings.tls,
        options=options,
        interceptors=bearer_interceptors(identity.token),
    )
