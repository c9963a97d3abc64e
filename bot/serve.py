"""The production entry (`naast run`): Redis, the NLU, the Telegram bot, the app; until cancelled or SIGTERM.

Several processes may share one Redis: the inbox is a stream read by a consumer group, and the
outbox hands each chat's queue to one worker at a time under a lease, so any number of workers
handle and deliver without doubles. How updates come in decides how many may *receive*:

* Webhook mode (NAAST_WEBHOOK_URL set): every process listens on NAAST_WEBHOOK_HOST:PORT behind
  the URL; each update is stored once, whichever process Telegram reaches. Needs
  NAAST_WEBHOOK_SECRET, the same for all processes.
* Long polling (default): only ONE process per bot token may poll. Telegram answers a second
  getUpdates with 409 Conflict; the transport then backs off and retries, and the inbox drops
  whatever both happened to store, so nothing breaks, but the pollers keep interrupting each
  other. Run one polling process, or use webhook mode for more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal

from aiogram.exceptions import TelegramAPIError, TelegramUnauthorizedError

from bot.app import build_app
from bot.config import Settings
from bot.errors import ConfigError
from bot.store import Store
from bot.transports.telegram import TelegramTransport, make_bot
from nlu.rasa import make_nlu

log = logging.getLogger(__name__)

NO_TOKEN = (
    "NAAST_TELEGRAM_TOKEN is not set. Create a bot with @BotFather in Telegram and set its token, "
    "e.g. `export NAAST_TELEGRAM_TOKEN=123456:ABC...` or a line in .env. "
    "To try Naast without Telegram, run `naast demo`: it needs no token."
)


async def serve(settings: Settings, *, stop: asyncio.Event | None = None) -> None:
    """Run until `stop` is set, SIGTERM arrives (both return normally) or the task is cancelled."""
    if settings.telegram_token is None:
        raise ConfigError(NO_TOKEN)
    if settings.webhook_url and settings.webhook_secret is None:
        raise ConfigError("NAAST_WEBHOOK_URL is set but NAAST_WEBHOOK_SECRET is not (letters, digits, _ and -)")
    try:
        nlu = make_nlu(settings.nlu_backend, settings.rasa_url)
    except ValueError as exc:
        raise ConfigError(str(exc)) from exc
    stop = stop or asyncio.Event()
    loop = asyncio.get_running_loop()
    store = await Store.open(settings)
    bot = None
    try:
        await nlu.warm_up()  # safety cues must work before the first parent writes: fail loudly here
        bot = make_bot(settings)
        with contextlib.suppress(NotImplementedError, RuntimeError):  # no signals on Windows / off the main thread
            loop.add_signal_handler(signal.SIGTERM, stop.set)
        try:
            me = await bot.me()
        except TelegramUnauthorizedError as exc:
            raise ConfigError("Telegram refused NAAST_TELEGRAM_TOKEN (401 Unauthorized): check the token") from exc
        except TelegramAPIError as exc:
            raise ConfigError(f"cannot reach the Telegram Bot API: {type(exc).__name__}") from exc
        if not settings.telegram_bot_username:
            settings.telegram_bot_username = me.username
        transport = TelegramTransport(
            bot,
            webhook_url=settings.webhook_url,
            webhook_secret=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
            webhook_host=settings.webhook_host,
            webhook_port=settings.webhook_port,
        )
        app = await build_app(settings, store=store, transports=[transport], nlu=nlu)
        log.info("naast running as @%s (%s)", me.username, "webhook" if settings.webhook_url else "long polling")
        running = asyncio.create_task(app.run(), name="app")
        stopping = asyncio.create_task(stop.wait(), name="stop")
        try:
            await asyncio.wait({running, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in (running, stopping):
                task.cancel()
            await asyncio.gather(running, stopping, return_exceptions=True)
        if running.done() and not running.cancelled() and running.exception() is not None:
            raise running.exception()  # type: ignore[misc]
        log.info("naast stopped")
    finally:
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.remove_signal_handler(signal.SIGTERM)
        if bot is not None:
            await bot.session.close()
        await nlu.close()
        await store.close()
