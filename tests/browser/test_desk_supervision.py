"""Issue 19 items 3 and 4 in a real headless Chromium on the local stack with the desk: a
supervisor of KANWIL.32 opens /offices and sees its Kantah rows (one accepted in time, one still
waiting) and the regency map; an auditor opens a case, follows its verification link to /audit,
sees the history verified "utuh" (intact) and downloads a CSV export that holds the case's
events. Screenshots go to docs/desk/supervisor.png and docs/desk/audit.png (docs/desk.md)."""

from __future__ import annotations

import csv
import io
import time
import uuid
from pathlib import Path

import grpc
import pytest
from browser.conftest import signed_in as signed_in_through_the_form
from playwright.sync_api import Browser, Page, expect

from aduan.service.auth import bearer_metadata, with_bearer
from aduan.v1 import common_pb2, intake_pb2, intake_pb2_grpc, query_pb2, query_pb2_grpc
from aduan_devtools.stack import LocalStack

pytestmark = pytest.mark.e2e

SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "desk"
KANWIL = "KANWIL.32"
BANDUNG, KAB_BANDUNG = "KANTAH.32.73", "KANTAH.32.04"


def signed_in(browser: Browser, desk: str, role: str, office: str, name: str) -> Page:
    return signed_in_through_the_form(browser, desk, role, office, name, accept_downloads=True)


def file_complaint(stack: LocalStack, regency: str) -> str:
    channel = with_bearer(
        grpc.insecure_channel(stack.services["intake"].address),
        stack.token("gateway", sub="gateway:supervision-test"),
    )
    with channel:
        response = intake_pb2_grpc.IntakeStub(channel).FileComplaint(
            intake_pb2.FileComplaintRequest(
                idempotency_key=f"supervision-{uuid.uuid4()}",
                channel=common_pb2.CHANNEL_WEB,
                reporter=intake_pb2.Reporter(name="Dewi Lestari", phone="081234567890"),
                category=common_pb2.CATEGORY_LAND_SERVICE,
                location=common_pb2.Location(province_code="32", regency_code=regency),
                subject="Sertifikat belum terbit",
                description="Permohonan sertifikat saya sudah enam bulan belum terbit.",
            ),
            timeout=10,
        )
    return str(response.complaint_id)


def wait_placed(stack: LocalStack, complaint_id: str, within: float = 20.0) -> None:
    auditor = bearer_metadata(stack.token("auditor", sub="auditor:supervision-test"))
    deadline = time.monotonic() + within
    with grpc.insecure_channel(stack.services["query"].address) as channel:
        query = query_pb2_grpc.QueryStub(channel)
        while True:
            try:
                view = query.GetComplaint(
                    query_pb2.GetComplaintRequest(complaint_id=complaint_id),
                    metadata=auditor,
                    timeout=5,
                ).complaint
                if view.holding_office.code:
                    return
            except grpc.RpcError as error:
                if error.code() != grpc.StatusCode.NOT_FOUND:
                    raise
            assert time.monotonic() < deadline, f"{complaint_id} not placed within {within} s"
            time.sleep(0.1)


def kpi(page: Page, office: str, name: str) -> str:
    return page.locator(f'tr[data-office="{office}"] td[data-kpi="{name}"]').inner_text().strip()


def test_supervisor_sees_offices_and_auditor_verifies_and_exports(
    desk_stack: LocalStack, browser: Browser
) -> None:
    desk = desk_stack.desk_url
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    accepted = file_complaint(desk_stack, "32.73")
    waiting = file_complaint(desk_stack, "32.04")
    for complaint_id in (accepted, waiting):
        wait_placed(desk_stack, complaint_id)

    # Kota Bandung's officer accepts its complaint: a deadline met in time.
    officer = signed_in(browser, desk, "officer", BANDUNG, "siti")
    officer.goto(f"/cases/{accepted}")
    officer.get_by_role("button", name="Terima kasus").click()
    expect(officer.get_by_test_id("status")).to_have_text("Diproses")

    # The Kanwil's supervisor: the Kantah rows, the trend and the map of its Kantah.
    supervisor = signed_in(browser, desk, "supervisor", KANWIL, "budi")
    supervisor.get_by_role("link", name="Kantor").click()
    expect(supervisor.get_by_role("heading", level=1)).to_contain_text(KANWIL)
    expect(supervisor.locator(f'tr[data-office="{BANDUNG}"]')).to_be_visible()
    expect(supervisor.locator(f'tr[data-office="{KAB_BANDUNG}"]')).to_be_visible()
    assert kpi(supervisor, BANDUNG, "compliance") == "100%"
    assert kpi(supervisor, BANDUNG, "backlog") == "1"
    assert kpi(supervisor, KAB_BANDUNG, "backlog") == "1"
    assert int(kpi(supervisor, KANWIL, "backlog")) >= 2  # the Kanwil with its Kantah
    tile_map = supervisor.get_by_test_id("map")
    expect(tile_map).to_be_visible()
    expect(tile_map.locator(f'rect[data-tile="{BANDUNG}"]')).to_have_class("tile band-good")
    expect(tile_map.locator(f'rect[data-tile="{KAB_BANDUNG}"]')).to_have_class("tile band-none")
    expect(supervisor.get_by_test_id("trend")).to_be_visible()
    # The map section: a tile per Kantah coloured by its compliance, and the legend.
    supervisor.goto(f"/offices?office={KANWIL}#h-map")
    supervisor.locator("section", has=supervisor.locator("#h-map")).screenshot(
        path=str(SCREENSHOTS / "supervisor.png")
    )

    # The triage desk's supervisor: the map of Indonesia by province, Jawa Barat coloured by
    # KANWIL.32's compliance (its Kantah's included), and a link down to the Kanwil.
    triage = signed_in(browser, desk, "supervisor", "PUSAT.IP3", "rina")
    triage.goto("/offices")
    provinces = triage.get_by_test_id("map")
    expect(provinces.locator("rect[data-tile]")).to_have_count(38)
    expect(provinces.locator('rect[data-tile="32"]')).to_have_class("tile band-good")
    triage.locator("section", has=triage.locator("#h-map")).screenshot(
        path=str(SCREENSHOTS / "offices-map.png")
    )
    provinces.get_by_role("link", name="Jawa Barat: 100%").click()
    expect(triage.get_by_role("heading", level=1)).to_contain_text(KANWIL)

    # The auditor: from the case page to its verification, then an export download.
    auditor = signed_in(browser, desk, "auditor", "", "ani")
    auditor.goto(f"/cases/{accepted}")
    auditor.get_by_test_id("verify-link").click()
    expect(auditor.get_by_test_id("verdict")).to_have_text("utuh")
    events = int(auditor.get_by_test_id("events").inner_text())
    assert events >= 3  # filed, opened, routed, accepted
    auditor.get_by_label("Format").select_option("csv")
    with auditor.expect_download() as download_info:
        auditor.get_by_role("button", name="Unduh").click()
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = [row for row in rows if row["complaint_id"] == accepted]
    assert {"ComplaintFiled", "CaseAccepted"} <= {row["event_type"] for row in mine}
    accepted_row = next(row for row in mine if row["event_type"] == "CaseAccepted")
    assert accepted_row["actor_id"] == "officer:siti"
    auditor.screenshot(path=str(SCREENSHOTS / "audit.png"), full_page=True)
