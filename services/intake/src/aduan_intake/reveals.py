"""Purpose-limited reveals: which of a reporter's identity fields each reveal purpose returns.
Transport-free; the one table the application, the servicer and the docs follow (UU PDP's data
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
