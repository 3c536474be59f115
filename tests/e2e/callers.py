"""Who the end-to-end tests call as: an operator token that holds every human role, so that one
channel can file (gateway), act on any case (supervisor of the Pusat triage desk, which oversees
every office but the independent Inspectorate's cases), read everything else (the supervisor role
is the one admitted first, so the Inspectorate's cases stay hidden from this token: tests that
need them use an auditor's token) and erase or rebuild (admin). The authorisation matrix
itself is tested in tests/integration/test_authorisation_matrix.py.

    from e2e.callers import operator_channel
"""

from __future__ import annotations

import os
from pathlib import Path

import grpc
import pytest

from aduan.service.auth import with_bearer
from aduan_devtools.stack import LocalStack

# "local" (the process stack the fixtures start) or "k8s" (a cluster; see conftest).
TARGET = os.environ.get("ADUAN_E2E_TARGET", "local")

OPERATOR_ROLES = ["gateway", "supervisor", "auditor", "admin"]
OPERATOR_OFFICE = "PUSAT.IP3"


def operator_token(stack: LocalStack | None) -> str:
    """A token of the local stack; against a cluster (ADUAN_E2E_TARGET=k8s) $ADUAN_E2E_TOKEN."""
    if stack is None:
        return os.environ.get("ADUAN_E2E_TOKEN", "")
    return stack.token(OPERATOR_ROLES, OPERATOR_OFFICE, sub="e2e:operator")


def auditor_metadata(stack: LocalStack | None) -> tuple[tuple[str, str]]:
    """An auditor's identity, the one that reads the Inspectorate's sealed cases: the local
    stack's, or $ADUAN_E2E_AUDITOR_TOKEN against a cluster (the test skips without it)."""
    if stack is None:
        token = os.environ.get("ADUAN_E2E_AUDITOR_TOKEN", "")
        if not token:
            pytest.skip("no auditor token for the cluster: set ADUAN_E2E_AUDITOR_TOKEN")
    else:
        token = stack.token("auditor", sub="e2e:auditor")
    return (("authorization", f"Bearer {token}"),)


def cluster_channel(address: str) -> grpc.Channel:
    """A channel to a cluster's service (ADUAN_E2E_TARGET=k8s): plaintext, or TLS when
    $ADUAN_E2E_CA names the CA bundle (PEM file) the services' certificates chain to, presenting
    the client certificate in $ADUAN_E2E_CERT/$ADUAN_E2E_KEY when set (mutual TLS), and expecting
    $ADUAN_E2E_SERVER_NAME in the certificates when set instead of the address's host."""
    ca = os.environ.get("ADUAN_E2E_CA", "")
    if not ca:
        return grpc.insecure_channel(address)
    cert = os.environ.get("ADUAN_E2E_CERT", "")
    key = os.environ.get("ADUAN_E2E_KEY", "")
    credentials = grpc.ssl_channel_credentials(
        root_certificates=Path(ca).read_bytes(),
        private_key=Path(key).read_bytes() if cert and key else None,
        certificate_chain=Path(cert).read_bytes() if cert and key else None,
    )
    server_name = os.environ.get("ADUAN_E2E_SERVER_NAME", "")
    options = [("grpc.ssl_target_name_override", server_name)] if server_name else []
    return grpc.secure_channel(address, credentials, options=options)


def operator_channel(stack: LocalStack | None, address: str) -> grpc.Channel:
    if stack is None:
        return with_bearer(cluster_channel(address), operator_token(None))
    return with_bearer(grpc.insecure_channel(address), operator_token(stack))


def notification_metadata(stack: LocalStack) -> tuple[tuple[str, str]]:
    """The notification service's identity, the one that may see reporters' contacts."""
    return (("authorization", f"Bearer {stack.token('service', sub='service:notification')}"),)
