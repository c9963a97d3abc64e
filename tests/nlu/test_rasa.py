"""RasaNLU against a small fake Rasa server (aiohttp.web on 127.0.0.1, port 0)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web

import nlu
from nlu.glossary import default_glossary
from nlu.rasa import LocalNLU, RasaNLU, from_rasa, make_nlu
from nlu.safety import assess


class FakeRasa:
    """Answers POST /model/parse according to `mode`; records the request bodies."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.answer: dict[str, Any] | None = None
        self.requests: list[Any] = []
        self.url = ""
        self._runner: web.AppRunner | None = None
        self._release = asyncio.Event()  # lets a "slow" answer end at teardown

    async def handle(self, request: web.Request) -> web.StreamResponse:
        body = await request.json()
        self.requests.append(body)
        if self.mode == "slow":
            try:
                await asyncio.wait_for(self._release.wait(), timeout=5)
            except TimeoutError:
                pass
        if self.mode == "500":
            return web.Response(status=500, text="boom")
        if self.mode == "malformed":
            return web.Response(text='{"intent": {"name": "greet", "conf', content_type="application/json")
        if self.mode == "not_object":
            return web.json_response(["greet"])
        if self.mode == "no_intent":
            return web.json_response({"text": body["text"], "entities": []})
        answer = self.answer or rasa_answer(body["text"], "greet", 0.93)
        return web.json_response(answer)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/model/parse", self.handle)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._release.set()
        if self._runner is not None:
            await self._runner.cleanup()


def rasa_answer(text: str, intent: str, conf: float, entities: list[dict] | None = None) -> dict[str, Any]:
    others = [i for i in nlu.INTENTS if i != intent]
    rest = (1.0 - conf) / len(others)
    return {
        "text": text,
        "intent": {"name": intent, "confidence": conf},
        "intent_ranking": [{"name": intent, "confidence": conf}] + [{"name": i, "confidence": rest} for i in others],
        "entities": entities or [],
    }


@pytest.fixture
async def rasa() -> AsyncIterator[FakeRasa]:
    server = FakeRasa()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def client(rasa: FakeRasa) -> AsyncIterator[RasaNLU]:
    c = RasaNLU(rasa.url, timeout=0.3)
    yield c
    await c.close()


async def test_normal_answer_is_mapped(rasa, client):
    text = "wat betekent de OTS?"
    start = text.index("OTS")
    rasa.answer = rasa_answer(
        text,
        "explain_term",
        0.88,
        [
            {
                "entity": "jargon_term",
                "start": start,
                "end": start + 3,
                "value": "OTS",
                "confidence_entity": 0.97,
                "extractor": "DIETClassifier",
            },
            {"entity": "person", "start": 0, "end": 3, "value": "wat", "extractor": "DIETClassifier"},
        ],
    )
    r = await client.parse(text)
    assert rasa.requests == [{"text": text}]
    assert r.source == "rasa"
    assert r.intent == "explain_term" and r.confidence == pytest.approx(0.88)
    assert [s.name for s in r.intent_ranking][0] == "explain_term"
    assert sorted(s.name for s in r.intent_ranking) == sorted(nlu.INTENTS)
    glossary = default_glossary()
    ots = glossary.lookup("OTS")
    [ent] = r.entities  # the non-jargon entity is dropped
    assert (ent.start, ent.end, ent.term_id) == (start, start + 3, ots.term_id)
    assert ent.value == glossary.get(ots.term_id).term  # canonical Dutch term
    assert ent.extractor == "DIETClassifier" and ent.confidence == pytest.approx(0.97)
    assert r.term_id == ots.term_id  # resolved locally
    assert r.language == "nl"
    assert r.safety.to_dict() == assess(text).to_dict()
    d = r.to_dict()
    assert d["intent"] == {"name": "explain_term", "confidence": 0.88}
    assert set(d) == {"text", "intent", "intent_ranking", "entities", "safety", "language"}


async def test_unknown_rasa_intent_becomes_relay(rasa, client):
    rasa.answer = rasa_answer("hmm", "chitchat_weather", 0.7)
    r = await client.parse("hmm")
    assert r.intent == "relay" and r.source == "rasa"


async def test_bad_entities_are_ignored(rasa, client):
    text = "de GI"
    rasa.answer = rasa_answer(
        text,
        "relay",
        0.9,
        [
            {"entity": "jargon_term", "start": 3, "end": 99, "value": "GI"},  # out of range
            {"entity": "jargon_term", "start": "3", "end": 5, "value": "GI"},  # not an int
            {"entity": "jargon_term", "start": 0, "end": 2, "value": "zzzqqq"},  # not in the glossary
            "nonsense",
        ],
    )
    r = await client.parse(text)
    assert r.source == "rasa" and r.entities == ()


@pytest.mark.parametrize("mode", ["slow", "500", "malformed", "not_object", "no_intent"])
async def test_failures_fall_back_to_local_parse(rasa, client, caplog, mode):
    rasa.mode = mode
    text = "wat is een GI eigenlijk? mijn geheime verhaal"
    with caplog.at_level(logging.WARNING, logger="nlu.rasa"):
        r = await client.parse(text)
    local = nlu.parse(text)
    assert r.source == "local-fallback"
    assert r.to_dict() == local.to_dict()
    assert client.fallbacks == 1
    warnings = [rec for rec in caplog.records if rec.name == "nlu.rasa"]
    assert warnings, "a warning is logged"
    assert all("geheime" not in rec.getMessage() for rec in caplog.records), "message text leaked to the log"


async def test_timeout_is_bounded(rasa, client):
    rasa.mode = "slow"
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    r = await client.parse("hoi")
    assert r.source == "local-fallback"
    assert loop.time() - t0 < 2.0


async def test_unreachable_server_falls_back():
    c = RasaNLU("http://127.0.0.1:9", timeout=0.3)  # discard port: nothing listens
    try:
        r = await c.parse("hoi")
    finally:
        await c.close()
    assert r.source == "local-fallback" and r.intent == "greet"


async def test_rasa_says_greet_on_acute_message_safety_still_acute(rasa, client):
    text = "ik wil niet meer leven, ik maak er vanavond een eind aan"
    local_level = assess(text).level
    assert local_level == "acute"
    rasa.answer = rasa_answer(text, "greet", 0.99)
    rasa.answer["safety"] = {"level": "none", "categories": [], "cues": []}  # ignored
    r = await client.parse(text)
    assert r.source == "rasa" and r.intent == "greet"
    assert r.safety.level == "acute"
    assert r.to_dict()["safety"] == assess(text).to_dict()


async def test_empty_text_is_not_sent_to_rasa(rasa, client):
    r = await client.parse("   ")
    assert rasa.requests == [] and r.intent == "relay"


async def test_shared_session_is_not_closed_by_client(rasa):
    import aiohttp

    async with aiohttp.ClientSession() as session:
        c = RasaNLU(rasa.url, timeout=0.5, session=session)
        r = await c.parse("hoi")
        await c.close()
        assert not session.closed
        assert r.source == "rasa"


async def test_local_nlu_and_factory():
    local = make_nlu("local")
    assert isinstance(local, LocalNLU)
    assert isinstance(make_nlu(), LocalNLU)
    r = await local.parse("wat betekent OTS?")
    assert r.to_dict() == nlu.parse("wat betekent OTS?").to_dict()
    await local.warm_up()
    await local.close()
    remote = make_nlu("rasa", "http://localhost:5005/")
    assert isinstance(remote, RasaNLU) and remote.url == "http://localhost:5005"
    await remote.close()
    with pytest.raises(ValueError):
        make_nlu("rasa", None)
    with pytest.raises(ValueError):
        make_nlu("spacy")


def test_from_rasa_is_usable_without_http():
    r = from_rasa("help", rasa_answer("help", "ask_help", 0.8))
    assert r.intent == "ask_help" and r.source == "rasa"
