"""What a coordinator does from the command line: families, people, assignments, invites."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.domain import Clock, Family, Person, Role
from bot.errors import AdminError
from bot.store.directory import Directory
from handlers.context import Context
from handlers.onboarding import create_invite


@dataclass
class Admin:
    directory: Directory
    clock: Clock
    max_families_per_maatje: int = 3
    invite_days: int = 7
    bot_username: str | None = None

    async def add_family(self, alias: str) -> Family:
        alias = alias.strip()
        if not alias:
            raise AdminError("a family needs an alias, e.g. 'Gezin Noor'")
        return await self.directory.add_family(alias)

    async def add_person(self, role: Role, name: str, *, lang: str = "nl", family_id: str | None = None) -> Person:
        name = name.strip()
        if not name:
            raise AdminError("a person needs a first name or alias")
        if lang not in ("nl", "en"):
            raise AdminError("language must be nl or en")
        return await self.directory.add_person(role, name, lang=lang, family_id=family_id)

    async def assign(self, family_id: str, maatje_id: str) -> Family:
        await self.directory.assign(family_id, maatje_id, self.max_families_per_maatje)
        family = await self.directory.get_family(family_id)
        assert family is not None
        return family

    async def invite(self, person_id: str, days: int | None = None) -> tuple[str, datetime, str]:
        """Returns (code, expiry, link). The link needs the bot's username; without it, `/start <code>`."""
        if await self.directory.get_person(person_id) is None:
            raise AdminError(f"no person {person_id}")
        days = self.invite_days if days is None else days
        if days < 1:
            raise AdminError("an invite lasts at least one day")
        ctx = Context(directory=self.directory, clock=self.clock)
        code, expires = await create_invite(ctx, person_id, days)
        link = f"https://t.me/{self.bot_username}?start={code}" if self.bot_username else f"/start {code}"
        return code, expires, link
