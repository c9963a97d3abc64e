"""Jargon and procedures in chat, through the real NLU, handlers and Redis."""

from __future__ import annotations

import pytest

from nlu.rasa import LocalNLU
from tests.world import make_world, noor


@pytest.fixture
async def world(settings, store, clock):
    return await make_world(settings, store, clock, nlu=LocalNLU())


async def test_uitleg_command_explains_and_tells_the_maatje(world):
    await noor(world)
    await world.send("u-sanne", "/uitleg OTS")
    [answer] = world.net.to("u-sanne")
    assert answer[1].text.lower().startswith("ondertoezichtstelling")
    assert answer[1].buttons and answer[1].buttons[0][0].data == "ex:more:ots"
    [note] = world.net.texts_to("u-tineke")
    assert note.startswith("ℹ️ Gezin Noor: Naast gaf uitleg over ondertoezichtstelling")


async def test_more_button_gives_the_long_explanation_with_related_terms(world):
    await noor(world)
    await world.send("u-sanne", "/uitleg ots")
    data = world.net.to("u-sanne")[-1][1].buttons[0][0].data
    await world.send("u-sanne", callback=data)
    long = world.net.to("u-sanne")[-1][1]
    assert "https://" in long.text and len(long.text) > 200
    assert all(b.data.startswith("ex:term:") for row in long.buttons for b in row)


async def test_a_jargon_question_is_answered_and_still_relayed_with_a_note(world):
    await noor(world)
    await world.send("u-sanne", "wat betekent een machtiging uithuisplaatsing eigenlijk?")
    answer = world.net.texts_to("u-sanne")[-1]
    assert "uithuisplaatsing" in answer.lower()
    [relayed] = world.net.texts_to("u-tineke")
    assert "wat betekent een machtiging uithuisplaatsing" in relayed
    assert "ℹ️ Naast gaf uitleg over:" in relayed


async def test_a_story_that_mentions_jargon_is_just_relayed(world):
    await noor(world)
    await world.send("u-sanne", "de gezinsvoogd kwam vandaag langs en ik was zo boos over de ots")
    assert world.net.texts_to("u-sanne") == []
    assert len(world.net.texts_to("u-tineke")) == 1


async def test_procedure_is_shown_step_by_step(world):
    await noor(world)
    await world.send("u-sanne", "/uitleg hoe werkt een zitting bij de kinderrechter")
    first = world.net.to("u-sanne")[-1][1]
    assert "1" in first.text and first.buttons
    data = first.buttons[0][0].data
    assert data.startswith("ex:step:") and data.endswith(":1")
    seen = 1
    while first.buttons:
        await world.send("u-sanne", callback=first.buttons[0][0].data)
        first = world.net.to("u-sanne")[-1][1]
        seen += 1
        assert seen < 20
    assert "laatste stap" in first.text and "geen juridisch advies" in first.text


async def test_pasted_letter_gets_each_term_in_one_line(world):
    await noor(world)
    letter = (
        "Geachte mevrouw, de kinderrechter heeft op verzoek van de Raad voor de Kinderbescherming een "
        "ondertoezichtstelling uitgesproken. De gecertificeerde instelling zal een plan van aanpak maken. "
        "Tegen deze beschikking kunt u hoger beroep instellen."
    )
    await world.send("u-sanne", letter)
    [answer] = world.net.texts_to("u-sanne")
    lines = [line for line in answer.splitlines() if line.startswith("• ")]
    assert len(lines) >= 4
    joined = answer.lower()
    for term in ("kinderrechter", "ondertoezichtstelling", "hoger beroep"):
        assert term in joined
    assert "Naast gaf uitleg over" in world.net.texts_to("u-tineke")[0]


async def test_unknown_term_gets_a_kind_answer(world):
    await noor(world)
    await world.send("u-sanne", "/uitleg flubbergast")
    assert world.net.texts_to("u-sanne")[-1].startswith("Dat woord ken ik (nog) niet")
    assert world.net.texts_to("u-tineke") == []


async def test_english_parent_gets_english_explanation(world):
    p = await noor(world)
    await world.app.store.directory.set_lang(p["sanne"].id, "en")
    await world.send("u-sanne", "/uitleg GI")
    assert "(gecertificeerde instelling)" in world.net.texts_to("u-sanne")[-1].lower()
