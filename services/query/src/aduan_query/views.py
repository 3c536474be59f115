"""Queries over the read models, and read-your-writes waiting."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, or_, select

from aduan.errors import NotFoundError
from aduan_query.projector import Projector
from aduan_query.readmodels import audit_trail, complaints


@dataclass(frozen=True)
class ComplaintRow:
    values: Mapping[str, Any]


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

    async def wait_for(self, minimum: Mapping[str, int], timeout: float) -> None:
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
            try:
                await asyncio.wait_for(self._changed.wait(), timeout=min(remaining, 0.25))
            except TimeoutError:
                pass


class ComplaintQueries:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get_complaint(self, ref: str) -> Mapping[str, Any]:
        ref = ref.strip()
        condition = complaints.c.ticket_number == ref.upper()
        try:
            condition = or_(condition, complaints.c.complaint_id == str(uuid.UUID(ref)))
        except ValueError:
            pass
        with self.engine.connect() as conn:
            row = conn.execute(select(complaints).where(condition)).mappings().first()
        if row is None:
            raise NotFoundError(f"complaint {ref!r} not found")
        return dict(row)

    def audit_trail(self, ref: str) -> tuple[str, list[Mapping[str, Any]]]:
        complaint_id = self.get_complaint(ref)["complaint_id"]
        with self.engine.connect() as conn:
            rows = conn.execute(
                select(audit_trail)
                .where(audit_trail.c.complaint_id == complaint_id)
                .order_by(audit_trail.c.occurred_at, audit_trail.c.service, audit_trail.c.position)
            ).mappings()
            return complaint_id, [dict(r) for r in rows]


def as_utc(moment: datetime) -> datetime:
    from datetime import UTC

    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
