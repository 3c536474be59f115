"""The canary reporter: distinctive personal data that must never appear in plaintext outside
intake's sealed store (docs/architecture.md, rule 4). Shared by intake's tests and the end-to-end canary
test: file complaints with `CANARY`, then `find_canary(...)` over every stream message
(`stream_messages`), store file and log; it must find nothing.

    from e2e.canary import CANARY, find_canary, scan_tree, stream_messages
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import nats


@dataclass(frozen=True)
class CanaryReporter:
    name: str = "Zulkarnaen Canaryputra Wibisono"
    phone: str = "0813-9988-7766"  # as a citizen types it
    phone_e164: str = "+6281399887766"
    whatsapp_id: str = "6281399887766"  # as WhatsApp sends it
    email: str = "zulkarnaen.canary@example.id"
    nik: str = "3273019912870001"

    @property
    def needles(self) -> dict[str, list[bytes]]:
        """What betrays each datum, in any of its spellings (matched case-insensitively)."""
        return {
            "name": [b"canaryputra", b"zulkarnaen c"],
            "phone": [b"81399887766", b"8139-9887", b"813 9988 7766", b"0813-9988-7766"],
            "email": [b"zulkarnaen.canary"],
            "nik": [b"3273019912870001"],
        }


CANARY = CanaryReporter()


def find_canary(data: bytes) -> list[str]:
    """The canary data found in `data` (raw bytes: protobuf, JSON, SQLite pages, logs), as a list
    of field names; empty when clean. Also looks for UTF-16 copies."""
    lowered = data.lower()
    found = []
    for field, needles in CANARY.needles.items():
        for needle in needles:
            if needle in lowered or needle.decode().encode("utf-16-le") in lowered:
                found.append(field)
                break
    return found


def scan_files(paths: Iterable[Path]) -> dict[str, list[str]]:
    """{path: canary fields found} for every file that holds any."""
    leaks = {}
    for path in paths:
        if path.is_file():
            found = find_canary(path.read_bytes())
            if found:
                leaks[str(path)] = found
    return leaks


def scan_tree(root: Path, *, exclude: Iterable[Path] = ()) -> dict[str, list[str]]:
    """Every file under `root` (stores, WAL files, logs, the NATS store), minus `exclude`."""
    excluded = {p.resolve() for p in exclude}
    return scan_files(
        p for p in sorted(root.rglob("*")) if p.is_file() and p.resolve() not in excluded
    )


async def stream_messages(nats_url: str) -> list[bytes]:
    """The data of every message the ADUAN stream holds."""
    nc = await nats.connect(nats_url)
    try:
        js = nc.jetstream()
        info = await js.stream_info("ADUAN")
        return [
            (await js.get_msg("ADUAN", seq)).data or b""
            for seq in range(info.state.first_seq, info.state.last_seq + 1)
        ]
    finally:
        await nc.close()
