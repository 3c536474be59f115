"""`aduan audit verify`, history part: recompute every hash chain and checkpoint from the write
services' EventLogs (stored events included) and name what was altered, removed or reordered.

The EventLogs are read over gRPC only: no database access is needed, so an auditor can run it
from anywhere the EventLogs are reachable. The rule lives in the platform
(`aduan.contract.verification`, over `aduan.eventstore.chain`), shared with the desk's auditor page.
"""

from __future__ import annotations

from aduan.contract.verification import (
    PROGRESS_EVERY,
    OnProgress,
    logged_event,
    parse_public_key,
    verify_history,
)

__all__ = ["PROGRESS_EVERY", "OnProgress", "logged_event", "parse_public_key", "verify_history"]
