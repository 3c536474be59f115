"""Domain exceptions shared by every service.

Domain code raises these; `aduan.service.grpcerrors` maps them to gRPC status codes in one place.
They carry no transport types.
"""

from __future__ import annotations

from dataclasses import dataclass


class AduanError(Exception):
    """Base class of every error that a caller is meant to see."""


@dataclass(frozen=True)
class FieldViolation:
    field: str
    description: str


class ValidationError(AduanError):
    """The request is malformed; nothing was stored. Maps to INVALID_ARGUMENT."""

    def __init__(self, violations: list[FieldViolation] | FieldViolation | str) -> None:
        if isinstance(violations, str):
            violations = [FieldViolation("", violations)]
        elif isinstance(violations, FieldViolation):
            violations = [violations]
        self.violations = violations
        super().__init__(
            "; ".join(
                f"{v.field}: {v.description}" if v.field else v.description for v in violations
            )
        )


class NotFoundError(AduanError):
    """Maps to NOT_FOUND."""


class AlreadyExistsError(AduanError):
    """Maps to ALREADY_EXISTS."""


class InvalidStateError(AduanError):
    """The command is not allowed in the aggregate's current state. Maps to FAILED_PRECONDITION."""


class ConcurrencyConflictError(AduanError):
    """Another writer changed the aggregate first (or expected_version did not match). ABORTED."""


class PermissionDeniedError(AduanError):
    """Maps to PERMISSION_DENIED."""


class UnauthenticatedError(AduanError):
    """Maps to UNAUTHENTICATED."""


class UnavailableError(AduanError):
    """A dependency (store, broker, peer) cannot be reached right now. Maps to UNAVAILABLE."""
