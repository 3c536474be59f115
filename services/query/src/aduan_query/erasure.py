"""A reporter's erasure in the read models: the complaint's free text copies go.

Intake publishes only the redacted copy of a citizen's free text (docs/security.md, "Free text:
sealed, and a redacted copy"), but a redacted copy may still name people and places. Once the
reporter is erased (ReporterErased), the complaint's subject and description, its follow-up
messages and attachment captions, the withdrawal reason and the rating comment are blanked
everywhere query keeps them: the complaint's row, every version of it, and the envelopes and
notes of its audit trail. The live projector does it when it meets the erasure (or a text that
arrives after it); a rebuild does it once its fold is written. Both call `erase_free_text`, so
that a rebuild gives the rows the live projection has.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import Connection, select, update

from aduan.v1 import events_pb2
from aduan_query.audit import audit_details
from aduan_query.readmodels import TableSet

# The intake events that carry a reporter's free text (payload field names and event types).
FREE_TEXT_KINDS = {
    "complaint_filed": "ComplaintFiled",
    "reporter_message_added": "ReporterMessageAdded",
    "complaint_withdrawn": "ComplaintWithdrawn",
    "resolution_rated": "ResolutionRated",
}
# Events after which a complaint's free text may need erasing.
ERASURE_KINDS = frozenset({*FREE_TEXT_KINDS, "reporter_erased"})
_CHUNK = 500


def without_free_text(envelope: events_pb2.Envelope) -> events_pb2.Envelope:
    """A copy of `envelope` with the reporter's free text blanked (the same envelope when it
    carries none)."""
    kind = envelope.WhichOneof("payload")
    if kind not in FREE_TEXT_KINDS:
        return envelope
    blanked = events_pb2.Envelope()
    blanked.CopyFrom(envelope)
    payload: Any = getattr(blanked, kind)
    if kind == "complaint_filed":
        payload.subject = ""
        payload.description = ""
    elif kind == "reporter_message_added":
        payload.text = ""
    elif kind == "complaint_withdrawn":
        payload.reason = ""
    else:
        payload.comment = ""
    for attachment in getattr(payload, "attachments", ()):
        attachment.caption = ""
    return blanked


def erase_free_text(
    conn: Connection, tables: TableSet, complaint_ids: Iterable[str] | None = None
) -> None:
    """Blank the free text of every complaint among `complaint_ids` (None: all) whose reporter
    was erased."""
    complaints = tables.complaints
    query = select(complaints.c.complaint_id).where(complaints.c.reporter_erased.is_(True))
    if complaint_ids is not None:
        wanted = sorted(set(complaint_ids))
        if not wanted:
            return
        erased = [
            row[0]
            for start in range(0, len(wanted), _CHUNK)
            for row in conn.execute(
                query.where(complaints.c.complaint_id.in_(wanted[start : start + _CHUNK]))
            )
        ]
    else:
        erased = [row[0] for row in conn.execute(query)]
    for start in range(0, len(erased), _CHUNK):
        _erase(conn, tables, erased[start : start + _CHUNK])


def _erase(conn: Connection, tables: TableSet, erased: list[str]) -> None:
    blank = {"subject": "", "description": ""}
    for table in (tables.complaints, tables.versions):
        conn.execute(update(table).where(table.c.complaint_id.in_(erased)).values(**blank))
    audit = tables.audit
    rows = conn.execute(
        select(audit.c.event_id, audit.c.envelope).where(
            audit.c.complaint_id.in_(erased),
            audit.c.event_type.in_(sorted(FREE_TEXT_KINDS.values())),
        )
    ).all()
    for event_id, stored in rows:
        envelope = events_pb2.Envelope.FromString(stored)
        blanked = without_free_text(envelope)
        if blanked == envelope:
            continue
        conn.execute(
            update(audit)
            .where(audit.c.event_id == event_id)
            .values(
                envelope=blanked.SerializeToString(deterministic=True), **audit_details(blanked)
            )
        )
