"""The watchdog: an escalation step that is more than a minute late means the timers are not
running (no worker, Redis trouble, a bug). It says so loudly, once per late step (a critical log
line, no message text, and the counter `escalation_overdue` in Redis), and puts back a timer that
went missing so the step still fires once a worker runs."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.store.escalations import EscalationStore
from escalation.model import EscalationId, Status

log = logging.getLogger(__name__)

GRACE = timedelta(seconds=60)


@dataclass(frozen=True)
class Late:
    escalation: EscalationId
    step: int  # the step that should have fired
    late_by: timedelta


class Watchdog:
    def __init__(self, store: EscalationStore, grace: timedelta = GRACE) -> None:
        self.store, self.grace = store, grace

    async def check(self, now: datetime) -> list[Late]:
        """Steps newly found more than `grace` overdue."""
        found = []
        for esc in await self.store.active():
            if esc.status is not Status.OPEN or esc.step_due is None or now - esc.step_due <= self.grace:
                continue
            step = esc.step + 1
            if await self.store.ensure_timer(esc.id, step, esc.step_due):
                log.critical("escalation %s: the timer of step %d was missing; put back", esc.id, step)
            if await self.store.mark_overdue(esc.id, step):
                late = now - esc.step_due
                log.critical(
                    "escalation %s (family %s, %s): step %d is %.0fs overdue; are the workers running?",
                    esc.id,
                    esc.family_id,
                    esc.level.value,
                    step,
                    late.total_seconds(),
                )
                found.append(Late(esc.id, step, late))
        return found

    async def overdue_count(self) -> int:
        return await self.store.counter("escalation_overdue")
