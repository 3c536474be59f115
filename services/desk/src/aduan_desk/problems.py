"""The one place where the services' gRPC answers become what the desk shows: an HTTP status
and a sentence from the catalogue. The desk decides nothing itself: a refusal is the service's
(docs/desk.md, "No authorisation of its own")."""

from __future__ import annotations

from dataclasses import dataclass

import grpc

# gRPC status -> HTTP status of the page that explains it.
HTTP_STATUS = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ABORTED: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
    grpc.StatusCode.UNAVAILABLE: 503,
}
# Codes whose service message is shown: it names the refused field, never stored data.
SHOW_DETAIL = frozenset({grpc.StatusCode.INVALID_ARGUMENT})


@dataclass(frozen=True)
class Problem:
    http_status: int
    # Catalogue key of the sentence shown.
    message: str
    detail: str = ""
    # Signing in again helps (the token expired or was refused).
    sign_in: bool = False


def problem_for(error: grpc.aio.AioRpcError) -> Problem:
    code = error.code()
    status = HTTP_STATUS.get(code, 502)
    key = f"error.{code.name}" if code in HTTP_STATUS else "error.INTERNAL"
    detail = (error.details() or "") if code in SHOW_DETAIL else ""
    return Problem(status, key, detail, sign_in=code is grpc.StatusCode.UNAUTHENTICATED)
