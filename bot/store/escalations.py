"""Escalations, their timers and audit trail, the on-call rota and the veiligheidskaarten, in Redis.

Every state change of an escalation is one Lua script that also appends its audit entry, so the
trail can never miss or double a step. Message text, the maatje's reason, the closing note and the
veiligheidskaart are sealed by the codec; ids, levels, steps and timestamps stay in the clear.
Scripts build a few keys from the prefix inside Lua (like the directory's): one Redis, not a cluster.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.domain import FamilyId, PersonId
from bot.store.codec import Codec
from bot.store.keys import Keys
from escalation.model import Escalation, EscalationId, Level, Source, Status
from escalation.rota import Rota, rota_from_dict, rota_to_dict

MAX_TEXTS = 5  # parent messages kept per escalation for the people alerted later

_RAISE = """
-- KEYS: esc, open, index, active, timers, audit, triggers, texts
-- ARGV: eid, now_ms, trigger, sealed text, esc key prefix, n fields, fields..., audit...
if redis.call('EXISTS', KEYS[1]) == 1 then return {'same', ARGV[1]} end
local cur = redis.call('GET', KEYS[2])
if cur then
  local st = redis.call('HGET', ARGV[5] .. cur, 'status')
  if st and st ~= 'resolved' then return {'open', cur} end
end
local n = tonumber(ARGV[6])
local fields, audit = {}, {}
for i = 7, 6 + 2 * n do fields[#fields + 1] = ARGV[i] end
for i = 7 + 2 * n, #ARGV do audit[#audit + 1] = ARGV[i] end
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('SET', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], ARGV[2], ARGV[1])
redis.call('SADD', KEYS[4], ARGV[1])
redis.call('ZADD', KEYS[5], 'NX', ARGV[2], ARGV[1] .. ':0')
if ARGV[3] ~= '' then redis.call('SADD', KEYS[7], ARGV[3]) end
if ARGV[4] ~= '' then redis.call('RPUSH', KEYS[8], ARGV[4]) end
redis.call('XADD', KEYS[6], '*', unpack(audit))
return {'new', ARGV[1]}
"""

_ATTACH = """
-- KEYS: esc, triggers, texts, audit, timers
-- ARGV: eid, trigger, sealed text, level, categories, reporter, acute due ms, max texts, audit...
local st = redis.call('HGET', KEYS[1], 'status')
if not st or st == 'resolved' then return 'closed' end
if ARGV[2] ~= '' and redis.call('SADD', KEYS[2], ARGV[2]) == 0 then return 'dup' end
redis.call('HINCRBY', KEYS[1], 'signals', 1)
if ARGV[3] ~= '' then
  redis.call('RPUSH', KEYS[3], ARGV[3])
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[8]), -1)
end
if ARGV[4] == 'acute' and redis.call('HGET', KEYS[1], 'level') ~= 'acute' then
  redis.call('HSET', KEYS[1], 'level', 'acute')
  if st == 'open' then  -- the waiting step comes no later than an acute step would
    local member = ARGV[1] .. ':' .. (tonumber(redis.call('HGET', KEYS[1], 'step')) + 1)
    local due = redis.call('ZSCORE', KEYS[5], member)
    if due and tonumber(due) > tonumber(ARGV[7]) then
      redis.call('ZADD', KEYS[5], 'XX', ARGV[7], member)
      redis.call('HSET', KEYS[1], 'step_due', ARGV[7])
    end
  end
end
redis.call('HSET', KEYS[1], 'categories', ARGV[5])
if ARGV[6] ~= '' then
  local r = redis.call('HGET', KEYS[1], 'reporters') or ''
  if not string.find(',' .. r .. ',', ',' .. ARGV[6] .. ',', 1, true) then
    redis.call('HSET', KEYS[1], 'reporters', r == '' and ARGV[6] or (r .. ',' .. ARGV[6]))
  end
end
local audit = {}
for i = 9, #ARGV do audit[#audit + 1] = ARGV[i] end
redis.call('XADD', KEYS[4], '*', unpack(audit))
return st
"""

_CLAIM = """
-- KEYS: timers. ARGV: now_ms, lease_until_ms, limit
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
for _, m in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[2], m) end
return due
"""

_CLAIM_ONE = """
-- KEYS: timers. ARGV: member, now_ms, lease_until_ms
local s = redis.call('ZSCORE', KEYS[1], ARGV[1])
if s and tonumber(s) <= tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1])
  return 1
end
return 0
"""

_STEP = """
-- KEYS: esc, timers, audit
-- ARGV: eid, fired step, notified step, now_ms, next due ms, step people, notified, audit...
local member = ARGV[1] .. ':' .. ARGV[2]
local st = redis.call('HGET', KEYS[1], 'status')
if st ~= 'open' or tonumber(redis.call('HGET', KEYS[1], 'step')) ~= tonumber(ARGV[2]) - 1 then
  redis.call('ZREM', KEYS[2], member)
  return 0
end
redis.call('HSET', KEYS[1], 'step', ARGV[3], 'step_due', ARGV[5], 'step_people', ARGV[6], 'notified', ARGV[7])
if ARGV[6] ~= '' and (redis.call('HGET', KEYS[1], 'notified_at') or '') == '' then
  redis.call('HSET', KEYS[1], 'notified_at', ARGV[4])
end
redis.call('ZREM', KEYS[2], member)
redis.call('ZADD', KEYS[2], 'NX', ARGV[5], ARGV[1] .. ':' .. (tonumber(ARGV[3]) + 1))
local audit = {}
for i = 8, #ARGV do audit[#audit + 1] = ARGV[i] end
redis.call('XADD', KEYS[3], '*', unpack(audit))
return 1
"""

_ACK = """
-- KEYS: esc, timers, audit. ARGV: eid, person, now_ms, audit...
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'missing', ''} end
if st == 'acknowledged' then return {'held', redis.call('HGET', KEYS[1], 'acked_by')} end
if st == 'resolved' then return {'resolved', redis.call('HGET', KEYS[1], 'resolved_by')} end
local step = tonumber(redis.call('HGET', KEYS[1], 'step'))
redis.call('ZREM', KEYS[2], ARGV[1] .. ':' .. (step + 1), ARGV[1] .. ':' .. step)
redis.call('HSET', KEYS[1], 'status', 'acknowledged', 'acked_by', ARGV[2], 'acked_at', ARGV[3], 'step_due', '')
local audit = {}
for i = 4, #ARGV do audit[#audit + 1] = ARGV[i] end
redis.call('XADD', KEYS[3], '*', unpack(audit))
return {'ok', ARGV[2]}
"""

_RESOLVE = """
-- KEYS: esc, timers, audit, open, active. ARGV: eid, person, now_ms, sealed note, audit...
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return {'missing', ''} end
if st == 'resolved' then return {'resolved', redis.call('HGET', KEYS[1], 'resolved_by')} end
if st == 'open' then
  local step = tonumber(redis.call('HGET', KEYS[1], 'step'))
  redis.call('ZREM', KEYS[2], ARGV[1] .. ':' .. (step + 1), ARGV[1] .. ':' .. step)
  redis.call('HSET', KEYS[1], 'acked_by', ARGV[2], 'acked_at', ARGV[3])
end
redis.call('HSET', KEYS[1], 'status', 'resolved', 'resolved_by', ARGV[2], 'resolved_at', ARGV[3],
  'note', ARGV[4], 'step_due', '')
if redis.call('GET', KEYS[4]) == ARGV[1] then redis.call('DEL', KEYS[4]) end
redis.call('SREM', KEYS[5], ARGV[1])
local audit = {}
for i = 5, #ARGV do audit[#audit + 1] = ARGV[i] end
redis.call('XADD', KEYS[3], '*', unpack(audit))
return {'ok', ARGV[2]}
"""


def _s(v: bytes | str | None) -> str:
    return v.decode() if isinstance(v, bytes) else (v or "")


def ms(when: datetime) -> int:
    return int(when.timestamp() * 1000)


def from_ms(value: bytes | str | int | None) -> datetime | None:
    raw = _s(value) if not isinstance(value, int) else str(value)
    return datetime.fromtimestamp(int(raw) / 1000, UTC) if raw else None


def _ids(value: bytes | str | None) -> tuple[PersonId, ...]:
    return tuple(PersonId(p) for p in _s(value).split(",") if p)


def _flat(pairs: dict[str, str]) -> list[str]:
    return [x for kv in pairs.items() for x in kv]


def timer_member(eid: str, step: int) -> str:
    return f"{eid}:{step}"


def parse_member(member: str) -> tuple[EscalationId, int]:
    eid, _, step = member.rpartition(":")
    return EscalationId(eid), int(step)


class EscalationStore:
    def __init__(self, redis: Redis, codec: Codec, keys: Keys) -> None:
        self.r, self.codec, self.k = redis, codec, keys
        self._raise = redis.register_script(_RAISE)
        self._attach = redis.register_script(_ATTACH)
        self._claim = redis.register_script(_CLAIM)
        self._claim_one = redis.register_script(_CLAIM_ONE)
        self._step = redis.register_script(_STEP)
        self._ack = redis.register_script(_ACK)
        self._resolve = redis.register_script(_RESOLVE)

    @classmethod
    def of(cls, store: Any) -> EscalationStore:
        """Built from a `bot.store.Store`'s connection, codec and keys."""
        return cls(store.redis, store.codec, store.keys)

    # --- escalations ------------------------------------------------------------------------
    async def create(
        self, esc: Escalation, trigger: str, text: str, reason: str, audit: dict[str, str]
    ) -> tuple[str, EscalationId]:
        """Store a new escalation with its first timer (step 0, due now). Returns ("new", id), or
        ("same", id) when this id exists (the same update handled again), or ("open", other id)
        when the family already has an escalation that is not resolved."""
        fields = {
            "family_id": esc.family_id,
            "level": esc.level.value,
            "categories": ",".join(esc.categories),
            "source": esc.source.value,
            "raised_by": esc.raised_by,
            "raised_at": str(ms(esc.raised_at)),
            "status": esc.status.value,
            "step": str(esc.step),
            "step_due": str(ms(esc.raised_at)),
            "step_people": "",
            "notified": "",
            "reporters": ",".join(esc.reporters),
            "notified_at": "",
            "signals": str(esc.signals),
            "reason": self.codec.seal(reason) if reason else "",
        }
        res = await self._raise(
            keys=[
                self.k.esc(esc.id),
                self.k.esc_open(esc.family_id),
                self.k.esc_index(),
                self.k.esc_active(),
                self.k.esc_timers(),
                self.k.esc_audit(esc.id),
                self.k.esc_triggers(esc.id),
                self.k.esc_texts(esc.id),
            ],
            args=[
                esc.id,
                ms(esc.raised_at),
                trigger,
                self._seal_text(esc.raised_at, text),
                self.k.esc(""),
                len(fields),
                *_flat(fields),
                *_flat(audit),
            ],
        )
        return _s(res[0]), EscalationId(_s(res[1]))

    async def attach(
        self,
        eid: str,
        *,
        trigger: str,
        text: str,
        at: datetime,
        level: Level,
        categories: Sequence[str],
        reporter: str,
        acute_due: datetime,
        audit: dict[str, str],
    ) -> str:
        """Add a later signal. Returns the status it found ("open", "acknowledged"), or "closed"
        (resolved meanwhile: raise a new one), or "dup" (this update was counted before)."""
        res = await self._attach(
            keys=[
                self.k.esc(eid),
                self.k.esc_triggers(eid),
                self.k.esc_texts(eid),
                self.k.esc_audit(eid),
                self.k.esc_timers(),
            ],
            args=[
                eid,
                trigger,
                self._seal_text(at, text),
                level.value,
                ",".join(categories),
                reporter,
                ms(acute_due),
                MAX_TEXTS,
                *_flat(audit),
            ],
        )
        return _s(res)

    async def get(self, eid: str) -> Escalation | None:
        raw = await self.r.hgetall(self.k.esc(eid))
        return self._escalation(eid, raw) if raw else None

    async def get_many(self, ids: Sequence[str]) -> list[Escalation]:
        async with self.r.pipeline(transaction=False) as p:
            for eid in ids:
                p.hgetall(self.k.esc(eid))
            raws = await p.execute()
        return [self._escalation(eid, raw) for eid, raw in zip(ids, raws, strict=True) if raw]

    async def open_for(self, fid: str) -> Escalation | None:
        eid = _s(await self.r.get(self.k.esc_open(fid)))
        esc = await self.get(eid) if eid else None
        return esc if esc and not esc.is_closed else None

    async def recent(self, limit: int = 50) -> list[Escalation]:
        ids = [_s(x) for x in await self.r.zrevrange(self.k.esc_index(), 0, limit - 1)]
        return await self.get_many(ids)

    async def active(self) -> list[Escalation]:
        ids = sorted(_s(x) for x in await self.r.smembers(self.k.esc_active()))
        return await self.get_many(ids)

    async def texts(self, eid: str) -> list[tuple[datetime, str]]:
        """The parent messages of this escalation (for the alert to a professional only)."""
        out = []
        for token in await self.r.lrange(self.k.esc_texts(eid), 0, -1):
            at, text = self.codec.open_json(token)
            out.append((from_ms(at) or datetime.fromtimestamp(0, UTC), text))
        return out

    async def reason(self, eid: str) -> str:
        token = await self.r.hget(self.k.esc(eid), "reason")
        return self.codec.open(token) if token else ""

    async def note(self, eid: str) -> str:
        token = await self.r.hget(self.k.esc(eid), "note")
        return self.codec.open(token) if token else ""

    def _seal_text(self, at: datetime, text: str) -> str:
        return self.codec.seal_json([ms(at), text]) if text else ""

    def _escalation(self, eid: str, raw: dict[bytes, bytes]) -> Escalation:
        g = raw.get
        return Escalation(
            id=EscalationId(eid),
            family_id=FamilyId(_s(g(b"family_id"))),
            level=Level(_s(g(b"level"))),
            categories=tuple(c for c in _s(g(b"categories")).split(",") if c),
            source=Source(_s(g(b"source"))),
            raised_by=PersonId(_s(g(b"raised_by"))),
            raised_at=from_ms(g(b"raised_at")) or datetime.fromtimestamp(0, UTC),
            status=Status(_s(g(b"status"))),
            step=int(_s(g(b"step")) or -1),
            step_due=from_ms(g(b"step_due")),
            step_people=_ids(g(b"step_people")),
            notified=_ids(g(b"notified")),
            reporters=_ids(g(b"reporters")),
            notified_at=from_ms(g(b"notified_at")),
            acked_by=PersonId(_s(g(b"acked_by"))) if g(b"acked_by") else None,
            acked_at=from_ms(g(b"acked_at")),
            resolved_by=PersonId(_s(g(b"resolved_by"))) if g(b"resolved_by") else None,
            resolved_at=from_ms(g(b"resolved_at")),
            signals=int(_s(g(b"signals")) or 1),
        )

    # --- the chain's state changes ----------------------------------------------------------
    async def commit_step(
        self,
        eid: str,
        fired: int,
        notified_step: int,
        now: datetime,
        next_due: datetime,
        step_people: Sequence[str],
        notified: Sequence[str],
        audit: dict[str, str],
    ) -> bool:
        """Record that `notified_step` was notified for the timer `fired`; schedule the next one.
        False (and the timer dropped) when the escalation moved on or was picked up meanwhile."""
        done = await self._step(
            keys=[self.k.esc(eid), self.k.esc_timers(), self.k.esc_audit(eid)],
            args=[
                eid,
                fired,
                notified_step,
                ms(now),
                ms(next_due),
                ",".join(step_people),
                ",".join(notified),
                *_flat(audit),
            ],
        )
        return bool(done)

    async def acknowledge(self, eid: str, pid: str, now: datetime, audit: dict[str, str]) -> tuple[str, str]:
        """("ok", pid), ("held", holder), ("resolved", by) or ("missing", "")."""
        res = await self._ack(
            keys=[self.k.esc(eid), self.k.esc_timers(), self.k.esc_audit(eid)],
            args=[eid, pid, ms(now), *_flat(audit)],
        )
        return _s(res[0]), _s(res[1])

    async def resolve(
        self, eid: str, fid: str, pid: str, now: datetime, note: str, audit: dict[str, str]
    ) -> tuple[str, str]:
        res = await self._resolve(
            keys=[
                self.k.esc(eid),
                self.k.esc_timers(),
                self.k.esc_audit(eid),
                self.k.esc_open(fid),
                self.k.esc_active(),
            ],
            args=[eid, pid, ms(now), self.codec.seal(note) if note else "", *_flat(audit)],
        )
        return _s(res[0]), _s(res[1])

    # --- timers -----------------------------------------------------------------------------
    async def claim_due(self, now: datetime, lease: timedelta, limit: int = 50) -> list[tuple[EscalationId, int]]:
        members = await self._claim(keys=[self.k.esc_timers()], args=[ms(now), ms(now + lease), limit])
        return [parse_member(_s(m)) for m in members]

    async def claim(self, eid: str, step: int, now: datetime, lease: timedelta) -> bool:
        got = await self._claim_one(
            keys=[self.k.esc_timers()], args=[timer_member(eid, step), ms(now), ms(now + lease)]
        )
        return bool(got)

    async def drop_timer(self, eid: str, step: int) -> None:
        await self.r.zrem(self.k.esc_timers(), timer_member(eid, step))

    async def ensure_timer(self, eid: str, step: int, due: datetime) -> bool:
        """Re-create a missing timer (watchdog repair). True when it was missing."""
        return bool(await self.r.zadd(self.k.esc_timers(), {timer_member(eid, step): ms(due)}, nx=True))

    async def timers(self) -> list[tuple[str, datetime]]:
        raw = await self.r.zrange(self.k.esc_timers(), 0, -1, withscores=True)
        return [(_s(m), from_ms(int(s)) or datetime.fromtimestamp(0, UTC)) for m, s in raw]

    # --- audit trail ------------------------------------------------------------------------
    async def audit(self, eid: str) -> list[dict[str, str]]:
        entries = await self.r.xrange(self.k.esc_audit(eid))
        return [{_s(k): _s(v) for k, v in fields.items()} for _, fields in entries]

    # --- watchdog ---------------------------------------------------------------------------
    async def mark_overdue(self, eid: str, step: int) -> bool:
        """Count a late step once. True the first time it is reported."""
        if not await self.r.sadd(self.k.esc_overdue(), timer_member(eid, step)):
            return False
        await self.r.incr(self.k.counter("escalation_overdue"))
        return True

    async def counter(self, name: str) -> int:
        return int(_s(await self.r.get(self.k.counter(name))) or 0)

    async def incr(self, name: str) -> int:
        return int(await self.r.incr(self.k.counter(name)))

    # --- rota -------------------------------------------------------------------------------
    async def get_rota(self) -> Rota:
        raw = await self.r.get(self.k.esc_rota())
        return rota_from_dict(json.loads(raw)) if raw else Rota()

    async def put_rota(self, rota: Rota) -> None:
        await self.r.set(self.k.esc_rota(), json.dumps(rota_to_dict(rota), separators=(",", ":")))

    # --- veiligheidskaart -------------------------------------------------------------------
    async def get_card(self, fid: str) -> str:
        token = await self.r.get(self.k.esc_card(fid))
        return self.codec.open(token) if token else ""

    async def set_card(self, fid: str, text: str) -> None:
        if text.strip():
            await self.r.set(self.k.esc_card(fid), self.codec.seal(text.strip()))
        else:
            await self.r.delete(self.k.esc_card(fid))

    # --- short waits in a conversation -------------------------------------------------------
    async def wait_for_note(self, pid: str, eid: str, ttl: timedelta) -> None:
        await self.r.set(self.k.esc_note_wait(pid), eid, ex=ttl)

    async def take_note_wait(self, pid: str) -> EscalationId | None:
        eid = _s(await self.r.getdel(self.k.esc_note_wait(pid)))
        return EscalationId(eid) if eid else None

    async def put_pick(self, payload: dict[str, Any], ttl: timedelta) -> str:
        token = secrets.token_hex(5)
        await self.r.set(self.k.esc_pick(token), self.codec.seal_json(payload), ex=ttl)
        return token

    async def take_pick(self, token: str) -> dict[str, Any] | None:
        raw = await self.r.getdel(self.k.esc_pick(token))
        return self.codec.open_json(raw) if raw else None
