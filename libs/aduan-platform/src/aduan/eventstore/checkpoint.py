"""Tamper evidence, part 2: each write service periodically seals its own log.

A checkpoint covers the positions after the previous checkpoint up to the head: the Merkle root
over (position, event hash) of every stored event in that range (`aduan.eventstore.chain`), signed with the
service's Ed25519 key. It is stored as a `LogCheckpoint.Sealed` event in the same log, so it is
itself history: published over NATS (`CheckpointSealed`), kept by the query service, and sealed by
the next checkpoint. The event and the tracking record "checkpoint:sealed" (the last sealed
position) are written in one transaction, so two sealers can never seal overlapping ranges.

Only the leader seals (`WriteBackbone.leadership`). Configuration: ADUAN_CHECKPOINT_SECONDS
(default 60), ADUAN_CHECKPOINT_EVENTS (seal early once this many positions are unsealed, default
500), ADUAN_CHECKPOINT_KEY_FILE or ADUAN_CHECKPOINT_KEY (base64 of a 32-byte Ed25519 seed, or a
PEM private key in the file). Without a key a development key derived from the service name is
used, with a warning: anyone can forge its signatures.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.domain import Aggregate, event

from aduan.core.context import Actor, CommandContext
from aduan.eventstore.chain import (
    checkpoint_statement,
    key_id_of,
    leaf_hash,
    manifest_entry,
    merkle_root,
    sealed_hash,
)
from aduan.eventstore.leader import Leadership
from aduan.eventstore.store import AduanApplication, DuplicateEventError

log = logging.getLogger(__name__)

ALGORITHM = "ed25519/sha256-merkle-v1"
CHECKPOINT_NAMESPACE = uuid.UUID("5b0f3c2e-8f7a-4d0e-9a61-3c2d7e1f9b44")
DEFAULT_SECONDS = 60.0
DEFAULT_EVENTS = 500
# Upper bound of positions per checkpoint, so that catching up a long unsealed log writes several
# checkpoints of bounded size instead of one huge manifest.
MAX_RANGE = 5_000


class LogCheckpoint(Aggregate):
    """One seal over a range of the service's own log (one aggregate per range, so that two
    sealers of the same range conflict). Binary values are stored base64-encoded."""

    @staticmethod
    def id_for(service: str, from_position: int) -> uuid.UUID:
        return uuid.uuid5(CHECKPOINT_NAMESPACE, f"{service}:{from_position}")

    @classmethod
    def create_id(cls, service: str, from_position: int, **_: Any) -> uuid.UUID:
        return cls.id_for(service, from_position)

    @event("Sealed")
    def __init__(
        self,
        service: str,
        from_position: int,
        to_position: int,
        event_count: int,
        root: str,
        signature: str,
        key_id: str,
        public_key: str,
        manifest: str,
        algorithm: str,
        meta: dict[str, Any],
    ) -> None:
        self.service = service
        self.from_position = from_position
        self.to_position = to_position
        self.event_count = event_count
        self.root = root


# The stored event class `eventsourcing` generated for the decorated __init__.
SEALED_EVENT: type[Any] = LogCheckpoint.Sealed  # type: ignore[attr-defined]


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


# -- keys ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointSigner:
    private_key: Ed25519PrivateKey
    development: bool = False

    @property
    def public_key(self) -> bytes:
        return self.private_key.public_key().public_bytes(
            serialization.Encoding.Raw, serialization.PublicFormat.Raw
        )

    @property
    def key_id(self) -> str:
        return key_id_of(self.public_key)

    def sign(self, statement: bytes) -> bytes:
        return self.private_key.sign(statement)


def development_seed(service: str) -> bytes:
    return hashlib.sha256(f"aduan-development-checkpoint-key:{service}".encode()).digest()


def development_public_key(service: str) -> bytes:
    return (
        Ed25519PrivateKey.from_private_bytes(development_seed(service))
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def _private_key(material: bytes) -> Ed25519PrivateKey:
    text = material.strip()
    if text.startswith(b"-----BEGIN"):
        loaded = serialization.load_pem_private_key(text, password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError("the checkpoint key must be an Ed25519 private key")
        return loaded
    seed = base64.b64decode(text, validate=True)
    if len(seed) != 32:
        raise ValueError("the checkpoint key must be base64 of a 32-byte Ed25519 seed")
    return Ed25519PrivateKey.from_private_bytes(seed)


def load_signer(service: str, extra: Mapping[str, str]) -> CheckpointSigner:
    """The signing key from CHECKPOINT_KEY_FILE or CHECKPOINT_KEY (ADUAN_ prefix stripped)."""
    path = extra.get("CHECKPOINT_KEY_FILE", "")
    if path:
        return CheckpointSigner(_private_key(Path(path).read_bytes()))
    inline = extra.get("CHECKPOINT_KEY", "")
    if inline:
        return CheckpointSigner(_private_key(inline.encode()))
    log.warning(
        "no ADUAN_CHECKPOINT_KEY_FILE or ADUAN_CHECKPOINT_KEY: checkpoints are signed with a "
        "development key that anyone can derive",
        extra={"service": service},
    )
    return CheckpointSigner(
        Ed25519PrivateKey.from_private_bytes(development_seed(service)), development=True
    )


# -- sealing ---------------------------------------------------------------------------------


class CheckpointSealer:
    """The worker that seals the log every `interval_seconds`, or sooner once `max_events`
    positions are unsealed. Only while `leadership` leads."""

    TRACKING_NAME: ClassVar[str] = "checkpoint:sealed"

    def __init__(
        self,
        app: AduanApplication,
        service: str,
        signer: CheckpointSigner,
        *,
        interval_seconds: float = DEFAULT_SECONDS,
        max_events: int = DEFAULT_EVENTS,
        leadership: Leadership | None = None,
    ) -> None:
        self.app = app
        self.service = service
        self.signer = signer
        self.interval_seconds = interval_seconds
        self.max_events = max(1, max_events)
        self.leadership = leadership or Leadership()
        self._ctx = CommandContext(actor=Actor.system("checkpoint"))
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def from_settings(
        cls, app: AduanApplication, service: str, extra: Mapping[str, str], leadership: Leadership
    ) -> CheckpointSealer:
        return cls(
            app,
            service,
            load_signer(service, extra),
            interval_seconds=float(extra.get("CHECKPOINT_SECONDS", DEFAULT_SECONDS)),
            max_events=int(extra.get("CHECKPOINT_EVENTS", DEFAULT_EVENTS)),
            leadership=leadership,
        )

    def sealed_position(self) -> int:
        return self.app.tracked_position(self.TRACKING_NAME)

    def seal_once(self) -> LogCheckpoint | None:
        """Seal the unsealed positions up to the head (at most MAX_RANGE of them); None when
        nothing but checkpoints was stored since the last one."""
        sealed = self.sealed_position()
        head = self.app.head_position()
        if head <= sealed:
            return None
        until = min(head, sealed + MAX_RANGE)
        leaves: list[bytes] = []
        manifest = bytearray()
        only_checkpoints = True
        after = sealed
        while after < until:
            batch = self.app.read_notifications(after, min(500, until - after))
            batch = [n for n in batch if n.id <= until]
            if not batch:
                break
            for notification in batch:
                digest = sealed_hash(
                    str(notification.originator_id),
                    notification.originator_version,
                    notification.topic,
                    notification.state,
                )
                leaves.append(leaf_hash(notification.id, digest))
                manifest += manifest_entry(notification.id, digest)
                if not notification.topic.endswith("LogCheckpoint.Sealed"):
                    only_checkpoints = False
            after = batch[-1].id
        if only_checkpoints:
            return None  # sealing a checkpoint alone would seal forever
        root = merkle_root(leaves)
        statement = checkpoint_statement(
            self.service, sealed + 1, until, len(leaves), root, bytes(manifest)
        )
        checkpoint = LogCheckpoint(
            service=self.service,
            from_position=sealed + 1,
            to_position=until,
            event_count=len(leaves),
            root=b64(root),
            signature=b64(self.signer.sign(statement)),
            key_id=self.signer.key_id,
            public_key=b64(self.signer.public_key),
            manifest=b64(bytes(manifest)),
            algorithm=ALGORITHM,
            meta=self._ctx.meta(),
        )
        try:
            self.app.save_reaction(self.TRACKING_NAME, until, checkpoint)
        except DuplicateEventError:
            return None  # another sealer got there first
        log.info(
            "log sealed",
            extra={
                "from": sealed + 1,
                "to": until,
                "events": len(leaves),
                "key": self.signer.key_id,
            },
        )
        return checkpoint

    def seal_all(self) -> int:
        """Seal until caught up; returns how many checkpoints were written."""
        written = 0
        while self.seal_once() is not None:
            written += 1
        return written

    # -- worker ------------------------------------------------------------------------------
    def _on_saved(self, _position: int) -> None:
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._wake.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.app.add_listener(self._on_saved)
        try:
            while not self._stopping.is_set():
                if not self.leadership.is_leader:
                    await self._first(self.leadership.wait_until_leader())
                    continue
                deadline = self._loop.time() + self.interval_seconds
                while not self._stopping.is_set() and self._loop.time() < deadline:
                    self._wake.clear()
                    await self._first(self._wake.wait(), within=deadline - self._loop.time())
                    if self._wake.is_set() and await self._backlog() >= self.max_events:
                        break
                if self._stopping.is_set() or not self.leadership.is_leader:
                    continue
                try:
                    await asyncio.to_thread(self.seal_all)
                except asyncio.CancelledError:
                    raise
                except Exception as error:
                    log.warning("sealing the log failed; retrying", extra={"error": repr(error)})
        finally:
            self.app.remove_listener(self._on_saved)

    async def _backlog(self) -> int:
        def backlog() -> int:
            return self.app.head_position() - self.sealed_position()

        try:
            return await asyncio.to_thread(backlog)
        except Exception:
            return 0

    async def _first(self, awaitable: Any, within: float | None = None) -> None:
        task = asyncio.ensure_future(awaitable)
        stop = asyncio.ensure_future(self._stopping.wait())
        try:
            await asyncio.wait({task, stop}, timeout=within, return_when="FIRST_COMPLETED")
        finally:
            task.cancel()
            stop.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    def stop(self) -> None:
        self._stopping.set()
