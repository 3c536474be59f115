"""The offline audit bundle (issue 20, item 1): `aduan audit bundle` exports a period of the real
services' history (after an earlier period, so the bundle is an excerpt of each log) through their
EventLogs with an auditor token alone, and `aduan audit verify --bundle`
checks it in a process with no network (its own empty network namespace when `unshare -rn` works
here) and no database or NATS configured, where opening any socket fails the run. The untouched
bundle verifies; a changed byte, a removed event and two swapped events are each named."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from polling import eventually
from security.conftest import HOLDER, SecureStack

from aduan.core.settings import WRITE_SERVICES
from aduan.eventstore.chain import HEADER_BYTES
from aduan.service.peers import tool_event_log_reader
from aduan.v1 import (
    common_pb2,
    intake_pb2,
    intake_pb2_grpc,
    routing_pb2,
    routing_pb2_grpc,
)

pytestmark = pytest.mark.integration

# One signing key for the three write services, so that the auditor can be handed its public key.
SEED = base64.b64encode(hashlib.sha256(b"audit-bundle-test-checkpoint-key").digest()).decode()


def _unshare_works() -> bool:
    if shutil.which("unshare") is None:
        return False
    return subprocess.run(["unshare", "-rn", "true"], capture_output=True).returncode == 0


# Run inside the verifying process before the command: any socket it opens (to a service, a
# database, NATS or a DNS server) fails the run and says so.
NO_SOCKETS = """
import sys

def refuse(event, args):
    if event.startswith("socket."):
        sys.stderr.write(f"SOCKET OPENED: {event}\\n")
        raise RuntimeError(f"the offline verify opened a socket ({event})")

sys.addaudithook(refuse)
from aduan_query.cli import main
raise SystemExit(main(sys.argv[1:]))
"""


@dataclass
class Exported:
    stack: SecureStack
    bundle: Path
    keys: Path
    auditor: str


@dataclass
class Verified:
    status: int
    out: str
    err: str


def offline_env(home: Path) -> dict[str, str]:
    """Nothing of the stack: no addresses, no store or NATS URL, no token."""
    return {"PATH": os.environ.get("PATH", ""), "HOME": str(home), "LANG": "C.UTF-8"}


def verify_offline(bundle: Path, *extra: str) -> Verified:
    command = [sys.executable, "-c", NO_SOCKETS, "verify", "--bundle", str(bundle), *extra]
    if _unshare_works():
        command = ["unshare", "-rn", *command]
    done = subprocess.run(
        command,
        env=offline_env(bundle.parent),
        cwd=bundle.parent,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert "SOCKET OPENED" not in done.stderr, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    return Verified(done.returncode, done.stdout, done.stderr)


async def _seals(addresses: dict[str, str], token: str) -> dict[str, tuple[int, int]]:
    """Per service: (last position of an event other than a checkpoint, highest sealed)."""
    reader = tool_event_log_reader(addresses, {"ADUAN_TOKEN": token})
    try:
        seals = {}
        for service in WRITE_SERVICES:
            last, sealed = 0, 0
            async for envelope in reader.read(service):
                if envelope.WhichOneof("payload") == "checkpoint_sealed":
                    sealed = max(sealed, envelope.checkpoint_sealed.to_position)
                else:
                    last = envelope.position
            seals[service] = (last, sealed)
        return seals
    finally:
        await reader.close()


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Exported]:
    tmp = tmp_path_factory.mktemp("audit-bundle")
    stack = SecureStack(
        tmp / "stack",
        env={
            "ADUAN_CHECKPOINT_SECONDS": "0.3",
            "ADUAN_CHECKPOINT_KEY": SEED,
        },
    ).start()
    try:
        stack.seed()
        auditor = stack.tokens.issue("auditor", sub="auditor:bpk")

        def everything_sealed() -> bool:
            seals = asyncio.run(_seals(stack.addresses, auditor))
            return all(last and sealed >= last for last, sealed in seals.values())

        eventually(everything_sealed, 30, "every service to seal the earlier period")
        since = datetime.now(UTC)
        act_in_the_period(stack)
        eventually(everything_sealed, 30, "every service to seal the period")
        until = datetime.now(UTC) + timedelta(seconds=1)
        bundle = tmp / "march.zip"
        # The auditor's side: an auditor token and the EventLog addresses, nothing else.
        env = {
            **offline_env(tmp),
            "ADUAN_TOKEN": auditor,
            **{f"ADUAN_{s.upper()}_ADDR": stack.addresses[s] for s in WRITE_SERVICES},
        }
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "aduan_query.cli",
                "bundle",
                "--since",
                since.isoformat(),
                "--until",
                until.isoformat(),
                "--output",
                str(bundle),
            ],
            env=env,
            cwd=tmp,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert f"wrote {bundle}" in done.stdout
        # The keys the agency publishes, derived from its signing key (not from the bundle).
        key_file = tmp / "checkpoint-key"
        key_file.write_text(SEED)
        published = subprocess.run(
            [
                sys.executable,
                "-m",
                "aduan_query.cli",
                "keys",
                *(arg for s in WRITE_SERVICES for arg in ("--key-file", f"{s}={key_file}")),
            ],
            env=offline_env(tmp),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        keys = tmp / "published-keys.json"
        keys.write_text(published.stdout)
        yield Exported(stack, bundle, keys, auditor)
    finally:
        stack.stop()


def act_in_the_period(stack: SecureStack) -> None:
    """An officer accepts a case filed before the period (its aggregate continues from there) and
    a new complaint is filed."""
    routing = routing_pb2_grpc.RoutingStub(stack.channel("routing"))
    officer = stack.bearer("officer", HOLDER, sub="officer:bundle")

    def accept() -> routing_pb2.CaseCommandResponse:
        # Routing may still be recording what intake said of the case: a version conflict is
        # answered ABORTED, and the officer reads the case again.
        case = routing.GetCase(
            routing_pb2.GetCaseRequest(complaint_id=stack.seeded.complaint_id),
            metadata=officer,
            timeout=10,
        ).state
        response: routing_pb2.CaseCommandResponse = routing.AcceptCase(
            routing_pb2.AcceptCaseRequest(
                complaint_id=stack.seeded.complaint_id, expected_version=case.version
            ),
            metadata=officer,
            timeout=10,
        )
        return response

    eventually(accept, 30, "the officer to accept the case")
    intake_pb2_grpc.IntakeStub(stack.channel("intake")).FileComplaint(
        intake_pb2.FileComplaintRequest(
            idempotency_key="bundle-period-filing",
            channel=common_pb2.CHANNEL_WEB,
            category=common_pb2.CATEGORY_LAND_SERVICE,
            reporter=intake_pb2.Reporter(name="Budi Santoso", phone="081299990000"),
            location=common_pb2.Location(province_code="32", regency_code="32.73"),
            subject="Pengukuran ulang tertunda",
            description="Pengukuran ulang bidang tanah saya belum dijadwalkan.",
        ),
        metadata=stack.bearer("gateway", sub="gateway:bundle"),
        timeout=10,
    )


# -- reading and forging bundles ------------------------------------------------------------------


@dataclass
class Opened:
    members: dict[str, bytes]

    @property
    def manifest(self) -> dict[str, Any]:
        return dict(json.loads(self.members["manifest.json"]))

    def events(self, service: str) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.members[f"events/{service}.jsonl"].splitlines()]

    def checkpoints(self, service: str) -> list[dict[str, Any]]:
        member = self.members[f"checkpoints/{service}.jsonl"]
        return [json.loads(line) for line in member.splitlines()]

    def sealed(self, service: str) -> list[dict[str, Any]]:
        """The service's bundled events that a bundled checkpoint seals, checkpoints excluded."""
        ranges = [(c["from_position"], c["to_position"]) for c in self.checkpoints(service)]
        return [
            e
            for e in self.events(service)
            if any(low <= e["position"] <= high for low, high in ranges)
            and e["event_type"] != "CheckpointSealed"
        ]


def open_bundle(path: Path) -> Opened:
    with zipfile.ZipFile(path) as archive:
        return Opened({name: archive.read(name) for name in archive.namelist()})


def forge(
    source: Path,
    target: Path,
    service: str,
    change: Callable[[list[dict[str, Any]]], list[dict[str, Any]]],
    *,
    rewrite_manifest: bool = True,
) -> Path:
    """A copy of the bundle with `change` applied to one service's events. A careful forger also
    rewrites the manifest's digests and counts, so that only the events themselves can tell."""
    opened = open_bundle(source)
    name = f"events/{service}.jsonl"
    events = change(opened.events(service))
    data = b"".join(
        (json.dumps(e, ensure_ascii=False, sort_keys=True) + "\n").encode() for e in events
    )
    opened.members[name] = data
    if rewrite_manifest:
        manifest = opened.manifest
        manifest["members"][name]["sha256"] = hashlib.sha256(data).hexdigest()
        for entry in manifest["services"]:
            if entry["service"] == service:
                entry["events"] = len(events)
        opened.members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(target, "w") as archive:
        for member, content in opened.members.items():
            archive.writestr(member, content)
    return target


def described(event: dict[str, Any]) -> str:
    """How verify names an event (`LoggedEvent.describe`)."""
    return (
        f"event {event['event_id']} {event['event_type']} (position {event['position']}, "
        f"aggregate {event['originator_id']} version {event['originator_version']})"
    )


# -- the acceptance tests ----------------------------------------------------------------------------


def test_the_bundle_holds_the_window_sealed_with_its_keys(exported: Exported) -> None:
    opened = open_bundle(exported.bundle)
    manifest = opened.manifest
    assert manifest["format"] == "aduan-audit-bundle"
    assert manifest["format_version"] == 1
    assert [entry["service"] for entry in manifest["services"]] == list(WRITE_SERVICES)
    for name, listed in manifest["members"].items():
        assert hashlib.sha256(opened.members[name]).hexdigest() == listed["sha256"]
    for entry in manifest["services"]:
        service = entry["service"]
        events = opened.events(service)
        assert entry["events"] == len(events) > 0
        assert entry["checkpoints"] == len(opened.checkpoints(service)) > 0
        # Events exactly as stored: the state carries the chain header the hashes repeat.
        first = events[0]
        state = base64.b64decode(first["state"])
        assert state[4:36].hex() == first["prev_hash"]
        assert state[36:68].hex() == first["event_hash"]
        assert [e["position"] for e in events] == list(
            range(entry["exported"]["from"], entry["exported"]["to"] + 1)
        )
        # An excerpt: the period starts after the earlier one, the exported range at the start
        # of the checkpoint that seals the period's first event.
        assert 1 < entry["exported"]["from"] <= entry["selected"]["from"]
    intake_types = {e["event_type"] for e in opened.events("intake")}
    assert "ComplaintFiled" in intake_types
    # The accepted case's aggregate began before the bundle: its first bundled version is not 1.
    accepted = next(e for e in opened.events("routing") if e["event_type"] == "CaseAccepted")
    assert accepted["originator_version"] > 1
    assert not any(
        e["originator_id"] == accepted["originator_id"] and e["originator_version"] == 1
        for e in opened.events("routing")
    )
    keys = json.loads(opened.members["keys.json"])["keys"]
    published = json.loads(exported.keys.read_text())["keys"]
    assert {k["key_id"] for k in keys} == {k["key_id"] for k in published}
    assert not any(k["development"] for k in keys)


def test_a_untouched_bundle_verifies_offline(exported: Exported) -> None:
    verified = verify_offline(exported.bundle, "--keys", str(exported.keys))
    assert verified.status == 0, verified.out + verified.err
    assert "OK: every event and checkpoint in the bundle verifies" in verified.out
    opened = open_bundle(exported.bundle)
    for entry in opened.manifest["services"]:
        low, high = entry["exported"]["from"], entry["exported"]["to"]
        sealed = max(c["to_position"] for c in opened.checkpoints(entry["service"]))
        assert (
            f"{entry['service']}: {entry['events']} events at positions {low}..{high}"
        ) in verified.out
        assert f"checkpoints prove positions {low}..{sealed}" in verified.out


def test_keys_obtained_elsewhere_must_have_signed_the_checkpoints(
    exported: Exported, tmp_path: Path
) -> None:
    other = tmp_path / "other-keys.txt"
    other.write_text(
        "# an agency key that did not sign this bundle\n"
        f"intake {base64.b64encode(bytes(range(32))).decode()}\n"
    )
    verified = verify_offline(exported.bundle, "--keys", str(other))
    assert verified.status == 1
    assert "[intake] CHECKPOINT: checkpoint intake:" in verified.out
    assert "signed by untrusted key" in verified.out


def test_one_changed_byte_names_the_event(exported: Exported, tmp_path: Path) -> None:
    target = open_bundle(exported.bundle).sealed("intake")[0]

    def flip(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        for event in events:
            if event["position"] == target["position"]:
                state = bytearray(base64.b64decode(event["state"]))
                state[HEADER_BYTES + 20] ^= 0x01
                event["state"] = base64.b64encode(bytes(state)).decode()
        return events

    forged = forge(exported.bundle, tmp_path / "flipped.zip", "intake", flip)
    verified = verify_offline(forged, "--keys", str(exported.keys))
    assert verified.status == 1
    assert (
        f"[intake] ALTERED: {described(target)}: its content no longer matches its hash"
    ) in verified.out
    assert "TAMPERED: 1 findings in the bundle" in verified.out

    # Without the forger's care the manifest says so as well.
    naive = forge(exported.bundle, tmp_path / "naive.zip", "intake", flip, rewrite_manifest=False)
    verified = verify_offline(naive, "--keys", str(exported.keys))
    assert verified.status == 1
    assert "member events/intake.jsonl does not match the manifest's SHA-256" in verified.out
    assert f"[intake] ALTERED: {described(target)}" in verified.out


def test_a_removed_event_is_named(exported: Exported, tmp_path: Path) -> None:
    opened = open_bundle(exported.bundle)
    target = opened.sealed("routing")[1]
    holder = next(
        c
        for c in opened.checkpoints("routing")
        if c["from_position"] <= target["position"] <= c["to_position"]
    )
    forged = forge(
        exported.bundle,
        tmp_path / "removed.zip",
        "routing",
        lambda events: [e for e in events if e["position"] != target["position"]],
    )
    verified = verify_offline(forged, "--keys", str(exported.keys))
    assert verified.status == 1
    position = target["position"]
    assert (
        f"[routing] REMOVED: event routing:{position} (position {position}), sealed by "
        f"checkpoint {holder['event_id']} (positions {holder['from_position']}.."
        f"{holder['to_position']}), is missing"
    ) in verified.out


def test_an_unsealed_removal_is_a_gap(exported: Exported, tmp_path: Path) -> None:
    """Where no bundled checkpoint seals it, the gap in positions names the removed event."""
    opened = open_bundle(exported.bundle)
    target = opened.events("notification")[2]

    def unsealed(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["position"] != target["position"]]

    forged = forge(exported.bundle, tmp_path / "gap.zip", "notification", unsealed)
    stripped = open_bundle(forged)
    stripped.members["checkpoints/notification.jsonl"] = b""
    manifest = stripped.manifest
    manifest["members"]["checkpoints/notification.jsonl"]["sha256"] = hashlib.sha256(
        b""
    ).hexdigest()
    stripped.members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(tmp_path / "gap-unsealed.zip", "w") as archive:
        for member, content in stripped.members.items():
            archive.writestr(member, content)
    verified = verify_offline(tmp_path / "gap-unsealed.zip")
    assert verified.status == 1
    position = target["position"]
    assert (
        f"[notification] REMOVED: event notification:{position} (position {position}) is "
        "missing: the exported range"
    ) in verified.out
    assert "notification: " in verified.out
    assert "no checkpoint proves any of it (chains verified only)" in verified.out


def two_of_different_aggregates(opened: Opened) -> tuple[str, dict[str, Any], dict[str, Any]]:
    for service in WRITE_SERVICES:
        sealed = opened.sealed(service)
        for later in sealed[1:]:
            if later["originator_id"] != sealed[0]["originator_id"]:
                return service, sealed[0], later
    raise AssertionError("no two sealed events of different aggregates in one service")


def test_two_swapped_events_are_named(exported: Exported, tmp_path: Path) -> None:
    service, first, second = two_of_different_aggregates(open_bundle(exported.bundle))
    member = f"events/{service}.jsonl"

    def swap_contents(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Each takes the other's place in the log: the positions stay, the events move."""
        by_position = {e["position"]: e for e in events}
        a, b = by_position[first["position"]], by_position[second["position"]]
        moved_a = {**b, "position": a["position"], "event_id": a["event_id"]}
        moved_b = {**a, "position": b["position"], "event_id": b["event_id"]}
        by_position[a["position"]], by_position[b["position"]] = moved_a, moved_b
        return [by_position[p] for p in sorted(by_position)]

    forged = forge(exported.bundle, tmp_path / "swapped.zip", service, swap_contents)
    verified = verify_offline(forged, "--keys", str(exported.keys))
    assert verified.status == 1
    for now_at, was_at, event in ((first, second, second), (second, first, first)):
        moved = {**event, "position": now_at["position"], "event_id": now_at["event_id"]}
        assert (
            f"[{service}] REORDERED: {described(moved)} was sealed at position {was_at['position']}"
        ) in verified.out

    def swap_lines(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The lines trade places, each keeping its position."""
        index = {e["position"]: i for i, e in enumerate(events)}
        i, j = index[first["position"]], index[second["position"]]
        events[i], events[j] = events[j], events[i]
        return events

    forged = forge(exported.bundle, tmp_path / "lines.zip", service, swap_lines)
    verified = verify_offline(forged, "--keys", str(exported.keys))
    assert verified.status == 1
    assert (
        f"[{service}] REORDERED: {described(first)} comes after {described(second)} in {member}"
    ) in verified.out


def test_verify_output_survives_a_closed_pipe(exported: Exported) -> None:
    command = [sys.executable, "-m", "aduan_query.cli", "verify", "--bundle", str(exported.bundle)]
    pipeline = subprocess.run(
        ["sh", "-c", " ".join(f"'{part}'" for part in command) + " | head -n 1"],
        env=offline_env(exported.bundle.parent),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert pipeline.stdout.startswith("bundle ")
    assert "Traceback" not in pipeline.stderr
    assert "BrokenPipe" not in pipeline.stderr
