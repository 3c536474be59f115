"""The SLA ticker: one background worker that enforces the deadlines every interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable

from aduan_routing.application import RoutingApplication

log = logging.getLogger(__name__)


class SlaTicker:
    """Runs `app.enforce_deadlines()` every `interval_seconds` (a Worker of the runtime).

    One active ticker per deployment: among replicas only the one for which `is_leader()` holds
    ticks (the composition root passes the platform's leadership, a PostgreSQL advisory lock;
    always true on SQLite). Two tickers at once would not corrupt anything (optimistic
    concurrency lets one of them win each case) but would waste work.
    """

    def __init__(
        self,
        app: RoutingApplication,
        interval_seconds: float = 60.0,
        is_leader: Callable[[], bool] = lambda: True,
    ) -> None:
        self.app = app
        self.interval_seconds = interval_seconds
        self.is_leader = is_leader
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                if not self.is_leader():
                    await self._pause()
                    continue
                changed = await asyncio.to_thread(self.app.enforce_deadlines)
                if changed:
                    log.info("SLA tick", extra={"cases_changed": changed})
            except Exception as error:
                log.warning("SLA tick failed; retrying", extra={"error": repr(error)})
            await self._pause()

    async def _pause(self) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_seconds)

    def stop(self) -> None:
        self._stopping.set()
