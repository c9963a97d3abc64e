"""Jargon and procedures in chat: /uitleg, recognised questions, letters full of jargon, step buttons.

Every parent message still reaches the maatje; when the bot explains something, the maatje's copy
carries a one-line note so they know what the parent was already told.
"""

from __future__ import annotations

from typing import Any

from bot.domain import Button, Family, Inbound, Outbound, Person, Role
from handlers.context import Context, HookOutcome, reply
from handlers.router import Router
from handlers.texts import render

# A message "is a letter" when it names this many distinct terms (or fewer, if long).
LETTER_MIN_TERMS = 3
LETTER_LONG_CHARS = 300
LETTER_MAX_LINES = 12

TEXTS = {
    "more": {"nl": "Meer uitleg", "en": "More"},
    "next": {"nl": "Volgende stap ▶", "en": "Next step ▶"},
    "last": {
        "nl": "Dit was de laatste stap. Vragen? Stel ze gerust aan je maatje.",
        "en": "That was the last step. Questions? Ask your maatje.",
    },
    "letter": {
        "nl": "In je bericht staan deze moeilijke woorden:",
        "en": "Your message contains these difficult words:",
    },
    "unknown": {
        "nl": "Dat woord ken ik (nog) niet. Probeer het anders te schrijven. Of vraag het aan je maatje.",
        "en": "I don't know that word (yet). Try writing it differently, or ask your maatje.",
    },
    "usage": {
        "nl": "Typ /uitleg en een woord. Bijvoorbeeld: /uitleg OTS. Of: /uitleg hoe werkt een zitting",
        "en": "Type /uitleg and a word. For example: /uitleg OTS. Or: /uitleg how does a hearing work",
    },
    "note": {"nl": "ℹ️ Naast gaf uitleg over: {what}", "en": "ℹ️ Naast explained: {what}"},
    "note_family": {"nl": "ℹ️ {alias}: Naast gaf uitleg over {what}", "en": "ℹ️ {alias}: Naast explained {what}"},
    "not_legal_advice": {
        "nl": "Dit is algemene uitleg, geen juridisch advies. "
        "Voor jouw situatie: vraag een advocaat of het Juridisch Loket.",
        "en": "This is general information, not legal advice. For your situation, ask a lawyer or the Juridisch Loket.",
    },
}


def _t(key: str, lang: str, **kw: Any) -> str:
    return render(TEXTS, key, lang, **kw)


def _glossary() -> Any:
    from nlu.glossary import default_glossary

    return default_glossary()


def _procedures() -> Any:
    from nlu.procedures import default_procedures

    return default_procedures()


def term_answer(term_id: str, lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    text = _glossary().explain(term_id, lang)
    return text, ((Button(_t("more", lang), f"ex:more:{term_id}"),),)


def procedure_step(proc_id: str, index: int, lang: str) -> tuple[str, tuple[tuple[Button, ...], ...]]:
    procs = _procedures()
    proc = procs.get(proc_id)
    text = procs.step_text(proc_id, index, lang)
    if index == 0:
        title = proc.title.get(lang) or proc.title["nl"]
        text = f"{title}\n\n{text}"
    if index + 1 < len(proc.steps):
        return text, ((Button(_t("next", lang), f"ex:step:{proc_id}:{index + 1}"),),)
    return f"{text}\n\n{_t('last', lang)}\n{_t('not_legal_advice', lang)}", ()


def _term_name(term_id: str) -> str:
    term = _glossary().get(term_id)
    return term.term if term else term_id


def letter_lines(analysis: Any, lang: str) -> list[str]:
    """One line per distinct term spotted in a long message, in text order."""
    ids = list(analysis.term_ids)
    long_text = len(analysis.text) >= LETTER_LONG_CHARS
    if len(ids) < LETTER_MIN_TERMS and not (long_text and len(ids) >= 2):
        return []
    return [f"• {_glossary().explain(i, lang)}" for i in ids[:LETTER_MAX_LINES]]


async def explain_hook(event: Inbound, parent: Person, family: Family, analysis: Any, ctx: Context) -> HookOutcome:
    """Answer a parent's jargon question at once; the message is still relayed, with a note (in
    Dutch: notes go to maatjes, whose working language is Dutch)."""
    if analysis is None or analysis.safety.level != "none":
        return HookOutcome()  # danger first: no glossary lessons in a crisis
    lang = parent.lang
    if analysis.intent == "explain_term" and analysis.term_id:
        text, buttons = term_answer(analysis.term_id, lang)
        note = _t("note", "nl", what=_term_name(analysis.term_id))
        return HookOutcome(messages=(reply(event, text, buttons),), note_for_maatje=note)
    if analysis.intent == "explain_procedure" and analysis.procedure_id:
        text, buttons = procedure_step(analysis.procedure_id, 0, lang)
        title = _procedures().get(analysis.procedure_id).title["nl"]
        return HookOutcome(messages=(reply(event, text, buttons),), note_for_maatje=_t("note", "nl", what=title))
    lines = letter_lines(analysis, lang)
    if lines:
        text = _t("letter", lang) + "\n" + "\n".join(lines)
        names = ", ".join(_term_name(i) for i in analysis.term_ids[:LETTER_MAX_LINES])
        return HookOutcome(messages=(reply(event, text),), note_for_maatje=_t("note", "nl", what=names))
    return HookOutcome()


async def handle_uitleg(event: Inbound, person: Person | None, args: str, ctx: Context) -> list[Outbound]:
    lang = person.lang if person else "nl"
    query = args.strip()
    if not query:
        return [reply(event, _t("usage", lang))]
    match = _glossary().lookup(query)
    proc = _procedures().lookup(query)
    if proc is not None and (match is None or len(query.split()) > 2):
        text, buttons = procedure_step(proc.id, 0, lang)
        what = proc.title["nl"]
    elif match is not None:
        text, buttons = term_answer(match.term_id, lang)
        what = match.value
    else:
        return [reply(event, _t("unknown", lang))]
    out = [reply(event, text, buttons)]
    if person is not None and person.role is Role.PARENT:
        out += await _note_to_maatje(ctx, person, what)
    return out


async def _note_to_maatje(ctx: Context, parent: Person, what: str) -> list[Outbound]:
    family = await ctx.directory.get_family(parent.family_id or "")
    if family is None or not family.maatje_id:
        return []
    maatje, addrs, groups = await ctx.directory.reach(family.maatje_id)
    if maatje is None:
        return []
    note = _t("note_family", maatje.lang, alias=family.alias, what=what)
    out = []
    for addr in addrs:
        group = groups.get(addr.transport)
        to = type(addr)(addr.transport, group) if group else addr
        out.append(
            Outbound(to=to, text=note, family_id=family.id, topic_title=family.alias if group else None, silent=True)
        )
    return out


async def handle_explain_button(event: Inbound, person: Person, data: str, ctx: Context) -> list[Outbound]:
    """Callbacks "ex:more:<term>" and "ex:step:<procedure>:<index>"."""
    lang = person.lang
    kind, _, rest = data.partition(":")
    if kind == "more" and _glossary().get(rest):
        term = _glossary().get(rest)
        related = [r for r in term.related if _glossary().get(r)][:4]
        buttons = tuple((Button(_glossary().get(r).term, f"ex:term:{r}"),) for r in related)
        return [reply(event, _glossary().explain(rest, lang, long=True), buttons)]
    if kind == "term" and _glossary().get(rest):
        text, buttons = term_answer(rest, lang)
        return [reply(event, text, buttons)]
    if kind == "step":
        proc_id, _, index = rest.rpartition(":")
        proc = _procedures().get(proc_id)
        if proc is not None and index.isdigit() and int(index) < len(proc.steps):
            text, buttons = procedure_step(proc_id, int(index), lang)
            return [reply(event, text, buttons)]
    return [reply(event, _t("unknown", lang))]


def register(router: Router) -> None:
    router.command("uitleg", "explain", "wat")(handle_uitleg)
    router.callback("ex")(handle_explain_button)
