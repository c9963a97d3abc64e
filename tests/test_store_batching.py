"""The batched store calls on the relay's hot path give what the one-by-one calls give."""

from __future__ import annotations

from bot.domain import Address, Outbound, Role
from tests.world import make_world, noor


async def test_senders_in_one_trip_equal_sender_one_by_one(settings, store, clock):
    world = await make_world(settings, store, clock)
    await noor(world)
    lonely = await world.admin.add_family("Gezin Zonder")
    parent = await world.admin.add_person(Role.PARENT, "Ouder Z", family_id=lonely.id)
    await store.directory.link_identity(parent.id, "memory", "u-z", "u-z")
    coordinator = await world.admin.add_person(Role.COORDINATOR, "Coco")
    await store.directory.link_identity(coordinator.id, "memory", "u-c", "u-c")
    d = store.directory
    who = [
        (t, u, r)
        for u in ("u-sanne", "u-tineke", "u-nobody", "u-z", "u-c")
        for t in ("memory", "web")
        for r in (True, False)
    ]
    batch = await d.senders(who)
    assert batch == [await d.sender(t, u, with_route=r) for t, u, r in who]
    assert any(route and route[1] for _, route in batch)  # a parent with their maatje's route
    assert await d.senders([]) == []


async def test_enqueue_many_keeps_order_and_adds_nothing_twice(store):
    a, b = Address("memory", "chat-a"), Address("memory", "chat-b")
    batches = [
        ([Outbound(a, "a1"), Outbound(b, "b1")], "in:memory:1"),
        ([], "in:memory:2"),
        ([Outbound(a, "a2")], "in:memory:3"),
    ]
    assert await store.outbox.enqueue_many(batches, 1000) == 3
    assert await store.outbox.enqueue_many(batches, 2000) == 0  # the same event ids again: a no-op
    assert await store.outbox.enqueue_many([], 2000) == 0
    claimed = dict(await store.outbox.claim_heads(5000, 30_000))
    assert {q: p.msg.text for q, p in claimed.items() if p} == {
        store.keys.outbox_queue("memory", "chat-a"): "a1",
        store.keys.outbox_queue("memory", "chat-b"): "b1",
    }
    qa = store.keys.outbox_queue("memory", "chat-a")
    nxt = await store.outbox.finish(qa, claimed[qa].id, 6000)
    assert nxt is not None and nxt.msg.text == "a2" and nxt.id == "in:memory:3:0"
    assert await store.outbox.claim_heads(5000, 30_000) == []  # both queues are leased
    assert await store.outbox.pending_count() == 2
