"""The escalation through the real safety check (nlu.safety.assess), with and without an NLU port.

Skipped while the NLU's lexicon cannot load (it is written concurrently); it must pass once it can.
"""

from __future__ import annotations

import pytest

from escalation.model import Source
from tests.escalation.conftest import make_org
from tests.world import make_world


def _nlu_works() -> bool:
    try:
        from nlu.safety import assess

        return assess("Ik wil niet meer leven").level != "none"
    except Exception:
        return False


pytestmark = pytest.mark.skipif(not _nlu_works(), reason="nlu.safety lexicon not available yet")


@pytest.fixture(params=["assess-fallback", "local-nlu"])
async def real_org(request, settings, store, clock):
    nlu = None
    if request.param == "local-nlu":
        from nlu.rasa import make_nlu

        nlu = make_nlu("local")
    world = await make_world(settings, store, clock, nlu=nlu)
    return await make_org(world)


async def test_suicidal_message_alerts_with_113_first(real_org) -> None:
    await real_org.send("sanne", "Ik wil niet meer leven, ik kan het niet meer aan")
    [parent] = real_org.texts("sanne")
    assert parent.index("113") < parent.index("112")
    [alert] = real_org.texts("karin")
    assert "zelfdoding" in alert
    [esc] = await real_org.es.recent()
    assert esc.source is Source.SIGNAL and "suicide" in esc.categories


async def test_violence_now_gives_112_and_veilig_thuis(real_org) -> None:
    await real_org.send("sanne", "Hij slaat me nu en de kinderen zijn erbij")
    [parent] = real_org.texts("sanne")
    assert "112" in parent and "0800-2000" in parent
    assert len(real_org.texts("karin")) == 1


async def test_ordinary_messages_do_not_escalate(real_org) -> None:
    for text in (
        "De zitting is morgen om 10 uur.",
        "Kun je me helpen met de brief van de rechtbank?",
        "Thanks for yesterday, it helped a lot.",
    ):
        await real_org.send("sanne", text)
    assert real_org.texts("karin") == [] and real_org.texts("sanne") == []
    assert await real_org.es.recent() == []
