"""The EventLog clients a service or a command-line tool uses to read its peers' histories:
TLS per `TlsSettings` and a bearer token on every call.

`ServiceEventLogReader` is a service's own (its identity), `AuthenticatedEventLogReader` takes any
token, `tool_event_log_reader` is for command-line tools.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from typing import Any

from aduan.contract.eventlog import EventLogReader
from aduan.core.settings import ServiceSettings, SettingsError, TlsSettings
from aduan.service.auth import ServiceAuth, bearer_interceptors
from aduan.service.tls import aio_channel
from aduan.v1 import eventlog_pb2_grpc


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
