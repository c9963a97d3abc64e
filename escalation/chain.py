"""The alert chain as a pure policy: who each step reaches, and how long each step waits.

Steps: 0 the primary on call, 1 the backup on call, 2 the coordinators, 3 all regisseurs; from 4 on,
a repeat to everyone reachable, every `repeat_every`, until someone acknowledges. Each step reaches
only people not alerted before (earlier ones stay alerted and can still acknowledge); a step that
reaches nobody new (an empty rota slot, a person who never joined) is skipped at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from enum import StrEnum

from bot.domain import PersonId
from escalation.model import Level
from escalation.rota import OnCall


class StepKind(StrEnum):
    PRIMARY = "primary"
    BACKUP = "backup"
    COORDINATORS = "coordinators"
    REGISSEURS = "regisseurs"
    REPEAT = "repeat"


STEPS = (StepKind.PRIMARY, StepKind.BACKUP, StepKind.COORDINATORS, StepKind.REGISSEURS)
REPEAT_FROM = len(STEPS)


def kind(step: int) -> StepKind:
    return STEPS[step] if 0 <= step < REPEAT_FROM else StepKind.REPEAT


@dataclass(frozen=True)
class ChainPolicy:
    acute_timeout: timedelta = timedelta(minutes=5)
    concern_timeout: timedelta = timedelta(minutes=60)
    repeat_every: timedelta = timedelta(minutes=5)

    def wait_after(self, level: Level, step: int) -> timedelta:
        """How long to wait for an acknowledgement after notifying `step`."""
        if step >= REPEAT_FROM:
            return self.repeat_every
        return self.acute_timeout if level is Level.ACUTE else self.concern_timeout


@dataclass(frozen=True)
class Candidates:
    """Who could be alerted right now. Only people in `reachable` (with an address) count."""

    on_call: OnCall = field(default_factory=OnCall)
    coordinators: tuple[PersonId, ...] = ()
    regisseurs: tuple[PersonId, ...] = ()
    reachable: frozenset[PersonId] = frozenset()


def _unique(ids: tuple[PersonId | None, ...]) -> tuple[PersonId, ...]:
    return tuple(dict.fromkeys(p for p in ids if p))


def targets(step: int, c: Candidates, already: tuple[PersonId, ...] = ()) -> tuple[PersonId, ...]:
    k = kind(step)
    if k is StepKind.REPEAT:
        everyone = (*already, c.on_call.primary, c.on_call.backup, *c.coordinators, *c.regisseurs)
        return tuple(p for p in _unique(everyone) if p in c.reachable)
    raw: tuple[PersonId | None, ...] = {
        StepKind.PRIMARY: (c.on_call.primary,),
        StepKind.BACKUP: (c.on_call.backup,),
        StepKind.COORDINATORS: c.coordinators,
        StepKind.REGISSEURS: c.regisseurs,
    }[k]
    return tuple(p for p in _unique(raw) if p in c.reachable and p not in already)


@dataclass(frozen=True)
class Next:
    step: int  # the step that notifies
    people: tuple[PersonId, ...]  # empty only when nobody at all is reachable (a repeat to no one)
    skipped: tuple[int, ...] = ()  # empty steps passed over on the way


def next_step(from_step: int, c: Candidates, already: tuple[PersonId, ...] = ()) -> Next:
    """The first step at or after `from_step` that reaches somebody; the repeat step at the latest."""
    skipped = []
    step = max(0, from_step)
    while step < REPEAT_FROM:
        people = targets(step, c, already)
        if people:
            return Next(step, people, tuple(skipped))
        skipped.append(step)
        step += 1
    return Next(step, targets(step, c, already), tuple(skipped))
