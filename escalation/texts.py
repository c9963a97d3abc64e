"""What the escalation says to parents (B1, informal "je"), maatjes and professionals, in nl and en.

Numbers come only from shared/domain/facts.md sections 0-1: 112, Veilig Thuis 0800-2000, 113 and
0800-0113 (chat via 113.nl). Never add another. Never promise what is not happening: the status
line to a parent names who was really alerted, or says that nobody could be reached.
"""

from __future__ import annotations

from collections.abc import Iterable

from handlers.texts import EMERGENCY, render

SUICIDE = {"suicide", "self_harm"}
DANGER = {"violence", "child_missing", "child_unsafe", "weapon"}
MEDICAL = {"medical"}

_BLOCKS = {
    "suicide": {
        "nl": "Denk je aan zelfdoding, of maak je je zorgen om iemand? Bel 113 of gratis 0800-0113. "
        "Dat kan dag en nacht. Je kunt ook chatten via 113.nl.",
        "en": "Thinking about suicide, or worried about someone? Call 113 or 0800-0113 (free). "
        "You can call day and night. You can also chat at 113.nl.",
    },
    "danger": {
        "nl": "Is er nu gevaar? Bel meteen 112.\n"
        "Zorgen over geweld thuis of over een kind? Bel Veilig Thuis: 0800-2000. Dag en nacht, gratis.",
        "en": "Is anyone in danger right now? Call 112 straight away.\n"
        "Worried about violence at home or about a child? Call Veilig Thuis: 0800-2000. Day and night, free.",
    },
    "medical": {
        "nl": "Is iemand ernstig gewond of ziek? Bel meteen 112.",
        "en": "Is someone badly hurt or ill? Call 112 straight away.",
    },
    "danger_now": {"nl": "Is er nu direct gevaar? Bel 112.", "en": "Is anyone in danger right now? Call 112."},
}


def helplines(categories: Iterable[str], lang: str) -> str:
    """The numbers that fit the signal: 113 first for suicide or self-harm; 112 and Veilig Thuis for
    violence, a child in danger or a weapon; 112 for a medical emergency; all of them otherwise."""
    lang = lang if lang in ("nl", "en") else "nl"
    cats = set(categories)
    parts = []
    if cats & SUICIDE:
        parts.append(_BLOCKS["suicide"][lang])
    if cats & DANGER:
        parts.append(_BLOCKS["danger"][lang])
    elif cats & MEDICAL:
        parts.append(_BLOCKS["medical"][lang])
    elif parts:
        parts.append(_BLOCKS["danger_now"][lang])
    return "\n".join(parts) if parts else EMERGENCY[lang]


_WHO = {
    "primary": {"nl": "de regisseur van dienst", "en": "the regisseur on call"},
    "backup": {"nl": "de regisseur van dienst", "en": "the regisseur on call"},
    "coordinators": {"nl": "de coördinator", "en": "the coordinator"},
    "regisseurs": {"nl": "een regisseur van ons team", "en": "a regisseur from our team"},
    "repeat": {"nl": "ons team", "en": "our team"},
}

_ROLE = {
    "regisseur": {"nl": "regisseur", "en": "regisseur"},
    "coordinator": {"nl": "coördinator", "en": "coordinator"},
}

CATEGORY = {
    "violence": {"nl": "geweld", "en": "violence"},
    "suicide": {"nl": "zelfdoding", "en": "suicide"},
    "self_harm": {"nl": "zelfbeschadiging", "en": "self-harm"},
    "child_missing": {"nl": "kind vermist", "en": "child missing"},
    "child_unsafe": {"nl": "kind onveilig", "en": "child unsafe"},
    "weapon": {"nl": "wapen", "en": "weapon"},
    "medical": {"nl": "medisch", "en": "medical"},
    "substance": {"nl": "middelen", "en": "substances"},
    "fear": {"nl": "angst", "en": "fear"},
}

STEP = {
    "primary": {"nl": "regisseur van dienst", "en": "regisseur on call"},
    "backup": {"nl": "achterwacht van dienst", "en": "backup on call"},
    "coordinators": {"nl": "coördinatoren", "en": "coordinators"},
    "regisseurs": {"nl": "alle regisseurs", "en": "all regisseurs"},
    "repeat": {"nl": "herhaling aan iedereen", "en": "repeat to everyone"},
}

LEVEL = {"acute": {"nl": "ACUUT", "en": "ACUTE"}, "concern": {"nl": "ZORG", "en": "CONCERN"}}

TEXTS: dict[str, dict[str, str]] = {
    # --- parents ---------------------------------------------------------------------------
    "parent_open": {
        "nl": "Dank je dat je dit vertelt. Je staat er niet alleen voor.",
        "en": "Thank you for telling me. You are not alone in this.",
    },
    "parent_help_open": {
        "nl": "Je vraagt om hulp. Dat is goed.",
        "en": "You are asking for help. That is good.",
    },
    "parent_sos_open": {
        "nl": "Ik geef het nu met spoed door.",
        "en": "I am passing this on urgently now.",
    },
    "parent_asked": {
        "nl": "Ik heb {who} gevraagd om contact met je op te nemen. Dat is een hulpverlener van ons team.",
        "en": "I have asked {who} to contact you. That is a professional from our team.",
    },
    "parent_held": {
        "nl": "{name} weet hiervan. {name} neemt contact met je op.",
        "en": "{name} knows about this. {name} will contact you.",
    },
    "parent_pending": {
        "nl": "Ik geef je bericht door aan ons team. Is er gevaar? Wacht dan niet: bel de nummers hierboven.",
        "en": "I am passing your message on to our team. If there is danger, don't wait: call the numbers above.",
    },
    "parent_nobody": {
        "nl": "Op dit moment kan ik niemand van ons team bereiken. Gebruik daarom de nummers hierboven.",
        "en": "Right now I cannot reach anyone from our team. So please use the numbers above.",
    },
    "parent_maatje": {
        "nl": "Je maatje {maatje} krijgt je bericht ook.",
        "en": "Your maatje {maatje} gets your message too.",
    },
    "parent_maatje_told": {
        "nl": "Je maatje {maatje} weet het ook.",
        "en": "Your maatje {maatje} knows too.",
    },
    "parent_acked": {
        "nl": "{name} ({role}) heeft je bericht gelezen. {name} neemt contact met je op.",
        "en": "{name} ({role}) has read your message. {name} will contact you.",
    },
    "sos_button": {"nl": "🆘 Ik heb nu hulp nodig", "en": "🆘 I need help now"},
    "failed": {
        "nl": "Het lukt me nu niet om ons team te waarschuwen. Gebruik daarom de nummers hierboven.",
        "en": "I can't alert our team right now. So please use the numbers above.",
    },
    # --- maatjes ---------------------------------------------------------------------------
    "maatje_note": {
        "nl": "🚨 Dit bericht lijkt op gevaar ({cats}). {who} is gevraagd om contact op te nemen. "
        "Jij hoeft dit niet alleen op te lossen.",
        "en": "🚨 This message looks like danger ({cats}). {who} has been asked to get in touch. "
        "You don't have to solve this alone.",
    },
    "maatje_note_held": {
        "nl": "🚨 Dit bericht hoort bij een melding die {name} al heeft opgepakt. Het is aan {name} doorgegeven.",
        "en": "🚨 This message belongs to an alert {name} has already picked up. It has been passed on to {name}.",
    },
    "maatje_note_pending": {
        "nl": "🚨 Dit bericht lijkt op gevaar ({cats}). Ik geef het door aan het team.",
        "en": "🚨 This message looks like danger ({cats}). I am passing it on to the team.",
    },
    "maatje_note_nobody": {
        "nl": "🚨 Dit bericht lijkt op gevaar ({cats}), maar ik kan nu niemand van het team bereiken. "
        "Is er direct gevaar? Bel 112. Zorgen om een kind of geweld thuis: Veilig Thuis 0800-2000.",
        "en": "🚨 This message looks like danger ({cats}), but I can't reach anyone from the team now. "
        "Danger right now? Call 112. Worried about a child or violence at home: Veilig Thuis 0800-2000.",
    },
    "maatje_parent_help": {
        "nl": "🚨 {parent} ({alias}) vroeg om hulp. {status}",
        "en": "🚨 {parent} ({alias}) asked for help. {status}",
    },
    "maatje_status_asked": {
        "nl": "{who} is gevraagd om contact op te nemen.",
        "en": "{who} has been asked to get in touch.",
    },
    "maatje_status_held": {
        "nl": "{name} heeft de melding al opgepakt.",
        "en": "{name} has already picked up the alert.",
    },
    "maatje_status_nobody": {
        "nl": "Ik kan nu niemand van het team bereiken. Is er direct gevaar? Bel 112.",
        "en": "I can't reach anyone from the team now. Danger right now? Call 112.",
    },
    "maatje_status_pending": {"nl": "Ik geef het door aan het team.", "en": "I am passing it on to the team."},
    "escalated": {
        "nl": "🚨 Melding gedaan voor {alias}. {status} Je hoort het als iemand het oppakt.",
        "en": "🚨 Alert raised for {alias}. {status} You'll hear when someone picks it up.",
    },
    "escalated_attached": {
        "nl": "Er loopt al een melding voor {alias}. Ik heb die van jou erbij gezet. {status}",
        "en": "There is already an alert for {alias}. I have added yours to it. {status}",
    },
    "escalate_which": {
        "nl": "Voor welk gezin wil je een melding doen?",
        "en": "Which family do you want to raise an alert for?",
    },
    "escalate_how": {
        "nl": "Zo doe je een melding: gebruik /escaleer als antwoord op een bericht van het gezin. "
        "Je mag er een korte reden achter zetten, bijvoorbeeld: /escaleer ik maak me zorgen om de kinderen.",
        "en": "To raise an alert: use /escaleer as a reply to a message from the family. "
        "You may add a short reason, for example: /escaleer I am worried about the children.",
    },
    "escalate_only_maatje": {
        "nl": "Een melding doe je als maatje. Je krijgt meldingen hier binnen met knoppen om ze op te pakken.",
        "en": "Alerts are raised by maatjes. Alerts reach you here, with buttons to pick them up.",
    },
    "escalate_confirm": {
        "nl": "Wil je {alias} nu melden bij de regisseur van dienst?",
        "en": "Do you want to alert the regisseur on call about {alias} now?",
    },
    "escalate_confirm_yes": {"nl": "🚨 Ja, nu melden", "en": "🚨 Yes, alert now"},
    "escalate_confirm_no": {"nl": "Nee, toch niet", "en": "No, cancel"},
    "escalate_cancelled": {"nl": "Oké, er is niets gemeld.", "en": "OK, nothing was reported."},
    "escalate_expired": {
        "nl": "Deze keuze is verlopen. Typ /escaleer nog een keer.",
        "en": "This choice has expired. Type /escaleer again.",
    },
    "not_your_family": {
        "nl": "Dit gezin is niet (meer) aan jou gekoppeld. Er is geen melding gedaan.",
        "en": "This family is not (or no longer) linked to you. No alert was raised.",
    },
    "maatje_acked": {
        "nl": "✅ {name} ({role}) heeft de melding over {alias} opgepakt.",
        "en": "✅ {name} ({role}) has picked up the alert about {alias}.",
    },
    "maatje_resolved": {
        "nl": "✅ De melding over {alias} is afgehandeld door {name}.",
        "en": "✅ The alert about {alias} has been closed by {name}.",
    },
    # --- professionals ---------------------------------------------------------------------
    "alert_head": {"nl": "🚨 {level} — {alias}", "en": "🚨 {level} — {alias}"},
    "alert_repeat": {
        "nl": "⏰ Nog niemand heeft dit opgepakt (al {minutes} min).",
        "en": "⏰ Nobody has picked this up yet ({minutes} min so far).",
    },
    "alert_meta": {"nl": "Melding {id} · stap: {step}", "en": "Alert {id} · step: {step}"},
    "alert_maatje": {"nl": "Maatje: {maatje}", "en": "Maatje: {maatje}"},
    "alert_signal": {"nl": "Signaal: {cats}", "en": "Signal: {cats}"},
    "alert_by_parent": {"nl": "{parent} (ouder) vroeg zelf om hulp.", "en": "{parent} (parent) asked for help."},
    "alert_by_maatje": {"nl": "Maatje {maatje} doet een melding.", "en": "Maatje {maatje} raised this alert."},
    "alert_reason": {"nl": "Reden: {reason}", "en": "Reason: {reason}"},
    "alert_messages": {"nl": "Bericht van {parent}:", "en": "Message from {parent}:"},
    "alert_card": {"nl": "Veiligheidskaart:\n{card}", "en": "Safety card (veiligheidskaart):\n{card}"},
    "alert_no_card": {
        "nl": 'Nog geen veiligheidskaart. Maak er een met: naast escalations card {family} --set "..."',
        "en": 'No safety card yet. Add one with: naast escalations card {family} --set "..."',
    },
    "alert_ask": {
        "nl": "Pak jij dit op? Druk op 'Ik pak dit op'. Dan stopt de keten.",
        "en": "Will you take this? Press 'I'll take this'. That stops the chain.",
    },
    "btn_ack": {"nl": "Ik pak dit op", "en": "I'll take this"},
    "btn_done": {"nl": "Afgehandeld", "en": "Resolved"},
    "forward": {
        "nl": "🚨 Nieuw bericht bij melding {id} ({alias}) van {parent}:\n{text}",
        "en": "🚨 New message for alert {id} ({alias}) from {parent}:\n{text}",
    },
    "forward_help": {
        "nl": "🆘 {parent} ({alias}) vraagt opnieuw om hulp. Melding {id}.",
        "en": "🆘 {parent} ({alias}) asks for help again. Alert {id}.",
    },
    "forward_maatje": {
        "nl": "🚨 Maatje {maatje} doet ook een melding over {alias} (melding {id}).{reason}",
        "en": "🚨 Maatje {maatje} also raised an alert about {alias} (alert {id}).{reason}",
    },
    "ack_you": {
        "nl": "Je hebt de melding over {alias} opgepakt. {parent_line}\nDruk op 'Afgehandeld' als het klaar is.",
        "en": "You have picked up the alert about {alias}. {parent_line}\nPress 'Resolved' when it is done.",
    },
    "ack_parent_told": {
        "nl": "De ouder hoort dat jij contact opneemt.",
        "en": "The parent is told you will get in touch.",
    },
    "ack_parent_not_told": {
        "nl": "De ouder weet nog niet van deze melding (een maatje deed hem).",
        "en": "The parent doesn't know about this alert yet (a maatje raised it).",
    },
    "ack_others": {
        "nl": "✅ {name} heeft de melding over {alias} opgepakt. Je hoeft niets meer te doen.",
        "en": "✅ {name} has picked up the alert about {alias}. You don't need to do anything.",
    },
    "ack_held": {"nl": "{name} heeft deze melding al opgepakt.", "en": "{name} has already picked up this alert."},
    "ack_yours": {"nl": "Je hebt deze melding al opgepakt.", "en": "You have already picked up this alert."},
    "already_resolved": {"nl": "Deze melding is al afgehandeld.", "en": "This alert has already been closed."},
    "unknown_alert": {"nl": "Deze melding ken ik niet.", "en": "I don't know this alert."},
    "staff_only": {
        "nl": "Alleen een regisseur of coördinator kan een melding oppakken.",
        "en": "Only a regisseur or coordinator can pick up an alert.",
    },
    "ask_note": {
        "nl": "Schrijf nu in één bericht een korte notitie over {alias}: wat is er gedaan? "
        "Ik bewaar de notitie versleuteld bij de melding.",
        "en": "Now write a short note about {alias} in one message: what was done? "
        "I keep the note encrypted with the alert.",
    },
    "resolved_you": {"nl": "✅ Afgehandeld. Dank je wel.", "en": "✅ Closed. Thank you."},
    "resolved_others": {
        "nl": "✅ De melding over {alias} is afgehandeld door {name}.",
        "en": "✅ The alert about {alias} has been closed by {name}.",
    },
    "help_non_parent": {
        "nl": "Zorgen over een gezin? Gebruik /escaleer als antwoord op een bericht van het gezin.\n\n{emergency}",
        "en": "Worried about a family? Use /escaleer as a reply to a message from the family.\n\n{emergency}",
    },
}


def t(key: str, lang: str = "nl", **params: object) -> str:
    return render(TEXTS, key, lang, **params)


def who(kind: str, lang: str) -> str:
    return _WHO.get(kind, _WHO["repeat"]).get(lang) or _WHO[kind]["nl"]


def role(value: str, lang: str) -> str:
    return _ROLE.get(value, {}).get(lang, value)


def categories(cats: Iterable[str], lang: str) -> str:
    names = [CATEGORY.get(c, {}).get(lang, c) for c in cats]
    return ", ".join(names) if names else ("niet gespecificeerd" if lang == "nl" else "not specified")


def quote(text: str, limit: int = 1200) -> str:
    """A parent's message inside an alert: cut to keep the alert under a transport's text limit."""
    text = text.strip()
    if len(text) > limit:
        text = text[:limit].rstrip() + " …"
    return "“" + text + "”"
