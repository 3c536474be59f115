"""With replicas on PostgreSQL, exactly one relay instance publishes; when its session dies,
another takes over and nothing is lost or published by two at once."""

from __future__ import annotations

import pytest
from integration.workers import only_the_leaders_relay_publishes

pytestmark = [pytest.mark.integration, pytest.mark.postgres]


async def test_two_instances_never_both_publish(postgres_url: str) -> None:
    await only_the_leaders_relay_publishes(postgres_url, postgres_url, before=30, after=10)
