"""`sealed_condition`: query's SQL form of the sealed rule agrees with the policy's
`Oversight.is_sealed` and the holding chain, row by row."""

from __future__ import annotations

import pytest
from sqlalchemy import Boolean, Column, MetaData, String, Table, create_engine, insert, select

from aduan.reference.offices import OfficeLevel, default_registry
from aduan.service.auth import OFFICER, SUPERVISOR, Principal
from aduan.service.visibility import SealedScope, may_see_complaint, sees_everything
from aduan_query.views import sealed_condition

ROWS = [
    # (complaint_id, holding_office, category, confidential)
    ("plain-kantah", "KANTAH.32.73", "LAND_SERVICE", False),
    ("levy-itjen", "PUSAT.ITJEN", "ILLEGAL_LEVY", False),
    ("plain-itjen", "PUSAT.ITJEN", "LAND_SERVICE", False),
    ("abuse-kantah", "KANTAH.32.73", "ABUSE_OF_AUTHORITY", False),
    ("secret-kantah", "KANTAH.32.73", "LAND_SERVICE", True),
    ("levy-hak-tanah", "PUSAT.HAK_TANAH", "ILLEGAL_LEVY", False),
    ("plain-hak-tanah", "PUSAT.HAK_TANAH", "LAND_SERVICE", False),
]


def visible_ids(office: str) -> set[str]:
    registry = default_registry()
    metadata = MetaData()
    table = Table(
        "complaints",
        metadata,
        Column("complaint_id", String, primary_key=True),
        Column("holding_office", String, nullable=False),
        Column("office_chain", String, nullable=False),
        Column("category", String, nullable=False),
        Column("confidential", Boolean, nullable=False),
    )
    engine = create_engine("sqlite://")
    metadata.create_all(engine)
    with engine.begin() as conn:
        for complaint_id, holder, category, confidential in ROWS:
            chain = "|" + "|".join(registry.holding_chain(holder)) + "|"
            conn.execute(
                insert(table).values(
                    complaint_id=complaint_id,
                    holding_office=holder,
                    office_chain=chain,
                    category=category,
                    confidential=confidential,
                )
            )
        scope = SealedScope(office, registry.oversight)
        rows = conn.execute(select(table.c.complaint_id).where(sealed_condition(table, scope)))
        return {row[0] for row in rows}


def test_an_overseer_sees_plain_cases_and_sealed_ones_only_in_their_chain() -> None:
    assert visible_ids("PUSAT.HAK_TANAH") == {
        "plain-kantah",
        "levy-hak-tanah",
        "plain-hak-tanah",
    }


def test_the_triage_desk_is_in_every_chain_but_the_independent_inspectorates() -> None:
    assert visible_ids("PUSAT.IP3") == {row[0] for row in ROWS} - {"levy-itjen", "plain-itjen"}


def test_the_inspectorate_sees_what_it_holds_and_no_other_sealed_case() -> None:
    assert visible_ids("PUSAT.ITJEN") == {
        "plain-kantah",
        "levy-itjen",
        "plain-itjen",
        "plain-hak-tanah",
    }


@pytest.mark.parametrize("role", [OFFICER, SUPERVISOR])
@pytest.mark.parametrize(
    "office", [o.code for o in default_registry().list(level=OfficeLevel.PUSAT)]
)
def test_the_sql_agrees_with_the_policy_for_every_pusat_office(role: str, office: str) -> None:
    """Every row here is filed under the triage desk's queue and is plain or sealed: for every
    Pusat office, the rows the condition keeps that the caller's office filter (if any) admits
    are those `may_see_complaint` admits."""
    registry = default_registry()
    caller = Principal(f"{role}:test", frozenset({role}), office, role)
    expected = {
        complaint_id
        for complaint_id, holder, category, confidential in ROWS
        if may_see_complaint(caller, holder, registry, category=category, confidential=confidential)
    }
    kept = visible_ids(office)
    if not sees_everything(caller, registry):
        # The office filter: the rows filed under the caller's office.
        kept = {
            complaint_id
            for complaint_id, holder, _, _ in ROWS
            if complaint_id in kept and office in registry.holding_chain(holder)
        }
    assert kept == expected
