"""Delivery: take due outbox queues, send their messages in order, and record what was sent.

Retries use exponential backoff; a server's `retry_after` (Telegram's 429) is honoured exactly.
A message a transport calls undeliverable (bot blocked, chat gone) is moved to the dead list and
logged without its text, and the chat's next message goes on.
"""

from __future__ import annotations

import asyncio
import logging
import random
from dataclasses import replace
from typing import NamedTuple

from bot.domain import Address, Clock, Outbound
from bot.errors import DeliveryError, RetryLater, Undeliverable
from bot.store import Store
from bot.store.directory import THREAD_TTL
from bot.store.queues import Pending
from bot.transports.base import Transport

log = logging.getLogger(__name__)

LEASE_MS = 30_000


class Receipt(NamedTuple):
    to: Address  # where it went, with the forum thread filled in
    ref: str | None


MAX_BACKOFF_S = 300.0


def backoff_seconds(attempts: int) -> float:
    """1, 2, 4 ... seconds, capped at five minutes, with a little jitter against herds."""
    return min(MAX_BACKOFF_S, 2.0 ** max(0, attempts - 1)) * random.uniform(0.9, 1.1)


class Deliverer:
    def __init__(self, store: Store, transports: dict[str, Transport], clock: Clock, *, max_attempts: int = 12) -> None:
        self.store, self.transports, self.clock = store, transports, clock
        self.max_attempts = max_attempts
        self.sent = 0

    def _now_ms(self) -> int:
        return int(self.clock.now().timestamp() * 1000)

    def _lease_end(self) -> int:
        return self._now_ms() + LEASE_MS

    async def deliver_due(self, limit: int = 50) -> int:
        """Work every due queue once; returns how many messages were confirmed sent."""
        claimed = await self.store.outbox.claim_heads(self._now_ms(), LEASE_MS, limit)
        if not claimed:
            return 0
        counts = await asyncio.gather(*(self._drain_queue(q, first) for q, first in claimed if first is not None))
        return sum(counts)

    async def _drain_queue(self, queue: str, item: Pending | None) -> int:
        """Send a claimed queue's messages in order, starting with `item`, its first (see claim_heads)."""
        sent = 0
        outbox = self.store.outbox
        while item is not None:
            transport = self.transports.get(item.msg.to.transport)
            if transport is None:
                log.error("no transport %r for outbox %s; parked", item.msg.to.transport, item.id)
                await outbox.retry(queue, item.id, self._now_ms() + LEASE_MS)
                return sent
            try:
                receipt = await self._send(transport, item.msg)
            except RetryLater as exc:
                wait = exc.retry_after if exc.retry_after is not None else backoff_seconds(item.attempts + 1)
                attempts = await outbox.retry(queue, item.id, self._now_ms() + int(wait * 1000) + 50)
                log.warning("outbox %s: retry %d in %.1fs (%s)", item.id, attempts, wait, type(exc).__name__)
                if attempts < self.max_attempts or exc.retry_after is not None:
                    return sent
                log.critical("outbox %s: gave up after %d attempts", item.id, attempts)
                item = await outbox.finish(queue, item.id, self._lease_end(), dead=True)
                continue
            except Undeliverable as exc:
                log.warning("outbox %s undeliverable: %s", item.id, exc)
                item = await outbox.finish(queue, item.id, self._lease_end(), dead=True)
                continue
            except Exception as exc:  # a transport bug must not stop delivery to everyone else
                log.exception("outbox %s: unexpected %s", item.id, type(exc).__name__)
                due = self._now_ms() + int(backoff_seconds(item.attempts + 1) * 1000)
                await outbox.retry(queue, item.id, due)
                return sent
            thread = {}
            if item.msg.family_id and receipt.ref:
                to = receipt.to
                thread = {
                    "thread_key": self.store.keys.thread(to.transport, to.chat_id, receipt.ref),
                    "family_id": item.msg.family_id,
                    "thread_ttl_s": int(THREAD_TTL.total_seconds()),
                }
            item = await outbox.finish(queue, item.id, self._lease_end(), **thread)
            sent += 1
            self.sent += 1
        return sent

    async def _send(self, transport: Transport, msg: Outbound) -> Receipt:
        if msg.topic_title and msg.family_id and msg.to.thread_id is None:
            d = self.store.directory
            thread = await d.topic_of(msg.to.transport, msg.to.chat_id, msg.family_id)
            if thread is None:
                thread = await transport.create_topic(msg.to.chat_id, msg.topic_title)
                await d.set_topic(msg.to.transport, msg.to.chat_id, msg.family_id, thread)
            msg = replace(msg, to=Address(msg.to.transport, msg.to.chat_id, thread))
        sent = await transport.send(msg)
        return Receipt(msg.to, sent.ref)


__all__ = ["Deliverer", "DeliveryError", "backoff_seconds"]
