"""The one place where domain errors become gRPC status codes.

A server interceptor wraps every handler: `AduanError`s map to their codes (with
`google.rpc.BadRequest` field violations for validation errors); `eventsourcing`'s optimistic
concurrency failures become ABORTED; anything unexpected is logged with its traceback and
returned as INTERNAL without internals.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import grpc
from eventsourcing.persistence import IntegrityError as StoreIntegrityError
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from aduan.core import errors
from aduan.service.rpchandlers import HandlerInterceptor, behaviour_of, responses_of, with_behaviour

log = logging.getLogger(__name__)

STATUS_BY_ERROR: list[tuple[type[Exception], grpc.StatusCode]] = [
    (errors.ValidationError, grpc.StatusCode.INVALID_ARGUMENT),
    (errors.NotFoundError, grpc.StatusCode.NOT_FOUND),
    (errors.AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (errors.InvalidStateError, grpc.StatusCode.FAILED_PRECONDITION),
    (errors.ConcurrencyConflictError, grpc.StatusCode.ABORTED),
    (errors.PermissionDeniedError, grpc.StatusCode.PERMISSION_DENIED),
    (errors.UnauthenticatedError, grpc.StatusCode.UNAUTHENTICATED),
    (errors.UnavailableError, grpc.StatusCode.UNAVAILABLE),
    (StoreIntegrityError, grpc.StatusCode.ABORTED),
    (TimeoutError, grpc.StatusCode.DEADLINE_EXCEEDED),
]


def status_for(error: Exception) -> tuple[grpc.StatusCode, str] | None:
    for error_type, code in STATUS_BY_ERROR:
        if isinstance(error, error_type):
            if isinstance(error, StoreIntegrityError):
                return code, "concurrent modification: the complaint changed meanwhile; retry"
            return code, str(error) or code.name.lower()
    return None


def _rich_status(error: errors.ValidationError) -> status_pb2.Status:
    detail = any_pb2.Any()
    detail.Pack(
        error_details_pb2.BadRequest(
            field_violations=[
                error_details_pb2.BadRequest.FieldViolation(
                    field=v.field, description=v.description
                )
                for v in error.violations
            ]
        )
    )
    return status_pb2.Status(code=code_pb2.INVALID_ARGUMENT, message=str(error), details=[detail])


async def abort_for(
    error: Exception, context: grpc.aio.ServicerContext[Any, Any], method: str
) -> None:
    if isinstance(error, errors.ValidationError):
        await context.abort_with_status(rpc_status.to_status(_rich_status(error)))
    mapped = status_for(error)
    if mapped is None:
        log.exception("unexpected error in %s", method, exc_info=error)
        await context.abort(grpc.StatusCode.INTERNAL, "internal error")
    else:
        await context.abort(mapped[0], mapped[1])


class ErrorMappingInterceptor(HandlerInterceptor):
    """Maps what any handler raises, whatever its kind (unary or streaming either way)."""

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        inner = behaviour_of(handler)
        if not handler.response_streaming:

            async def single(request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
                try:
                    return await inner(request, context)
                except grpc.aio.AbortError:
                    # context.abort() raised it: the status is set already.
                    raise
                except Exception as error:
                    await abort_for(error, context, method)

            return with_behaviour(handler, single)

        async def streamed(
            request: Any, context: grpc.aio.ServicerContext[Any, Any]
        ) -> AsyncIterator[Any]:
            try:
                async for item in responses_of(inner, request, context):
                    yield item
            except grpc.aio.AbortError:
                raise
            except Exception as error:
                await abort_for(error, context, method)

        return with_behaviour(handler, streamed)
