"""Who is calling, and may they: bearer JWTs on every gRPC call (docs/security.md).

- `TokenVerifier` checks `authorization: Bearer <jwt>`: HS256 with a shared secret (development),
  RS256/ES256 against a JWKS file or URL (production); issuer and audience when configured.
- `AuthInterceptor` (installed by `ServiceRuntime`) lets health and reflection through, refuses
  every other call without a valid token (UNAUTHENTICATED) or whose roles the RPC's declarative
  `Access` does not name (PERMISSION_DENIED), and puts the caller's `Principal` in a contextvar.
  Servicers read it through `current_principal()` and do the resource checks (which office holds
  the case) themselves, because only they can look the resource up.
- `ServiceIdentity` signs this service's own short-lived token (`sub: service:<name>`, role
  `service`) for its calls to other services (`BearerTokenInterceptor`).
"""

from __future__ import annotations

import asyncio
import contextvars
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any, NamedTuple

import grpc
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.core.errors import PermissionDeniedError, UnauthenticatedError
from aduan.core.settings import AuthSettings, ServiceSettings, SettingsError
from aduan.service.rpchandlers import HandlerInterceptor, behaviour_of, responses_of, with_behaviour

log = logging.getLogger(__name__)

# Roles (the `roles` claim).
GATEWAY = "gateway"  # a channel front end (OCA/WhatsApp gateway, web form, SP4N-LAPOR!)
SYSTEM = "system"  # another government system filing on a citizen's behalf
OFFICER = "officer"
SUPERVISOR = "supervisor"
AUDITOR = "auditor"
ADMIN = "admin"
SERVICE = "service"  # one of Aduan's own services
ROLES = (GATEWAY, SYSTEM, OFFICER, SUPERVISOR, AUDITOR, ADMIN, SERVICE)
FILERS = frozenset({GATEWAY, SYSTEM})
STAFF = frozenset({OFFICER, SUPERVISOR, AUDITOR, ADMIN})
ANYONE = frozenset(ROLES)

# Anyone may ask whether a service is up or what it serves.
OPEN_SERVICES = frozenset(
    {
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
    }
)

# HS256 secret used when ADUAN_AUTH_DEV=true and no key is configured. Public knowledge: tokens
# signed with it prove nothing, which is why the service logs a loud warning.
DEV_SECRET = "aduan-development-only-secret-do-not-use-in-production"
AUTHORIZATION = "authorization"
MIN_SECRET_BYTES = 32  # RFC 7518 3.2: an HS256 key at least as long as the hash
LEEWAY_SECONDS = 30
SERVICE_TOKEN_TTL = timedelta(minutes=10)


@dataclass(frozen=True)
class Principal:
    """The authenticated caller. `role` is the role the current call was admitted under."""

    sub: str
    roles: frozenset[str]
    office: str = ""
    role: str = ""

    def has(self, *roles: str) -> bool:
        return any(role in self.roles for role in roles)

    @property
    def acting_as(self) -> str:
        return self.role or next(iter(sorted(self.roles)), "")

    def actor(self) -> Actor:
        role = self.acting_as
        if role == SERVICE:
            kind = ActorKind.SERVICE
        elif role in FILERS:
            kind = ActorKind.GATEWAY if role == GATEWAY else ActorKind.SYSTEM
        else:
            kind = ActorKind.OFFICER
        return Actor(id=self.sub, kind=kind, role=role, office_code=self.office)


@dataclass(frozen=True)
class Access:
    """Who may call one RPC. `office_scoped`: officers and supervisors are further limited to
    the offices they act for; the servicer checks that against the resource."""

    roles: frozenset[str]
    office_scoped: bool = False


def access(*roles: str, office_scoped: bool = False) -> Access:
    unknown = set(roles) - set(ROLES)
    if unknown:
        raise ValueError(f"unknown roles {sorted(unknown)}")
    return Access(frozenset(roles), office_scoped)


Policy = Mapping[str, Access]  # full method name ("/aduan.v1.Intake/FileComplaint") -> Access


def policy(service_full_name: str, table: Mapping[str, Access]) -> dict[str, Access]:
    return {f"/{service_full_name}/{method}": rule for method, rule in table.items()}


EVENTLOG_POLICY = policy(
    "aduan.v1.EventLog",
    {"Read": access(SERVICE, AUDITOR), "GetHead": access(SERVICE, AUDITOR)},
)

_principal: contextvars.ContextVar[Principal | None] = contextvars.ContextVar(
    "aduan_principal", default=None
)


def current_principal() -> Principal:
    """The caller of the RPC being served (set by `AuthInterceptor`)."""
    principal = _principal.get()
    if principal is None:
        raise UnauthenticatedError("no authenticated caller")
    return principal


def command_context(metadata: Iterable[tuple[str, Any]] | None) -> CommandContext:
    """The CommandContext of the current call: the principal as actor, correlation and trace."""
    from aduan.core.telemetry import active_trace_context

    values = {str(k): str(v) for k, v in (metadata or ())}
    return CommandContext(
        actor=current_principal().actor(),
        correlation_id=values.get("x-correlation-id", "").strip() or uuid.uuid4().hex,
        causation_id=values.get("x-request-id", "").strip(),
        **active_trace_context(values),
    )


# -- tokens ------------------------------------------------------------------------------------


class TokenVerifier:
    """Checks bearer tokens. HS256 against `secret`; RS256/ES256 against a JWKS."""

    def __init__(
        self,
        *,
        secret: str = "",
        jwks: jwt.PyJWKSet | None = None,
        jwks_client: jwt.PyJWKClient | None = None,
        issuer: str = "",
        audience: str = "",
    ) -> None:
        if not (secret or jwks or jwks_client):
            raise SettingsError("a token verifier needs a secret or a JWKS")
        self.secret = secret
        self.jwks = jwks
        self.jwks_client = jwks_client
        self.issuer = issuer
        self.audience = audience
        # Tokens verified recently (by SHA-256 of the token): a gateway sends the same token on
        # every call, and checking its signature again costs more than the rest of a small
        # call. An entry answers only before the token's expiry and for VERIFIED_TTL_SECONDS at
        # most (so a key withdrawn from the JWKS stops being honoured soon after).
        self._verified: dict[bytes, tuple[Principal, float]] = {}
        self._verified_lock = threading.Lock()

    VERIFIED_TTL_SECONDS = 60.0
    VERIFIED_MAX = 4096

    @property
    def blocking(self) -> bool:
        """Verification may fetch the JWKS over the network."""
        return self.jwks_client is not None

    def _key(self, token: str) -> tuple[Any, list[str]]:
        header = jwt.get_unverified_header(token)
        algorithm = header.get("alg", "")
        # The algorithm decides which key kind may verify: never an asymmetric public key as an
        # HMAC secret (algorithm confusion).
        if algorithm == "HS256":
            if not self.secret:
                raise jwt.InvalidAlgorithmError("HS256 tokens are not accepted here")
            return self.secret, ["HS256"]
        if algorithm not in ("RS256", "ES256"):
            raise jwt.InvalidAlgorithmError(f"algorithm {algorithm!r} is not accepted")
        kid = header.get("kid", "")
        if self.jwks is not None:
            for key in self.jwks.keys:
                if key.key_id == kid or (not kid and len(self.jwks.keys) == 1):
                    return key.key, [algorithm]
        if self.jwks_client is not None:
            return self.jwks_client.get_signing_key_from_jwt(token).key, [algorithm]
        raise jwt.InvalidKeyError(f"no key {kid!r} in the JWKS")

    def verify(self, token: str) -> Principal:
        digest = hashlib.sha256(token.encode()).digest()
        now = time.time()
        with self._verified_lock:
            cached = self._verified.get(digest)
        if cached is not None and now < cached[1]:
            return cached[0]
        principal, expires = self._verify(token)
        with self._verified_lock:
            if len(self._verified) >= self.VERIFIED_MAX:
                self._verified.clear()
            self._verified[digest] = (principal, min(expires, now + self.VERIFIED_TTL_SECONDS))
        return principal

    def _verify(self, token: str) -> tuple[Principal, float]:
        """The principal and the token's expiry (epoch seconds)."""
        try:
            key, algorithms = self._key(token)
            claims = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                issuer=self.issuer or None,
                audience=self.audience or None,
                leeway=LEEWAY_SECONDS,
                options={
                    "require": ["sub", "exp", "iat"],
                    "verify_aud": bool(self.audience),
                },
            )
        except (jwt.PyJWTError, ValueError) as error:
            raise UnauthenticatedError(f"invalid token: {error}") from None
        roles = claims.get("roles", [])
        if isinstance(roles, str):
            roles = [roles]
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise UnauthenticatedError("invalid token: roles must be a list of strings")
        office = claims.get("office", "")
        if not isinstance(office, str):
            raise UnauthenticatedError("invalid token: office must be a string")
        principal = Principal(sub=str(claims["sub"]), roles=frozenset(roles), office=office.upper())
        return principal, float(claims["exp"])


class TokenSigner:
    """Issues tokens: HS256 with a secret, or RS256/ES256 with a private key and key id."""

    def __init__(
        self, key: Any, algorithm: str, *, kid: str = "", issuer: str = "", audience: str = ""
    ) -> None:
        self.key = key
        self.algorithm = algorithm
        self.kid = kid
        self.issuer = issuer
        self.audience = audience

    @classmethod
    def hs256(cls, secret: str, *, issuer: str = "", audience: str = "") -> TokenSigner:
        return cls(secret, "HS256", issuer=issuer, audience=audience)

    @classmethod
    def from_pem(cls, pem: bytes, kid: str, *, issuer: str = "", audience: str = "") -> TokenSigner:
        key = serialization.load_pem_private_key(pem, password=None)
        if isinstance(key, rsa.RSAPrivateKey):
            algorithm = "RS256"
        elif isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.name == "secp256r1":
            algorithm = "ES256"
        else:
            raise SettingsError("the JWT signing key must be an RSA or EC P-256 private key")
        return cls(key, algorithm, kid=kid, issuer=issuer, audience=audience)

    def issue(
        self,
        sub: str,
        roles: Sequence[str],
        office: str = "",
        ttl: timedelta = timedelta(hours=8),
        *,
        now: float | None = None,
    ) -> str:
        issued = int(time.time() if now is None else now)
        claims: dict[str, Any] = {
            "sub": sub,
            "roles": list(roles),
            "iat": issued,
            "exp": issued + int(ttl.total_seconds()),
            "jti": uuid.uuid4().hex,
        }
        if office:
            claims["office"] = office
        if self.issuer:
            claims["iss"] = self.issuer
        if self.audience:
            claims["aud"] = self.audience
        headers = {"kid": self.kid} if self.kid else None
        return jwt.encode(claims, self.key, algorithm=self.algorithm, headers=headers)


class ServiceIdentity:
    """This service's own token for calls to its peers, re-signed well before it expires."""

    def __init__(self, signer: TokenSigner, service: str, ttl: timedelta = SERVICE_TOKEN_TTL):
        self.signer = signer
        self.sub = f"service:{service}"
        self.ttl = ttl
        self._token = ""
        self._renew_at = 0.0
        self._lock = threading.Lock()

    def token(self) -> str:
        with self._lock:
            now = time.time()
            if now >= self._renew_at:
                self._token = self.signer.issue(self.sub, [SERVICE], ttl=self.ttl, now=now)
                self._renew_at = now + self.ttl.total_seconds() / 2
            return self._token


def _load_jwks(path: str) -> jwt.PyJWKSet:
    try:
        return jwt.PyJWKSet.from_dict(json.loads(Path(path).read_text()))
    except (OSError, ValueError, jwt.PyJWTError) as error:
        raise SettingsError(f"ADUAN_JWT_JWKS_FILE {path!r}: {error}") from None


def token_verifier(auth: AuthSettings, secret: str) -> TokenVerifier:
    """The verifier of `auth`'s JWKS (file or URL), issuer and audience, with `secret` for
    HS256: the services' (`ServiceAuth`), and the desk's check of an identity provider's access
    token before it accepts a sign-in."""
    return TokenVerifier(
        secret=secret,
        jwks=_load_jwks(auth.jwks_file) if auth.jwks_file else None,
        jwks_client=jwt.PyJWKClient(auth.jwks_url, cache_keys=True) if auth.jwks_url else None,
        issuer=auth.issuer,
        audience=auth.audience,
    )


@dataclass(frozen=True)
class ServiceAuth:
    """Verifier and service identity built from the settings (the composition roots' one call)."""

    verifier: TokenVerifier
    identity: ServiceIdentity
    dev: bool = False

    @classmethod
    def from_settings(cls, settings: ServiceSettings) -> ServiceAuth:
        return cls.build(settings.auth, settings.service)

    @classmethod
    def build(cls, auth: AuthSettings, service: str) -> ServiceAuth:
        secret = auth.jwt_secret
        if secret and len(secret.encode()) < MIN_SECRET_BYTES:
            raise SettingsError(f"ADUAN_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes")
        if not (secret or auth.jwks_file or auth.jwks_url):
            if not auth.dev:
                raise SettingsError(
                    "no token key configured: set ADUAN_JWT_JWKS_FILE or ADUAN_JWT_JWKS_URL "
                    "(production) or ADUAN_JWT_SECRET; ADUAN_AUTH_DEV=true starts with a public "
                    "development secret (never in production)"
                )
            secret = DEV_SECRET
            log.warning(
                "!!! ADUAN_AUTH_DEV=true and no key configured: tokens are checked against a "
                "PUBLIC development secret; anyone can mint any role. Never run this way in "
                "production !!!"
            )
        elif auth.dev:
            log.warning(
                "!!! ADUAN_AUTH_DEV=true: development authentication (HS256 shared secret); "
                "not for production !!!"
            )
        verifier = token_verifier(auth, secret)
        if auth.signing_key_file:
            try:
                pem = Path(auth.signing_key_file).read_bytes()
            except OSError as error:
                raise SettingsError(f"ADUAN_JWT_SIGNING_KEY_FILE: {error}") from None
            if not auth.kid:
                raise SettingsError("ADUAN_JWT_KID is required with ADUAN_JWT_SIGNING_KEY_FILE")
            signer = TokenSigner.from_pem(pem, auth.kid, issuer=auth.issuer, audience=auth.audience)
        elif secret:
            signer = TokenSigner.hs256(secret, issuer=auth.issuer, audience=auth.audience)
        else:
            raise SettingsError(
                "this service cannot call its peers: set ADUAN_JWT_SIGNING_KEY_FILE and "
                "ADUAN_JWT_KID (its public key must be in the peers' JWKS)"
            )
        return cls(verifier, ServiceIdentity(signer, service), dev=auth.dev)


# -- server side -------------------------------------------------------------------------------


def bearer_token(metadata: Iterable[tuple[str, Any]] | None) -> str:
    for key, value in metadata or ():
        if str(key).lower() == AUTHORIZATION:
            scheme, _, token = str(value).partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                return token.strip()
            raise UnauthenticatedError("authorization must be 'Bearer <token>'")
    raise UnauthenticatedError("missing bearer token (authorization: Bearer <jwt>)")


def _service_of(method: str) -> str:
    return method.strip("/").split("/", 1)[0]


class AuthInterceptor(HandlerInterceptor):
    """Authenticates every call except health and reflection, and checks the RPC's roles."""

    def __init__(self, verifier: TokenVerifier, policies: Iterable[Policy]) -> None:
        self.verifier = verifier
        self.policy: dict[str, Access] = {}
        for table in policies:
            self.policy.update(table)

    async def authorise(
        self, method: str, context: grpc.aio.ServicerContext[Any, Any]
    ) -> Principal:
        try:
            token = bearer_token(context.invocation_metadata())
            if self.verifier.blocking:
                principal = await asyncio.to_thread(self.verifier.verify, token)
            else:
                principal = self.verifier.verify(token)
        except UnauthenticatedError as error:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, str(error))
            raise  # abort() raises; this satisfies the type checker
        rule = self.policy.get(method)
        if rule is None:
            await context.abort(grpc.StatusCode.PERMISSION_DENIED, f"no access policy for {method}")
            raise AssertionError("unreachable")
        admitted = sorted(rule.roles & principal.roles)
        if not admitted:
            log.info(
                "permission denied",
                extra={"method": method, "sub": principal.sub, "roles": sorted(principal.roles)},
            )
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"{method} needs one of the roles {sorted(rule.roles)}",
            )
        # The first admitted role in ROLES order is the one recorded as the actor's role.
        role = next((r for r in ROLES if r in admitted), admitted[0])
        return Principal(principal.sub, principal.roles, principal.office, role)

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        if _service_of(method) in OPEN_SERVICES:
            return handler
        return _guarded(handler, method, self.authorise)


def _guarded(
    handler: grpc.RpcMethodHandler,
    method: str,
    authorise: Callable[[str, grpc.aio.ServicerContext[Any, Any]], Awaitable[Principal]],
) -> grpc.RpcMethodHandler:
    inner = behaviour_of(handler)
    if not handler.response_streaming:

        async def single(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
            token = _principal.set(await authorise(method, context))
            try:
                return await inner(request, context)
            finally:
                _principal.reset(token)

        return with_behaviour(handler, single)

    async def streamed(
        request: Any, context: grpc.aio.ServicerContext[Any, Any]
    ) -> AsyncIterator[Any]:
        # Not reset afterwards: an abandoned stream is closed from another task, where the
        # token would not be valid; the call's task ends with the stream anyway.
        _principal.set(await authorise(method, context))
        async for item in responses_of(inner, request, context):
            yield item

    return with_behaviour(handler, streamed)


def require_office(principal: Principal) -> str:
    """The office an officer or supervisor acts for; a token without one cannot act."""
    if not principal.office:
        raise PermissionDeniedError(f"{principal.sub}: the token names no office")
    return principal.office


# -- client side -------------------------------------------------------------------------------


def _with_token(metadata: Any, token: Callable[[], str]) -> grpc.aio.Metadata:
    """The call's metadata plus our token, unless the call brings its own."""
    merged = grpc.aio.Metadata()
    for key, value in metadata or ():
        merged.add(key, value)
    if AUTHORIZATION not in merged:
        merged.add(AUTHORIZATION, f"Bearer {token()}")
    return merged


class _BearerAio:
    def __init__(self, token: Callable[[], str]) -> None:
        self.token = token

    def _details(self, details: grpc.aio.ClientCallDetails) -> grpc.aio.ClientCallDetails:
        return grpc.aio.ClientCallDetails(
            method=details.method,
            timeout=details.timeout,
            metadata=_with_token(details.metadata, self.token),
            credentials=details.credentials,
            wait_for_ready=details.wait_for_ready,
        )


class _BearerUnaryUnary(_BearerAio, grpc.aio.UnaryUnaryClientInterceptor):
    async def intercept_unary_unary(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


class _BearerUnaryStream(_BearerAio, grpc.aio.UnaryStreamClientInterceptor):
    async def intercept_unary_stream(
        self, continuation: Any, client_call_details: grpc.aio.ClientCallDetails, request: Any
    ) -> Any:
        return await continuation(self._details(client_call_details), request)


def bearer_interceptors(token: Callable[[], str]) -> list[grpc.aio.ClientInterceptor]:
    """Client interceptors for an aio channel adding `authorization: Bearer <token()>` to every
    unary and server-streaming call that brings no token of its own. (grpc.aio files each
    interceptor object under one call kind only, hence one per kind.)"""
    return [_BearerUnaryUnary(token), _BearerUnaryStream(token)]


class _CallDetails(NamedTuple):
    method: str
    timeout: float | None
    metadata: Any
    credentials: Any
    wait_for_ready: bool | None
    compression: Any


class _SyncBearer(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
):
    def __init__(self, token: Callable[[], str]) -> None:
        self.token = token

    def _details(self, details: Any) -> Any:
        metadata = list(details.metadata or ())
        if not any(str(k).lower() == AUTHORIZATION for k, _ in metadata):
            metadata.append((AUTHORIZATION, f"Bearer {self.token()}"))
        return _ClientCallDetails(
            details.method,
            details.timeout,
            metadata,
            details.credentials,
            getattr(details, "wait_for_ready", None),
            getattr(details, "compression", None),
        )

    def intercept_unary_unary(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(
        self, continuation: Any, client_call_details: Any, request: Any
    ) -> Any:
        return continuation(self._details(client_call_details), request)


class _ClientCallDetails(_CallDetails, grpc.ClientCallDetails):
    pass


def with_bearer(channel: grpc.Channel, token: str | Callable[[], str]) -> grpc.Channel:
    """A blocking channel that sends `token` on every call (unless the call brings its own
    `authorization` metadata): for the CLI, tests and scripts."""
    source: Callable[[], str] = (lambda: token) if isinstance(token, str) else token
    return grpc.intercept_channel(channel, _SyncBearer(source))


def bearer_metadata(token: str) -> tuple[tuple[str, str]]:
    return ((AUTHORIZATION, f"Bearer {token}"),)


@dataclass
class DevTokens:
    """Development tokens signed with a shared HS256 secret (`aduan token`, the local stack,
    tests)."""

    secret: str
    issuer: str = ""
    audience: str = ""
    _signer: TokenSigner | None = field(default=None, repr=False)

    def issue(
        self,
        role: str | Sequence[str],
        office: str = "",
        sub: str = "",
        ttl: timedelta = timedelta(hours=8),
    ) -> str:
        roles = [role] if isinstance(role, str) else list(role)
        if self._signer is None:
            self._signer = TokenSigner.hs256(
                self.secret, issuer=self.issuer, audience=self.audience
            )
        subject = sub or (f"dev:{roles[0]}" + (f"@{office}" if office else ""))
        return self._signer.issue(subject, roles, office.upper(), ttl)
