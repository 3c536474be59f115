"""Fuzzing intake's WhatsApp webhook over real HTTP (the `WebhookServer` worker on a free port,
in front of the intake application on SQLite).

Hypothesis sends any method to any path with any headers, content type, signature (missing,
wrong, right) and body (random bytes, random JSON, WhatsApp-shaped payloads with any part
replaced by something else, hostile JSON: lone surrogates, deep nesting, huge numbers). The
webhook must never answer 5xx, must keep serving (its /healthz and intake's gRPC), and must store
nothing unless it accepted the call (200). Correctly signed WhatsApp text messages must still be
filed or threaded onto the sender's open complaint.

Examples per test: `ADUAN_FUZZ_EXAMPLES` (25 by default); see test_rpc_fuzz.py for long runs.
"""

from __future__ import annotations

import http.client
import json
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from fuzz.calls import FUZZ
from fuzz.stack import WEBHOOK_SECRET, WEBHOOK_VERIFY, FuzzStack
from hypothesis import given
from hypothesis import strategies as st

from aduan_intake.webhook import PATH, signature_for

pytestmark = pytest.mark.integration

METHODS = ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS", "TRACE", "FOO"]
PATHS = [PATH, PATH, PATH, f"{PATH}/", "/healthz", "/", "/webhook", f"{PATH}?hub.mode=x", "/%00"]
CONTENT_TYPES = [
    "application/json",
    "application/json; charset=utf-8",
    "application/json; charset=latin-1",
    "text/plain",
    "application/x-www-form-urlencoded",
    "multipart/form-data; boundary=xyz",
    "application/octet-stream",
    "",
]
SENDERS = ["6281234567890", "6285712345678", "081298765432", "+6281311112222"]

json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The value, or (sometimes) anything else in its place."""
    return st.one_of(value, value, value, json_values)


@st.composite
def whatsapp_messages(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(
        st.sampled_from(
            ["text", "text", "image", "audio", "document", "sticker", "reaction", "location"]
        )
    )
    message: dict[str, Any] = {
        "from": draw(maybe(st.one_of(st.sampled_from(SENDERS), st.text(max_size=20)))),
        "id": draw(
            maybe(
                st.one_of(
                    st.builds(lambda: f"wamid.{uuid.uuid4().hex}"),
                    st.text(max_size=300),
                    st.just("x" * 5000),
                )
            )
        ),
        "timestamp": draw(maybe(st.just("1767225600"))),
        "type": draw(maybe(st.just(kind))),
    }
    if kind == "text":
        message["text"] = draw(maybe(st.fixed_dictionaries({"body": maybe(st.text())})))
    else:
        media = {
            "id": maybe(st.text(max_size=20)),
            "mime_type": maybe(st.sampled_from(["image/jpeg", "application/pdf; x=y", ""])),
            "sha256": maybe(st.text(max_size=70)),
            "caption": maybe(st.text()),
            "filename": maybe(st.text(max_size=40)),
        }
        message[kind] = draw(maybe(st.fixed_dictionaries({}, optional=media)))
    return message


@st.composite
def whatsapp_payloads(draw: st.DrawFn) -> Any:
    messages = draw(st.lists(whatsapp_messages(), max_size=3))
    contacts = [
        {"profile": {"name": draw(maybe(st.text(max_size=80)))}, "wa_id": m.get("from")}
        for m in messages
    ]
    value = {
        "messaging_product": "whatsapp",
        "contacts": draw(maybe(st.just(contacts))),
        "messages": draw(maybe(st.just(messages))),
    }
    change = {"field": "messages", "value": draw(maybe(st.just(value)))}
    entry = {"id": "WABA-1", "changes": draw(maybe(st.just([change])))}
    payload = {"object": "whatsapp_business_account", "entry": draw(maybe(st.just([entry])))}
    return draw(maybe(st.just(payload)))


HOSTILE_BODIES = [
    b"",
    b"{",
    b"null",
    b"[]",
    b'"entry"',
    b"[" * 100_000 + b"]" * 100_000,  # nesting deeper than any parser's recursion limit
    b'{"entry": ' + b"[" * 5_000 + b"]" * 5_000 + b"}",
    b'{"entry": [{"changes": [{"value": {"messages": [{"id": "\\ud800", "from": "6281234567890",'
    b' "type": "text", "text": {"body": "tolong \\udfff sertipikat saya"}}]}}]}]}',
    b'{"entry": [{"changes": [{"value": {"contacts": [{"wa_id": "6281234567890", "profile": '
    b'{"name": "\\udc00"}}], "messages": [{"id": "wamid.surrogate-name", "from": "6281234567890",'
    b' "type": "text", "text": {"body": "sertipikat tanah saya belum terbit"}}]}}]}]}',
    b'{"entry": [{"changes": [{"value": {"messages": [{"id": "wamid.nul\\u0000", "from": '
    b'"6281234567890", "type": "text", "text": {"body": "ada \\u0000 di sini"}}]}}]}]}',
    b'{"entry": 1e999999}',
    b'{"entry": [' + b"9" * 100_000 + b"]}",
    '{"entry": [], "x": "\xff"}'.encode("latin-1"),
    b"\xef\xbb\xbf{}",
    b"x" * (1024 * 1024 + 1),  # over the webhook's body limit
]


@dataclass
class HttpRequest:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:
        body = self.body if len(self.body) < 300 else self.body[:300] + b"..."
        return f"HttpRequest({self.method} {self.path} {self.headers} {body!r})"


@st.composite
def bodies(draw: st.DrawFn) -> bytes:
    choice = draw(st.integers(0, 4))
    if choice == 0:
        return bytes(draw(st.binary(max_size=200)))
    if choice == 1:
        return json.dumps(draw(json_values)).encode()
    if choice == 2:
        return bytes(draw(st.sampled_from(HOSTILE_BODIES)))
    return json.dumps(draw(whatsapp_payloads())).encode()


# Any header value an HTTP client can send (no line breaks; beyond Latin-1 as UTF-8 bytes).
header_text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=60
)


@st.composite
def requests(draw: st.DrawFn) -> HttpRequest:
    body = draw(bodies())
    headers: dict[str, str] = {}
    content_type = draw(st.one_of(st.sampled_from(CONTENT_TYPES), header_text))
    if content_type:
        headers["Content-Type"] = content_type
    signature = draw(st.sampled_from(["right", "right", "right", "wrong", "none", "garbage"]))
    if signature == "right":
        headers["X-Hub-Signature-256"] = signature_for(body, WEBHOOK_SECRET)
    elif signature == "wrong":
        headers["X-Hub-Signature-256"] = signature_for(body, "another secret")
    elif signature == "garbage":
        headers["X-Hub-Signature-256"] = draw(header_text)
    for name, value in draw(
        st.dictionaries(
            st.sampled_from(["X-Forwarded-For", "Content-Encoding", "Accept", "X-Extra"]),
            header_text,
            max_size=2,
        )
    ).items():
        headers[name] = value
    method = draw(st.sampled_from(["POST", "POST", "POST", *METHODS]))
    path = draw(st.sampled_from(PATHS))
    if method == "GET" and draw(st.booleans()):
        token = draw(st.sampled_from([WEBHOOK_VERIFY, "wrong", "", "%C3%A9", "%80%FF"]))
        challenge = draw(st.text(alphabet="0123456789abc", max_size=12))
        path = f"{PATH}?hub.mode=subscribe&hub.verify_token={token}&hub.challenge={challenge}"
    return HttpRequest(method, path, headers, body)


def send(stack: FuzzStack, request: HttpRequest) -> tuple[int, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", stack.webhook_port, timeout=30)
    try:
        headers = {
            k: v.encode("utf-8", "surrogateescape").decode("latin-1")
            for k, v in request.headers.items()
        }
        connection.request(request.method, request.path, body=request.body, headers=headers)
        response = connection.getresponse()
        return response.status, response.read()
    except (ConnectionError, http.client.HTTPException):
        # The server may close the connection on a body over its limit before reading it all.
        return 413, b""
    finally:
        connection.close()


def still_serving(stack: FuzzStack) -> None:
    assert send(stack, HttpRequest("GET", "/healthz", {}, b""))[0] == 200
    assert stack.serving("intake")
    stack.canary("intake")


def refused_every_message(request: HttpRequest, body: bytes) -> bool:
    """A 200 to a webhook POST whose messages were all ignored (an unknown ticket aside: that
    decision is recorded, so that a retry is answered alike)."""
    if request.method != "POST" or not request.path.startswith(PATH):
        return False
    results = json.loads(body).get("results", [])
    return all(r["action"] == "ignored" and r["detail"] != "unknown ticket" for r in results)


@pytest.mark.parametrize("body", HOSTILE_BODIES, ids=range(len(HOSTILE_BODIES)))
def test_hostile_signed_bodies_are_refused_or_stored_cleanly(
    fuzz_stack: FuzzStack, body: bytes
) -> None:
    headers = {
        "Content-Type": "application/json",
        "X-Hub-Signature-256": signature_for(body, WEBHOOK_SECRET),
    }
    request = HttpRequest("POST", PATH, headers, body)
    with fuzz_stack.lock:
        before = fuzz_stack.snapshot()
        status, reply = send(fuzz_stack, request)
        assert status < 500, reply
        if status != 200 or refused_every_message(request, reply):
            assert fuzz_stack.snapshot() == before
    still_serving(fuzz_stack)


def test_any_request_is_answered_without_a_server_error_and_refusals_store_nothing(
    fuzz_stack: FuzzStack,
) -> None:
    @FUZZ
    @given(request=requests())
    def check(request: HttpRequest) -> None:
        with fuzz_stack.lock:
            before, counts = fuzz_stack.snapshot(), fuzz_stack.table_counts()
            status, body = send(fuzz_stack, request)
            assert status < 500, f"{status} {body[:500]!r} for {request!r}"
            if status != 200 or refused_every_message(request, body):
                changed = {
                    t: (counts.get(t), n)
                    for t, n in fuzz_stack.table_counts().items()
                    if counts.get(t) != n
                }
                assert fuzz_stack.snapshot() == before, (
                    f"refused with {status} but stored something: {changed} for {request!r}"
                )
        still_serving(fuzz_stack)

    check()


def visible(text: str) -> bool:
    return any(unicodedata.category(c)[0] in "LNPS" for c in text)


@st.composite
def valid_deliveries(draw: st.DrawFn) -> tuple[bytes, int]:
    texts = draw(
        st.lists(
            # Any text with something visible in it (control characters and all).
            st.text(min_size=1, max_size=400).filter(visible),
            min_size=1,
            max_size=3,
        )
    )
    sender = draw(st.sampled_from(SENDERS[:2]))
    messages = [
        {
            "from": sender,
            "id": f"wamid.{uuid.uuid4().hex}",
            "timestamp": "1767225600",
            "type": "text",
            "text": {"body": text},
        }
        for text in texts
    ]
    payload = {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "WABA-1",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "contacts": [
                                {"profile": {"name": draw(st.text(max_size=60))}, "wa_id": sender}
                            ],
                            "messages": messages,
                        },
                    }
                ],
            }
        ],
    }
    return json.dumps(payload).encode(), len(messages)


def test_signed_text_messages_are_still_accepted(fuzz_stack: FuzzStack) -> None:
    @FUZZ
    @given(delivery=valid_deliveries())
    def check(delivery: tuple[bytes, int]) -> None:
        body, count = delivery
        request = HttpRequest(
            "POST",
            PATH,
            {
                "Content-Type": "application/json",
                "X-Hub-Signature-256": signature_for(body, WEBHOOK_SECRET),
            },
            body,
        )
        with fuzz_stack.lock:
            head = fuzz_stack.heads()["intake"]
            status, reply = send(fuzz_stack, request)
            assert status == 200, reply
            results = json.loads(reply)["results"]
            assert len(results) == count
            for result in results:
                # A text always has an effect: a complaint or a follow-up, a status request, a
                # rating, or an answer about no complaint (a greeting alone, STATUS alone, an
                # unknown ticket) — never ignored.
                assert result["action"] in {
                    "filed",
                    "follow_up",
                    "status_requested",
                    "rated",
                    "replied",
                }, result
            assert fuzz_stack.heads()["intake"] >= head + sum(
                r["action"] != "ignored" for r in results
            )

    check()
