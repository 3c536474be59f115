"""The desk: a web workplace over the services ' gRPC APIs (docs/desk.md)."""
