"""Waiting for a distributed system to converge, without fixed sleeps: one helper for every
test that polls a stack of processes (tests/e2e, tests/faults, tests/security)."""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from typing import TypeVar

import grpc

T = TypeVar("T")

# Answers that mean "not yet" while the system converges: a service restarting or unreachable,
# a command racing another one, a complaint not routed or projected yet.
TRANSIENT: frozenset[grpc.StatusCode] = frozenset(
    {
        grpc.StatusCode.UNAVAILABLE,
        grpc.StatusCode.DEADLINE_EXCEEDED,
        grpc.StatusCode.ABORTED,
        grpc.StatusCode.FAILED_PRECONDITION,
        grpc.StatusCode.NOT_FOUND,
    }
)


def eventually(
    probe: Callable[[], T | None],
    within: float = 15.0,
    what: str | Callable[[], str] = "the condition",
    *,
    poll: float = 0.1,
    transient: Collection[grpc.StatusCode] = TRANSIENT,
) -> T:
    """Poll `probe` until it returns something other than None or False, and return that.
    An RPC failing with a `transient` code counts as "not yet"; any other error propagates.
    Fails after `within` seconds naming `what` (a callable is asked at that moment, so the
    message can say what the system looks like then)."""
    deadline = time.monotonic() + within
    while True:
        try:
            result = probe()
        except grpc.RpcError as error:
            if error.code() not in transient:
                raise
            result = None
        if result is not None and result is not False:
            return result
        if time.monotonic() > deadline:
            described = what() if callable(what) else what
            raise AssertionError(f"not reached after {within:g} s: {described}")
        time.sleep(poll)
