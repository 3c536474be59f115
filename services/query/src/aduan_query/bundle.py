"""The offline audit bundle: one zip file an auditor verifies with no network and no database.

Members (docs/audit.md describes the format for auditors):

    manifest.json                 format and version, the time window, per service the selected
                                  and exported positions, counts, and the SHA-256 of every member
    events/<service>.jsonl        every event of the exported range exactly as stored: position,
                                  aggregate id and version, stored topic, stored state (base64,
                                  chain header included) and, for reading, its chain hashes
    checkpoints/<service>.jsonl   the signed checkpoints that seal the exported range
    keys.json                     the public keys those checkpoints were signed with, by key id

The exported range of a service runs from the start of the first checkpoint that seals a selected
event to the end of the last one (or the last selected event when it is not sealed yet), so every
Merkle root can be recomputed. This module writes and verifies the format and imports no transport:
the verification is `aduan.eventstore.chain.verify_log`, the same rule `aduan audit verify` applies
to the live EventLogs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zipfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from aduan.eventstore.chain import (
    CheckpointClaim,
    Finding,
    LoggedEvent,
    LogReport,
    key_id_of,
    parse_state,
    verify_log,
)
from aduan.eventstore.checkpoint import development_public_key

FORMAT = "aduan-audit-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"
KEYS = "keys.json"

# (service, lines done, lines expected or 0 when unknown)
OnProgress = Callable[[str, int, int], None]


def events_member(service: str) -> str:
    return f"events/{service}.jsonl"


def checkpoints_member(service: str) -> str:
    return f"checkpoints/{service}.jsonl"


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def _unb64(text: Any) -> bytes:
    if not isinstance(text, str):
        raise ValueError("not base64 text")
    return base64.b64decode(text, validate=True)


# -- records ----------------------------------------------------------------------------------


def event_record(event: LoggedEvent, occurred_at: datetime | None) -> dict[str, Any]:
    """One line of events/<service>.jsonl. `state` is what the verifier hashes; `prev_hash` and
    `event_hash` repeat its chain header for a reader and must agree with it."""
    link = parse_state(event.state)
    return {
        "position": event.position,
        "event_id": event.event_id,
        "event_type": event.event_type,
        "occurred_at": occurred_at.isoformat() if occurred_at else None,
        "originator_id": event.aggregate_id,
        "originator_version": event.aggregate_version,
        "topic": event.topic,
        "state": _b64(event.state),
        "prev_hash": link.prev_hash.hex(),
        "event_hash": link.event_hash.hex(),
    }


def checkpoint_record(holder: LoggedEvent, algorithm: str) -> dict[str, Any]:
    """One line of checkpoints/<service>.jsonl: the claim and the event that holds it."""
    claim = holder.checkpoint
    assert claim is not None
    return {
        "event_id": holder.event_id,
        "position": holder.position,
        "originator_id": holder.aggregate_id,
        "originator_version": holder.aggregate_version,
        "service": claim.service,
        "from_position": claim.from_position,
        "to_position": claim.to_position,
        "event_count": claim.event_count,
        "root": _b64(claim.root),
        "signature": _b64(claim.signature),
        "key_id": claim.key_id,
        "public_key": _b64(claim.public_key),
        "manifest": _b64(claim.manifest),
        "algorithm": algorithm,
    }


def logged_from_record(service: str, record: Mapping[str, Any]) -> LoggedEvent:
    return LoggedEvent(
        service=service,
        position=int(record["position"]),
        event_id=str(record["event_id"]),
        aggregate_id=str(record["originator_id"]),
        aggregate_version=int(record["originator_version"]),
        topic=str(record["topic"]),
        state=_unb64(record["state"]),
        event_type=str(record.get("event_type") or ""),
    )


def seal_from_record(service: str, record: Mapping[str, Any]) -> LoggedEvent:
    claim = CheckpointClaim(
        service=str(record["service"]),
        from_position=int(record["from_position"]),
        to_position=int(record["to_position"]),
        event_count=int(record["event_count"]),
        root=_unb64(record["root"]),
        signature=_unb64(record["signature"]),
        key_id=str(record["key_id"]),
        public_key=_unb64(record["public_key"]),
        manifest=_unb64(record["manifest"]),
    )
    return LoggedEvent(
        service=service,
        position=int(record["position"]),
        event_id=str(record["event_id"]),
        aggregate_id=str(record["originator_id"]),
        aggregate_version=int(record["originator_version"]),
        topic="",
        state=b"",
        event_type="CheckpointSealed",
        checkpoint=claim,
    )


# -- choosing what to export --------------------------------------------------------------------


@dataclass(frozen=True)
class Excerpt:
    """What of one service's log goes into the bundle."""

    selected: tuple[int, int] | None  # first and last position of an event in the time window
    selected_count: int
    first: int  # the exported range, checkpoint boundaries included
    last: int
    seals: tuple[LoggedEvent, ...]

    @property
    def empty(self) -> bool:
        return self.selected is None


def plan_excerpt(selected: Sequence[int], checkpoints: Sequence[LoggedEvent]) -> Excerpt:
    """The range that holds every selected position and every position of the checkpoints that
    seal one of them, so that each of their Merkle roots can be recomputed."""
    if not selected:
        return Excerpt(None, 0, 0, -1, ())
    low, high = min(selected), max(selected)
    seals = tuple(
        holder
        for holder in checkpoints
        if holder.checkpoint is not None
        and holder.checkpoint.from_position <= high
        and holder.checkpoint.to_position >= low
    )
    first = min([low, *(s.checkpoint.from_position for s in seals if s.checkpoint)])
    last = max([high, *(s.checkpoint.to_position for s in seals if s.checkpoint)])
    return Excerpt((low, high), len(selected), first, last, seals)


# -- writing -------------------------------------------------------------------------------------


class BundleWriter:
    """Writes the members and, last, the manifest with their digests; the file appears under its
    name only once complete (written beside it, then renamed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._partial = path.with_name(path.name + ".partial")
        self._zip = zipfile.ZipFile(self._partial, "w", compression=zipfile.ZIP_DEFLATED)
        self.members: dict[str, dict[str, Any]] = {}

    def add_lines(self, name: str, records: Iterable[Mapping[str, Any]]) -> int:
        digest = hashlib.sha256()
        size = lines = 0
        with self._zip.open(name, "w", force_zip64=True) as member:
            for record in records:
                line = (json.dumps(record, ensure_ascii=False, sort_keys=True) + "\n").encode()
                digest.update(line)
                member.write(line)
                size += len(line)
                lines += 1
        self.members[name] = {"sha256": digest.hexdigest(), "bytes": size, "lines": lines}
        return lines

    def add_json(self, name: str, value: Any) -> None:
        data = (json.dumps(value, ensure_ascii=False, indent=2, sort_keys=True) + "\n").encode()
        self._zip.writestr(name, data)
        self.members[name] = {
            "sha256": hashlib.sha256(data).hexdigest(),
            "bytes": len(data),
            "lines": data.count(b"\n"),
        }

    def finish(self, manifest: dict[str, Any]) -> None:
        manifest = {**manifest, "members": dict(sorted(self.members.items()))}
        data = json.dumps(manifest, ensure_ascii=False, indent=2, sort_keys=True) + "\n"
        self._zip.writestr(MANIFEST, data)
        self._zip.close()
        os.replace(self._partial, self.path)

    def abort(self) -> None:
        self._zip.close()
        self._partial.unlink(missing_ok=True)


def keys_document(seals: Iterable[LoggedEvent]) -> dict[str, Any]:
    """keys.json, and the format `verify --bundle --keys` reads (`aduan audit keys` writes it)."""
    keys: dict[tuple[str, bytes], dict[str, Any]] = {}
    for holder in seals:
        claim = holder.checkpoint
        if claim is not None:
            keys[(claim.service, claim.public_key)] = key_entry(claim.service, claim.public_key)
    return {"keys": [keys[k] for k in sorted(keys)]}


def key_entry(service: str, public_key: bytes) -> dict[str, Any]:
    return {
        "service": service,
        "key_id": key_id_of(public_key),
        "public_key": _b64(public_key),
        "development": public_key == development_public_key(service),
    }


# -- trusted keys ------------------------------------------------------------------------------------


@dataclass
class TrustedKeys:
    """Keys an auditor obtained independently of the bundle: per service, or for every service."""

    by_service: dict[str, list[bytes]] = field(default_factory=dict)
    for_all: list[bytes] = field(default_factory=list)

    def for_service(self, service: str) -> list[bytes]:
        return [*self.by_service.get(service, []), *self.for_all]

    def __bool__(self) -> bool:
        return bool(self.for_all or any(self.by_service.values()))


def read_keys_file(text: str, parse_key: Callable[[str], bytes]) -> TrustedKeys:
    """keys.json's format ({"keys": [{"service", "public_key"}, ...]}), or text with one key per
    line, optionally after its service ("intake <base64 key>"); # starts a comment."""
    trusted = TrustedKeys()
    stripped = text.strip()
    if stripped.startswith("{"):
        document = json.loads(stripped)
        for entry in document.get("keys", []):
            key = parse_key(str(entry["public_key"]))
            service = str(entry.get("service") or "")
            (trusted.by_service.setdefault(service, []) if service else trusted.for_all).append(key)
        return trusted
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split()
        if len(parts) == 1:
            trusted.for_all.append(parse_key(parts[0]))
        else:
            trusted.by_service.setdefault(parts[0], []).append(parse_key(parts[-1]))
    return trusted


# -- verifying ---------------------------------------------------------------------------------------


@dataclass
class ServiceCheck:
    service: str
    log: LogReport
    exported: tuple[int, int] | None
    selected: tuple[int, int] | None
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def all_findings(self) -> list[Finding]:
        return [*self.findings, *self.log.findings]


@dataclass
class BundleReport:
    path: Path
    manifest: dict[str, Any] = field(default_factory=dict)
    services: list[ServiceCheck] = field(default_factory=list)
    findings: list[Finding] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def finding_count(self) -> int:
        return len(self.findings) + sum(len(s.all_findings) for s in self.services)

    @property
    def ok(self) -> bool:
        return self.finding_count == 0


class BundleFormatError(ValueError):
    """The file is not an audit bundle this verifier reads."""


def _lines(handle: IO[bytes]) -> Iterator[tuple[int, Any]]:
    for number, raw in enumerate(handle, 1):
        if raw.strip():
            try:
                yield number, json.loads(raw)
            except ValueError:
                yield number, None


def verify_bundle(
    path: Path,
    trusted: TrustedKeys | None = None,
    progress: OnProgress | None = None,
) -> BundleReport:
    """Check every member against the manifest, then each service's events and checkpoints with
    `verify_log`. Reads only the file."""
    report = BundleReport(path)
    try:
        archive = zipfile.ZipFile(path)
    except (OSError, zipfile.BadZipFile) as error:
        raise BundleFormatError(f"{path} is not a readable audit bundle: {error}") from None
    with archive:
        try:
            manifest = json.loads(archive.read(MANIFEST))
        except (KeyError, ValueError) as error:
            raise BundleFormatError(f"{path} has no readable {MANIFEST}: {error}") from None
        if manifest.get("format") != FORMAT or manifest.get("format_version") != FORMAT_VERSION:
            raise BundleFormatError(
                f"{path} is {manifest.get('format')!r} version {manifest.get('format_version')!r}"
                f", not {FORMAT} version {FORMAT_VERSION}"
            )
        report.manifest = manifest
        _check_members(archive, manifest, report)
        bundled_keys = _bundled_keys(archive, report)
        for entry in manifest.get("services", []):
            report.services.append(
                _check_service(archive, entry, trusted or TrustedKeys(), bundled_keys, progress)
            )
    return report


def _bundle_finding(kind: str, detail: str) -> Finding:
    return Finding(kind, "bundle", detail)


def _check_members(
    archive: zipfile.ZipFile, manifest: dict[str, Any], report: BundleReport
) -> None:
    listed: dict[str, Any] = manifest.get("members", {})
    present = set(archive.namelist()) - {MANIFEST}
    for name in sorted(set(listed) - present):
        report.findings.append(
            _bundle_finding("removed", f"member {name}, listed in the manifest, is missing")
        )
    for name in sorted(present - set(listed)):
        report.findings.append(
            _bundle_finding("inserted", f"member {name} is not listed in the manifest")
        )
    for name in sorted(present & set(listed)):
        digest = hashlib.sha256()
        with archive.open(name) as member:
            for chunk in iter(lambda: member.read(1 << 20), b""):
                digest.update(chunk)
        if digest.hexdigest() != listed[name].get("sha256"):
            report.findings.append(
                _bundle_finding(
                    "altered",
                    f"member {name} does not match the manifest's SHA-256 (it was changed "
                    "after export; the events below say which)",
                )
            )


def _bundled_keys(archive: zipfile.ZipFile, report: BundleReport) -> dict[str, str]:
    """key id -> service, from keys.json."""
    try:
        document = json.loads(archive.read(KEYS))
        return {str(e["key_id"]): str(e["service"]) for e in document.get("keys", [])}
    except (KeyError, ValueError, TypeError):
        report.warnings.append(f"{KEYS} is missing or unreadable")
        return {}


def _check_service(
    archive: zipfile.ZipFile,
    entry: Mapping[str, Any],
    trusted: TrustedKeys,
    bundled_keys: Mapping[str, str],
    progress: OnProgress | None,
) -> ServiceCheck:
    service = str(entry["service"])
    exported = entry.get("exported")
    first, last = (int(exported["from"]), int(exported["to"])) if exported else (1, 0)
    selected = entry.get("selected")
    check = ServiceCheck(
        service,
        LogReport(service),
        (first, last) if exported else None,
        (int(selected["from"]), int(selected["to"])) if selected else None,
    )

    def find(kind: str, detail: str, event: LoggedEvent | None = None, position: int = 0) -> None:
        check.findings.append(
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

    events = _read_events(archive, service, int(entry.get("events", 0)), find, progress)
    seals = _read_seals(archive, service, find)
    if len(events) != int(entry.get("events", len(events))):
        find(
            "removed" if len(events) < int(entry["events"]) else "inserted",
            f"the manifest lists {entry['events']} events, {events_member(service)} holds "
            f"{len(events)}",
        )
    ordered = sorted(events, key=lambda event: event.position)
    keys = trusted.for_service(service)
    check.log = verify_log(
        service,
        ordered,
        trusted_keys=keys,
        development_keys=[development_public_key(service)],
        first_position=first,
        seals=seals,
    )
    absent = {int(p) for p in entry.get("absent", [])}
    present = {event.position for event in ordered}
    for event in ordered:
        if not first <= event.position <= last:
            find("inserted", f"{event.describe()} lies outside the exported range", event)
    # A gap inside a sealed range is named by its checkpoint; after it only the export's own
    # record of the positions the EventLog did not have tells a removal apart.
    for position in range(max(first, check.log.sealed_up_to + 1), last + 1):
        if position not in present and position not in absent:
            find(
                "removed",
                f"event {service}:{position} (position {position}) is missing: the exported "
                f"range {first}..{last} includes it (a gap in positions)",
                position=position,
            )
    for holder in seals:
        claim = holder.checkpoint
        if claim is not None and claim.key_id not in bundled_keys:
            check.warnings.append(f"key {claim.key_id} of {holder.event_id} is not in {KEYS}")
    if not keys and check.log.key_ids:
        ids = ", ".join(sorted(check.log.key_ids))
        check.warnings.append(
            f"no independently obtained keys for {service} (--keys): signatures were checked "
            f"against the keys the checkpoints carry ({ids}); compare them with the keys the "
            "agency publishes"
        )
    return check


def _read_events(
    archive: zipfile.ZipFile,
    service: str,
    expected: int,
    find: Callable[..., None],
    progress: OnProgress | None,
) -> list[LoggedEvent]:
    name = events_member(service)
    events: list[LoggedEvent] = []
    try:
        handle = archive.open(name)
    except KeyError:
        return events
    latest: LoggedEvent | None = None
    with handle:
        for number, record in _lines(handle):
            try:
                event = logged_from_record(service, record)
            except (KeyError, TypeError, ValueError):
                find("altered", f"line {number} of {name} is not a bundled event")
                continue
            link = parse_state(event.state)
            if (record.get("event_hash"), record.get("prev_hash")) != (
                link.event_hash.hex(),
                link.prev_hash.hex(),
            ):
                find(
                    "altered",
                    f"{event.describe()}: the chain hashes listed with it differ from its stored "
                    "state's",
                    event,
                )
            # Against the furthest event so far: after two lines trade places, every line
            # between them and the one moved back all come after the one moved forward.
            if latest is not None and event.position <= latest.position:
                kind = "inserted" if event.position == latest.position else "reordered"
                find(kind, f"{event.describe()} comes after {latest.describe()} in {name}", event)
            else:
                latest = event
            events.append(event)
            if progress is not None and len(events) % 500 == 0:
                progress(service, len(events), expected)
    if progress is not None:
        progress(service, len(events), expected)
    return events


def _read_seals(
    archive: zipfile.ZipFile, service: str, find: Callable[..., None]
) -> list[LoggedEvent]:
    name = checkpoints_member(service)
    seals: list[LoggedEvent] = []
    try:
        handle = archive.open(name)
    except KeyError:
        return seals
    with handle:
        for number, record in _lines(handle):
            try:
                seals.append(seal_from_record(service, record))
            except (KeyError, TypeError, ValueError):
                find("checkpoint", f"line {number} of {name} is not a bundled checkpoint")
    return seals
