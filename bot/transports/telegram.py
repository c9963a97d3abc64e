"""Telegram through aiogram 3: Bot API updates -> Inbound, Outbound -> Bot API calls. Nothing else.

Receiving. Long polling by default; webhook mode when a webhook URL is given. Both read updates
as raw JSON and validate them one by one, so a single malformed update is logged and skipped
instead of failing its whole batch. The polling offset only moves past an update once the sink
has returned (the sink persists it), and the webhook answers 200 only after the sink returned:
when Redis is down, Telegram keeps the update and delivers it again. aiogram's own
`Dispatcher.start_polling` and `SimpleRequestHandler` are not used because they do neither: the
dispatcher advances the offset past an update whose handler failed and stalls on a batch it
cannot parse, and the request handler answers 401 (not 403), turns a malformed update into a 500
that Telegram retries forever, and closes the bot's session on shutdown.

Logs name update ids, chat ids and error types, never message text or people's names.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import Awaitable
from typing import Any, TypeVar
from urllib.parse import urlparse

from aiogram import Bot
from aiogram import exceptions as tg
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.methods import TelegramMethod
from aiogram.types import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    ReplyParameters,
    Update,
)
from aiohttp import web
from pydantic import ValidationError

from bot.config import Settings
from bot.domain import Address, Inbound, InboundKind, Outbound, Sent
from bot.errors import ConfigError, RetryLater, Undeliverable
from bot.transports.base import TEXT_LIMIT, InboundSink

log = logging.getLogger(__name__)
T = TypeVar("T")

NAME = "telegram"
ALLOWED_UPDATES = ["message", "callback_query"]
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
MEDIA = {"photo", "voice", "audio", "video", "video_note", "animation", "document", "sticker"}
# User content we cannot relay: answered kindly. Service messages (members joining, topics created,
# pins...) are not in here and are ignored. In a private chat a type this aiogram does not know
# yet is answered too, rather than met with silence.
UNSUPPORTED = {
    "location", "venue", "contact", "poll", "dice", "game", "story", "invoice", "checklist",
    "paid_media", "giveaway", "live_photo",
}  # fmt: skip
MAX_BACKOFF_S = 30.0


def make_bot(settings: Settings) -> Bot:
    """A Bot for the configured token; NAAST_TELEGRAM_API_URL selects another Bot API server."""
    if settings.telegram_token is None:
        raise ConfigError("NAAST_TELEGRAM_TOKEN is not set")
    api = TelegramAPIServer.from_base(settings.telegram_api_url) if settings.telegram_api_url else None
    session = AiohttpSession(api=api) if api else AiohttpSession()
    return Bot(settings.telegram_token.get_secret_value(), session=session)


class _RawGetUpdates(TelegramMethod[list[Any]]):
    """getUpdates, answered as plain dicts so each update is validated on its own."""

    __returning__ = list[Any]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def _chat_id(chat_id: str) -> int | str:
    return int(chat_id) if chat_id.lstrip("-").isdigit() else chat_id


def _thread_of(message: Message | InaccessibleMessage) -> str | None:
    if isinstance(message, Message) and message.is_topic_message and message.message_thread_id:
        return str(message.message_thread_id)
    return None


def _from_message(update_id: int, m: Message, transport: str) -> Inbound | None:
    user = m.from_user
    if user is None or user.is_bot or m.chat.type not in ("private", "group", "supergroup"):
        return None
    private = m.chat.type == "private"
    kind_name = getattr(m.content_type, "value", str(m.content_type))
    if kind_name == "text":
        kind, media, text = InboundKind.TEXT, None, m.text or ""
    elif kind_name in MEDIA:
        kind, media, text = InboundKind.MEDIA, kind_name, m.caption or ""
    elif kind_name in UNSUPPORTED or (private and kind_name == "unknown"):
        kind, media, text = InboundKind.UNSUPPORTED, kind_name, ""
    else:
        return None
    thread = _thread_of(m)
    reply = m.reply_to_message
    # In a forum topic every message "replies" to the topic's first message; that is no reply.
    reply_ref = str(reply.message_id) if reply and str(reply.message_id) != thread else None
    return Inbound(
        transport=transport,
        event_id=str(update_id),
        sender=str(user.id),
        chat=Address(transport, str(m.chat.id), thread),
        kind=kind,
        text=text,
        message_ref=str(m.message_id),
        reply_to_ref=reply_ref,
        media=media,
        lang=user.language_code,
        is_group=not private,
    )


def _from_callback(update_id: int, q: CallbackQuery, transport: str) -> Inbound | None:
    if q.message is None or q.from_user.is_bot or q.data is None:
        return None  # a button on an inline-mode message: there is no chat to answer in
    chat = q.message.chat
    return Inbound(
        transport=transport,
        event_id=str(update_id),
        sender=str(q.from_user.id),
        chat=Address(transport, str(chat.id), _thread_of(q.message)),
        kind=InboundKind.CALLBACK,
        message_ref=str(q.message.message_id),
        callback_data=q.data,
        lang=q.from_user.language_code,
        is_group=chat.type != "private",
    )


def to_inbound(update: Update, transport: str = NAME) -> Inbound | None:
    """The Inbound for an update, or None for what Naast does not handle (edits, channels...)."""
    if update.message is not None:
        return _from_message(update.update_id, update.message, transport)
    if update.callback_query is not None:
        return _from_callback(update.update_id, update.callback_query, transport)
    return None


def _delivery_error(exc: Exception) -> RetryLater | Undeliverable:
    """Telegram's error -> what the outbox should do. The text is Telegram's, never the user's."""
    method = getattr(getattr(exc, "method", None), "__api_method__", "?")
    what = f"{method}: {type(exc).__name__}: {getattr(exc, 'message', '')}"
    if isinstance(exc, tg.TelegramRetryAfter):
        return RetryLater(float(exc.retry_after), what)
    if isinstance(exc, tg.TelegramEntityTooLarge | tg.TelegramMigrateToChat):
        return Undeliverable(what)
    if isinstance(exc, tg.TelegramNetworkError | tg.TelegramServerError | TimeoutError | tg.ClientDecodeError):
        return RetryLater(None, what)
    if isinstance(exc, tg.TelegramForbiddenError | tg.TelegramBadRequest | tg.TelegramNotFound):
        return Undeliverable(what)
    return RetryLater(None, what)  # 401, 409, unknown codes: keep the message, the outbox gives up in time


_API_ERRORS = (tg.TelegramAPIError, tg.ClientDecodeError, TimeoutError)


async def _call(call: Awaitable[T]) -> T:
    try:
        return await call
    except _API_ERRORS as exc:
        raise _delivery_error(exc) from exc


class TelegramTransport:
    """Polls (or serves a webhook) and sends through one aiogram Bot.

    The caller owns the bot and closes `bot.session`. Polling: only one process per bot token may
    call getUpdates (Telegram answers 409 Conflict to a second; this transport then backs off and
    retries, and the inbox de-duplicates whatever both received). Webhook: every process behind
    the URL may receive.
    """

    name = NAME

    def __init__(
        self,
        bot: Bot,
        *,
        polling_timeout: int = 30,
        webhook_url: str | None = None,
        webhook_secret: str | None = None,
        webhook_host: str = "0.0.0.0",
        webhook_port: int = 8443,
    ) -> None:
        if webhook_url and not webhook_secret:
            raise ConfigError("webhook mode needs NAAST_WEBHOOK_SECRET (letters, digits, _ and -)")
        self.bot = bot
        self.polling_timeout = polling_timeout
        self.webhook_url, self.webhook_secret = webhook_url, webhook_secret
        self.webhook_host, self.webhook_port = webhook_host, webhook_port
        self.webhook_bound: tuple[str, int] | None = None  # (host, port) once the server listens

    # --- sending -------------------------------------------------------------------------
    async def send(self, msg: Outbound) -> Sent:
        chat = _chat_id(msg.to.chat_id)
        common: dict[str, Any] = {
            "message_thread_id": int(msg.to.thread_id) if msg.to.thread_id else None,
            "disable_notification": True if msg.silent else None,
            "reply_markup": InlineKeyboardMarkup(
                inline_keyboard=[[InlineKeyboardButton(text=b.label, callback_data=b.data) for b in row]
                                 for row in msg.buttons]
            ) if msg.buttons else None,
            "reply_parameters": ReplyParameters(
                message_id=int(msg.reply_to_ref), allow_sending_without_reply=True
            ) if msg.reply_to_ref else None,
        }  # fmt: skip
        if msg.copy_of is not None:  # relay media by reference; any text is not sent with it
            source, ref = msg.copy_of
            copied = await _call(
                self.bot.copy_message(
                    chat_id=chat, from_chat_id=_chat_id(source.chat_id), message_id=int(ref), **common
                )
            )
            return Sent(str(copied.message_id), msg.to.thread_id)
        # Handlers split long text already; this is the safety net under Telegram's hard limit.
        pieces = [msg.text[i : i + TEXT_LIMIT] for i in range(0, len(msg.text), TEXT_LIMIT)] or [""]
        first: Message | None = None
        for n, piece in enumerate(pieces):
            extra = common if n == len(pieces) - 1 else {**common, "reply_markup": None}
            sent = await _call(self.bot.send_message(chat_id=chat, text=piece, **extra))
            first = first or sent
        assert first is not None
        return Sent(str(first.message_id), msg.to.thread_id)

    async def create_topic(self, chat_id: str, title: str) -> str:
        topic = await _call(self.bot.create_forum_topic(chat_id=_chat_id(chat_id), name=title[:128]))
        return str(topic.message_thread_id)

    # --- receiving -----------------------------------------------------------------------
    async def run(self, sink: InboundSink) -> None:
        if self.webhook_url:
            await self._serve_webhook(sink)
        else:
            await self._poll(sink)

    async def _dispatch(self, update: Update, sink: InboundSink) -> None:
        """Translate and hand over one update. Raises only when the sink failed."""
        try:
            event = to_inbound(update, self.name)
        except Exception as exc:  # a shape we did not foresee must not stop receiving
            log.warning("update %s not translated (%s); skipped", update.update_id, type(exc).__name__)
            return
        if event is None:
            log.debug("update %s ignored (%s)", update.update_id, sorted(update.model_fields_set - {"update_id"}))
            return
        await sink(event)
        if update.callback_query is not None:
            try:  # stops the spinner on the client; the button press itself is already stored
                await self.bot.answer_callback_query(update.callback_query.id)
            except _API_ERRORS as exc:
                log.info("answerCallbackQuery for update %s failed (%s)", update.update_id, type(exc).__name__)

    def _parse(self, raw: Any) -> Update | None:
        try:
            return Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            update_id = raw.get("update_id") if isinstance(raw, dict) else None
            log.warning("update %s malformed (%d errors); skipped", update_id, exc.error_count())
            return None

    async def _poll(self, sink: InboundSink) -> None:
        try:  # getUpdates is refused while a webhook is set (e.g. left from an earlier deployment)
            await self.bot.delete_webhook(drop_pending_updates=False)
        except _API_ERRORS as exc:
            log.warning("deleteWebhook failed (%s); polling anyway", type(exc).__name__)
        request_timeout = int(self.bot.session.timeout + self.polling_timeout)
        offset: int | None = None
        fetch_delay = store_delay = 1.0
        while True:
            method = _RawGetUpdates(offset=offset, timeout=self.polling_timeout, allowed_updates=ALLOWED_UPDATES)
            try:
                batch = await self.bot(method, request_timeout=request_timeout)
            except _API_ERRORS as exc:
                log.warning("getUpdates failed (%s); again in %.0fs", type(exc).__name__, fetch_delay)
                await asyncio.sleep(fetch_delay)
                fetch_delay = min(fetch_delay * 2, MAX_BACKOFF_S)
                continue
            fetch_delay = 1.0
            for raw in batch:
                update_id = raw.get("update_id") if isinstance(raw, dict) else None
                update = self._parse(raw)
                if update is not None:
                    try:
                        await self._dispatch(update, sink)
                    except Exception as exc:  # not stored: fetch it again later, never skip it
                        log.error("update %s not stored (%s); again in %.0fs", update_id, type(exc).__name__,
                                  store_delay)  # fmt: skip
                        await asyncio.sleep(store_delay)
                        store_delay = min(store_delay * 2, MAX_BACKOFF_S)
                        break
                    store_delay = 1.0
                if isinstance(update_id, int):
                    offset = update_id + 1  # confirmed to Telegram with the next getUpdates

    async def _serve_webhook(self, sink: InboundSink) -> None:
        assert self.webhook_url and self.webhook_secret
        secret = self.webhook_secret.encode()

        async def receive(request: web.Request) -> web.Response:
            if not secrets.compare_digest(request.headers.get(SECRET_HEADER, "").encode(), secret):
                return web.Response(status=403)
            try:
                raw = await request.json()
            except ValueError:
                log.warning("webhook: body is not JSON; dropped")
                return web.Response()
            update = self._parse(raw)
            if update is None:
                return web.Response()  # sending it again would not make it readable
            try:
                await self._dispatch(update, sink)
            except Exception as exc:
                log.error("webhook: update %s not stored (%s); Telegram will resend", update.update_id,
                          type(exc).__name__)  # fmt: skip
                return web.Response(status=503)
            return web.Response()

        app = web.Application()
        app.router.add_post(urlparse(self.webhook_url).path or "/", receive)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.webhook_host, self.webhook_port)
            await site.start()
            self.webhook_bound = runner.addresses[0][:2]
            await self.bot.set_webhook(
                url=self.webhook_url, secret_token=self.webhook_secret, allowed_updates=ALLOWED_UPDATES
            )
            log.info("webhook listening on %s:%s", *self.webhook_bound)
            await asyncio.Event().wait()
        finally:
            self.webhook_bound = None
            await runner.cleanup()
