"""Token handling: HS256 for development, RS256/ES256 against a JWKS, issuer and audience, no
algorithm confusion, service identities, and start-up refusing to run without a key."""

from __future__ import annotations

import json
import logging
import time
from datetime import timedelta
from pathlib import Path

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from aduan.core.context import ActorKind
from aduan.core.errors import UnauthenticatedError
from aduan.core.settings import AuthSettings, SettingsError
from aduan.service.auth import (
    DEV_SECRET,
    Principal,
    ServiceAuth,
    ServiceIdentity,
    TokenSigner,
    TokenVerifier,
)
from aduan_devtools.cli import main as aduan

SECRET = "unit-tests-secret-0123456789abcdefghij"


def pem(key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def jwks_file(tmp_path: Path, *keys: tuple[str, object]) -> Path:
    entries = []
    for kid, key in keys:
        public = key.public_key()  # type: ignore[attr-defined]
        algorithm = jwt.algorithms.RSAAlgorithm if isinstance(public, rsa.RSAPublicKey) else None
        jwk = json.loads(
            (algorithm or jwt.algorithms.ECAlgorithm).to_jwk(public)  # type: ignore[attr-defined]
        )
        jwk["kid"] = kid
        entries.append(jwk)
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": entries}))
    return path


def test_hs256_round_trip_and_claims() -> None:
    token = TokenSigner.hs256(SECRET).issue("officer:siti", ["officer"], "kantah.32.73")
    principal = TokenVerifier(secret=SECRET).verify(token)
    assert principal == Principal("officer:siti", frozenset({"officer"}), "KANTAH.32.73")
    actor = Principal("officer:siti", frozenset({"officer"}), "KANTAH.32.73", "officer").actor()
    assert (actor.id, actor.kind, actor.role, actor.office_code) == (
        "officer:siti",
        ActorKind.OFFICER,
        "officer",
        "KANTAH.32.73",
    )


@pytest.mark.parametrize(
    "token",
    [
        TokenSigner.hs256(SECRET).issue(
            "x", ["admin"], ttl=timedelta(minutes=5), now=time.time() - 3600
        ),
        TokenSigner.hs256("some-other-secret-0123456789abcdefgh").issue("x", ["admin"]),
        jwt.encode({"sub": "x", "roles": ["admin"]}, SECRET, algorithm="HS256"),  # no exp/iat
        jwt.encode(
            {"sub": "x", "roles": ["admin"], "exp": time.time() + 60, "iat": time.time()},
            None,
            algorithm="none",
        ),
        "not-a-token",
    ],
    ids=["expired", "bad-signature", "no-expiry", "alg-none", "garbage"],
)
def test_invalid_tokens_are_refused(token: str) -> None:
    with pytest.raises(UnauthenticatedError):
        TokenVerifier(secret=SECRET).verify(token)


def test_rs256_and_es256_against_a_jwks_file_with_issuer_and_audience(tmp_path: Path) -> None:
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    path = jwks_file(tmp_path, ("rsa-1", rsa_key), ("ec-1", ec_key))
    auth = AuthSettings(jwks_file=str(path), issuer="https://sso.atrbpn.go.id", audience="aduan")
    verifier = ServiceAuth.build(
        AuthSettings(
            **{**auth.__dict__, "signing_key_file": _write(tmp_path, ec_key), "kid": "ec-1"}
        ),
        "routing",
    ).verifier
    for kid, key in (("rsa-1", rsa_key), ("ec-1", ec_key)):
        signer = TokenSigner.from_pem(pem(key), kid, issuer=auth.issuer, audience=auth.audience)
        principal = verifier.verify(signer.issue("auditor:bpk", ["auditor"]))
        assert principal.roles == {"auditor"}
    wrong_audience = TokenSigner.from_pem(pem(rsa_key), "rsa-1", issuer=auth.issuer)
    with pytest.raises(UnauthenticatedError):
        verifier.verify(wrong_audience.issue("auditor:bpk", ["auditor"]))
    # A verifier of asymmetric keys takes no HS256 token (no algorithm confusion).
    hs_token = TokenSigner.hs256(SECRET).issue("x", ["admin"])
    with pytest.raises(UnauthenticatedError, match="HS256"):
        verifier.verify(hs_token)


def _write(tmp_path: Path, key: ec.EllipticCurvePrivateKey) -> str:
    path = tmp_path / "signing.pem"
    path.write_bytes(pem(key))
    return str(path)


def test_a_service_identity_is_short_lived_and_renewed() -> None:
    identity = ServiceIdentity(TokenSigner.hs256(SECRET), "notification", timedelta(seconds=60))
    first = identity.token()
    assert identity.token() == first
    claims = jwt.decode(first, SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["roles"]) == ("service:notification", ["service"])
    assert claims["exp"] - claims["iat"] == 60
    identity._renew_at = 0  # half its life is over
    assert identity.token() != first


def test_without_a_key_a_service_refuses_to_start_unless_in_development(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(SettingsError, match="no token key configured"):
        ServiceAuth.build(AuthSettings(), "intake")
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        ServiceAuth.build(AuthSettings(jwt_secret="short"), "intake")
    with caplog.at_level(logging.WARNING):
        dev = ServiceAuth.build(AuthSettings(dev=True), "intake")
    assert "PUBLIC development secret" in caplog.text
    assert dev.verifier.secret == DEV_SECRET


def test_aduan_token_issues_development_tokens(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("ADUAN_JWT_SECRET", raising=False)
    (tmp_path / "dev-jwt-secret").write_text(SECRET + "\n")
    args = ["token", "--data-dir", str(tmp_path), "--role", "officer", "--office", "KANTAH.32.73"]
    assert aduan([*args, "--sub", "officer:siti", "--ttl", "30m"]) == 0
    token = capsys.readouterr().out.strip()
    claims = jwt.decode(token, SECRET, algorithms=["HS256"])
    assert (claims["sub"], claims["roles"], claims["office"]) == (
        "officer:siti",
        ["officer"],
        "KANTAH.32.73",
    )
    assert claims["exp"] - claims["iat"] == 1800
    with pytest.raises(SystemExit, match="no token secret"):
        aduan(["token", "--data-dir", str(tmp_path / "elsewhere"), "--role", "auditor"])


def test_rs256_against_a_jwks_url(tmp_path: Path) -> None:
    """Production: the identity provider's keys fetched (and cached) from its JWKS URL."""
    import http.server
    import threading

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    body = jwks_file(tmp_path, ("idp-2026", key)).read_bytes()
    fetched: list[str] = []

    class Jwks(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            fetched.append(self.path)
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Jwks)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_port}/.well-known/jwks.json"
        signing = tmp_path / "signing.pem"
        signing.write_bytes(pem(key))
        auth = ServiceAuth.build(
            AuthSettings(jwks_url=url, signing_key_file=str(signing), kid="idp-2026"), "query"
        )
        assert auth.verifier.blocking  # the interceptor verifies it off the event loop
        officer = TokenSigner.from_pem(pem(key), "idp-2026").issue("officer:siti", ["officer"])
        for _ in range(3):
            assert auth.verifier.verify(officer).sub == "officer:siti"
        assert auth.verifier.verify(auth.identity.token()).sub == "service:query"
        assert fetched == ["/.well-known/jwks.json"]  # cached after the first fetch
        stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        with pytest.raises(UnauthenticatedError):
            auth.verifier.verify(TokenSigner.from_pem(pem(stranger), "idp-2026").issue("x", []))
    finally:
        server.shutdown()
