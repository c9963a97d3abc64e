"""Relay through the real handlers, a real Redis and the recording MemoryTransport."""

from __future__ import annotations

import pytest

from bot.domain import InboundKind, Role
from bot.errors import AdminError
from tests.world import make_world, noor


@pytest.fixture
async def world(settings, store, clock):
    return await make_world(settings, store, clock)


async def test_parent_message_reaches_maatje_with_family_header(world):
    await noor(world)
    await world.send("u-sanne", "Hoi Tineke, de zitting is morgen")
    [(_, msg)] = world.net.to("u-tineke")
    text = msg.text
    assert text.startswith("💬 Gezin Noor — Sanne:")
    assert [b.data for row in msg.buttons for b in row] == [f"esc:x:{msg.family_id}"]
    assert "de zitting is morgen" in text
    assert world.net.texts_to("u-sanne") == []  # no echo, no noise for the parent


async def test_maatje_reply_in_thread_reaches_parent_with_first_name_only(world):
    await noor(world)
    await world.send("u-sanne", "Ben je er?")
    [(ref, _)] = world.net.to("u-tineke")
    await world.send("u-tineke", "Ja, ik ben er. Zal ik je bellen?", reply_to=ref)
    assert world.net.texts_to("u-sanne") == ["Tineke: Ja, ik ben er. Zal ik je bellen?"]


async def test_maatje_with_one_family_may_just_type(world):
    await noor(world)
    await world.send("u-tineke", "Hoe ging het vandaag?")
    assert world.net.texts_to("u-sanne") == ["Tineke: Hoe ging het vandaag?"]


async def with_gezin_daan(world):
    """Noor's world plus a second family of Tineke's, Gezin Daan, with parent Ahmed (u-ahmed)."""
    p = await noor(world)
    fam2 = await world.admin.add_family("Gezin Daan")
    await world.admin.assign(fam2.id, p["tineke"].id)
    ahmed = await world.admin.add_person(Role.PARENT, "Ahmed", family_id=fam2.id)
    await world.join(ahmed, "u-ahmed")
    world.net.clear()
    return fam2


async def test_maatje_with_several_families_is_asked_which_family(world):
    await with_gezin_daan(world)

    await world.send("u-tineke", "Sterkte morgen!")
    [(_, ask)] = world.net.to("u-tineke")
    assert ask.text == "Voor welk gezin is dit bericht?"
    labels = {b.label: b.data for row in ask.buttons for b in row}
    assert set(labels) == {"Gezin Noor", "Gezin Daan"}
    assert world.net.texts_to("u-sanne") == [] and world.net.texts_to("u-ahmed") == []

    await world.send("u-tineke", callback=labels["Gezin Daan"])
    assert world.net.texts_to("u-ahmed") == ["Tineke: Sterkte morgen!"]
    assert world.net.texts_to("u-sanne") == []
    assert world.net.texts_to("u-tineke")[-1] == "✓ Verstuurd naar Gezin Daan."

    # The same button again: the choice was used up.
    await world.send("u-tineke", callback=labels["Gezin Daan"])
    assert world.net.texts_to("u-tineke")[-1].startswith("Deze keuze is verlopen")
    assert world.net.texts_to("u-ahmed") == ["Tineke: Sterkte morgen!"]


async def test_a_reply_to_the_family_confirmation_needs_no_second_choice(world):
    fam2 = await with_gezin_daan(world)

    await world.send("u-tineke", "Sterkte morgen!")
    [(_, ask)] = world.net.to("u-tineke")
    await world.send("u-tineke", callback=next(b.data for row in ask.buttons for b in row if b.label == "Gezin Daan"))
    ref, confirm = world.net.to("u-tineke")[-1]
    assert confirm.family_id == fam2.id and confirm.reply_to_ref  # answers the maatje's own message
    world.net.clear()

    await world.send("u-tineke", "En laat je weten hoe het ging?", reply_to=ref)
    assert world.net.texts_to("u-ahmed") == ["Tineke: En laat je weten hoe het ging?"]
    assert world.net.texts_to("u-sanne") == []
    assert world.net.texts_to("u-tineke") == []  # not asked "for which family?" again


async def test_pending_choice_expires(world, store, clock):
    p = await noor(world)
    fam2 = await world.admin.add_family("Gezin Daan")
    await world.admin.assign(fam2.id, p["tineke"].id)
    await world.send("u-tineke", "Later")
    [(_, ask)] = world.net.to("u-tineke")
    data = ask.buttons[0][0].data
    token = data.split(":")[1]
    assert 0 < await store.redis.ttl(store.keys.pending(token)) <= 3600


async def test_caseload_limit_refuses_a_fourth_family(world):
    tineke = await world.admin.add_person(Role.MAATJE, "Tineke")
    for i in range(3):
        fam = await world.admin.add_family(f"Gezin {i}")
        await world.admin.assign(fam.id, tineke.id)
    fourth = await world.admin.add_family("Gezin 4")
    with pytest.raises(AdminError, match="already has 3 families"):
        await world.admin.assign(fourth.id, tineke.id)
    assert len(await world.app.store.directory.families_of(tineke.id)) == 3


async def test_reassigning_moves_the_thread_to_the_new_maatje(world):
    p = await noor(world)
    await world.send("u-sanne", "Eerste bericht")
    [(old_ref, _)] = world.net.to("u-tineke")
    bram = await world.admin.add_person(Role.MAATJE, "Bram")
    await world.join(bram, "u-bram")
    await world.admin.assign(p["family"].id, bram.id)
    world.net.clear()

    await world.send("u-sanne", "Tweede bericht")
    assert world.net.texts_to("u-tineke") == []
    assert "Tweede bericht" in world.net.texts_to("u-bram")[0]
    # The old maatje replying to an old message reaches nobody and is told why.
    await world.send("u-tineke", "Nog een antwoord", reply_to=old_ref)
    assert world.net.texts_to("u-sanne") == []
    assert world.net.texts_to("u-tineke")[-1].startswith("Dit gezin is niet (meer) aan jou gekoppeld")
    assert await world.app.store.directory.families_of(p["tineke"].id) == []


async def test_media_is_relayed_by_reference_with_a_header(world):
    await noor(world)
    await world.send("u-sanne", "brief van de rechtbank", kind=InboundKind.MEDIA, media="photo")
    header, copy = [m for _, m in world.net.to("u-tineke")]
    assert header.text.startswith("📎 Gezin Noor — Sanne stuurde dit:") and "brief van de rechtbank" in header.text
    assert copy.copy_of is not None and copy.copy_of[0].chat_id == "u-sanne"
    # Replying to the copied media still finds the family.
    ref = world.net.to("u-tineke")[1][0]
    await world.send("u-tineke", "Ik lees hem vanavond", reply_to=ref)
    assert world.net.texts_to("u-sanne") == ["Tineke: Ik lees hem vanavond"]


async def test_unknown_user_gets_explanation_and_emergency_numbers_and_reaches_nobody(world):
    await noor(world)
    await world.send("u-stranger", "hallo wie ben jij")
    [text] = world.net.texts_to("u-stranger")
    assert "uitnodiging" in text and "112" in text and "0800-2000" in text
    assert world.net.texts_to("u-tineke") == []
    assert len(world.net.sent) == 1


async def test_maatje_hears_when_a_parent_joins_and_can_reply_to_that_note(world):
    fam = await world.admin.add_family("Gezin Noor")
    tineke = await world.admin.add_person(Role.MAATJE, "Tineke")
    sanne = await world.admin.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    await world.admin.assign(fam.id, tineke.id)
    await world.join(tineke, "u-tineke")
    await world.join(sanne, "u-sanne")
    [(ref, note)] = world.net.to("u-tineke")[-1:]
    assert note.text.startswith("✅ Sanne van Gezin Noor is nu aangemeld")
    await world.send("u-tineke", "Welkom Sanne!", reply_to=ref)
    assert world.net.texts_to("u-sanne")[-1] == "Tineke: Welkom Sanne!"


async def test_unknown_user_in_english(world):
    await world.send("u-stranger", "hello", lang="en-GB")
    [text] = world.net.texts_to("u-stranger")
    assert "invitation" in text and "112" in text


async def test_invite_is_single_use_and_expires(world, clock):
    fam = await world.admin.add_family("Gezin Noor")
    sanne = await world.admin.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    code, _, link = await world.admin.invite(sanne.id, days=7)
    assert link == f"/start {code}"
    await world.send("u-sanne", f"/start {code}")
    assert world.net.texts_to("u-sanne")[-1].startswith("Welkom bij Naast, Sanne")
    await world.send("u-other", f"/start {code}")
    assert world.net.texts_to("u-other")[-1].startswith("Deze uitnodiging is al gebruikt")

    code2, _, _ = await world.admin.invite(sanne.id, days=7)
    clock.advance(days=7, seconds=1)
    await world.send("u-late", f"/start {code2}")
    assert world.net.texts_to("u-late")[-1].startswith("Deze uitnodiging is verlopen")
    await world.send("u-late", "/start nonsense-code")
    assert world.net.texts_to("u-late")[-1].startswith("Deze uitnodiging ken ik niet")


async def test_invite_codes_are_stored_hashed(world, store):
    fam = await world.admin.add_family("Gezin Noor")
    sanne = await world.admin.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    code, _, _ = await world.admin.invite(sanne.id)
    dump = [k async for k in store.redis.scan_iter(match=f"{store.keys.prefix}:*")]
    assert not any(code.encode() in k for k in dump)
    for k in dump:
        if await store.redis.type(k) == b"hash":
            assert code.encode() not in b"".join(v for v in (await store.redis.hgetall(k)).values())


async def test_stop_pauses_a_parent_and_start_resumes(world):
    await noor(world)
    await world.send("u-sanne", "/stop")
    assert world.net.texts_to("u-sanne")[-1].startswith("Gepauzeerd")
    await world.send("u-sanne", "Nog iets")
    assert world.net.texts_to("u-tineke") == []
    assert world.net.texts_to("u-sanne")[-1].startswith("Je staat op pauze")
    await world.send("u-tineke", "Hoi?")
    assert world.net.texts_to("u-sanne")[-1].startswith("Je staat op pauze")  # nothing new for Sanne
    assert world.net.texts_to("u-tineke")[-1] == (
        "Gezin Noor heeft het gesprek op pauze gezet. Je bericht is niet afgeleverd."
    )
    await world.send("u-sanne", "/start")
    await world.send("u-sanne", "Daar ben ik weer")
    assert "Daar ben ik weer" in world.net.texts_to("u-tineke")[-1]


async def test_maatje_cannot_pause(world):
    await noor(world)
    await world.send("u-tineke", "/stop")
    assert world.net.texts_to("u-tineke")[-1].startswith("Als maatje kun je niet pauzeren")


async def test_unsupported_and_too_long_and_unknown_command(world):
    await noor(world)
    await world.send("u-sanne", kind=InboundKind.UNSUPPORTED, media="location")
    await world.send("u-sanne", "x" * 4001)
    await world.send("u-sanne", "/vliegen")
    replies = world.net.texts_to("u-sanne")
    assert replies[0].startswith("Dit soort bericht kan ik niet doorsturen")
    assert replies[1].startswith("Je bericht is te lang: meer dan 4000 tekens")
    assert replies[2].startswith("Dat commando ken ik niet")
    assert world.net.texts_to("u-tineke") == []


async def test_family_without_maatje_reaches_the_coordinator(world):
    fam = await world.admin.add_family("Gezin Noor")
    sanne = await world.admin.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    coord = await world.admin.add_person(Role.COORDINATOR, "Petra")
    await world.join(coord, "u-petra")
    await world.join(sanne, "u-sanne")
    assert "nog geen maatje" in world.net.texts_to("u-sanne")[-1]
    await world.send("u-sanne", "Is er al iemand?")
    assert world.net.texts_to("u-petra")[-1].startswith("💬 Gezin Noor (nog geen maatje) — Sanne:")


async def test_forum_group_topics_per_family(world):
    p = await noor(world)
    await world.send("u-tineke", "/koppel", chat="g-1", group=True)
    assert world.net.texts_to("g-1")[-1].startswith("Deze groep is gekoppeld")
    await world.send("u-sanne", "Via de groep")
    thread = world.net.topics[("g-1", "Gezin Noor")]
    [(_, msg)] = [x for x in world.net.to("g-1") if x[1].to.thread_id == thread]
    assert "Via de groep" in msg.text and msg.family_id == p["family"].id
    assert world.net.texts_to("u-tineke") == []
    # A post in the family's topic reaches the family; the general topic asks where it belongs.
    await world.send("u-tineke", "Antwoord in het topic", chat="g-1", thread=thread, group=True)
    assert world.net.texts_to("u-sanne") == ["Tineke: Antwoord in het topic"]
    await world.send("u-tineke", "In het algemeen", chat="g-1", group=True)
    assert world.net.texts_to("g-1")[-1].startswith("Schrijf in het onderwerp van een gezin")
    # A second message reuses the topic.
    await world.send("u-sanne", "Nog een")
    assert len(world.net.topics) == 1
    # Another group member is not the maatje: nothing is relayed.
    await world.send("u-someone", "Ik ben niet het maatje", chat="g-1", thread=thread, group=True)
    assert world.net.texts_to("u-sanne") == ["Tineke: Antwoord in het topic"]


async def test_long_relayed_text_is_split_under_the_limit(world):
    await noor(world)
    await world.send("u-sanne", ("woord " * 700).strip())  # 4,199 chars
    assert world.net.texts_to("u-sanne")[-1].startswith("Je bericht is te lang")
    world.app.ctx.rules = type(world.app.ctx.rules)(max_text_chars=10_000)
    await world.send("u-sanne", ("woord " * 900).strip())
    pieces = world.net.texts_to("u-tineke")
    assert len(pieces) == 2 and all(len(p) <= 4096 for p in pieces)
    assert sum(p.count("woord") for p in pieces) == 900


async def test_language_switch(world):
    await noor(world)
    await world.send("u-sanne", "/taal en")
    assert world.net.texts_to("u-sanne")[-1] == "I'll talk to you in English now."
    await world.send("u-sanne", "/help")
    assert world.net.texts_to("u-sanne")[-1].startswith("How Naast works")
