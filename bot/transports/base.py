"""The one interface every transport implements (Telegram, the web playground, Signal later)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from bot.domain import Inbound, Outbound, Sent

InboundSink = Callable[[Inbound], Awaitable[None]]

# Telegram's limit for one text message; every transport splits longer text at this size.
TEXT_LIMIT = 4096


class Transport(Protocol):
    name: str

    async def send(self, msg: Outbound) -> Sent:
        """Deliver one message. Raise bot.errors.RetryLater (rate limit, network) or
        bot.errors.Undeliverable (blocked, chat gone); the outbox handles both."""
        ...

    async def create_topic(self, chat_id: str, title: str) -> str:
        """Create a forum topic in a group chat and return its thread id."""
        ...

    async def run(self, sink: InboundSink) -> None:
        """Receive events and hand each, translated, to `sink` until cancelled."""
        ...
