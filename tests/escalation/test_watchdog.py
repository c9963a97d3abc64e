"""The watchdog: a step more than 60 s overdue is reported once (critical log, counter in Redis)."""

from __future__ import annotations

import logging

from escalation.watchdog import Watchdog
from tests.escalation.conftest import Org


async def test_an_overdue_step_is_reported_once(org: Org, clock, caplog) -> None:
    dog = Watchdog(org.es)
    await org.send("sanne", "ALARM")  # step 1 is due in 5 minutes; no ticker runs below
    [esc] = await org.es.recent()

    clock.advance(minutes=5, seconds=60)
    assert await dog.check(clock.now()) == []  # exactly 60 s late is still within grace
    with caplog.at_level(logging.CRITICAL):
        clock.advance(seconds=1)
        [late] = await dog.check(clock.now())
    assert (late.escalation, late.step, late.late_by.total_seconds()) == (esc.id, 1, 61.0)
    assert any("overdue" in r.message and esc.id in r.message for r in caplog.records)
    assert "ALARM" not in caplog.text
    assert await dog.overdue_count() == 1

    clock.advance(seconds=30)
    assert await dog.check(clock.now()) == []  # reported once per step, not every tick
    assert await dog.overdue_count() == 1

    await org.world.app.drain()  # the timers run again: the step fires, nothing is overdue
    assert len(org.texts("joost")) == 1
    clock.advance(minutes=6, seconds=1)
    [late] = await dog.check(clock.now())
    assert late.step == 2 and await dog.overdue_count() == 2


async def test_a_missing_timer_is_put_back(org: Org, clock, store) -> None:
    await org.send("sanne", "ALARM")
    await store.redis.delete(store.keys.esc_timers())  # lost, somehow
    clock.advance(minutes=7)
    assert len(await Watchdog(org.es).check(clock.now())) == 1
    await org.world.app.drain()
    assert len(org.texts("joost")) == 1


async def test_acknowledged_and_resolved_escalations_are_never_late(org: Org, clock) -> None:
    await org.send("sanne", "ALARM")
    await org.press("karin", org.buttons("karin")["Ik pak dit op"])
    clock.advance(hours=3)
    assert await Watchdog(org.es).check(clock.now()) == []


async def test_the_watchdog_runs_as_a_ticker(org: Org, clock) -> None:
    await org.send("sanne", "ALARM")
    await org.es.claim((await org.es.recent())[0].id, 1, clock.now().replace(year=2030), org.svc.timers.lease)
    clock.advance(minutes=6, seconds=5)
    await org.world.app.drain()  # step 1 is held by a lease far ahead (a stuck worker)
    assert await Watchdog(org.es).overdue_count() == 1
