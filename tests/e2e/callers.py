"""Who the end-to-end tests call as: an operator token that holds every human role, so that one
channel can file (gateway), act on any case (supervisor of the Pusat triage desk, which oversees
every office), read everything (auditor) and erase or rebuild (admin). The authorisation matrix
itself is tested in tests/integration/test_authorisation_matrix.py.

    from e2e.callers import operator_channel
"""

from __future__ import annotations

import os

import grpc

from aduan.auth import with_bearer
from aduan.stack import LocalStack

OPERATOR_ROLES = ["gateway", "supervisor", "auditor", "admin"]
OPERATOR_OFFICE = "PUSAT.IP3"


def operator_token(stack: LocalStack | None) -> str:
    """A token of the local stack; against a cluster (ADUAN_E2E_TARGET=k8s) $ADUAN_E2E_TOKEN."""
    if stack is None:
        return os.environ.get("ADUAN_E2E_TOKEN", "")
    return stack.token(OPERATOR_ROLES, OPERATOR_OFFICE, sub="e2e:operator")


def operator_channel(stack: LocalStack | None, address: str) -> grpc.Channel:
    return with_bearer(grpc.insecure_channel(address), operator_token(stack))


def notification_metadata(stack: LocalStack) -> tuple[tuple[str, str]]:
    """The notification service's identity, the one that may see reporters' contacts."""
    return (("authorization", f"Bearer {stack.token('service', sub='service:notification')}"),)
