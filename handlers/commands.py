"""/help /stop /taal /koppel, and the default router that ties every handler module together."""

from __future__ import annotations

from bot.domain import Inbound, Outbound, Person, Role
from handlers.context import Context, reply
from handlers.onboarding import handle_start
from handlers.relay import handle_family_choice
from handlers.router import Router
from handlers.texts import lang_of, t


async def handle_help(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    if person is None:
        return [reply(event, t("unknown_user", lang_of(event.lang)))]
    lang = person.lang
    if person.role is Role.PARENT:
        family = await ctx.directory.get_family(person.family_id or "")
        maatje = await ctx.directory.get_person(family.maatje_id) if family and family.maatje_id else None
        return [reply(event, t("help_parent", lang, maatje=maatje.name if maatje else "—"))]
    if person.role is Role.MAATJE:
        return [reply(event, t("help_maatje", lang))]
    return [reply(event, t("help_staff", lang))]


async def handle_stop(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    if person is None:
        return [reply(event, t("unknown_user", lang_of(event.lang)))]
    if person.role is not Role.PARENT:
        return [reply(event, t("maatje_cannot_pause", person.lang))]
    await ctx.directory.set_paused(person.id, True)
    return [reply(event, t("paused", person.lang))]


async def handle_language(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    if person is None:
        return [reply(event, t("unknown_user", lang_of(event.lang)))]
    choice = args.strip().lower()[:2]
    if choice not in ("nl", "en"):
        return [reply(event, t("lang_usage", person.lang))]
    await ctx.directory.set_lang(person.id, choice)
    return [reply(event, t("lang_set", choice))]


async def handle_link_group(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    """/koppel in a forum supergroup: the maatje's families get a topic each, created on first use."""
    if person is None or person.role is not Role.MAATJE:
        return [reply(event, t("group_not_maatje", person.lang if person else lang_of(event.lang)))]
    if not event.is_group:
        return [reply(event, t("help_maatje", person.lang))]
    await ctx.directory.link_group(person.id, event.transport, event.chat.chat_id)
    return [reply(event, t("group_linked", person.lang))]


def default_router() -> Router:
    router = Router()
    router.command("start")(handle_start)
    router.command("help", "hulpmenu")(handle_help)
    router.command("stop", "pauze")(handle_stop)
    router.command("taal", "language")(handle_language)
    router.command("koppel", "link")(handle_link_group)
    router.callback("fam")(handle_family_choice)
    return router
