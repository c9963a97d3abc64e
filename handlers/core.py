"""The one boundary per update: find who is talking, route, and turn every error into kind text."""

from __future__ import annotations

import logging

from bot.domain import Inbound, InboundKind, Outbound, Person, Role
from bot.errors import UserFacingError
from bot.store.directory import FamilyRoute
from handlers.context import Context, reply
from handlers.relay import handle_maatje_message, handle_parent_message
from handlers.router import Router
from handlers.texts import lang_of, t

log = logging.getLogger(__name__)


# Who sent an event, as Directory.sender gives it: the person and, for a parent's plain message, their route.
Sender = tuple[Person | None, FamilyRoute | None]


def wants_route(event: Inbound) -> bool:
    """Whether the sender lookup should bring the family route too (a parent's plain message)."""
    return event.kind in (InboundKind.TEXT, InboundKind.MEDIA) and event.command is None


async def handle(event: Inbound, ctx: Context, router: Router, sender: Sender | None = None) -> list[Outbound]:
    """Never raises: a failing handler becomes an apology (with the emergency numbers) and a log line
    that names the event and the error type, never the message text. `sender`: the result of
    `ctx.directory.sender(..., with_route=wants_route(event))` when the caller already looked it up."""
    try:
        return await _route(event, ctx, router, sender)
    except UserFacingError as exc:
        person = await ctx.directory.person_for(event.transport, event.sender)
        return [reply(event, t(exc.key, person.lang if person else lang_of(event.lang), **exc.params))]
    except Exception:
        log.exception("handler failed for %s event %s (%s)", event.transport, event.event_id, event.kind.value)
        return [reply(event, t("error", lang_of(event.lang)))]


async def _route(event: Inbound, ctx: Context, router: Router, sender: Sender | None) -> list[Outbound]:
    if sender is None:
        sender = await ctx.directory.sender(event.transport, event.sender, with_route=wants_route(event))
    person, route = sender
    lang = person.lang if person else lang_of(event.lang)

    if (cmd := event.command) is not None:
        name, args = cmd
        handler = router.commands.get(name)
        if handler is None:
            return [reply(event, t("unknown_command" if person else "unknown_user", lang))]
        return await handler(event, person, args, ctx)

    if person is None:
        # A stranger reaches nobody, but always learns how to get help now.
        return [] if event.is_group else [reply(event, t("unknown_user", lang))]

    if event.kind is InboundKind.CALLBACK:
        prefix, _, data = (event.callback_data or "").partition(":")
        cb = router.callbacks.get(prefix)
        return await cb(event, person, data, ctx) if cb else [reply(event, t("choice_expired", lang))]

    if event.kind is InboundKind.UNSUPPORTED:
        return [reply(event, t("unsupported", lang))]

    if person.role is Role.PARENT:
        return await handle_parent_message(event, person, ctx, route)
    if person.role is Role.MAATJE:
        return await handle_maatje_message(event, person, ctx)
    for staff_handler in router.staff_text:
        answer = await staff_handler(event, person, ctx)
        if answer is not None:
            return answer
    return [] if event.is_group else [reply(event, t("staff_no_relay", lang))]
