"""Production sign-in in a real headless Chromium: the desk runs with development mode off
against the fake OpenID Connect identity provider (served over HTTP), and the services verify
the provider's access tokens against its JWKS (`ADUAN_JWT_JWKS_URL`, issuer and audience). An
officer asks for the queue, is sent to the provider's page, signs in there, comes back to the
queue and sees a complaint filed through the gRPC API (by a gateway whose token the same
provider issued); signing out ends the provider's session too. Screenshot:
docs/desk/signin-oidc.png."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from browser.conftest import WAIT_MS
from browser.test_desk_flow import file_complaint
from playwright.sync_api import Browser, expect

from aduan_devtools.natsserver import free_port
from aduan_devtools.stack import LocalStack
from aduan_devtools.testing.oidc import FakeIdentityProvider

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "desk"
CLIENT = "aduan-desk"
AUDIENCE = "aduan"


@pytest.fixture(scope="module")
def idp() -> Iterator[FakeIdentityProvider]:
    port = free_port()
    provider = FakeIdentityProvider(f"http://127.0.0.1:{port}", client_id=CLIENT, audience=AUDIENCE)
    with provider.serve(port):
        yield provider


@pytest.fixture(scope="module")
def oidc_stack(
    idp: FakeIdentityProvider, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    data_dir: Path = tmp_path_factory.mktemp("desk-oidc-stack") / "var"
    token_settings = {
        "ADUAN_JWT_JWKS_URL": f"{idp.issuer}/jwks",
        "ADUAN_JWT_ISSUER": idp.issuer,
        "ADUAN_JWT_AUDIENCE": AUDIENCE,
    }
    desk = {
        # Production sign-in only: no development mode, no shared secret.
        "ADUAN_AUTH_DEV": "false",
        "ADUAN_JWT_SECRET": "",
        "ADUAN_DESK_OIDC_ISSUER": idp.issuer,
        "ADUAN_DESK_OIDC_CLIENT_ID": CLIENT,
        "ADUAN_DESK_SESSION_SECRET": uuid.uuid4().hex + uuid.uuid4().hex,
    }
    with LocalStack.on_free_ports(
        data_dir, desk_port=free_port(), env=token_settings, service_env={"desk": desk}
    ) as running:
        yield running


def test_an_officer_signs_in_at_the_identity_provider_and_sees_their_queue(
    oidc_stack: LocalStack, idp: FakeIdentityProvider, browser: Browser
) -> None:
    desk = oidc_stack.desk_url
    filed = file_complaint(oidc_stack, idp.access_token("gateway:browser-test", ["gateway"]))

    context = browser.new_context(base_url=desk, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto("/queue")
    expect(page).to_have_url(f"{desk}/signin")
    expect(page.locator(".devmode")).to_have_count(0)
    sign_in = page.get_by_role("link", name="Masuk dengan akun kementerian")
    expect(sign_in).to_be_visible()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "signin-oidc.png"), full_page=True)

    # At the identity provider's own page.
    sign_in.click()
    expect(page).to_have_url(
        re.compile(re.escape(f"{idp.issuer}/authorize?") + ".*code_challenge_method=S256")
    )
    page.get_by_label("Account").select_option("siti")
    page.get_by_role("button", name="Sign in").click()

    # Back at the desk, on the queue asked for, as the provider's user.
    expect(page).to_have_url(f"{desk}/queue")
    expect(page.get_by_test_id("who")).to_have_text("officer:siti")
    row = page.locator(f'#queue-rows tr[data-complaint="{filed.complaint_id}"]')
    for _ in range(20):
        if row.count():
            break
        page.wait_for_timeout(500)
        page.reload()
    expect(row).to_contain_text(filed.ticket_number)

    # Signing out ends the provider's session too and comes back to the sign-in page.
    page.get_by_role("button", name="Keluar").click()
    expect(page).to_have_url(f"{desk}/signin")
    assert [logout["client_id"] for logout in idp.logouts] == [CLIENT]
    page.goto("/queue")
    expect(page).to_have_url(f"{desk}/signin")
    context.close()
