"""Throwaway certificate authorities and certificates for the TLS tests (`cryptography`)."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


@dataclass(frozen=True)
class Issued:
    cert: Path
    key: Path


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


class Authority:
    """A CA that writes its certificate and the certificates it issues under `directory`."""

    def __init__(self, directory: Path, name: str = "Aduan Test CA") -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.certificate = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.cert_path = directory / "ca.pem"
        self.cert_path.write_bytes(self.certificate.public_bytes(serialization.Encoding.PEM))

    @property
    def ca_pem(self) -> bytes:
        return self.certificate.public_bytes(serialization.Encoding.PEM)

    def issue_pem(
        self,
        common_name: str,
        names: list[str] | tuple[str, ...] = ("localhost",),
        ips: list[str] | tuple[str, ...] = ("127.0.0.1",),
    ) -> tuple[bytes, bytes]:
        """A certificate and its key (PEM), for the given DNS names and IPs, usable by servers
        and clients alike (the services present theirs to their peers too)."""
        key = ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        alternative: list[x509.GeneralName] = [x509.DNSName(n) for n in dict.fromkeys(names)]
        alternative += [x509.IPAddress(ipaddress.ip_address(i)) for i in dict.fromkeys(ips)]
        certificate = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
            .sign(self.key, hashes.SHA256())
        )
        return certificate.public_bytes(serialization.Encoding.PEM), _key_pem(key)

    def issue(self, common_name: str) -> Issued:
        """A certificate for loopback (127.0.0.1, localhost), written under the directory."""
        cert_pem, key_pem = self.issue_pem(common_name)
        cert_path = self.directory / f"{common_name}.pem"
        key_path = self.directory / f"{common_name}-key.pem"
        cert_path.write_bytes(cert_pem)
        key_path.write_bytes(key_pem)
        return Issued(cert_path, key_path)
