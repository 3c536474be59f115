"""Queries over the read models, and read-your-writes waiting. No transport types here: the
servicer and the auditor CLI translate to and from their formats."""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import math
import statistics
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Select,
    Table,
    and_,
    exists,
    func,
    or_,
    select,
)

from aduan.core.errors import FieldViolation, NotFoundError, ValidationError
from aduan.service.visibility import SealedScope
from aduan_query.history import OPEN_STATUSES, as_utc, is_overdue
from aduan_query.projector import Projector
from aduan_query.readmodels import LIVE, TableSet

DEFAULT_PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
# When an office's queue (with its descendants) is "dense" (see `_filtered`): fetching and
# sorting its k complaints costs about 6 us each, walking all N complaints in page order costs
# about 1 us per probe and needs about 51 N / k probes for a page: the walk wins from
# k = sqrt(8 N) on. N is counted again after `TOTAL_SECONDS`.
DENSE_FACTOR = 8
DENSE_MINIMUM = 200
TOTAL_SECONDS = 60.0

Row = dict[str, Any]
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class ComplaintFilter:
    office_code: str = ""
    include_descendants: bool = False
    province_code: str = ""
    regency_code: str = ""
    statuses: tuple[str, ...] = ()
    categories: tuple[str, ...] = ()
    overdue_only: bool = False
    filed_from: datetime | None = None
    filed_until: datetime | None = None
    text: str = ""
    # Sealed complaints outside this caller's chain are left out (`sealed_condition`).
    sealed: SealedScope | None = None

    def fingerprint(self, as_of: datetime | None) -> str:
        """Ties a page token to the filter it was issued for."""
        return hashlib.sha256(repr((self, as_of)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Page:
    rows: list[Row]
    next_token: str


@dataclass
class OfficeHeld:
    office_code: str
    held: timedelta
    complaints: int


@dataclass
class Stats:
    total: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    by_office: dict[str, int] = field(default_factory=dict)
    by_province: dict[str, int] = field(default_factory=dict)
    by_category: dict[str, int] = field(default_factory=dict)
    sla_compliance: float = 0.0
    median_time_to_first_response: timedelta | None = None
    median_time_to_resolution: timedelta | None = None
    reassignments_per_complaint: float = 0.0
    ping_pong_count: int = 0
    time_held: list[OfficeHeld] = field(default_factory=list)


class ProgressWaiter:
    """Wakes waiters whenever the projector records progress (no sleeping clients)."""

    def __init__(self, projector: Projector) -> None:
        self.projector = projector
        self._loop: asyncio.AbstractEventLoop | None = None
        self._changed: asyncio.Event | None = None

    def attach(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self.projector.add_listener(self._on_progress)

    def _on_progress(self, _service: str, _position: int) -> None:
        if self._loop is not None and self._changed is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    async def wait_for(self, minimum: Mapping[str, int], timeout: float) -> None:  # noqa: ASYNC109 - a bound, not a cancellation scope
        """Return once every upstream reached its minimum position; TimeoutError otherwise."""
        if not minimum:
            return
        if self._changed is None:
            self.attach()
        assert self._changed is not None
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            self._changed.clear()
            positions = await asyncio.to_thread(self.projector.positions)
            if all(positions.get(service, 0) >= pos for service, pos in minimum.items()):
                return
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                raise TimeoutError(f"read models have not reached {dict(minimum)} (at {positions})")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.25))


def overdue_condition(table: Table, at: datetime) -> ColumnElement[bool]:
    """Open and past a deadline that still applies (the same rule as `history.is_overdue`)."""
    c = table.c
    return and_(
        c.status.in_(OPEN_STATUSES),
        or_(
            and_(c.status == "ASSIGNED", c.accept_due < at),
            and_(c.status == "IN_PROGRESS", c.first_response_at.is_(None), c.response_due < at),
            c.resolution_due < at,
        ),
    )


def sealed_condition(table: Table, scope: SealedScope) -> ColumnElement[bool]:
    """Rows `scope`'s caller may see: not sealed, or sealed and filed under their office's
    chain (for what the independent inspectorate holds, only the inspectorate's). The SQL form
    of `Oversight.is_sealed` and `Oversight.seen_by` (libs/aduan-platform,
    aduan.reference.offices) over the read models' columns, driven by the same data."""
    c = table.c
    oversight = scope.oversight
    seals: list[ColumnElement[bool]] = [c.confidential.is_(True)]
    if oversight.inspectorate:
        seals.append(c.holding_office == oversight.inspectorate)
    if oversight.sealed_categories:
        seals.append(c.category.in_(oversight.sealed_categories))
    in_chain = c.office_chain.contains(f"|{scope.office}|", autoescape=True)
    if oversight.is_independent(oversight.inspectorate) and scope.office != oversight.inspectorate:
        in_chain = and_(in_chain, c.holding_office != oversight.inspectorate)
    return or_(~or_(*seals), in_chain)


def _encode_token(key: Sequence[Any], fingerprint: str) -> str:
    data = json.dumps({"k": list(key), "f": fingerprint}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _decode_token(token: str, fingerprint: str) -> list[Any]:
    try:
        padded = token + "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        key = data["k"]
        issued_for = data["f"]
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise ValidationError(
            FieldViolation("page.page_token", "is not a token returned by this query")
        ) from None
    if issued_for != fingerprint:
        raise ValidationError(
            FieldViolation("page.page_token", "was issued for a different filter or as_of")
        )
    return list(key)


def page_size(requested: int) -> int:
    if requested < 0:
        raise ValidationError(FieldViolation("page.page_size", "must not be negative"))
    return min(requested or DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE)


class ComplaintQueries:
    def __init__(self, engine: Engine, tables: TableSet = LIVE, clock: Clock = utc_now) -> None:
        self.engine = engine
        self.tables = tables
        self.clock = clock
        self._total: tuple[float, int] | None = None  # (counted at, complaints)

    # -- one complaint --------------------------------------------------------------------------
    def _ref_condition(self, table: Table, ref: str) -> ColumnElement[bool]:
        ref = ref.strip()
        if not ref:
            raise ValidationError(FieldViolation("complaint_id", "give a complaint id or ticket"))
        condition: ColumnElement[bool] = table.c.ticket_number == ref.upper()
        with contextlib.suppress(ValueError):
            condition = or_(condition, table.c.complaint_id == str(uuid.UUID(ref)))
        return condition

    def get_complaint(self, ref: str, as_of: datetime | None = None) -> Row:
        """The complaint now, or as the system showed it at `as_of` (from its versions)."""
        if as_of is None:
            table = self.tables.complaints
            query = select(table).where(self._ref_condition(table, ref))
        else:
            table = self.tables.versions
            query = select(table).where(
                self._ref_condition(table, ref), self._valid_at(table, as_utc(as_of))
            )
        with self.engine.connect() as conn:
            row = conn.execute(query.limit(1)).mappings().first()
        if row is None:
            when = "" if as_of is None else f" at {as_utc(as_of).isoformat()}"
            raise NotFoundError(f"complaint {ref!r} not found{when}")
        return dict(row)

    @staticmethod
    def _valid_at(versions: Table, at: datetime) -> ColumnElement[bool]:
        return and_(
            versions.c.valid_from <= at,
            or_(versions.c.valid_to.is_(None), versions.c.valid_to > at),
        )

    # -- lists ----------------------------------------------------------------------------------
    def _dense(self, conn: Connection, office_code: str) -> bool:
        """Whether enough complaints sit at or below the office to walk all complaints in page
        order (counted no further than the threshold, on the queue's primary key)."""
        now = time.monotonic()
        if self._total is None or now - self._total[0] > TOTAL_SECONDS:
            counted = conn.execute(select(func.count()).select_from(self.tables.complaints))
            self._total = (now, int(counted.scalar_one()))
        threshold = max(DENSE_MINIMUM, math.isqrt(DENSE_FACTOR * self._total[1]))
        queue = self.tables.queue
        below = (
            select(queue.c.complaint_id)
            .where(queue.c.office_code == office_code)
            .limit(threshold)
            .subquery()
        )
        return int(conn.execute(select(func.count()).select_from(below)).scalar_one()) >= threshold

    def _filtered(
        self, spec: ComplaintFilter, as_of: datetime | None, dense: bool = False
    ) -> tuple[Table, Select[Any]]:
        """The query for a filter. `dense`: the office's queue (with its descendants) is large,
        so walking the complaints in page order and probing the queue finds a page quickly;
        otherwise the queue's complaints are fetched and sorted (few, by definition)."""
        table = self.tables.complaints if as_of is None else self.tables.versions
        c = table.c
        conditions: list[ColumnElement[bool]] = []
        if as_of is not None:
            conditions.append(self._valid_at(table, as_of))
        if spec.office_code:
            if not spec.include_descendants:
                conditions.append(c.holding_office == spec.office_code)
            elif as_of is None:
                queue = self.tables.queue
                if dense:
                    conditions.append(
                        exists()
                        .where(
                            queue.c.office_code == spec.office_code,
                            queue.c.complaint_id == c.complaint_id,
                        )
                        .correlate(table)
                    )
                else:
                    conditions.append(
                        c.complaint_id.in_(
                            select(queue.c.complaint_id).where(
                                queue.c.office_code == spec.office_code
                            )
                        )
                    )
            else:
                conditions.append(c.office_chain.contains(f"|{spec.office_code}|", autoescape=True))
        if spec.province_code:
            conditions.append(c.province_code == spec.province_code)
        if spec.regency_code:
            conditions.append(c.regency_code == spec.regency_code)
        if spec.statuses:
            conditions.append(c.status.in_(spec.statuses))
        if spec.categories:
            conditions.append(c.category.in_(spec.categories))
        if spec.overdue_only:
            conditions.append(overdue_condition(table, as_of or self.clock()))
        if spec.filed_from is not None:
            conditions.append(c.filed_at >= as_utc(spec.filed_from))
        if spec.filed_until is not None:
            conditions.append(c.filed_at < as_utc(spec.filed_until))
        if spec.sealed is not None:
            conditions.append(sealed_condition(table, spec.sealed))
        if spec.text:
            conditions.append(
                func.lower(c.subject).contains(spec.text.strip().lower(), autoescape=True)
            )
        return table, select(table).where(*conditions)

    def list_complaints(
        self,
        spec: ComplaintFilter,
        size: int = 0,
        token: str = "",
        as_of: datetime | None = None,
    ) -> Page:
        """Oldest filed first, keyset-paged on (filed_at, complaint_id): both are fixed once a
        complaint exists, so pages never repeat or skip a complaint while others are added."""
        as_of = as_utc(as_of) if as_of is not None else None
        limit = page_size(size)
        fingerprint = spec.fingerprint(as_of)
        with self.engine.connect() as conn:
            dense = (
                spec.include_descendants
                and bool(spec.office_code)
                and as_of is None
                and self._dense(conn, spec.office_code)
            )
            return self._page(conn, spec, limit, token, as_of, fingerprint, dense)

    def _page(
        self,
        conn: Connection,
        spec: ComplaintFilter,
        limit: int,
        token: str,
        as_of: datetime | None,
        fingerprint: str,
        dense: bool,
    ) -> Page:
        table, query = self._filtered(spec, as_of, dense)
        c = table.c
        if token:
            filed_text, last_id = _decode_token(token, fingerprint)
            filed = datetime.fromisoformat(filed_text)
            query = query.where(
                # The first term is implied by the second; it lets the index range start there.
                c.filed_at >= filed,
                or_(c.filed_at > filed, and_(c.filed_at == filed, c.complaint_id > last_id)),
            )
        query = query.order_by(c.filed_at, c.complaint_id).limit(limit + 1)
        rows = [dict(r) for r in conn.execute(query).mappings()]
        next_token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_token = _encode_token(
                [as_utc(last["filed_at"]).isoformat(), last["complaint_id"]], fingerprint
            )
        return Page(rows, next_token)

    def iterate_complaints(
        self, spec: ComplaintFilter, as_of: datetime | None = None
    ) -> Iterator[Row]:
        token = ""
        while True:
            page = self.list_complaints(spec, MAX_PAGE_SIZE, token, as_of)
            yield from page.rows
            token = page.next_token
            if not token:
                return

    def matching(self, spec: ComplaintFilter, complaint_ids: Sequence[str]) -> dict[str, Row]:
        """Of these complaints, those that match the filter now (WatchComplaints)."""
        table, query = self._filtered(spec, None)
        with self.engine.connect() as conn:
            rows = conn.execute(query.where(table.c.complaint_id.in_(list(complaint_ids))))
            return {r["complaint_id"]: dict(r) for r in rows.mappings()}

    def current(self, complaint_ids: Sequence[str]) -> dict[str, Row]:
        table = self.tables.complaints
        with self.engine.connect() as conn:
            rows = conn.execute(select(table).where(table.c.complaint_id.in_(list(complaint_ids))))
            return {r["complaint_id"]: dict(r) for r in rows.mappings()}

    # -- history --------------------------------------------------------------------------------
    def audit_trail(self, ref: str, size: int = 0, token: str = "") -> tuple[str, Page]:
        """The complaint's events of every service, in history order, keyset-paged."""
        complaint_id = self.get_complaint(ref)["complaint_id"]
        fingerprint = hashlib.sha256(complaint_id.encode()).hexdigest()[:16]
        condition = self.tables.audit.c.complaint_id == complaint_id
        return complaint_id, self._audit_page([condition], size, token, fingerprint)

    def audit_events_page(
        self,
        since: datetime | None = None,
        until: datetime | None = None,
        size: int = 0,
        token: str = "",
    ) -> Page:
        """Every projected event with occurred_at in [since, until), in history order,
        keyset-paged; a token is bound to the range."""
        audit = self.tables.audit
        conditions: list[ColumnElement[bool]] = []
        if since is not None:
            conditions.append(audit.c.occurred_at >= as_utc(since))
        if until is not None:
            conditions.append(audit.c.occurred_at < as_utc(until))
        bounds = [as_utc(t).isoformat() if t is not None else "" for t in (since, until)]
        fingerprint = hashlib.sha256("|".join(bounds).encode()).hexdigest()[:16]
        return self._audit_page(conditions, size, token, fingerprint)

    def _audit_page(
        self,
        conditions: Sequence[ColumnElement[bool]],
        size: int,
        token: str,
        fingerprint: str,
    ) -> Page:
        """One page of audit rows in history order (occurred_at, service, position), after the
        history key in `token`."""
        audit = self.tables.audit
        limit = page_size(size)
        query = select(audit).where(*conditions)
        if token:
            occurred_text, service, position = _decode_token(token, fingerprint)
            occurred = datetime.fromisoformat(occurred_text)
            query = query.where(
                or_(
                    audit.c.occurred_at > occurred,
                    and_(audit.c.occurred_at == occurred, audit.c.service > service),
                    and_(
                        audit.c.occurred_at == occurred,
                        audit.c.service == service,
                        audit.c.position > position,
                    ),
                )
            )
        query = query.order_by(audit.c.occurred_at, audit.c.service, audit.c.position)
        with self.engine.connect() as conn:
            rows = [dict(r) for r in conn.execute(query.limit(limit + 1)).mappings()]
        next_token = ""
        if len(rows) > limit:
            rows = rows[:limit]
            last = rows[-1]
            next_token = _encode_token(
                [as_utc(last["occurred_at"]).isoformat(), last["service"], last["position"]],
                fingerprint,
            )
        return Page(rows, next_token)

    def custody(self, complaint_id: str) -> list[Row]:
        custody = self.tables.custody
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(custody)
                .where(custody.c.complaint_id == complaint_id)
                .order_by(custody.c.seq)
            ).mappings()
            return [dict(r) for r in rows]

    # -- statistics -------------------------------------------------------------------------------
    def stats(
        self,
        start: datetime | None = None,
        end: datetime | None = None,
        office_code: str = "",
        sealed: SealedScope | None = None,
        as_of: datetime | None = None,
        channel: str = "",
        category: str = "",
    ) -> Stats:
        """Complaints filed in [start, end) (and held at or below `office_code`; without the
        sealed ones `sealed` leaves out; of one channel and category when given), as they were
        at `as_of` (now when None)."""
        as_of = as_utc(as_of) if as_of is not None else None
        now = as_of or self.clock()
        spec = ComplaintFilter(
            office_code=office_code,
            include_descendants=bool(office_code),
            categories=(category,) if category else (),
            filed_from=start,
            filed_until=end,
            sealed=sealed,
        )
        table, query = self._filtered(spec, as_of)
        if channel:
            query = query.where(table.c.channel == channel)
        subset = query.subquery()
        result = Stats()
        with self.engine.connect() as conn:
            for column, target in (
                ("status", result.by_status),
                ("holding_office", result.by_office),
                ("province_code", result.by_province),
                ("category", result.by_category),
            ):
                grouped = conn.execute(
                    select(subset.c[column], func.count())
                    .group_by(subset.c[column])
                    .order_by(subset.c[column])
                )
                target.update({str(key): int(count) for key, count in grouped})
            rows = conn.execute(
                select(
                    subset.c.status,
                    subset.c.breached,
                    subset.c.accept_due,
                    subset.c.response_due,
                    subset.c.resolution_due,
                    subset.c.first_response_at,
                    subset.c.filed_at,
                    subset.c.resolved_at,
                    subset.c.reassignment_count,
                    subset.c.ping_pong_flagged,
                )
            ).mappings()
            first_responses: list[float] = []
            resolutions: list[float] = []
            met = reassignments = ping_pong = total = 0
            for row in rows:
                total += 1
                if not row["breached"] and not is_overdue(dict(row), now):
                    met += 1
                reassignments += int(row["reassignment_count"])
                ping_pong += bool(row["ping_pong_flagged"])
                filed = as_utc(row["filed_at"])
                if row["first_response_at"] is not None:
                    first_responses.append(
                        (as_utc(row["first_response_at"]) - filed).total_seconds()
                    )
                if row["resolved_at"] is not None:
                    resolutions.append((as_utc(row["resolved_at"]) - filed).total_seconds())
            custody = self.tables.custody
            held: dict[str, float] = {}
            held_complaints: dict[str, set[str]] = {}
            segments = conn.execute(
                select(custody).where(
                    custody.c.complaint_id.in_(select(subset.c.complaint_id)),
                    custody.c.from_at <= now,
                )
            ).mappings()
            for segment in segments:
                office = segment["office_code"]
                until = segment["until_at"]
                if segment["held_seconds"] is not None and as_utc(until) <= now:
                    seconds = float(segment["held_seconds"])
                else:
                    # Open, or still open at the as_of moment: counted up to then.
                    seconds = max((now - as_utc(segment["from_at"])).total_seconds(), 0.0)
                held[office] = held.get(office, 0.0) + seconds
                held_complaints.setdefault(office, set()).add(segment["complaint_id"])
        result.total = total
        result.sla_compliance = met / total if total else 0.0
        result.reassignments_per_complaint = reassignments / total if total else 0.0
        result.ping_pong_count = ping_pong
        if first_responses:
            result.median_time_to_first_response = timedelta(
                seconds=statistics.median(first_responses)
            )
        if resolutions:
            result.median_time_to_resolution = timedelta(seconds=statistics.median(resolutions))
        result.time_held = [
            OfficeHeld(office, timedelta(seconds=held[office]), len(held_complaints[office]))
            for office in sorted(held)
        ]
        return result
