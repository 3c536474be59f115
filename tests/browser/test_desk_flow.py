"""Issue 19's browser scenario on the local stack with the desk, in a real headless Chromium:
an officer of KANTAH.32.73 sees a complaint filed through the gRPC API appear in the queue
without reloading, accepts it and escalates it to KANWIL.32 with a reason; a supervisor of
KANWIL.32 sees it and delegates it to another Kantah; the officer's queue no longer shows it;
an auditor opens the case as of before the escalation and sees the earlier holder; the trail
names each step's actor. Screenshots go to docs/desk/ (shown in docs/desk.md)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import grpc
import pytest
from browser.conftest import signed_in
from playwright.sync_api import Browser, Page, expect

from aduan.service.auth import with_bearer
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc
from aduan_devtools.stack import LocalStack

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "desk"
WIB = ZoneInfo("Asia/Jakarta")
OFFICE = "KANTAH.32.73"
KANWIL = "KANWIL.32"
# Another Kantah under KANWIL.32 (Kabupaten Bandung).
DELEGATE_TO = "KANTAH.32.04"


def file_complaint(stack: LocalStack, token: str = "") -> intake_pb2.FileComplaintResponse:
    """Filed through the gRPC API, as a channel gateway does (with `token`, else a development
    gateway token)."""
    channel = with_bearer(
        grpc.insecure_channel(stack.services["intake"].address),
        token or stack.token("gateway", sub="gateway:browser-test"),
    )
    with channel:
        response: intake_pb2.FileComplaintResponse = intake_pb2_grpc.IntakeStub(
            channel
        ).FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"desk-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_WEB,
                reporter=intake_pb2.Reporter(name="Dewi Lestari", phone="081234567890"),
                category=common_pb2.CATEGORY_LAND_SERVICE,
                location=common_pb2.Location(province_code="32", regency_code="32.73"),
                subject="Sertifikat belum terbit",
                description="Permohonan sertifikat saya sudah enam bulan belum terbit.",
                attachments=[
                    common_pb2.Attachment(
                        uri="media/desk-test/tanda-terima.jpg",
                        media_type="image/jpeg",
                        sha256="0f" * 32,
                        caption="Tanda terima permohonan",
                    )
                ],
            ),
            timeout=10,
        )
    return response


def row_of(page: Page, complaint_id: str) -> object:
    return page.locator(f'#queue-rows tr[data-complaint="{complaint_id}"]')


def test_officer_supervisor_and_auditor_work_a_case_in_the_browser(
    desk_stack: LocalStack, browser: Browser
) -> None:
    desk = desk_stack.desk_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    # The officer watches the queue; the complaint arrives while the page stays loaded.
    officer = signed_in(browser, desk, "officer", OFFICE, "siti")
    officer.goto("/queue")
    expect(officer.locator("#queue-rows")).to_have_attribute("data-live", "on")
    officer.evaluate("window.__sameDocument = true")
    filed = file_complaint(desk_stack)
    queue_row = officer.locator(f'#queue-rows tr[data-complaint="{filed.complaint_id}"]')
    expect(queue_row).to_contain_text(filed.ticket_number)
    assert officer.evaluate("window.__sameDocument") is True, "the queue page was reloaded"
    officer.screenshot(path=str(SCREENSHOTS / "queue.png"), full_page=True)

    # Accept, then escalate to the Kanwil with a reason.
    queue_row.get_by_role("link").click()
    expect(officer.get_by_test_id("holder")).to_contain_text(OFFICE)
    officer.get_by_role("button", name="Terima kasus").click()
    expect(officer.get_by_test_id("status")).to_have_text("Diproses")
    # The conversation: the filing with its attachment, then the officer's answer.
    officer.get_by_label("Teks tanggapan").fill("Berkas Anda sedang kami periksa.")
    officer.get_by_role("button", name="Tanggapi pelapor").click()
    expect(officer.get_by_role("status")).to_have_text("Tindakan tercatat.")
    talk = officer.get_by_test_id("conversation")
    expect(talk.locator('[data-side="reporter"]')).to_contain_text("enam bulan belum terbit")
    expect(talk.locator('[data-side="reporter"]')).to_contain_text("Tanda terima permohonan")
    expect(talk.locator('[data-side="office"]')).to_contain_text("Berkas Anda sedang kami periksa.")
    # A moment after the acceptance and before the escalation, to the second.
    time.sleep(1.0)
    before_escalation = datetime.now(UTC).replace(microsecond=0)
    time.sleep(1.2)
    officer.get_by_label("Jenis pengalihan").select_option("ESCALATE")
    officer.get_by_label("Kantor tujuan").select_option(KANWIL)
    officer.get_by_label("Kode alasan").select_option("NEEDS_HIGHER_AUTHORITY")
    officer.get_by_label("Catatan").fill("Perlu keputusan Kanwil")
    officer.get_by_role("button", name="Alihkan").click()
    expect(officer.locator(".notice")).to_have_text("Tindakan tercatat.")
    expect(officer.locator(f'tr[data-complaint="{filed.complaint_id}"]')).to_have_count(0)

    # The Kanwil's supervisor sees it in their queue and delegates it to another Kantah.
    supervisor = signed_in(browser, desk, "supervisor", KANWIL, "budi")
    supervisor.goto("/queue")
    supervisor_row = supervisor.locator(f'#queue-rows tr[data-complaint="{filed.complaint_id}"]')
    expect(supervisor_row).to_contain_text(KANWIL)
    supervisor_row.get_by_role("link").click()
    expect(supervisor.get_by_test_id("holder")).to_contain_text(KANWIL)
    supervisor.get_by_label("Jenis pengalihan").select_option("DELEGATE")
    # htmx swaps in the offices below the Kanwil.
    supervisor.get_by_label("Kantor tujuan").select_option(DELEGATE_TO)
    supervisor.get_by_label("Kode alasan").select_option("FIELD_WORK_NEEDED")
    supervisor.get_by_label("Catatan").fill("Perlu pemeriksaan lapangan di Kabupaten Bandung")
    supervisor.get_by_role("button", name="Alihkan").click()
    expect(supervisor.locator(".notice")).to_have_text("Tindakan tercatat.")

    # The first officer's queue does not show it.
    officer.goto("/queue")
    expect(officer.locator("#queue-rows")).to_have_attribute("data-live", "on")
    expect(officer.locator(f'tr[data-complaint="{filed.complaint_id}"]')).to_have_count(0)

    # The auditor: the case now, with every step's actor in the trail.
    auditor = signed_in(browser, desk, "auditor", "", "ani")
    auditor.goto(f"/cases/{filed.complaint_id}")
    expect(auditor.get_by_test_id("holder")).to_contain_text(DELEGATE_TO)
    trail = auditor.get_by_test_id("trail")
    accepted = trail.locator('tr[data-event="CaseAccepted"]')
    expect(accepted.locator(".actor")).to_contain_text(f"officer:siti (officer, {OFFICE})")
    moves = trail.locator('tr[data-event="CaseReassigned"]')
    expect(moves).to_have_count(2)
    expect(moves.nth(0).locator(".actor")).to_contain_text(f"officer:siti (officer, {OFFICE})")
    expect(moves.nth(0)).to_contain_text("Perlu keputusan Kanwil")
    expect(moves.nth(1).locator(".actor")).to_contain_text(
        f"supervisor:budi (supervisor, {KANWIL})"
    )
    expect(moves.nth(1)).to_contain_text("Perlu pemeriksaan lapangan")
    expect(auditor.get_by_test_id("custody")).to_contain_text(DELEGATE_TO)
    auditor.screenshot(path=str(SCREENSHOTS / "case.png"), full_page=True)

    # Time travel with the date-time picker: as of before the escalation the officer's Kantah
    # held it, in progress, and the trail ends with the acceptance.
    picker_value = before_escalation.astimezone(WIB).strftime("%Y-%m-%dT%H:%M:%S")
    auditor.get_by_label("Tanggal dan jam").fill(picker_value)
    auditor.get_by_role("button", name="Tampilkan").click()
    expect(auditor.get_by_test_id("as-of")).to_contain_text("Keadaan per")
    expect(auditor.get_by_test_id("holder")).to_contain_text(OFFICE)
    expect(auditor.get_by_test_id("status")).to_have_text("Diproses")
    expect(
        auditor.get_by_test_id("trail").locator('tr[data-event="CaseReassigned"]')
    ).to_have_count(0)
    expect(auditor.get_by_test_id("trail").locator('tr[data-event="CaseAccepted"]')).to_have_count(
        1
    )
    auditor.screenshot(path=str(SCREENSHOTS / "time-travel.png"), full_page=True)
    assert before_escalation > datetime.now(UTC) - timedelta(minutes=5)
