"""Sealing the reporters' personal data (docs/architecture.md, rule 4). Transport-free.

Envelope encryption: every reporter gets a random 256-bit *data key*; their name, phone, email and
NIK are encrypted with AES-GCM under it. The data key is stored only *wrapped* (AES-GCM under a
key derived from the master key) in a side table whose row is deleted on erasure: without the
data key the ciphertext is noise, wherever copies of it went (crypto-shredding).

The master key comes from `ADUAN_MASTER_KEY` (base64 of 32 random bytes; in Kubernetes from a
Secret). Sub-keys are derived with HKDF so that one master key never serves two purposes.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import logging
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from aduan.core.redaction import redact

log = logging.getLogger(__name__)

KEY_BYTES = 32
NONCE_BYTES = 12
# Known to everyone who reads this file, hence usable for local development only.
DEV_MASTER_KEY_SEED = b"aduan-local-development-master-key (NOT A SECRET)"
SEALED_FORMAT = 1


class MasterKeyError(ValueError):
    """ADUAN_MASTER_KEY is malformed; the service refuses to start rather than guess."""


class KeyDestroyedError(Exception):
    """The reporter's data key was destroyed (erased): the identity cannot be recovered."""


@dataclass(frozen=True)
class Identity:
    """A reporter's personal data, in plaintext. Lives only in memory, never in a log line."""

    name: str = ""
    phone: str = ""
    email: str = ""
    nik: str = ""
    language: str = "id"

    def __repr__(self) -> str:  # keep plaintext out of tracebacks and debug logs
        return "Identity(<sealed>)"

    __str__ = __repr__


def _derive(master: bytes, purpose: str) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(), length=KEY_BYTES, salt=None, info=purpose.encode()
    ).derive(master)


class MasterKey:
    """The root secret; only derived sub-keys are ever used directly."""

    def __init__(self, secret: bytes, *, development: bool = False) -> None:
        if len(secret) != KEY_BYTES:
            raise MasterKeyError(f"the master key must be {KEY_BYTES} bytes, not {len(secret)}")
        self.development = development
        self._wrapping = AESGCM(_derive(secret, "aduan/intake/data-key-wrapping/v1"))
        self._index_key = _derive(secret, "aduan/intake/phone-index/v1")
        # A key of its own: a phone digest and a tracking-code digest never match each other.
        self._tracking_key = _derive(secret, "aduan/intake/tracking-code/v1")
        # Identifies the master key (not secret): a wrapped key names the key that wrapped it.
        self.key_id = hashlib.sha256(_derive(secret, "aduan/intake/key-id/v1")).hexdigest()[:16]

    @classmethod
    def from_setting(cls, value: str | None) -> MasterKey:
        """From the base64 `ADUAN_MASTER_KEY`; when unset, a fixed development key (with a
        warning), so that `make up` works without configuration."""
        if not value:
            log.warning(
                "ADUAN_MASTER_KEY is not set: using the built-in DEVELOPMENT master key. "
                "Personal data is NOT protected; set ADUAN_MASTER_KEY (base64 of 32 random "
                "bytes, e.g. `openssl rand -base64 32`) in any real deployment."
            )
            return cls(hashlib.sha256(DEV_MASTER_KEY_SEED).digest(), development=True)
        try:
            secret = base64.b64decode(value.strip(), validate=True)
        except (binascii.Error, ValueError):
            raise MasterKeyError("ADUAN_MASTER_KEY must be base64") from None
        return cls(secret)

    @classmethod
    def development_key(cls) -> MasterKey:
        return cls(hashlib.sha256(DEV_MASTER_KEY_SEED).digest(), development=True)

    def new_wrapped_data_key(self, reporter_id: str) -> bytes:
        return self.wrap(AESGCM.generate_key(bit_length=256), reporter_id)

    def wrap(self, data_key: bytes, reporter_id: str) -> bytes:
        nonce = os.urandom(NONCE_BYTES)
        aad = self._aad(reporter_id)
        return self.key_id.encode() + b":" + nonce + self._wrapping.encrypt(nonce, data_key, aad)

    def unwrap(self, wrapped: bytes, reporter_id: str) -> bytes:
        key_id, _, body = wrapped.partition(b":")
        if key_id.decode(errors="replace") != self.key_id:
            raise MasterKeyError("the data key was wrapped by another master key")
        nonce, ciphertext = body[:NONCE_BYTES], body[NONCE_BYTES:]
        return self._wrapping.decrypt(nonce, ciphertext, self._aad(reporter_id))

    @staticmethod
    def _aad(reporter_id: str) -> bytes:
        return f"aduan/intake/data-key:{reporter_id}".encode()

    def phone_digest(self, e164_phone: str) -> str:
        """A keyed hash of a normalised phone number: lets intake find a number's complaints
        without storing the number (and without a dictionary attack on a leaked table)."""
        return hmac.new(self._index_key, e164_phone.encode(), hashlib.sha256).hexdigest()

    def tracking_digest(self, canonical_code: str) -> str:
        """A keyed hash of an anonymous reporter's tracking code (only the hash is stored)."""
        return hmac.new(self._tracking_key, canonical_code.encode(), hashlib.sha256).hexdigest()


def seal_identity(identity: Identity, data_key: bytes, reporter_id: str) -> bytes:
    nonce = os.urandom(NONCE_BYTES)
    # The fields in declaration order, as asdict() gives them, without its recursive copying.
    plaintext = json.dumps(dict(vars(identity)), ensure_ascii=False).encode()
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _identity_aad(reporter_id))
    return bytes([SEALED_FORMAT]) + nonce + ciphertext


def open_identity(sealed: bytes, data_key: bytes, reporter_id: str) -> Identity:
    if not sealed or sealed[0] != SEALED_FORMAT:
        raise ValueError("unknown sealed identity format")
    nonce, ciphertext = sealed[1 : 1 + NONCE_BYTES], sealed[1 + NONCE_BYTES :]
    try:
        plaintext = AESGCM(data_key).decrypt(nonce, ciphertext, _identity_aad(reporter_id))
    except InvalidTag:
        raise ValueError("sealed identity does not match its key") from None
    return Identity(**json.loads(plaintext))


def _identity_aad(reporter_id: str) -> bytes:
    return f"aduan/intake/identity:{reporter_id}".encode()


# -- free text: the words as written sealed, a redacted copy for everyone else -----------------


def seal_text(text: str, data_key: bytes, aad: bytes) -> str:
    """`text` sealed under the reporter's data key, as base64 (events are JSON)."""
    nonce = os.urandom(NONCE_BYTES)
    ciphertext = AESGCM(data_key).encrypt(nonce, text.encode(), aad)
    return base64.b64encode(bytes([SEALED_FORMAT]) + nonce + ciphertext).decode("ascii")


def open_text(sealed: str, data_key: bytes, aad: bytes) -> str:
    raw = base64.b64decode(sealed)
    if not raw or raw[0] != SEALED_FORMAT:
        raise ValueError("unknown sealed text format")
    nonce, ciphertext = raw[1 : 1 + NONCE_BYTES], raw[1 + NONCE_BYTES :]
    try:
        return AESGCM(data_key).decrypt(nonce, ciphertext, aad).decode()
    except InvalidTag:
        raise ValueError("sealed text does not match its key or its place") from None


def text_aad(key_owner: str, complaint_id: uuid.UUID, item: str, field_name: str) -> bytes:
    """Binds a sealed text to its reporter key, its complaint, the event or message it belongs
    to and its field: a ciphertext copied anywhere else does not open."""
    return f"aduan/intake/text:{key_owner}:{complaint_id}:{item}:{field_name}".encode()


@dataclass(frozen=True)
class SealedTexts:
    """What an event stores of a citizen's free texts: the redacted copy of each (published,
    projected, exported), the words as written sealed (only non-empty texts; never published)
    and the ids of the redaction rules that masked something, each once, in the order they
    first fired."""

    redacted: dict[str, str]
    sealed: dict[str, str] = field(default_factory=dict)
    rule_ids: list[str] = field(default_factory=list)


class TextSealer:
    """Seals and opens one complaint's free texts under its reporter's data key. `data_key`
    None: the key was destroyed (the reporter was erased), so texts get the redacted copy
    only and nothing opens."""

    def __init__(self, data_key: bytes | None, key_owner: str, complaint_id: uuid.UUID) -> None:
        self._data_key = data_key
        self.key_owner = key_owner
        self.complaint_id = complaint_id

    def __repr__(self) -> str:  # keep the key out of tracebacks and debug logs
        return f"TextSealer(complaint={self.complaint_id})"

    @property
    def can_open(self) -> bool:
        return self._data_key is not None

    def seal(self, item: str, texts: Mapping[str, str]) -> SealedTexts:
        """The texts of one event or message (`item`), field by field."""
        redacted: dict[str, str] = {}
        sealed: dict[str, str] = {}
        rule_ids: list[str] = []
        for name, text in texts.items():
            copy = redact(text)
            redacted[name] = copy.text
            rule_ids.extend(rule for rule in copy.rule_ids if rule not in rule_ids)
            if text and self._data_key is not None:
                aad = text_aad(self.key_owner, self.complaint_id, item, name)
                sealed[name] = seal_text(text, self._data_key, aad)
        return SealedTexts(redacted, sealed, rule_ids)

    def open(self, item: str, field_name: str, sealed: str) -> str:
        if self._data_key is None:
            raise KeyDestroyedError("the reporter's data key was destroyed")
        aad = text_aad(self.key_owner, self.complaint_id, item, field_name)
        return open_text(sealed, self._data_key, aad)


# -- masking: what other services may see of a contact -----------------------------------------


def mask_phone(e164_phone: str) -> str:
    """`+6281234567890` -> `+62812****890`: enough to recognise, not enough to call."""
    if len(e164_phone) < 9:
        return "*" * len(e164_phone)
    return f"{e164_phone[:6]}****{e164_phone[-3:]}"


def mask_email(email: str) -> str:
    """`budi.santoso@example.id` -> `b***@example.id`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}" if local and domain else "***"


def masked_contact(identity: Identity) -> str:
    if identity.phone:
        return mask_phone(identity.phone)
    if identity.email:
        return mask_email(identity.email)
    return ""


@dataclass(frozen=True)
class SealedReporter:
    """All that events carry of a reporter whose identity is sealed: an id and a masked contact.
    Both empty: anonymous."""

    reporter_id: str = ""
    masked_contact: str = ""


ANONYMOUS = SealedReporter()
