"""Helpers for tests that run platform workers (relays, consumers, elections) in the test's loop."""

from __future__ import annotations

import asyncio
import contextlib
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any


@contextlib.asynccontextmanager
async def running(*workers: Any) -> AsyncIterator[None]:
    """Run each worker's `run()` for the duration of the block, then stop them as the runtime does."""
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        yield
    finally:
        for w in workers:
            w.stop()
        await asyncio.wait(tasks, timeout=5)
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def until(condition: Callable[[], bool | Awaitable[bool]], within: float = 15.0) -> None:
    """Wait, without fixed sleeps, until `condition()` (sync or async) holds; fail after
    `within` seconds."""
    deadline = asyncio.get_running_loop().time() + within
    while True:
        result = condition()
        if inspect.isawaitable(result):
            result = await result
        if result:
            return
        assert asyncio.get_running_loop().time() < deadline, "condition not reached in time"
        await asyncio.sleep(0.05)
