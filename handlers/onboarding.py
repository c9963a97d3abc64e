"""Invites: single-use codes, stored hashed, that link a chat account to a person."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from bot.domain import Inbound, Outbound, Person, Role
from bot.errors import UserFacingError
from handlers.context import Context, reply, to_person
from handlers.texts import lang_of, t


def hash_code(code: str) -> str:
    return hashlib.sha256(code.strip().encode()).hexdigest()


async def create_invite(ctx: Context, person_id: str, days: int) -> tuple[str, datetime]:
    """A fresh code for a person; only its hash is stored."""
    code = secrets.token_urlsafe(12)  # 16 chars, fits Telegram's 64-char start parameter
    expires = ctx.clock.now() + timedelta(days=days)
    await ctx.directory.create_invite(person_id, hash_code(code), expires)
    return code, expires


async def welcome(person: Person, ctx: Context) -> str:
    lang = person.lang
    if person.role is Role.PARENT:
        family = await ctx.directory.get_family(person.family_id or "")
        maatje = await ctx.directory.get_person(family.maatje_id) if family and family.maatje_id else None
        if maatje is None:
            return t("welcome_parent_no_maatje", lang, name=person.name)
        return t("welcome_parent", lang, name=person.name, maatje=maatje.name)
    if person.role is Role.MAATJE:
        families = ", ".join(f.alias for f in await ctx.directory.families_of(person.id)) or "—"
        return t("welcome_maatje", lang, name=person.name, families=families)
    return t("welcome_staff", lang, name=person.name, role=t(f"role_{person.role.value}", lang))


async def handle_start(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    if not args:
        if person is None:
            return [reply(event, t("unknown_user", lang_of(event.lang)))]
        if person.paused:
            await ctx.directory.set_paused(person.id, False)
        return [reply(event, t("welcome_back", person.lang, name=person.name))]
    try:
        pid = await ctx.directory.redeem_invite(hash_code(args), ctx.clock.now())
    except UserFacingError as exc:
        return [reply(event, t(exc.key, person.lang if person else lang_of(event.lang)))]
    invited = await ctx.directory.get_person(pid)
    if invited is None:
        return [reply(event, t("invite_unknown", lang_of(event.lang)))]
    if event.lang and lang_of(event.lang) != invited.lang and person is None:
        await ctx.directory.set_lang(invited.id, lang_of(event.lang))
    await ctx.directory.link_identity(invited.id, event.transport, event.sender, event.chat.chat_id)
    if invited.paused:
        await ctx.directory.set_paused(invited.id, False)
    invited = await ctx.directory.get_person(invited.id) or invited
    return [reply(event, await welcome(invited, ctx)), *await _tell_maatje(invited, ctx)]


async def _tell_maatje(parent: Person, ctx: Context) -> list[Outbound]:
    """A maatje hears when a parent of theirs has joined, so they can say hello."""
    if parent.role is not Role.PARENT:
        return []
    family = await ctx.directory.get_family(parent.family_id or "")
    if family is None or not family.maatje_id:
        return []
    maatje = await ctx.directory.get_person(family.maatje_id)
    if maatje is None:
        return []
    text = t("parent_joined", maatje.lang, name=parent.name, alias=family.alias)
    return await to_person(ctx, maatje, text, family_id=family.id)
