"""End to end: the real aiogram bot, the real app and a real Redis, against the fake Bot API server.

Each test runs `app.run()` in the background (long polling) and waits for the calls it expects in
the fake's records. Gezin Noor: parent Sanne (1001) and maatje Tineke (2002).
"""

from __future__ import annotations

import asyncio
import os
import signal
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from pydantic import SecretStr
from redis.asyncio import Redis

from bot.admin import Admin
from bot.app import App, build_app
from bot.config import Settings
from bot.domain import Person, Role, SystemClock
from bot.errors import AdminError, ConfigError
from bot.serve import serve
from bot.store import Store
from bot.transports.telegram import TelegramTransport
from tests.fakes import Call, FakeTelegram, TgGroup, TgUser

SANNE = TgUser(1001, "Sanne")
AHMED = TgUser(1003, "Ahmed")
TINEKE = TgUser(2002, "Tineke")
STRANGER = TgUser(9009, "Kees")
GROUP = TgGroup(-1001234, "Tineke en gezinnen", is_forum=True)


async def until(check: Callable[[], Awaitable[Any]], what: str, within: float = 10.0) -> Any:
    """Poll an async condition (e.g. a store count) with a deadline."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not (result := await check()):
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)
    return result


@dataclass
class Org:
    fake: FakeTelegram
    settings: Settings
    store: Store
    admin: Admin
    people: dict[str, Person] = field(default_factory=dict)
    app: App | None = None
    bot: Bot | None = None
    task: asyncio.Task[None] | None = None
    markers: int = 0

    async def start(self, store: Store | None = None) -> App:
        self.bot = Bot(self.fake.token, session=AiohttpSession(api=TelegramAPIServer.from_base(self.fake.url)))
        self.admin.bot_username = (await self.bot.me()).username  # as serve() does
        transport = TelegramTransport(self.bot, polling_timeout=5)
        self.app = await build_app(self.settings, store=store or self.store, transports=[transport])
        self.task = asyncio.create_task(self.app.run())
        return self.app

    async def stop(self) -> None:
        if self.task is not None:
            self.task.cancel()
            await asyncio.gather(self.task, return_exceptions=True)
            self.task = None
        if self.bot is not None:
            await self.bot.session.close()
            self.bot = None

    def say(self, user: TgUser, text: str, **kw: Any) -> dict[str, Any]:
        return self.fake.push_update(self.fake.text(user, text, **kw))

    async def text_to(self, chat: int, contains: str) -> Call:
        """The first sendMessage into `chat` whose text contains `contains`, once it happened."""
        return await self.fake.wait_for(
            lambda: next((c for c in self.fake.sent_to(chat) if contains in c.params.get("text", "")), None),
            what=f"a message to {chat} containing {contains!r}",
        )

    async def join(self, person: Person, user: TgUser) -> None:
        _, _, link = await self.admin.invite(person.id)
        self.say(user, f"/start {link.partition('?start=')[2]}")
        await self.text_to(user.id, f"Welkom bij Naast, {person.name}")

    async def noor(self, *, daan: bool = False) -> None:
        a = self.admin
        fam = await a.add_family("Gezin Noor")
        tineke = await a.add_person(Role.MAATJE, "Tineke")
        sanne = await a.add_person(Role.PARENT, "Sanne", family_id=fam.id)
        await a.assign(fam.id, tineke.id)
        self.people |= {"tineke": tineke, "sanne": sanne}
        await self.join(tineke, TINEKE)
        await self.join(sanne, SANNE)
        if daan:
            fam2 = await a.add_family("Gezin Daan")
            await a.assign(fam2.id, tineke.id)
            ahmed = await a.add_person(Role.PARENT, "Ahmed", family_id=fam2.id)
            self.people["ahmed"] = ahmed
            await self.join(ahmed, AHMED)

    async def flushed(self) -> None:
        """Once a marker from Sanne reached Tineke and the outbox is empty, every update pushed
        before it was handled and everything it caused was sent: safe to assert what did not happen."""
        self.markers += 1
        marker = f"— marker {self.markers} —"
        self.say(SANNE, marker)
        await self.fake.wait_for(
            lambda: [c for c in self.fake.calls_of("sendMessage", ok=True) if marker in c.params["text"]],
            what=marker,
        )  # in Tineke's chat, or her group's topic once she linked one
        assert self.app is not None
        await until(lambda: _equals(self.app.store.outbox.pending_count, 0), "an empty outbox")


@pytest.fixture
async def fake() -> AsyncIterator[FakeTelegram]:
    async with FakeTelegram() as server:
        yield server


@pytest.fixture
async def org(fake: FakeTelegram, settings: Settings, store: Store) -> AsyncIterator[Org]:
    admin = Admin(store.directory, SystemClock(), settings.max_families_per_maatje)
    o = Org(fake, settings, store, admin)
    await o.start()
    yield o
    await o.stop()


async def test_invite_link_welcomes_the_parent(org, fake):
    fam = await org.admin.add_family("Gezin Noor")
    sanne = await org.admin.add_person(Role.PARENT, "Sanne", family_id=fam.id)
    _, _, link = await org.admin.invite(sanne.id)
    assert link.startswith("https://t.me/NaastTestBot?start=")
    org.say(SANNE, f"/start {link.partition('?start=')[2]}")
    welcome = await org.text_to(SANNE.id, "Welkom bij Naast, Sanne")
    assert "112" in welcome.params["text"]


async def test_parent_message_reaches_maatje_and_her_reply_comes_back(org, fake):
    await org.noor(daan=True)  # two families: only the reply tells which one is meant
    org.say(SANNE, "Hoi Tineke, de zitting is morgen")
    relayed = await org.text_to(TINEKE.id, "de zitting is morgen")
    assert relayed.params["text"] == "💬 Gezin Noor — Sanne:\nHoi Tineke, de zitting is morgen"

    org.say(TINEKE, "Ik bel je vanavond", reply_to=relayed.result)
    answer = await org.text_to(SANNE.id, "Ik bel je vanavond")
    assert answer.params["text"] == "Tineke: Ik bel je vanavond"
    await org.flushed()
    assert fake.texts_to(AHMED.id)[1:] == []  # only Ahmed's welcome
    assert not any("Voor welk gezin" in t for t in fake.texts_to(TINEKE.id))


async def test_parent_photo_reaches_maatje_as_header_and_copy(org, fake):
    await org.noor()
    photo = fake.push_update(fake.media(SANNE, "photo", caption="brief van de rechtbank"))
    header = await org.text_to(TINEKE.id, "📎 Gezin Noor — Sanne stuurde dit:")
    assert "brief van de rechtbank" in header.params["text"]
    [copy] = await fake.wait_for(lambda: fake.calls_of("copyMessage", ok=True), what="copyMessage")
    assert copy.params == {"chat_id": TINEKE.id, "from_chat_id": SANNE.id, "message_id": photo["message"]["message_id"]}
    assert fake.sent_to(TINEKE.id)[-2:] == [header, copy]  # header first, then the photo


async def test_maatje_with_two_families_picks_one_with_a_button(org, fake):
    await org.noor(daan=True)
    org.say(TINEKE, "Sterkte morgen!")
    ask = await org.text_to(TINEKE.id, "Voor welk gezin is dit bericht?")
    buttons = {b["text"]: b["callback_data"] for row in ask.params["reply_markup"]["inline_keyboard"] for b in row}
    assert set(buttons) == {"Gezin Noor", "Gezin Daan"}

    press = fake.push_update(fake.callback(TINEKE, buttons["Gezin Daan"], ask.result))
    await org.text_to(AHMED.id, "Tineke: Sterkte morgen!")
    await org.text_to(TINEKE.id, "✓ Verstuurd naar Gezin Daan.")
    answered = await fake.wait_for(lambda: fake.calls_of("answerCallbackQuery", ok=True), what="answer")
    await org.flushed()
    assert [c.params["callback_query_id"] for c in answered] == [press["callback_query"]["id"]]
    assert not any("Sterkte" in t for t in fake.texts_to(SANNE.id))


async def test_forum_group_gets_a_topic_per_family(org, fake):
    await org.noor()
    org.say(TINEKE, "/koppel", chat=GROUP)
    await org.text_to(GROUP.id, "Deze groep is gekoppeld")

    org.say(SANNE, "Via de groep")
    [topic] = await fake.wait_for(lambda: fake.calls_of("createForumTopic", ok=True), what="createForumTopic")
    assert topic.params == {"chat_id": GROUP.id, "name": "Gezin Noor"}
    thread = topic.result["message_thread_id"]
    relayed = await org.text_to(GROUP.id, "Via de groep")
    assert relayed.params["message_thread_id"] == thread
    await org.flushed()
    assert not any("Via de groep" in t for t in fake.texts_to(TINEKE.id))  # the group, not her private chat

    root = {"message_id": thread, "date": 1, "chat": GROUP.json(), "forum_topic_created": {"name": "Gezin Noor",
            "icon_color": 7322096}}  # fmt: skip
    org.say(TINEKE, "Antwoord in het topic", chat=GROUP, thread=thread, reply_to=root)
    answer = await org.text_to(SANNE.id, "Antwoord in het topic")
    assert answer.params["text"] == "Tineke: Antwoord in het topic"

    org.say(SANNE, "Nog een")  # the topic is reused
    again = await org.text_to(GROUP.id, "Nog een")
    assert again.params["message_thread_id"] == thread and len(fake.calls_of("createForumTopic")) == 1


async def test_caseload_limit_refuses_a_fourth_family(org):
    tineke = await org.admin.add_person(Role.MAATJE, "Tineke")
    for i in range(3):
        fam = await org.admin.add_family(f"Gezin {i}")
        await org.admin.assign(fam.id, tineke.id)
    fourth = await org.admin.add_family("Gezin 4")
    with pytest.raises(AdminError, match="already has 3 families"):
        await org.admin.assign(fourth.id, tineke.id)


async def test_unknown_user_learns_where_to_get_help_and_reaches_nobody(org, fake):
    await org.noor()
    before = len(fake.calls_of("sendMessage"))
    org.say(STRANGER, "hallo wie ben jij")
    explained = await org.text_to(STRANGER.id, "uitnodiging")
    assert "112" in explained.params["text"] and "0800-2000" in explained.params["text"]
    await org.flushed()
    sends = fake.calls_of("sendMessage")[before:]
    assert [c.params["chat_id"] for c in sends] == [STRANGER.id, TINEKE.id]  # the marker is the only other


async def test_update_delivered_twice_is_handled_once(org, fake):
    await org.noor()
    update = fake.text(SANNE, "Twee keer ontvangen?")
    fake.push_update(update)
    fake.push_update(update)  # Telegram redelivers an update whose confirmation it did not see
    await org.flushed()
    assert fake.delivered.count(update["update_id"]) == 2
    assert sum("Twee keer ontvangen?" in t for t in fake.texts_to(TINEKE.id)) == 1


async def test_rate_limit_is_waited_out_and_delivered_once(org, fake):
    await org.noor()
    fake.fail_next("sendMessage", 429, retry_after=1)
    org.say(SANNE, "Even geduld")
    delivered = await org.text_to(TINEKE.id, "Even geduld")
    [limited] = fake.calls_of("sendMessage", ok=False)
    assert "Even geduld" in limited.params["text"]
    assert delivered.at - limited.at >= 1.0
    assert sum("Even geduld" in t for t in fake.texts_to(TINEKE.id)) == 1


async def test_blocked_parent_goes_to_the_dead_list_and_the_rest_carries_on(org, fake, store):
    await org.noor()
    fake.block(SANNE.id)
    org.say(TINEKE, "Hoe gaat het?")
    await until(store.outbox.dead_count, "a dead message")
    attempts = [c for c in fake.calls_of("sendMessage") if c.params["chat_id"] == SANNE.id]
    assert [c.status for c in attempts][-1:] == [403] and len([c for c in attempts if c.status == 403]) == 1

    org.say(STRANGER, "hallo?")
    await org.text_to(STRANGER.id, "uitnodiging")
    org.say(TINEKE, "Nog een bericht")
    await until(lambda: _equals(store.outbox.dead_count, 2), "a second dead message")
    assert await store.outbox.pending_count() == 0 and org.task is not None and not org.task.done()


async def _equals(count: Callable[[], Awaitable[int]], n: int) -> bool:
    return await count() == n


async def test_malformed_edited_and_unsupported_updates_do_not_stop_the_bot(org, fake):
    await org.noor()
    before = len(fake.sent_to(SANNE.id))
    fake.push_update({"update_id": 1, "message": {"message_id": 5, "text": "geen chat, geen datum"}})
    fake.push_update({"update_id": 2, "edited_message": fake.text(SANNE, "bewerkt")["message"]})
    fake.push_update(fake.message(SANNE, location={"latitude": 52.37, "longitude": 4.89}))
    fake.push_update(fake.message(SANNE, chat=GROUP, new_chat_members=[SANNE.json()]))
    await org.flushed()
    [kind] = fake.texts_to(SANNE.id)[before:]
    assert kind.startswith("Dit soort bericht kan ik niet doorsturen")
    assert [t for t in fake.texts_to(TINEKE.id) if "bewerkt" in t or "geen chat" in t] == []


async def test_restart_with_pending_outbox_delivers_everything_exactly_once(org, fake, store, redis_url, prefix):
    await org.noor()
    fake.fail_next("sendMessage", 500, times=None)  # Telegram is down from here on
    texts = [f"Bericht {i} tijdens de storing" for i in range(3)]  # "storing" marks them
    for text in texts:
        org.say(SANNE, text)
    await until(lambda: _equals(store.outbox.pending_count, 3), "three messages waiting")
    await fake.wait_for(lambda: fake.calls_of("sendMessage", ok=False), what="a failed attempt")
    # Stop between attempts (not while a chat's queue is leased), as a deploy would.
    now_ms = int(SystemClock().now().timestamp() * 1000)
    await until(lambda: _due_within(store, now_ms + 5000), "the retry to be scheduled")
    await org.stop()
    assert not any("storing" in t for t in fake.texts_to(TINEKE.id))  # nothing got through

    late = org.say(SANNE, "Bericht 3 na de storing, terwijl de bot uit stond")
    texts.append(late["message"]["text"])
    fake.clear_failures()
    fresh = Store.from_redis(Redis.from_url(redis_url), store.codec, prefix)  # a new process, same Redis
    try:
        await org.start(fresh)
        await until(lambda: _equals(fresh.outbox.pending_count, 0), "the outbox to drain", within=20)
        await org.flushed()
    finally:
        await org.stop()
        await fresh.redis.aclose()
    delivered = fake.texts_to(TINEKE.id)
    for text in texts:
        assert sum(text in t for t in delivered) == 1, text
    assert [t for t in delivered if "storing" in t] == [f"💬 Gezin Noor — Sanne:\n{t}" for t in texts]


async def _due_within(store: Store, limit_ms: int) -> bool:
    due = await store.outbox.next_due_ms()
    return due is not None and due <= limit_ms


# --- the production entry ----------------------------------------------------------------------
def _serve_settings(settings: Settings, fake: FakeTelegram, **kw: Any) -> Settings:
    return settings.model_copy(update={"telegram_token": SecretStr(fake.token), "telegram_api_url": fake.url, **kw})


async def test_serve_without_token_explains_how_to_set_it(settings):
    with pytest.raises(ConfigError) as exc:
        await serve(settings)
    assert "NAAST_TELEGRAM_TOKEN" in str(exc.value) and "naast demo" in str(exc.value)


async def test_serve_runs_the_bot_until_stopped(settings, fake, store):
    live = _serve_settings(settings, fake)
    stop = asyncio.Event()
    task = asyncio.create_task(serve(live, stop=stop))
    fake.push_update(fake.text(STRANGER, "hallo"))
    explained = await fake.wait_for(lambda: fake.texts_to(STRANGER.id), what="an answer")
    assert "112" in explained[0]
    assert live.telegram_bot_username == "NaastTestBot"  # asked from getMe for invite links
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_serve_stops_cleanly_on_sigterm(settings, fake, store):
    task = asyncio.create_task(serve(_serve_settings(settings, fake)))
    fake.push_update(fake.text(STRANGER, "hallo"))
    await fake.wait_for(lambda: fake.texts_to(STRANGER.id), what="an answer")
    assert signal.getsignal(signal.SIGTERM) is not signal.SIG_DFL  # else the signal would end pytest
    os.kill(os.getpid(), signal.SIGTERM)
    await asyncio.wait_for(task, 10)  # returns normally
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL


async def test_serve_in_webhook_mode_receives_through_the_webhook(settings, fake, store):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    live = _serve_settings(
        settings, fake, webhook_url=f"http://127.0.0.1:{port}/tg", webhook_secret=SecretStr("geheim_123"),
        webhook_host="127.0.0.1", webhook_port=port,
    )  # fmt: skip
    stop = asyncio.Event()
    task = asyncio.create_task(serve(live, stop=stop))
    await fake.wait_for(lambda: fake.webhook, what="setWebhook")
    assert fake.webhook["secret_token"] == "geheim_123"  # type: ignore[index]
    fake.push_update(fake.text(STRANGER, "hallo"))  # the fake POSTs it to the webhook
    await fake.wait_for(lambda: fake.texts_to(STRANGER.id), what="an answer")
    assert fake.webhook["statuses"] == [200] and not fake.calls_of("getUpdates")  # type: ignore[index]
    stop.set()
    await asyncio.wait_for(task, 10)


async def test_serve_refuses_webhook_mode_without_a_secret(settings, fake):
    with pytest.raises(ConfigError, match="NAAST_WEBHOOK_SECRET"):
        await serve(_serve_settings(settings, fake, webhook_url="https://naast.example/tg"))
