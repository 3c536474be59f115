"""Aduan's developer tooling: the `aduan` command, the local stack, the embedded nats-server,
protobuf generation and the services' test support. The service images do not install it."""
