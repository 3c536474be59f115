"""The desk's web behaviour against a fake of the services: sign-in and its cookie, CSRF on
every POST, the Content-Security-Policy, the user's token on every call, the mapping of the
services' refusals to pages, and both languages."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import grpc
import pytest
from starlette.testclient import TestClient

from aduan.service.auth import TokenVerifier
from aduan.v1 import common_pb2, query_pb2
from aduan_desk.app import build_app
from aduan_desk.backend import timestamp
from aduan_desk.i18n import catalogue
from aduan_desk.settings import DeskSettings
from aduan_desk.web import CONTENT_SECURITY_POLICY
from aduan_devtools.testing.desk import NOW, FakeBackend, complaint, refusal

SECRET = "s" * 40
PACKAGE = Path(__file__).resolve().parents[1] / "src" / "aduan_desk"
HTMX_SHA256 = "22283ef68cb7545914f0a88a1bdedc7256a703d1d580c1d255217d0a50d31313"


def settings(**env: str) -> DeskSettings:
    return DeskSettings.from_env({"ADUAN_AUTH_DEV": "true", "ADUAN_JWT_SECRET": SECRET, **env})


@pytest.fixture
def backend() -> FakeBackend:
    return FakeBackend()


@pytest.fixture
def client(backend: FakeBackend) -> Iterator[TestClient]:
    with TestClient(build_app(settings(), backend, clock=lambda: NOW)) as test_client:
        yield test_client


def csrf_of(html: str) -> str:
    match = re.search(r'name="csrf" value="([^"]+)"', html)
    assert match, html
    return match[1]


def sign_in(client: TestClient, role: str = "officer", office: str = "KANTAH.32.73") -> str:
    csrf = csrf_of(client.get("/signin").text)
    answer = client.post(
        "/signin",
        data={"csrf": csrf, "role": role, "office": office, "name": "siti"},
        follow_redirects=False,
    )
    assert answer.status_code == 303, answer.text
    return csrf_of(client.get("/queue").text)


def test_pages_need_a_sign_in(client: TestClient) -> None:
    answer = client.get("/queue", follow_redirects=False)
    assert (answer.status_code, answer.headers["location"]) == (303, "/signin")


def test_development_sign_in_mints_the_token_aduan_token_does(
    client: TestClient, backend: FakeBackend
) -> None:
    page = client.get("/signin")
    assert "Development sign-in" in page.text
    sign_in(client)
    calls = [call for call in backend.calls if call[0] == "list"]
    principal = TokenVerifier(secret=SECRET).verify(calls[-1][1])
    assert (principal.sub, principal.roles, principal.office) == (
        "officer:siti",
        frozenset({"officer"}),
        "KANTAH.32.73",
    )
    # The queue is the user's office.
    assert calls[-1][2].filter.office_code == "KANTAH.32.73"


def test_the_session_cookie_is_signed_httponly_and_lax_and_secure_behind_https(
    backend: FakeBackend,
) -> None:
    for public_url, secure in (("http://127.0.0.1:8090", False), ("https://desk.example", True)):
        app = build_app(settings(ADUAN_DESK_PUBLIC_URL=public_url), backend, clock=lambda: NOW)
        with TestClient(app, base_url=public_url) as test_client:
            csrf = csrf_of(test_client.get("/signin").text)
            answer = test_client.post(
                "/signin",
                data={"csrf": csrf, "role": "auditor", "office": "", "name": ""},
                follow_redirects=False,
            )
            cookie = answer.headers["set-cookie"].lower()
            assert "httponly" in cookie
            assert "samesite=lax" in cookie
            assert ("secure" in cookie.split("; ")) is secure


def test_the_desk_refuses_to_start_without_a_sign_in_it_can_offer() -> None:
    with pytest.raises(ValueError, match="no sign-in configured"):
        DeskSettings.from_env({"ADUAN_DESK_SESSION_SECRET": "x" * 40})


def test_every_post_needs_the_csrf_token(client: TestClient, backend: FakeBackend) -> None:
    sign_in(client)
    before = len(backend.calls)
    for path in ("/cases/c-1/accept", "/cases/c-1/reassign", "/cases/c-1/reveal"):
        answer = client.post(path, data={"csrf": "forged", "expected_version": "3"})
        assert answer.status_code == 403
        assert catalogue("id")("error.csrf") in answer.text
    assert len(backend.calls) == before
    # Every POST form the pages render carries it.
    for page in ("/queue", "/cases/c-1"):
        html = client.get(page).text
        for form in re.findall(r"<form[^>]*method=\"post\".*?</form>", html, re.S):
            assert 'name="csrf"' in form, form


def test_an_action_passes_the_version_seen_and_the_users_token(
    client: TestClient, backend: FakeBackend
) -> None:
    csrf = sign_in(client)
    page = client.get("/cases/c-1").text
    assert 'name="expected_version" value="3"' in page
    answer = client.post(
        "/cases/c-1/accept", data={"csrf": csrf, "expected_version": "3"}, follow_redirects=False
    )
    assert (answer.status_code, answer.headers["location"]) == (303, "/cases/c-1")
    kind, token, request = backend.calls[-1]
    assert (kind, request.complaint_id, request.expected_version) == ("accept", "c-1", 3)
    assert token == backend.calls[0][1]
    # The next read waits for the write (read-your-writes) and says it was recorded.
    page = client.get("/cases/c-1").text
    assert catalogue("id")("action.done") in page
    get = next(call for call in reversed(backend.calls) if call[0] == "get")
    assert get[2][2] == (("routing", 42),)


@pytest.mark.parametrize(
    ("code", "status", "key"),
    [
        (grpc.StatusCode.PERMISSION_DENIED, 403, "error.PERMISSION_DENIED"),
        (grpc.StatusCode.NOT_FOUND, 404, "error.NOT_FOUND"),
        (grpc.StatusCode.ABORTED, 409, "error.ABORTED"),
        (grpc.StatusCode.FAILED_PRECONDITION, 409, "error.FAILED_PRECONDITION"),
        (grpc.StatusCode.UNAVAILABLE, 503, "error.UNAVAILABLE"),
        (grpc.StatusCode.INTERNAL, 502, "error.INTERNAL"),
    ],
)
def test_refusals_become_pages(
    client: TestClient, backend: FakeBackend, code: grpc.StatusCode, status: int, key: str
) -> None:
    csrf = sign_in(client)
    backend.refuse["accept"] = refusal(code, "internal detail")
    answer = client.post("/cases/c-1/accept", data={"csrf": csrf, "expected_version": "3"})
    assert answer.status_code == status
    assert catalogue("id")(key) in answer.text
    assert "internal detail" not in answer.text
    assert 'href="/cases/c-1"' in answer.text
    backend.refuse.clear()
    backend.refuse["get"] = refusal(code)
    assert client.get("/cases/c-1").status_code == status


def test_the_conflict_is_said_plainly_in_english_too(
    client: TestClient, backend: FakeBackend
) -> None:
    csrf = sign_in(client)
    client.post("/language", data={"csrf": csrf, "lang": "en", "next": "/queue"})
    backend.refuse["accept"] = refusal(grpc.StatusCode.ABORTED)
    answer = client.post("/cases/c-1/accept", data={"csrf": csrf, "expected_version": "2"})
    assert "Someone else acted on this case first; reload to see the latest." in answer.text
    assert '<html lang="en">' in answer.text


def test_an_expired_token_asks_to_sign_in_again(client: TestClient, backend: FakeBackend) -> None:
    sign_in(client)
    backend.refuse["list"] = refusal(grpc.StatusCode.UNAUTHENTICATED)
    assert client.get("/queue").status_code == 401
    assert client.get("/queue", follow_redirects=False).status_code == 303


def test_every_answer_carries_the_content_security_policy(client: TestClient) -> None:
    sign_in(client)
    for path in ("/signin", "/queue", "/cases/c-1", "/static/desk.css", "/nowhere", "/healthz"):
        headers = client.get(path).headers
        assert headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert headers["x-content-type-options"] == "nosniff"
    assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    assert "script-src 'self'" in CONTENT_SECURITY_POLICY


def test_templates_have_no_inline_script_or_style() -> None:
    for template in (PACKAGE / "templates").glob("*.html"):
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\bsrc=)", text), template
        assert not re.search(r"\son[a-z]+=", text), template
        assert " style=" not in text, template
        assert "<style" not in text, template


def test_the_vendored_htmx_is_the_recorded_release() -> None:
    digest = hashlib.sha256((PACKAGE / "static" / "htmx-2.0.8.min.js").read_bytes()).hexdigest()
    assert digest == HTMX_SHA256
    assert HTMX_SHA256 in (PACKAGE / "static" / "NOTICE.md").read_text()


def test_both_catalogues_hold_every_word_the_templates_use() -> None:
    indonesian, english = catalogue("id"), catalogue("en")
    assert set(indonesian.words) == set(english.words)
    used = set()
    for template in (PACKAGE / "templates").glob("*.html"):
        used |= set(re.findall(r"""\bt\(["']([a-z_]+\.[A-Za-z_]+)["']\)""", template.read_text()))
    assert used
    assert used <= set(indonesian.words), used - set(indonesian.words)


def test_the_queue_is_overdue_first_and_in_indonesian(
    client: TestClient, backend: FakeBackend
) -> None:
    backend.complaints = [complaint("c-1"), complaint("c-2", overdue=True)]
    sign_in(client)
    html = client.get("/queue").text
    assert html.index('data-complaint="c-2"') < html.index('data-complaint="c-1"')
    assert "Lewat tenggat" in html
    assert "Ditugaskan" in html
    assert '<html lang="id">' in html


def test_the_office_picker_offers_the_registry_targets(client: TestClient) -> None:
    sign_in(client)
    escalate = client.get(
        "/cases/c-1/targets", params={"kind": "ESCALATE", "holder": "KANTAH.32.73"}
    )
    assert re.findall(r'value="([^"]+)"', escalate.text) == ["PUSAT.IP3", "KANWIL.32"]
    delegate = client.get("/cases/c-1/targets", params={"kind": "DELEGATE", "holder": "KANWIL.32"})
    codes = re.findall(r'value="([^"]+)"', delegate.text)
    assert "KANTAH.32.04" in codes
    assert all(code.startswith("KANTAH.32.") for code in codes)


def test_the_queue_stream_sends_changes_without_their_content(
    client: TestClient, backend: FakeBackend
) -> None:
    sign_in(client)
    with client.stream("GET", "/queue/events") as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        body = "".join(stream.iter_text())
    assert "event: change\ndata: c-1\n\n" in body
    assert "Sertifikat" not in body
    watch = next(call for call in backend.calls if call[0] == "watch")
    assert watch[2].filter.office_code == "KANTAH.32.73"


def test_time_travel_reads_the_picker_in_the_desks_zone(
    client: TestClient, backend: FakeBackend
) -> None:
    sign_in(client)
    page = client.get("/cases/c-1", params={"as_of": "2026-03-02T09:30:15"})
    assert page.status_code == 200
    get = next(call for call in reversed(backend.calls) if call[0] == "get")
    assert get[2][1].isoformat() == "2026-03-02T02:30:15+00:00"
    assert "Keadaan per" in page.text
    assert "/accept" not in page.text
    assert client.get("/cases/c-1", params={"as_of": "yesterday"}).status_code == 400


def test_the_case_page_shows_the_conversation_with_its_attachments_as_of_a_moment(
    client: TestClient, backend: FakeBackend
) -> None:
    """The reporter's turns (the filing's words, a later message with a photo) and the office's
    answer, in order; time travel shows only what had been said by then."""

    def entry(event_type: str, minutes: int, **fields: object) -> query_pb2.AuditEntry:
        return query_pb2.AuditEntry(
            event_type=event_type, occurred_at=timestamp(NOW + timedelta(minutes=minutes)), **fields
        )

    photo = common_pb2.Attachment(
        uri="media/wa-77", media_type="image/jpeg", sha256="cd" * 32, caption="foto patok"
    )
    backend.trail = [
        entry("ComplaintFiled", 0),
        entry("CaseRouted", 1, to_office=common_pb2.OfficeRef(code="KANTAH.32.73")),
        entry("ReporterMessageAdded", 30, note="Patok batas digeser", attachments=[photo]),
        entry(
            "ReporterAnswered",
            90,
            note="Petugas ukur datang Senin",
            from_office=common_pb2.OfficeRef(code="KANTAH.32.73"),
        ),
    ]
    sign_in(client)
    page = client.get("/cases/c-1").text
    talk = page[page.index('data-testid="conversation"') :]
    talk = talk[: talk.index("</ol>")]
    said = [
        "Sertifikat saya belum terbit. NIK [NIK]",
        "Patok batas digeser",
        "foto patok",
        "image/jpeg",
        "media/wa-77",
        "Petugas ukur datang Senin",
    ]
    positions = [talk.index(words) for words in said]
    assert positions == sorted(positions)
    assert talk.count('data-side="reporter"') == 2
    assert talk.count('data-side="office"') == 1
    assert "Dijawab oleh · KANTAH.32.73" in talk
    # NOW + 45 minutes, read in Asia/Jakarta (UTC+7).
    earlier = client.get("/cases/c-1", params={"as_of": "2026-03-02T10:45"}).text
    assert "Patok batas digeser" in earlier
    assert "Petugas ukur datang Senin" not in earlier
