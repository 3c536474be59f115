"""The desk's OpenID Connect sign-in against a fake identity provider (in-process): the happy
path through PKCE and the ID token's checks to the user's queue with the provider's access token,
and each way a sign-in must fail; sign-out at the provider; the settings' refusals."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import grpc
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from starlette.testclient import TestClient

from aduan.core.settings import SettingsError
from aduan.service.auth import TokenVerifier
from aduan_desk.app import build_app
from aduan_desk.i18n import catalogue
from aduan_desk.oidc import OidcSignIn
from aduan_desk.settings import DeskSettings
from aduan_devtools.testing.desk import NOW, FakeBackend, refusal
from aduan_devtools.testing.oidc import FakeIdentityProvider, s256

ISSUER = "https://idp.example"
PUBLIC = "https://desk.example"
CLIENT = "aduan-desk"
AUDIENCE = "aduan"
t = catalogue("id")


@pytest.fixture
def idp() -> FakeIdentityProvider:
    return FakeIdentityProvider(ISSUER, client_id=CLIENT, audience=AUDIENCE)


@pytest.fixture
def jwks_file(idp: FakeIdentityProvider, tmp_path: Path) -> Path:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps(idp.jwks()))
    return path


def oidc_env(jwks_file: Path, **extra: str) -> dict[str, str]:
    return {
        "ADUAN_DESK_OIDC_ISSUER": ISSUER,
        "ADUAN_DESK_OIDC_CLIENT_ID": CLIENT,
        "ADUAN_DESK_PUBLIC_URL": PUBLIC,
        "ADUAN_DESK_SESSION_SECRET": "k" * 40,
        "ADUAN_JWT_JWKS_FILE": str(jwks_file),
        "ADUAN_JWT_ISSUER": ISSUER,
        "ADUAN_JWT_AUDIENCE": AUDIENCE,
        **extra,
    }


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


def desk(
    idp: FakeIdentityProvider, jwks_file: Path, backend: FakeBackend, **clock: Any
) -> TestClient:
    settings = DeskSettings.from_env(oidc_env(jwks_file))
    oidc = OidcSignIn(settings, transport=idp.transport())
    return TestClient(build_app(settings, backend, oidc=oidc, **clock), base_url=PUBLIC)


@pytest.fixture
def client(
    idp: FakeIdentityProvider, jwks_file: Path, backend: FakeBackend
) -> Iterator[TestClient]:
    with desk(idp, jwks_file, backend, clock=lambda: NOW) as test_client:
        yield test_client


def begin(client: TestClient, next_path: str = "") -> str:
    """The sign-in button: the desk answers with the provider's authorization URL."""
    query = "?" + urlencode({"next": next_path}) if next_path else ""
    answer = client.get(f"/signin/oidc{query}", follow_redirects=False)
    assert answer.status_code == 302, answer.text
    location = str(answer.headers["location"])
    assert location.startswith(f"{ISSUER}/authorize?")
    return location


def come_back(client: TestClient, callback: str) -> httpx.Response:
    parts = urlsplit(callback)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == f"{PUBLIC}/signin/callback"
    return client.get(f"{parts.path}?{parts.query}", follow_redirects=False)


def sign_in(client: TestClient, idp: FakeIdentityProvider, user: str = "siti") -> httpx.Response:
    return come_back(client, idp.sign_in(begin(client), user))


def signed_out(client: TestClient) -> bool:
    return client.get("/queue", follow_redirects=False).status_code == 303


def test_a_user_signs_in_at_the_provider_and_the_services_get_its_access_token(
    client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend, jwks_file: Path
) -> None:
    # A page asked for before signing in is where the user lands afterwards.
    answer = client.get("/queue?status=ASSIGNED", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (
        303,
        "/signin?next=%2Fqueue%3Fstatus%3DASSIGNED",
    )
    page = client.get(answer.headers["location"])
    assert 'href="/signin/oidc?next=/queue%3Fstatus%3DASSIGNED"' in page.text
    # No development sign-in without development mode.
    assert "Development sign-in" not in page.text
    assert client.post("/signin", data={"role": "auditor"}).status_code == 404

    authorization = begin(client, "/queue?status=ASSIGNED")
    asked = dict(parse_qsl(urlsplit(authorization).query))
    assert asked["response_type"] == "code"
    assert asked["client_id"] == CLIENT
    assert asked["redirect_uri"] == f"{PUBLIC}/signin/callback"
    assert asked["scope"] == "openid profile"
    assert asked["code_challenge_method"] == "S256"
    assert asked["state"]
    assert asked["nonce"]
    assert asked["code_challenge"]

    answer = come_back(client, idp.sign_in(authorization, "siti"))
    assert (answer.status_code, answer.headers["location"]) == (303, "/queue?status=ASSIGNED")
    # The token request proved the PKCE verifier, without a client secret (public client).
    exchange = idp.token_requests[-1]
    assert s256(exchange["code_verifier"]) == asked["code_challenge"]
    assert "client_secret" not in exchange
    assert exchange["client_id"] == CLIENT

    queue = client.get("/queue")
    assert queue.status_code == 200
    assert re.search(r'data-testid="who">officer:siti<', queue.text)
    calls = [call for call in backend.calls if call[0] == "list"]
    verifier = TokenVerifier(
        jwks=jwt.PyJWKSet.from_dict(idp.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    principal = verifier.verify(calls[-1][1])
    assert (principal.sub, principal.roles, principal.office) == (
        "officer:siti",
        frozenset({"officer"}),
        "KANTAH.32.73",
    )
    assert calls[-1][2].filter.office_code == "KANTAH.32.73"
    # The sign-out form may end at the provider; still no unsafe-inline.
    policy = queue.headers["content-security-policy"]
    assert f"form-action 'self' {ISSUER};" in policy
    assert "unsafe-inline" not in policy


def test_a_callback_with_a_state_the_desk_never_sent_is_refused(
    client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend
) -> None:
    callback = idp.sign_in(begin(client))
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    answer = come_back(client, forged)
    assert answer.status_code == 401
    assert t("signin.failed") in answer.text
    assert "mismatching_state" in answer.text
    assert not idp.token_requests  # the code was never exchanged
    assert signed_out(client)
    assert not backend.calls


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"nonce": "replayed"}, id="wrong-nonce"),
        pytest.param({"aud": "another-client"}, id="wrong-audience"),
        pytest.param({"iss": "https://evil.example"}, id="wrong-issuer"),
        pytest.param(
            {"exp": int(time.time()) - 3600, "iat": int(time.time()) - 7200}, id="expired"
        ),
    ],
)
def test_an_id_token_that_fails_its_checks_is_refused(
    client: TestClient, idp: FakeIdentityProvider, claims: dict[str, object]
) -> None:
    idp.id_token_claims.update(claims)
    answer = sign_in(client, idp)
    assert answer.status_code == 401
    assert t("signin.failed") in answer.text
    assert "id_token" in answer.text
    assert signed_out(client)


def test_an_id_token_signed_by_another_key_is_refused(
    client: TestClient, idp: FakeIdentityProvider
) -> None:
    idp.forged_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    answer = sign_in(client, idp)
    assert answer.status_code == 401
    assert t("signin.failed") in answer.text
    assert "id_token" in answer.text
    assert signed_out(client)


def test_a_code_from_another_sign_in_fails_pkce(
    client: TestClient, idp: FakeIdentityProvider
) -> None:
    first = idp.sign_in(begin(client))
    second = idp.sign_in(begin(client))
    # The first attempt's code with the second attempt's state: the desk sends the second
    # attempt's verifier, which does not hash to the first's challenge.
    code = dict(parse_qsl(urlsplit(first).query))["code"]
    state = dict(parse_qsl(urlsplit(second).query))["state"]
    answer = come_back(
        client, f"{PUBLIC}/signin/callback?{urlencode({'code': code, 'state': state})}"
    )
    assert answer.status_code == 401
    assert "invalid_grant" in answer.text
    assert signed_out(client)


def test_the_providers_refusal_is_shown(client: TestClient, idp: FakeIdentityProvider) -> None:
    idp.deny = "access_denied"
    answer = sign_in(client, idp)
    assert answer.status_code == 401
    assert t("signin.idp_error") in answer.text
    assert "access_denied" in answer.text
    assert signed_out(client)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example/queue",
        "https://evil.example/",
        "/\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
    ],
)
def test_the_return_path_is_only_a_path_on_the_desk(
    client: TestClient, idp: FakeIdentityProvider, target: str
) -> None:
    answer = come_back(client, idp.sign_in(begin(client, target)))
    assert (answer.status_code, answer.headers["location"]) == (303, "/queue")


@pytest.mark.parametrize(
    "claims",
    [
        pytest.param({"aud": "another-api"}, id="audience"),
        pytest.param({"iss": "https://other-idp.example"}, id="issuer"),
        pytest.param({"roles": 7}, id="roles-claim"),
    ],
)
def test_an_access_token_the_services_would_refuse_fails_the_sign_in(
    client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend, claims: dict[str, object]
) -> None:
    idp.access_token_claims.update(claims)
    answer = sign_in(client, idp)
    assert answer.status_code == 401
    assert t("signin.token_refused") in answer.text
    assert signed_out(client)
    assert not backend.calls


def test_an_account_without_a_desk_role_is_told_so(
    client: TestClient, idp: FakeIdentityProvider
) -> None:
    idp.access_token_claims["roles"] = ["gateway"]
    answer = sign_in(client, idp)
    assert answer.status_code == 401
    assert t("signin.no_role") in answer.text
    assert signed_out(client)


def test_an_expired_session_says_so_and_comes_back_after_signing_in(
    client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend
) -> None:
    assert sign_in(client, idp).status_code == 303
    backend.refuse["get"] = refusal(grpc.StatusCode.UNAUTHENTICATED)
    page = client.get("/cases/c-1")
    assert page.status_code == 401
    assert "Sesi Anda telah kedaluwarsa; silakan masuk lagi." in page.text
    assert 'href="/signin?next=%2Fcases%2Fc-1"' in page.text
    assert signed_out(client)


def test_sign_out_clears_the_session_and_ends_the_providers(
    client: TestClient, idp: FakeIdentityProvider
) -> None:
    assert sign_in(client, idp).status_code == 303
    csrf = re.search(r'name="csrf" value="([^"]+)"', client.get("/queue").text)
    assert csrf
    answer = client.post("/signout", data={"csrf": csrf[1]}, follow_redirects=False)
    assert answer.status_code == 303
    location = urlsplit(answer.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == f"{ISSUER}/logout"
    assert dict(parse_qsl(location.query)) == {
        "client_id": CLIENT,
        "post_logout_redirect_uri": f"{PUBLIC}/signin",
    }
    assert signed_out(client)


def test_an_unreachable_provider_is_said_plainly(jwks_file: Path, backend: FakeBackend) -> None:
    def unreachable(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    settings = DeskSettings.from_env(oidc_env(jwks_file))
    oidc = OidcSignIn(settings, transport=httpx.MockTransport(unreachable))
    with TestClient(build_app(settings, backend, oidc=oidc), base_url=PUBLIC) as test_client:
        answer = test_client.get("/signin/oidc", follow_redirects=False)
    assert answer.status_code == 502
    assert t("signin.idp_unreachable") in answer.text


def test_a_confidential_client_authenticates_at_the_token_endpoint(
    jwks_file: Path, backend: FakeBackend, tmp_path: Path
) -> None:
    idp = FakeIdentityProvider(ISSUER, client_id=CLIENT, audience=AUDIENCE, client_secret="s3")
    (tmp_path / "jwks.json").write_text(json.dumps(idp.jwks()))
    secret_file = tmp_path / "client-secret"
    secret_file.write_text("s3\n")
    settings = DeskSettings.from_env(
        oidc_env(jwks_file, ADUAN_DESK_OIDC_CLIENT_SECRET_FILE=str(secret_file))
    )
    assert settings.oidc.client_secret == "s3"
    oidc = OidcSignIn(settings, transport=idp.transport())
    with TestClient(build_app(settings, backend, oidc=oidc), base_url=PUBLIC) as test_client:
        assert sign_in(test_client, idp).status_code == 303


# -- settings --------------------------------------------------------------------------------


def test_oidc_alone_is_a_sign_in_the_desk_can_start_with(jwks_file: Path) -> None:
    settings = DeskSettings.from_env(oidc_env(jwks_file, ADUAN_DESK_OIDC_SCOPES="openid,email"))
    assert not settings.dev_sign_in
    assert settings.oidc.scopes == "openid email"
    assert settings.redirect_uri == f"{PUBLIC}/signin/callback"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"ADUAN_DESK_OIDC_ISSUER": ""}, "ADUAN_DESK_OIDC_ISSUER"),
        ({"ADUAN_DESK_OIDC_CLIENT_ID": ""}, "ADUAN_DESK_OIDC_CLIENT_ID is required"),
        ({"ADUAN_DESK_PUBLIC_URL": ""}, "ADUAN_DESK_PUBLIC_URL .* is required"),
        ({"ADUAN_DESK_PUBLIC_URL": "http://desk.example"}, "must be an https URL"),
        ({"ADUAN_DESK_OIDC_ISSUER": "http://idp.example"}, "must be an https URL"),
        ({"ADUAN_DESK_OIDC_ISSUER": "idp.example"}, "issuer URL"),
        ({"ADUAN_DESK_OIDC_SCOPES": "profile"}, "must include openid"),
        ({"ADUAN_JWT_JWKS_FILE": ""}, "ADUAN_JWT_JWKS_URL"),
        ({"ADUAN_DESK_OIDC_CLIENT_SECRET_FILE": "/nonexistent"}, "cannot be read"),
    ],
)
def test_the_desk_refuses_an_incomplete_oidc_configuration(
    jwks_file: Path, change: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError, match=message):
        DeskSettings.from_env(oidc_env(jwks_file, **change))


def test_the_desk_refuses_to_start_with_no_sign_in_at_all() -> None:
    with pytest.raises(SettingsError, match="no sign-in configured"):
        DeskSettings.from_env({"ADUAN_DESK_SESSION_SECRET": "x" * 40})
    # Development mode without the services' shared secret offers no development sign-in.
    with pytest.raises(SettingsError, match="no sign-in configured"):
        DeskSettings.from_env({"ADUAN_AUTH_DEV": "true"})


def test_only_pages_are_returned_to_not_their_fragments_or_streams(client: TestClient) -> None:
    for path, headers in (
        ("/queue/rows", {"HX-Request": "true"}),
        ("/queue/events", {"accept": "text/event-stream"}),
    ):
        answer = client.get(path, headers=headers, follow_redirects=False)
        assert (answer.status_code, answer.headers["location"]) == (303, "/signin")


def test_only_the_latest_pending_sign_ins_are_kept(
    client: TestClient, idp: FakeIdentityProvider
) -> None:
    callbacks = [idp.sign_in(begin(client)) for _ in range(5)]
    # The first two were dropped from the session; the latest three still come back.
    assert come_back(client, callbacks[0]).status_code == 401
    assert come_back(client, callbacks[4]).status_code == 303
    assert len(client.cookies["aduan_desk"]) < 4000


def test_the_policy_takes_only_plain_origins_from_discovery(jwks_file: Path) -> None:
    oidc = OidcSignIn(DeskSettings.from_env(oidc_env(jwks_file)))
    assert oidc.form_origins == [ISSUER]
    oidc.client.server_metadata.update(
        {
            "authorization_endpoint": "https://login.idp.example:8443/auth",
            "end_session_endpoint": "https://x.example; script-src * /logout",
        }
    )
    assert oidc.form_origins == [ISSUER, "https://login.idp.example:8443"]


def test_an_unreadable_jwks_file_is_a_settings_error(tmp_path: Path, backend: FakeBackend) -> None:
    settings = DeskSettings.from_env(oidc_env(tmp_path / "missing.json"))
    with pytest.raises(SettingsError, match="ADUAN_JWT_JWKS_FILE"):
        build_app(settings, backend)


@pytest.fixture
def live_client(
    idp: FakeIdentityProvider, jwks_file: Path, backend: FakeBackend
) -> Iterator[TestClient]:
    """The desk on the real clock (token expiry is real time)."""
    with desk(idp, jwks_file, backend) as test_client:
        yield test_client


def test_a_token_about_to_expire_is_renewed_before_the_page_calls_the_services(
    live_client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend
) -> None:
    """Identity providers often issue access tokens for minutes: an officer working all day
    keeps working, the services always get a token they accept, and the refresh token is
    rotated as the provider hands out new ones."""
    idp.access_ttl = 30  # inside the renewal margin from the start
    assert sign_in(live_client, idp).status_code == 303
    first = idp.token_requests[-1]
    assert first["grant_type"] == "authorization_code"
    assert live_client.get("/queue").status_code == 200
    renewal = idp.token_requests[-1]
    assert renewal["grant_type"] == "refresh_token"
    assert renewal["client_id"] == CLIENT
    tokens = [call[1] for call in backend.calls if call[0] == "list"]
    assert live_client.get("/queue").status_code == 200
    tokens.append([call[1] for call in backend.calls if call[0] == "list"][-1])
    # Each page got a freshly issued token; the one used at sign-in was never sent again.
    assert len(set(tokens)) == len(tokens) == 2
    assert [r["grant_type"] for r in idp.token_requests].count("refresh_token") == 2
    assert len(idp.refresh_tokens) == 1  # the used ones are gone
    # The session cookie carries both tokens and stays within what browsers keep (4 kB).
    assert len(live_client.cookies["aduan_desk"]) < 4000


def test_a_token_far_from_expiry_is_not_renewed(
    live_client: TestClient, idp: FakeIdentityProvider
) -> None:
    assert sign_in(live_client, idp).status_code == 303
    for _ in range(3):
        assert live_client.get("/queue").status_code == 200
    assert [r["grant_type"] for r in idp.token_requests] == ["authorization_code"]


def test_when_the_provider_ends_the_session_the_desk_asks_to_sign_in_again(
    live_client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend
) -> None:
    """A refused renewal keeps the current token until the services refuse it; then the user is
    told the session ended, as for any expired token."""
    idp.access_ttl = 30
    assert sign_in(live_client, idp).status_code == 303
    idp.refresh_tokens.clear()
    assert live_client.get("/queue").status_code == 200
    assert idp.token_requests[-1]["grant_type"] == "refresh_token"
    backend.refuse["list"] = refusal(grpc.StatusCode.UNAUTHENTICATED, "token expired")
    page = live_client.get("/queue")
    assert page.status_code == 401
    assert "Sesi Anda telah kedaluwarsa; silakan masuk lagi." in page.text
    assert signed_out(live_client)


def test_a_renewed_token_for_another_subject_is_not_used(
    live_client: TestClient, idp: FakeIdentityProvider, backend: FakeBackend
) -> None:
    idp.access_ttl = 30
    assert sign_in(live_client, idp).status_code == 303
    idp.access_token_claims["sub"] = "officer:someone-else"
    assert live_client.get("/queue").status_code == 200
    sent = [call[1] for call in backend.calls if call[0] == "list"][-1]
    verifier = TokenVerifier(
        jwks=jwt.PyJWKSet.from_dict(idp.jwks()), issuer=ISSUER, audience=AUDIENCE
    )
    assert verifier.verify(sent).sub == "officer:siti"
