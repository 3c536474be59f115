"""Transport security for gRPC (TLS, mutual TLS) and NATS, from `TlsSettings`/`ServiceSettings`.

Servers: `server_credentials` (used by `ServiceRuntime` when ADUAN_TLS_CERT/KEY are set).
Clients: `aio_channel`/`sync_channel` open a TLS channel when ADUAN_TLS_CA is set (presenting the
client certificate when one is configured), a plaintext one otherwise. `service_channel` adds
the service's own bearer token, `ServiceEventLogReader` is the EventLog client with both
(`AuthenticatedEventLogReader` for any token, `tool_event_log_reader` for command-line tools).
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import grpc

from aduan.auth import ServiceAuth, bearer_interceptors
from aduan.eventlog import EventLogReader
from aduan.settings import ServiceSettings, SettingsError, TlsSettings
from aduan.v1 import eventlog_pb2_grpc


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


class AuthenticatedEventLogReader(EventLogReader):
    """`EventLogReader` over channels with TLS (per `tls`) and a bearer token on every call."""

    def __init__(
        self,
        addresses: Mapping[str, str],
        token: Callable[[], str],
        tls: TlsSettings | None = None,
        channel_options: list[tuple[str, Any]] | None = None,
    ) -> None:
        super().__init__(addresses, channel_options)
        self.token = token
        self.tls = tls or TlsSettings()

    def _stub(self, service: str) -> eventlog_pb2_grpc.EventLogStub:
        if service not in self.addresses:
            raise KeyError(f"no EventLog address for service {service!r}")
        channel = self._channels.get(service)
        if channel is None:
            channel = aio_channel(
                self.addresses[service],
                self.tls,
                options=self._options,
                interceptors=bearer_interceptors(self.token),
            )
            self._channels[service] = channel
        return eventlog_pb2_grpc.EventLogStub(channel)


class ServiceEventLogReader(AuthenticatedEventLogReader):
    """The EventLog client of a service: its TLS settings and its own identity."""

    def __init__(
        self,
        addresses: Mapping[str, str],
        settings: ServiceSettings,
        auth: ServiceAuth | None = None,
        channel_options: list[tuple[str, Any]] | None = None,
    ) -> None:
        identity = (auth or ServiceAuth.from_settings(settings)).identity
        super().__init__(addresses, identity.token, settings.tls, channel_options)


def tool_event_log_reader(
    addresses: Mapping[str, str], env: Mapping[str, str] | None = None
) -> AuthenticatedEventLogReader:
    """The EventLog client of a command-line tool (`aduan audit verify`, `aduan rebuild`): the
    caller's token from $ADUAN_TOKEN (an auditor's; `aduan token --role auditor` for the local
    stack) and TLS from ADUAN_TLS_*."""
    env = os.environ if env is None else env
    token = env.get("ADUAN_TOKEN", "").strip()
    if not token:
        raise SettingsError("set ADUAN_TOKEN to an auditor's token to read the EventLogs")
    return AuthenticatedEventLogReader(addresses, lambda: token, TlsSettings.from_env(env))


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
