"""An in-process transport that records what it sends: for tests, benchmarks and embedding.

It can be told to fail the next sends (rate limit, blocked user) to exercise the outbox.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from dataclasses import dataclass, field

from bot.domain import Address, Inbound, InboundKind, Outbound, Sent
from bot.errors import DeliveryError
from bot.transports.base import InboundSink


@dataclass
class MemoryTransport:
    name: str = "memory"
    sent: list[tuple[str, Outbound]] = field(default_factory=list)  # (message ref, message)
    topics: dict[tuple[str, str], str] = field(default_factory=dict)  # (chat, title) -> thread id
    failures: deque[DeliveryError] = field(default_factory=deque)
    _refs: itertools.count = field(default_factory=lambda: itertools.count(1000))
    _events: itertools.count = field(default_factory=lambda: itertools.count(1))

    async def send(self, msg: Outbound) -> Sent:
        if self.failures:
            raise self.failures.popleft()
        ref = str(next(self._refs))
        self.sent.append((ref, msg))
        return Sent(ref, msg.to.thread_id)

    async def create_topic(self, chat_id: str, title: str) -> str:
        thread = str(next(self._refs))
        self.topics[(chat_id, title)] = thread
        return thread

    async def run(self, sink: InboundSink) -> None:
        await asyncio.Event().wait()  # events are injected with `event()` and App.accept

    # --- helpers for tests -----------------------------------------------------------------
    def event(
        self,
        user: str,
        text: str = "",
        *,
        kind: InboundKind = InboundKind.TEXT,
        chat: str | None = None,
        thread: str | None = None,
        reply_to: str | None = None,
        callback: str | None = None,
        media: str | None = None,
        lang: str | None = "nl",
        group: bool = False,
    ) -> Inbound:
        n = next(self._events)
        if callback is not None:
            kind = InboundKind.CALLBACK
        return Inbound(
            transport=self.name,
            event_id=str(n),
            sender=user,
            chat=Address(self.name, chat or user, thread),
            kind=kind,
            text=text,
            message_ref=f"m{n}",
            reply_to_ref=reply_to,
            media=media,
            callback_data=callback,
            lang=lang,
            is_group=group,
        )

    def to(self, chat: str) -> list[tuple[str, Outbound]]:
        return [(ref, m) for ref, m in self.sent if m.to.chat_id == chat]

    def texts_to(self, chat: str) -> list[str]:
        return [m.text for _, m in self.to(chat)]

    def clear(self) -> None:
        self.sent.clear()
