"""The rota as a pure function of time: tables across shift changes, both DST switches, overrides."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from bot.domain import PersonId
from escalation.rota import (
    OnCall,
    Override,
    Rota,
    Shift,
    on_call_at,
    parse_days,
    problems,
    rota_from_dict,
    rota_to_dict,
    slots,
    to_instant,
)

A, B, C, D, E, F, G = (PersonId(x) for x in "ABCDEFG")

DAY = OnCall(A, B)  # weekdays 08:00-17:00
NIGHT = OnCall(C, D)  # every day 17:00-08:00
WEEKEND = OnCall(E, F)  # Saturday and Sunday 08:00-17:00

ROTA = Rota(
    shifts=tuple(
        [Shift(d, time(8), time(17), A, B) for d in range(5)]
        + [Shift(d, time(8), time(17), E, F) for d in (5, 6)]
        + [Shift(d, time(17), time(8), C, D) for d in range(7)]
    ),
    overrides=(
        Override(datetime(2026, 12, 25, 0, 0), datetime(2026, 12, 26, 0, 0), primary=G, note="Kerst"),
        Override(datetime(2026, 11, 24, 8, 0), datetime(2026, 11, 24, 17, 0), primary=B, backup=A, note="ruil"),
    ),
)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "expected"),
    [
        # Winter time (CET = UTC+1), an ordinary week.
        (utc(2026, 11, 23, 6, 59), NIGHT),  # Mon 07:59: Sunday's night shift
        (utc(2026, 11, 23, 7, 0), DAY),  # Mon 08:00: handover
        (utc(2026, 11, 23, 15, 59), DAY),  # Mon 16:59
        (utc(2026, 11, 23, 16, 0), NIGHT),  # Mon 17:00
        (utc(2026, 11, 27, 23, 0), NIGHT),  # Sat 00:00: Friday's night shift runs on
        (utc(2026, 11, 28, 6, 59), NIGHT),  # Sat 07:59
        (utc(2026, 11, 28, 7, 0), WEEKEND),  # Sat 08:00
        (utc(2026, 11, 29, 16, 0), NIGHT),  # Sun 17:00
        # Clocks go forward on Sunday 2026-03-29 at 02:00 CET (01:00 UTC) to 03:00 CEST.
        (utc(2026, 3, 28, 6, 59), NIGHT),  # Sat 07:59 CET
        (utc(2026, 3, 28, 7, 0), WEEKEND),  # Sat 08:00 CET
        (utc(2026, 3, 29, 0, 59), NIGHT),  # Sun 01:59 CET
        (utc(2026, 3, 29, 1, 0), NIGHT),  # Sun 03:00 CEST
        (utc(2026, 3, 29, 5, 59), NIGHT),  # Sun 07:59 CEST: the night was an hour shorter
        (utc(2026, 3, 29, 6, 0), WEEKEND),  # Sun 08:00 CEST
        (utc(2026, 3, 29, 14, 59), WEEKEND),  # Sun 16:59 CEST
        (utc(2026, 3, 29, 15, 0), NIGHT),  # Sun 17:00 CEST
        (utc(2026, 3, 30, 6, 0), DAY),  # Mon 08:00 CEST
        # Clocks go back on Sunday 2026-10-25 at 03:00 CEST (01:00 UTC) to 02:00 CET.
        (utc(2026, 10, 24, 5, 59), NIGHT),  # Sat 07:59 CEST
        (utc(2026, 10, 24, 6, 0), WEEKEND),  # Sat 08:00 CEST
        (utc(2026, 10, 25, 0, 30), NIGHT),  # Sun 02:30 CEST (first time)
        (utc(2026, 10, 25, 1, 30), NIGHT),  # Sun 02:30 CET (second time)
        (utc(2026, 10, 25, 6, 59), NIGHT),  # Sun 07:59 CET: the night was an hour longer
        (utc(2026, 10, 25, 7, 0), WEEKEND),  # Sun 08:00 CET
        (utc(2026, 10, 25, 16, 0), NIGHT),  # Sun 17:00 CET
        # Overrides: Christmas (primary only; the backup stays the weekly one), and a swap.
        (utc(2026, 12, 24, 22, 59), NIGHT),  # Thu 23:59
        (utc(2026, 12, 24, 23, 0), OnCall(G, D)),  # Fri 00:00: Christmas, night shift's backup
        (utc(2026, 12, 25, 10, 0), OnCall(G, B)),  # Fri 11:00: weekday backup
        (utc(2026, 12, 25, 22, 59), OnCall(G, D)),  # Fri 23:59
        (utc(2026, 12, 25, 23, 0), NIGHT),  # Sat 00:00: override over
        (utc(2026, 11, 24, 6, 59), NIGHT),  # Tue 07:59: the swap starts at 08:00
        (utc(2026, 11, 24, 7, 0), OnCall(B, A)),  # Tue 08:00: A and B swapped
        (utc(2026, 11, 24, 15, 59), OnCall(B, A)),
        (utc(2026, 11, 24, 16, 0), NIGHT),  # Tue 17:00
        (utc(2026, 11, 25, 7, 0), DAY),  # Wed 08:00: back to normal
    ],
)
def test_on_call_at(when: datetime, expected: OnCall) -> None:
    assert on_call_at(ROTA, when) == expected


def test_night_lengths_follow_the_clock_changes() -> None:
    def night(start: datetime) -> timedelta:
        s = next(s for s in slots(ROTA, start, start + timedelta(days=1)) if s.on_call == NIGHT)
        return s.end - s.start

    assert night(utc(2026, 3, 28, 12)) == timedelta(hours=14)  # Sat 17:00 CET -> Sun 08:00 CEST
    assert night(utc(2026, 10, 24, 12)) == timedelta(hours=16)  # Sat 17:00 CEST -> Sun 08:00 CET
    assert night(utc(2026, 11, 21, 12)) == timedelta(hours=15)


def test_wall_clock_times_that_do_not_exist_or_happen_twice() -> None:
    assert to_instant(datetime(2026, 3, 29, 2, 30)) == utc(2026, 3, 29, 1, 0)  # in the gap: the jump
    assert to_instant(datetime(2026, 3, 29, 3, 0)) == utc(2026, 3, 29, 1, 0)
    assert to_instant(datetime(2026, 10, 25, 2, 30)) == utc(2026, 10, 25, 0, 30)  # twice: the first
    assert to_instant(datetime(2026, 10, 25, 3, 0)) == utc(2026, 10, 25, 2, 0)


def test_a_shift_starting_in_the_spring_gap_starts_at_the_jump() -> None:
    rota = Rota((Shift(6, time(2, 30), time(9), A, B),))
    assert on_call_at(rota, utc(2026, 3, 29, 0, 59)) == OnCall()
    assert on_call_at(rota, utc(2026, 3, 29, 1, 0)) == OnCall(A, B)


def test_overlapping_shifts_the_later_start_holds_the_slot() -> None:
    rota = Rota((Shift(0, time(8), time(17), A, B), Shift(0, time(12), time(20), C, D)))
    assert on_call_at(rota, utc(2026, 11, 23, 10)) == OnCall(A, B)  # Mon 11:00
    assert on_call_at(rota, utc(2026, 11, 23, 11)) == OnCall(C, D)  # Mon 12:00
    assert on_call_at(rota, utc(2026, 11, 23, 18)) == OnCall(C, D)  # Mon 19:00


def test_overlapping_overrides_the_last_added_wins() -> None:
    rota = ROTA.with_override(Override(datetime(2026, 12, 25, 10), datetime(2026, 12, 25, 12), primary=E))
    assert on_call_at(rota, utc(2026, 12, 25, 9, 30)) == OnCall(E, B)
    assert on_call_at(rota, utc(2026, 12, 25, 11, 30)) == OnCall(G, B)


def test_empty_slot_and_naive_datetime() -> None:
    weekdays = Rota(tuple(Shift(d, time(8), time(17), A, B) for d in range(5)))
    assert on_call_at(weekdays, utc(2026, 11, 28, 12)) == OnCall()  # Saturday
    with pytest.raises(ValueError):
        on_call_at(weekdays, datetime(2026, 11, 28, 12))


def test_slots_and_problems() -> None:
    start = utc(2026, 11, 23, 0)
    week = slots(ROTA, start, start + timedelta(days=7))
    assert week[0].start == start and week[-1].end == start + timedelta(days=7)
    assert all(a.end == b.start for a, b in zip(week, week[1:], strict=False))
    assert all(a.on_call != b.on_call for a, b in zip(week, week[1:], strict=False))
    assert problems(ROTA, start, start + timedelta(days=28)) == []

    holes = Rota(
        (Shift(0, time(8), time(17), A, None), Shift(1, time(8), time(17), A, A), Shift(2, time(8), time(17), A, B))
    )
    found = problems(holes, start, start + timedelta(days=3))
    assert "Mon 2026-11-23 01:00 - Mon 2026-11-23 08:00: nobody on call"  # 00:00 UTC in found
    assert "Mon 2026-11-23 08:00 - Mon 2026-11-23 17:00: no backup on call" in found
    assert "Tue 2026-11-24 08:00 - Tue 2026-11-24 17:00: primary and backup are the same person" in found
    assert not any(p.startswith("Wed 2026-11-25 08:00") for p in found)


def test_round_trip_and_edits() -> None:
    assert rota_from_dict(rota_to_dict(ROTA)) == ROTA
    replaced = ROTA.with_shift(Shift(0, time(8), time(17), G, B))
    assert on_call_at(replaced, utc(2026, 11, 23, 10)) == OnCall(G, B)
    assert len(replaced.shifts) == len(ROTA.shifts)
    assert on_call_at(replaced.without_shift(0, time(8)), utc(2026, 11, 23, 10)) == OnCall()
    assert ROTA.pruned(utc(2026, 12, 1)).overrides == ROTA.overrides[:1]


@pytest.mark.parametrize(
    ("spec", "days"),
    [
        ("mon", [0]),
        ("mon-fri", [0, 1, 2, 3, 4]),
        ("sat,sun", [5, 6]),
        ("daily", list(range(7))),
        ("fri-mon", [0, 4, 5, 6]),
    ],
)
def test_parse_days(spec: str, days: list[int]) -> None:
    assert parse_days(spec) == days


def test_parse_days_rejects_nonsense() -> None:
    with pytest.raises(ValueError):
        parse_days("someday")
