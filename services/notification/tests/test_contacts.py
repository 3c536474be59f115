"""The contact client (`contacts.py`): it asks intake for a contact reveal only, so a message
never brings the reporter's NIK into notification."""

from __future__ import annotations

from aduan.v1 import common_pb2
from aduan_devtools.testing.notification import CANARY, FakeIntake, fake_intake_contacts


async def test_the_contact_is_asked_for_with_the_contact_purpose(
    intake_server: FakeIntake,
) -> None:
    contacts = fake_intake_contacts(intake_server)
    try:
        contact = await contacts.reporter_contact("c-1", "notification:CaseRouted")
    finally:
        await contacts.close()

    assert (contact.name, contact.phone, contact.email) == (CANARY.name, CANARY.phone, CANARY.email)
    assert intake_server.calls == [("c-1", "notification:CaseRouted", "service:notification")]
    assert intake_server.reveal_purposes == [common_pb2.REVEAL_PURPOSE_CONTACT_REPORTER]
