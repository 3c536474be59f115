"""Keeping WhatsApp media (image, document, audio, video, sticker) before its id expires.

An inbound media message names its attachment by a WhatsApp Cloud API media id, which stops
working after a while; the evidence is kept by downloading it promptly and storing the bytes.
Transport-free: no gRPC, NATS or protobuf here (docs/media.md).

- `WhatsAppMediaDownloader`: `GET {base_url}/{media id}` (bearer token) answers the metadata
  (`url`, `mime_type`, `sha256`, `file_size`); `GET <url>` with the same bearer answers the bytes,
  streamed to a temporary file under a size limit, their SHA-256 checked against the webhook's and
  the metadata's hash. Transient failures (connection errors, time-outs, 5xx, 429 with
  Retry-After) are retried with backoff; 400/404/410 mean the id is gone (`MediaUnavailableError`).
- `MediaStore`: where the bytes go. `LocalMediaStore` (a directory, the default) and
  `S3MediaStore` (an S3-compatible bucket through boto3). Keys are `<reporter id>/<sha256>`:
  content-addressed within a reporter, so keeping the same file twice is harmless, and erasing a
  reporter is deleting one prefix.
- `MediaKeeper`: download, verify, store (`keep`), and erase a reporter's media (`erase_reporter`).

The store's methods are synchronous (file system, boto3); the keeper runs them in a worker thread.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import json
import logging
import os
import random
import re
import shutil
import tempfile
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import httpx

from aduan.core.settings import SettingsError, extra_flag, extra_int, extra_number, extra_secret
from aduan.service.httpheaders import retry_after_seconds

if TYPE_CHECKING:
    from mypy_boto3_s3.client import S3Client

log = logging.getLogger(__name__)

DEFAULT_MAX_BYTES = 100 * 1024 * 1024  # the Cloud API's limit for documents, the largest kind
DEFAULT_GRAPH_BASE_URL = "https://graph.facebook.com/v23.0"
DEFAULT_MEDIA_TYPE = "application/octet-stream"
CHUNK_BYTES = 64 * 1024
LOCAL_SCHEME = "media:local/"
S3_SCHEME = "media:s3/"

_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
# One key segment: no leading dot (so "." and ".." are impossible and the local store's hidden
# side files can never be addressed), no slash, no backslash, nothing outside a small alphabet.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,199}")
_MEDIA_ID = re.compile(r"[A-Za-z0-9_-]{1,128}")
_MAX_KEY_CHARS = 1024
_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
_UNAVAILABLE_STATUS = frozenset({400, 404, 410})


# -- errors -----------------------------------------------------------------------------------


class MediaError(Exception):
    """Base of every error of this module."""


class MediaUnavailableError(MediaError):
    """WhatsApp no longer has the media (expired or unknown id: 400/404/410). Permanent."""


class MediaIntegrityError(MediaError):
    """The bytes do not match the SHA-256 that WhatsApp announced (or no hash was announced, or a
    hash is malformed). Nothing is stored."""


class MediaTooLargeError(MediaError):
    """The media exceeds the configured maximum size. Nothing is stored."""


class MediaDownloadError(MediaError):
    """The download failed for another reason: retries exhausted on transient failures (retry
    later), the token was refused (401/403), or the answer was not understood."""


class MediaStoreError(MediaError):
    """The storage backend failed."""


class MediaNotFoundError(MediaError, LookupError):
    """No stored object under that URI."""


class InvalidMediaKeyError(MediaError, ValueError):
    """A key, prefix, URI, reporter id or hash that could escape its place (e.g. "../x")."""


# -- values -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StoredMedia:
    """One stored object. `uri` is what events carry (`media:local/...` or `media:s3/...`)."""

    uri: str
    sha256: str  # lowercase hex of the stored bytes
    size: int
    media_type: str


@dataclass(frozen=True)
class MediaMetadata:
    """The Cloud API's answer to `GET /{media id}`."""

    media_id: str
    url: str
    mime_type: str
    sha256: str  # lowercase hex, or "" when absent
    file_size: int | None


@dataclass(frozen=True)
class DownloadedMedia:
    """Verified bytes in a temporary file (deleted when `download`'s context ends)."""

    media_id: str
    path: Path
    sha256: str
    size: int
    mime_type: str


def normalise_sha256(value: str) -> str:
    """A SHA-256 as lowercase hex. WhatsApp gives hex in media metadata and base64 (standard or
    URL-safe alphabet) in webhooks; both are accepted. "" stays "". Anything else is
    `MediaIntegrityError`."""
    value = value.strip()
    if not value:
        return ""
    if _HEX_SHA256.fullmatch(value):
        return value.lower()
    padded = (value + "=" * (-len(value) % 4)).encode("ascii", errors="replace")
    for altchars in (b"+/", b"-_"):
        try:
            raw = base64.b64decode(padded, altchars=altchars, validate=True)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw.hex()
    raise MediaIntegrityError("malformed SHA-256 (neither 64 hex digits nor base64 of 32 bytes)")


def _check_segment(segment: str, what: str) -> str:
    if not _SEGMENT.fullmatch(segment):
        raise InvalidMediaKeyError(f"{what} {segment!r} is not a safe path segment")
    return segment


def _check_key(key: str, what: str = "key") -> str:
    """A key is one or more safe segments joined by "/"."""
    if not key or len(key) > _MAX_KEY_CHARS:
        raise InvalidMediaKeyError(f"{what} must have 1 to {_MAX_KEY_CHARS} characters")
    for segment in key.split("/"):
        _check_segment(segment, f"{what} segment")
    return key


def media_key(reporter_id: str, sha256: str) -> str:
    """The key of a reporter's media: `<reporter id>/<sha256 hex>`."""
    _check_segment(reporter_id, "reporter id")
    if not _HEX_SHA256.fullmatch(sha256):
        raise InvalidMediaKeyError(f"{sha256!r} is not a hex SHA-256")
    return f"{reporter_id}/{sha256.lower()}"


def _discard(path: Path) -> None:
    with contextlib.suppress(OSError):
        path.unlink(missing_ok=True)


def _hash_source(source: bytes | Path) -> tuple[str, int]:
    if isinstance(source, bytes):
        return hashlib.sha256(source).hexdigest(), len(source)
    digest = hashlib.sha256()
    size = 0
    with source.open("rb") as handle:
        while chunk := handle.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


# -- the storage port -------------------------------------------------------------------------


@runtime_checkable
class MediaStore(Protocol):
    """Where kept media lives. Synchronous; keys are safe "/"-joined segments (see `media_key`);
    a prefix is whole segments (`abc` covers `abc/...`, never `abcd/...`)."""

    def uri_for(self, key: str) -> str:
        """The URI that `put(key, ...)` answers, without touching the backend."""
        ...

    def put(self, key: str, source: bytes | Path, media_type: str) -> StoredMedia:
        """Stores the bytes (or the file's content) atomically under `key`, replacing any."""
        ...

    def get(self, uri: str) -> bytes: ...

    def open(self, uri: str) -> IO[bytes]:
        """A readable binary stream of the object; the caller closes it."""
        ...

    def stat(self, uri: str) -> StoredMedia | None: ...

    def exists(self, uri: str) -> bool: ...

    def delete(self, uri: str) -> bool:
        """Deletes one object; whether it existed."""
        ...

    def delete_prefix(self, prefix: str) -> int:
        """Deletes every object under `prefix/`; how many there were."""
        ...


class LocalMediaStore:
    """Files under `root`: `<root>/<key>`, plus a hidden side file `.<name>.json` holding the media
    type, hash and size. Writes go to a temporary file in the same directory, are flushed to disk
    and renamed into place, so a reader never sees half a file. Directories are 0700, files 0600.
    URIs: `media:local/<key>` (the root is configuration, not part of the URI)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalMediaStore({str(self.root)!r})"

    # paths

    def _path(self, key: str) -> Path:
        _check_key(key)
        path = self.root.joinpath(*key.split("/"))
        root = self.root.resolve()
        if not path.resolve().is_relative_to(root) or path.resolve() == root:
            raise InvalidMediaKeyError(f"key {key!r} leaves the media directory")
        return path

    @staticmethod
    def _side(path: Path) -> Path:
        return path.with_name(f".{path.name}.json")

    def _key_of(self, uri: str) -> str:
        if not uri.startswith(LOCAL_SCHEME):
            raise InvalidMediaKeyError(f"not a local media URI: {uri!r}")
        return _check_key(uri[len(LOCAL_SCHEME) :], "URI key")

    def uri_for(self, key: str) -> str:
        return LOCAL_SCHEME + _check_key(key)

    # writing

    def _write_atomically(self, target: Path, write: Callable[[IO[bytes]], None]) -> None:
        target.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                write(handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(temporary, target)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(temporary)
            raise
        with contextlib.suppress(OSError):  # make the rename itself durable (best effort)
            directory = os.open(target.parent, os.O_RDONLY)
            try:
                os.fsync(directory)
            finally:
                os.close(directory)

    def put(self, key: str, source: bytes | Path, media_type: str) -> StoredMedia:
        path = self._path(key)
        digest = hashlib.sha256()
        size = 0

        def copy(handle: IO[bytes]) -> None:
            nonlocal size
            if isinstance(source, bytes):
                handle.write(source)
                digest.update(source)
                size = len(source)
                return
            with Path(source).open("rb") as reader:
                while chunk := reader.read(CHUNK_BYTES):
                    handle.write(chunk)
                    digest.update(chunk)
                    size += len(chunk)

        media_type = media_type or DEFAULT_MEDIA_TYPE
        try:
            self._write_atomically(path, copy)
            stored = StoredMedia(self.uri_for(key), digest.hexdigest(), size, media_type)
            side = json.dumps({"media_type": media_type, "sha256": stored.sha256, "size": size})

            def write_side(handle: IO[bytes]) -> None:
                handle.write(side.encode())

            self._write_atomically(self._side(path), write_side)
        except OSError as error:
            raise MediaStoreError(f"cannot write {key!r}: {error.strerror}") from error
        return stored

    # reading

    def get(self, uri: str) -> bytes:
        with self.open(uri) as handle:
            return handle.read()

    def open(self, uri: str) -> IO[bytes]:
        path = self._path(self._key_of(uri))
        try:
            return path.open("rb")
        except FileNotFoundError:
            raise MediaNotFoundError(uri) from None
        except OSError as error:
            raise MediaStoreError(f"cannot read {uri!r}: {error.strerror}") from error

    def stat(self, uri: str) -> StoredMedia | None:
        path = self._path(self._key_of(uri))
        if not path.is_file():
            return None
        try:
            side: dict[str, Any] = json.loads(self._side(path).read_text(encoding="utf-8"))
            return StoredMedia(uri, str(side["sha256"]), int(side["size"]), str(side["media_type"]))
        except (OSError, ValueError, KeyError, TypeError):
            # The side file is missing or damaged: recompute what can be.
            sha256, size = _hash_source(path)
            return StoredMedia(uri, sha256, size, DEFAULT_MEDIA_TYPE)

    def exists(self, uri: str) -> bool:
        return self._path(self._key_of(uri)).is_file()

    # deleting

    def _prune(self, directory: Path) -> None:
        """Removes now-empty directories from `directory` up to (not including) the root."""
        root = self.root.resolve()
        while directory.resolve() != root and directory.resolve().is_relative_to(root):
            try:
                directory.rmdir()
            except OSError:
                return
            directory = directory.parent

    def delete(self, uri: str) -> bool:
        path = self._path(self._key_of(uri))
        try:
            path.unlink()
            existed = True
        except FileNotFoundError:
            existed = False
        self._side(path).unlink(missing_ok=True)
        self._prune(path.parent)
        return existed

    def delete_prefix(self, prefix: str) -> int:
        directory = self._path(_check_key(prefix.removesuffix("/"), "prefix"))
        if not directory.is_dir() or directory.is_symlink():
            return 0
        count = sum(
            1 for path in directory.rglob("*") if path.is_file() and not path.name.startswith(".")
        )
        try:
            shutil.rmtree(directory)
        except OSError as error:
            raise MediaStoreError(f"cannot delete {prefix!r}: {error.strerror}") from error
        self._prune(directory.parent)
        return count


class S3MediaStore:
    """Objects in an S3-compatible bucket (AWS S3, MinIO, Ceph RGW) through boto3.

    Object key: `<prefix>/<key>`; URI: `media:s3/<bucket>/<object key>`. Every object is written
    with its Content-Type, the hex SHA-256 as user metadata `sha256`, and (unless `checksum` is
    off, for a server that does not know it) `ChecksumSHA256`, so the server itself refuses bytes
    that arrive damaged. boto3 retries throttling and 5xx itself (standard mode)."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        client: S3Client | None = None,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str | None = None,
        checksum: bool = True,
        timeout_seconds: float = 60.0,
    ) -> None:
        if not bucket:
            raise SettingsError("an S3 media store needs a bucket")
        self.bucket = bucket
        prefix = prefix.strip("/")
        self.prefix = _check_key(prefix, "S3 prefix") if prefix else ""
        self.checksum = checksum
        if client is None:
            import boto3
            from botocore.config import Config

            styles: dict[str, Literal["auto", "virtual", "path"]] = {
                "auto": "auto",
                "virtual": "virtual",
                "path": "path",
            }
            style = styles.get(addressing_style or ("path" if endpoint_url else "auto"))
            if style is None:
                raise SettingsError(f"unknown S3 addressing style {addressing_style!r}")
            config = Config(
                connect_timeout=min(timeout_seconds, 10.0),
                read_timeout=timeout_seconds,
                retries={"max_attempts": 5, "mode": "standard"},
                s3={"addressing_style": style},
                # Only the checksums asked for: automatic CRC32 trips some S3-compatible servers.
                request_checksum_calculation="when_required",
                response_checksum_validation="when_required",
            )
            client = boto3.session.Session().client(
                "s3",
                endpoint_url=endpoint_url or None,
                region_name=region or None,
                aws_access_key_id=access_key_id or None,
                aws_secret_access_key=secret_access_key or None,
                config=config,
            )
        self.client = client

    def __repr__(self) -> str:
        return f"S3MediaStore(bucket={self.bucket!r}, prefix={self.prefix!r})"

    def _object_key(self, key: str) -> str:
        _check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _object_key_of(self, uri: str) -> str:
        head = f"{S3_SCHEME}{self.bucket}/"
        if not uri.startswith(head):
            raise InvalidMediaKeyError(f"not a media URI of bucket {self.bucket!r}: {uri!r}")
        object_key = uri[len(head) :]
        if self.prefix:
            if not object_key.startswith(self.prefix + "/"):
                raise InvalidMediaKeyError(f"URI outside the prefix {self.prefix!r}: {uri!r}")
            _check_key(object_key[len(self.prefix) + 1 :], "URI key")
        else:
            _check_key(object_key, "URI key")
        return object_key

    def uri_for(self, key: str) -> str:
        return f"{S3_SCHEME}{self.bucket}/{self._object_key(key)}"

    @staticmethod
    def _code(error: Exception) -> str:
        response = getattr(error, "response", None)
        if isinstance(response, dict):
            code = response.get("Error", {}).get("Code", "")
            return str(code)
        return ""

    def check(self) -> None:
        """Start-up check (network): the bucket is reachable; a warning if versioning is on
        (deleted objects would survive as noncurrent versions; docs/media.md)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self.client.head_bucket(Bucket=self.bucket)
        except (BotoCoreError, ClientError) as error:
            raise MediaStoreError(f"S3 bucket {self.bucket!r} is not usable: {error}") from error
        try:
            status = self.client.get_bucket_versioning(Bucket=self.bucket).get("Status")
        except (BotoCoreError, ClientError):
            return
        if status == "Enabled":
            log.warning(
                "media bucket %s has versioning enabled: erased media survive as noncurrent "
                "versions unless a lifecycle rule expires them (docs/media.md)",
                self.bucket,
            )

    def put(self, key: str, source: bytes | Path, media_type: str) -> StoredMedia:
        from botocore.exceptions import BotoCoreError, ClientError

        object_key = self._object_key(key)
        media_type = media_type or DEFAULT_MEDIA_TYPE
        sha256, size = _hash_source(source)
        extra: dict[str, str] = {}
        if self.checksum:
            extra["ChecksumSHA256"] = base64.b64encode(bytes.fromhex(sha256)).decode("ascii")
        try:
            if isinstance(source, bytes):
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=object_key,
                    Body=source,
                    ContentType=media_type,
                    Metadata={"sha256": sha256},
                    **extra,  # type: ignore[arg-type]
                )
            else:
                with Path(source).open("rb") as body:
                    self.client.put_object(
                        Bucket=self.bucket,
                        Key=object_key,
                        Body=body,
                        ContentType=media_type,
                        ContentLength=size,
                        Metadata={"sha256": sha256},
                        **extra,  # type: ignore[arg-type]
                    )
        except (BotoCoreError, ClientError) as error:
            raise MediaStoreError(f"cannot store {object_key!r}: {error}") from error
        return StoredMedia(self.uri_for(key), sha256, size, media_type)

    def get(self, uri: str) -> bytes:
        with self.open(uri) as handle:
            return handle.read()

    def open(self, uri: str) -> IO[bytes]:
        from botocore.exceptions import BotoCoreError, ClientError

        object_key = self._object_key_of(uri)
        # Handed to the caller, who closes it.
        spool: IO[bytes] = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)  # noqa: SIM115
        try:
            self.client.download_fileobj(self.bucket, object_key, spool)
        except ClientError as error:
            spool.close()
            if self._code(error) in {"404", "NoSuchKey", "NotFound"}:
                raise MediaNotFoundError(uri) from None
            raise MediaStoreError(f"cannot read {uri!r}: {error}") from error
        except BotoCoreError as error:
            spool.close()
            raise MediaStoreError(f"cannot read {uri!r}: {error}") from error
        spool.seek(0)
        return spool

    def stat(self, uri: str) -> StoredMedia | None:
        from botocore.exceptions import BotoCoreError, ClientError

        object_key = self._object_key_of(uri)
        try:
            head = self.client.head_object(Bucket=self.bucket, Key=object_key)
        except ClientError as error:
            if self._code(error) in {"404", "NoSuchKey", "NotFound"}:
                return None
            raise MediaStoreError(f"cannot inspect {uri!r}: {error}") from error
        except BotoCoreError as error:
            raise MediaStoreError(f"cannot inspect {uri!r}: {error}") from error
        return StoredMedia(
            uri,
            head.get("Metadata", {}).get("sha256", ""),
            int(head.get("ContentLength", 0)),
            head.get("ContentType", DEFAULT_MEDIA_TYPE),
        )

    def exists(self, uri: str) -> bool:
        return self.stat(uri) is not None

    def delete(self, uri: str) -> bool:
        from botocore.exceptions import BotoCoreError, ClientError

        existed = self.exists(uri)
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key_of(uri))
        except (BotoCoreError, ClientError) as error:
            raise MediaStoreError(f"cannot delete {uri!r}: {error}") from error
        return existed

    def delete_prefix(self, prefix: str) -> int:
        from botocore.exceptions import BotoCoreError, ClientError

        full = self._object_key(_check_key(prefix.removesuffix("/"), "prefix")) + "/"
        count = 0
        try:
            # Deleting while listing is safe with continuation tokens; repeat until nothing is
            # left, so objects written meanwhile go too.
            while True:
                keys = [
                    item["Key"]
                    for page in self.client.get_paginator("list_objects_v2").paginate(
                        Bucket=self.bucket, Prefix=full
                    )
                    for item in page.get("Contents", [])
                ]
                if not keys:
                    return count
                for start in range(0, len(keys), 1000):
                    batch = keys[start : start + 1000]
                    answer = self.client.delete_objects(
                        Bucket=self.bucket,
                        Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True},
                    )
                    errors = answer.get("Errors", [])
                    if errors:
                        raise MediaStoreError(
                            f"cannot delete {len(errors)} objects under {full!r}: "
                            f"{errors[0].get('Code', '')} {errors[0].get('Message', '')}"
                        )
                    count += len(batch)
        except (BotoCoreError, ClientError) as error:
            raise MediaStoreError(f"cannot delete under {full!r}: {error}") from error


# -- the downloader ---------------------------------------------------------------------------


class _TransientError(Exception):
    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after


class WhatsAppMediaDownloader:
    """Fetches media from the WhatsApp Cloud API (or a compatible stand-in at `base_url`).

    `attempts` is per request (metadata, bytes); between attempts it waits the server's
    Retry-After, else `backoff_seconds * 2**n` with jitter, at most `max_backoff_seconds`.
    `timeout_seconds` bounds each network operation, `total_timeout_seconds` one whole download.
    The client follows redirects for the bytes (httpx drops the bearer on a change of host)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_GRAPH_BASE_URL,
        max_bytes: int = DEFAULT_MAX_BYTES,
        timeout_seconds: float = 30.0,
        total_timeout_seconds: float = 600.0,
        attempts: int = 4,
        backoff_seconds: float = 0.5,
        max_backoff_seconds: float = 30.0,
        temp_dir: Path | None = None,
        client: httpx.AsyncClient | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        if not token:
            raise SettingsError("the media downloader needs a WhatsApp access token")
        if max_bytes < 1 or attempts < 1:
            raise SettingsError("max_bytes and attempts must be at least 1")
        self._token = token
        self.base_url = base_url.rstrip("/")
        self.max_bytes = max_bytes
        self.total_timeout_seconds = total_timeout_seconds
        self.attempts = attempts
        self.backoff_seconds = backoff_seconds
        self.max_backoff_seconds = max_backoff_seconds
        self.temp_dir = temp_dir
        self._sleep = sleep
        self._own_client = client is None
        self._client = client or httpx.AsyncClient(
            timeout=httpx.Timeout(timeout_seconds), follow_redirects=True
        )

    def __repr__(self) -> str:  # never show the token
        return f"WhatsAppMediaDownloader(base_url={self.base_url!r})"

    async def aclose(self) -> None:
        if self._own_client:
            await self._client.aclose()

    async def __aenter__(self) -> WhatsAppMediaDownloader:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    @property
    def _headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._token}"}

    async def _with_retries(self, what: str, attempt: Callable[[], Awaitable[Any]]) -> Any:
        number = 0
        while True:
            number += 1
            try:
                return await attempt()
            except _TransientError as transient:
                reason, retry_after = transient.reason, transient.retry_after
            except httpx.TransportError as error:  # connection refused/reset, time-outs
                reason, retry_after = f"{type(error).__name__}", None
            if number == self.attempts:
                raise MediaDownloadError(f"{what}: gave up after {number} attempts ({reason})")
            if retry_after is not None:
                delay = min(retry_after, self.max_backoff_seconds)
            else:
                delay = min(self.backoff_seconds * 2 ** (number - 1), self.max_backoff_seconds)
                delay *= random.uniform(0.5, 1.0)
            log.info("media %s: %s; retrying in %.2fs", what, reason, delay)
            await self._sleep(delay)

    def _check_status(self, response: httpx.Response, what: str) -> None:
        status = response.status_code
        if status < 300:
            return
        if status in _RETRYABLE_STATUS:
            raise _TransientError(
                f"HTTP {status}", retry_after_seconds(response.headers.get("Retry-After"))
            )
        if status in _UNAVAILABLE_STATUS:
            raise MediaUnavailableError(f"{what}: HTTP {status} (expired or unknown media)")
        if status in {401, 403}:
            raise MediaDownloadError(f"{what}: HTTP {status} (the access token was refused)")
        raise MediaDownloadError(f"{what}: HTTP {status}")

    async def metadata(self, media_id: str) -> MediaMetadata:
        if not _MEDIA_ID.fullmatch(media_id):
            raise MediaUnavailableError(f"{media_id!r} is not a WhatsApp media id")

        async def attempt() -> MediaMetadata:
            response = await self._client.get(f"{self.base_url}/{media_id}", headers=self._headers)
            self._check_status(response, f"metadata of {media_id}")
            try:
                body = response.json()
            except ValueError:
                raise MediaDownloadError(f"metadata of {media_id}: not JSON") from None
            return self._parse_metadata(media_id, body)

        result: MediaMetadata = await self._with_retries(f"metadata of {media_id}", attempt)
        return result

    @staticmethod
    def _parse_metadata(media_id: str, body: Any) -> MediaMetadata:
        if not isinstance(body, dict):
            raise MediaDownloadError(f"metadata of {media_id}: not an object")
        url = body.get("url")
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise MediaDownloadError(f"metadata of {media_id}: no usable url")
        mime_type = body.get("mime_type")
        raw_hash = body.get("sha256")
        raw_size = body.get("file_size")
        file_size: int | None = None
        if isinstance(raw_size, int) and not isinstance(raw_size, bool):
            file_size = raw_size
        elif isinstance(raw_size, str) and raw_size.isdigit():
            file_size = int(raw_size)
        return MediaMetadata(
            media_id=media_id,
            url=url,
            mime_type=mime_type.split(";")[0].strip().lower() if isinstance(mime_type, str) else "",
            sha256=normalise_sha256(raw_hash) if isinstance(raw_hash, str) else "",
            file_size=file_size,
        )

    @contextlib.asynccontextmanager
    async def download(
        self, media_id: str, expected_sha256: str = ""
    ) -> AsyncIterator[DownloadedMedia]:
        """Downloads and verifies; yields the bytes in a temporary file that is deleted when the
        context ends. `expected_sha256` is the webhook's hash (hex or base64). The bytes must
        match it and the metadata's hash (whichever are given; at least one must be)."""
        expected = normalise_sha256(expected_sha256)
        try:
            async with asyncio.timeout(self.total_timeout_seconds):
                media = await self._download(media_id, expected)
        except TimeoutError:
            raise MediaDownloadError(
                f"media {media_id}: took longer than {self.total_timeout_seconds}s"
            ) from None
        try:
            yield media
        finally:
            _discard(media.path)

    async def _download(self, media_id: str, expected: str) -> DownloadedMedia:
        metadata = await self.metadata(media_id)
        if metadata.file_size is not None and metadata.file_size > self.max_bytes:
            raise MediaTooLargeError(
                f"media {media_id}: {metadata.file_size} bytes > limit {self.max_bytes}"
            )
        wanted = {hash_ for hash_ in (expected, metadata.sha256) if hash_}
        if not wanted:
            raise MediaIntegrityError(f"media {media_id}: no SHA-256 to verify against")
        if len(wanted) > 1:
            raise MediaIntegrityError(f"media {media_id}: the webhook and metadata hashes differ")
        descriptor, name = tempfile.mkstemp(prefix="aduan-media-", dir=self.temp_dir)
        path = Path(name)
        try:
            with os.fdopen(descriptor, "wb") as handle:
                sha256, size = await self._with_retries(
                    f"bytes of {media_id}", lambda: self._stream(metadata.url, handle)
                )
            if sha256 not in wanted:
                raise MediaIntegrityError(f"media {media_id}: SHA-256 mismatch; nothing stored")
        except BaseException:
            _discard(path)
            raise
        log.info("media %s downloaded: %d bytes", media_id, size)
        return DownloadedMedia(media_id, path, sha256, size, metadata.mime_type)

    async def _stream(self, url: str, handle: IO[bytes]) -> tuple[str, int]:
        handle.seek(0)
        handle.truncate()
        digest = hashlib.sha256()
        size = 0
        async with self._client.stream("GET", url, headers=self._headers) as response:
            self._check_status(response, "media bytes")
            length = response.headers.get("Content-Length", "")
            if length.isdigit() and int(length) > self.max_bytes:
                raise MediaTooLargeError(f"media: {length} bytes > limit {self.max_bytes}")
            async for chunk in response.aiter_bytes(CHUNK_BYTES):
                size += len(chunk)
                if size > self.max_bytes:
                    raise MediaTooLargeError(f"media: more than the limit of {self.max_bytes}")
                digest.update(chunk)
                handle.write(chunk)
        handle.flush()
        return digest.hexdigest(), size


# -- the keeper -------------------------------------------------------------------------------


class MediaKeeper:
    """Downloads, verifies and stores a reporter's media; erases it all on request.

    `keep` is idempotent: with the hash known up front (the webhook's), media already stored
    under it are returned without a download; concurrent keeps of one media id in this process
    share one download. `erase_reporter` first waits for this process's keeps of that reporter."""

    def __init__(
        self, store: MediaStore, downloader: WhatsAppMediaDownloader | None = None
    ) -> None:
        self.store = store
        self.downloader = downloader
        self._inflight: dict[tuple[str, str], asyncio.Task[StoredMedia]] = {}

    @property
    def can_download(self) -> bool:
        """False without a WhatsApp token: `keep` then only finds what is already stored, and
        `erase_reporter` still works."""
        return self.downloader is not None

    async def aclose(self) -> None:
        if self.downloader is not None:
            await self.downloader.aclose()

    async def keep(
        self, reporter_id: str, media_id: str, expected_sha256: str = "", media_type: str = ""
    ) -> StoredMedia:
        """Keeps one media item of a reporter. `expected_sha256`: the webhook's hash (hex or
        base64); `media_type`: the MIME type to store (default: the metadata's). Raises
        `MediaUnavailableError`, `MediaIntegrityError`, `MediaTooLargeError`,
        `MediaDownloadError` (transient: try again later), `MediaStoreError`,
        `InvalidMediaKeyError`."""
        _check_segment(reporter_id, "reporter id")
        expected = normalise_sha256(expected_sha256)
        flight = (reporter_id, media_id)
        task = self._inflight.get(flight)
        if task is None:
            task = asyncio.ensure_future(self._keep(reporter_id, media_id, expected, media_type))
            self._inflight[flight] = task
            task.add_done_callback(lambda done: self._landed(flight, done))
        # Shielded: one caller giving up does not cancel the download the others wait for.
        return await asyncio.shield(task)

    def _landed(self, flight: tuple[str, str], task: asyncio.Task[StoredMedia]) -> None:
        if self._inflight.get(flight) is task:
            del self._inflight[flight]
        if not task.cancelled():
            task.exception()  # retrieved: no "exception never retrieved" if nobody awaits

    async def _keep(
        self, reporter_id: str, media_id: str, expected: str, media_type: str
    ) -> StoredMedia:
        if expected:
            existing = await asyncio.to_thread(
                self.store.stat, self.store.uri_for(media_key(reporter_id, expected))
            )
            if existing is not None:
                return existing
        if self.downloader is None:
            raise MediaDownloadError(f"media {media_id}: no WhatsApp token configured")
        async with self.downloader.download(media_id, expected) as media:
            key = media_key(reporter_id, media.sha256)
            kind = media_type or media.mime_type or DEFAULT_MEDIA_TYPE
            stored = await asyncio.to_thread(self.store.put, key, media.path, kind)
        log.info("media %s kept as %s", media_id, stored.uri)
        return stored

    async def erase_reporter(self, reporter_id: str) -> int:
        """Deletes every stored object of the reporter; how many there were."""
        _check_segment(reporter_id, "reporter id")
        pending = [task for (rid, _), task in self._inflight.items() if rid == reporter_id]
        if pending:
            await asyncio.wait(pending)
        count = await asyncio.to_thread(self.store.delete_prefix, reporter_id)
        log.info("media of reporter %s erased: %d objects", reporter_id, count)
        return count


# -- configuration ----------------------------------------------------------------------------


def media_store_from_settings(extra: Mapping[str, str], data_dir: Path) -> MediaStore:
    """The media store chosen by `ADUAN_MEDIA_STORE` (`local`, the default, or `s3`). `extra` is
    `ServiceSettings.extra` (the ADUAN_* variables without the prefix); `data_dir` its
    `data_dir`. Refuses (SettingsError) a misconfiguration rather than guess. Makes no network
    call; call `S3MediaStore.check()` for that."""
    kind = (extra.get("MEDIA_STORE", "") or "local").strip().lower()
    if kind == "local":
        directory = extra.get("MEDIA_DIR", "").strip()
        return LocalMediaStore(Path(directory) if directory else Path(data_dir) / "media")
    if kind != "s3":
        raise SettingsError(f"ADUAN_MEDIA_STORE must be local or s3, not {kind!r}")
    bucket = extra.get("MEDIA_S3_BUCKET", "").strip()
    if not bucket:
        raise SettingsError("ADUAN_MEDIA_STORE=s3 needs ADUAN_MEDIA_S3_BUCKET")
    access_key_id = extra_secret(extra, "MEDIA_S3_ACCESS_KEY_ID")
    secret_access_key = extra_secret(extra, "MEDIA_S3_SECRET_ACCESS_KEY")
    if bool(access_key_id) != bool(secret_access_key):
        raise SettingsError(
            "ADUAN_MEDIA_S3_ACCESS_KEY_ID and ADUAN_MEDIA_S3_SECRET_ACCESS_KEY go together "
            "(or set neither and use the standard AWS credential chain)"
        )
    style = extra.get("MEDIA_S3_ADDRESSING_STYLE", "").strip().lower() or None
    if style not in {None, "path", "virtual", "auto"}:
        raise SettingsError(
            f"ADUAN_MEDIA_S3_ADDRESSING_STYLE must be path, virtual or auto, not {style!r}"
        )
    try:
        return S3MediaStore(
            bucket,
            extra.get("MEDIA_S3_PREFIX", ""),
            endpoint_url=extra.get("MEDIA_S3_ENDPOINT", "").strip() or None,
            region=extra.get("MEDIA_S3_REGION", "").strip() or None,
            access_key_id=access_key_id or None,
            secret_access_key=secret_access_key or None,
            addressing_style=style,
            checksum=bool(extra_flag(extra, "MEDIA_S3_CHECKSUM", True)),
        )
    except InvalidMediaKeyError as error:
        raise SettingsError(f"ADUAN_MEDIA_S3_PREFIX: {error}") from None


def media_downloader_from_settings(extra: Mapping[str, str]) -> WhatsAppMediaDownloader | None:
    """The downloader, or None when `ADUAN_WHATSAPP_TOKEN` (or `_FILE`) is unset (media are then
    only referenced by id). Base URL: `ADUAN_WHATSAPP_BASE_URL` (default the Graph API)."""
    token = extra_secret(extra, "WHATSAPP_TOKEN")
    if not token:
        return None
    temp_dir = extra.get("MEDIA_TEMP_DIR", "").strip()
    return WhatsAppMediaDownloader(
        token,
        base_url=extra.get("WHATSAPP_BASE_URL", "").strip() or DEFAULT_GRAPH_BASE_URL,
        max_bytes=extra_int(extra, "MEDIA_MAX_BYTES", DEFAULT_MAX_BYTES, 1),
        timeout_seconds=extra_number(extra, "MEDIA_TIMEOUT_SECONDS", 30.0, 0.1),
        attempts=extra_int(extra, "MEDIA_ATTEMPTS", 4, 1),
        temp_dir=Path(temp_dir) if temp_dir else None,
    )


def media_keeper_from_settings(extra: Mapping[str, str], data_dir: Path) -> MediaKeeper:
    """Both of the above. Without a WhatsApp token the keeper cannot download (`can_download` is
    False) but still erases."""
    return MediaKeeper(
        media_store_from_settings(extra, data_dir), media_downloader_from_settings(extra)
    )
