"""Aduan's shared platform.

`aduan.v1` holds the generated integration contract; the other modules are the event backbone
(store, outbox relay, JetStream consumer, EventLog) and the gRPC scaffold that every service uses.
"""

__version__ = "0.1.0"
