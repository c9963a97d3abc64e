"""Chat entry points: the safety hook on every parent message, /hulp, /escaleer, the alert buttons,
and the closing note. Each parses the update and hands it to the EscalationService."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from bot.domain import Button, Family, Inbound, Outbound, Person, Role
from escalation import texts as tx
from escalation.model import Level, Source
from escalation.service import STAFF, EscalationService, Raised
from handlers.context import Context, HookOutcome, reply, to_person
from handlers.texts import lang_of
from handlers.texts import t as core_t

log = logging.getLogger(__name__)

PICK_TTL = timedelta(minutes=60)


def trigger_of(event: Inbound) -> str:
    return f"{event.transport}:{event.event_id}"


def service(ctx: Context) -> EscalationService:
    return ctx.services["escalation"]


def assess(analysis: Any, text: str) -> Any:
    """The NLU's safety result, or the local safety check when there is no NLU result: safety always runs."""
    safety = getattr(analysis, "safety", None)
    if safety is not None and getattr(safety, "level", None) is not None:
        return safety
    from nlu.safety import assess as local_assess  # lazily: the NLU loads its lexicon on first use

    return local_assess(text)


def sos_buttons(lang: str) -> tuple[tuple[Button, ...], ...]:
    return ((Button(tx.t("sos_button", lang), "esc:sos"),),)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def parent_text(
    opening: str,
    raised: Raised | None,
    cats: tuple[str, ...],
    lang: str,
    maatje: Person | None,
    maatje_key: str = "parent_maatje",
) -> str:
    """What to do now (numbers that fit), then honestly who was asked to get in touch."""
    parts = [tx.t(opening, lang), tx.helplines(cats, lang)]
    state = raised.state if raised else "failed"
    if state == "held" and raised and raised.holder:
        parts.append(tx.t("parent_held", lang, name=raised.holder.name))
    elif state == "asked" and raised:
        parts.append(tx.t("parent_asked", lang, who=tx.who(raised.who_kind, lang)))
    elif state in ("nobody", "held"):
        parts.append(tx.t("parent_nobody", lang))
    elif state == "pending":
        parts.append(tx.t("parent_pending", lang))
    else:
        parts.append(tx.t("failed", lang))
    if maatje:
        parts.append(tx.t(maatje_key, lang, maatje=maatje.name))
    return "\n\n".join(parts)


def status_for_maatje(raised: Raised | None, lang: str) -> str:
    state = raised.state if raised else "nobody"
    if state == "held" and raised and raised.holder:
        return tx.t("maatje_status_held", lang, name=raised.holder.name)
    if state == "asked" and raised:
        return tx.t("maatje_status_asked", lang, who=_cap(tx.who(raised.who_kind, lang)))
    if state == "pending":
        return tx.t("maatje_status_pending", lang)
    return tx.t("maatje_status_nobody", lang)


def maatje_note(raised: Raised | None, cats: tuple[str, ...], lang: str) -> str:
    names = tx.categories(cats, lang)
    state = raised.state if raised else "nobody"
    if state == "held" and raised and raised.holder:
        return tx.t("maatje_note_held", lang, name=raised.holder.name)
    if state == "asked" and raised:
        return tx.t("maatje_note", lang, cats=names, who=_cap(tx.who(raised.who_kind, lang)))
    if state == "pending":
        return tx.t("maatje_note_pending", lang, cats=names)
    return tx.t("maatje_note_nobody", lang, cats=names)


async def _maatje(ctx: Context, family: Family) -> Person | None:
    return await ctx.directory.get_person(family.maatje_id) if family.maatje_id else None


# --- parents ---------------------------------------------------------------------------------
async def safety_hook(event: Inbound, parent: Person, family: Family, analysis: Any, ctx: Context) -> HookOutcome:
    """A parent hook (runs first): a message that signals danger alerts the chain, gives the parent
    the numbers that fit, and reaches the maatje marked 🚨 (even when the parent paused)."""
    safety = assess(analysis, event.text)
    if safety.level not in ("concern", "acute"):
        return HookOutcome()
    cats = tuple(safety.categories)
    maatje = await _maatje(ctx, family)
    raised: Raised | None = None
    try:
        raised = await service(ctx).raise_(
            family=family,
            by=parent,
            level=Level(safety.level),
            source=Source.SIGNAL,
            trigger=trigger_of(event),
            categories=cats,
            text=event.text,
        )
    except Exception:
        log.critical(
            "escalation could not be raised for family %s (event %s)", family.id, event.event_id, exc_info=True
        )
    text = parent_text("parent_open", raised, cats, parent.lang, maatje)
    return HookOutcome(
        messages=(reply(event, text, sos_buttons(parent.lang)),),
        escalated=True,
        note_for_maatje=maatje_note(raised, cats, maatje.lang if maatje else "nl"),
    )


async def _parent_asks(event: Inbound, parent: Person, ctx: Context, text: str, opening: str) -> list[Outbound]:
    """/hulp, /hulp <what is wrong>, or the SOS button: an acute alert raised by the parent."""
    family = await ctx.directory.get_family(parent.family_id or "")
    if family is None:
        log.error("parent %s has no family", parent.id)
        return [reply(event, core_t("error", parent.lang))]
    cats = tuple(assess(None, text).categories) if text else ()
    maatje = await _maatje(ctx, family)
    raised: Raised | None = None
    try:
        raised = await service(ctx).raise_(
            family=family,
            by=parent,
            level=Level.ACUTE,
            source=Source.PARENT,
            trigger=trigger_of(event),
            categories=cats,
            text=text,
        )
    except Exception:
        log.critical(
            "escalation could not be raised for family %s (event %s)", family.id, event.event_id, exc_info=True
        )
    out = [
        reply(
            event,
            parent_text(opening, raised, cats, parent.lang, maatje, "parent_maatje_told"),
            sos_buttons(parent.lang),
        )
    ]
    if maatje:
        lang = maatje.lang
        note = tx.t(
            "maatje_parent_help", lang, parent=parent.name, alias=family.alias, status=status_for_maatje(raised, lang)
        )
        if text:
            note += "\n" + tx.quote(text)
        out += await to_person(ctx, maatje, note)
    return out


async def handle_hulp(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    if person is None:
        return [reply(event, core_t("unknown_user", lang_of(event.lang)))]
    if person.role is not Role.PARENT:
        return [reply(event, tx.t("help_non_parent", person.lang))]
    return await _parent_asks(event, person, ctx, args, "parent_help_open")


# --- maatjes ---------------------------------------------------------------------------------
async def _family_for(event: Inbound, maatje: Person, reason: str, ctx: Context) -> Family | list[Outbound]:
    """The family an /escaleer is about: the forum topic, the replied-to message, the only family,
    or a choice (the reason waits, sealed, for the button)."""
    d, lang = ctx.directory, maatje.lang
    if event.is_group:
        owner = await d.group_owner(event.transport, event.chat.chat_id)
        fid = await d.family_for_topic(event.transport, event.chat.chat_id, event.chat.thread_id or "")
        if owner != maatje.id or fid is None:
            return [reply(event, tx.t("escalate_how", lang))]
    elif event.reply_to_ref and (fid := await d.family_for_thread(event.chat, event.reply_to_ref)):
        pass
    else:
        families = await d.families_of(maatje.id)
        if not families:
            return [reply(event, tx.t("escalate_how", lang))]
        if len(families) > 1:
            token = await service(ctx).store.put_pick({"reason": reason}, PICK_TTL)
            buttons = tuple((Button(f.alias, f"esc:pick:{token}:{f.id}"),) for f in families)
            return [reply(event, tx.t("escalate_which", lang), buttons)]
        return families[0]
    family = await d.get_family(fid)
    if family is None or family.maatje_id != maatje.id:
        return [reply(event, tx.t("not_your_family", lang))]
    return family


async def _maatje_escalates(
    event: Inbound, maatje: Person, family: Family, reason: str, ctx: Context
) -> list[Outbound]:
    lang = maatje.lang
    raised: Raised | None = None
    try:
        raised = await service(ctx).raise_(
            family=family,
            by=maatje,
            level=Level.ACUTE,
            source=Source.MAATJE,
            trigger=trigger_of(event),
            reason=reason.strip(),
        )
    except Exception:
        log.critical("escalation by maatje %s failed (event %s)", maatje.id, event.event_id, exc_info=True)
    key = "escalated_attached" if raised and raised.attached else "escalated"
    text = tx.t(key, lang, alias=family.alias, status=status_for_maatje(raised, lang))
    return [reply(event, text)]


async def handle_escalate(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    if person is None:
        return [reply(event, core_t("unknown_user", lang_of(event.lang)))]
    if person.role is Role.PARENT:
        return await _parent_asks(event, person, ctx, args, "parent_help_open")
    if person.role is not Role.MAATJE:
        return [reply(event, tx.t("escalate_only_maatje", person.lang))]
    target = await _family_for(event, person, args, ctx)
    if isinstance(target, list):
        return target
    return await _maatje_escalates(event, person, target, args, ctx)


# --- buttons and notes -----------------------------------------------------------------------
async def handle_callback(event: Inbound, person: Person, data: str, ctx: Context) -> list[Outbound]:
    """esc:ack:<id>, esc:done:<id> (staff); esc:sos (parent); esc:pick:<token>:<family>, and
    esc:x:<family> -> esc:go:<family> | esc:no (maatje)."""
    action, _, rest = data.partition(":")
    svc = service(ctx)
    if action == "ack":
        return await svc.acknowledge(rest, person, event.chat)
    if action == "done":
        return await svc.request_resolve(rest, person, event.chat)
    if action == "sos" and person.role is Role.PARENT:
        return await _parent_asks(event, person, ctx, "", "parent_sos_open")
    if action == "x" and person.role is Role.MAATJE:
        # The button sits under every relayed message: one tap only asks, so a slip alerts nobody.
        family = await ctx.directory.get_family(rest)
        if family is None or family.maatje_id != person.id:
            return [reply(event, tx.t("not_your_family", person.lang))]
        buttons = (
            (Button(tx.t("escalate_confirm_yes", person.lang), f"esc:go:{family.id}"),),
            (Button(tx.t("escalate_confirm_no", person.lang), "esc:no"),),
        )
        return [reply(event, tx.t("escalate_confirm", person.lang, alias=family.alias), buttons)]
    if action == "no":
        return [reply(event, tx.t("escalate_cancelled", person.lang))]
    if action in ("pick", "go") and person.role is Role.MAATJE:
        reason = ""
        if action == "pick":
            token, _, rest = rest.partition(":")
            payload = await svc.store.take_pick(token)
            if payload is None:
                return [reply(event, tx.t("escalate_expired", person.lang))]
            reason = payload.get("reason", "")
        family = await ctx.directory.get_family(rest)
        if family is None or family.maatje_id != person.id:
            return [reply(event, tx.t("not_your_family", person.lang))]
        return await _maatje_escalates(event, person, family, reason, ctx)
    return [reply(event, core_t("choice_expired", person.lang))]


async def handle_note_text(event: Inbound, person: Person, ctx: Context) -> list[Outbound] | None:
    """A staff text while we wait for their closing note becomes that note."""
    if person.role not in STAFF or not event.text.strip():
        return None
    return await service(ctx).resolve_with_note(person, event.text, event.chat)
