"""The SLA ticker: one background worker that enforces the deadlines every interval."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from aduan_routing.application import RoutingApplication

log = logging.getLogger(__name__)


class SlaTicker:
    """Runs `app.enforce_deadlines()` every `interval_seconds` (a Worker of the runtime).

    One active ticker per deployment: run the routing service with one replica, or enable the
    ticker (ADUAN_SLA_TICKER=true) on one replica only. Two tickers would not corrupt anything
    (optimistic concurrency lets one of them win each case) but would waste work.
    """

    def __init__(self, app: RoutingApplication, interval_seconds: float = 60.0) -> None:
        self.app = app
        self.interval_seconds = interval_seconds
        self._stopping = asyncio.Event()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                changed = await asyncio.to_thread(self.app.enforce_deadlines)
                if changed:
                    log.info("SLA tick", extra={"cases_changed": changed})
            except Exception as error:
                log.warning("SLA tick failed; retrying", extra={"error": repr(error)})
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), timeout=self.interval_seconds)

    def stop(self) -> None:
        self._stopping.set()
