"""The on-call rota: weekly shifts plus date overrides, in Europe/Amsterdam wall-clock time.

`on_call_at(rota, when)` is a pure function of an aware datetime. Shift times are wall-clock
times; each is turned into an instant for the day it falls on, so a shift 22:00-08:00 over the
night clocks go forward lasts 9 real hours, and over the night they go back 11. A wall-clock time
that does not exist (02:30 when clocks jump 02:00 -> 03:00) starts at the jump; one that happens
twice (02:30 when clocks fall back) means the first time.

Rules: a shift whose end is not after its start runs into the next day (at most 24 hours). When
shifts overlap, the one that started last holds the slot (a handover). An override replaces the
primary and/or backup for a window (a holiday, a swap); None in an override keeps the weekly
person; among overlapping overrides the one added last wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain import PersonId

AMS = ZoneInfo("Europe/Amsterdam")
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass(frozen=True)
class Shift:
    weekday: int  # 0 = Monday, the day the shift starts
    start: time
    end: time  # not after start: ends the next day
    primary: PersonId | None
    backup: PersonId | None = None

    @property
    def overnight(self) -> bool:
        return self.end <= self.start


@dataclass(frozen=True)
class Override:
    start: datetime  # naive, Amsterdam wall clock
    end: datetime
    primary: PersonId | None = None  # None: keep the weekly primary
    backup: PersonId | None = None
    note: str = ""  # "Kerst", "ruil Karin/Joost": no personal data needed


@dataclass(frozen=True)
class Rota:
    shifts: tuple[Shift, ...] = ()
    overrides: tuple[Override, ...] = ()

    def with_shift(self, shift: Shift) -> Rota:
        """Add a shift, replacing one that starts on the same day at the same time."""
        kept = tuple(s for s in self.shifts if (s.weekday, s.start) != (shift.weekday, shift.start))
        return Rota(tuple(sorted((*kept, shift), key=lambda s: (s.weekday, s.start))), self.overrides)

    def without_shift(self, weekday: int, start: time) -> Rota:
        return Rota(tuple(s for s in self.shifts if (s.weekday, s.start) != (weekday, start)), self.overrides)

    def with_override(self, override: Override) -> Rota:
        return Rota(self.shifts, (*self.overrides, override))

    def pruned(self, before: datetime) -> Rota:
        """Drop overrides that ended before `before` (aware), so the stored rota stays small."""
        return Rota(self.shifts, tuple(o for o in self.overrides if to_instant(o.end) > before))


@dataclass(frozen=True)
class OnCall:
    primary: PersonId | None = None
    backup: PersonId | None = None


@dataclass(frozen=True)
class Slot:
    start: datetime  # aware UTC
    end: datetime
    on_call: OnCall = field(default_factory=OnCall)


def to_instant(wall: datetime) -> datetime:
    """The UTC instant a naive Amsterdam wall-clock time stands for (first occurrence; a time in the
    spring gap maps to the jump itself)."""
    first = wall.replace(tzinfo=AMS, fold=0).astimezone(UTC)
    if _wall(first) == wall:
        return first
    # In the gap: the first whole second whose wall clock is at or past `wall` is the jump itself.
    lo = int(wall.replace(tzinfo=AMS, fold=1).astimezone(UTC).timestamp())  # wall clock before the gap
    hi = int(first.timestamp())  # wall clock after the gap
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if _wall(datetime.fromtimestamp(mid, UTC)) >= wall:
            hi = mid
        else:
            lo = mid
    return datetime.fromtimestamp(hi, UTC)


def _wall(instant: datetime) -> datetime:
    return instant.astimezone(AMS).replace(tzinfo=None)


def _shift_window(shift: Shift, day: date) -> tuple[datetime, datetime]:
    end_day = day + timedelta(days=1) if shift.overnight else day
    return to_instant(datetime.combine(day, shift.start)), to_instant(datetime.combine(end_day, shift.end))


def weekly_at(shifts: Iterable[Shift], when: datetime) -> OnCall:
    today = when.astimezone(AMS).date()
    best: tuple[datetime, Shift] | None = None
    for day in (today - timedelta(days=1), today):
        for shift in shifts:
            if shift.weekday != day.weekday():
                continue
            start, end = _shift_window(shift, day)
            if start <= when < end and (best is None or start > best[0]):
                best = (start, shift)
    return OnCall(best[1].primary, best[1].backup) if best else OnCall()


def on_call_at(rota: Rota, when: datetime) -> OnCall:
    """Who is on call at the aware instant `when`."""
    if when.tzinfo is None:
        raise ValueError("on_call_at needs an aware datetime")
    base = weekly_at(rota.shifts, when)
    for o in reversed(rota.overrides):
        if to_instant(o.start) <= when < to_instant(o.end):
            return OnCall(o.primary or base.primary, o.backup or base.backup)
    return base


def _boundaries(rota: Rota, start: datetime, end: datetime) -> Iterator[datetime]:
    yield start
    hour = start.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    while hour < end:  # every whole UTC hour: includes each DST jump
        yield hour
        hour += timedelta(hours=1)
    first = start.astimezone(AMS).date() - timedelta(days=1)
    for n in range((end - start).days + 3):
        day = first + timedelta(days=n)
        for shift in rota.shifts:
            if shift.weekday == day.weekday():
                yield from _shift_window(shift, day)
    for o in rota.overrides:
        yield to_instant(o.start)
        yield to_instant(o.end)


def slots(rota: Rota, start: datetime, end: datetime) -> list[Slot]:
    """The rota from `start` to `end` as consecutive slots of unchanging on-call people."""
    points = sorted({p.astimezone(UTC) for p in _boundaries(rota, start, end) if start <= p < end})
    out: list[Slot] = []
    for i, point in enumerate(points):
        until = points[i + 1] if i + 1 < len(points) else end.astimezone(UTC)
        who = on_call_at(rota, point)
        if out and out[-1].on_call == who:
            out[-1] = Slot(out[-1].start, until, who)
        else:
            out.append(Slot(point, until, who))
    return out


def problems(rota: Rota, start: datetime, end: datetime) -> list[str]:
    """Configuration errors between start and end: nobody or no backup on call, or both the same."""
    found = []
    for s in slots(rota, start, end):
        span = f"{_fmt(s.start)} - {_fmt(s.end)}"
        if s.on_call.primary is None:
            found.append(f"{span}: nobody on call")
        elif s.on_call.backup is None:
            found.append(f"{span}: no backup on call")
        elif s.on_call.primary == s.on_call.backup:
            found.append(f"{span}: primary and backup are the same person")
    return found


def _fmt(instant: datetime) -> str:
    return instant.astimezone(AMS).strftime("%a %Y-%m-%d %H:%M")


# --- (de)serialisation: the stored form is plain JSON with person ids only --------------------
def parse_days(spec: str) -> list[int]:
    """ "mon", "mon-fri", "sat,sun", "daily" -> weekday numbers."""
    spec = spec.strip().lower()
    if spec in ("daily", "all", "*"):
        return list(range(7))
    days: list[int] = []
    for part in spec.split(","):
        a, _, b = part.strip().partition("-")
        if a[:3] not in DAYS or (b and b[:3] not in DAYS):
            raise ValueError(f"unknown day {part!r}: use mon..sun, mon-fri, sat,sun or daily")
        i, j = DAYS.index(a[:3]), DAYS.index((b or a)[:3])
        days += [(i + k) % 7 for k in range((j - i) % 7 + 1)]
    return sorted(set(days))


def rota_to_dict(rota: Rota) -> dict[str, Any]:
    return {
        "shifts": [
            {
                "day": s.weekday,
                "start": s.start.strftime("%H:%M"),
                "end": s.end.strftime("%H:%M"),
                "primary": s.primary,
                "backup": s.backup,
            }
            for s in rota.shifts
        ],
        "overrides": [
            {
                "start": o.start.isoformat(timespec="minutes"),
                "end": o.end.isoformat(timespec="minutes"),
                "primary": o.primary,
                "backup": o.backup,
                "note": o.note,
            }
            for o in rota.overrides
        ],
    }


def _pid(value: str | None) -> PersonId | None:
    return PersonId(value) if value else None


def rota_from_dict(d: dict[str, Any]) -> Rota:
    return Rota(
        shifts=tuple(
            Shift(
                s["day"],
                time.fromisoformat(s["start"]),
                time.fromisoformat(s["end"]),
                _pid(s["primary"]),
                _pid(s["backup"]),
            )
            for s in d.get("shifts", [])
        ),
        overrides=tuple(
            Override(
                datetime.fromisoformat(o["start"]),
                datetime.fromisoformat(o["end"]),
                _pid(o["primary"]),
                _pid(o["backup"]),
                o.get("note", ""),
            )
            for o in d.get("overrides", [])
        ),
    )
