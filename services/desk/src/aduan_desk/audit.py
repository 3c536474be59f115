"""The auditor's page (`/audit`, docs/desk.md): a complaint's hash-chain and checkpoint
verification (the platform's rule, `aduan.contract.verification`, over the write services'
EventLogs read with the user's token) and export downloads (the platform's format,
`aduan.contract.auditview`, of query's `ListAuditEvents` with the user's token, streamed page by
page). The queue as of a moment is `/queue?as_of=...`. Whatever the services refuse the token, the
desk shows; it decides nothing of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime

from aduan.contract.auditrows import entry_row
from aduan.contract.auditview import EXPORT_FORMATS, Places, export_header, export_line
from aduan.contract.verification import HistoryVerdict
from aduan.reference.offices import OfficeRegistry
from aduan.v1 import common_pb2, query_pb2
from aduan_desk.backend import Backend, timestamp

EXPORT_PAGE = 500
MEDIA_TYPES = {"jsonl": "application/x-ndjson; charset=utf-8", "csv": "text/csv; charset=utf-8"}
# Findings shown on the page; the count says how many there are.
FINDINGS_SHOWN = 50


@dataclass(frozen=True)
class ServiceLine:
    service: str
    events: int
    head: int
    checkpoints: int
    proven: str  # "first..last" or ""
    findings: int
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class Verification:
    complaint_id: str
    events: int
    sealed: int
    intact: bool
    services: list[ServiceLine]
    touching: list[str]
    findings: list[str]
    more: int


def verification(complaint_id: str, verdict: HistoryVerdict) -> Verification:
    findings = verdict.findings
    touching = verdict.touching
    others = [f for f in findings if f not in touching]
    shown = [str(f) for f in others[:FINDINGS_SHOWN]]
    return Verification(
        complaint_id=complaint_id,
        events=len(verdict.events),
        sealed=verdict.sealed,
        intact=verdict.intact,
        services=[
            ServiceLine(
                service=r.service,
                events=r.events,
                head=r.head,
                checkpoints=r.checkpoints,
                proven=f"{r.proven[0]}..{r.proven[1]}" if r.proven else "",
                findings=len(r.findings),
                warnings=tuple(r.warnings),
            )
            for r in verdict.reports
        ],
        touching=[str(f) for f in touching],
        findings=shown,
        more=max(len(others) - FINDINGS_SHOWN, 0),
    )


async def verify_complaint(
    backend: Backend, token: str, complaint_id: str
) -> tuple[query_pb2.ComplaintView, Verification]:
    """The complaint (by id or ticket) and the verification of the logs its events are in: its
    events are those of its audit trail, as query answers the token."""
    view = await backend.get_complaint(token, complaint_id)
    entries = await backend.audit_trail(token, view.complaint_id)
    events: Sequence[tuple[str, int]] = [(e.service, e.position) for e in entries]
    verdict = await backend.verify_history(token, events)
    return view, verification(view.complaint_id, verdict)


def export_request(
    since: datetime | None, until: datetime | None, page_token: str = ""
) -> query_pb2.ListAuditEventsRequest:
    occurred = common_pb2.TimeRange()
    if since is not None:
        occurred.start.CopyFrom(timestamp(since))
    if until is not None:
        occurred.end.CopyFrom(timestamp(until))
    return query_pb2.ListAuditEventsRequest(
        occurred=occurred,
        page=common_pb2.PageRequest(page_size=EXPORT_PAGE, page_token=page_token),
    )


async def export_stream(
    backend: Backend,
    token: str,
    registry: OfficeRegistry,
    format_: str,
    since: datetime | None,
    until: datetime | None,
) -> AsyncIterator[str]:
    """The export's text, page by page. The first page is asked for before the first line is
    yielded, so a refusal surfaces before the download starts (the caller awaits `__anext__`)."""
    if format_ not in EXPORT_FORMATS:
        raise ValueError(format_)
    places = Places(registry)
    response = await backend.list_audit_events(token, export_request(since, until))
    header = export_header(format_)
    yield header
    while True:
        for entry in response.entries:
            yield export_line(entry_row(entry), format_, places)
        if not response.page.next_page_token:
            return
        response = await backend.list_audit_events(
            token, export_request(since, until, response.page.next_page_token)
        )


def export_filename(format_: str, since: datetime | None, until: datetime | None) -> str:
    def part(moment: datetime | None, default: str) -> str:
        return default if moment is None else f"{moment:%Y%m%dT%H%M}"

    return f"aduan-audit-{part(since, 'start')}-{part(until, 'now')}.{format_}"
