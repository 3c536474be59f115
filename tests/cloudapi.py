"""WhatsApp Cloud API webhook payloads as Meta sends them (the shapes of the webhook reference),
for the tests of every layer: intake's webhook, the e2e stack and the stand-in provider."""

from __future__ import annotations

import base64
import hashlib
import hmac
import itertools
import json
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

SENDER = "6281234567890"
TIMESTAMP = "1767225600"


def payload(
    *messages: dict[str, Any],
    sender: str = SENDER,
    name: str = "Siti Aminah",
    statuses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "6281110680000", "phone_number_id": "1"},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": name}, "wa_id": sender}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }


def message(kind: str, body: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
    built: dict[str, Any] = {
        "from": fields.pop("sender", SENDER),
        "id": fields.pop("message_id", None) or f"wamid.{uuid.uuid4().hex}",
        "timestamp": TIMESTAMP,
        "type": kind,
    }
    if body is not None:
        built[kind] = body
    built.update(fields)
    return built


def text(body: str, **fields: Any) -> dict[str, Any]:
    return message("text", {"body": body}, **fields)


def image(caption: str = "", content: bytes = b"jpeg bytes", **fields: Any) -> dict[str, Any]:
    digest = base64.b64encode(hashlib.sha256(content).digest()).decode()
    media_id = fields.pop("media_id", "MEDIA-42")
    return message(
        "image",
        {"id": media_id, "mime_type": "image/jpeg", "sha256": digest, "caption": caption},
        **fields,
    )


def location(latitude: float, longitude: float, **fields: Any) -> dict[str, Any]:
    place = {"latitude": latitude, "longitude": longitude}
    place.update(fields.pop("place", {}))
    return message("location", place, **fields)


def list_reply(row_id: str, title: str = "", **fields: Any) -> dict[str, Any]:
    chosen = {"id": row_id, "title": title or row_id[-24:], "description": ""}
    return message("interactive", {"type": "list_reply", "list_reply": chosen}, **fields)


def button_reply(button_id: str, title: str, **fields: Any) -> dict[str, Any]:
    chosen = {"id": button_id, "title": title}
    return message("interactive", {"type": "button_reply", "button_reply": chosen}, **fields)


def status(
    provider_message_id: str, state: str, delivery_id: str = "", **fields: Any
) -> dict[str, Any]:
    built: dict[str, Any] = {
        "id": provider_message_id,
        "status": state,
        "timestamp": TIMESTAMP,
        "recipient_id": SENDER,
    }
    if delivery_id:
        built["biz_opaque_callback_data"] = delivery_id
    if state == "failed":
        built["errors"] = [{"code": 131026, "title": "Message undeliverable"}]
    built.update(fields)
    return built


# One of every message type of the webhook reference that is not text, media, location or a
# reply, as Meta sends it: each must get an outcome.
OTHER_MESSAGES: dict[str, dict[str, Any]] = {
    "reaction": {"message_id": "wamid.ORIGINAL", "emoji": "\U0001f44d"},
    "contacts": [{"name": {"formatted_name": "Budi"}, "phones": [{"phone": "+62 812 0000"}]}],
    "system": {"body": "User changed number", "type": "user_changed_number"},
    "unsupported": None,
    "order": {"catalog_id": "1", "product_items": []},
    "request_welcome": None,
    "button": {"payload": "STATUS", "text": "Cek status"},
}


def signed(body: bytes, app_secret: str) -> dict[str, str]:
    """The headers of a webhook delivery as Meta signs it (X-Hub-Signature-256)."""
    digest = hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "X-Hub-Signature-256": f"sha256={digest}"}


class CloudApiStandIn:
    """A stand-in WhatsApp Cloud API on loopback (real HTTP), for the e2e stack: it accepts
    `POST /<phone number id>/messages` as the Graph API does (answering a `wamid`; like the real
    API it does not deduplicate: every request is a message the citizen receives), records every
    message, serves media (`GET /<media id>` metadata, then the bytes at the URL it gave), and can
    report statuses back to intake's webhook as Meta does.

    - `report_statuses(webhook_url, app_secret, states)`: after accepting a message, post a status
      notification per state (`sent`, `delivered`, ...) to the webhook, signed like Meta's, with
      the message's `biz_opaque_callback_data`; a webhook answer other than 200 is retried (as
      Meta retries). `hold_statuses()` keeps them back until `release_statuses()`.
    - `hold_next_response()`: the next message is accepted (recorded: the citizen has it) but its
      HTTP answer is held until `release_response()` (`holding` is set meanwhile): a sender
      killed now dies after the provider accepted and before it learnt so.
    """

    def __init__(self, token: str = "stand-in-token") -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        # (wamid, state, the webhook's HTTP status) of every status notification posted.
        self.status_posts: list[tuple[str, str, int]] = []
        self.holding = threading.Event()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None
        self._status_target: tuple[str, str, tuple[str, ...]] | None = None
        self._statuses_open = threading.Event()
        self._statuses_open.set()
        self._hold_next = False
        self._response_released = threading.Event()
        self._stopped = threading.Event()

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_media(self, media_id: str, content: bytes, mime_type: str = "image/jpeg") -> None:
        self.media[media_id] = (content, mime_type)

    def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m.get("to") == wa_id]

    def for_delivery(self, delivery_id: str) -> list[dict[str, Any]]:
        """The messages accepted for one delivery (its biz_opaque_callback_data)."""
        with self._lock:
            return [m for m in self.messages if m.get("biz_opaque_callback_data") == delivery_id]

    def report_statuses(
        self, webhook_url: str, app_secret: str, states: Sequence[str] = ("sent", "delivered")
    ) -> None:
        self._status_target = (webhook_url, app_secret, tuple(states))

    def hold_statuses(self) -> None:
        self._statuses_open.clear()

    def release_statuses(self) -> None:
        self._statuses_open.set()

    def hold_next_response(self) -> None:
        with self._lock:
            self._hold_next = True
            self._response_released.clear()
            self.holding.clear()

    def release_response(self) -> None:
        self._response_released.set()

    def _accept(self, body: dict[str, Any]) -> tuple[str, bool]:
        with self._lock:
            wamid = f"wamid.STANDIN{next(self._ids)}"
            self.messages.append({**body, "wamid": wamid, "accepted_at": time.monotonic()})
            hold, self._hold_next = self._hold_next, False
        if self._status_target is not None:
            threading.Thread(target=self._post_statuses, args=(wamid, body), daemon=True).start()
        return wamid, hold

    def _post_statuses(self, wamid: str, body: dict[str, Any]) -> None:
        assert self._status_target is not None
        url, app_secret, states = self._status_target
        while not self._statuses_open.wait(0.1):
            if self._stopped.is_set():
                return
        for state in states:
            report = status(wamid, state, str(body.get("biz_opaque_callback_data", "")))
            report["recipient_id"] = body.get("to", "")
            report["timestamp"] = str(int(time.time()))
            raw = json.dumps(payload(statuses=[report])).encode()
            for delay in (0.2, 0.5, 1.0, 2.0, 4.0, 8.0, 0.0):  # Meta retries a failed delivery
                request = urllib.request.Request(
                    url, data=raw, headers=signed(raw, app_secret), method="POST"
                )
                try:
                    with urllib.request.urlopen(request, timeout=10) as response:
                        code = response.status
                except urllib.error.HTTPError as error:
                    code = error.code
                except OSError:
                    code = 0
                with self._lock:
                    self.status_posts.append((wamid, state, code))
                if code == 200 or not delay or self._stopped.wait(delay):
                    break

    def start(self) -> CloudApiStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", content_type)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the sender died meanwhile

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {stand_in.token}":
                    return True
                self._answer(401, b'{"error":{"code":190}}', "application/json")
                return False

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                wamid, hold = stand_in._accept(body)
                if hold:
                    stand_in.holding.set()
                    stand_in._response_released.wait(60)
                answer = {"messaging_product": "whatsapp", "messages": [{"id": wamid}]}
                self._answer(200, json.dumps(answer).encode(), "application/json")

            def do_GET(self) -> None:
                if not self._authorised():
                    return
                parts = self.path.strip("/").split("/")
                found = stand_in.media.get(parts[-1])
                if found is None:
                    self._answer(404, b'{"error":{"code":100}}', "application/json")
                elif parts[0] == "download":
                    self._answer(200, found[0], found[1])
                else:
                    content, mime_type = found
                    meta = {
                        "messaging_product": "whatsapp",
                        "id": parts[-1],
                        "url": f"{stand_in.base_url}/download/{parts[-1]}",
                        "mime_type": mime_type,
                        "sha256": hashlib.sha256(content).hexdigest(),
                        "file_size": len(content),
                    }
                    self._answer(200, json.dumps(meta).encode(), "application/json")

            def log_message(self, format: str, *args: Any) -> None:
                return None

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._stopped.set()
        self._response_released.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
