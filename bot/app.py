"""The composition root: `build_app(settings, *, store, transports, clock)` wires everything.

Flow of one event: transport -> App.accept (dedupe, persist to the inbox stream) -> App.process_inbox
(handlers -> outbound messages persisted in the outbox under ids derived from the event, then the
event is acknowledged) -> Deliverer (send, confirm, retry). Any step may crash: the event stays in
the stream until acknowledged and is reclaimed; re-handling it enqueues the same outbox ids, which
adds nothing; the outbox keeps every message until a transport confirmed it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import secrets
import socket
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from bot.config import Settings
from bot.domain import Clock, Inbound, Outbound, SystemClock
from bot.outbox import Deliverer
from bot.store import Store
from bot.transports.base import Transport
from escalation.wiring import install as install_escalation
from handlers.commands import default_router
from handlers.context import Context, Rules
from handlers.core import Sender, handle, wants_route
from handlers.explain import explain_hook
from handlers.explain import register as install_explain
from handlers.router import Router

log = logging.getLogger(__name__)

Ticker = Callable[[], Awaitable[int]]  # background duty run every loop: returns how much it did


@dataclass
class App:
    settings: Settings
    store: Store
    transports: dict[str, Transport]
    clock: Clock
    ctx: Context
    router: Router
    deliverer: Deliverer
    consumer: str = field(default_factory=lambda: f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}")
    tickers: list[Ticker] = field(default_factory=list)
    handled: int = 0
    reclaim_idle_ms: int = 60_000
    reclaim_every: float = 10.0
    _last_reclaim: float = float("-inf")
    # Set whenever something is enqueued, so the delivery loop wakes at once instead of polling.
    _wake: asyncio.Event = field(default_factory=asyncio.Event)

    async def accept(self, event: Inbound) -> bool:
        """The sink every transport feeds. False for an update seen before."""
        fresh = await self.store.inbox.accept(event)
        if not fresh:
            log.info("duplicate %s event %s ignored", event.transport, event.event_id)
        return fresh

    async def enqueue(self, msgs: Sequence[Outbound], key: str) -> int:
        """Persist outbound messages under a deterministic key (same key twice adds nothing)."""
        if not msgs:
            return 0
        added = await self.store.outbox.enqueue(list(msgs), key, int(self.clock.now().timestamp() * 1000))
        self._wake.set()
        return added

    async def enqueue_many(self, batches: Sequence[tuple[list[Outbound], str]]) -> int:
        """`enqueue` for several (messages, key) pairs in one round trip."""
        if not any(msgs for msgs, _ in batches):
            return 0
        added = await self.store.outbox.enqueue_many(list(batches), int(self.clock.now().timestamp() * 1000))
        self._wake.set()
        return added

    async def process_inbox(self, block_ms: int | None = None, count: int = 50) -> int:
        """Handle a batch of events. Every `reclaim_every` seconds, first take over events that a dead
        worker left unacknowledged for `reclaim_idle_ms`. Outbound messages are persisted before the
        batch is acknowledged; a crash in between only makes the next worker enqueue the same ids."""
        now = self.clock.now().timestamp()
        reclaim = None
        if now - self._last_reclaim >= self.reclaim_every:
            self._last_reclaim, reclaim = now, self.reclaim_idle_ms
        batch = await self.store.inbox.read(self.consumer, count=count, block_ms=block_ms, reclaim_idle_ms=reclaim)
        if not batch:
            return 0
        # One sender's events are handled in order; different senders' events concurrently.
        events = [event for _, event in batch]
        by_sender: dict[tuple[str, str], list[int]] = {}
        for n, event in enumerate(events):
            by_sender.setdefault((event.transport, event.sender), []).append(n)
        outs: list[list[Outbound]] = [[] for _ in events]
        known = await self._first_senders(events, [positions[0] for positions in by_sender.values()])
        await asyncio.gather(
            *(self._handle_in_order(events, positions, outs, known) for positions in by_sender.values())
        )
        # The whole batch's messages are persisted in one round trip, in stream order (so one
        # sender's stay in order), and only then is the batch acknowledged.
        await self.enqueue_many([(out, f"in:{e.transport}:{e.event_id}") for e, out in zip(events, outs, strict=True)])
        await self.store.inbox.ack(*(entry_id for entry_id, _ in batch))
        self.handled += len(events)
        return len(batch)

    async def _first_senders(self, events: list[Inbound], firsts: list[int]) -> dict[int, Sender]:
        """Who sent each sender's first event of the batch, in one round trip instead of one per
        sender (the handlers would look them up concurrently at this moment anyway). A sender's later
        events are looked up when handled, after their earlier ones (which may change them, e.g.
        /taal). On any failure, each handler looks its sender up itself, as without this."""
        try:
            found = await self.ctx.directory.senders(
                [(events[n].transport, events[n].sender, wants_route(events[n])) for n in firsts]
            )
        except Exception:
            log.warning("batched sender lookup failed; looking up one by one", exc_info=True)
            return {}
        return dict(zip(firsts, found, strict=True))

    async def _handle_in_order(
        self, events: list[Inbound], positions: list[int], outs: list[list[Outbound]], known: dict[int, Sender]
    ) -> None:
        for n in positions:
            outs[n] = await handle(events[n], self.ctx, self.router, known.get(n))

    async def tick(self) -> int:
        done = 0
        for ticker in self.tickers:
            try:
                done += await ticker()
            except Exception:
                log.exception("background duty %s failed; carrying on", getattr(ticker, "__name__", ticker))
        return done

    async def drain(self, max_rounds: int = 1000) -> None:
        """Burst mode for tests and the CLI: handle, tick and deliver until nothing is due now."""
        for _ in range(max_rounds):
            worked = await self.process_inbox()
            worked += await self.tick()
            worked += await self.deliverer.deliver_due()
            if not worked:
                return
        raise RuntimeError("drain did not settle")

    async def run(self) -> None:
        """Receive, handle and deliver until cancelled."""
        await self.store.inbox.ensure_group()
        tasks = [asyncio.create_task(t.run(self.accept), name=f"transport-{n}") for n, t in self.transports.items()]
        tasks += [
            asyncio.create_task(self._loop(self._handle_forever), name="inbox"),
            asyncio.create_task(self._loop(self._deliver_forever), name="outbox"),
            asyncio.create_task(self._loop(self._tick_forever), name="tickers"),
        ]
        try:
            await asyncio.gather(*tasks)
        finally:
            for task in tasks:
                task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.gather(*tasks, return_exceptions=True)

    async def _loop(self, step: Callable[[], Awaitable[None]]) -> None:
        while True:
            try:
                await step()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("worker step failed; retrying in 1s")
                await asyncio.sleep(1)

    async def _handle_forever(self) -> None:
        await self.process_inbox(block_ms=1000)

    async def _deliver_forever(self) -> None:
        self._wake.clear()
        if not await self.deliverer.deliver_due():
            # Idle: wake on the next enqueue here, or poll for retries due and other workers' messages.
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=0.1)

    async def _tick_forever(self) -> None:
        await self.tick()
        await asyncio.sleep(1.0)


async def build_app(
    settings: Settings,
    *,
    store: Store,
    transports: Sequence[Transport] = (),
    clock: Clock | None = None,
    nlu: object | None = None,
) -> App:
    """The one place where parts are chosen and connected."""
    clock = clock or SystemClock()
    rules = Rules(
        max_families_per_maatje=settings.max_families_per_maatje,
        pending_choice_minutes=settings.pending_choice_minutes,
        max_text_chars=settings.max_text_chars,
    )
    ctx = Context(directory=store.directory, clock=clock, rules=rules, nlu=nlu)  # type: ignore[arg-type]
    by_name = {t.name: t for t in transports}
    deliverer = Deliverer(store, by_name, clock, max_attempts=settings.outbox_max_attempts)
    app = App(settings, store, by_name, clock, ctx, default_router(), deliverer)
    install_escalation(app)  # safety alerts: parent hook first, /hulp, /escaleer, timers, watchdog
    install_explain(app.router)
    ctx.parent_hooks.append(explain_hook)  # after safety: no glossary lesson in a crisis
    await store.inbox.ensure_group()
    return app
