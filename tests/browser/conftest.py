"""The desk's stack tests: the local stack (the same code path as `make up`) with the desk, and
a headless Chromium driven by Playwright. The browser is Debian's `chromium` package (`.ci/run`
installs it); without it the browser tests skip, saying so."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from aduan_devtools.natsserver import free_port
from aduan_devtools.stack import LocalStack


@pytest.fixture(scope="module")
def desk_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    data_dir: Path = tmp_path_factory.mktemp("desk-stack") / "var"
    with LocalStack.on_free_ports(data_dir, desk_port=free_port()) as running:
        yield running


def sign_in(client: httpx.Client, role: str, office: str, name: str) -> None:
    """The desk's development sign-in, as a browser would fill it in."""
    page = client.get("/signin")
    match = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert match, page.text
    answer = client.post(
        "/signin",
        data={"csrf": match[1], "role": role, "office": office, "name": name},
    )
    assert answer.status_code == 303, answer.text


# How long a browser step may wait for the page (a loaded CI machine is slow).
WAIT_MS = 20_000


@pytest.fixture(scope="module")
def browser(chromium_path: str) -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=chromium_path, headless=True)
        try:
            yield launched
        finally:
            launched.close()


LAPTOP = {"width": 1280, "height": 900}


def signed_in(
    browser: Browser,
    desk: str,
    role: str,
    office: str,
    name: str,
    viewport: dict[str, int] | None = None,
    **context_options: Any,
) -> Page:
    """A browser context of its own (its own session cookie) signed in through the form."""
    context = browser.new_context(
        base_url=desk,
        viewport=viewport or LAPTOP,  # type: ignore[arg-type]
        **context_options,
    )
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto("/signin")
    expect(page.locator(".devmode")).to_contain_text("Development sign-in")
    page.get_by_label("Peran").select_option(role)
    page.get_by_label("Kode kantor").fill(office)
    page.get_by_label("Nama pengguna").fill(name)
    page.get_by_role("button", name="Masuk").click()
    expect(page.get_by_test_id("who")).to_have_text(f"{role}:{name}")
    return page


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    return path
