"""The verifier remembers tokens it verified (a gateway sends the same token on every call), but
never past their expiry and never for a token it did not verify."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, tzinfo

import jwt
import pytest

from aduan.core.errors import UnauthenticatedError
from aduan.service import auth
from aduan.service.auth import DevTokens, TokenVerifier

SECRET = "verified-tokens-test-secret-of-32-bytes!"


def test_a_remembered_token_still_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = DevTokens(SECRET).issue("gateway", sub="gw", ttl=timedelta(seconds=60))
    assert verifier.verify(token).sub == "gw"
    assert verifier.verify(token).sub == "gw"  # answered from memory
    later = time.time() + 60 + auth.LEEWAY_SECONDS + 1

    class Later(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Later:
            return cls.fromtimestamp(later, tz)

    monkeypatch.setattr(auth.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", Later)
    with pytest.raises(UnauthenticatedError):
        verifier.verify(token)


def test_only_the_verified_token_is_remembered() -> None:
    verifier = TokenVerifier(secret=SECRET)
    token = DevTokens(SECRET).issue("gateway", sub="gw")
    verifier.verify(token)
    header, payload, signature = token.split(".")
    forged = ".".join(
        [header, payload, signature[:-4] + ("AAAA" if signature[-4:] != "AAAA" else "BBBB")]
    )
    with pytest.raises(UnauthenticatedError):
        verifier.verify(forged)
    other = DevTokens("another-secret-of-at-least-32-bytes-long").issue("admin", sub="gw")
    with pytest.raises(UnauthenticatedError):
        verifier.verify(other)
