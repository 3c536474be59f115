from __future__ import annotations

import asyncio

from aduan.eventstore.leader import Leadership, leadership_for, lock_key


async def test_standalone_leadership_leads_and_lives_until_stopped() -> None:
    leadership = Leadership()
    task = asyncio.create_task(leadership.run())
    await asyncio.sleep(0.05)

    assert leadership.is_leader
    assert not task.done(), "a worker that returns is taken for a dead one"
    leadership.stop()
    await asyncio.wait_for(task, timeout=1)


def test_sqlite_stores_need_no_election_and_lock_keys_are_stable() -> None:
    assert type(leadership_for("sqlite:///var/intake.sqlite", "aduan:intake:relay")) is Leadership
    assert lock_key("aduan:intake:relay") == lock_key("aduan:intake:relay")
    assert lock_key("aduan:intake:relay") != lock_key("aduan:routing:relay")
