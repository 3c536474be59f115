"""A generic gRPC client that knows nothing of Aduan's generated code: it learns the services
from server reflection, as grpcurl or any government system's client would."""

from __future__ import annotations

from typing import Any

import grpc
from google.protobuf import descriptor_pool, json_format, message_factory
from grpc_reflection.v1alpha.proto_reflection_descriptor_database import (
    ProtoReflectionDescriptorDatabase,
)


class ReflectionClient:
    def __init__(self, channel: grpc.Channel) -> None:
        self.channel = channel
        self.database = ProtoReflectionDescriptorDatabase(channel)
        self.pool = descriptor_pool.DescriptorPool(self.database)

    def services(self) -> list[str]:
        return list(self.database.get_services())

    def call(
        self, full_method: str, request_json: dict[str, Any], timeout: float = 10
    ) -> dict[str, Any]:
        """Call "package.Service/Method" with a JSON request; returns the JSON response."""
        service_name, method_name = full_method.split("/")
        method = self.pool.FindServiceByName(service_name).FindMethodByName(method_name)
        request_class = message_factory.GetMessageClass(method.input_type)
        response_class = message_factory.GetMessageClass(method.output_type)
        request = json_format.ParseDict(request_json, request_class())
        invoke = self.channel.unary_unary(
            f"/{full_method}",
            request_serializer=lambda m: m.SerializeToString(),
            response_deserializer=response_class.FromString,
        )
        response = invoke(request, timeout=timeout)
        return dict(json_format.MessageToDict(response))
