"""A small fake Telegram Bot API server speaking the real wire format, for adapter and e2e tests.

`POST /bot<token>/<method>` with form or JSON bodies, answered with `{"ok": true, "result": ...}`
or Telegram's error shape. It keeps what a real server keeps and checks what a real one checks:
known chats, messages (copyMessage needs a real source), forum topics, callback query ids,
users who blocked the bot, the getUpdates offset (updates below it are confirmed and dropped),
one poller at a time (409 to the older), no getUpdates while a webhook is set. When a webhook is
set it POSTs updates there in order with the secret header, and keeps those not answered 2xx.

`allowed_updates` is recorded but not enforced, so tests can show that the transport itself
ignores update types it did not ask for.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections import defaultdict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import aiohttp
from aiohttp import web

T = TypeVar("T")

INT_FIELDS = {"from_chat_id", "message_id", "message_thread_id", "offset", "limit", "timeout", "user_id"}
BOOL_FIELDS = {"disable_notification", "drop_pending_updates", "protect_content", "show_alert"}
JSON_FIELDS = {"reply_markup", "reply_parameters", "allowed_updates", "link_preview_options", "entities"}
DESCRIPTIONS = {
    400: "Bad Request: chat not found",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class TgUser:
    id: int
    first_name: str
    language_code: str | None = "nl"
    is_bot: bool = False

    def json(self) -> dict[str, Any]:
        data = {"id": self.id, "is_bot": self.is_bot, "first_name": self.first_name}
        return data | ({"language_code": self.language_code} if self.language_code else {})


@dataclass(frozen=True)
class TgGroup:
    id: int
    title: str
    is_forum: bool = True

    def json(self) -> dict[str, Any]:
        forum = {"is_forum": True} if self.is_forum else {}
        return {"id": self.id, "type": "supergroup", "title": self.title} | forum


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float  # time.monotonic() when the request arrived
    status: int = 200
    result: Any = None  # the "result" sent back (a Message dict for sendMessage)


@dataclass
class _Failure:
    status: int
    description: str
    retry_after: int | None
    times: int | None  # None: until clear_failures()


class ApiError(Exception):
    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after


def _coerce(key: str, value: str) -> Any:
    """Form values arrive as strings; read them as Telegram does, by field."""
    if key in JSON_FIELDS:
        return json.loads(value)
    if key in INT_FIELDS or (key == "chat_id" and re.fullmatch(r"-?\d+", value)):
        return int(value)
    if key in BOOL_FIELDS:
        return value == "true"
    return value


@dataclass
class FakeTelegram:
    token: str = "123456:TEST-fake-token"
    username: str = "NaastTestBot"
    calls: list[Call] = field(default_factory=list)
    delivered: list[int] = field(default_factory=list)  # update ids handed out, in order (repeats too)
    webhook: dict[str, Any] | None = None
    url: str = ""
    _pending: list[dict[str, Any]] = field(default_factory=list)
    _failures: dict[str, deque[_Failure]] = field(default_factory=lambda: defaultdict(deque))
    _blocked: set[int] = field(default_factory=set)
    _chats: dict[int, dict[str, Any]] = field(default_factory=dict)
    _messages: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    _topics: set[tuple[int, int]] = field(default_factory=set)
    _queries: set[str] = field(default_factory=set)
    _update_ids: itertools.count = field(default_factory=lambda: itertools.count(10_000))
    _message_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _query_ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _poller: int = 0
    _closing: bool = False
    _runner: web.AppRunner | None = None
    _client: aiohttp.ClientSession | None = None
    _hook_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    _tasks: set[asyncio.Task[None]] = field(default_factory=set)

    @property
    def bot_user(self) -> dict[str, Any]:
        return {"id": int(self.token.split(":")[0]), "is_bot": True, "first_name": "Naast", "username": self.username}

    # --- server lifecycle --------------------------------------------------------------------
    async def start(self) -> FakeTelegram:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        host, port = self._runner.addresses[0][:2]
        self.url = f"http://{host}:{port}"
        return self

    async def close(self) -> None:
        self._closing = True
        self._wake.set()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._client:
            await self._client.close()
        if self._runner:
            await self._runner.cleanup()

    async def __aenter__(self) -> FakeTelegram:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # --- building and pushing updates ----------------------------------------------------
    def message(
        self,
        user: TgUser,
        *,
        chat: TgGroup | None = None,
        thread: int | None = None,
        reply_to: dict[str, Any] | None = None,
        **content: Any,
    ) -> dict[str, Any]:
        """An update carrying one message from `user` (private chat unless `chat` is a group)."""
        chat_json = chat.json() if chat else {"id": user.id, "type": "private", "first_name": user.first_name}
        msg: dict[str, Any] = {
            "message_id": next(self._message_ids),
            "date": int(time.time()),
            "chat": chat_json,
            "from": user.json(),
            **content,
        }
        if thread is not None:
            msg |= {"message_thread_id": thread, "is_topic_message": True}
        if reply_to is not None:
            msg["reply_to_message"] = reply_to
        return {"update_id": next(self._update_ids), "message": msg}

    def text(self, user: TgUser, text: str, **kw: Any) -> dict[str, Any]:
        return self.message(user, text=text, **kw)

    def media(self, user: TgUser, kind: str, caption: str | None = None, **kw: Any) -> dict[str, Any]:
        n = next(self._message_ids)
        f = {"file_id": f"AgAC-{kind}-{n}", "file_unique_id": f"AQAD{n}", "file_size": 2048}
        shapes: dict[str, Any] = {
            "photo": [f | {"width": 90, "height": 67}, f | {"file_id": f"AgAC-big-{n}", "width": 1280, "height": 960}],
            "voice": f | {"duration": 4, "mime_type": "audio/ogg"},
            "audio": f | {"duration": 180, "title": "opname", "mime_type": "audio/mpeg"},
            "video": f | {"width": 640, "height": 480, "duration": 12},
            "video_note": f | {"length": 240, "duration": 8},
            "document": f | {"file_name": "brief.pdf", "mime_type": "application/pdf"},
            "sticker": f | {"type": "regular", "width": 512, "height": 512, "is_animated": False, "is_video": False},
        }
        content = {"animation": shapes["video"], "document": f} if kind == "animation" else {kind: shapes[kind]}
        return self.message(user, **content, **({"caption": caption} if caption else {}), **kw)

    def callback(self, user: TgUser, data: str, message: dict[str, Any]) -> dict[str, Any]:
        """An inline button press on `message` (a Message dict this server returned)."""
        query = {"id": f"q{next(self._query_ids)}", "from": user.json(), "chat_instance": "-81",
                 "message": message, "data": data}  # fmt: skip
        return {"update_id": next(self._update_ids), "callback_query": query}

    def push_update(self, update: dict[str, Any]) -> dict[str, Any]:
        """Queue an update for getUpdates (or the webhook). The same dict twice is a redelivery."""
        body = update.get("message") or update.get("edited_message") or {}
        if isinstance(body.get("chat"), dict) and "id" in body["chat"]:
            chat = body["chat"]
            self._chats[chat["id"]] = chat
            if isinstance(body.get("message_id"), int):
                self._messages[(chat["id"], body["message_id"])] = body
            if body.get("is_topic_message"):
                self._topics.add((chat["id"], body["message_thread_id"]))
        if "callback_query" in update:
            self._queries.add(update["callback_query"]["id"])
        self._pending.append(update)
        self._wake.set()
        if self.webhook:
            self._spawn(self.deliver_webhook())
        return update

    # --- failures ----------------------------------------------------------------------------
    def fail_next(
        self,
        method: str,
        status: int = 429,
        *,
        retry_after: int | None = None,
        description: str | None = None,
        times: int | None = 1,
    ) -> None:
        """The next `times` calls of `method` fail (times=None: until clear_failures())."""
        if status == 429 and retry_after is None:
            retry_after = 1
        default = f"Too Many Requests: retry after {retry_after}" if status == 429 else DESCRIPTIONS[status]
        desc = description or default
        self._failures[method].append(_Failure(status, desc, retry_after, times))

    def clear_failures(self) -> None:
        self._failures.clear()

    def block(self, chat_id: int) -> None:
        """The user blocked the bot: sending to them is 403 from now on."""
        self._blocked.add(chat_id)

    # --- records -----------------------------------------------------------------------------
    def calls_of(self, method: str, *, ok: bool | None = None) -> list[Call]:
        return [c for c in self.calls if c.method == method and (ok is None or (c.status == 200) == ok)]

    def sent_to(self, chat_id: int) -> list[Call]:
        """Messages delivered into a chat (sendMessage and copyMessage that succeeded), in order."""
        return [c for c in self.calls if c.method in ("sendMessage", "copyMessage") and c.status == 200
                and c.params.get("chat_id") == chat_id]  # fmt: skip

    def texts_to(self, chat_id: int) -> list[str]:
        return [c.params["text"] for c in self.sent_to(chat_id) if c.method == "sendMessage"]

    async def wait_for(self, check: Callable[[], T], *, within: float = 10.0, what: str = "condition") -> T:
        """Poll the records until `check()` is truthy; fail with a summary of calls at the deadline."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while not (result := check()):
            if loop.time() > deadline:
                seen = [(c.method, c.params.get("chat_id"), c.status) for c in self.calls if c.method != "getUpdates"]
                raise AssertionError(f"timed out waiting for {what}; calls: {seen}")
            await asyncio.sleep(0.02)
        return result

    async def deliver_webhook(self) -> None:
        """Webhook mode: POST pending updates in order; stop at the first one not answered 2xx."""
        async with self._hook_lock:
            while self.webhook and self._pending:
                update = self._pending[0]
                self._client = self._client or aiohttp.ClientSession()
                headers = {"X-Telegram-Bot-Api-Secret-Token": self.webhook.get("secret_token", "")}
                self.delivered.append(update["update_id"])
                async with self._client.post(self.webhook["url"], json=update, headers=headers) as resp:
                    self.webhook.setdefault("statuses", []).append(resp.status)
                    if not 200 <= resp.status < 300:
                        return
                self._pending.pop(0)

    # --- the API -----------------------------------------------------------------------------
    def _spawn(self, coro: Any) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        if request.content_type == "application/json":
            params = dict(await request.json())
        else:
            params = {k: _coerce(k, v) for k, v in (await request.post()).items() if isinstance(v, str)}
        call = Call(method, params, time.monotonic())
        self.calls.append(call)
        try:
            if request.match_info["token"] != self.token:
                raise ApiError(401, "Unauthorized")
            if (queue := self._failures.get(method)) and queue:
                failure = queue[0]
                if failure.times is not None:
                    failure.times -= 1
                    if failure.times <= 0:
                        queue.popleft()
                raise ApiError(failure.status, failure.description, failure.retry_after)
            handler = getattr(self, f"_api_{method}", None)
            if handler is None:
                raise ApiError(404, "Not Found")
            call.result = await handler(params)
        except ApiError as exc:
            call.status = exc.status
            body: dict[str, Any] = {"ok": False, "error_code": exc.status, "description": exc.description}
            if exc.retry_after is not None:
                body["parameters"] = {"retry_after": exc.retry_after}
            return web.json_response(body, status=exc.status)
        if method == "getUpdates" and not call.result:
            self.calls.remove(call)  # empty polls are noise
        return web.json_response({"ok": True, "result": call.result})

    def _chat(self, chat_id: Any) -> dict[str, Any]:
        if chat_id in self._blocked:
            raise ApiError(403, DESCRIPTIONS[403])
        if chat_id not in self._chats:
            raise ApiError(400, "Bad Request: chat not found")
        return self._chats[chat_id]

    def _new_message(self, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        chat = self._chat(p["chat_id"])
        thread = p.get("message_thread_id")
        if thread is not None and (chat["id"], thread) not in self._topics:
            raise ApiError(400, "Bad Request: message thread not found")
        reply = p.get("reply_parameters")
        if (
            reply
            and (chat["id"], reply["message_id"]) not in self._messages
            and not reply.get("allow_sending_without_reply")
        ):
            raise ApiError(400, "Bad Request: message to be replied not found")
        msg = {"message_id": next(self._message_ids), "date": int(time.time()), "chat": chat, "from": self.bot_user}
        if thread is not None:
            msg |= {"message_thread_id": thread, "is_topic_message": True}
        if "reply_markup" in p:
            msg["reply_markup"] = p["reply_markup"]
        msg |= content
        self._messages[(chat["id"], msg["message_id"])] = msg
        return msg

    async def _api_getMe(self, p: dict[str, Any]) -> Any:
        return self.bot_user | {"can_join_groups": True, "can_read_all_group_messages": False}

    async def _api_getUpdates(self, p: dict[str, Any]) -> Any:
        if self.webhook:
            raise ApiError(409, "Conflict: can't use getUpdates method while webhook is active")
        self._poller += 1
        me = self._poller
        self._wake.set()  # an older poller still waiting is terminated, as Telegram does
        offset = p.get("offset") or 0
        self._pending = [u for u in self._pending if u.get("update_id", 0) >= offset]
        deadline = asyncio.get_running_loop().time() + float(p.get("timeout") or 0)
        while not self._pending and not self._closing:
            self._wake.clear()
            left = deadline - asyncio.get_running_loop().time()
            if left <= 0:
                break
            try:
                await asyncio.wait_for(self._wake.wait(), left)
            except TimeoutError:
                break
            if self._poller != me:
                raise ApiError(409, "Conflict: terminated by other getUpdates request")
        batch = self._pending[: int(p.get("limit") or 100)]
        self.delivered += [u.get("update_id", -1) for u in batch]
        return batch

    async def _api_sendMessage(self, p: dict[str, Any]) -> Any:
        if not p.get("text"):
            raise ApiError(400, "Bad Request: message text is empty")
        if len(p["text"]) > 4096:
            raise ApiError(400, "Bad Request: message is too long")
        return self._new_message(p, text=p["text"])

    async def _api_copyMessage(self, p: dict[str, Any]) -> Any:
        if (p["from_chat_id"], p["message_id"]) not in self._messages:
            raise ApiError(400, "Bad Request: message to copy not found")
        return {"message_id": self._new_message(p)["message_id"]}

    async def _api_createForumTopic(self, p: dict[str, Any]) -> Any:
        chat = self._chat(p["chat_id"])
        if not chat.get("is_forum"):
            raise ApiError(400, "Bad Request: the chat is not a forum")
        thread = next(self._message_ids)
        self._topics.add((chat["id"], thread))
        return {"message_thread_id": thread, "name": p["name"], "icon_color": 7322096}

    async def _api_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        if p["callback_query_id"] not in self._queries:
            raise ApiError(400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        self._queries.discard(p["callback_query_id"])
        return True

    async def _api_setWebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = dict(p)
        if self._pending:
            self._spawn(self.deliver_webhook())
        return True

    async def _api_deleteWebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = None
        if p.get("drop_pending_updates"):
            self._pending.clear()
        return True

    async def _api_getWebhookInfo(self, p: dict[str, Any]) -> Any:
        return {"url": (self.webhook or {}).get("url", ""), "has_custom_certificate": False,
                "pending_update_count": len(self._pending)}  # fmt: skip
