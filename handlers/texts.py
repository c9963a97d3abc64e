"""Everything the bot says, in Dutch (B1, informal "je") and English.

Keep sentences short. Never add a phone number that is not in EMERGENCY below or in
shared/domain/facts.md with a source.
"""

from __future__ import annotations

EMERGENCY = {
    "nl": (
        "Is er nu gevaar? Bel 112.\n"
        "Zorgen over geweld thuis of over een kind? Bel Veilig Thuis: 0800-2000. Dag en nacht, gratis.\n"
        "Denk je aan zelfdoding? Bel 113 of gratis 0800-0113, of chat via 113.nl."
    ),
    "en": (
        "Is anyone in danger right now? Call 112.\n"
        "Worried about violence at home or about a child? Call Veilig Thuis: 0800-2000. Day and night, free.\n"
        "Thinking about suicide? Call 113 or 0800-0113 (free), or chat at 113.nl."
    ),
}

TEXTS: dict[str, dict[str, str]] = {
    "unknown_user": {
        "nl": "Hoi! Dit is Naast. Ik breng ouders in contact met hun maatje.\n"
        "Ik ken je nog niet. Je hebt een uitnodiging nodig. Vraag je maatje of de coördinator om een link.\n\n"
        "{emergency}",
        "en": "Hi! This is Naast. I connect parents with their maatje (buddy).\n"
        "I don't know you yet. You need an invitation. Ask your maatje or the coordinator for a link.\n\n"
        "{emergency}",
    },
    "invite_unknown": {
        "nl": "Deze uitnodiging ken ik niet. Kijk of je de hele link hebt gebruikt. "
        "Of vraag om een nieuwe link.\n\n{emergency}",
        "en": "I don't recognise this invitation. Check that you used the whole link, "
        "or ask for a new one.\n\n{emergency}",
    },
    "invite_used": {
        "nl": "Deze uitnodiging is al gebruikt. Een link werkt maar één keer. Vraag om een nieuwe link.",
        "en": "This invitation has already been used. A link works only once. Ask for a new link.",
    },
    "invite_expired": {
        "nl": "Deze uitnodiging is verlopen. Geen probleem: vraag je maatje of de coördinator om een nieuwe link.",
        "en": "This invitation has expired. No problem: ask your maatje or the coordinator for a new link.",
    },
    "welcome_parent": {
        "nl": "Welkom bij Naast, {name}! 👋\n"
        "Je maatje is {maatje}. Alles wat je hier stuurt, komt bij {maatje}. "
        "{maatje} is vrijwilliger en antwoordt zo snel als het kan. Dat is niet altijd meteen.\n"
        "Vraag je je af wat een woord betekent? Typ bijvoorbeeld: /uitleg OTS\n\n{emergency}",
        "en": "Welcome to Naast, {name}! 👋\n"
        "Your maatje is {maatje}. Everything you send here reaches {maatje}. "
        "{maatje} is a volunteer and answers as soon as possible. That is not always right away.\n"
        "Wondering what a word means? Type for example: /uitleg OTS\n\n{emergency}",
    },
    "welcome_parent_no_maatje": {
        "nl": "Welkom bij Naast, {name}! 👋\n"
        "Er is nog geen maatje voor jullie. Tot die tijd komen je berichten bij de coördinator.\n\n{emergency}",
        "en": "Welcome to Naast, {name}! 👋\n"
        "You don't have a maatje yet. Until then, your messages go to the coordinator.\n\n{emergency}",
    },
    "welcome_maatje": {
        "nl": "Welkom bij Naast, {name}. Hier krijg je de berichten van je gezinnen: {families}.\n"
        "Antwoorden? Gebruik 'Beantwoorden' op een bericht. Dan gaat je antwoord naar dat gezin.",
        "en": "Welcome to Naast, {name}. Here you get the messages of your families: {families}.\n"
        "To answer, use 'Reply' on a message. Your answer then goes to that family.",
    },
    "welcome_staff": {
        "nl": "Welkom bij Naast, {name}. Je bent aangemeld als {role}. Meldingen over veiligheid komen hier binnen.",
        "en": "Welcome to Naast, {name}. You are signed up as {role}. Safety alerts arrive here.",
    },
    "parent_joined": {
        "nl": "✅ {name} van {alias} is nu aangemeld bij Naast. Berichten komen hier binnen.",
        "en": "✅ {name} of {alias} has joined Naast. Their messages will arrive here.",
    },
    "welcome_back": {
        "nl": "Fijn dat je er weer bent, {name}. Berichten worden weer doorgestuurd.",
        "en": "Good to have you back, {name}. Messages are being passed on again.",
    },
    "help_parent": {
        "nl": "Zo werkt Naast:\n"
        "• Typ gewoon je bericht. Het gaat naar je maatje {maatje}.\n"
        "• /uitleg OTS — uitleg van een moeilijk woord.\n"
        "• /stop — even pauzeren. /start — weer verder.\n"
        "• /taal en — English.\n\n{emergency}",
        "en": "How Naast works:\n"
        "• Just type your message. It goes to your maatje {maatje}.\n"
        "• /uitleg OTS — explains a difficult word.\n"
        "• /stop — pause for a while. /start — carry on.\n"
        "• /taal nl — Nederlands.\n\n{emergency}",
    },
    "help_maatje": {
        "nl": "Zo werkt Naast voor maatjes:\n"
        "• Berichten van gezinnen komen hier, met de naam van het gezin erboven.\n"
        "• Antwoord met 'Beantwoorden' op een bericht. Heb je één gezin? Dan mag je ook gewoon typen.\n"
        "• Werk je liever in een groep met onderwerpen? Voeg mij toe als beheerder en typ daar /koppel.\n"
        "• /uitleg TERM — uitleg van een woord.",
        "en": "How Naast works for maatjes:\n"
        "• Messages from families arrive here, headed by the family's name.\n"
        "• Use 'Reply' on a message to answer. With one family you may just type.\n"
        "• Prefer a group with topics? Add me as admin and type /koppel there.\n"
        "• /uitleg TERM — explains a word.",
    },
    "help_staff": {
        "nl": "Je krijgt hier meldingen over veiligheid. /uitleg TERM geeft uitleg van een woord.",
        "en": "You receive safety alerts here. /uitleg TERM explains a word.",
    },
    "paused": {
        "nl": "Gepauzeerd. Je krijgt even geen berichten en je berichten gaan niet naar je maatje. "
        "Typ /start om verder te gaan.\n\n{emergency}",
        "en": "Paused. You won't get messages and your messages won't go to your maatje. "
        "Type /start to carry on.\n\n{emergency}",
    },
    "still_paused": {
        "nl": "Je staat op pauze. Dit bericht is niet doorgestuurd. Typ /start om verder te gaan.",
        "en": "You are paused. This message was not passed on. Type /start to carry on.",
    },
    "maatje_cannot_pause": {
        "nl": "Als maatje kun je niet pauzeren: je gezinnen moeten je kunnen bereiken. "
        "Wil je een tijd stoppen? Vraag de coördinator om je gezinnen over te dragen.",
        "en": "As a maatje you can't pause: your families must be able to reach you. "
        "Need a break? Ask the coordinator to hand your families over.",
    },
    "parent_paused_for_maatje": {
        "nl": "{alias} heeft het gesprek op pauze gezet. Je bericht is niet afgeleverd.",
        "en": "{alias} has paused the conversation. Your message was not delivered.",
    },
    "unsupported": {
        "nl": "Dit soort bericht kan ik niet doorsturen. Stuur tekst, een foto, een spraakbericht of een document.",
        "en": "I can't pass on this kind of message. Send text, a photo, a voice message or a document.",
    },
    "too_long": {
        "nl": "Je bericht is te lang: meer dan {limit} tekens. Wil je het in een paar kleinere stukken sturen?",
        "en": "Your message is too long: more than {limit} characters. Could you send it in a few smaller parts?",
    },
    "unknown_command": {
        "nl": "Dat commando ken ik niet. Typ /help om te zien wat ik kan.",
        "en": "I don't know that command. Type /help to see what I can do.",
    },
    "cannot_do": {
        "nl": "Dat kan ik niet. Typ /help om te zien wat ik wel kan.",
        "en": "I can't do that. Type /help to see what I can do.",
    },
    "choose_family": {
        "nl": "Voor welk gezin is dit bericht?",
        "en": "Which family is this message for?",
    },
    "choice_expired": {
        "nl": "Deze keuze is verlopen. Stuur je bericht nog een keer.",
        "en": "This choice has expired. Please send your message again.",
    },
    "sent_to": {"nl": "✓ Verstuurd naar {alias}.", "en": "✓ Sent to {alias}."},
    "no_families": {
        "nl": "Er zijn nu geen gezinnen aan je gekoppeld. Je bericht is niet verstuurd.",
        "en": "No families are linked to you right now. Your message was not sent.",
    },
    "not_your_family": {
        "nl": "Dit gezin is niet (meer) aan jou gekoppeld. Je bericht is niet verstuurd.",
        "en": "This family is not (or no longer) linked to you. Your message was not sent.",
    },
    "no_parent_reachable": {
        "nl": "Ik kan {alias} nu niet bereiken: er is nog geen ouder aangemeld. Je bericht is niet verstuurd.",
        "en": "I can't reach {alias} right now: no parent has signed up yet. Your message was not sent.",
    },
    "staff_no_relay": {
        "nl": "Berichten die je hier typt, gaan niet naar gezinnen. Gebruik de knoppen bij een melding.",
        "en": "Messages you type here don't go to families. Use the buttons on an alert.",
    },
    "group_linked": {
        "nl": "Deze groep is gekoppeld. Per gezin maak ik een eigen onderwerp. "
        "Wat je in een onderwerp schrijft, gaat naar dat gezin.",
        "en": "This group is linked. I make one topic per family. What you write in a topic goes to that family.",
    },
    "group_not_maatje": {
        "nl": "Alleen een maatje kan een groep koppelen.",
        "en": "Only a maatje can link a group.",
    },
    "group_not_owner": {
        "nl": "Alleen het maatje van deze groep kan hier berichten naar gezinnen sturen.",
        "en": "Only this group's maatje can send messages to families here.",
    },
    "group_general": {
        "nl": "Schrijf in het onderwerp van een gezin. Dan weet ik voor wie je bericht is.",
        "en": "Write in a family's topic, so I know who your message is for.",
    },
    "lang_set": {"nl": "Ik praat nu Nederlands met je.", "en": "I'll talk to you in English now."},
    "lang_usage": {"nl": "Typ /taal nl of /taal en.", "en": "Type /taal nl or /taal en."},
    "error": {
        "nl": "Sorry, er ging bij mij iets mis. Probeer het zo nog eens.\n\n{emergency}",
        "en": "Sorry, something went wrong on my side. Please try again in a moment.\n\n{emergency}",
    },
    # Relay headers.
    "from_family": {"nl": "💬 {alias} — {name}:\n{text}", "en": "💬 {alias} — {name}:\n{text}"},
    "from_family_media": {
        "nl": "📎 {alias} — {name} stuurde dit:",
        "en": "📎 {alias} — {name} sent this:",
    },
    "from_maatje": {"nl": "{name}: {text}", "en": "{name}: {text}"},
    "from_maatje_media": {"nl": "📎 {name} stuurde dit:", "en": "📎 {name} sent this:"},
    "escalate_button": {"nl": "🚨 Escaleer", "en": "🚨 Escalate"},
    "no_maatje_header": {"nl": "(nog geen maatje)", "en": "(no maatje yet)"},
    "role_regisseur": {"nl": "regisseur", "en": "regisseur (case director)"},
    "role_coordinator": {"nl": "coördinator", "en": "coordinator"},
}


def lang_of(code: str | None) -> str:
    """Map a client language code ("en-GB", "nl") to a language the bot speaks."""
    return "en" if code and code.lower().startswith("en") else "nl"


def render(table: dict[str, dict[str, str]], key: str, lang: str = "nl", **params: object) -> str:
    """A text from a {key: {lang: template}} table, in `lang` (Dutch when missing), with the
    emergency block filled in where the template asks for it."""
    entry = table[key]
    template = entry.get(lang) or entry["nl"]
    if "{emergency}" in template:
        params.setdefault("emergency", EMERGENCY.get(lang, EMERGENCY["nl"]))
    return template.format(**params)


def t(key: str, lang: str = "nl", **params: object) -> str:
    return render(TEXTS, key, lang, **params)
