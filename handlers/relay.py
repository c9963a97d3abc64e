"""Parent -> maatje and maatje -> parent, with a thread per family.

A parent's message goes to the family's maatje: into their private chat headed by the family
alias, or into the family's topic when the maatje linked a forum group. Without a maatje it goes
to the coordinators, so nothing a parent writes reaches nobody. A maatje answers by replying to a
relayed message, by typing (one family), by picking a family (several), or inside the family topic.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from bot.domain import Address, Button, Family, Inbound, InboundKind, Outbound, Person, Role
from bot.store.directory import FamilyRoute
from bot.transports.base import TEXT_LIMIT
from handlers.context import Context, HookOutcome, reply, to_person
from handlers.texts import t

log = logging.getLogger(__name__)


def chunks(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split at paragraph or word boundaries so no piece exceeds a transport's text limit."""
    parts: list[str] = []
    while len(text) > limit:
        cut = max(text.rfind("\n", 0, limit), text.rfind(" ", 0, limit))
        cut = cut if cut > limit // 2 else limit
        parts.append(text[:cut])
        text = text[cut:].lstrip()
    return [*parts, text] if text or not parts else parts


Inbox = tuple[Person, list[Address], dict[str, str]]  # person, addresses, linked groups


async def _family_inboxes(ctx: Context, maatje: Inbox | None) -> tuple[list[Inbox], str]:
    """Who receives a family's messages, and a header note when it is not their maatje."""
    if maatje is not None and maatje[0] is not None:
        return [maatje], ""
    coordinators = await ctx.directory.list_people(Role.COORDINATOR)
    inboxes = [(c, await ctx.directory.addresses_of(c.id), {}) for c in coordinators]
    return inboxes, " " + t("no_maatje_header")


async def _deliver_to_inbox(
    inbox: Inbox, family: Family, header: str, body: str | None, event: Inbound
) -> list[Outbound]:
    person, addrs, groups = inbox
    # A maatje can raise the alarm from any relayed message (the escalation asks to confirm first).
    sos = ((Button(t("escalate_button", person.lang), f"esc:x:{family.id}"),),) if person.role is Role.MAATJE else ()
    out: list[Outbound] = []
    for addr in addrs:
        group = groups.get(addr.transport) if person.role is Role.MAATJE else None
        to = Address(addr.transport, group) if group else addr
        topic = family.alias if group else None
        common = {"family_id": family.id, "topic_title": topic}
        if body is not None:
            pieces = chunks(body)
            out += [
                Outbound(to=to, text=piece, buttons=sos if i == len(pieces) - 1 else (), **common)
                for i, piece in enumerate(pieces)
            ]
        else:
            out.append(Outbound(to=to, text=header, buttons=sos, **common))
            if addr.transport == event.transport and event.message_ref:
                out.append(Outbound(to=to, copy_of=(event.chat, event.message_ref), **common))
    return out


async def handle_parent_message(
    event: Inbound, parent: Person, ctx: Context, route: FamilyRoute | None = None
) -> list[Outbound]:
    lang = parent.lang
    if event.kind is InboundKind.TEXT and len(event.text) > ctx.rules.max_text_chars:
        return [reply(event, t("too_long", lang, limit=ctx.rules.max_text_chars))]
    family, maatje = route or await ctx.directory.family_route(parent.family_id or "")
    if family is None:
        log.error("parent %s has no family", parent.id)
        return [reply(event, t("error", lang))]

    outcomes: list[HookOutcome] = []
    if event.text:
        analysis = await ctx.nlu.parse(event.text, lang) if ctx.nlu else None
        for hook in ctx.parent_hooks:
            outcomes.append(await hook(event, parent, family, analysis, ctx))
    out = [m for o in outcomes for m in o.messages]
    escalated = any(o.escalated for o in outcomes)

    if parent.paused and not escalated:
        return [*out, reply(event, t("still_paused", lang))]
    if not all(o.relay for o in outcomes):
        return out

    recipients, note = await _family_inboxes(ctx, maatje)
    for inbox in recipients:
        person = inbox[0]
        plang = person.lang
        mark = "🚨 " if escalated else ""
        name = f"{family.alias}{note}"
        if event.kind is InboundKind.MEDIA:
            header = mark + t("from_family_media", plang, alias=name, name=parent.name)
            if event.text:
                header += "\n" + event.text
            out += await _deliver_to_inbox(inbox, family, header, None, event)
        else:
            body = mark + t("from_family", plang, alias=name, name=parent.name, text=event.text)
            notes = [o.note_for_maatje for o in outcomes if o.note_for_maatje]
            if notes:
                body += "\n\n" + "\n".join(notes)
            out += await _deliver_to_inbox(inbox, family, "", body, event)
    return out


async def resolve_family(event: Inbound, maatje: Person, ctx: Context) -> Family | list[Outbound]:
    """The family a maatje's message is for, or the messages that ask or explain why not."""
    lang = maatje.lang
    d = ctx.directory
    if event.is_group:
        owner = await d.group_owner(event.transport, event.chat.chat_id)
        if owner != maatje.id:
            return [reply(event, t("group_not_owner", lang))]
        fid = await d.family_for_topic(event.transport, event.chat.chat_id, event.chat.thread_id or "")
        if fid is None:
            return [reply(event, t("group_general", lang))]
    elif event.reply_to_ref and (fid := await d.family_for_thread(event.chat, event.reply_to_ref)):
        pass
    else:
        families = await d.families_of(maatje.id)
        if not families:
            return [reply(event, t("no_families", lang))]
        if len(families) == 1:
            return families[0]
        token = await d.put_pending(
            {"text": event.text, "kind": event.kind.value, "ref": event.message_ref, "media": event.media},
            timedelta(minutes=ctx.rules.pending_choice_minutes),
        )
        buttons = tuple((Button(f.alias, f"fam:{token}:{f.id}"),) for f in families)
        return [reply(event, t("choose_family", lang), buttons)]
    family = await d.get_family(fid)
    if family is None or family.maatje_id != maatje.id:
        return [reply(event, t("not_your_family", lang))]
    return family


async def send_to_family(event: Inbound, maatje: Person, family: Family, ctx: Context) -> list[Outbound]:
    if event.kind is InboundKind.TEXT and len(event.text) > ctx.rules.max_text_chars:
        return [reply(event, t("too_long", maatje.lang, limit=ctx.rules.max_text_chars))]
    parents = await ctx.directory.parents_of(family.id)
    out: list[Outbound] = []
    paused = 0
    for parent in parents:
        if parent.paused:
            paused += 1
            continue
        lang = parent.lang
        if event.kind is InboundKind.MEDIA:
            header = t("from_maatje_media", lang, name=maatje.name) + (f"\n{event.text}" if event.text else "")
            for msg in await to_person(ctx, parent, header):
                out.append(msg)
                if msg.to.transport == event.transport and event.message_ref:
                    out.append(Outbound(to=msg.to, copy_of=(event.chat, event.message_ref)))
        else:
            for piece in chunks(t("from_maatje", lang, name=maatje.name, text=event.text)):
                out += await to_person(ctx, parent, piece)
    if not out:
        key = "parent_paused_for_maatje" if paused else "no_parent_reachable"
        return [reply(event, t(key, maatje.lang, alias=family.alias))]
    return out


async def handle_maatje_message(event: Inbound, maatje: Person, ctx: Context) -> list[Outbound]:
    target = await resolve_family(event, maatje, ctx)
    if isinstance(target, list):
        return target
    return await send_to_family(event, maatje, target, ctx)


async def handle_family_choice(event: Inbound, maatje: Person, data: str, ctx: Context) -> list[Outbound]:
    """Callback "fam:<token>:<family id>": send the waiting message to the chosen family."""
    token, _, fid = data.partition(":")
    pending = await ctx.directory.take_pending(token)
    if pending is None:
        return [reply(event, t("choice_expired", maatje.lang))]
    family = await ctx.directory.get_family(fid)
    if family is None or family.maatje_id != maatje.id:
        return [reply(event, t("not_your_family", maatje.lang))]
    original = Inbound(
        transport=event.transport,
        event_id=event.event_id,
        sender=event.sender,
        chat=event.chat,
        kind=InboundKind(pending["kind"]),
        text=pending["text"],
        message_ref=pending["ref"],
        media=pending["media"],
    )
    sent = await send_to_family(original, maatje, family, ctx)
    delivered = any(m.to != event.chat for m in sent)
    # The confirmation answers the maatje's own message and carries the family: a reply to it goes
    # to that family without asking again, and a transport can file the message under it.
    confirm = Outbound(
        to=event.chat,
        text=t("sent_to", maatje.lang, alias=family.alias),
        reply_to_ref=pending["ref"] or None,
        family_id=family.id,
    )
    return [*sent, confirm] if delivered else sent
