"""Wrapping a grpc.aio method handler in a behaviour of the same kind.

Every server interceptor here (tracing, metrics, the start-up gate, auth, error mapping) replaces
a handler's behaviour with one that runs around it. grpc.aio decides how to drive a
response-streaming behaviour by what it is: an async generator function is iterated, a coroutine
function is awaited and sends its responses itself with `context.write` (grpc_health's `Watch`
does). A wrapper that iterates what it wraps therefore breaks the second kind; `responses_of`
serves both, so each interceptor wraps streams one way (docs/architecture.md, rule 7).
"""

from __future__ import annotations

import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

# A handler's behaviour: (request or request iterator, context) -> response, awaitable of a
# response, or responses (async or plain iterable; nothing when it writes them itself).
Behaviour = Callable[[Any, grpc.aio.ServicerContext[Any, Any]], Any]

_FACTORIES: dict[tuple[bool, bool], Callable[..., grpc.RpcMethodHandler]] = {
    (False, False): grpc.unary_unary_rpc_method_handler,
    (False, True): grpc.unary_stream_rpc_method_handler,
    (True, False): grpc.stream_unary_rpc_method_handler,
    (True, True): grpc.stream_stream_rpc_method_handler,
}


def kind_of(handler: grpc.RpcMethodHandler) -> tuple[bool, bool]:
    """(request streaming, response streaming)."""
    return bool(handler.request_streaming), bool(handler.response_streaming)


def behaviour_of(handler: grpc.RpcMethodHandler) -> Behaviour:
    behaviours: dict[tuple[bool, bool], Behaviour | None] = {
        (False, False): handler.unary_unary,
        (False, True): handler.unary_stream,
        (True, False): handler.stream_unary,
        (True, True): handler.stream_stream,
    }
    behaviour = behaviours[kind_of(handler)]
    if behaviour is None:
        raise ValueError(f"a {kind_of(handler)} handler without its behaviour")
    return behaviour


def with_behaviour(handler: grpc.RpcMethodHandler, behaviour: Behaviour) -> grpc.RpcMethodHandler:
    """A handler of the same kind and (de)serializers as `handler` that runs `behaviour`."""
    return _FACTORIES[kind_of(handler)](
        behaviour,
        request_deserializer=handler.request_deserializer,
        response_serializer=handler.response_serializer,
    )


async def responses_of(
    behaviour: Behaviour, request: Any, context: grpc.aio.ServicerContext[Any, Any]
) -> AsyncIterator[Any]:
    """The responses of a response-streaming behaviour, for a wrapper that is an async generator:
    those it yields, or none when it is a coroutine that writes them itself (grpc.aio lets an
    async generator handler's code call `context.write`, so those writes still reach the
    caller)."""
    outcome = behaviour(request, context)
    if inspect.isawaitable(outcome):
        await outcome
        return
    if hasattr(outcome, "__aiter__"):
        async for response in outcome:
            yield response
        return
    for response in outcome:
        yield response


class HandlerInterceptor(grpc.aio.ServerInterceptor):
    """A server interceptor that gives each call's handler to `wrap`, which returns the handler
    to run: a wrapper made with `with_behaviour`, or the same handler to leave the call alone."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:  # no such method: grpc answers UNIMPLEMENTED
            return handler
        return self.wrap(handler_call_details.method, handler)

    def wrap(self, method: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        raise NotImplementedError
