"""The gRPC service runtime: server, health, errors to status codes, auth, TLS, peers' EventLog clients, visibility, and the write services' backbone."""
