"""NATS JetStream: connection, stream, outbox relay, tracked consumer, NATS TLS."""
