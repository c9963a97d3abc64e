"""The Telegram adapter at the wire: a real aiogram Bot against the fake Bot API server.

Updates go in as Telegram's JSON and must come out as the right Inbound; Outbound messages must
become the right Bot API calls; Telegram's errors must become RetryLater or Undeliverable.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from pydantic import SecretStr

from bot.config import Settings
from bot.domain import Address, Button, Inbound, InboundKind, Outbound
from bot.errors import ConfigError, RetryLater, Undeliverable
from bot.transports.base import TEXT_LIMIT
from bot.transports.telegram import TelegramTransport, make_bot
from tests.fakes import FakeTelegram, TgGroup, TgUser

SANNE = TgUser(1001, "Sanne")
TINEKE = TgUser(2002, "Tineke", language_code="en")
GROUP = TgGroup(-1001234, "Tineke en gezinnen")


def tg(chat: int | str, thread: int | None = None) -> Address:
    return Address("telegram", str(chat), str(thread) if thread else None)


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def bot(fake: FakeTelegram) -> AsyncIterator[Bot]:
    b = Bot(fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(fake.url)))
    yield b
    await b.session.close()


@pytest.fixture
def transport(bot: Bot) -> TelegramTransport:
    return TelegramTransport(bot, polling_timeout=2)


class Sink:
    """Records what the transport hands over; can be told to fail like a Redis that is down."""

    def __init__(self) -> None:
        self.events: list[Inbound] = []
        self.failures = 0
        self.entered = asyncio.Event()
        self.release: asyncio.Event | None = None

    async def __call__(self, event: Inbound) -> None:
        self.entered.set()
        if self.release is not None:
            await self.release.wait()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("redis is down")
        self.events.append(event)

    def by_id(self, update: dict[str, Any]) -> Inbound | None:
        return next((e for e in self.events if e.event_id == str(update["update_id"])), None)


@pytest.fixture
async def polling(transport: TelegramTransport) -> AsyncIterator[Sink]:
    sink = Sink()
    task = asyncio.create_task(transport.run(sink))
    yield sink
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def receive(fake: FakeTelegram, sink: Sink, update: dict[str, Any]) -> Inbound:
    fake.push_update(update)
    return await fake.wait_for(lambda: sink.by_id(update), what=f"update {update['update_id']}")


async def ignored(fake: FakeTelegram, sink: Sink, update: dict[str, Any]) -> None:
    """Push an update, then a marker; once the marker arrived the first was seen and dropped."""
    fake.push_update(update)
    await receive(fake, sink, fake.text(SANNE, "marker"))
    assert sink.by_id(update) is None


# --- inbound ---------------------------------------------------------------------------------
async def test_private_text_becomes_an_inbound_event(fake, polling):
    update = fake.text(SANNE, "Hoi, de zitting is morgen")
    event = await receive(fake, polling, update)
    msg = update["message"]
    assert event == Inbound(
        transport="telegram",
        event_id=str(update["update_id"]),
        sender="1001",
        chat=tg(1001),
        kind=InboundKind.TEXT,
        text="Hoi, de zitting is morgen",
        message_ref=str(msg["message_id"]),
        lang="nl",
    )


async def test_polling_asks_only_for_messages_and_callbacks_after_deleting_a_webhook(fake, polling):
    await receive(fake, polling, fake.text(SANNE, "hallo"))
    assert fake.calls[0].method == "deleteWebhook"
    [poll, *_] = fake.calls_of("getUpdates")
    assert poll.params["allowed_updates"] == ["message", "callback_query"]
    assert poll.params["timeout"] == 2


async def test_start_link_arrives_as_a_command(fake, polling):
    event = await receive(fake, polling, fake.text(SANNE, "/start AbC-123_xyz"))
    assert event.command == ("start", "AbC-123_xyz")


async def test_a_reply_carries_the_replied_message_id(fake, polling):
    relayed = {"message_id": 77, "date": 1, "chat": {"id": 2002, "type": "private"}, "text": "💬 Gezin Noor"}
    event = await receive(fake, polling, fake.text(TINEKE, "Ja, ik bel je", reply_to=relayed))
    assert event.reply_to_ref == "77" and event.lang == "en"


@pytest.mark.parametrize("kind", ["photo", "voice", "audio", "video", "video_note", "animation", "document", "sticker"])
async def test_media_becomes_media_with_caption_and_message_ref(fake, polling, kind):
    update = fake.media(SANNE, kind, caption="brief van de rechtbank" if kind != "sticker" else None)
    event = await receive(fake, polling, update)
    assert event.kind is InboundKind.MEDIA and event.media == kind
    assert event.text == ("brief van de rechtbank" if kind != "sticker" else "")
    assert event.message_ref == str(update["message"]["message_id"])


async def test_forum_topic_message_has_thread_and_no_false_reply(fake, polling):
    root = {"message_id": 55, "date": 1, "chat": GROUP.json(), "forum_topic_created": {"name": "Gezin Noor",
            "icon_color": 7322096}}  # fmt: skip
    event = await receive(fake, polling, fake.text(TINEKE, "In het topic", chat=GROUP, thread=55, reply_to=root))
    assert event.chat == tg(-1001234, 55) and event.is_group
    assert event.reply_to_ref is None  # replying to the topic's root is just being in the topic
    general = await receive(fake, polling, fake.text(TINEKE, "/koppel", chat=GROUP))
    assert general.chat == tg(-1001234) and general.is_group and general.command == ("koppel", "")


async def test_callback_becomes_callback_and_is_answered_after_it_was_stored(fake, polling):
    button_msg = {"message_id": 90, "date": 1, "chat": {"id": 2002, "type": "private"}, "text": "Voor welk gezin?"}
    update = fake.callback(TINEKE, "fam:tok:f1", button_msg)
    event = await receive(fake, polling, update)
    assert event.kind is InboundKind.CALLBACK and event.callback_data == "fam:tok:f1"
    assert event.chat == tg(2002) and event.sender == "2002" and event.message_ref == "90"
    query_id = update["callback_query"]["id"]
    answer = await fake.wait_for(lambda: fake.calls_of("answerCallbackQuery", ok=True), what="answer")
    assert [c.params["callback_query_id"] for c in answer] == [query_id]


@pytest.mark.parametrize(
    "content",
    [
        {"location": {"latitude": 52.37, "longitude": 4.89}},
        {"contact": {"phone_number": "+31600000000", "first_name": "X"}},
        {"poll": {"id": "1", "question": "?", "options": [{"persistent_id": "o1", "text": "Ja", "voter_count": 0}],
                  "total_voter_count": 0, "is_closed": False, "is_anonymous": True, "type": "regular",
                  "allows_multiple_answers": False, "allows_revoting": False, "members_only": False}},
        {"dice": {"emoji": "🎲", "value": 3}},
    ],
    ids=["location", "contact", "poll", "dice"],
)  # fmt: skip
async def test_unsupported_content_is_marked_unsupported(fake, polling, content):
    event = await receive(fake, polling, fake.message(SANNE, **content))
    assert event.kind is InboundKind.UNSUPPORTED and event.media == next(iter(content)) and event.text == ""


@pytest.mark.parametrize(
    "make",
    [
        lambda f: {"update_id": 5, "edited_message": f.text(SANNE, "bewerkt")["message"]},
        lambda f: {"update_id": 6, "channel_post": {"message_id": 1, "date": 1, "text": "x",
                                                    "chat": {"id": -100999, "type": "channel"}}},
        lambda f: {"update_id": 7, "my_chat_member": {"chat": GROUP.json(), "from": SANNE.json(), "date": 1,
                   "old_chat_member": {"status": "left", "user": SANNE.json()},
                   "new_chat_member": {"status": "member", "user": SANNE.json()}}},
        lambda f: f.text(TgUser(4444, "AndereBot", is_bot=True), "hallo van een bot"),
        lambda f: f.message(SANNE, chat=GROUP, new_chat_members=[SANNE.json()]),
        lambda f: {"update_id": 8, "some_future_update": {"x": 1}},
    ],
    ids=["edited", "channel_post", "my_chat_member", "from_bot", "service_message", "unknown_type"],
)  # fmt: skip
async def test_other_updates_are_ignored(fake, polling, make):
    await ignored(fake, polling, make(fake))


async def test_malformed_update_is_skipped_and_its_batch_still_arrives(fake, polling):
    fake.push_update({"update_id": 3, "message": {"message_id": 1, "text": "zonder chat en datum"}})
    good = await receive(fake, polling, fake.text(SANNE, "na het kapotte"))
    assert good.text == "na het kapotte" and len(polling.events) == 1


async def test_update_is_fetched_again_until_the_sink_stored_it(fake, polling):
    polling.failures = 1
    update = fake.text(SANNE, "Redis even weg")
    event = await receive(fake, polling, update)
    assert event.text == "Redis even weg"
    assert fake.delivered.count(update["update_id"]) >= 2  # the offset did not move past it


# --- outbound --------------------------------------------------------------------------------
async def test_text_with_buttons_becomes_send_message_with_inline_keyboard(fake, transport):
    fake.push_update(fake.text(TINEKE, "hoi"))  # Telegram knows the chat once the user wrote
    buttons = ((Button("Gezin Noor", "fam:t:f1"),), (Button("Gezin Daan", "fam:t:f2"),))
    sent = await transport.send(Outbound(to=tg(2002), text="Voor welk gezin is dit bericht?", buttons=buttons))
    [call] = fake.calls_of("sendMessage")
    assert call.params == {
        "chat_id": 2002,
        "text": "Voor welk gezin is dit bericht?",
        "reply_markup": {
            "inline_keyboard": [
                [{"text": "Gezin Noor", "callback_data": "fam:t:f1"}],
                [{"text": "Gezin Daan", "callback_data": "fam:t:f2"}],
            ]
        },
    }
    assert sent.ref == str(call.result["message_id"]) and sent.thread_id is None


async def test_thread_reply_and_silent_are_passed_on(fake, transport):
    first = fake.push_update(fake.text(TINEKE, "in topic", chat=GROUP, thread=55))
    ref = str(first["message"]["message_id"])
    sent = await transport.send(Outbound(to=tg(GROUP.id, 55), text="Antwoord", reply_to_ref=ref, silent=True))
    [call] = fake.calls_of("sendMessage")
    assert call.params["message_thread_id"] == 55 and call.params["chat_id"] == GROUP.id
    assert call.params["reply_parameters"]["message_id"] == int(ref)
    assert call.params["disable_notification"] is True
    assert sent.thread_id == "55"


async def test_copy_of_becomes_copy_message(fake, transport):
    photo = fake.push_update(fake.media(SANNE, "photo", caption="brief"))
    fake.push_update(fake.text(TINEKE, "hoi"))
    ref = str(photo["message"]["message_id"])
    sent = await transport.send(Outbound(to=tg(2002), copy_of=(tg(1001), ref)))
    [call] = fake.calls_of("copyMessage", ok=True)
    assert call.params == {"chat_id": 2002, "from_chat_id": 1001, "message_id": int(ref)}
    assert sent.ref == str(call.result["message_id"])


async def test_create_topic_returns_the_thread_id(fake, transport):
    fake.push_update(fake.text(TINEKE, "/koppel", chat=GROUP))
    thread = await transport.create_topic(str(GROUP.id), "Gezin Noor")
    [call] = fake.calls_of("createForumTopic")
    assert call.params == {"chat_id": GROUP.id, "name": "Gezin Noor"}
    assert thread == str(call.result["message_thread_id"])
    await transport.send(Outbound(to=tg(GROUP.id, int(thread)), text="In het nieuwe topic"))
    assert fake.calls_of("sendMessage", ok=True)[0].params["message_thread_id"] == int(thread)


async def test_text_over_the_limit_is_split(fake, transport):
    fake.push_update(fake.text(TINEKE, "hoi"))
    await transport.send(Outbound(to=tg(2002), text="a" * TEXT_LIMIT + "b" * 10))
    assert fake.texts_to(2002) == ["a" * TEXT_LIMIT, "b" * 10]


# --- errors ----------------------------------------------------------------------------------
async def test_429_becomes_retry_later_with_telegrams_retry_after(fake, transport):
    fake.push_update(fake.text(TINEKE, "hoi"))
    fake.fail_next("sendMessage", 429, retry_after=7)
    with pytest.raises(RetryLater) as exc:
        await transport.send(Outbound(to=tg(2002), text="te snel"))
    assert exc.value.retry_after == 7


@pytest.mark.parametrize("status", [500, 502])
async def test_server_errors_become_retry_later_without_a_time(fake, transport, status):
    fake.push_update(fake.text(TINEKE, "hoi"))
    fake.fail_next("sendMessage", status)
    with pytest.raises(RetryLater) as exc:
        await transport.send(Outbound(to=tg(2002), text="later"))
    assert exc.value.retry_after is None


async def test_blocked_user_is_undeliverable_and_the_error_holds_no_message_text(fake, transport):
    fake.push_update(fake.text(SANNE, "hoi"))
    fake.block(1001)
    with pytest.raises(Undeliverable) as exc:
        await transport.send(Outbound(to=tg(1001), text="geheim bericht"))
    assert "blocked" in str(exc.value) and "geheim" not in str(exc.value)


async def test_bad_requests_are_undeliverable(fake, transport):
    with pytest.raises(Undeliverable, match="chat not found"):
        await transport.send(Outbound(to=tg(3003), text="aan niemand"))
    fake.push_update(fake.text(TINEKE, "hoi"))
    with pytest.raises(Undeliverable, match="message to copy not found"):
        await transport.send(Outbound(to=tg(2002), copy_of=(tg(1001), "999999")))
    with pytest.raises(Undeliverable, match="not a forum"):
        await transport.create_topic("2002", "Gezin Noor")


async def test_network_failure_becomes_retry_later():
    async with FakeTelegram() as gone:
        url, token = gone.url, gone.token
    bot = Bot(token, session=AiohttpSession(api=TelegramAPIServer.from_base(url)))
    try:
        with pytest.raises(RetryLater) as exc:
            await TelegramTransport(bot).send(Outbound(to=tg(2002), text="niemand luistert"))
        assert exc.value.retry_after is None
    finally:
        await bot.session.close()


# --- webhook ---------------------------------------------------------------------------------
@pytest.fixture
async def webhook(bot: Bot, fake: FakeTelegram) -> AsyncIterator[tuple[str, Sink]]:
    transport = TelegramTransport(
        bot, webhook_url="https://naast.example/tg/hook", webhook_secret="s3cret-Token_1",
        webhook_host="127.0.0.1", webhook_port=0,
    )  # fmt: skip
    sink = Sink()
    task = asyncio.create_task(transport.run(sink))
    await fake.wait_for(lambda: fake.webhook and transport.webhook_bound, what="webhook set")
    host, port = transport.webhook_bound  # type: ignore[misc]
    local = f"http://{host}:{port}/tg/hook"
    fake.webhook["url"] = local  # type: ignore[index]  # what the reverse proxy in front would do
    yield local, sink
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


async def test_set_webhook_carries_secret_and_allowed_updates(fake, webhook):
    [call] = fake.calls_of("setWebhook")
    assert call.params["url"] == "https://naast.example/tg/hook"
    assert call.params["secret_token"] == "s3cret-Token_1"
    assert call.params["allowed_updates"] == ["message", "callback_query"]


async def test_webhook_refuses_a_wrong_or_missing_secret(fake, webhook):
    url, sink = webhook
    update = fake.text(SANNE, "vals")
    async with aiohttp.ClientSession() as http:
        for headers in ({"X-Telegram-Bot-Api-Secret-Token": "wrong"}, {}):
            async with http.post(url, json=update, headers=headers) as resp:
                assert resp.status == 403
    assert sink.events == [] and not sink.entered.is_set()


async def test_webhook_answers_200_only_after_the_sink_returned(fake, webhook):
    url, sink = webhook
    sink.release = asyncio.Event()
    update = fake.text(SANNE, "via webhook")
    async with aiohttp.ClientSession() as http:
        headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
        request = asyncio.create_task(http.post(url, json=update, headers=headers))
        await sink.entered.wait()
        for _ in range(20):
            await asyncio.sleep(0)
        assert not request.done()
        sink.release.set()
        resp = await request
        assert resp.status == 200
        resp.release()
    assert sink.by_id(update) is not None and sink.by_id(update).text == "via webhook"


async def test_webhook_update_not_stored_is_sent_again_by_telegram(fake, webhook):
    _, sink = webhook
    sink.failures = 1
    update = fake.push_update(fake.text(SANNE, "Redis even weg"))
    await fake.wait_for(lambda: fake.webhook.get("statuses"), what="first delivery")
    assert fake.webhook["statuses"] == [503] and sink.events == []
    await fake.deliver_webhook()  # Telegram retries an update that was not answered 2xx
    assert fake.webhook["statuses"] == [503, 200]
    assert sink.by_id(update) is not None


async def test_webhook_drops_unreadable_bodies_with_200(fake, webhook):
    url, sink = webhook
    headers = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-Token_1"}
    async with aiohttp.ClientSession() as http:
        async with http.post(url, data=b"not json", headers=headers) as resp:
            assert resp.status == 200
        async with http.post(url, json={"update_id": 1, "message": {"text": "x"}}, headers=headers) as resp:
            assert resp.status == 200
    assert sink.events == []


# --- construction ----------------------------------------------------------------------------
async def test_make_bot_talks_to_the_configured_api_server(fake, tmp_path):
    settings = Settings(_env_file=None, telegram_token=SecretStr(fake.token), telegram_api_url=fake.url + "/",
                        data_dir=tmp_path)  # fmt: skip
    bot = make_bot(settings)
    try:
        me = await bot.me()
    finally:
        await bot.session.close()
    assert me.username == "NaastTestBot" and fake.calls_of("getMe")
    with pytest.raises(ConfigError):
        make_bot(Settings(_env_file=None, data_dir=tmp_path))


async def test_webhook_mode_needs_a_secret(bot):
    with pytest.raises(ConfigError, match="NAAST_WEBHOOK_SECRET"):
        TelegramTransport(bot, webhook_url="https://naast.example/tg/hook")
