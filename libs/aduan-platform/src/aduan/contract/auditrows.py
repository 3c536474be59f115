"""The Query API's audit answers as rows shaped like the read models' (`aduan.contract.auditview`
formats them): the auditor's CLI and the desk's export downloads read `ListAuditEvents` into
these rows, so both write the same file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp

from aduan.v1 import common_pb2, query_pb2

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _utc(value: Timestamp) -> datetime:
    """A protobuf Timestamp as a UTC datetime (microseconds)."""
    return _EPOCH + timedelta(0, value.seconds, value.nanos // 1000)


def _enum(enum: Any, value: int, prefix: str) -> str:
    """The read models' form of an enum value: its name without prefix, "" for UNSPECIFIED."""
    return "" if value == 0 else str(enum.Name(value)).removeprefix(prefix)


def entry_row(entry: query_pb2.AuditEntry) -> dict[str, Any]:
    """An `AuditEntry` of the Query API as a row shaped like the read models'."""
    return {
        "event_id": entry.event_id,
        "complaint_id": entry.complaint_id,
        "service": entry.service,
        "position": entry.position,
        "event_type": entry.event_type,
        "occurred_at": _utc(entry.occurred_at),
        "actor_id": entry.actor.id,
        "actor_kind": _enum(common_pb2.ActorKind, entry.actor.kind, "ACTOR_KIND_"),
        "actor_role": entry.actor.role,
        "actor_office": entry.actor.office_code,
        "from_office": entry.from_office.code,
        "to_office": entry.to_office.code,
        "reason_code": _enum(common_pb2.ReasonCode, entry.reason_code, "REASON_CODE_"),
        "rule_id": entry.rule_id,
        "ruleset_version": entry.ruleset_version,
        "note": entry.note,
        "summary": entry.summary,
        "aggregate_version": entry.aggregate_version,
        "correlation_id": entry.correlation_id,
        "causation_id": entry.causation_id,
    }
