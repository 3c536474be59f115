"""Adapter: notification's stored events -> the published aduan.v1 payloads."""

from __future__ import annotations

from aduan.envelopes import EnvelopeTranslator

SERVICE = "notification"


def translator() -> EnvelopeTranslator:
    return EnvelopeTranslator(SERVICE, {})
