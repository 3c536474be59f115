"""Transport security: with TLS on, a plaintext client is refused; under mutual TLS a client
without a certificate (or with one from another CA) is refused, and a proper client, including a
service calling a peer's EventLog with its own identity, is served. NATS: TLS and credentials."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import grpc
import nats
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from security.certs import Authority, Issued

from aduan.contract.eventlog import EventLogServicer
from aduan.core.settings import ServiceSettings, TlsSettings
from aduan.eventstore.store import store_env
from aduan.messaging.jetstream import connect, nats_security_options
from aduan.service.auth import DevTokens, bearer_metadata
from aduan.service.peers import ServiceEventLogReader
from aduan.service.runtime import ServiceRuntime
from aduan.service.tls import aio_channel
from aduan.v1 import eventlog_pb2_grpc, routing_pb2, routing_pb2_grpc
from aduan_devtools.natsserver import free_port, nats_server_binary, wait_for_port
from aduan_routing.application import RoutingApplication
from aduan_routing.contract import translator
from aduan_routing.servicer import ROUTING_POLICY, RoutingServicer

pytestmark = pytest.mark.integration

SECRET = "tls-tests-secret-0123456789abcdefghij"
REFUSED = {grpc.StatusCode.UNAVAILABLE}
# The runtime answers health (NOT_SERVING until its dependency monitor runs, not started here).
ANSWERED = {health_pb2.HealthCheckResponse.SERVING, health_pb2.HealthCheckResponse.NOT_SERVING}


class Pki:
    def __init__(self, directory: Path) -> None:
        self.ca = Authority(directory / "ca")
        self.server = self.ca.issue("routing")
        self.client = self.ca.issue("query")
        self.stranger = Authority(directory / "other-ca", "Somebody Else's CA").issue("intruder")


@pytest.fixture
def pki(tmp_path: Path) -> Pki:
    return Pki(tmp_path / "pki")


@asynccontextmanager
async def routing_server(tmp_path: Path, env: dict[str, str], port: int = 0) -> AsyncIterator[str]:
    """Routing's servicer and EventLog behind the platform runtime, configured by `env`."""
    port = port or free_port()
    settings = ServiceSettings.from_env(
        "routing", {"ADUAN_GRPC_PORT": str(port), "ADUAN_JWT_SECRET": SECRET, **env}
    )
    app = RoutingApplication(env=store_env(f"sqlite:///{tmp_path / 'routing.sqlite'}", "routing"))
    routing, log = RoutingServicer(app), EventLogServicer(app, translator(app.registry))

    def register(server: grpc.aio.Server) -> None:
        routing_pb2_grpc.add_RoutingServicer_to_server(routing, server)
        eventlog_pb2_grpc.add_EventLogServicer_to_server(log, server)

    runtime = ServiceRuntime(
        settings=settings,
        service_names=["aduan.v1.Routing", "aduan.v1.EventLog"],
        registrars=[register],
        policies=[ROUTING_POLICY],
    )
    await runtime.start()
    try:
        yield f"127.0.0.1:{port}"
    finally:
        await runtime.shutdown()
        app.close()


def server_env(pki: Pki, mutual: bool) -> dict[str, str]:
    env = {
        "ADUAN_TLS_CERT": str(pki.server.cert),
        "ADUAN_TLS_KEY": str(pki.server.key),
        "ADUAN_TLS_CA": str(pki.ca.cert_path),
    }
    if mutual:
        env["ADUAN_TLS_CLIENT_AUTH"] = "require"
    return env


async def health(channel: grpc.aio.Channel) -> int:
    response = await health_pb2_grpc.HealthStub(channel).Check(
        health_pb2.HealthCheckRequest(service=""), timeout=5
    )
    return int(response.status)


async def refused(call: Callable[[], object]) -> grpc.StatusCode:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await call()  # type: ignore[misc]
    return error.value.code()


def client_tls(pki: Pki, certificate: Issued | None) -> TlsSettings:
    if certificate is None:
        return TlsSettings(ca=str(pki.ca.cert_path))
    return TlsSettings(
        ca=str(pki.ca.cert_path),
        client_cert=str(certificate.cert),
        client_key=str(certificate.key),
    )


async def test_with_tls_on_a_plaintext_client_is_refused(pki: Pki, tmp_path: Path) -> None:
    async with routing_server(tmp_path, server_env(pki, mutual=False)) as address:
        async with grpc.aio.insecure_channel(address) as plaintext:
            assert await refused(lambda: health(plaintext)) in REFUSED
        async with aio_channel(address, client_tls(pki, None)) as channel:
            assert await health(channel) in ANSWERED
            stub = routing_pb2_grpc.RoutingStub(channel)
            # Encryption is no identity: the token is still required.
            no_token = await refused(lambda: stub.ListOffices(routing_pb2.ListOfficesRequest()))
            assert no_token == grpc.StatusCode.UNAUTHENTICATED
            token = bearer_metadata(DevTokens(SECRET).issue("officer", "KANTAH.32.73"))
            offices = await stub.ListOffices(routing_pb2.ListOfficesRequest(), metadata=token)
            assert offices.offices


async def test_under_mutual_tls_a_client_without_a_certificate_is_refused(
    pki: Pki, tmp_path: Path
) -> None:
    async with routing_server(tmp_path, server_env(pki, mutual=True)) as address:
        async with grpc.aio.insecure_channel(address) as plaintext:
            assert await refused(lambda: health(plaintext)) in REFUSED
        async with aio_channel(address, client_tls(pki, None)) as anonymous:
            assert await refused(lambda: health(anonymous)) in REFUSED
        async with aio_channel(address, client_tls(pki, pki.stranger)) as stranger:
            assert await refused(lambda: health(stranger)) in REFUSED
        async with aio_channel(address, client_tls(pki, pki.client)) as channel:
            assert await health(channel) in ANSWERED

        # A peer service: its certificate and its own token, from its environment alone.
        peer = ServiceSettings.from_env(
            "query",
            {
                "ADUAN_JWT_SECRET": SECRET,
                "ADUAN_TLS_CERT": str(pki.client.cert),
                "ADUAN_TLS_KEY": str(pki.client.key),
                "ADUAN_TLS_CA": str(pki.ca.cert_path),
                "ADUAN_TLS_CLIENT_AUTH": "require",
            },
        )
        reader = ServiceEventLogReader({"routing": address}, peer)
        try:
            assert await reader.head("routing") == 0
        finally:
            await reader.close()


def test_tls_settings_refuse_half_configurations() -> None:
    from aduan.core.settings import SettingsError

    with pytest.raises(SettingsError, match="go together"):
        TlsSettings.from_env({"ADUAN_TLS_CERT": "server.pem"})
    with pytest.raises(SettingsError, match="require"):
        TlsSettings.from_env({"ADUAN_TLS_CLIENT_AUTH": "require"})
    with pytest.raises(SettingsError, match="none or require"):
        TlsSettings.from_env({"ADUAN_TLS_CLIENT_AUTH": "optional"})


@pytest.fixture
def tls_nats(pki: Pki, tmp_path: Path) -> AsyncIterator[str]:
    """A nats-server that speaks only TLS, verifies client certificates and wants a password."""
    port = free_port()
    process = subprocess.Popen(
        [
            str(nats_server_binary()),
            "-a",
            "127.0.0.1",
            "-p",
            str(port),
            "-js",
            "-sd",
            str(tmp_path / "nats"),
            "--tlscert",
            str(pki.server.cert),
            "--tlskey",
            str(pki.server.key),
            "--tlscacert",
            str(pki.ca.cert_path),
            "--tlsverify",
            "--user",
            "aduan",
            "--pass",
            "s3cret-nats-password",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        wait_for_port("127.0.0.1", port, 15)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


async def test_nats_with_tls_and_credentials(pki: Pki, tls_nats: str) -> None:
    env = {
        "ADUAN_NATS_URL": tls_nats,
        "ADUAN_NATS_USER": "aduan",
        "ADUAN_NATS_PASSWORD": "s3cret-nats-password",
        "ADUAN_NATS_TLS_CA": str(pki.ca.cert_path),
        "ADUAN_NATS_TLS_CERT": str(pki.client.cert),
        "ADUAN_NATS_TLS_KEY": str(pki.client.key),
    }
    settings = ServiceSettings.from_env("intake", env)
    client = await asyncio.wait_for(connect(settings), 15)
    try:
        assert client.is_connected
        assert client.connected_url is not None
        await client.flush(timeout=5)
    finally:
        await client.close()

    # A client without a certificate, or with the wrong password, is turned away; one that
    # does not trust the server's CA does not talk to it.
    for variant, refusal in [
        ({"ADUAN_NATS_TLS_CERT": "", "ADUAN_NATS_TLS_KEY": ""}, OSError),
        ({"ADUAN_NATS_PASSWORD": "guessed"}, nats.errors.Error),
        ({"ADUAN_NATS_TLS_CA": "", "ADUAN_NATS_TLS_CERT": "", "ADUAN_NATS_TLS_KEY": ""}, OSError),
    ]:
        attempt = ServiceSettings.from_env("intake", {**env, **variant})
        with pytest.raises(refusal):
            await nats.connect(
                tls_nats,
                allow_reconnect=False,
                connect_timeout=2,
                max_reconnect_attempts=0,
                **nats_security_options(attempt),
            )


async def test_probes_get_health_in_plaintext_on_the_health_port_and_nothing_else(
    pki: Pki, tmp_path: Path
) -> None:
    health_port = free_port()
    env = {**server_env(pki, mutual=True), "ADUAN_HEALTH_PORT": str(health_port)}
    async with (
        routing_server(tmp_path, env),
        grpc.aio.insecure_channel(f"127.0.0.1:{health_port}") as probe,
    ):
        assert await health(probe) in ANSWERED
        # The health port serves health only: the API stays behind mutual TLS.
        stub = routing_pb2_grpc.RoutingStub(probe)
        token = bearer_metadata(DevTokens(SECRET).issue("officer", "KANTAH.32.73"))
        unserved = await refused(
            lambda: stub.ListOffices(routing_pb2.ListOfficesRequest(), metadata=token)
        )
        assert unserved == grpc.StatusCode.UNIMPLEMENTED
