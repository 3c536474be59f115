"""What each health name means, and the one rule that answers them.

Every service's gRPC port (and its plaintext health port, `ADUAN_HEALTH_PORT`) answers
`grpc.health.v1.Health/Check` for these names, besides `""`, the service's own name and each
gRPC service it serves (those three mean the same as `readiness`):

- `liveness` (LIVENESS): the process and its asyncio event loop are alive. It never depends on
  NATS or a database, so an outage of either never makes Kubernetes restart a pod.
- `readiness` (READINESS): this replica can serve its own API: start-up has finished, it is not
  shutting down, and every dependency check that gates readiness passed (the composition root
  decides which: a write service's own store, the query service's read models; never NATS).
- `startup` (STARTUP): NOT_SERVING until start-up work (migrations, anything done before
  serving) has finished, SERVING from then on, also during shutdown.
- `dependencies` (DEPENDENCIES): every dependency check passed, gating or not (NATS and the
  store): for operators and alerts, never for probes.

The runtime (`aduan.service.runtime.ServiceRuntime`) runs the checks and serves the answers; this module
holds no transport code.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final

log = logging.getLogger(__name__)

LIVENESS: Final = "liveness"
READINESS: Final = "readiness"
STARTUP: Final = "startup"
DEPENDENCIES: Final = "dependencies"
# The health names with a meaning of their own, for probes (the first three) and operators.
PROBE_NAMES: Final = (LIVENESS, READINESS, STARTUP, DEPENDENCIES)

# A dependency probe: True when the dependency answers. Raising, or taking longer than the
# check's timeout, counts as False.
Probe = Callable[[], Awaitable[bool]]


@dataclass(frozen=True)
class HealthCheck:
    """One dependency of a service. `gates_readiness` says whether the replica may take API
    traffic without it; each composition root states it for every check it passes."""

    name: str
    probe: Probe
    gates_readiness: bool
    timeout_seconds: float = 2.0


class CheckRunner:
    """Runs one check's probe, never two at once: a probe still running when its timeout passes
    counts as failed, and the next round waits for that same call instead of starting another
    (a probe blocked on a dead database would otherwise pile up threads, one per round)."""

    def __init__(self, check: HealthCheck) -> None:
        self.check = check
        self._running: asyncio.Future[bool] | None = None

    async def run(self) -> bool:
        if self._running is None:
            self._running = asyncio.ensure_future(self.check.probe())
        done, _ = await asyncio.wait({self._running}, timeout=self.check.timeout_seconds)
        if not done:
            return False
        finished, self._running = self._running, None
        try:
            return bool(finished.result())
        except Exception as error:
            log.debug("health check %s failed: %r", self.check.name, error)
            return False

    def cancel(self) -> None:
        if self._running is not None:
            self._running.cancel()
            self._running = None


class Heartbeat:
    """The liveness signal: a task on the service's event loop that ticks every
    `interval_seconds`.

    Why a heartbeat, when gRPC health answers come from the same loop: a loop blocked for good
    cannot answer any probe, and the kubelet already counts a probe that times out as failed, so
    nothing here is needed for that case, and nothing in this process could answer for a blocked
    loop anyway. What the heartbeat adds: liveness needs the runtime's own background tasks to be
    scheduled, not only the gRPC server's request path (a heartbeat task that died fails liveness
    after `stall_seconds`), and a stall the probes happened to miss is logged with its length
    ("event loop stalled"); a Check answered right after a stall longer than `stall_seconds`,
    before the next tick, reports NOT_SERVING. Short stalls (a slow synchronous call) stay well
    below `stall_seconds`. It never looks at NATS or a database, so their outages never fail
    liveness.
    """

    def __init__(
        self,
        interval_seconds: float = 1.0,
        stall_seconds: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.interval_seconds = interval_seconds
        self.stall_seconds = stall_seconds
        self.clock = clock
        self.last_tick = clock()

    def tick(self) -> None:
        now = self.clock()
        late = now - self.last_tick - self.interval_seconds
        if late > 1.0:
            log.warning("event loop stalled", extra={"seconds": round(late, 3)})
        self.last_tick = now

    def reset(self) -> None:
        """Start counting from now (when the loop starts running the heartbeat)."""
        self.last_tick = self.clock()

    def alive(self) -> bool:
        return self.clock() - self.last_tick <= self.stall_seconds

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.interval_seconds)
            self.tick()


@dataclass
class ProbeState:
    """The one rule: what every health name answers, from the latest check results."""

    checks: Sequence[HealthCheck]
    heartbeat: Heartbeat = field(default_factory=Heartbeat)
    started: bool = False
    stopping: bool = False
    # The latest result per check name; a check not run yet counts as failed.
    results: dict[str, bool] = field(default_factory=dict)

    def passed(self, check: HealthCheck) -> bool:
        return self.results.get(check.name, False)

    @property
    def live(self) -> bool:
        return self.heartbeat.alive()

    @property
    def ready(self) -> bool:
        return (
            self.started
            and not self.stopping
            and all(self.passed(c) for c in self.checks if c.gates_readiness)
        )

    @property
    def dependencies_up(self) -> bool:
        return all(self.passed(c) for c in self.checks)

    def serving(self, name: str) -> bool:
        """The answer for a health name; any name not listed in PROBE_NAMES ("" and the gRPC
        service names) means readiness."""
        if name == LIVENESS:
            return self.live
        if name == STARTUP:
            return self.started
        if name == DEPENDENCIES:
            return self.dependencies_up
        return self.ready

    def record(self, results: Mapping[str, bool]) -> dict[str, bool]:
        """Store a round of results; returns the checks whose result changed."""
        changed = {name: ok for name, ok in results.items() if self.results.get(name) is not ok}
        self.results.update(results)
        return changed


__all__ = [
    "DEPENDENCIES",
    "LIVENESS",
    "PROBE_NAMES",
    "READINESS",
    "STARTUP",
    "CheckRunner",
    "HealthCheck",
    "Heartbeat",
    "Probe",
    "ProbeState",
]
