"""The web playground transport at the wire: real WebSocket frames against its aiohttp app."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import WSMsgType
from aiohttp.test_utils import TestClient, TestServer

from bot.domain import Address, Button, FamilyId, Inbound, InboundKind, Outbound
from bot.transports.web import MAX_FRAME_BYTES, MAX_TEXT_CHARS, WS_HARD_LIMIT, WebTransport


class Recorder:
    """A sink that records what the transport hands to the app."""

    def __init__(self) -> None:
        self.events: list[Inbound] = []
        self.arrived = asyncio.Event()
        self.fail = False

    async def __call__(self, event: Inbound) -> None:
        if self.fail:
            raise ConnectionError("redis is down")
        self.events.append(event)
        self.arrived.set()

    async def next(self) -> Inbound:
        await asyncio.wait_for(self.arrived.wait(), 5)
        self.arrived.clear()
        return self.events[-1]


@pytest.fixture
async def web_setup() -> AsyncIterator[tuple[WebTransport, Recorder, TestClient]]:
    transport, sink = WebTransport(history_limit=3), Recorder()
    runner = asyncio.create_task(transport.run(sink))
    client = TestClient(TestServer(transport.app))
    await client.start_server()
    await asyncio.sleep(0)  # let run() attach the sink
    yield transport, sink, client
    await client.close()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


async def receive(ws: Any) -> dict[str, Any]:
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type is WSMsgType.TEXT, msg
    return json.loads(msg.data)


async def connect(client: TestClient) -> Any:
    ws = await client.ws_connect("/ws")
    assert (await receive(ws))["type"] == "history"
    return ws


async def test_text_frame_becomes_an_inbound_event_for_the_sink(web_setup):
    _, sink, client = web_setup
    ws = await connect(client)
    await ws.send_json({"as": "sanne", "text": "Hoi Tineke", "reply_to": None, "callback": None})
    event = await sink.next()
    assert event.transport == "web" and event.sender == "sanne"
    assert event.chat == Address("web", "sanne")
    assert event.kind is InboundKind.TEXT and event.text == "Hoi Tineke"
    assert event.reply_to_ref is None and event.callback_data is None
    echo = await receive(ws)  # the page shows what its persona typed
    assert echo["type"] == "message" and echo["own"] is True and echo["chat"] == "sanne"
    assert echo["ref"] == event.message_ref and echo["text"] == "Hoi Tineke"

    await ws.send_json({"as": "tineke", "text": "Ja", "reply_to": "m1"})
    second = await sink.next()
    assert second.reply_to_ref == "m1" and second.chat == Address("web", "tineke")
    assert second.event_id != event.event_id  # the inbox de-duplicates on it
    await ws.close()


async def test_a_restarted_transport_never_reuses_an_event_id():
    ids = []
    for _ in range(2):  # the embedded Redis remembers seen ids across restarts of the demo
        transport, sink = WebTransport(), Recorder()
        runner = asyncio.create_task(transport.run(sink))
        async with TestClient(TestServer(transport.app)) as client:
            await asyncio.sleep(0)
            ws = await connect(client)
            await ws.send_json({"as": "sanne", "text": "Hoi"})
            ids.append((await sink.next()).event_id)
            await ws.close()
        runner.cancel()
        with pytest.raises(asyncio.CancelledError):
            await runner
    assert ids[0] != ids[1]


async def test_callback_frame_becomes_a_callback_event_without_echo(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    await ws.send_json({"as": "tineke", "callback": "fam:abc:f_1"})
    event = await sink.next()
    assert event.kind is InboundKind.CALLBACK and event.callback_data == "fam:abc:f_1" and event.text == ""
    assert transport.history == {}
    await ws.close()


async def test_send_broadcasts_to_every_page_and_keeps_history(web_setup):
    transport, _, client = web_setup
    page1, page2 = await connect(client), await connect(client)
    msg = Outbound(
        to=Address("web", "tineke"),
        text="💬 Gezin Noor — Sanne:\nHoi",
        buttons=((Button("Gezin Noor", "fam:t:f1"), Button("Gezin Daan", "fam:t:f2")),),
        family_id=FamilyId("f1"),
    )
    sent = await transport.send(msg)
    for page in (page1, page2):
        frame = await receive(page)
        assert frame["type"] == "message" and frame["chat"] == "tineke" and frame["ref"] == sent.ref
        assert frame["text"] == msg.text and frame["family_id"] == "f1" and frame["own"] is False
        assert frame["buttons"] == [
            [{"label": "Gezin Noor", "data": "fam:t:f1"}, {"label": "Gezin Daan", "data": "fam:t:f2"}]
        ]
        assert frame["reply_to"] is None and frame["thread"] is None and frame["copy_of"] is None
    later = await client.ws_connect("/ws")
    history = await receive(later)
    assert [m["ref"] for m in history["messages"]] == [sent.ref]
    for ws in (page1, page2, later):
        await ws.close()


async def test_history_is_bounded_per_chat_and_replayed_in_order(web_setup):
    transport, _, client = web_setup
    refs = []
    for i in range(5):
        refs.append((await transport.send(Outbound(to=Address("web", "sanne"), text=f"s{i}"))).ref)
        await transport.send(Outbound(to=Address("web", "ahmed"), text=f"a{i}"))
    ws = await client.ws_connect("/ws")
    history = (await receive(ws))["messages"]
    assert [m["text"] for m in history if m["chat"] == "sanne"] == ["s2", "s3", "s4"]  # limit 3
    assert [m["text"] for m in history] == ["s2", "a2", "s3", "a3", "s4", "a4"]
    await ws.close()


async def test_copy_of_and_topics_are_translated(web_setup):
    transport, _, _ = web_setup
    first = await transport.create_topic("group-1", "Gezin Noor")
    assert await transport.create_topic("group-1", "Gezin Noor") == first
    assert await transport.create_topic("group-1", "Gezin Daan") != first
    sent = await transport.send(
        Outbound(to=Address("web", "group-1", first), copy_of=(Address("web", "sanne"), "m7"), reply_to_ref="m3")
    )
    assert sent.thread_id == first
    [frame] = transport.history["group-1"]
    assert frame["copy_of"] == {"chat": "sanne", "ref": "m7"} and frame["thread"] == first
    assert frame["reply_to"] == "m3"


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("not json", "bad_json"),
        ("[1, 2]", "bad_frame"),
        ('"hoi"', "bad_frame"),
        (json.dumps({"text": "Hoi"}), "bad_frame"),  # who is speaking?
        (json.dumps({"as": "Sanne!", "text": "Hoi"}), "bad_frame"),
        (json.dumps({"as": "s" * 40, "text": "Hoi"}), "bad_frame"),
        (json.dumps({"as": 7, "text": "Hoi"}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": 5}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": "   "}), "bad_frame"),
        (json.dumps({"as": "sanne"}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": "Hoi", "callback": "fam:x"}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": "Hoi", "reply_to": 12}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": "Hoi", "reply_to": "r" * 65}), "bad_frame"),
        (json.dumps({"as": "sanne", "callback": ""}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": "Hoi", "admin": True}), "bad_frame"),
        (json.dumps({"as": "sanne", "text": "x" * (MAX_TEXT_CHARS + 1)}), "too_large"),
    ],
)
async def test_malformed_frame_gets_an_error_frame_and_the_page_stays_connected(web_setup, raw, code):
    _, sink, client = web_setup
    ws = await connect(client)
    await ws.send_str(raw)
    error = await receive(ws)
    assert error["type"] == "error" and error["code"] == code
    assert "Traceback" not in error["message"] and error["message"]
    assert sink.events == []
    await ws.send_json({"as": "sanne", "text": "nog steeds hier"})
    assert (await sink.next()).text == "nog steeds hier"
    await ws.close()


async def test_oversized_frame_is_refused_kindly(web_setup):
    _, sink, client = web_setup
    ws = await connect(client)
    await ws.send_str(json.dumps({"as": "sanne", "text": "x" * MAX_FRAME_BYTES}))
    error = await receive(ws)
    assert error == {"type": "error", "code": "too_large", "message": f"frame larger than {MAX_FRAME_BYTES} bytes"}
    await ws.send_bytes(b"\x00\x01")
    assert (await receive(ws))["code"] == "bad_frame"
    assert sink.events == [] and not ws.closed
    await ws.close()


async def test_a_huge_frame_closes_only_that_connection(web_setup):
    _, sink, client = web_setup
    ws = await connect(client)
    await ws.send_str("x" * (WS_HARD_LIMIT + 1))
    msg = await asyncio.wait_for(ws.receive(), 5)
    assert msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSED, WSMsgType.CLOSING)
    other = await connect(client)  # the server is fine
    await other.send_json({"as": "sanne", "text": "Hoi"})
    assert (await sink.next()).text == "Hoi"
    await other.close()
    await ws.close()


async def test_events_before_the_app_runs_are_refused_with_not_ready():
    transport = WebTransport()
    async with TestClient(TestServer(transport.app)) as client:
        ws = await connect(client)
        await ws.send_json({"as": "sanne", "text": "Hoi"})
        frame = await receive(ws)
        frame = frame if frame["type"] == "error" else await receive(ws)
        assert frame["code"] == "not_ready"
        await ws.close()


async def test_a_failing_sink_becomes_an_error_frame(web_setup):
    _, sink, client = web_setup
    sink.fail = True
    ws = await connect(client)
    await ws.send_json({"as": "sanne", "text": "Hoi"})
    frames = [await receive(ws), await receive(ws)]
    assert frames[-1]["type"] == "error" and frames[-1]["code"] == "not_accepted"
    await ws.close()


async def test_cross_origin_pages_are_refused(web_setup):
    _, _, client = web_setup
    response = await client.get(
        "/ws",
        headers={
            "Origin": "https://evil.example",
            "Connection": "Upgrade",
            "Upgrade": "websocket",
            "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==",
        },
    )
    assert response.status == 403
    same = await client.ws_connect("/ws", headers={"Origin": f"http://{client.host}:{client.port}"})
    assert (await receive(same))["type"] == "history"
    await same.close()


# --- the maatje's "which family?" choice files the conversation under the chosen family ---------


def ask(chat: str, token: str, reply_to: str | None = None) -> Outbound:
    """The relay's question (handlers/relay.py resolve_family): buttons "fam:<token>:<family id>"."""
    return Outbound(
        to=Address("web", chat),
        text="Voor welk gezin is dit bericht?",
        buttons=((Button("Gezin Noor", f"fam:{token}:f1"),), (Button("Gezin Daan", f"fam:{token}:f2"),)),
        reply_to_ref=reply_to,
    )


async def frames_until(ws: Any, kind: str) -> dict[str, Any]:
    while (frame := await receive(ws))["type"] != kind:
        pass
    return frame


async def test_a_family_choice_files_the_message_the_question_and_the_answer_under_that_family(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    await ws.send_json({"as": "tineke", "text": "Sterkte morgen!"})
    own = await receive(ws)
    await sink.next()
    assert own["own"] is True and own["filed"] is None
    question = await transport.send(ask("tineke", "tok1"))
    assert (await receive(ws))["filed"] is None  # before the choice it belongs to no family yet

    await ws.send_json({"as": "tineke", "callback": "fam:tok1:f2"})
    filed = await receive(ws)
    assert filed == {"type": "filed", "chat": "tineke", "refs": [own["ref"], question.ref], "family_id": "f2"}
    assert (await sink.next()).callback_data == "fam:tok1:f2"  # the handlers still get the tap
    ack = await transport.send(Outbound(to=Address("web", "tineke"), text="✓ Verstuurd naar Gezin Daan."))
    ack_frame = await receive(ws)
    assert ack_frame["ref"] == ack.ref and ack_frame["filed"] == "f2" and ack_frame["family_id"] is None
    relayed = await transport.send(Outbound(to=Address("web", "ahmed"), text="Tineke: Sterkte morgen!"))
    assert (await receive(ws))["filed"] is None and relayed.ref

    later = await client.ws_connect("/ws")  # a page opened (or reloaded) afterwards sees the same
    history = (await receive(later))["messages"]
    assert [(m["text"], m["filed"]) for m in history] == [
        ("Sterkte morgen!", "f2"),
        ("Voor welk gezin is dit bericht?", "f2"),
        ("✓ Verstuurd naar Gezin Daan.", "f2"),
        ("Tineke: Sterkte morgen!", None),
    ]
    for page in (ws, later):
        await page.close()


async def test_quick_messages_are_paired_with_their_own_questions_in_order(web_setup):
    transport, sink, client = web_setup
    transport.history_limit = 20
    ws = await connect(client)
    refs = []
    for text in ("/help", "eerste", "tweede"):  # a command is answered, never asked about
        await ws.send_json({"as": "tineke", "text": text})
        refs.append((await receive(ws))["ref"])
        await sink.next()
    await transport.send(Outbound(to=Address("web", "tineke"), text="Dit kan ik: ..."))
    first, second = await transport.send(ask("tineke", "t1")), await transport.send(ask("tineke", "t2"))
    await ws.send_json({"as": "tineke", "callback": "fam:t2:f1"})
    assert (await frames_until(ws, "filed"))["refs"] == [refs[2], second.ref]
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f2"})
    assert (await frames_until(ws, "filed"))["refs"] == [refs[1], first.ref]
    await ws.close()


async def test_a_question_that_replies_to_the_message_is_paired_with_exactly_that_message(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    refs = []
    for text in ("een", "twee"):
        await ws.send_json({"as": "tineke", "text": text})
        refs.append((await receive(ws))["ref"])
        await sink.next()
    question = await transport.send(ask("tineke", "t1", reply_to=refs[1]))
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f1"})
    assert (await frames_until(ws, "filed"))["refs"] == [refs[1], question.ref]
    await ws.close()


async def test_a_reply_in_a_family_thread_is_not_asked_about(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    thread = await transport.send(
        Outbound(to=Address("web", "tineke"), text="💬 Gezin Noor — Sanne: Hoi", family_id=FamilyId("f1"))
    )
    await receive(ws)
    await ws.send_json({"as": "tineke", "text": "Hoi Sanne", "reply_to": thread.ref})  # goes to Gezin Noor
    await receive(ws)
    await sink.next()
    question = await transport.send(ask("tineke", "t1"))  # an unrelated question: nothing to pair
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f2"})
    assert (await frames_until(ws, "filed"))["refs"] == [question.ref]
    await ws.close()


async def test_old_unanswered_messages_are_not_paired_with_a_new_question():
    now = [1000.0]
    transport, sink = WebTransport(monotonic=lambda: now[0]), Recorder()
    runner = asyncio.create_task(transport.run(sink))
    async with TestClient(TestServer(transport.app)) as client:
        await asyncio.sleep(0)
        ws = await connect(client)
        await ws.send_json({"as": "tineke", "text": "oud bericht, rechtstreeks verstuurd"})  # one family then
        await receive(ws)
        await sink.next()
        now[0] += 3600
        question = await transport.send(ask("tineke", "t1"))
        await ws.send_json({"as": "tineke", "callback": "fam:t1:f2"})
        assert (await frames_until(ws, "filed"))["refs"] == [question.ref]
        await ws.close()
    runner.cancel()
    with pytest.raises(asyncio.CancelledError):
        await runner


async def test_only_a_shown_question_files_anything(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    await ws.send_json({"as": "tineke", "text": "Sterkte"})
    await receive(ws)
    await sink.next()
    await transport.send(ask("tineke", "t1"))
    await receive(ws)
    for data in ("fam:other:f2", "ex:more:ots", "fam:t1"):  # unknown question, other buttons, malformed
        await ws.send_json({"as": "tineke", "callback": data})
        assert (await sink.next()).callback_data == data
    await ws.send_json({"as": "sanne", "callback": "fam:t1:f2"})  # another persona cannot tap Tineke's question
    await sink.next()
    reply = await transport.send(Outbound(to=Address("web", "tineke"), text="Deze keuze is verlopen."))
    frame = await receive(ws)
    assert frame["type"] == "message" and frame["ref"] == reply.ref and frame["filed"] is None
    assert all(m["filed"] is None for m in transport.history["tineke"])
    await ws.close()


async def test_tapping_again_keeps_the_first_choice(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    await ws.send_json({"as": "tineke", "text": "Sterkte"})
    own = (await receive(ws))["ref"]
    await sink.next()
    question = await transport.send(ask("tineke", "t1"))
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f2"})
    assert (await frames_until(ws, "filed"))["family_id"] == "f2"
    await transport.send(Outbound(to=Address("web", "tineke"), text="✓ Verstuurd naar Gezin Daan."))
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f1"})  # the handlers answer "expired"
    again = await frames_until(ws, "filed")
    assert again["refs"] == [own, question.ref] and again["family_id"] == "f2"
    expired = await transport.send(Outbound(to=Address("web", "tineke"), text="Deze keuze is verlopen."))
    assert (await frames_until(ws, "message"))["ref"] == expired.ref
    assert [m["filed"] for m in transport.history["tineke"]] == ["f2"] * 3  # limit 3: own one scrolled out
    await ws.close()


async def test_a_family_choice_the_app_cannot_take_files_no_answer(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    await transport.send(ask("tineke", "t1"))
    await receive(ws)
    sink.fail = True
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f2"})
    await frames_until(ws, "error")
    later = await transport.send(Outbound(to=Address("web", "tineke"), text="Iets anders"))
    assert (await receive(ws))["ref"] == later.ref and transport.history["tineke"][-1]["filed"] is None
    await ws.close()


async def test_clear_forgets_pending_choices(web_setup):
    transport, sink, client = web_setup
    ws = await connect(client)
    await transport.send(ask("tineke", "t1"))
    await receive(ws)
    await ws.send_json({"as": "tineke", "callback": "fam:t1:f2"})
    await frames_until(ws, "filed")
    await sink.next()
    transport.clear()  # the demo's reset
    after = await transport.send(Outbound(to=Address("web", "tineke"), text="Welkom"))
    assert (await receive(ws))["ref"] == after.ref and transport.history["tineke"][-1]["filed"] is None
    await ws.close()
