"""The escalation's own types: frozen, no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import NewType

from bot.domain import FamilyId, PersonId

EscalationId = NewType("EscalationId", str)


class Level(StrEnum):
    CONCERN = "concern"
    ACUTE = "acute"

    @classmethod
    def highest(cls, a: Level, b: Level) -> Level:
        return cls.ACUTE if cls.ACUTE in (a, b) else cls.CONCERN


class Source(StrEnum):
    SIGNAL = "signal"  # the safety check flagged a parent's message
    PARENT = "parent"  # a parent asked for help (/hulp or the SOS button)
    MAATJE = "maatje"  # a maatje escalated (/escaleer)


class Status(StrEnum):
    OPEN = "open"  # the chain runs until someone picks it up
    ACKNOWLEDGED = "acknowledged"  # someone holds it; the chain stopped
    RESOLVED = "resolved"  # closed with a note; a new signal starts a new escalation


@dataclass(frozen=True)
class Escalation:
    """One escalation, without any message text (that is sealed in the store and read separately)."""

    id: EscalationId
    family_id: FamilyId
    level: Level
    categories: tuple[str, ...]
    source: Source
    raised_by: PersonId
    raised_at: datetime
    status: Status = Status.OPEN
    step: int = -1  # the chain step last notified; -1 before the first notification
    step_due: datetime | None = None  # when the next step is due (while open)
    step_people: tuple[PersonId, ...] = ()  # who the last step notified
    notified: tuple[PersonId, ...] = ()  # everyone notified so far
    reporters: tuple[PersonId, ...] = ()  # parents who raised or added a signal: they hear who picks it up
    notified_at: datetime | None = None  # first notification handed to the outbox
    acked_by: PersonId | None = None
    acked_at: datetime | None = None
    resolved_by: PersonId | None = None
    resolved_at: datetime | None = None
    signals: int = 1

    @property
    def is_closed(self) -> bool:
        return self.status is Status.RESOLVED

    @property
    def holder(self) -> PersonId | None:
        return self.acked_by

    @property
    def time_to_notify(self) -> float | None:
        return (self.notified_at - self.raised_at).total_seconds() if self.notified_at else None

    @property
    def time_to_ack(self) -> float | None:
        return (self.acked_at - self.raised_at).total_seconds() if self.acked_at else None
