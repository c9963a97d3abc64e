"""The web playground transport: browser pages talk JSON over a WebSocket.

A page sends one event per frame, speaking as a persona:
    {"as": "sanne", "text": "Hoi", "reply_to": null, "callback": null}
and receives what the bot sends to any persona, as the whole history on connect and then live:
    {"type": "message", "chat": "tineke", "ref": "...", "text": "...", "buttons": [[{"label", "data"}]], ...}
Like the Telegram adapter it only translates; who may say what is decided by the handlers.

One thing the page needs that no Outbound carries: when a maatje with several families types without
replying, the relay asks "for which family?" with buttons `fam:<token>:<family id>`, and neither that
question, the maatje's message it is about, nor the "✓ sent" answer names a family. The tap does. So
when a persona taps such a button under a question on its own screen, the transport files the question
and the message it asked about under that family (`filed`, for display only: unlike `family_id` it
makes no reply thread) and tells the pages `{"type": "filed", "chat", "refs", "family_id"}`; the
bot's next answer in that chat without a family of its own is filed there too. Which message a
question is about: the one it replies to, else the oldest of that chat's recent messages that no
reply thread or command accounts for and no earlier question took (the handlers answer one sender's
events in order).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import re
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from bot.domain import Address, Inbound, InboundKind, Outbound, Sent
from bot.transports.base import InboundSink

log = logging.getLogger(__name__)

MAX_FRAME_BYTES = 16 * 1024  # kind error frame above this; aiohttp closes the socket above WS_HARD_LIMIT
WS_HARD_LIMIT = 256 * 1024
MAX_TEXT_CHARS = 10_000  # above the handlers' own limit, so they can answer "too long" in their words
MAX_ID_CHARS = 64
USER_ID = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
FIELDS = {"as", "text", "reply_to", "callback"}
FAMILY_CHOICE = "fam:"  # the relay's "which family?" buttons: fam:<token>:<family id> (handlers/relay.py)
CHOICE_WAIT_S = 120.0  # a message, or a tap, older than this is not paired with a question, or an answer


class FrameError(ValueError):
    """A frame from a page that does not follow the protocol; `code` is sent back to the page."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


def parse_frame(raw: str) -> dict[str, Any]:
    """Check one incoming frame strictly and return its fields, or raise FrameError."""
    if len(raw.encode()) > MAX_FRAME_BYTES:
        raise FrameError("too_large", f"frame larger than {MAX_FRAME_BYTES} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        raise FrameError("bad_json", "frame is not valid JSON") from None
    if not isinstance(data, dict):
        raise FrameError("bad_frame", "frame must be a JSON object")
    if unknown := set(data) - FIELDS:
        raise FrameError("bad_frame", f"unknown fields: {', '.join(sorted(unknown))}")
    user = data.get("as")
    if not isinstance(user, str) or not USER_ID.fullmatch(user):
        raise FrameError("bad_frame", "'as' must be a persona id (lowercase letters, digits, - or _)")
    text, reply_to, callback = data.get("text"), data.get("reply_to"), data.get("callback")
    if text is not None and not isinstance(text, str):
        raise FrameError("bad_frame", "'text' must be a string")
    for name, value in (("reply_to", reply_to), ("callback", callback)):
        if value is not None and (not isinstance(value, str) or not 0 < len(value.encode()) <= MAX_ID_CHARS):
            raise FrameError("bad_frame", f"'{name}' must be a string of at most {MAX_ID_CHARS} bytes, or null")
    if callback is not None and text:
        raise FrameError("bad_frame", "send either 'text' or 'callback', not both")
    if callback is None and not (text or "").strip():
        raise FrameError("bad_frame", "'text' is empty")
    if text is not None and len(text) > MAX_TEXT_CHARS:
        raise FrameError("too_large", f"text longer than {MAX_TEXT_CHARS} characters")
    return {"as": user, "text": text or "", "reply_to": reply_to, "callback": callback}


def family_choice(data: str | None) -> str | None:
    """The family id in a "which family?" button's data, or None for any other button."""
    if not data or not data.startswith(FAMILY_CHOICE):
        return None
    token, sep, fid = data[len(FAMILY_CHOICE) :].partition(":")
    return fid if sep and token and fid else None


@dataclass
class _Choices:
    """One chat's family choices in flight (see the module docstring)."""

    unplaced: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=16))  # own refs, when
    about: OrderedDict[str, str] = field(default_factory=OrderedDict)  # question ref -> own message ref
    chosen: deque[tuple[str, float]] = field(default_factory=lambda: deque(maxlen=16))  # family ids, when


class WebTransport:
    name = "web"

    def __init__(
        self, *, history_limit: int = 200, max_chats: int = 64, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.history_limit, self.max_chats, self._monotonic = history_limit, max_chats, monotonic
        self.history: OrderedDict[str, deque[dict[str, Any]]] = OrderedDict()
        self._choices: dict[str, _Choices] = {}
        self.topics: dict[tuple[str, str], str] = {}
        self.pages: set[web.WebSocketResponse] = set()
        self._sink: InboundSink | None = None
        self._boot = secrets.token_hex(3)  # refs and event ids stay unique across restarts
        self._seq = itertools.count(1)
        self.app = web.Application()
        self.app.router.add_get("/ws", self.handle_ws)
        self.app.on_shutdown.append(self._close_pages)

    # --- Transport protocol -------------------------------------------------------------
    async def send(self, msg: Outbound) -> Sent:
        ref = self._next("m")
        frame = {
            "type": "message",
            "chat": msg.to.chat_id,
            "ref": ref,
            "text": msg.text,
            "buttons": [[{"label": b.label, "data": b.data} for b in row] for row in msg.buttons],
            "reply_to": msg.reply_to_ref,
            "family_id": msg.family_id,
            "thread": msg.to.thread_id,
            "copy_of": {"chat": msg.copy_of[0].chat_id, "ref": msg.copy_of[1]} if msg.copy_of else None,
            "own": False,
            "filed": None,
        }
        if msg.family_id is None:
            self._place(frame)
        await self._record(frame)
        return Sent(ref, msg.to.thread_id)

    async def create_topic(self, chat_id: str, title: str) -> str:
        return self.topics.setdefault((chat_id, title), f"topic-{len(self.topics) + 1}")

    async def run(self, sink: InboundSink) -> None:
        self._sink = sink
        try:
            await asyncio.Event().wait()  # events arrive through handle_ws; the server runs elsewhere
        finally:
            self._sink = None

    # --- pages --------------------------------------------------------------------------
    async def handle_ws(self, request: web.Request) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None and origin.split("://", 1)[-1] != request.host:
            raise web.HTTPForbidden(text="cross-origin WebSocket refused")
        ws = web.WebSocketResponse(max_msg_size=WS_HARD_LIMIT, heartbeat=30)
        await ws.prepare(request)
        history = sorted((m for chat in self.history.values() for m in chat), key=lambda m: m["seq"])
        await ws.send_json({"type": "history", "messages": history})
        self.pages.add(ws)
        try:
            async for msg in ws:
                if msg.type is WSMsgType.TEXT:
                    await self._on_frame(ws, msg.data)
                elif msg.type is WSMsgType.BINARY:
                    await self._error(ws, "bad_frame", "binary frames are not supported; send JSON text")
        finally:
            self.pages.discard(ws)
        return ws

    async def _on_frame(self, ws: web.WebSocketResponse, raw: str) -> None:
        try:
            frame = parse_frame(raw)
        except FrameError as exc:
            await self._error(ws, exc.code, str(exc))
            return
        if self._sink is None:
            await self._error(ws, "not_ready", "the bot is not running yet; try again in a moment")
            return
        user, ref = frame["as"], self._next("m")
        event = Inbound(
            transport=self.name,
            event_id=self._next("e"),
            sender=user,
            chat=Address(self.name, user),
            kind=InboundKind.CALLBACK if frame["callback"] is not None else InboundKind.TEXT,
            text=frame["text"],
            message_ref=ref,
            reply_to_ref=frame["reply_to"],
            callback_data=frame["callback"],
        )
        if event.kind is InboundKind.TEXT:  # the page shows what its persona typed, as a chat app does
            own = {
                "type": "message",
                "chat": user,
                "ref": ref,
                "text": event.text,
                "buttons": [],
                "reply_to": event.reply_to_ref,
                "family_id": None,
                "thread": None,
                "copy_of": None,
                "own": True,
                "filed": None,
            }
            if not event.text.lstrip().startswith("/") and not self._thread_of(user, event.reply_to_ref):
                self._chat_choices(user).unplaced.append((ref, self._monotonic()))
            await self._record(own)
        chosen = await self._file_choice(user, frame["callback"])
        try:
            await self._sink(event)
        except Exception:
            log.exception("web event %s could not be accepted", event.event_id)
            if chosen is not None:  # no answer will come for this tap
                with contextlib.suppress(ValueError):
                    self._chat_choices(user).chosen.remove(chosen)
            await self._error(ws, "not_accepted", "the bot could not take this message; try again")

    # --- family choices (see the module docstring) ---------------------------------------------
    def _chat_choices(self, chat: str) -> _Choices:
        return self._choices.setdefault(chat, _Choices())

    def _find(self, chat: str, ref: str | None) -> dict[str, Any] | None:
        if ref is None:
            return None
        return next((m for m in reversed(self.history.get(chat, ())) if m["ref"] == ref), None)

    def _with_button(self, chat: str, data: str | None) -> dict[str, Any] | None:
        """The latest message in `chat` that shows a button with this data."""
        for m in reversed(self.history.get(chat, ())):
            if any(b["data"] == data for row in m["buttons"] for b in row):
                return m
        return None

    def _thread_of(self, chat: str, ref: str | None) -> str | None:
        """The family a reply to `ref` in `chat` goes to, as the handlers see it (a tagged message)."""
        target = self._find(chat, ref)
        return target["family_id"] if target else None

    def _fresh(self, queue: deque[tuple[str, float]]) -> str | None:
        """The oldest entry younger than CHOICE_WAIT_S, dropping it and anything older."""
        now = self._monotonic()
        while queue:
            value, when = queue.popleft()
            if now - when <= CHOICE_WAIT_S:
                return value
        return None

    def _place(self, frame: dict[str, Any]) -> None:
        """For a message without a family: pair a question with its message, or file an answer."""
        if frame["copy_of"] is not None:
            return
        choices = self._choices.get(frame["chat"])
        if any(family_choice(b["data"]) for row in frame["buttons"] for b in row):
            choices = choices or self._chat_choices(frame["chat"])
            target = self._find(frame["chat"], frame["reply_to"])
            if target is not None and target["own"]:
                about: str | None = target["ref"]
                choices.unplaced = deque((u for u in choices.unplaced if u[0] != about), maxlen=16)
            else:
                about = self._fresh(choices.unplaced)
            if about is not None:
                choices.about[frame["ref"]] = about
                while len(choices.about) > 32:
                    choices.about.popitem(last=False)
        elif choices is not None and choices.chosen:
            frame["filed"] = self._fresh(choices.chosen)

    async def _file_choice(self, chat: str, data: str | None) -> tuple[str, float] | None:
        """A tap on a "which family?" button under a question on this persona's screen: file the
        question and its message, and expect the answer. Returns what it expects, to undo."""
        fid = family_choice(data)
        question = self._with_button(chat, data) if fid else None
        if question is None or fid is None:
            return None
        fid = question["filed"] or fid  # a second tap is answered "expired": keep the first choice
        choices = self._chat_choices(chat)
        refs = [ref for ref in (choices.about.get(question["ref"]), question["ref"]) if ref]
        for ref in refs:
            if (m := self._find(chat, ref)) is not None and not m["family_id"]:
                m["filed"] = fid
        chosen = (fid, self._monotonic())
        choices.chosen.append(chosen)
        await self.broadcast({"type": "filed", "chat": chat, "refs": refs, "family_id": fid})
        return chosen

    # --- helpers ------------------------------------------------------------------------
    def _next(self, kind: str) -> str:
        return f"{kind}{self._boot}-{next(self._seq)}"

    async def _record(self, frame: dict[str, Any]) -> None:
        chat = frame["chat"]
        frame["seq"] = next(self._seq)  # pages order the history by it
        if chat not in self.history:
            self.history[chat] = deque(maxlen=self.history_limit)
            while len(self.history) > self.max_chats:
                gone, _ = self.history.popitem(last=False)
                self._choices.pop(gone, None)
        self.history[chat].append(frame)
        self.history.move_to_end(chat)
        await self.broadcast(frame)

    async def broadcast(self, frame: dict[str, Any]) -> None:
        for ws in list(self.pages):
            try:
                await ws.send_json(frame)
            except (ConnectionError, RuntimeError):  # a page that went away mid-send
                self.pages.discard(ws)

    def clear(self) -> None:
        """Forget history and topics (the demo's reset)."""
        self.history.clear()
        self.topics.clear()
        self._choices.clear()

    async def _error(self, ws: web.WebSocketResponse, code: str, detail: str) -> None:
        with contextlib.suppress(ConnectionError, RuntimeError):  # the page may already be gone
            await ws.send_json({"type": "error", "code": code, "message": detail})

    async def _close_pages(self, _app: web.Application) -> None:
        for ws in list(self.pages):
            await ws.close(code=1001, message=b"server shutting down")
