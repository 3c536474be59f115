"""Intake on PostgreSQL (skipped unless ADUAN_TEST_POSTGRES_URL is set): side tables in the
service's schema, concurrent filings, reveal and erasure."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from e2e.canary import CANARY

from aduan.core.context import CommandContext
from aduan.core.errors import InvalidStateError
from aduan.eventstore.store import store_env
from aduan_intake.application import IntakeApplication
from aduan_intake.domain import CaseStatus
from aduan_intake.filing import FilingRequest
from aduan_intake.reveals import RevealPurpose

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


@pytest.fixture
def pg_app(postgres_url: str) -> Iterator[IntakeApplication]:
    application = IntakeApplication(env=store_env(postgres_url, "intake"))
    yield application
    application.close()


def test_filing_sealing_and_erasure_on_postgres(
    pg_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    request = filing(
        idempotency_key=f"pg-{uuid.uuid4()}",
        reporter_name=CANARY.name,
        reporter_phone=CANARY.phone,
        reporter_nik=CANARY.nik,
    )
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: pg_app.file_complaint(request, ctx), range(20)))
    assert len({r.complaint_id for r in results}) == 1
    assert sum(r.created for r in results) == 1
    complaint = pg_app.get_complaint(results[0].ticket_number)
    assert pg_app.open_complaint_for_phone(CANARY.phone_e164) is not None
    revealed = pg_app.reveal_contact(str(complaint.id), "test", ctx, RevealPurpose.LEGAL_PROCESS)
    assert revealed.identity.nik == CANARY.nik

    pg_app.note_case_status("routing", 5, str(complaint.id), CaseStatus.RESOLVED)
    pg_app.tables.note_case_status(str(complaint.id), CaseStatus.ACTIVE.value, 4)  # older
    assert pg_app.case_status(complaint.id) == CaseStatus.RESOLVED

    pg_app.erase_reporter(complaint.reporter_id, "request", ctx)
    assert not pg_app.identity_is_recoverable(complaint.reporter_id)
    assert pg_app.open_complaint_for_phone(CANARY.phone_e164) is None
    with pytest.raises(InvalidStateError):
        pg_app.reveal_contact(str(complaint.id), "test", ctx)


def test_tracking_codes_on_postgres(
    pg_app: IntakeApplication, filing: Callable[..., FilingRequest], ctx: CommandContext
) -> None:
    from aduan_intake.domain import Channel
    from aduan_intake.trackingcodes import canonical_tracking_code
    from aduan_intake.validation import validate_filing

    def anonymous(key: str) -> FilingRequest:
        return filing(idempotency_key=key, reporter_name="", reporter_phone="", anonymous=True)

    alone = pg_app.file_complaint(anonymous(f"pg-anon-{uuid.uuid4()}"), ctx)
    (grouped,) = pg_app.file_group([(validate_filing(anonymous(f"pg-g-{uuid.uuid4()}")), ctx)])
    assert not isinstance(grouped, Exception)
    for result in (alone, grouped):
        canonical = canonical_tracking_code(result.tracking_code)
        assert canonical is not None
        found = pg_app.request_status_by_tracking_code(
            result.tracking_code, channel=Channel.WEB, idempotency_key="pg", ctx=ctx
        )
        assert found.ticket_number == result.ticket_number
        assert pg_app.tables.complaint_for_tracking_code(canonical) is None, "no plain code"
