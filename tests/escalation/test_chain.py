"""The chain policy: who each step reaches, skipping, repeating, timeouts."""

from __future__ import annotations

from datetime import timedelta

from bot.domain import PersonId
from escalation.chain import Candidates, ChainPolicy, StepKind, kind, next_step, targets
from escalation.model import Level
from escalation.rota import OnCall

KARIN, JOOST, PETRA, MILA, GONE = (PersonId(x) for x in ("karin", "joost", "petra", "mila", "gone"))
ALL = Candidates(
    OnCall(KARIN, JOOST),
    coordinators=(PETRA,),
    regisseurs=(KARIN, JOOST, MILA),
    reachable=frozenset({KARIN, JOOST, PETRA, MILA}),
)


def test_steps_in_order() -> None:
    assert [kind(s) for s in range(6)] == [
        StepKind.PRIMARY,
        StepKind.BACKUP,
        StepKind.COORDINATORS,
        StepKind.REGISSEURS,
        StepKind.REPEAT,
        StepKind.REPEAT,
    ]
    assert targets(0, ALL) == (KARIN,)
    assert targets(1, ALL, (KARIN,)) == (JOOST,)
    assert targets(2, ALL, (KARIN, JOOST)) == (PETRA,)
    assert targets(3, ALL, (KARIN, JOOST, PETRA)) == (MILA,)  # only regisseurs not alerted yet
    assert targets(4, ALL, (KARIN, JOOST, PETRA, MILA)) == (KARIN, JOOST, PETRA, MILA)  # repeat: everyone


def test_empty_slots_are_skipped() -> None:
    no_primary = Candidates(OnCall(None, JOOST), (PETRA,), (JOOST, MILA), frozenset({JOOST, PETRA, MILA}))
    assert next_step(0, no_primary) == next_step(0, no_primary)
    nxt = next_step(0, no_primary)
    assert (nxt.step, nxt.people, nxt.skipped) == (1, (JOOST,), (0,))

    nobody_on_call = Candidates(OnCall(), (PETRA,), (MILA,), frozenset({PETRA, MILA}))
    nxt = next_step(0, nobody_on_call)
    assert (nxt.step, nxt.people, nxt.skipped) == (2, (PETRA,), (0, 1))


def test_unreachable_people_count_as_empty() -> None:
    c = Candidates(OnCall(GONE, JOOST), (), (JOOST,), frozenset({JOOST}))
    nxt = next_step(0, c)
    assert (nxt.step, nxt.people) == (1, (JOOST,))


def test_nothing_new_goes_to_repeat_and_nobody_at_all_gives_an_empty_repeat() -> None:
    only_karin = Candidates(OnCall(KARIN, KARIN), (), (KARIN,), frozenset({KARIN}))
    nxt = next_step(1, only_karin, (KARIN,))
    assert (nxt.step, nxt.people, nxt.skipped) == (4, (KARIN,), (1, 2, 3))
    nxt = next_step(0, Candidates())
    assert (nxt.step, nxt.people) == (4, ())


def test_timeouts() -> None:
    p = ChainPolicy()
    assert p.wait_after(Level.ACUTE, 0) == timedelta(minutes=5)
    assert p.wait_after(Level.CONCERN, 3) == timedelta(minutes=60)
    assert p.wait_after(Level.CONCERN, 4) == timedelta(minutes=5)  # repeating is always brisk
    fast = ChainPolicy(acute_timeout=timedelta(minutes=2), repeat_every=timedelta(minutes=1))
    assert fast.wait_after(Level.ACUTE, 1) == timedelta(minutes=2) and fast.wait_after(Level.ACUTE, 7) == timedelta(
        minutes=1
    )
