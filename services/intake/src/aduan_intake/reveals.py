"""Purpose-limited reveals: which of a reporter's identity fields each reveal purpose returns,
who may ask for which purpose, and which purposes open the reporter's words as written.
Transport-free; the one policy the application, the servicer and the docs follow (UU PDP's data
minimisation: a reveal returns what its purpose needs and no more)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from aduan_intake.sealing import Identity


class RevealPurpose(StrEnum):
    CONTACT_REPORTER = "CONTACT_REPORTER"
    FIELD_VERIFICATION = "FIELD_VERIFICATION"
    LEGAL_PROCESS = "LEGAL_PROCESS"


# The least a reveal returns, for callers that do not say why (they never get the NIK).
DEFAULT_PURPOSE = RevealPurpose.CONTACT_REPORTER

# In the order of `Identity`'s fields, so that a recorded list reads the same for every reveal.
IDENTITY_FIELDS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Identity))

REVEALED_FIELDS: Mapping[RevealPurpose, frozenset[str]] = MappingProxyType(
    {
        RevealPurpose.CONTACT_REPORTER: frozenset({"name", "phone", "email", "language"}),
        RevealPurpose.FIELD_VERIFICATION: frozenset({"name", "phone", "language", "nik"}),
        RevealPurpose.LEGAL_PROCESS: frozenset({"name", "phone", "email", "nik", "language"}),
    }
)


class Revealer(StrEnum):
    """Who asks for a reveal, as the servicer places the caller against the complaint."""

    # The notification service, which sends the reporter's messages.
    CONTACT_SERVICE = "CONTACT_SERVICE"
    # An officer of the office holding the complaint.
    HOLDING_OFFICER = "HOLDING_OFFICER"
    # A supervisor of the holding office or an office above it (not an overseer outside it).
    CHAIN_SUPERVISOR = "CHAIN_SUPERVISOR"
    ADMIN = "ADMIN"


# Who may ask for each purpose: the NIK (field verification, legal process) only a supervisor
# of the holding chain or an administrator, never the officer who handles the case day to day.
REVEALED_TO: Mapping[RevealPurpose, frozenset[Revealer]] = MappingProxyType(
    {
        RevealPurpose.CONTACT_REPORTER: frozenset(
            {Revealer.CONTACT_SERVICE, Revealer.HOLDING_OFFICER}
        ),
        RevealPurpose.FIELD_VERIFICATION: frozenset({Revealer.CHAIN_SUPERVISOR, Revealer.ADMIN}),
        RevealPurpose.LEGAL_PROCESS: frozenset({Revealer.CHAIN_SUPERVISOR, Revealer.ADMIN}),
    }
)


class Revealed(StrEnum):
    """What a reveal opens."""

    # The sealed identity (GetReporterContact): the fields of `REVEALED_FIELDS`.
    IDENTITY = "the reporter's identity"
    # The free texts as written (RevealComplaintText).
    TEXT = "the reporter's words as written"


# The words as written hold whatever the citizen typed, their NIK included (the redacted copy
# masks it), so they are revealed only for a purpose that may see the NIK.
TEXT_PURPOSES: frozenset[RevealPurpose] = frozenset(
    purpose for purpose, fields in REVEALED_FIELDS.items() if "nik" in fields
)


def purposes_for(what: Revealed) -> frozenset[RevealPurpose]:
    """The purposes for which `what` may be revealed at all."""
    return TEXT_PURPOSES if what is Revealed.TEXT else frozenset(RevealPurpose)


def may_reveal(
    purpose: RevealPurpose | None,
    revealer: Revealer | None,
    what: Revealed = Revealed.IDENTITY,
) -> bool:
    """Whether `revealer` may ask for a reveal of `what` for `purpose`. An unknown purpose
    (None, refused as invalid after this check) is judged as the most any purpose of `what`
    allows."""
    if revealer is None:
        return False
    purposes = purposes_for(what)
    if purpose is None:
        return any(revealer in REVEALED_TO[p] for p in purposes)
    return purpose in purposes and revealer in REVEALED_TO[purpose]


def revealed_fields(purpose: RevealPurpose) -> tuple[str, ...]:
    """The names of the fields a reveal for `purpose` returns, in `Identity`'s field order."""
    allowed = REVEALED_FIELDS[purpose]
    return tuple(name for name in IDENTITY_FIELDS if name in allowed)


def reveal(identity: Identity, purpose: RevealPurpose) -> Identity:
    """The identity with every field `purpose` does not return emptied."""
    allowed = REVEALED_FIELDS[purpose]
    return dataclasses.replace(
        identity, **{name: "" for name in IDENTITY_FIELDS if name not in allowed}
    )
