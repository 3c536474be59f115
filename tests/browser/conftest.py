"""The desk's stack tests: the local stack (the same code path as `make up`) with the desk, and
a headless Chromium driven by Playwright. The browser is Debian's `chromium` package (`.ci/run`
installs it); without it the browser tests skip, saying so."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

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


@pytest.fixture(scope="module")
def chromium_path() -> str:
    path = shutil.which("chromium")
    if path is None:
        pytest.skip("Debian's chromium is not installed (apt-get install chromium; .ci/run does)")
    return path
