"""The desk as people with other needs and other screens meet it (issue 19: "accessible
(keyboard, labels, contrast); usable on a laptop and a phone"), in a real headless Chromium:

- axe-core, the field's stock rules engine (vendored in `vendor/axe-core`), finds no WCAG 2.1 A
  or AA violation on the sign-in page, the queue, a case page and its time travel (in Indonesian
  and in English), the supervisors' office figures and map and the auditor's verification page,
  on a laptop and on a phone;
- the sign-in works from the keyboard alone, starting at the skip link;
- on a phone no page is wider than the screen (wide tables scroll inside their own box).
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from browser.conftest import WAIT_MS, signed_in
from browser.test_desk_flow import file_complaint
from playwright.sync_api import Browser, Page, expect

from aduan_devtools.stack import LocalStack

pytestmark = pytest.mark.e2e

AXE = Path(__file__).resolve().parent / "vendor" / "axe-core" / "axe.min.js"
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
PHONE = {"width": 390, "height": 844}
WIB = ZoneInfo("Asia/Jakarta")


@pytest.fixture(scope="module")
def axe_source() -> str:
    source = AXE.read_bytes()
    assert hashlib.sha256(source).hexdigest() == AXE_SHA256, "vendored axe-core changed"
    return source.decode("utf-8")


def violations(page: Page, axe_source: str) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now (run through the DevTools
    protocol, which the page's Content-Security-Policy does not govern)."""
    page.evaluate(axe_source)
    found: list[dict[str, Any]] = page.evaluate(
        """async (tags) => {
            const result = await axe.run(document, {runOnly: {type: "tag", values: tags}});
            return result.violations.map(v => ({
                id: v.id, impact: v.impact, help: v.help,
                nodes: v.nodes.map(n => n.target.join(" ")).slice(0, 5),
            }));
        }""",
        WCAG_21_AA,
    )
    return found


def page_width_overflow(page: Page) -> int:
    """How many CSS pixels the document is wider than the window (0: none)."""
    overflow: int = page.evaluate(
        "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
    )
    return overflow


def choose_english(page: Page) -> None:
    page.get_by_label("Bahasa", exact=True).select_option("en")
    page.get_by_role("button", name="OK").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")


@pytest.fixture(scope="module")
def case_id(desk_stack: LocalStack) -> str:
    return file_complaint(desk_stack).complaint_id


@pytest.mark.parametrize("viewport", [None, PHONE], ids=["laptop", "phone"])
def test_no_wcag_violation_on_any_page_in_either_language(
    desk_stack: LocalStack,
    browser: Browser,
    axe_source: str,
    case_id: str,
    viewport: dict[str, int] | None,
) -> None:
    desk = desk_stack.desk_url
    context = browser.new_context(
        base_url=desk, viewport=viewport or {"width": 1280, "height": 900}
    )
    context.set_default_timeout(WAIT_MS)
    anonymous = context.new_page()
    anonymous.goto("/signin")
    found = {"signin": violations(anonymous, axe_source)}
    context.close()

    officer = signed_in(browser, desk, "officer", "KANTAH.32.73", "siti", viewport=viewport)
    expect(officer.locator(f'#queue-rows tr[data-complaint="{case_id}"]')).to_have_count(1)
    a_minute_ago = (datetime.now(WIB) - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M")
    pages = {
        "queue": "/queue",
        "case": f"/cases/{case_id}",
        "time travel": f"/cases/{case_id}?as_of={a_minute_ago}",
    }
    overflow = {}
    for language in ("id", "en"):
        if language == "en":
            choose_english(officer)
        for name, path in pages.items():
            officer.goto(path)
            expect(officer.locator("main h1")).to_be_visible()
            found[f"{name} ({language})"] = violations(officer, axe_source)
            overflow[f"{name} ({language})"] = page_width_overflow(officer)
    # The supervisor's office figures and map, and the auditor's verification and exports.
    for role, office, path in (
        ("supervisor", "KANWIL.32", "/offices"),
        ("supervisor", "PUSAT.IP3", "/offices"),
        ("auditor", "", f"/audit?complaint={case_id}"),
    ):
        page = signed_in(browser, desk, role, office, f"a11y-{role}", viewport=viewport)
        page.goto(path)
        expect(page.locator("main h1")).to_be_visible()
        found[f"{path} ({role} {office})"] = violations(page, axe_source)
        overflow[f"{path} ({role} {office})"] = page_width_overflow(page)
        page.context.close()
    broken = {page: v for page, v in found.items() if v}
    assert not broken, json.dumps(broken, indent=2, ensure_ascii=False)
    # On a phone (and a laptop) the page itself never scrolls sideways.
    assert set(overflow.values()) == {0}, overflow


def test_signing_in_with_the_keyboard_alone(desk_stack: LocalStack, browser: Browser) -> None:
    context = browser.new_context(base_url=desk_stack.desk_url)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    page.goto("/signin")
    # The first Tab reaches the skip link, which leads past the header to the content.
    page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_text("Langsung ke isi")
    page.keyboard.press("Enter")
    for _ in range(10):
        if page.evaluate("() => document.activeElement && document.activeElement.id") == "role":
            break
        page.keyboard.press("Tab")
    expect(page.locator(":focus")).to_have_attribute("id", "role")
    # A focused control shows that it has the focus.
    outline = page.evaluate("() => getComputedStyle(document.activeElement).outlineStyle")
    assert outline not in ("", "none"), outline
    page.keyboard.press("ArrowDown")  # officer -> supervisor
    page.keyboard.press("Tab")
    page.keyboard.type("KANWIL.32")
    page.keyboard.press("Tab")
    page.keyboard.type("budi")
    page.keyboard.press("Enter")
    expect(page.get_by_test_id("who")).to_have_text("supervisor:budi")
    context.close()
