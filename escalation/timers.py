"""Due chain steps, kept in a Redis sorted set (see Keys.esc_timers) and fired by `run_due(now)`.

A timer is the member "<escalation id>:<step>" scored by its due time, so scheduling it twice is a
no-op. `run_due` claims due members atomically by moving their score a lease ahead: two workers
never get the same member, and a worker that dies on one gives it back when the lease ends. The
step itself commits with a compare-and-set (see EscalationService), which removes the member; so a
step is never lost and never done twice. Nothing here sleeps: the App's ticker calls `run_due`.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from bot.store.escalations import EscalationStore
from escalation.model import EscalationId

log = logging.getLogger(__name__)

Execute = Callable[[EscalationId, int, datetime], Awaitable[None]]


class Timers:
    def __init__(self, store: EscalationStore, execute: Execute, lease: timedelta) -> None:
        self.store, self.execute, self.lease = store, execute, lease

    async def run_due(self, now: datetime, limit: int = 50) -> int:
        """Fire every step due at `now`; returns how many were claimed."""
        claimed = await self.store.claim_due(now, self.lease, limit)
        for eid, step in claimed:
            try:
                await self.execute(eid, step, now)
            except Exception:  # the lease brings it back; carry on with the others
                log.exception("escalation %s: step %d failed; retried after the lease", eid, step)
        return len(claimed)

    async def fire(self, eid: EscalationId, step: int, now: datetime) -> bool:
        """Run one step now if it is due and no other worker holds it."""
        if not await self.store.claim(eid, step, now, self.lease):
            return False
        await self.execute(eid, step, now)
        return True
