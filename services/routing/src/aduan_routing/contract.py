"""Adapter: routing's stored events -> the published aduan.v1 payloads."""

from __future__ import annotations

from aduan.envelopes import EnvelopeTranslator

SERVICE = "routing"


def translator() -> EnvelopeTranslator:
    return EnvelopeTranslator(SERVICE, {})
