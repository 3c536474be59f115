"""Complaint.Filed events stored before the location and parcel were typed still load, into a
`Location` and a `LandParcel`, and publish the same payload; new ones store the same mappings."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from eventsourcing.persistence import StoredEvent

from aduan.core.context import Actor, ActorKind, CommandContext
from aduan.reference.categories import Category
from aduan.reference.locations import Location
from aduan.v1 import events_pb2
from aduan_intake.application import IntakeApplication
from aduan_intake.contract import BUILDERS
from aduan_intake.domain import Attachment, Channel, LandParcel
from aduan_intake.filing import FilingRequest

COMPLAINT_ID = uuid.UUID("b977b429-ca1b-5a8e-acff-25e4717f448a")
TOPIC = "aduan_intake.domain:Complaint.Filed"
# A filing as intake stored it before this change (the body under the chain header).
OLD_FIELDS: dict[str, Any] = {
    "timestamp": {"_type_": "datetime_iso", "_data_": "2026-12-05T06:22:37.265719+00:00"},
    "originator_topic": "aduan_intake.domain:Complaint",
    "channel": "WEB",
    "idempotency_key": "k1",
    "ticket_number": "ADU-2026-DSTN6M",
    "reporter_id": "9e9ee33e-5ad4-5968-a215-8396ac36aa61",
    "masked_contact": "+62812****432",
    "anonymous": False,
    "confidential": False,
    "language": "id",
    "category": "LAND_SERVICE",
    "location": {"province_code": "32", "regency_code": "32.73", "address": "Jl. X"},
    "parcel": {"nib": "10080503012345", "certificate_number": "32.73.05.01.1.00123"},
    "subject": "",
    "description": "Pengukuran ulang bidang tanah saya tertunda.",
    "attachments": [{"uri": "s3://a", "media_type": "image/jpeg", "sha256": "", "caption": "c"}],
    "meta": {
        "actor": {"id": "gateway:test", "kind": "GATEWAY", "role": "gateway", "office": ""},
        "correlation_id": "c",
        "causation_id": "c",
        "traceparent": "",
        "tracestate": "",
    },
    "details_pending": False,
    "details_due": None,
}
# As eventsourcing's JSON transcoder writes it.
OLD_STATE = json.dumps(OLD_FIELDS, separators=(",", ":"), ensure_ascii=False).encode()
# Its ComplaintFiled payload as published before this change (deterministic serialisation).
OLD_PAYLOAD = bytes.fromhex(
    "0a0f4144552d323032362d4453544e364d10021a2439653965653333652d356164342d353936382d61323135"
    "2d383339366163333661613631220d2b36323831322a2a2a2a343332380342120a023332120533322e37331a"
    "054a6c2e20584a250a0e3130303830353033303132333435121333322e37332e30352e30312e312e30303132"
    "335a2c50656e67756b7572616e20756c616e6720626964616e672074616e616820736179612074657274756e"
    "64612e62170a0673333a2f2f61120a696d6167652f6a7065672201636a026964"
)


def _store_old_filing(app: IntakeApplication) -> None:
    app.recorder.insert_events(
        [
            StoredEvent(
                originator_id=COMPLAINT_ID, originator_version=1, topic=TOPIC, state=OLD_STATE
            )
        ]
    )


def test_an_old_filing_loads_with_a_typed_location_and_parcel(
    stored_app: IntakeApplication,
) -> None:
    _store_old_filing(stored_app)

    complaint = stored_app.get_complaint(str(COMPLAINT_ID))

    assert complaint.location == Location(province_code="32", regency_code="32.73", address="Jl. X")
    assert complaint.parcel == LandParcel(
        nib="10080503012345", certificate_number="32.73.05.01.1.00123"
    )
    assert complaint.located


def test_an_old_filing_publishes_the_same_payload(stored_app: IntakeApplication) -> None:
    _store_old_filing(stored_app)
    event = stored_app.decode(stored_app.read_notifications(0, 1)[0])

    payload = BUILDERS[type(event)](event)

    assert payload.SerializeToString(deterministic=True) == OLD_PAYLOAD


def test_a_new_filing_stores_what_an_old_one_stored(
    stored_app: IntakeApplication, unsealed: Callable[[dict[str, Any]], dict[str, Any]]
) -> None:
    # The actor and ids the old filing was recorded with.
    ctx = CommandContext(
        actor=Actor("gateway:test", ActorKind.GATEWAY, role="gateway"),
        correlation_id="c",
        causation_id="c",
    )
    stored_app.file_complaint(
        FilingRequest(
            idempotency_key="k1",
            channel=Channel.WEB,
            description="Pengukuran ulang bidang tanah saya tertunda.",
            category=Category.LAND_SERVICE,
            location=Location(regency_code="32.73", address=" Jl. X "),
            parcel=LandParcel(nib="10.080.50.30.12345", certificate_number="32.73.05.01.1.00123"),
            attachments=[Attachment(uri="s3://a", media_type="image/jpeg", caption="c")],
            reporter_name="Siti",
            reporter_phone="081298765432",
        ),
        ctx,
    )
    notification = stored_app.read_notifications(0, 1)[0]
    body = json.loads(notification.state[notification.state.index(b'{"timestamp"') :])
    event = stored_app.decode(notification)
    payload = BUILDERS[type(event)](event)
    old_payload = events_pb2.ComplaintFiled.FromString(OLD_PAYLOAD)

    # Only the moment and the year in the ticket number differ from the old filing.
    assert _timeless(unsealed(body)) == _timeless(OLD_FIELDS)
    payload.ticket_number = old_payload.ticket_number = ""
    assert payload.SerializeToString(deterministic=True) == old_payload.SerializeToString(
        deterministic=True
    )


def _timeless(fields: dict[str, Any]) -> str:
    """The stored fields, in their stored order, without the timestamp and ticket number."""
    kept = {k: v for k, v in fields.items() if k not in ("timestamp", "ticket_number")}
    return json.dumps(kept, separators=(",", ":"), ensure_ascii=False)
