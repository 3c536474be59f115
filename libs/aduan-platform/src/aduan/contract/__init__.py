"""The published contract at work: stored events to aduan.v1 envelopes, and the EventLog service and reader."""
