"""The event store: the eventsourcing application with its process recorder, hash chains, checkpoints, leadership and the tracking rule."""
