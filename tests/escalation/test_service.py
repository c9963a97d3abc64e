"""Escalation end to end: real handlers, a real Redis, a FixedClock, the recording MemoryTransport."""

from __future__ import annotations

import asyncio
import logging

from bot.domain import Role
from bot.errors import RetryLater
from escalation.model import Level, Source, Status
from escalation.rota import Rota
from escalation.wiring import install
from tests.escalation.conftest import Org, make_org
from tests.world import make_world


async def only(org: Org):
    [esc] = await org.es.recent()
    return esc


# --- acute and concern ---------------------------------------------------------------------
async def test_acute_signal_alerts_the_primary_tells_the_parent_and_marks_the_maatje_copy(org: Org) -> None:
    await org.es.set_card(org.people["family"].id, "Oma Riet (06-vanuit-dossier) vangt de kinderen op.")
    await org.send("sanne", "ALARM ik wil er niet meer zijn")

    [parent] = org.texts("sanne")
    assert parent.startswith("Dank je dat je dit vertelt.")
    assert parent.index("113") < parent.index("112")  # suicide: 113 first
    assert "0800-0113" in parent and "113.nl" in parent
    assert "Ik heb de regisseur van dienst gevraagd om contact met je op te nemen." in parent
    assert "Je maatje Tineke krijgt je bericht ook." in parent
    assert org.buttons("sanne") == {"🆘 Ik heb nu hulp nodig": "esc:sos"}

    [maatje] = org.texts("tineke")
    assert maatje.startswith("🚨 💬 Gezin Noor — Sanne:") and "ALARM ik wil er niet meer zijn" in maatje
    assert "De regisseur van dienst is gevraagd om contact op te nemen." in maatje

    [alert] = org.texts("karin")
    assert alert.startswith("🚨 ACUUT — Gezin Noor")
    assert "Maatje: Tineke" in alert and "Signaal: zelfdoding" in alert
    assert "“ALARM ik wil er niet meer zijn”" in alert
    assert "Oma Riet (06-vanuit-dossier) vangt de kinderen op." in alert
    esc = await only(org)
    assert set(org.buttons("karin")) == {"Ik pak dit op", "Afgehandeld"}
    assert org.buttons("karin")["Ik pak dit op"] == f"esc:ack:{esc.id}"
    assert org.texts("joost") == org.texts("mila") == org.texts("petra") == []

    assert (esc.level, esc.source, esc.status, esc.step) == (Level.ACUTE, Source.SIGNAL, Status.OPEN, 0)
    assert esc.notified == (org.people["karin"].id,)
    assert esc.time_to_notify == 0.0  # the first step runs inside the update, not at the next tick


async def test_acute_chain_steps_after_each_timeout_then_repeats(org: Org, clock, caplog) -> None:
    app = org.world.app
    await org.send("sanne", "ALARM")
    assert len(org.texts("karin")) == 1

    clock.advance(minutes=4, seconds=59)
    await app.drain()
    assert org.texts("joost") == []

    clock.advance(seconds=1)  # 5 minutes: the backup on call
    await app.drain()
    assert len(org.texts("joost")) == 1 and "stap: achterwacht van dienst" in org.texts("joost")[0]
    assert org.texts("petra") == []

    clock.advance(minutes=5)  # the coordinators
    await app.drain()
    assert len(org.texts("petra")) == 1 and org.texts("mila") == []

    clock.advance(minutes=5)  # all regisseurs not alerted yet
    await app.drain()
    assert len(org.texts("mila")) == 1
    assert [len(org.texts(w)) for w in ("karin", "joost", "petra")] == [1, 1, 1]

    with caplog.at_level(logging.CRITICAL):
        clock.advance(minutes=5)  # the end of the chain: everyone again, every 5 minutes
        await app.drain()
    assert [len(org.texts(w)) for w in ("karin", "joost", "petra", "mila")] == [2, 2, 2, 2]
    assert org.texts("karin")[-1].splitlines()[1] == "⏰ Nog niemand heeft dit opgepakt (al 20 min)."
    assert any("not acknowledged" in r.message for r in caplog.records if r.levelno == logging.CRITICAL)

    clock.advance(minutes=5)
    await app.drain()
    assert [len(org.texts(w)) for w in ("karin", "joost", "petra", "mila")] == [3, 3, 3, 3]
    assert (await only(org)).step == 5


async def test_concern_waits_an_hour_per_step(org: Org, clock) -> None:
    await org.send("sanne", "ZORG ik ben bang voor de zitting")
    [parent] = org.texts("sanne")
    assert "112" in parent and "Veilig Thuis" in parent and "113" in parent  # fear: all the numbers
    assert org.texts("karin")[0].startswith("🚨 ZORG — Gezin Noor")
    clock.advance(minutes=59)
    await org.world.app.drain()
    assert org.texts("joost") == []
    clock.advance(minutes=1)
    await org.world.app.drain()
    assert len(org.texts("joost")) == 1


async def test_violence_gives_112_and_veilig_thuis(org: Org) -> None:
    await org.send("sanne", "GEWELD hij slaat")
    [parent] = org.texts("sanne")
    assert "Bel meteen 112" in parent and "0800-2000" in parent and "113" not in parent


async def test_english_parent_gets_english(org: Org) -> None:
    await org.send("sanne", "/taal en")
    org.net.clear()
    await org.send("sanne", "ALARM I can't go on")
    [parent] = org.texts("sanne")
    assert parent.startswith("Thank you for telling me.") and "I have asked the regisseur on call" in parent


# --- acknowledge and resolve ---------------------------------------------------------------
async def test_acknowledgement_stops_the_chain_and_tells_everyone(org: Org, clock) -> None:
    app = org.world.app
    await org.send("sanne", "ALARM")
    clock.advance(minutes=5)
    await app.drain()  # Joost is alerted too
    ack = org.buttons("joost")["Ik pak dit op"]
    org.net.clear()

    await org.press("karin", ack)
    [you] = org.texts("karin")
    assert you.startswith("Je hebt de melding over Gezin Noor opgepakt.") and "De ouder hoort" in you
    assert set(org.buttons("karin")) == {"Afgehandeld"}
    assert org.texts("sanne") == ["Karin (regisseur) heeft je bericht gelezen. Karin neemt contact met je op."]
    assert org.texts("tineke") == ["✅ Karin (regisseur) heeft de melding over Gezin Noor opgepakt."]
    assert org.texts("joost") == ["✅ Karin heeft de melding over Gezin Noor opgepakt. Je hoeft niets meer te doen."]

    org.net.clear()
    clock.advance(hours=2)
    await app.drain()
    assert org.net.sent == []  # the chain stopped

    await org.press("joost", f"esc:ack:{(await only(org)).id}")
    assert org.texts("joost") == ["Karin heeft deze melding al opgepakt."]
    esc = await only(org)
    assert esc.status is Status.ACKNOWLEDGED and esc.acked_by == org.people["karin"].id
    assert esc.time_to_ack == 300.0


async def test_resolve_asks_for_a_note_and_the_next_text_closes_it(org: Org, clock) -> None:
    await org.send("sanne", "ALARM")
    done = org.buttons("karin")["Afgehandeld"]
    org.net.clear()

    await org.press("karin", done)  # not picked up before: this picks it up (the chain stops) and asks
    assert org.texts("karin")[-1].startswith("Schrijf nu in één bericht een korte notitie over Gezin Noor")
    assert "Karin (regisseur) heeft je bericht gelezen" in org.texts("sanne")[0]
    clock.advance(minutes=3)
    await org.send("karin", "Gebeld. Kinderen veilig bij oma.")
    assert org.texts("karin")[-1] == "✅ Afgehandeld. Dank je wel."
    assert org.texts("tineke")[-1] == "✅ De melding over Gezin Noor is afgehandeld door Karin."

    esc = await only(org)
    assert esc.status is Status.RESOLVED and esc.resolved_by == org.people["karin"].id
    assert await org.es.note(esc.id) == "Gebeld. Kinderen veilig bij oma."
    assert await org.es.open_for(org.people["family"].id) is None

    # Karin's next text is not a note any more; a new signal starts a new escalation.
    await org.send("karin", "Nog iets")
    assert org.texts("karin")[-1].startswith("Berichten die je hier typt, gaan niet naar gezinnen")
    await org.send("sanne", "ALARM opnieuw")
    assert len(await org.es.recent()) == 2


async def test_maatje_and_parent_cannot_acknowledge(org: Org) -> None:
    await org.send("sanne", "ALARM")
    ack = org.buttons("karin")["Ik pak dit op"]
    await org.press("tineke", ack)
    assert org.texts("tineke")[-1] == "Alleen een regisseur of coördinator kan een melding oppakken."
    assert (await only(org)).status is Status.OPEN


# --- attach --------------------------------------------------------------------------------
async def test_later_signals_attach_to_the_open_escalation(org: Org, clock) -> None:
    await org.send("sanne", "ZORG")
    org.net.clear()
    await org.send("sanne", "ALARM het gaat echt niet meer")
    assert len(await org.es.recent()) == 1
    [forward] = org.texts("karin")  # the current step's people, no new alert storm
    assert forward.startswith("🚨 Nieuw bericht bij melding") and "het gaat echt niet meer" in forward
    assert org.texts("joost") == []
    esc = await only(org)
    assert esc.signals == 2 and esc.level is Level.ACUTE and esc.categories == ("fear", "suicide")
    # The concern's hour became an acute five minutes.
    clock.advance(minutes=5)
    await org.world.app.drain()
    assert len(org.texts("joost")) == 1
    # The backup sees both messages.
    assert "“ZORG”" in org.texts("joost")[0] and "het gaat echt niet meer" in org.texts("joost")[0]

    await org.press("joost", org.buttons("joost")["Ik pak dit op"])
    org.net.clear()
    await org.send("sanne", "ALARM nog steeds")
    assert org.texts("karin") == [] and len(org.texts("joost")) == 1  # only the holder
    assert "Joost weet hiervan. Joost neemt contact met je op." in org.texts("sanne")[0]
    assert "Joost al heeft opgepakt" in org.texts("tineke")[0]


async def test_a_paused_parent_signal_still_reaches_maatje_and_chain(org: Org) -> None:
    await org.send("sanne", "/stop")
    org.net.clear()
    await org.send("sanne", "ALARM")
    assert len(org.texts("karin")) == 1 and org.texts("tineke")[0].startswith("🚨")


# --- empty slots ---------------------------------------------------------------------------
async def test_empty_primary_slot_skips_to_the_backup_at_once(org: Org) -> None:
    await org.rota(primary=None, backup="joost")
    await org.send("sanne", "ALARM")
    assert org.texts("karin") == [] and len(org.texts("joost")) == 1
    assert "Ik heb de regisseur van dienst gevraagd" in org.texts("sanne")[0]
    [raised, notified] = await org.es.audit((await only(org)).id)
    assert (notified["step"], notified["skipped"]) == ("1", "0")


async def test_no_rota_goes_to_the_coordinators(org: Org) -> None:
    await org.es.put_rota(Rota())
    await org.send("sanne", "ALARM")
    assert len(org.texts("petra")) == 1 and org.texts("karin") == []
    assert "Ik heb de coördinator gevraagd" in org.texts("sanne")[0]


async def test_a_person_who_never_joined_counts_as_an_empty_slot(org: Org, world) -> None:
    ghost = await world.admin.add_person(Role.REGISSEUR, "Ghost")
    org.people["ghost"] = ghost
    await org.rota(primary="ghost", backup="joost")
    await org.send("sanne", "ALARM")
    assert len(org.texts("joost")) == 1


async def test_nobody_reachable_is_said_honestly(world, clock) -> None:
    org = await make_org(world, staff=False)
    await org.send("sanne", "ALARM")
    [parent] = org.texts("sanne")
    assert "Op dit moment kan ik niemand van ons team bereiken. Gebruik daarom de nummers hierboven." in parent
    assert "gevraagd" not in parent
    assert "ik kan nu niemand van het team bereiken" in org.texts("tineke")[0]
    esc = await only(org)
    assert esc.status is Status.OPEN and esc.notified == () and esc.notified_at is None
    # Someone joins later: the repeat step reaches them.
    coord = await world.admin.add_person(Role.COORDINATOR, "Petra")
    await world.join(coord, "u-petra")
    clock.advance(minutes=5)
    await world.app.drain()
    assert org.texts("petra")[-1].startswith("🚨 ACUUT — Gezin Noor")


# --- manual escalation ---------------------------------------------------------------------
async def test_maatje_escalates_with_a_reason(org: Org) -> None:
    await org.send("tineke", "/escaleer ik maak me zorgen om de kinderen")
    assert org.texts("tineke")[-1].startswith("🚨 Melding gedaan voor Gezin Noor.")
    [alert] = org.texts("karin")
    assert "Maatje Tineke doet een melding." in alert and "Reden: “ik maak me zorgen om de kinderen”" in alert
    assert org.texts("sanne") == []  # the parent is not told by the bot
    esc = await only(org)
    assert (esc.source, esc.level, esc.reporters) == (Source.MAATJE, Level.ACUTE, ())
    await org.press("karin", org.buttons("karin")["Ik pak dit op"])
    assert "De ouder weet nog niet van deze melding" in org.texts("karin")[-1]
    assert org.texts("sanne") == []


async def test_maatje_escalates_by_replying_to_a_relayed_message(org: Org, world) -> None:
    fam2 = await world.admin.add_family("Gezin Daan")
    await world.admin.assign(fam2.id, org.people["tineke"].id)
    ahmed = await world.admin.add_person(Role.PARENT, "Ahmed", family_id=fam2.id)
    await world.join(ahmed, "u-ahmed")
    org.net.clear()
    await org.send("ahmed", "Het gaat niet goed hier")
    [(ref, _)] = org.net.to("u-tineke")
    org.net.clear()

    await org.send("tineke", "/escaleer", reply_to=ref)
    assert org.texts("karin")[0].startswith("🚨 ACUUT — Gezin Daan")

    # Without a reply and with two families: a choice, and the reason waits for it.
    await org.send("tineke", "/escaleer dreiging")
    labels = org.buttons("tineke")
    assert set(labels) == {"Gezin Noor", "Gezin Daan"}
    await org.press("tineke", labels["Gezin Noor"])
    assert org.texts("karin")[-1].startswith("🚨 ACUUT — Gezin Noor") and "“dreiging”" in org.texts("karin")[-1]
    await org.press("tineke", labels["Gezin Noor"])
    assert org.texts("tineke")[-1] == "Deze keuze is verlopen. Typ /escaleer nog een keer."


async def test_maatje_escalates_in_a_forum_topic(org: Org) -> None:
    await org.send("tineke", "/koppel", chat="g-1", group=True)
    await org.send("sanne", "Hallo")
    thread = org.net.topics[("g-1", "Gezin Noor")]
    await org.send("tineke", "/escaleer", chat="g-1", thread=thread, group=True)
    assert org.texts("karin")[-1].startswith("🚨 ACUUT — Gezin Noor")
    await org.send("tineke", "/escaleer", chat="g-1", group=True)  # the general topic: which family?
    assert org.net.texts_to("g-1")[-1].startswith("Zo doe je een melding")


async def test_maatje_escalation_attaches_to_an_open_one(org: Org) -> None:
    await org.send("sanne", "ALARM")
    await org.send("tineke", "/escaleer zij neemt niet meer op")
    assert org.texts("tineke")[-1].startswith("Er loopt al een melding voor Gezin Noor.")
    assert "Maatje Tineke doet ook een melding" in org.texts("karin")[-1]
    assert len(await org.es.recent()) == 1


async def test_parent_hulp_raises_and_the_sos_button_attaches(org: Org) -> None:
    await org.send("sanne", "/hulp")
    [parent] = org.texts("sanne")
    assert parent.startswith("Je vraagt om hulp. Dat is goed.") and "112" in parent and "0800-2000" in parent
    assert "Ik heb de regisseur van dienst gevraagd" in parent and "Je maatje Tineke weet het ook." in parent
    assert org.texts("tineke")[0].startswith("🚨 Sanne (Gezin Noor) vroeg om hulp.")
    [alert] = org.texts("karin")
    assert "Sanne (ouder) vroeg zelf om hulp." in alert
    esc = await only(org)
    assert (esc.source, esc.level) == (Source.PARENT, Level.ACUTE)

    await org.press("sanne", org.buttons("sanne")["🆘 Ik heb nu hulp nodig"])
    assert org.texts("sanne")[-1].startswith("Ik geef het nu met spoed door.")
    assert org.texts("karin")[-1].startswith("🆘 Sanne (Gezin Noor) vraagt opnieuw om hulp.")
    assert (await only(org)).signals == 2


# --- durability ----------------------------------------------------------------------------
async def test_restart_in_the_middle_of_a_chain_fires_the_step_once(org: Org, settings, store, clock, nlu) -> None:
    await org.send("sanne", "ALARM")
    clock.advance(minutes=5)
    # The first worker is gone; a new App on the same store takes over.
    world2 = await make_world(settings, store, clock, nlu=nlu)
    install(world2.app)
    await world2.app.drain()
    await org.world.app.drain()  # the old one coming back adds nothing
    await world2.app.drain()
    joost = [m for _, m in world2.net.to("u-joost")] + [m for _, m in org.net.to("u-joost")]
    assert len(joost) == 1 and joost[0].text.startswith("🚨 ACUUT")
    assert (await only(org)).step == 1


async def test_a_worker_that_died_holding_a_step_gives_it_back_after_the_lease(org: Org, clock) -> None:
    await org.send("sanne", "ALARM")
    clock.advance(minutes=5)
    esc = await only(org)
    assert await org.es.claim(esc.id, 1, clock.now(), org.svc.timers.lease)  # claimed, then the worker died
    await org.world.app.drain()
    assert org.texts("joost") == []
    clock.advance(seconds=21)
    await org.world.app.drain()
    assert len(org.texts("joost")) == 1


async def test_two_workers_racing_fire_once(org: Org, settings, store, clock, nlu) -> None:
    await org.send("sanne", "ALARM")
    world2 = await make_world(settings, store, clock, nlu=nlu)
    svc2 = install(world2.app)
    clock.advance(minutes=5)
    claimed = await asyncio.gather(*(s.run_due(clock.now()) for s in (org.svc, svc2, org.svc, svc2)))
    assert sum(claimed) == 1
    await org.world.app.drain()
    await world2.app.drain()
    assert len(org.texts("joost")) + len(world2.net.texts_to("u-joost")) == 1
    [_, notified_0, notified_1] = await org.es.audit((await only(org)).id)
    assert (notified_0["step"], notified_1["step"]) == ("0", "1")


async def test_telegram_failure_while_alerting_is_retried_by_the_outbox(org: Org, clock) -> None:
    org.net.failures.extend([RetryLater(retry_after=3)] * 3)  # every first attempt is rate limited
    await org.send("sanne", "ALARM")
    assert org.texts("karin") == []
    clock.advance(seconds=4)
    await org.world.app.drain()
    assert len(org.texts("karin")) == 1 and len(org.texts("sanne")) == 1 and len(org.texts("tineke")) == 1
    assert not org.net.failures
    assert await org.world.app.store.outbox.pending_count() == 0


async def test_the_same_update_handled_twice_raises_once(org: Org) -> None:
    event = org.net.event("u-sanne", "ALARM")
    await org.world.app.accept(event)
    await org.world.app.drain()
    app = org.world.app
    from handlers.core import handle

    again = await handle(event, app.ctx, app.router)  # a worker crashed before acknowledging it
    await app.enqueue(again, "again")
    await app.drain()
    esc = await only(org)
    assert esc.signals == 1 and len(org.texts("karin")) == 1


# --- wiring and small paths ----------------------------------------------------------------
async def test_install_is_idempotent_and_puts_safety_first(org: Org) -> None:
    app = org.world.app
    from escalation.handlers import safety_hook

    assert install(app) is org.svc
    assert app.ctx.parent_hooks[0] is safety_hook and app.ctx.parent_hooks.count(safety_hook) == 1
    assert app.ctx.services["escalation"] is org.svc
    assert {"hulp", "escaleer"} <= set(app.router.commands) and "esc" in app.router.callbacks
    names = [t.__name__ for t in app.tickers]
    assert names.count("escalation_timers") == 1 and names.count("escalation_watchdog") == 1


def test_step_timeouts_come_from_settings_when_present() -> None:
    from datetime import timedelta
    from types import SimpleNamespace

    from escalation.wiring import policy_from

    p = policy_from(SimpleNamespace(escalation_acute_minutes=2, escalation_concern_minutes=30))
    assert (p.acute_timeout, p.concern_timeout, p.repeat_every) == (
        timedelta(minutes=2),
        timedelta(minutes=30),
        timedelta(minutes=5),
    )
    assert policy_from(object()).acute_timeout == timedelta(minutes=5)


async def test_escalate_button_asks_first_then_alerts(org: Org) -> None:
    await org.press("tineke", f"esc:x:{org.people['family'].id}")
    assert org.texts("karin") == []  # one tap only asks
    assert org.texts("tineke")[-1] == "Wil je Gezin Noor nu melden bij de regisseur van dienst?"
    choice = org.buttons("tineke")
    await org.press("tineke", choice["Nee, toch niet"])
    assert org.texts("karin") == [] and org.texts("tineke")[-1] == "Oké, er is niets gemeld."
    await org.press("tineke", choice["🚨 Ja, nu melden"])
    assert org.texts("karin")[0].startswith("🚨 ACUUT — Gezin Noor")
    await org.press("tineke", "esc:x:f_someone_else")
    assert org.texts("tineke")[-1].startswith("Dit gezin is niet (meer) aan jou gekoppeld")


async def test_who_may_use_which_command(org: Org) -> None:
    await org.send("karin", "/escaleer")
    assert org.texts("karin")[-1].startswith("Een melding doe je als maatje.")
    await org.send("tineke", "/hulp")
    assert (
        org.texts("tineke")[-1].startswith("Zorgen over een gezin? Gebruik /escaleer")
        and "112" in org.texts("tineke")[-1]
    )
    await org.send("u-stranger", "/hulp")
    assert "112" in org.net.texts_to("u-u-stranger")[-1]
    await org.send("sanne", "/escaleer")  # a parent's /escaleer is a call for help
    assert org.texts("sanne")[-1].startswith("Je vraagt om hulp.")
    assert len(await org.es.recent()) == 1


async def test_an_acute_signal_long_after_pickup_alerts_the_chain_again(org: Org, clock) -> None:
    await org.send("sanne", "ALARM")
    await org.press("joost", org.buttons("karin")["Ik pak dit op"])  # Joost holds it, never closes it
    clock.advance(hours=11)
    org.net.clear()
    await org.send("sanne", "ALARM")  # within 12 hours: to the holder only
    assert len(org.texts("joost")) == 1 and org.texts("karin") == []
    clock.advance(hours=1)
    org.net.clear()
    await org.send("sanne", "ZORG")  # a concern still goes to the holder
    assert len(org.texts("joost")) == 1 and org.texts("karin") == []
    org.net.clear()
    await org.send("sanne", "ALARM")  # acute, 12 hours on: the on-call regisseur again
    assert org.texts("karin")[0].startswith("🚨 ACUUT — Gezin Noor")
    old, new = sorted(await org.es.recent(), key=lambda e: e.raised_at)
    assert old.status is Status.RESOLVED and old.resolved_by == "system"
    assert new.status is Status.OPEN and new.notified == (org.people["karin"].id,)
