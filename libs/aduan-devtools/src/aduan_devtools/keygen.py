"""Key material a deployment generates once: each service's identity key (the ES256 key it signs
the tokens it presents to its peers with) and the JWKS of their public keys that every service
trusts (docs/security.md, "Service identities"; docs/deploy.md, "Secrets").

    aduan keys --out keys/
    # keys/intake.pem … keys/query.pem (private, mode 0600) and keys/jwks.json (public)
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

from aduan.core.settings import ALL_SERVICES

JWKS_FILE = "jwks.json"


def default_kid(service: str) -> str:
    """The key id the chart gives a service unless told otherwise (secrets.serviceIdentity.kids)."""
    return f"aduan-{service}"


@dataclass(frozen=True)
class ServiceKey:
    service: str
    kid: str
    private_pem: bytes
    public_jwk: dict[str, Any]


def generate_service_key(service: str, kid: str = "") -> ServiceKey:
    """A fresh EC P-256 key: ES256 is what TokenSigner.from_pem signs with for such a key."""
    private = ec.generate_private_key(ec.SECP256R1())
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    jwk: dict[str, Any] = ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    kid = kid or default_kid(service)
    jwk.update({"kid": kid, "use": "sig", "alg": "ES256"})
    return ServiceKey(service, kid, pem, jwk)


def jwks(keys: Sequence[ServiceKey]) -> dict[str, Any]:
    return {"keys": [key.public_jwk for key in keys]}


def write_service_keys(out_dir: Path, services: Sequence[str] = ALL_SERVICES) -> list[Path]:
    """Write <service>.pem (owner-only) and jwks.json into out_dir; refuse to overwrite a key,
    since replacing one silently would lock its service out of its peers."""
    out_dir.mkdir(parents=True, exist_ok=True)
    targets = [out_dir / f"{service}.pem" for service in services] + [out_dir / JWKS_FILE]
    existing = [str(path) for path in targets if path.exists()]
    if existing:
        raise FileExistsError(f"refusing to overwrite {', '.join(existing)}")
    keys = [generate_service_key(service) for service in services]
    written: list[Path] = []
    for key in keys:
        path = out_dir / f"{key.service}.pem"
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(key.private_pem)
        written.append(path)
    jwks_path = out_dir / JWKS_FILE
    jwks_path.write_text(json.dumps(jwks(keys), indent=2) + "\n")
    written.append(jwks_path)
    return written
