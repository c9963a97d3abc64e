"""The durable inbox (de-duplicated stream of inbound events) and outbox (per-chat FIFO queues).

Inbox: `accept` marks an event id as seen and appends it to a stream in one atomic step; workers
read the stream as a consumer group and acknowledge after handling, so a worker that dies mid-way
leaves the event pending, and another worker reclaims it.

Outbox: every message is written before any transport sees it. Each chat has its own list so
order is kept per chat; a sorted set holds, per queue, the time it may next be worked on. A
worker claims a due queue by pushing its time forward by a lease, atomically, so two workers never
send from the same queue at once and a crashed worker's queue returns when its lease runs out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import ResponseError

from bot.domain import Inbound, Outbound
from bot.store.codec import Codec
from bot.store.keys import Keys
from bot.store.serial import inbound_from_dict, inbound_to_dict, outbound_from_dict, outbound_to_dict

SEEN_TTL = timedelta(days=7)
GROUP = "workers"

_ACCEPT = """
if redis.call('SET', KEYS[1], '1', 'NX', 'EX', ARGV[1]) then
  return redis.call('XADD', KEYS[2], '*', 'e', ARGV[2])
end
return false
"""

_ENQUEUE = """
-- KEYS: ready, then per message: msg, queue. ARGV: now_ms, then per message: body, id.
-- All messages of one batch in one call (a redis-py pipeline of script calls costs an extra
-- SCRIPT EXISTS round trip). Each message is added only if its key is new; returns how many were.
local added = 0
for i = 2, #KEYS, 2 do
  local msg, queue = KEYS[i], KEYS[i + 1]
  if redis.call('EXISTS', msg) == 0 then
    redis.call('HSET', msg, 'body', ARGV[i], 'attempts', 0, 'queue', queue)
    redis.call('RPUSH', queue, ARGV[i + 1])
    redis.call('ZADD', KEYS[1], 'NX', ARGV[1], queue)
    added = added + 1
  end
end
return added
"""

_CLAIM = """
-- KEYS: ready. ARGV: now_ms, lease_until_ms, limit
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, q in ipairs(due) do redis.call('ZADD', KEYS[1], ARGV[2], q) end
return due
"""

_DONE = """
-- KEYS: queue, msg, ready, dead, thread. ARGV: id, queue key, next_ms, dead('1' or '0'),
-- message key prefix, family id, thread ttl (s). Removes a sent (or given-up) message, remembers
-- which family the sent message belongs to (when KEYS[5] is not ''), keeps or drops the queue in
-- the ready set, and returns the next message (id, body, attempts) so the worker needs no extra trip.
if redis.call('LINDEX', KEYS[1], 0) == ARGV[1] then redis.call('LPOP', KEYS[1]) end
if ARGV[4] == '1' then redis.call('RPUSH', KEYS[4], ARGV[1]) else redis.call('DEL', KEYS[2]) end
if KEYS[5] ~= '' then redis.call('SET', KEYS[5], ARGV[6], 'EX', ARGV[7]) end
local nxt = redis.call('LINDEX', KEYS[1], 0)
if not nxt then
  redis.call('ZREM', KEYS[3], ARGV[2])
  return false
end
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[2])
local m = redis.call('HMGET', ARGV[5] .. nxt, 'body', 'attempts')
return {nxt, m[1], m[2]}
"""


_HEAD = """
-- KEYS: queue, ready. ARGV: queue key, message key prefix. The first message of a queue with its
-- body and attempts; an empty queue leaves the ready set in the same step, so a message enqueued
-- in between is never stranded. (Message keys are built here: one Redis, not a cluster.)
local oid = redis.call('LINDEX', KEYS[1], 0)
if not oid then redis.call('ZREM', KEYS[2], ARGV[1]) return false end
local m = redis.call('HMGET', ARGV[2] .. oid, 'body', 'attempts')
return {oid, m[1], m[2]}
"""

_CLAIM_HEADS = """
-- KEYS: ready. ARGV: now_ms, lease_until_ms, limit, message key prefix. _CLAIM and then _HEAD for
-- every claimed queue, in one step (saves a round trip per queue): per due queue {queue} when it
-- was empty (it leaves the ready set, as in _HEAD), else {queue, id, body, attempts}.
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for i, q in ipairs(due) do
  redis.call('ZADD', KEYS[1], ARGV[2], q)
  local oid = redis.call('LINDEX', q, 0)
  if not oid then
    redis.call('ZREM', KEYS[1], q)
    out[i] = {q}
  else
    local m = redis.call('HMGET', ARGV[4] .. oid, 'body', 'attempts')
    out[i] = {q, oid, m[1], m[2]}
  end
end
return out
"""


def _s(v: bytes | str) -> str:
    return v.decode() if isinstance(v, bytes) else v


class Inbox:
    def __init__(self, redis: Redis, codec: Codec, keys: Keys) -> None:
        self.r, self.codec, self.k = redis, codec, keys
        self._accept = redis.register_script(_ACCEPT)

    async def accept(self, event: Inbound) -> bool:
        """Persist a new event; False when this event id was seen before (a redelivered update)."""
        added = await self._accept(
            keys=[self.k.seen(event.transport, event.event_id), self.k.inbox()],
            args=[int(SEEN_TTL.total_seconds()), self.codec.seal_json(inbound_to_dict(event))],
        )
        return bool(added)

    async def ensure_group(self) -> None:
        try:
            await self.r.xgroup_create(self.k.inbox(), GROUP, id="0", mkstream=True)
        except ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def read(
        self, consumer: str, count: int = 50, block_ms: int | None = None, reclaim_idle_ms: int | None = None
    ) -> list[tuple[str, Inbound]]:
        """New events for this consumer. With `reclaim_idle_ms`, first those another (dead) worker
        has left unacknowledged for that long."""
        entries: list = []
        if reclaim_idle_ms is not None:
            _, claimed, *_ = await self.r.xautoclaim(
                self.k.inbox(), GROUP, consumer, min_idle_time=reclaim_idle_ms, start_id="0-0", count=count
            )
            entries = [(i, f) for i, f in claimed if f]
        if not entries:
            resp = await self.r.xreadgroup(GROUP, consumer, {self.k.inbox(): ">"}, count=count, block=block_ms)
            entries = [e for _, batch in resp for e in batch] if resp else []
        return [(_s(i), inbound_from_dict(self.codec.open_json(f[b"e"]))) for i, f in entries]

    async def ack(self, *entry_ids: str) -> None:
        if not entry_ids:
            return
        async with self.r.pipeline(transaction=True) as p:
            p.xack(self.k.inbox(), GROUP, *entry_ids)
            p.xdel(self.k.inbox(), *entry_ids)
            await p.execute()

    async def backlog(self) -> int:
        return int(await self.r.xlen(self.k.inbox()))


@dataclass(frozen=True)
class Pending:
    id: str
    queue: str
    msg: Outbound
    attempts: int


class Outbox:
    def __init__(self, redis: Redis, codec: Codec, keys: Keys) -> None:
        self.r, self.codec, self.k = redis, codec, keys
        self._enqueue = redis.register_script(_ENQUEUE)
        self._claim = redis.register_script(_CLAIM)
        self._done = redis.register_script(_DONE)
        self._head = redis.register_script(_HEAD)
        self._claim_heads = redis.register_script(_CLAIM_HEADS)

    async def enqueue(self, msgs: list[Outbound], key: str, now_ms: int) -> int:
        """Persist messages under deterministic ids `key:i`: enqueueing the same batch twice (an
        event handled again after a crash) adds nothing. Returns how many were new."""
        return await self.enqueue_many([(msgs, key)], now_ms)

    async def enqueue_many(self, batches: list[tuple[list[Outbound], str]], now_ms: int) -> int:
        """`enqueue` for several (messages, key) pairs, in this order, in one round trip."""
        keys: list[str] = [self.k.outbox_ready()]
        args: list[str | int] = [now_ms]
        for msgs, key in batches:
            for i, msg in enumerate(msgs):
                oid = f"{key}:{i}"
                keys += [self.k.outbox_msg(oid), self.k.outbox_queue(msg.to.transport, msg.to.chat_id)]
                args += [self.codec.seal_json(outbound_to_dict(msg)), oid]
        if len(keys) == 1:
            return 0
        return int(await self._enqueue(keys=keys, args=args))

    async def claim(self, now_ms: int, lease_ms: int, limit: int = 50) -> list[str]:
        queues = await self._claim(keys=[self.k.outbox_ready()], args=[now_ms, now_ms + lease_ms, limit])
        return [_s(q) for q in queues]

    async def claim_heads(self, now_ms: int, lease_ms: int, limit: int = 50) -> list[tuple[str, Pending | None]]:
        """`claim`, then `head` of every claimed queue, in one round trip: (queue, first message or
        None when the queue was empty)."""
        lease_end = now_ms + lease_ms
        found = await self._claim_heads(
            keys=[self.k.outbox_ready()], args=[now_ms, lease_end, limit, self.k.outbox_msg("")]
        )
        out = []
        for entry in found:
            queue = _s(entry[0])
            out.append((queue, await self._pending(queue, entry[1:] or None, lease_end)))
        return out

    async def head(self, queue: str, lease_end_ms: int) -> Pending | None:
        found = await self._head(keys=[queue, self.k.outbox_ready()], args=[queue, self.k.outbox_msg("")])
        return await self._pending(queue, found, lease_end_ms)

    async def _pending(self, queue: str, found: Any, lease_end_ms: int) -> Pending | None:
        while found:
            oid, body, attempts = _s(found[0]), found[1], found[2]
            if body:
                return Pending(oid, queue, outbound_from_dict(self.codec.open_json(body)), int(attempts or 0))
            found = await self._finish(queue, oid, lease_end_ms)  # body gone (manual cleanup): drop the id
        return None

    async def finish(
        self,
        queue: str,
        oid: str,
        next_ms: int,
        *,
        dead: bool = False,
        thread_key: str = "",
        family_id: str = "",
        thread_ttl_s: int = 0,
    ) -> Pending | None:
        """Remove a sent (or given-up) message, and return the next one waiting in this queue. If one
        waits, the queue's score becomes next_ms: the worker that keeps draining passes its lease
        end, so no other worker claims the queue meanwhile. With `thread_key`, also remember that
        the sent message belongs to `family_id` (a reply to it reaches that family)."""
        found = await self._finish(queue, oid, next_ms, dead, thread_key, family_id, thread_ttl_s)
        return await self._pending(queue, found, next_ms)

    async def _finish(
        self,
        queue: str,
        oid: str,
        next_ms: int,
        dead: bool = False,
        thread_key: str = "",
        family_id: str = "",
        thread_ttl_s: int = 0,
    ) -> Any:
        return await self._done(
            keys=[queue, self.k.outbox_msg(oid), self.k.outbox_ready(), self.k.outbox_dead(), thread_key],
            args=[oid, queue, next_ms, "1" if dead else "0", self.k.outbox_msg(""), family_id, thread_ttl_s],
        )

    async def retry(self, queue: str, oid: str, due_ms: int) -> int:
        async with self.r.pipeline(transaction=True) as p:
            p.hincrby(self.k.outbox_msg(oid), "attempts", 1)
            p.zadd(self.k.outbox_ready(), {queue: due_ms})
            attempts, _ = await p.execute()
        return int(attempts)

    async def pending_count(self) -> int:
        """Messages waiting in any queue (not yet confirmed by a transport)."""
        queues = await self.r.zrange(self.k.outbox_ready(), 0, -1)
        if not queues:
            return 0
        async with self.r.pipeline(transaction=False) as p:
            for q in queues:
                p.llen(q)
            return sum(await p.execute())

    async def next_due_ms(self) -> int | None:
        first = await self.r.zrange(self.k.outbox_ready(), 0, 0, withscores=True)
        return int(first[0][1]) if first else None

    async def dead_count(self) -> int:
        return int(await self.r.llen(self.k.outbox_dead()))
