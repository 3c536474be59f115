"""Keeping WhatsApp media (aduan_intake.media): the downloader against a stand-in Cloud API media
server (aiohttp on 127.0.0.1), both stores through one contract (a directory, and S3 through a
moto server on 127.0.0.1), the keeper's idempotency and erasure, and the configuration."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from aiohttp import web
from moto.server import ThreadedMotoServer

from aduan.core.settings import ServiceSettings, SettingsError
from aduan_intake.media import (
    InvalidMediaKeyError,
    LocalMediaStore,
    MediaDownloadError,
    MediaIntegrityError,
    MediaKeeper,
    MediaNotFoundError,
    MediaStore,
    MediaTooLargeError,
    MediaUnavailableError,
    S3MediaStore,
    StoredMedia,
    WhatsAppMediaDownloader,
    media_keeper_from_settings,
    media_key,
    media_store_from_settings,
    normalise_sha256,
)

TOKEN = "test-access-token"
REPORTER = str(uuid.uuid4())
OTHER_REPORTER = str(uuid.uuid4())
PHOTO = b"\xff\xd8\xff\xe0 a photo of the boundary marker " + bytes(range(256)) * 300
PDF = b"%PDF-1.7 certificate scan " + b"x" * 5000
S3_REGION = "us-east-1"
S3_KEYS = {"aws_access_key_id": "testing", "aws_secret_access_key": "testing"}


def leftovers(directory: Path) -> list[Path]:
    return list(directory.iterdir())


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha_b64(data: bytes) -> str:
    return base64.b64encode(hashlib.sha256(data).digest()).decode()


# -- the stand-in Cloud API -------------------------------------------------------------------


@dataclass
class CloudApi:
    """`GET /{id}` answers metadata, `GET /files/{id}` the bytes, both behind the bearer token.
    Switches per id: expired (404), wrong hash in metadata, a lying file_size, statuses to answer
    first (e.g. [500] then OK), and a Retry-After for 429s."""

    media: dict[str, tuple[bytes, str]] = field(default_factory=dict)
    expired: set[str] = field(default_factory=set)
    expired_bytes: set[str] = field(default_factory=set)
    wrong_hash: set[str] = field(default_factory=set)
    declared_size: dict[str, int] = field(default_factory=dict)
    fail_metadata: dict[str, list[int]] = field(default_factory=dict)
    fail_bytes: dict[str, list[int]] = field(default_factory=dict)
    retry_after: str = ""
    metadata_hits: Counter[str] = field(default_factory=Counter)
    byte_hits: Counter[str] = field(default_factory=Counter)
    unauthorised: int = 0
    base_url: str = ""

    def add(self, media_id: str, data: bytes, mime_type: str = "image/jpeg") -> str:
        self.media[media_id] = (data, mime_type)
        return media_id

    def _authorised(self, request: web.Request) -> bool:
        if request.headers.get("Authorization") == f"Bearer {TOKEN}":
            return True
        self.unauthorised += 1
        return False

    def _failure(self, plan: dict[str, list[int]], media_id: str) -> web.Response | None:
        statuses = plan.get(media_id)
        if not statuses:
            return None
        status = statuses.pop(0)
        headers = {"Retry-After": self.retry_after} if status == 429 and self.retry_after else {}
        return web.json_response({"error": {"code": status}}, status=status, headers=headers)

    async def metadata(self, request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]
        self.metadata_hits[media_id] += 1
        if not self._authorised(request):
            return web.json_response({"error": {"code": 190}}, status=401)
        failure = self._failure(self.fail_metadata, media_id)
        if failure is not None:
            return failure
        if media_id in self.expired or media_id not in self.media:
            return web.json_response({"error": {"message": "Unsupported get request"}}, status=404)
        data, mime_type = self.media[media_id]
        declared = sha(b"something else") if media_id in self.wrong_hash else sha(data)
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "url": f"{self.base_url}/files/{media_id}",
                "mime_type": mime_type,
                "sha256": declared,
                "file_size": self.declared_size.get(media_id, len(data)),
                "id": media_id,
            }
        )

    async def content(self, request: web.Request) -> web.StreamResponse:
        media_id = request.match_info["media_id"]
        self.byte_hits[media_id] += 1
        if not self._authorised(request):
            return web.Response(status=401)
        failure = self._failure(self.fail_bytes, media_id)
        if failure is not None:
            return failure
        if media_id in self.expired_bytes or media_id not in self.media:
            return web.Response(status=404)
        data, mime_type = self.media[media_id]
        response = web.StreamResponse(headers={"Content-Type": mime_type})
        response.enable_chunked_encoding()  # no Content-Length: the limit must hold while streaming
        await response.prepare(request)
        for start in range(0, len(data), 16384):
            await response.write(data[start : start + 16384])
        await response.write_eof()
        return response


@pytest.fixture
async def cloud() -> AsyncIterator[CloudApi]:
    api = CloudApi()
    app = web.Application()
    app.router.add_get("/v23.0/{media_id}", api.metadata)
    app.router.add_get("/files/{media_id}", api.content)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    api.base_url = f"http://{host}:{port}"
    yield api
    await runner.cleanup()


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def temp_dir(tmp_path: Path) -> Path:
    path = tmp_path / "downloads"
    path.mkdir()
    return path


@pytest.fixture
async def downloader(
    cloud: CloudApi, sleeps: list[float], temp_dir: Path
) -> AsyncIterator[WhatsAppMediaDownloader]:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    async with WhatsAppMediaDownloader(
        TOKEN,
        base_url=f"{cloud.base_url}/v23.0",
        max_bytes=1024 * 1024,
        timeout_seconds=5,
        attempts=3,
        backoff_seconds=0.01,
        temp_dir=temp_dir,
        sleep=record,
    ) as client:
        yield client


# -- the stores -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(scope="module")
def s3_from_settings(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> S3MediaStore:
    """The store as the service builds it from its ADUAN_* variables; its client (slow to make)
    serves every S3 test of the module."""
    store = media_store_from_settings(
        {
            "MEDIA_STORE": "s3",
            "MEDIA_S3_BUCKET": "aduan-media",
            "MEDIA_S3_PREFIX": "evidence/v1",
            "MEDIA_S3_ENDPOINT": moto_endpoint,
            "MEDIA_S3_REGION": S3_REGION,
            "MEDIA_S3_ACCESS_KEY_ID": S3_KEYS["aws_access_key_id"],
            "MEDIA_S3_SECRET_ACCESS_KEY": S3_KEYS["aws_secret_access_key"],
        },
        tmp_path_factory.mktemp("unused"),
    )
    assert isinstance(store, S3MediaStore)
    return store


def s3_keys(store: S3MediaStore) -> list[str]:
    answer = store.client.list_objects_v2(Bucket=store.bucket)
    return sorted(item["Key"] for item in answer.get("Contents", []))


@pytest.fixture(params=["local", "s3"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> MediaStore:
    if request.param == "local":
        return LocalMediaStore(tmp_path / "media")
    configured: S3MediaStore = request.getfixturevalue("s3_from_settings")
    bucket = f"aduan-media-{uuid.uuid4().hex[:12]}"  # a fresh bucket per test
    configured.client.create_bucket(Bucket=bucket)
    return S3MediaStore(bucket, configured.prefix, client=configured.client)


def stored_keys(store: MediaStore) -> list[str]:
    """Every object key in the store, relative to its root or prefix."""
    if isinstance(store, LocalMediaStore):
        if not store.root.exists():
            return []
        return sorted(
            path.relative_to(store.root).as_posix()
            for path in store.root.rglob("*")
            if path.is_file() and not path.name.startswith(".")
        )
    assert isinstance(store, S3MediaStore)
    return [key.removeprefix(store.prefix + "/") for key in s3_keys(store)]


@pytest.fixture
async def keeper(downloader: WhatsAppMediaDownloader, store: MediaStore) -> MediaKeeper:
    return MediaKeeper(store, downloader)


# -- the store contract -----------------------------------------------------------------------


def test_put_get_stat_delete(store: MediaStore, tmp_path: Path) -> None:
    key = media_key(REPORTER, sha(PHOTO))
    stored = store.put(key, PHOTO, "image/jpeg")
    assert stored == StoredMedia(store.uri_for(key), sha(PHOTO), len(PHOTO), "image/jpeg")
    assert stored.uri.startswith(("media:local/", "media:s3/"))
    assert stored.uri.endswith(f"/{REPORTER}/{sha(PHOTO)}")
    assert store.get(stored.uri) == PHOTO
    with store.open(stored.uri) as stream:
        assert stream.read() == PHOTO
    assert store.exists(stored.uri)
    assert store.stat(stored.uri) == stored
    # From a file, and a repeat put of the same content is harmless.
    source = tmp_path / "scan.pdf"
    source.write_bytes(PDF)
    pdf = store.put(media_key(REPORTER, sha(PDF)), source, "application/pdf")
    assert store.put(media_key(REPORTER, sha(PDF)), source, "application/pdf") == pdf
    assert store.get(pdf.uri) == PDF
    assert stored_keys(store) == sorted([key, media_key(REPORTER, sha(PDF))])

    assert store.delete(stored.uri) is True
    assert store.delete(stored.uri) is False
    assert not store.exists(stored.uri)
    assert store.stat(stored.uri) is None
    with pytest.raises(MediaNotFoundError):
        store.get(stored.uri)
    assert stored_keys(store) == [media_key(REPORTER, sha(PDF))]


def test_delete_prefix_takes_whole_segments(store: MediaStore) -> None:
    mine = [store.put(media_key(REPORTER, sha(d)), d, "image/jpeg") for d in (PHOTO, PDF, b"3")]
    theirs = store.put(media_key(OTHER_REPORTER, sha(PHOTO)), PHOTO, "image/jpeg")
    # A reporter id that is a prefix of another's must not take the other's media with it.
    longer = store.put(f"{REPORTER}x/{sha(PDF)}", PDF, "application/pdf")

    assert store.delete_prefix(REPORTER) == 3
    assert store.delete_prefix(REPORTER) == 0
    assert not any(store.exists(item.uri) for item in mine)
    assert store.get(theirs.uri) == PHOTO
    assert store.get(longer.uri) == PDF
    assert stored_keys(store) == sorted(
        [media_key(OTHER_REPORTER, sha(PHOTO)), f"{REPORTER}x/{sha(PDF)}"]
    )
    if isinstance(store, LocalMediaStore):
        assert not (store.root / REPORTER).exists()


BAD_KEYS = [
    "../x",
    f"{REPORTER}/../../etc/passwd",
    f"../{sha(PHOTO)}",
    "/etc/passwd",
    f"{REPORTER}//{sha(PHOTO)}",
    f"{REPORTER}/.{sha(PHOTO)}.json",
    "..",
    ".",
    "",
    "a\\..\\b",
    "a/b\x00c",
    "a/b c",
]


@pytest.mark.parametrize("key", BAD_KEYS)
def test_store_refuses_keys_that_could_escape(store: MediaStore, key: str) -> None:
    with pytest.raises(InvalidMediaKeyError):
        store.put(key, b"x", "text/plain")
    with pytest.raises(InvalidMediaKeyError):
        store.delete_prefix(key)


def test_store_refuses_uris_that_could_escape(store: MediaStore, tmp_path: Path) -> None:
    (tmp_path / "secret").write_bytes(b"not media")
    good = store.put(media_key(REPORTER, sha(PHOTO)), PHOTO, "image/jpeg")
    bad_uris = [
        "media:local/../secret",
        f"media:local/{REPORTER}/../../secret",
        "media:s3/other-bucket/x/y",
        good.uri.replace(f"/{REPORTER}/", "/../"),
        good.uri.replace(REPORTER, f"{REPORTER}/.."),
        "whatsapp-media:12345",
        "",
    ]
    for uri in bad_uris:
        for operation in (store.get, store.exists, store.delete, store.stat):
            with pytest.raises(InvalidMediaKeyError):
                operation(uri)
    assert store.get(good.uri) == PHOTO


@pytest.mark.parametrize("reporter", ["../x", "..", "a/b", "", ".hidden"])
def test_media_key_and_keeper_refuse_unsafe_reporter_ids(reporter: str) -> None:
    with pytest.raises(InvalidMediaKeyError):
        media_key(reporter, sha(PHOTO))
    with pytest.raises(InvalidMediaKeyError):
        media_key(REPORTER, reporter)


async def test_keeper_refuses_unsafe_ids_before_any_request(
    keeper: MediaKeeper, cloud: CloudApi
) -> None:
    cloud.add("111", PHOTO)
    with pytest.raises(InvalidMediaKeyError):
        await keeper.keep("../x", "111", sha(PHOTO))
    with pytest.raises(InvalidMediaKeyError):
        await keeper.erase_reporter("..")
    with pytest.raises(MediaUnavailableError):  # not a media id: never put into a URL
        await keeper.keep(REPORTER, "../me", sha(PHOTO))
    assert cloud.metadata_hits == Counter()
    assert stored_keys(keeper.store) == []


# -- the keeper over the stand-in Cloud API ---------------------------------------------------


async def test_keep_stores_exactly_what_was_served(
    keeper: MediaKeeper, cloud: CloudApi, temp_dir: Path
) -> None:
    cloud.add("1001", PHOTO, "image/jpeg")
    cloud.add("1002", PDF, "application/pdf")

    photo = await keeper.keep(REPORTER, "1001", sha_b64(PHOTO))  # the webhook's base64 form
    pdf = await keeper.keep(REPORTER, "1002", sha(PDF), "application/pdf")

    assert photo.sha256 == sha(PHOTO)
    assert photo.size == len(PHOTO)
    assert photo.media_type == "image/jpeg"  # from the metadata
    assert keeper.store.get(photo.uri) == PHOTO
    assert sha(keeper.store.get(pdf.uri)) == pdf.sha256 == sha(PDF)
    assert pdf.media_type == "application/pdf"
    assert stored_keys(keeper.store) == sorted(
        [media_key(REPORTER, sha(PHOTO)), media_key(REPORTER, sha(PDF))]
    )
    assert cloud.unauthorised == 0  # the bearer went with both requests
    assert leftovers(temp_dir) == []  # the temporary files are gone


async def test_hash_from_metadata_alone_is_enough(keeper: MediaKeeper, cloud: CloudApi) -> None:
    cloud.add("1003", PHOTO)
    stored = await keeper.keep(REPORTER, "1003")
    assert stored.sha256 == sha(PHOTO)


async def test_a_mismatch_stores_nothing(
    keeper: MediaKeeper, cloud: CloudApi, temp_dir: Path
) -> None:
    cloud.add("2001", PHOTO)
    cloud.wrong_hash.add("2001")
    with pytest.raises(MediaIntegrityError):  # metadata disagrees with the bytes
        await keeper.keep(REPORTER, "2001")
    with pytest.raises(MediaIntegrityError):  # and with the webhook's (right) hash
        await keeper.keep(REPORTER, "2001", sha(PHOTO))
    cloud.add("2002", PDF)
    with pytest.raises(MediaIntegrityError):  # the webhook's hash disagrees with the bytes
        await keeper.keep(REPORTER, "2002", sha(PHOTO))
    with pytest.raises(MediaIntegrityError):
        await keeper.keep(REPORTER, "2002", "not-a-hash")
    assert stored_keys(keeper.store) == []
    assert leftovers(temp_dir) == []


async def test_expired_media_is_unavailable(keeper: MediaKeeper, cloud: CloudApi) -> None:
    cloud.add("3001", PHOTO)
    cloud.expired.add("3001")
    with pytest.raises(MediaUnavailableError):
        await keeper.keep(REPORTER, "3001", sha(PHOTO))
    with pytest.raises(MediaUnavailableError):  # unknown id
        await keeper.keep(REPORTER, "3999", sha(PHOTO))
    cloud.add("3002", PHOTO)
    cloud.expired_bytes.add("3002")  # the download URL itself has expired
    with pytest.raises(MediaUnavailableError):
        await keeper.keep(REPORTER, "3002", sha(PHOTO))
    cloud.add("3003", PHOTO)
    cloud.fail_metadata["3003"] = [400]
    with pytest.raises(MediaUnavailableError):
        await keeper.keep(REPORTER, "3003", sha(PHOTO))
    assert cloud.metadata_hits["3001"] == 1  # permanent: not retried
    assert stored_keys(keeper.store) == []


async def test_too_large_is_refused(keeper: MediaKeeper, cloud: CloudApi, temp_dir: Path) -> None:
    big = b"z" * (1024 * 1024 + 1)
    cloud.add("4001", big)
    with pytest.raises(MediaTooLargeError):  # announced by the metadata: no download at all
        await keeper.keep(REPORTER, "4001", sha(big))
    assert cloud.byte_hits["4001"] == 0
    cloud.add("4002", big)
    cloud.declared_size["4002"] = 1000  # the metadata understates: the stream is cut off
    with pytest.raises(MediaTooLargeError):
        await keeper.keep(REPORTER, "4002", sha(big))
    assert cloud.byte_hits["4002"] == 1
    assert stored_keys(keeper.store) == []
    assert leftovers(temp_dir) == []


async def test_transient_failures_are_retried(
    keeper: MediaKeeper, cloud: CloudApi, sleeps: list[float]
) -> None:
    cloud.add("5001", PHOTO)
    cloud.fail_metadata["5001"] = [500]
    cloud.fail_bytes["5001"] = [503, 502]
    stored = await keeper.keep(REPORTER, "5001", sha(PHOTO))
    assert keeper.store.get(stored.uri) == PHOTO
    assert cloud.metadata_hits["5001"] == 2
    assert cloud.byte_hits["5001"] == 3
    assert len(sleeps) == 3
    assert all(0 < s <= 0.04 for s in sleeps)


async def test_429_honours_retry_after(
    keeper: MediaKeeper, cloud: CloudApi, sleeps: list[float]
) -> None:
    cloud.add("5002", PHOTO)
    cloud.retry_after = "7"
    cloud.fail_metadata["5002"] = [429]
    stored = await keeper.keep(REPORTER, "5002", sha(PHOTO))
    assert stored.sha256 == sha(PHOTO)
    assert sleeps == [7.0]


async def test_retries_give_up(keeper: MediaKeeper, cloud: CloudApi) -> None:
    cloud.add("5003", PHOTO)
    cloud.fail_bytes["5003"] = [500, 500, 500, 500]
    with pytest.raises(MediaDownloadError, match="3 attempts"):
        await keeper.keep(REPORTER, "5003", sha(PHOTO))
    assert cloud.byte_hits["5003"] == 3
    assert stored_keys(keeper.store) == []


async def test_connection_errors_are_retried_then_reported(
    sleeps: list[float], tmp_path: Path
) -> None:
    async def record(seconds: float) -> None:
        sleeps.append(seconds)

    # A port that nothing listens on (bound, never listening).
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
        async with WhatsAppMediaDownloader(
            TOKEN, base_url=f"http://127.0.0.1:{port}", attempts=2, sleep=record
        ) as client:
            keeper = MediaKeeper(LocalMediaStore(tmp_path / "media"), client)
            with pytest.raises(MediaDownloadError, match="ConnectError"):
                await keeper.keep(REPORTER, "6001", sha(PHOTO))
    assert len(sleeps) == 1


async def test_a_refused_token_is_not_unavailable(cloud: CloudApi, tmp_path: Path) -> None:
    cloud.add("6002", PHOTO)
    async with WhatsAppMediaDownloader("wrong", base_url=f"{cloud.base_url}/v23.0") as client:
        keeper = MediaKeeper(LocalMediaStore(tmp_path / "media"), client)
        with pytest.raises(MediaDownloadError, match="401"):
            await keeper.keep(REPORTER, "6002", sha(PHOTO))
    assert "wrong" not in repr(client)


async def test_repeat_keep_does_not_download_again(keeper: MediaKeeper, cloud: CloudApi) -> None:
    cloud.add("7001", PHOTO)
    first = await keeper.keep(REPORTER, "7001", sha_b64(PHOTO))
    again = await keeper.keep(REPORTER, "7001", sha(PHOTO))
    assert again == first
    assert cloud.metadata_hits["7001"] == 1
    assert cloud.byte_hits["7001"] == 1
    # Concurrent keeps of one media id share one download.
    cloud.add("7002", PDF)
    results = await asyncio.gather(*(keeper.keep(REPORTER, "7002", sha(PDF)) for _ in range(5)))
    assert len(set(results)) == 1
    assert cloud.byte_hits["7002"] == 1
    # The same bytes for another reporter are that reporter's own copy.
    theirs = await keeper.keep(OTHER_REPORTER, "7001", sha(PHOTO))
    assert theirs.uri != first.uri
    assert cloud.byte_hits["7001"] == 2


async def test_erase_reporter_removes_every_object_and_only_theirs(
    keeper: MediaKeeper, cloud: CloudApi
) -> None:
    cloud.add("8001", PHOTO)
    cloud.add("8002", PDF, "application/pdf")
    cloud.add("8003", b"voice note", "audio/ogg")
    mine = [
        await keeper.keep(REPORTER, "8001", sha(PHOTO)),
        await keeper.keep(REPORTER, "8002", sha(PDF)),
        await keeper.keep(REPORTER, "8003", sha(b"voice note")),
    ]
    theirs = await keeper.keep(OTHER_REPORTER, "8001", sha(PHOTO))

    assert await keeper.erase_reporter(REPORTER) == 3
    assert await keeper.erase_reporter(REPORTER) == 0  # a repeat is harmless
    for item in mine:
        assert not keeper.store.exists(item.uri)
    assert keeper.store.get(theirs.uri) == PHOTO
    assert stored_keys(keeper.store) == [media_key(OTHER_REPORTER, sha(PHOTO))]
    store = keeper.store
    if isinstance(store, LocalMediaStore):
        assert not (store.root / REPORTER).exists()
        assert sorted(p.name for p in store.root.iterdir()) == [OTHER_REPORTER]
    else:
        assert isinstance(store, S3MediaStore)
        assert s3_keys(store) == [f"evidence/v1/{OTHER_REPORTER}/{sha(PHOTO)}"]


async def test_erase_waits_for_a_keep_in_flight(keeper: MediaKeeper, cloud: CloudApi) -> None:
    cloud.add("8004", PHOTO)
    keeping = asyncio.ensure_future(keeper.keep(REPORTER, "8004", sha(PHOTO)))
    await asyncio.sleep(0)  # the keep has started
    assert await keeper.erase_reporter(REPORTER) == 1
    await keeping
    assert stored_keys(keeper.store) == []


async def test_without_a_token_the_keeper_still_finds_and_erases(
    cloud: CloudApi, tmp_path: Path
) -> None:
    store = LocalMediaStore(tmp_path / "media")
    kept = store.put(media_key(REPORTER, sha(PHOTO)), PHOTO, "image/jpeg")
    keeper = media_keeper_from_settings({}, tmp_path)
    assert not keeper.can_download
    assert await keeper.keep(REPORTER, "9001", sha(PHOTO)) == kept
    with pytest.raises(MediaDownloadError, match="token"):
        await keeper.keep(REPORTER, "9002", sha(PDF))
    assert await keeper.erase_reporter(REPORTER) == 1


# -- hashes and configuration -----------------------------------------------------------------


def test_normalise_sha256_accepts_hex_and_base64() -> None:
    digest = hashlib.sha256(b"evidence").digest()
    assert normalise_sha256(digest.hex().upper()) == digest.hex()
    assert normalise_sha256(base64.b64encode(digest).decode()) == digest.hex()
    assert normalise_sha256(base64.urlsafe_b64encode(digest).decode().rstrip("=")) == digest.hex()
    assert normalise_sha256("") == ""
    for bad in ("abc", base64.b64encode(b"short").decode(), "z" * 64, "ñ" * 44):
        with pytest.raises(MediaIntegrityError):
            normalise_sha256(bad)


def test_store_from_settings(tmp_path: Path) -> None:
    default = media_store_from_settings({}, tmp_path)
    assert isinstance(default, LocalMediaStore)
    assert default.root == tmp_path / "media"
    chosen = media_store_from_settings({"MEDIA_DIR": str(tmp_path / "x")}, tmp_path)
    assert isinstance(chosen, LocalMediaStore)
    assert chosen.root == tmp_path / "x"

    settings = ServiceSettings.from_env(
        "intake", {"ADUAN_DATA_DIR": str(tmp_path), "ADUAN_MEDIA_STORE": "s3"}
    )
    with pytest.raises(SettingsError, match="ADUAN_MEDIA_S3_BUCKET"):
        media_store_from_settings(settings.extra, settings.data_dir)
    with pytest.raises(SettingsError, match="local or s3"):
        media_store_from_settings({"MEDIA_STORE": "ftp"}, tmp_path)
    with pytest.raises(SettingsError, match="go together"):
        media_store_from_settings(
            {"MEDIA_STORE": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_ACCESS_KEY_ID": "k"}, tmp_path
        )
    with pytest.raises(SettingsError, match="PREFIX"):
        media_store_from_settings(
            {"MEDIA_STORE": "s3", "MEDIA_S3_BUCKET": "b", "MEDIA_S3_PREFIX": "a/../b"}, tmp_path
        )

    secret = tmp_path / "secret"
    secret.write_text("from-a-file\n")
    s3 = media_store_from_settings(
        {
            "MEDIA_STORE": "S3",
            "MEDIA_S3_BUCKET": "evidence",
            "MEDIA_S3_PREFIX": "/aduan/media/",
            "MEDIA_S3_ENDPOINT": "http://127.0.0.1:9",
            "MEDIA_S3_REGION": "ap-southeast-3",
            "MEDIA_S3_ACCESS_KEY_ID": "key",
            "MEDIA_S3_SECRET_ACCESS_KEY_FILE": str(secret),
        },
        tmp_path,
    )
    assert isinstance(s3, S3MediaStore)
    assert s3.uri_for(f"{REPORTER}/{sha(PHOTO)}") == (
        f"media:s3/evidence/aduan/media/{REPORTER}/{sha(PHOTO)}"
    )
    assert s3.client.meta.region_name == "ap-southeast-3"


def test_downloader_from_settings(tmp_path: Path) -> None:
    keeper = media_keeper_from_settings(
        {"WHATSAPP_TOKEN": "t", "MEDIA_MAX_BYTES": "2048", "WHATSAPP_BASE_URL": "http://x/v1/"},
        tmp_path,
    )
    assert keeper.can_download
    assert keeper.downloader is not None
    assert keeper.downloader.max_bytes == 2048
    assert keeper.downloader.base_url == "http://x/v1"
    with pytest.raises(SettingsError, match="MEDIA_MAX_BYTES"):
        media_keeper_from_settings({"WHATSAPP_TOKEN": "t", "MEDIA_MAX_BYTES": "lots"}, tmp_path)


def test_s3_check_warns_about_versioning(
    s3_from_settings: S3MediaStore, caplog: pytest.LogCaptureFixture
) -> None:
    bucket = f"aduan-versioned-{uuid.uuid4().hex[:8]}"
    client = s3_from_settings.client
    client.create_bucket(Bucket=bucket)
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    store = S3MediaStore(bucket, client=client)
    store.check()
    assert "versioning enabled" in caplog.text
