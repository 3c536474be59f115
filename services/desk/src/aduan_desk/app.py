"""The desk's pages (docs/desk.md): sign-in (OpenID Connect in `oidc.py`, development), the
queue with its live updates, the case page with its actions and time travel, health. Every page
asks the services with the signed-in user's token; whatever they refuse, the desk shows
(problems.py), and it decides nothing of its own about who may see or do what."""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import grpc
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import (
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from aduan.core.telemetry import meter
from aduan.reference.offices import OfficeRegistry, default_registry
from aduan.service.auth import DevTokens
from aduan.v1 import common_pb2, intake_pb2, query_pb2, routing_pb2
from aduan_desk import audit, supervision, views
from aduan_desk.backend import COMMANDS, Backend, consistency
from aduan_desk.backend import timestamp as backend_timestamp
from aduan_desk.i18n import catalogue
from aduan_desk.oidc import NEXT_KEY, OidcSignIn, SignInError
from aduan_desk.problems import Problem, problem_for
from aduan_desk.settings import LANGUAGES, DeskSettings
from aduan_desk.tracing import RequestSpans
from aduan_desk.web import (
    SecurityHeaders,
    content_security_policy,
    csrf_ok,
    csrf_token,
    local_path,
)

log = logging.getLogger("aduan.desk")

DEV_ROLES = ("officer", "supervisor", "auditor")
USER_NAME = re.compile(r"[a-z0-9._-]{1,40}")
TOKEN_TTL = timedelta(hours=8)
# The event stream sends a comment this often, so proxies keep an idle stream open.
KEEPALIVE_SECONDS = 15.0
QUEUE_PAGE = 50
SESSION_COOKIE = "aduan_desk"

Handler = Callable[[Request], Awaitable[Response]]


def package_dir(name: str) -> str:
    return str(resources.files("aduan_desk").joinpath(name))


def build_app(
    settings: DeskSettings,
    backend: Backend,
    registry: OfficeRegistry | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    oidc: OidcSignIn | None = None,
) -> Starlette:
    """`oidc`: the OpenID Connect sign-in (built from the settings when they configure it)."""
    registry = registry or default_registry()
    if oidc is None and settings.oidc.enabled:
        oidc = OidcSignIn(settings)
    tokens = DevTokens(
        settings.auth.jwt_secret, issuer=settings.auth.issuer, audience=settings.auth.audience
    )
    env = Environment(
        loader=FileSystemLoader(package_dir("templates")),
        autoescape=select_autoescape(default=True),
        undefined=StrictUndefined,
    )
    templates = Jinja2Templates(env=env)
    requests_counter = meter().create_counter(
        "aduan_desk_pages", description="Pages the desk answered, by page and HTTP status"
    )

    def language(request: Request) -> str:
        chosen = request.session.get("lang")
        return chosen if chosen in LANGUAGES else settings.language

    def render(
        request: Request, template: str, status_code: int = 200, **context: Any
    ) -> HTMLResponse:
        words = catalogue(language(request))
        response: HTMLResponse = templates.TemplateResponse(
            request,
            template,
            {
                "t": words,
                "lang": words.language,
                "languages": LANGUAGES,
                "fmt": views.Formatter(settings.zone, words),
                "csrf": csrf_token(request),
                "user": request.session.get("user"),
                "flash": request.session.pop("flash", ""),
                **context,
            },
            status_code=status_code,
        )
        return response

    def signin_url(next_path: str) -> str:
        target = local_path(next_path)
        return "/signin" if target == "/queue" else "/signin?" + urlencode({"next": target})

    def problem_page(request: Request, problem: Problem, back: str = "") -> HTMLResponse:
        signin_again = ""
        if problem.sign_in:
            request.session.pop("user", None)
            here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
            signin_again = signin_url(here if request.method == "GET" else case_path(here))
        return render(
            request,
            "error.html",
            problem.http_status,
            problem=problem,
            back=back or "/queue",
            signin_again=signin_again,
        )

    def signed_in(handler: Handler) -> Handler:
        """Pages for a signed-in user: others go to the sign-in page. A refusal by a service
        becomes its page (problems.py)."""

        async def wrapper(request: Request) -> Response:
            if not request.session.get("user"):
                # Back to the page asked for after signing in (a GET page: not a form's POST,
                # nor the fragments and the event stream a page loads).
                asked = request.url.path + (f"?{request.url.query}" if request.url.query else "")
                page = (
                    request.method == "GET"
                    and "HX-Request" not in request.headers
                    and "text/event-stream" not in request.headers.get("accept", "")
                )
                return RedirectResponse(signin_url(asked if page else ""), status_code=303)
            user = request.session["user"]
            if oidc is not None and oidc.due_for_refresh(user, clock().timestamp()):
                renewed = await oidc.refresh(user)
                if renewed is not None:
                    request.session["user"] = renewed
            try:
                response = await handler(request)
            except grpc.aio.AioRpcError as error:
                back = request.url.path if request.method == "POST" else ""
                response = problem_page(request, problem_for(error), back=case_path(back))
            requests_counter.add(1, {"page": handler.__name__, "status": str(response.status_code)})
            return response

        wrapper.__name__ = handler.__name__
        return wrapper

    def token(request: Request) -> str:
        return str(request.session["user"]["token"])

    def take_after(request: Request) -> list[tuple[str, int]]:
        """The positions of the user's own last write, once: the next read waits for them."""
        after = request.session.pop("after", None) or []
        return [(str(s), int(p)) for s, p in after]

    # -- sign-in ------------------------------------------------------------------------------

    def signin_page(request: Request, status_code: int = 200, **context: Any) -> HTMLResponse:
        return render(
            request,
            "signin.html",
            status_code,
            roles=DEV_ROLES,
            dev=settings.dev_sign_in,
            oidc=oidc is not None,
            next=local_path(request.query_params.get("next", "")),
            **{"error": "", "detail": "", **context},
        )

    async def signin(request: Request) -> Response:
        if request.method == "GET":
            return signin_page(request)
        if not settings.dev_sign_in:
            return problem_page(request, Problem(404, "error.not_found_page"))
        form = await request.form()
        if not csrf_ok(request, form):
            return problem_page(request, Problem(403, "error.csrf"), back="/signin")
        role = str(form.get("role", ""))
        office = str(form.get("office", "")).strip().upper()
        name = str(form.get("name", "")).strip()
        valid = (
            role in DEV_ROLES
            and (office in registry if role != "auditor" else office in ("", *registry.offices))
            and (not name or USER_NAME.fullmatch(name) is not None)
        )
        if not valid:
            return signin_page(request, 400, error="signin.invalid")
        subject = f"{role}:{name}" if name else ""
        user_token = tokens.issue(role, office, subject, TOKEN_TTL)
        request.session.clear()
        request.session["user"] = {
            "token": user_token,
            "role": role,
            "office": office,
            "sub": subject or f"dev:{role}" + (f"@{office}" if office else ""),
        }
        return RedirectResponse(local_path(str(form.get("next", ""))), status_code=303)

    async def signin_oidc(request: Request) -> Response:
        """Off to the identity provider (a link, so no form posts anywhere)."""
        if oidc is None:
            return problem_page(request, Problem(404, "error.not_found_page"))
        try:
            return await oidc.start(request, local_path(request.query_params.get("next", "")))
        except SignInError as error:
            return signin_page(request, 502, error=error.message, detail=error.detail)

    async def signin_callback(request: Request) -> Response:
        """Back from the identity provider with a code (or its refusal)."""
        if oidc is None:
            return problem_page(request, Problem(404, "error.not_found_page"))
        next_path = local_path(str(request.session.pop(NEXT_KEY, "") or ""))
        try:
            user = await oidc.finish(request)
        except SignInError as error:
            status = 502 if error.message == "signin.idp_unreachable" else 401
            return signin_page(request, status, error=error.message, detail=error.detail)
        language_chosen = request.session.get("lang")
        request.session.clear()
        if language_chosen:
            request.session["lang"] = language_chosen
        request.session["user"] = user
        return RedirectResponse(next_path, status_code=303)

    async def signout(request: Request) -> Response:
        form = await request.form()
        if not csrf_ok(request, form):
            return RedirectResponse("/signin", status_code=303)
        user = request.session.get("user") or {}
        request.session.clear()
        if oidc is not None and user.get("via") == "oidc":
            end_session = await oidc.end_session_url()
            if end_session:
                return RedirectResponse(end_session, status_code=303)
        return RedirectResponse("/signin", status_code=303)

    async def choose_language(request: Request) -> Response:
        form = await request.form()
        if csrf_ok(request, form) and form.get("lang") in LANGUAGES:
            request.session["lang"] = str(form["lang"])
        return RedirectResponse(local_path(str(form.get("next", ""))), status_code=303)

    # -- the queue -----------------------------------------------------------------------------

    def queue_filter(request: Request) -> tuple[query_pb2.ComplaintFilter, dict[str, Any]]:
        user = request.session["user"]
        params = request.query_params
        chosen = {
            "office": params.get("office", user["office"]).strip().upper(),
            "descendants": params.get("descendants", "1" if user["role"] == "supervisor" else "")
            == "1",
            "status": params.get("status", ""),
            "category": params.get("category", ""),
            "overdue": params.get("overdue", "") == "1",
            "text": params.get("text", "").strip(),
            "as_of": params.get("as_of", "").strip(),
        }
        flt = query_pb2.ComplaintFilter(
            office_code=chosen["office"],
            include_descendants=chosen["descendants"],
            overdue_only=chosen["overdue"],
            text=chosen["text"],
        )
        if chosen["status"]:
            flt.statuses.append(
                views.enum_value(common_pb2.ComplaintStatus, "COMPLAINT_STATUS_", chosen["status"])
            )
        if chosen["category"]:
            flt.categories.append(
                views.enum_value(common_pb2.Category, "CATEGORY_", chosen["category"])
            )
        return flt, chosen

    async def queue_context(request: Request) -> dict[str, Any]:
        flt, chosen = queue_filter(request)
        list_request = query_pb2.ListComplaintsRequest(
            filter=flt,
            page=common_pb2.PageRequest(
                page_size=QUEUE_PAGE, page_token=request.query_params.get("page", "")
            ),
            consistency=consistency(take_after(request)),
        )
        # The queue as of a moment (query's as_of; the auditor's page links here).
        as_of = parse_as_of(chosen["as_of"]) if chosen["as_of"] else None
        if as_of is not None:
            list_request.as_of.CopyFrom(backend_timestamp(as_of))
        response = await backend.list_complaints(token(request), list_request)
        return {
            "as_of": as_of,
            "rows": views.queue_rows(response.complaints, as_of or clock()),
            "next_page": response.page.next_page_token,
            "chosen": chosen,
            "query": request.url.query,
        }

    @signed_in
    async def queue(request: Request) -> Response:
        raw_as_of = request.query_params.get("as_of", "").strip()
        if raw_as_of and parse_as_of(raw_as_of) is None:
            return problem_page(request, Problem(400, "error.bad_time"))
        context = await queue_context(request)
        return render(
            request,
            "queue.html",
            statuses=views.STATUSES,
            categories=views.CATEGORIES,
            **context,
        )

    @signed_in
    async def queue_rows(request: Request) -> Response:
        return render(request, "_rows.html", **(await queue_context(request)))

    @signed_in
    async def queue_events(request: Request) -> Response:
        """Server-sent events: one `change` (the complaint id only) whenever the service's watch
        of this queue, with the user's token, reports a change; the page then reloads its
        rows. A refused watch ends the stream with an `error` event."""
        flt, _ = queue_filter(request)
        user_token = token(request)

        async def stream() -> AsyncIterator[str]:
            changes = backend.watch_complaints(
                user_token, query_pb2.WatchComplaintsRequest(filter=flt, include_initial=False)
            )
            yield ": watching\n\n"
            iterator = changes.__aiter__()
            pending: asyncio.Task[query_pb2.ComplaintChange] | None = None
            try:
                while True:
                    if pending is None:
                        pending = asyncio.ensure_future(iterator.__anext__())
                    done, _ = await asyncio.wait({pending}, timeout=KEEPALIVE_SECONDS)
                    if not done:
                        yield ": keep-alive\n\n"
                        continue
                    try:
                        change = pending.result()
                    except StopAsyncIteration:
                        return
                    except grpc.aio.AioRpcError as error:
                        yield f"event: error\ndata: {error.code().name}\n\n"
                        return
                    finally:
                        pending = None
                    yield f"event: change\ndata: {change.complaint.complaint_id}\n\n"
            finally:
                if pending is not None:
                    pending.cancel()
                await changes.aclose()  # type: ignore[attr-defined]

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"x-accel-buffering": "no"},
        )

    # -- the case ------------------------------------------------------------------------------

    def parse_as_of(raw: str) -> datetime | None:
        """A date-time picker's value (`2026-03-01T09:30`), in the desk's zone."""
        try:
            local = datetime.fromisoformat(raw)
        except ValueError:
            return None
        if local.tzinfo is None:
            local = local.replace(tzinfo=settings.zone)
        return local.astimezone(UTC)

    @signed_in
    async def case(request: Request) -> Response:
        complaint_id = request.path_params["complaint_id"]
        raw_as_of = request.query_params.get("as_of", "").strip()
        as_of = parse_as_of(raw_as_of) if raw_as_of else None
        if raw_as_of and as_of is None:
            return problem_page(request, Problem(400, "error.bad_time"))
        after = take_after(request)
        user_token = token(request)
        view = await backend.get_complaint(user_token, complaint_id, as_of, after)
        entries = await backend.audit_trail(user_token, view.complaint_id, after)
        # The case's version (for expected_version) is routing's; only the present has one.
        state = None if as_of else await backend.get_case(user_token, view.complaint_id)
        row = views.complaint_row(view, as_of or clock())
        trail = views.trail_rows(entries, as_of)
        first_kind = views.OFFICER_KINDS[0]
        return render(
            request,
            "case.html",
            case=row,
            as_of=as_of,
            as_of_value=(
                as_of.astimezone(settings.zone).strftime("%Y-%m-%dT%H:%M") if as_of else ""
            ),
            version=state.version if state is not None else 0,
            trail=trail,
            conversation=views.conversation_rows(entries, row.description, as_of),
            custody=views.custody_rows(trail),
            kinds=views.OFFICER_KINDS,
            reasons=views.OFFICER_REASONS,
            purposes=views.REVEAL_PURPOSES,
            targets=views.reassignment_targets(registry, first_kind, row.holder),
        )

    @signed_in
    async def targets(request: Request) -> Response:
        """The office picker's options for a reassignment kind (htmx swaps them in)."""
        kind = request.query_params.get("kind", "")
        holder = request.query_params.get("holder", "")
        offices = views.reassignment_targets(registry, kind, holder)
        return render(request, "_targets.html", targets=offices)

    def command_request(name: str, complaint_id: str, version: int, form: Any) -> Any:
        def text(field: str) -> str:
            return str(form.get(field, ""))

        if name == "accept":
            return routing_pb2.AcceptCaseRequest(
                complaint_id=complaint_id, expected_version=version
            )
        if name == "respond":
            return routing_pb2.RespondToReporterRequest(
                complaint_id=complaint_id, text=text("text"), expected_version=version
            )
        if name == "reassign":
            return routing_pb2.ReassignCaseRequest(
                complaint_id=complaint_id,
                kind=views.enum_value(
                    common_pb2.ReassignmentKind, "REASSIGNMENT_KIND_", text("kind")
                ),
                to_office_code=text("to_office"),
                reason_code=views.enum_value(
                    common_pb2.ReasonCode, "REASON_CODE_", text("reason_code")
                ),
                note=text("note"),
                expected_version=version,
            )
        if name == "resolve":
            return routing_pb2.ResolveCaseRequest(
                complaint_id=complaint_id, summary=text("summary"), expected_version=version
            )
        message = {"reopen": routing_pb2.ReopenCaseRequest, "close": routing_pb2.CloseCaseRequest}
        return message[name](
            complaint_id=complaint_id, reason=text("reason"), expected_version=version
        )

    @signed_in
    async def act(request: Request) -> Response:
        complaint_id = request.path_params["complaint_id"]
        name = request.path_params["action"]
        if name not in COMMANDS:
            return problem_page(request, Problem(404, "error.not_found_page"))
        form = await request.form()
        if not csrf_ok(request, form):
            return problem_page(request, Problem(403, "error.csrf"), back=f"/cases/{complaint_id}")
        raw_version = str(form.get("expected_version", "0"))
        version = int(raw_version) if raw_version.isdigit() else 0
        response = await backend.command(
            token(request), name, command_request(name, complaint_id, version, form)
        )
        request.session["after"] = [[response.position.service, response.position.position]]
        request.session["flash"] = "action.done"
        # A reassigned case may have left the user's offices: back to their queue.
        target = "/queue" if name == "reassign" else f"/cases/{complaint_id}"
        return RedirectResponse(target, status_code=303)

    @signed_in
    async def reveal(request: Request) -> Response:
        complaint_id = request.path_params["complaint_id"]
        form = await request.form()
        if not csrf_ok(request, form):
            return problem_page(request, Problem(403, "error.csrf"), back=f"/cases/{complaint_id}")
        contact = await backend.reveal_contact(
            token(request),
            intake_pb2.GetReporterContactRequest(
                complaint_id=complaint_id,
                purpose=str(form.get("purpose", "")),
                reveal_purpose=views.enum_value(
                    common_pb2.RevealPurpose, "REVEAL_PURPOSE_", str(form.get("reveal_purpose", ""))
                ),
            ),
        )
        return render(request, "reveal.html", complaint_id=complaint_id, contact=contact)

    # -- the supervisor's view and the auditor's page (supervision.py, audit.py) -------------

    @signed_in
    async def offices(request: Request) -> Response:
        """The office and the offices below it, as query's office KPIs answer the user's token
        (the office asked for: `?office=`, default the user's own; query decides if they may)."""
        user = request.session["user"]
        office = request.query_params.get("office", user["office"]).strip().upper()
        raw_weeks = request.query_params.get("weeks", "")
        weeks = int(raw_weeks) if raw_weeks.isdigit() else supervision.DEFAULT_WEEKS
        if weeks not in supervision.PERIOD_WEEKS:
            weeks = supervision.DEFAULT_WEEKS
        now = clock()
        periods = supervision.weeks(now, weeks)
        user_token = token(request)
        # The whole period and each week, asked at once; each as of its end (the desk's now for
        # the whole period), the moment the backlog is counted at.
        whole, *weekly = await asyncio.gather(
            backend.get_stats(
                user_token, supervision.stats_request(office, periods[0][0], now, now)
            ),
            *(
                backend.get_stats(user_token, supervision.stats_request(office, start, end, end))
                for start, end in periods
            ),
        )
        table = supervision.office_table(registry, office, supervision.by_office(whole))
        found = registry.get(office)
        parent = registry.parent(office)
        return render(
            request,
            "offices.html",
            office=office,
            office_name=found.name if found is not None else office,
            parent=parent.code if parent is not None and user["office"] != office else "",
            weeks=weeks,
            period_weeks=supervision.PERIOD_WEEKS,
            start=periods[0][0],
            end=now,
            table=table,
            tile_map=supervision.office_map(registry, office, table),
            trend=supervision.trend(registry, office, periods, weekly),
            tile_size=supervision.TILE,
        )

    @signed_in
    async def audit_page(request: Request) -> Response:
        complaint_id = request.query_params.get("complaint", "").strip()
        result = None
        view = None
        if complaint_id:
            view, result = await audit.verify_complaint(backend, token(request), complaint_id)
        return render(
            request,
            "audit.html",
            complaint_id=complaint_id,
            complaint=view,
            result=result,
            formats=audit.MEDIA_TYPES,
        )

    @signed_in
    async def audit_export(request: Request) -> Response:
        """A download of every complaint's events in a period (query's ListAuditEvents with the
        user's token, page by page), in the CLI's format."""
        params = request.query_params
        format_ = params.get("format", "jsonl")
        bounds = []
        for name in ("since", "until"):
            raw = params.get(name, "").strip()
            moment = parse_as_of(raw) if raw else None
            if raw and moment is None:
                return problem_page(request, Problem(400, "error.bad_time"), back="/audit")
            bounds.append(moment)
        since, until = bounds
        if format_ not in audit.MEDIA_TYPES:
            return problem_page(request, Problem(400, "error.bad_format"), back="/audit")
        lines = audit.export_stream(backend, token(request), registry, format_, since, until)
        # The first page before the answer starts: a refusal becomes its page, not a broken file.
        first = await lines.__anext__()

        async def body() -> AsyncIterator[bytes]:
            yield first.encode()
            async for line in lines:
                yield line.encode()

        name = audit.export_filename(format_, since, until)
        return StreamingResponse(
            body(),
            media_type=audit.MEDIA_TYPES[format_],
            headers={"content-disposition": f'attachment; filename="{name}"'},
        )

    # -- health --------------------------------------------------------------------------------

    async def healthz(request: Request) -> Response:
        return PlainTextResponse("ok")

    async def readyz(request: Request) -> Response:
        if await backend.ready():
            return PlainTextResponse("ok")
        return PlainTextResponse("not ready: query or routing does not answer", status_code=503)

    async def home(request: Request) -> Response:
        return RedirectResponse("/queue" if request.session.get("user") else "/signin", 303)

    async def not_found(request: Request, exc: Exception) -> Response:
        return problem_page(request, Problem(404, "error.not_found_page"))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await backend.start()
        try:
            yield
        finally:
            await backend.close()

    routes = [
        Route("/", home),
        Route("/signin", signin, methods=["GET", "POST"]),
        Route("/signin/oidc", signin_oidc),
        Route("/signin/callback", signin_callback),
        Route("/signout", signout, methods=["POST"]),
        Route("/language", choose_language, methods=["POST"]),
        Route("/queue", queue),
        Route("/queue/rows", queue_rows),
        Route("/queue/events", queue_events),
        Route("/cases/{complaint_id}", case),
        Route("/cases/{complaint_id}/targets", targets),
        Route("/cases/{complaint_id}/reveal", reveal, methods=["POST"]),
        Route(
            "/cases/{complaint_id}/{action:str}",
            act,
            methods=["POST"],
        ),
        Route("/offices", offices),
        Route("/audit", audit_page),
        Route("/audit/export", audit_export),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Mount("/static", StaticFiles(directory=package_dir("static")), name="static"),
    ]
    return Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestSpans),
            Middleware(
                SecurityHeaders,
                policy=(
                    (lambda: content_security_policy(oidc.form_origins))
                    if oidc is not None
                    else content_security_policy
                ),
            ),
            Middleware(
                SessionMiddleware,
                secret_key=settings.session_secret,
                session_cookie=SESSION_COOKIE,
                max_age=int(TOKEN_TTL.total_seconds()),
                same_site="lax",
                https_only=settings.secure_cookies,
            ),
        ],
        exception_handlers={404: not_found},
        lifespan=lifespan,
    )


def case_path(path: str) -> str:
    """The case page a failed action on `path` (/cases/<id>/<action>) goes back to."""
    parts = path.split("/")
    return "/".join(parts[:3]) if len(parts) > 3 and parts[1] == "cases" else ""
