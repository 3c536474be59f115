"""Tamper evidence, part 1: every stored event is hash-chained to the previous event of its
aggregate, and a log's positions can be sealed under a Merkle root (see `checkpoint.py`).

The chain is added by `ChainingMapper`, the application's `eventsourcing` Mapper: after the
ordinary mapping (transcode, compress, encrypt) it prefixes the stored state with a header

    MAGIC (4 bytes) || prev_hash (32) || event_hash (32) || body

where body is the state the plain Mapper would have stored and

    event_hash = SHA-256("aduan-event-v1" 0x00 || prev_hash || len||aggregate id || version (8)
                         || len||topic || body)

and prev_hash is the event_hash of version-1 of the same aggregate (32 zero bytes for version 1).
Aggregates and domain code never see any of it: reading strips the header.

Verification (`verify_log`) works on plain records, so it runs anywhere the stored topic and state
are available, e.g. from `aduan.v1.EventLog` with `include_stored`, without database access.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol, Snapshot
from eventsourcing.persistence import (
    AggregateRecorder,
    Cipher,
    Compressor,
    Mapper,
    StoredEvent,
    Transcoder,
)

GENESIS = bytes(32)
MAGIC = b"\x00AC1"
HASH_BYTES = 32
HEADER_BYTES = len(MAGIC) + 2 * HASH_BYTES
PREFIX_BYTES = 8  # of an event hash, in a checkpoint's manifest
_EVENT_DOMAIN = b"aduan-event-v1\x00"
_CONTENT_DOMAIN = b"aduan-unchained-v1\x00"
_STATEMENT_DOMAIN = b"aduan-checkpoint-v1\x00"


def _field(data: bytes) -> bytes:
    return len(data).to_bytes(4, "big") + data


def compute_event_hash(
    prev_hash: bytes, aggregate_id: str, version: int, topic: str, body: bytes
) -> bytes:
    digest = hashlib.sha256(_EVENT_DOMAIN)
    digest.update(prev_hash)
    digest.update(_field(aggregate_id.encode()))
    digest.update(version.to_bytes(8, "big", signed=True))
    digest.update(_field(topic.encode()))
    digest.update(body)
    return digest.digest()


def content_hash(aggregate_id: str, version: int, topic: str, state: bytes) -> bytes:
    """Identity of an event stored without a chain header (sealed by checkpoints all the same)."""
    digest = hashlib.sha256(_CONTENT_DOMAIN)
    digest.update(_field(aggregate_id.encode()))
    digest.update(version.to_bytes(8, "big", signed=True))
    digest.update(_field(topic.encode()))
    digest.update(state)
    return digest.digest()


@dataclass(frozen=True)
class ChainLink:
    """The chain header of a stored state (empty hashes when the state has none)."""

    prev_hash: bytes
    event_hash: bytes
    body: bytes

    @property
    def chained(self) -> bool:
        return bool(self.event_hash)


def parse_state(state: bytes) -> ChainLink:
    if len(state) >= HEADER_BYTES and state.startswith(MAGIC):
        start = len(MAGIC)
        return ChainLink(
            prev_hash=state[start : start + HASH_BYTES],
            event_hash=state[start + HASH_BYTES : HEADER_BYTES],
            body=state[HEADER_BYTES:],
        )
    return ChainLink(b"", b"", state)


def frame_state(prev_hash: bytes, event_hash: bytes, body: bytes) -> bytes:
    return MAGIC + prev_hash + event_hash + body


def sealed_hash(aggregate_id: str, version: int, topic: str, state: bytes) -> bytes:
    """What a checkpoint seals for one event: its claimed chain hash, or a content hash when it
    has no chain header."""
    link = parse_state(state)
    if link.chained:
        return link.event_hash
    return content_hash(aggregate_id, version, topic, state)


class ChainingMapper(Mapper[Any]):
    """An `eventsourcing` Mapper that chains each aggregate's stored events by hash.

    The previous hash of an aggregate comes from (in order): events mapped earlier in the same
    recording (thread-local, because several threads record concurrently), a cache filled only
    after a recording committed (so a failed or conflicting write never poisons it), or the
    aggregate's previous stored event read from the recorder.
    """

    def __init__(
        self,
        transcoder: Transcoder,
        compressor: Compressor | None = None,
        cipher: Cipher | None = None,
        cache_size: int = 10_000,
    ) -> None:
        super().__init__(transcoder, compressor=compressor, cipher=cipher)
        self.recorder: AggregateRecorder | None = None
        self._cache: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._cache_size = cache_size
        self._cache_lock = threading.Lock()
        self._local = threading.local()

    # -- recording lifecycle (called by AduanApplication._record) ----------------------------
    def begin_recording(self) -> None:
        self._local.pending = {}

    def end_recording(self, committed: Iterable[StoredEvent] = ()) -> None:
        self._local.pending = {}
        with self._cache_lock:
            for stored in committed:
                link = parse_state(stored.state)
                if link.chained:
                    key = (str(stored.originator_id), stored.originator_version)
                    self._cache[key] = link.event_hash
                    self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _pending(self) -> dict[tuple[str, int], bytes]:
        pending: dict[tuple[str, int], bytes] | None = getattr(self._local, "pending", None)
        if pending is None:
            pending = self._local.pending = {}
        return pending

    def previous_hash(self, originator_id: UUID | str, version: int) -> bytes:
        previous = version - 1
        if previous < 1:
            return GENESIS
        key = (str(originator_id), previous)
        found = self._pending().get(key)
        if found is not None:
            return found
        with self._cache_lock:
            found = self._cache.get(key)
        if found is not None:
            return found
        if self.recorder is None:
            return GENESIS
        stored = self.recorder.select_events(originator_id, gt=previous - 1, lte=previous, limit=1)
        if not stored:
            # Nothing to link to: the verifier reports the missing version.
            return GENESIS
        event = stored[0]
        return sealed_hash(key[0], event.originator_version, event.topic, event.state)

    # -- Mapper -------------------------------------------------------------------------------
    def to_stored_event(self, domain_event: DomainEventProtocol[Any]) -> StoredEvent:
        stored = super().to_stored_event(domain_event)
        if isinstance(domain_event, Snapshot):
            return stored  # snapshots are a cache of the log, not history
        aggregate_id = str(stored.originator_id)
        version = stored.originator_version
        prev_hash = self.previous_hash(stored.originator_id, version)
        event_hash = compute_event_hash(
            prev_hash, aggregate_id, version, stored.topic, stored.state
        )
        self._pending()[(aggregate_id, version)] = event_hash
        return StoredEvent(
            originator_id=stored.originator_id,
            originator_version=version,
            topic=stored.topic,
            state=frame_state(prev_hash, event_hash, stored.state),
        )

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[Any]:
        link = parse_state(stored_event.state)
        if link.chained:
            stored_event = StoredEvent(
                originator_id=stored_event.originator_id,
                originator_version=stored_event.originator_version,
                topic=stored_event.topic,
                state=link.body,
            )
        return super().to_domain_event(stored_event)


# -- Merkle tree and checkpoint statement ---------------------------------------------------


def leaf_hash(position: int, event_hash: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + position.to_bytes(8, "big") + event_hash).digest()


def merkle_root(leaves: Sequence[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash over already-hashed leaves (SHA-256 of nothing when empty)."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    left = merkle_root(leaves[:split])
    right = merkle_root(leaves[split:])
    return hashlib.sha256(b"\x01" + left + right).digest()


def manifest_entry(position: int, event_hash: bytes) -> bytes:
    return position.to_bytes(8, "big") + event_hash[:PREFIX_BYTES]


def parse_manifest(manifest: bytes) -> list[tuple[int, bytes]]:
    size = 8 + PREFIX_BYTES
    return [
        (int.from_bytes(manifest[i : i + 8], "big"), manifest[i + 8 : i + size])
        for i in range(0, len(manifest) - size + 1, size)
    ]


def checkpoint_statement(
    service: str,
    from_position: int,
    to_position: int,
    event_count: int,
    root: bytes,
    manifest: bytes,
) -> bytes:
    """The bytes a checkpoint's Ed25519 signature covers."""
    return (
        _STATEMENT_DOMAIN
        + _field(service.encode())
        + from_position.to_bytes(8, "big")
        + to_position.to_bytes(8, "big")
        + event_count.to_bytes(8, "big")
        + root
        + hashlib.sha256(manifest).digest()
    )


def key_id_of(public_key: bytes) -> str:
    return hashlib.sha256(public_key).hexdigest()[:16]


# -- verification --------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckpointClaim:
    service: str
    from_position: int
    to_position: int
    event_count: int
    root: bytes
    signature: bytes
    key_id: str
    public_key: bytes
    manifest: bytes


@dataclass(frozen=True)
class LoggedEvent:
    """One event as an EventLog serves it (stored topic and state included)."""

    service: str
    position: int
    event_id: str
    aggregate_id: str
    aggregate_version: int
    topic: str
    state: bytes
    event_type: str = ""
    checkpoint: CheckpointClaim | None = None

    def describe(self) -> str:
        kind = f" {self.event_type}" if self.event_type else ""
        return (
            f"event {self.event_id}{kind} (position {self.position}, "
            f"aggregate {self.aggregate_id} version {self.aggregate_version})"
        )


@dataclass(frozen=True)
class Finding:
    """Evidence of tampering (or a broken seal). kind: altered, removed, reordered, inserted,
    unchained, checkpoint."""

    kind: str
    service: str
    detail: str
    position: int | None = None
    event_id: str = ""
    aggregate_id: str = ""
    aggregate_version: int | None = None

    def __str__(self) -> str:
        return f"[{self.service}] {self.kind.upper()}: {self.detail}"


@dataclass
class LogReport:
    service: str
    events: int = 0
    checkpoints: int = 0
    # The checkpoints prove first_position..sealed_up_to (nothing when sealed_up_to is below it).
    first_position: int = 1
    sealed_up_to: int = 0
    head: int = 0
    key_ids: set[str] = field(default_factory=set)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.findings

    @property
    def proven(self) -> tuple[int, int] | None:
        """The positions the checkpoints seal (the findings say where that proof fails)."""
        if self.checkpoints and self.sealed_up_to >= self.first_position:
            return (self.first_position, self.sealed_up_to)
        return None


def verify_checkpoint_signature(claim: CheckpointClaim) -> bool:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    statement = checkpoint_statement(
        claim.service,
        claim.from_position,
        claim.to_position,
        claim.event_count,
        claim.root,
        claim.manifest,
    )
    try:
        Ed25519PublicKey.from_public_bytes(claim.public_key).verify(claim.signature, statement)
    except (InvalidSignature, ValueError):
        return False
    return True


def verify_log(
    service: str,
    events: Iterable[LoggedEvent],
    *,
    trusted_keys: Sequence[bytes] = (),
    development_keys: Sequence[bytes] = (),
    first_position: int = 1,
    seals: Sequence[LoggedEvent] = (),
) -> LogReport:
    """Recompute every chain and checkpoint of one service's log (events in position order).

    Names what was altered (content no longer matches its hash, or a rehashed event no longer
    matches its successor's link), removed (aggregate version gaps; positions a checkpoint sealed
    that are gone), reordered (versions out of position order; events at other positions than
    sealed) or inserted (positions a checkpoint did not seal).

    An excerpt of the log (an audit bundle) starts at `first_position`: the events before it are
    not given, so an aggregate's first given event may link to one of them, and checkpoints are
    expected from there on. `seals` are the checkpoints that cover it but are stored after it
    (each checkpoint is stored after the range it seals)."""
    report = LogReport(service, first_position=first_position, sealed_up_to=first_position - 1)
    logged = list(events)
    report.events = len(logged)
    report.head = logged[-1].position if logged else 0
    hashes: dict[int, bytes] = {}
    by_aggregate: dict[str, list[tuple[LoggedEvent, ChainLink]]] = {}

    def find(kind: str, event: LoggedEvent, detail: str) -> None:
        report.findings.append(
            Finding(
                kind,
                service,
                detail,
                position=event.position,
                event_id=event.event_id,
                aggregate_id=event.aggregate_id,
                aggregate_version=event.aggregate_version,
            )
        )

    for event in logged:
        link = parse_state(event.state)
        hashes[event.position] = sealed_hash(
            event.aggregate_id, event.aggregate_version, event.topic, event.state
        )
        by_aggregate.setdefault(event.aggregate_id, []).append((event, link))
        if not link.chained:
            find("unchained", event, f"{event.describe()} carries no chain hash")
            continue
        recomputed = compute_event_hash(
            link.prev_hash, event.aggregate_id, event.aggregate_version, event.topic, link.body
        )
        if recomputed != link.event_hash:
            find("altered", event, f"{event.describe()}: its content no longer matches its hash")

    for aggregate_id, items in by_aggregate.items():
        _verify_aggregate(aggregate_id, items, find, excerpt=first_position > 1)

    _verify_checkpoints(report, logged, hashes, trusted_keys, development_keys, seals)
    return report


def _verify_aggregate(
    aggregate_id: str,
    items: list[tuple[LoggedEvent, ChainLink]],
    find: Any,
    *,
    excerpt: bool = False,
) -> None:
    for (earlier, _), (later, _) in itertools.pairwise(items):
        if later.aggregate_version <= earlier.aggregate_version:
            find(
                "reordered",
                later,
                f"{later.describe()} is stored after version {earlier.aggregate_version} "
                f"(position {earlier.position}) of the same aggregate",
            )
    expected = 1
    previous: tuple[LoggedEvent, bytes] | None = None
    for event, link in sorted(items, key=lambda item: item[0].aggregate_version):
        version = event.aggregate_version
        # In an excerpt, an aggregate's earlier versions may precede it, so its first link points
        # outside: a version removed there is named by the checkpoint that sealed it instead.
        if excerpt and previous is None and version > 1:
            pass
        elif version > expected:
            missing = f"{expected}" if version - 1 == expected else f"{expected}..{version - 1}"
            find(
                "removed",
                event,
                f"aggregate {aggregate_id} version {missing} is missing (the next stored is "
                f"{event.describe()})",
            )
        elif link.chained:
            want = GENESIS if previous is None else previous[1]
            if version == expected and link.prev_hash != want:
                if previous is None:
                    detail = f"{event.describe()} does not start its aggregate's chain"
                else:
                    detail = (
                        f"chain broken: {event.describe()} links to a hash that "
                        f"{previous[0].describe()} no longer has (that event was rewritten "
                        "and rehashed, or the later one replaced)"
                    )
                find("altered", previous[0] if previous is not None else event, detail)
        own = link.event_hash or content_hash(aggregate_id, version, event.topic, event.state)
        previous = (event, own)
        expected = version + 1


def _verify_checkpoints(
    report: LogReport,
    logged: list[LoggedEvent],
    hashes: dict[int, bytes],
    trusted_keys: Sequence[bytes],
    development_keys: Sequence[bytes],
    seals: Sequence[LoggedEvent] = (),
) -> None:
    service = report.service
    by_position = {event.position: event for event in logged}
    next_from = report.first_position

    def find(kind: str, detail: str, event: LoggedEvent | None = None, position: int = 0) -> None:
        report.findings.append(
            Finding(
                kind,
                service,
                detail,
                position=event.position if event else (position or None),
                event_id=event.event_id if event else (f"{service}:{position}" if position else ""),
                aggregate_id=event.aggregate_id if event else "",
                aggregate_version=event.aggregate_version if event else None,
            )
        )

    holders = sorted(
        [event for event in logged if event.checkpoint is not None] + list(seals),
        key=lambda event: event.position,
    )
    moved_sources: dict[bytes, tuple[int, str]] | None = None

    def sealed_elsewhere(prefix: bytes) -> tuple[int, str] | None:
        """Where a signed checkpoint, any of them, sealed the event with this hash prefix: an
        event swapped with one of another checkpoint's range is moved, not altered."""
        nonlocal moved_sources
        if moved_sources is None:  # only once something differs: a clean log never pays
            moved_sources = {}
            for other in holders:
                sealing = other.checkpoint
                if sealing is None or not verify_checkpoint_signature(sealing):
                    continue
                for at, sealed_prefix in parse_manifest(sealing.manifest):
                    moved_sources.setdefault(sealed_prefix, (at, _checkpoint_place(other)))
        return moved_sources.get(prefix)

    for holder in holders:
        claim = holder.checkpoint
        if claim is None or claim.to_position < report.first_position:
            continue  # an excerpt's own first events may seal what precedes it
        report.checkpoints += 1
        report.key_ids.add(claim.key_id)
        where = _checkpoint_place(holder)
        if not verify_checkpoint_signature(claim) or claim.key_id != key_id_of(claim.public_key):
            find("checkpoint", f"{where}: its signature does not verify (altered)", holder)
            continue
        if claim.service != service:
            find("checkpoint", f"{where}: sealed for service {claim.service!r}", holder)
        if trusted_keys and claim.public_key not in trusted_keys:
            find("checkpoint", f"{where}: signed by untrusted key {claim.key_id}", holder)
        elif claim.public_key in development_keys:
            report.warnings.append(
                f"{where}: signed with the development key (anyone can forge it)"
            )
        if claim.from_position != next_from:
            if claim.from_position > next_from:
                find(
                    "removed",
                    f"positions {next_from}..{claim.from_position - 1} are sealed by no "
                    f"checkpoint: the checkpoint before {holder.event_id} is missing",
                    holder,
                )
            else:
                find("checkpoint", f"{where}: overlaps the previous checkpoint", holder)
        next_from = max(next_from, claim.to_position + 1)
        report.sealed_up_to = max(report.sealed_up_to, claim.to_position)
        present = [p for p in sorted(hashes) if claim.from_position <= p <= claim.to_position]
        root = merkle_root([leaf_hash(p, hashes[p]) for p in present])
        if root == claim.root and len(present) == claim.event_count:
            continue
        sealed = parse_manifest(claim.manifest)
        sealed_at = dict(sealed)
        named = False
        for position, prefix in sealed:
            current = by_position.get(position)
            if current is None:
                find(
                    "removed",
                    f"event {service}:{position} (position {position}), sealed by {where}, "
                    "is missing",
                    position=position,
                )
                named = True
            elif hashes[position][:PREFIX_BYTES] != prefix:
                moved = sealed_elsewhere(hashes[position][:PREFIX_BYTES])
                if moved is not None:
                    moved_from, sealed_by = moved
                    find(
                        "reordered",
                        f"{current.describe()} was sealed at position {moved_from} by {sealed_by}",
                        current,
                    )
                else:
                    find(
                        "altered",
                        f"{current.describe()} differs from the event {where} sealed there",
                        current,
                    )
                named = True
        for position in present:
            if position not in sealed_at:
                find(
                    "inserted",
                    f"{by_position[position].describe()} was not sealed by {where}",
                    by_position[position],
                )
                named = True
        if not named:
            find("checkpoint", f"{where}: the Merkle root of the range does not match", holder)
    unsealed = [event.position for event in logged if event.position > report.sealed_up_to]
    if unsealed:
        report.warnings.append(
            f"{len(unsealed)} events after position {report.sealed_up_to} are not sealed by a "
            "checkpoint yet (chains verified only)"
        )
    _unsealed_gaps(report, unsealed)


def _checkpoint_place(holder: LoggedEvent) -> str:
    claim = holder.checkpoint
    assert claim is not None
    return f"checkpoint {holder.event_id} (positions {claim.from_position}..{claim.to_position})"


def _unsealed_gaps(report: LogReport, unsealed: list[int]) -> None:
    previous = report.sealed_up_to
    for position in unsealed:
        if position > previous + 1:
            report.warnings.append(
                f"positions {previous + 1}..{position - 1} are absent and not sealed: a removed "
                "event or a skipped sequence value (PostgreSQL) cannot be told apart there"
            )
        previous = position
