"""People, families, identities, invites and thread maps in Redis.

Names and aliases are sealed by the codec; ids, roles and links stay in the clear.
"""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from bot.domain import Address, Family, FamilyId, Person, PersonId, Role
from bot.errors import AdminError, UserFacingError
from bot.store.codec import Codec
from bot.store.keys import Keys

THREAD_TTL = timedelta(days=365)
INVITE_GRACE = timedelta(days=30)

# Assign a maatje to a family atomically: caseload check, old maatje's set, new maatje's set.
_ASSIGN = """
local family, new_load, fid, new_id, max = KEYS[1], KEYS[2], ARGV[1], ARGV[2], tonumber(ARGV[3])
if redis.call('EXISTS', family) == 0 then return {err='no_family'} end
local old = redis.call('HGET', family, 'maatje_id')
if old == new_id then return 0 end
if redis.call('SCARD', new_load) >= max then return {err='caseload_full'} end
if old and old ~= '' then redis.call('SREM', ARGV[4] .. old .. ':families', fid) end
redis.call('SADD', new_load, fid)
redis.call('HSET', family, 'maatje_id', new_id)
return 1
"""

# Redeem an invite once: returns person id, or an error naming why not.
_REDEEM = """
local inv = KEYS[1]
if redis.call('EXISTS', inv) == 0 then return {err='invite_unknown'} end
if redis.call('HGET', inv, 'used') == '1' then return {err='invite_used'} end
if tonumber(redis.call('HGET', inv, 'expires_at')) < tonumber(ARGV[1]) then return {err='invite_expired'} end
redis.call('HSET', inv, 'used', '1')
return redis.call('HGET', inv, 'person_id')
"""


# Identity -> person record in one round trip (the hot path of every update); for a parent, when
# asked, also their family and its maatje (record, addresses, groups). Keys are built inside the
# script, so this store targets a single Redis, not a cluster.
_LOOKUP = """
local function lookup(idkey, people, families, with_route)
  local pid = redis.call('GET', idkey)
  if not pid then return false end
  local pkey = people .. pid
  local person = redis.call('HGETALL', pkey)
  if with_route ~= '1' or redis.call('HGET', pkey, 'role') ~= 'parent' then return {pid, person} end
  local fkey = families .. (redis.call('HGET', pkey, 'family_id') or '')
  local fam = redis.call('HGETALL', fkey)
  if #fam == 0 then return {pid, person, false} end
  local maatje = redis.call('HGET', fkey, 'maatje_id')
  if not maatje or maatje == '' then return {pid, person, fam, false} end
  local m = people .. maatje
  local mp = redis.call('HGETALL', m)
  return {pid, person, fam, maatje, mp, redis.call('HGETALL', m .. ':addr'), redis.call('HGETALL', m .. ':group')}
end
"""
# KEYS: identity. ARGV: person key prefix, family key prefix, with_route ('1' or '0').
_PERSON_FOR = _LOOKUP + "return lookup(KEYS[1], ARGV[1], ARGV[2], ARGV[3])"
# The same for several identities in one round trip (the senders of an inbox batch). KEYS: identities.
# ARGV: person key prefix, family key prefix, then with_route per identity.
_PEOPLE_FOR = _LOOKUP + (
    "local out = {}\n"
    "for i, idkey in ipairs(KEYS) do out[i] = lookup(idkey, ARGV[1], ARGV[2], ARGV[2 + i]) end\n"
    "return out"
)


# A family with its maatje's record, addresses and linked groups in one round trip (the relay's
# hot path). Keys are built inside the script: one Redis, not a cluster.
_FAMILY_ROUTE = """
local fam = redis.call('HGETALL', KEYS[1])
if #fam == 0 then return false end
local maatje = redis.call('HGET', KEYS[1], 'maatje_id')
if not maatje or maatje == '' then return {fam, false} end
local p = ARGV[1] .. maatje
local person = redis.call('HGETALL', p)
return {fam, maatje, person, redis.call('HGETALL', p .. ':addr'), redis.call('HGETALL', p .. ':group')}
"""


# A person, their addresses, and their linked groups (transport -> group chat).
Reach = tuple[Person | None, list[Address], dict[str, str]]
# A family and its maatje (None without one).
FamilyRoute = tuple[Family | None, Reach | None]


def new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(5)}"


def _pairs(flat: list | dict) -> dict:
    """A hash as a dict, whether it came from HGETALL (a dict) or from a Lua script (a flat list)."""
    return flat if isinstance(flat, dict) else dict(zip(flat[::2], flat[1::2], strict=True))


def _s(value: bytes | str | None) -> str | None:
    return value.decode() if isinstance(value, bytes) else value


class Directory:
    def __init__(self, redis: Redis, codec: Codec, keys: Keys) -> None:
        self.r, self.codec, self.k = redis, codec, keys
        self._assign = redis.register_script(_ASSIGN)
        self._redeem = redis.register_script(_REDEEM)
        self._person_for = redis.register_script(_PERSON_FOR)
        self._people_for = redis.register_script(_PEOPLE_FOR)
        self._family_route = redis.register_script(_FAMILY_ROUTE)

    # --- families and people ------------------------------------------------------------
    async def add_family(self, alias: str) -> Family:
        fid = FamilyId(new_id("f"))
        async with self.r.pipeline(transaction=True) as p:
            p.hset(self.k.family(fid), mapping={"alias": self.codec.seal(alias), "maatje_id": ""})
            p.sadd(self.k.families(), fid)
            await p.execute()
        return Family(fid, alias)

    async def get_family(self, fid: str) -> Family | None:
        return self._family(fid, await self.r.hgetall(self.k.family(fid)))

    def _family(self, fid: str, raw: dict[bytes, bytes]) -> Family | None:
        if not raw:
            return None
        maatje = _s(raw.get(b"maatje_id")) or None
        return Family(FamilyId(fid), self.codec.open(raw[b"alias"]), PersonId(maatje) if maatje else None)

    async def family_route(self, fid: str) -> FamilyRoute:
        """A family and, when it has one, its maatje as `reach` gives it; one round trip."""
        found = await self._family_route(keys=[self.k.family(fid)], args=[self.k.person("")])
        return self._route(fid, found) if found else (None, None)

    def _route(self, fid: str, found: list) -> FamilyRoute:
        """[family hash, maatje id, maatje hash, addresses, groups] (maatje parts may be missing)."""
        family = self._family(fid, _pairs(found[0]))
        if family is None or len(found) < 5 or not found[1]:
            return family, None
        return family, self._reach(_s(found[1]) or "", found[2], found[3], found[4])

    def _reach(self, pid: str, raw: Any, addrs: Any, groups: Any) -> Reach:
        addrs, groups = _pairs(addrs), _pairs(groups)
        return (
            self._person(pid, _pairs(raw)),
            [Address(_s(t) or "", _s(c) or "") for t, c in sorted(addrs.items())],
            {_s(t) or "": _s(c) or "" for t, c in groups.items()},
        )

    async def list_families(self) -> list[Family]:
        ids = sorted(_s(x) for x in await self.r.smembers(self.k.families()))
        return [f for f in [await self.get_family(i) for i in ids] if f]

    async def add_person(self, role: Role, name: str, *, lang: str = "nl", family_id: str | None = None) -> Person:
        if role is Role.PARENT and not family_id:
            raise AdminError("a parent belongs to a family: give --family")
        if family_id and not await self.r.exists(self.k.family(family_id)):
            raise AdminError(f"no family {family_id}")
        pid = PersonId(new_id("p"))
        fields = {"role": role.value, "name": self.codec.seal(name), "lang": lang, "paused": "0"}
        async with self.r.pipeline(transaction=True) as p:
            if role is Role.PARENT:
                fields["family_id"] = family_id or ""
                p.sadd(self.k.family_parents(family_id or ""), pid)
            p.hset(self.k.person(pid), mapping=fields)
            p.sadd(self.k.people(), pid)
            await p.execute()
        return Person(pid, role, name, lang, FamilyId(family_id) if role is Role.PARENT and family_id else None)

    async def get_person(self, pid: str) -> Person | None:
        return self._person(pid, await self.r.hgetall(self.k.person(pid)))

    def _person(self, pid: str, raw: dict[bytes, bytes]) -> Person | None:
        if not raw:
            return None
        fam = _s(raw.get(b"family_id")) or None
        return Person(
            id=PersonId(pid),
            role=Role(_s(raw[b"role"])),
            name=self.codec.open(raw[b"name"]),
            lang=_s(raw.get(b"lang")) or "nl",
            family_id=FamilyId(fam) if fam else None,
            paused=raw.get(b"paused") == b"1",
        )

    async def list_people(self, role: Role | None = None) -> list[Person]:
        ids = sorted(_s(x) for x in await self.r.smembers(self.k.people()))
        people = [p for p in [await self.get_person(i) for i in ids] if p]
        return [p for p in people if role is None or p.role is role]

    async def set_paused(self, pid: str, paused: bool) -> None:
        await self.r.hset(self.k.person(pid), "paused", "1" if paused else "0")

    async def set_lang(self, pid: str, lang: str) -> None:
        await self.r.hset(self.k.person(pid), "lang", lang)

    async def assign(self, fid: str, maatje_id: str, max_families: int) -> None:
        maatje = await self.get_person(maatje_id)
        if maatje is None or maatje.role is not Role.MAATJE:
            raise AdminError(f"{maatje_id} is not a maatje")
        try:
            await self._assign(
                keys=[self.k.family(fid), self.k.caseload(maatje_id)],
                args=[fid, maatje_id, max_families, f"{self.k.prefix}:maatje:"],
            )
        except Exception as exc:  # redis.ResponseError carries the script's error name
            if "caseload_full" in str(exc):
                raise AdminError(
                    f"{maatje.name} already has {max_families} families (the limit); "
                    "hand one over first or raise NAAST_MAX_FAMILIES_PER_MAATJE"
                ) from exc
            if "no_family" in str(exc):
                raise AdminError(f"no family {fid}") from exc
            raise

    async def families_of(self, maatje_id: str) -> list[Family]:
        ids = sorted(_s(x) for x in await self.r.smembers(self.k.caseload(maatje_id)))
        return [f for f in [await self.get_family(i) for i in ids] if f]

    async def parents_of(self, fid: str) -> list[Person]:
        ids = sorted(_s(x) for x in await self.r.smembers(self.k.family_parents(fid)))
        return [p for p in [await self.get_person(i) for i in ids] if p]

    # --- identities and addresses -------------------------------------------------------
    async def link_identity(self, pid: str, transport: str, user: str, chat: str) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.set(self.k.identity(transport, user), pid)
            p.hset(self.k.addresses(pid), transport, chat)
            await p.execute()

    async def person_for(self, transport: str, user: str) -> Person | None:
        return (await self.sender(transport, user))[0]

    async def sender(
        self, transport: str, user: str, *, with_route: bool = False
    ) -> tuple[Person | None, FamilyRoute | None]:
        """Who sent an event; with `with_route`, for a parent also their family route (one trip)."""
        found = await self._person_for(
            keys=[self.k.identity(transport, user)],
            args=[self.k.person(""), self.k.family(""), "1" if with_route else "0"],
        )
        return self._sender(found)

    async def senders(self, who: list[tuple[str, str, bool]]) -> list[tuple[Person | None, FamilyRoute | None]]:
        """`sender` for several (transport, user, with_route) in one round trip."""
        if not who:
            return []
        found = await self._people_for(
            keys=[self.k.identity(transport, user) for transport, user, _ in who],
            args=[self.k.person(""), self.k.family(""), *("1" if with_route else "0" for *_, with_route in who)],
        )
        return [self._sender(f) for f in found]

    def _sender(self, found: Any) -> tuple[Person | None, FamilyRoute | None]:
        if not found:
            return None, None
        person = self._person(_s(found[0]) or "", _pairs(found[1]))
        if person is None or len(found) < 3:
            return person, None
        if not found[2]:
            return person, (None, None)
        return person, self._route(person.family_id or "", found[2:])

    async def reach(self, pid: str) -> Reach:
        """A person, their addresses and their linked groups, in one round trip."""
        async with self.r.pipeline(transaction=False) as p:
            p.hgetall(self.k.person(pid))
            p.hgetall(self.k.addresses(pid))
            p.hgetall(self.k.group_of(pid))
            raw, addrs, groups = await p.execute()
        return self._reach(pid, raw, addrs, groups)

    async def addresses_of(self, pid: str) -> list[Address]:
        raw = await self.r.hgetall(self.k.addresses(pid))
        return [Address(_s(t) or "", _s(c) or "") for t, c in sorted(raw.items())]

    # --- invites ------------------------------------------------------------------------
    async def create_invite(self, pid: str, code_hash: str, expires_at: datetime) -> None:
        key = self.k.invite(code_hash)
        async with self.r.pipeline(transaction=True) as p:
            p.hset(key, mapping={"person_id": pid, "expires_at": int(expires_at.timestamp()), "used": "0"})
            p.expireat(key, expires_at + INVITE_GRACE)
            await p.execute()

    async def redeem_invite(self, code_hash: str, now: datetime) -> PersonId:
        try:
            pid = await self._redeem(keys=[self.k.invite(code_hash)], args=[int(now.timestamp())])
        except Exception as exc:
            for reason in ("invite_unknown", "invite_used", "invite_expired"):
                if reason in str(exc):
                    raise UserFacingError(reason) from exc
            raise
        return PersonId(_s(pid) or "")

    # --- threads, topics, groups --------------------------------------------------------
    async def family_for_thread(self, at: Address, ref: str) -> str | None:
        return _s(await self.r.get(self.k.thread(at.transport, at.chat_id, ref)))

    async def topic_of(self, transport: str, chat: str, fid: str) -> str | None:
        return _s(await self.r.get(self.k.topic(transport, chat, fid)))

    async def set_topic(self, transport: str, chat: str, fid: str, thread: str) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.set(self.k.topic(transport, chat, fid), thread)
            p.set(self.k.topic_family(transport, chat, thread), fid)
            await p.execute()

    async def family_for_topic(self, transport: str, chat: str, thread: str) -> str | None:
        return _s(await self.r.get(self.k.topic_family(transport, chat, thread)))

    async def link_group(self, maatje_id: str, transport: str, chat: str) -> None:
        async with self.r.pipeline(transaction=True) as p:
            p.hset(self.k.group_of(maatje_id), transport, chat)
            p.set(self.k.group_owner(transport, chat), maatje_id)
            await p.execute()

    async def group_of(self, maatje_id: str, transport: str) -> str | None:
        return _s(await self.r.hget(self.k.group_of(maatje_id), transport))

    async def group_owner(self, transport: str, chat: str) -> str | None:
        return _s(await self.r.get(self.k.group_owner(transport, chat)))

    # --- pending choice -----------------------------------------------------------------
    async def put_pending(self, payload: dict, ttl: timedelta) -> str:
        token = secrets.token_hex(6)
        await self.r.set(self.k.pending(token), self.codec.seal_json(payload), ex=ttl)
        return token

    async def take_pending(self, token: str) -> dict | None:
        raw = await self.r.getdel(self.k.pending(token))
        return self.codec.open_json(raw) if raw else None
