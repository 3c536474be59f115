"""The supervisor's view against the real query service in-process (projected history, the
service's token checks): the Kantah rows of a Kanwil equal query's own answer to the same token,
the regency and province maps are coloured from those rows, the trend asks one week at a time,
and a supervisor asking for an office outside their own gets query's refusal."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from aduan_desk import supervision
from aduan_devtools.testing.deskquery import BANDUNG, KAB_BANDUNG, KANWIL, Desk, served_desk


@pytest.fixture
async def desk(tmp_path: Path) -> AsyncIterator[Desk]:
    async with served_desk(tmp_path) as served:
        yield served


def cells(html: str, office_code: str) -> dict[str, str]:
    row = re.search(rf'<tr data-office="{re.escape(office_code)}"[^>]*>(.*?)</tr>', html, re.S)
    assert row, f"no row for {office_code}"
    return {
        name: re.sub(r"<[^>]+>", "", value).strip()
        for name, value in re.findall(r'<td data-kpi="(\w+)"[^>]*>(.*?)</td>', row[1], re.S)
    }


async def test_a_kanwil_supervisor_sees_its_kantah_as_query_answers(desk: Desk) -> None:
    await desk.sign_in("supervisor", KANWIL)
    page = await desk.client.get("/offices")
    assert page.status_code == 200, page.text
    answer = await desk.stats("supervisor", KANWIL)
    for code in (BANDUNG, KAB_BANDUNG, KANWIL):
        shown, kpis = cells(page.text, code), answer[code]
        assert shown["backlog"] == str(kpis.backlog), code  # type: ignore[attr-defined]
        assert shown["overdue"] == str(kpis.overdue), code  # type: ignore[attr-defined]
        assert shown["bounced"] == str(kpis.bounced_out), code  # type: ignore[attr-defined]
    bandung = cells(page.text, BANDUNG)
    # Kota Bandung: one case waiting past its deadline, one bounced up; its breach is its own.
    assert (bandung["backlog"], bandung["overdue"], bandung["bounced"]) == ("1", "1", "1")
    assert bandung["compliance"] == "0%"
    assert bandung["breaches"].startswith("1 (1/0/0)")
    assert cells(page.text, KAB_BANDUNG)["compliance"] == "100%"
    # The Kanwil's own line is rolled up: its Kantah's backlog and breaches are in it.
    whole = cells(page.text, KANWIL)
    assert (whole["backlog"], whole["breaches"][:1]) == ("3", "1")
    # Every Kantah of Jawa Barat has a row; those with nothing in the period show zeros.
    assert cells(page.text, "KANTAH.32.01")["backlog"] == "0"
    # The regency map: one tile per Kantah, coloured by its compliance.
    assert re.search(rf'class="tile band-poor" data-tile="{BANDUNG}"', page.text)
    assert re.search(rf'class="tile band-good" data-tile="{KAB_BANDUNG}"', page.text)
    assert 'data-testid="trend"' in page.text


async def test_the_trend_asks_query_one_week_at_a_time(desk: Desk) -> None:
    await desk.sign_in("supervisor", KANWIL)
    page = await desk.client.get("/offices", params={"weeks": "8"})
    assert page.status_code == 200
    table = re.search(r'data-testid="trend-table">(.*?)</table>', page.text, re.S)
    assert table
    assert table[1].count("<tr>") == 8 + 1  # the header and eight weeks
    # The polyline has a point for each week in which the Kanwil met or missed a deadline.
    assert re.search(r'<polyline class="line" points="[\d., ]+"', page.text)


async def test_the_triage_desk_sees_the_province_map(desk: Desk) -> None:
    await desk.sign_in("supervisor", "PUSAT.IP3")
    page = await desk.client.get("/offices")
    assert page.status_code == 200, page.text
    assert page.text.count('data-tile="') == 38
    answer = await desk.stats("supervisor", "PUSAT.IP3")
    kanwil = answer[KANWIL]
    assert kanwil.HasField("sla_compliance")  # type: ignore[attr-defined]
    expected = supervision.band(kanwil.sla_compliance)  # type: ignore[attr-defined]
    assert f'class="tile band-{expected}" data-tile="32"' in page.text
    assert 'class="tile band-none" data-tile="11"' in page.text  # Aceh: nothing in the period
    # Drilling into the Kanwil is a link; query answers the triage desk's token for it.
    assert 'href="/offices?office=KANWIL.32&amp;weeks=4"' in page.text
    drilled = await desk.client.get("/offices", params={"office": KANWIL})
    assert drilled.status_code == 200
    assert cells(drilled.text, BANDUNG)["backlog"] == "1"


async def test_query_refuses_an_office_outside_the_users_own(desk: Desk) -> None:
    await desk.sign_in("supervisor", BANDUNG)
    page = await desk.client.get("/offices", params={"office": KANWIL})
    assert page.status_code == 403
    own = await desk.client.get("/offices")
    assert own.status_code == 200
    assert 'data-testid="map"' not in own.text  # a Kantah has no offices below it
