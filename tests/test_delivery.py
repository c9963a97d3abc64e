"""Nothing lost, nothing doubled: inbox de-duplication, crash recovery, outbox retries and order."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.app import build_app
from bot.config import Settings
from bot.domain import Address, Outbound, Role
from bot.errors import RetryLater, Undeliverable
from bot.store import Store
from bot.transports.memory import MemoryTransport
from tests.world import make_world, noor


@pytest.fixture
async def world(settings, store, clock):
    return await make_world(settings, store, clock)


async def test_a_redelivered_update_is_handled_once(world):
    await noor(world)
    event = world.net.event("u-sanne", "Twee keer ontvangen?")
    assert await world.app.accept(event) is True
    assert await world.app.accept(event) is False
    await world.app.drain()
    assert len(world.net.texts_to("u-tineke")) == 1


async def test_worker_crash_before_ack_is_recovered_without_doubles(world, settings, store, clock):
    await noor(world)
    event = world.net.event("u-sanne", "Half verwerkt")
    await world.app.accept(event)
    # Worker A reads the event and handles it (outbox written) but dies before acknowledging.
    [(entry_id, read)] = await store.inbox.read("worker-a")
    from handlers.core import handle

    out = await handle(read, world.app.ctx, world.app.router)
    await world.app.enqueue(out, f"in:{read.transport}:{read.event_id}")
    # Worker B reclaims the pending event and handles it again: the same outbox ids add nothing.
    b = await build_app(settings, store=store, transports=[world.net], clock=clock)
    b.consumer = "worker-b"
    reclaimed = await store.inbox.read("worker-b", reclaim_idle_ms=0)
    assert [e.event_id for _, e in reclaimed] == [event.event_id]
    for entry, ev in reclaimed:
        await b.enqueue(await handle(ev, b.ctx, b.router), f"in:{ev.transport}:{ev.event_id}")
        await store.inbox.ack(entry)
    await b.drain()
    assert len(world.net.texts_to("u-tineke")) == 1
    assert await store.inbox.read("worker-c", reclaim_idle_ms=0) == []
    assert entry_id == reclaimed[0][0]


async def test_retry_after_is_honoured_exactly_and_delivers_once(world, clock):
    await noor(world)
    world.net.failures.append(RetryLater(retry_after=3))
    await world.send("u-sanne", "Na een pauze")
    assert world.net.texts_to("u-tineke") == []
    clock.advance(seconds=2.9)
    await world.app.drain()
    assert world.net.texts_to("u-tineke") == []
    clock.advance(seconds=0.2)
    await world.app.drain()
    assert len(world.net.texts_to("u-tineke")) == 1
    await world.app.drain()
    assert len(world.net.texts_to("u-tineke")) == 1


async def test_network_errors_back_off_and_keep_chat_order(world, clock):
    await noor(world)
    world.net.failures.extend([RetryLater(), RetryLater()])
    for text in ("een", "twee", "drie"):
        await world.app.accept(world.net.event("u-sanne", text))
    await world.app.drain()
    for _ in range(10):
        clock.advance(seconds=5)
        await world.app.drain()
    received = [t.rsplit("\n", 1)[-1] for t in world.net.texts_to("u-tineke")]
    assert received == ["een", "twee", "drie"]


async def test_undeliverable_goes_to_the_dead_list_and_the_queue_moves_on(world, store):
    await noor(world)
    world.net.failures.append(Undeliverable("Forbidden: bot was blocked by the user"))
    await world.app.accept(world.net.event("u-sanne", "eerste"))
    await world.app.accept(world.net.event("u-sanne", "tweede"))
    await world.app.drain()
    assert [t.rsplit("\n", 1)[-1] for t in world.net.texts_to("u-tineke")] == ["tweede"]
    assert await store.outbox.dead_count() == 1
    assert await store.outbox.pending_count() == 0


async def test_restart_with_pending_outbox_delivers_everything_exactly_once(settings, store, clock):
    first = await make_world(settings, store, clock)
    await noor(first)
    first.net.failures.extend([RetryLater(retry_after=60)])
    for i in range(5):
        await first.app.accept(first.net.event("u-sanne", f"bericht {i}"))
    await first.app.drain()
    assert first.net.texts_to("u-tineke") == []
    assert await store.outbox.pending_count() == 5

    # "Restart": a new app and a new transport on the same Redis; the old ones are gone.
    fresh = MemoryTransport()
    second = await build_app(settings, store=store, transports=[fresh], clock=clock)
    clock.advance(seconds=61)
    await second.drain()
    got = [t.rsplit("\n", 1)[-1] for t in fresh.texts_to("u-tineke")]
    assert got == [f"bericht {i}" for i in range(5)]
    await second.drain()
    assert len(fresh.sent) == 5 and await store.outbox.pending_count() == 0


async def test_two_deliverers_racing_send_each_message_once(settings, store, clock):
    net = MemoryTransport()
    a = await build_app(settings, store=store, transports=[net], clock=clock)
    b = await build_app(settings, store=store, transports=[net], clock=clock)
    msgs = [Outbound(to=Address("memory", f"chat-{i % 7}"), text=f"m{i}") for i in range(70)]
    await a.enqueue(msgs, "race")
    await asyncio.gather(a.deliverer.deliver_due(), b.deliverer.deliver_due())
    await asyncio.gather(a.drain(), b.drain())
    texts = [m.text for _, m in net.sent]
    assert sorted(texts) == sorted(f"m{i}" for i in range(70))
    for chat in {m.to.chat_id for m in msgs}:
        order = [int(t[1:]) for t in net.texts_to(chat)]
        assert order == sorted(order)


async def test_bodies_and_names_are_encrypted_at_rest(world, store):
    await noor(world)
    world.net.failures.append(RetryLater(retry_after=60))  # keep a message sitting in the outbox
    await world.send("u-sanne", "de zitting is morgen om negen uur")
    secrets_in_clear = [b"zitting is morgen", b"Sanne", b"Tineke", b"Gezin Noor"]
    async for key in store.redis.scan_iter(match=f"{store.keys.prefix}:*"):
        kind = (await store.redis.type(key)).decode()
        if kind == "string":
            values = [await store.redis.get(key)]
        elif kind == "hash":
            values = list((await store.redis.hgetall(key)).values())
        elif kind == "stream":
            values = [v for _, fields in await store.redis.xrange(key) for v in fields.values()]
        else:
            values = []
        for value in values:
            for secret in secrets_in_clear:
                assert secret not in (value or b""), f"{secret!r} in clear under {key!r}"
    assert await store.outbox.pending_count() == 1


async def test_logs_carry_no_message_text_or_names(world, caplog):
    caplog.set_level(logging.DEBUG)
    await noor(world)
    world.net.failures.extend([RetryLater(), Undeliverable("blocked")])
    await world.send("u-sanne", "geheim verhaal over thuis")
    await world.send("u-stranger", "onbekend geheim")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    for secret in ("geheim", "Sanne", "Tineke", "Gezin Noor"):
        assert secret not in logged


async def test_embedded_default_persists_across_restart(tmp_path):
    settings = Settings(_env_file=None, redis_url=None, data_dir=tmp_path / "data")
    store = await Store.open(settings)
    fam = await store.directory.add_family("Gezin Noor")
    await store.directory.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    await store.close()
    again = await Store.open(settings)
    try:
        [family] = await again.directory.list_families()
        assert family.alias == "Gezin Noor"
        [person] = await again.directory.list_people()
        assert person.name == "Sanne"
    finally:
        await again.close()
    assert (tmp_path / "data" / "naast.key").stat().st_mode & 0o777 == 0o600


async def test_two_workers_share_one_inbox_and_handle_each_event_once(settings, store, clock):
    world = await make_world(settings, store, clock)
    await noor(world)
    other = await build_app(settings, store=store, transports=[world.net], clock=clock)
    assert other.consumer != world.app.consumer
    for i in range(40):
        await world.app.accept(world.net.event("u-sanne", f"bericht {i}"))
    await asyncio.gather(world.app.process_inbox(count=7), other.process_inbox(count=7))
    await asyncio.gather(world.app.drain(), other.drain())
    got = sorted(int(t.rsplit(" ", 1)[-1]) for t in world.net.texts_to("u-tineke"))
    assert got == list(range(40))
    assert world.app.handled > 0 and other.handled > 0
