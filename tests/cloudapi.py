"""WhatsApp Cloud API webhook payloads as Meta sends them (the shapes of the webhook reference),
for the tests of every layer: intake's webhook, the e2e stack and the stand-in provider."""

from __future__ import annotations

import base64
import hashlib
import itertools
import json
import threading
import uuid
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


class CloudApiStandIn:
    """A stand-in WhatsApp Cloud API on loopback (real HTTP), for the e2e stack: it accepts
    `POST /<phone number id>/messages` as the Graph API does (answering a `wamid`), records every
    message, serves media (`GET /<media id>` metadata, then the bytes at the URL it gave), and can
    report statuses back to intake's webhook as Meta would."""

    def __init__(self, token: str = "stand-in-token") -> None:
        self.token = token
        self.messages: list[dict[str, Any]] = []
        self.media: dict[str, tuple[bytes, str]] = {}
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server: ThreadingHTTPServer | None = None

    @property
    def base_url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_media(self, media_id: str, content: bytes, mime_type: str = "image/jpeg") -> None:
        self.media[media_id] = (content, mime_type)

    def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for m in self.messages if m.get("to") == wa_id]

    def start(self) -> CloudApiStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def _answer(self, status: int, body: bytes, content_type: str) -> None:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _authorised(self) -> bool:
                if self.headers.get("Authorization") == f"Bearer {stand_in.token}":
                    return True
                self._answer(401, b'{"error":{"code":190}}', "application/json")
                return False

            def do_POST(self) -> None:
                if not self._authorised():
                    return
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))))
                with stand_in._lock:
                    wamid = f"wamid.STANDIN{next(stand_in._ids)}"
                    stand_in.messages.append({**body, "wamid": wamid})
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
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
