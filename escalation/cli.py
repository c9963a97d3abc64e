"""`naast oncall` (the rota) and `naast escalations` (trail, export, veiligheidskaart), as a
coordinator uses them. Commands parse input, call the store or the pure rota, and print; times are
shown in Europe/Amsterdam. Mounted by bot.cli: app.add_typer(oncall_app, name="oncall") etc."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from contextlib import suppress
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from bot.clikit import console, fail, with_store
from bot.domain import Person, PersonId, Role
from bot.errors import AdminError
from bot.store import Store
from bot.store.escalations import EscalationStore
from escalation import audit
from escalation.rota import AMS, DAYS, Override, Shift, on_call_at, parse_days, problems, slots

T = TypeVar("T")

oncall_app = typer.Typer(no_args_is_help=True, help="Who is on call: weekly shifts and date overrides.")
escalations_app = typer.Typer(no_args_is_help=True, help="Safety escalations: list, show, export, veiligheidskaart.")

STAFF = (Role.REGISSEUR, Role.COORDINATOR)


def _with(work: Callable[[Store, EscalationStore], Awaitable[T]]) -> T:
    return with_store(lambda store, _: work(store, EscalationStore.of(store)))


def _local(when: datetime | None) -> str:
    return when.astimezone(AMS).strftime("%a %d-%m %H:%M") if when else "—"


async def _person(store: Store, ref: str) -> Person:
    """A person by id, or by first name when exactly one regisseur or coordinator has it."""
    person = await store.directory.get_person(ref)
    if person is None:
        staff = [p for p in await store.directory.list_people() if p.role in STAFF]
        matches = [p for p in staff if p.name.lower() == ref.lower()]
        if len(matches) != 1:
            raise AdminError(f"no single regisseur or coordinator {ref!r}: give the person id (p_...)")
        person = matches[0]
    if person.role not in STAFF:
        raise AdminError(
            f"{person.name} ({person.id}) is a {person.role.value}: on call must be a regisseur or coordinator"
        )
    return person


async def _names(store: Store, ids: set[str]) -> dict[str, str]:
    out = {}
    for pid in ids:
        p = await store.directory.get_person(pid)
        out[pid] = p.name if p else ("(system)" if pid == "system" else f"? {pid}")
    return out


def _hhmm(value: str) -> time:
    try:
        return time.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a time: use HH:MM")
        raise


def _day(value: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{value!r} is not a date: use YYYY-MM-DD")
        raise


# --- naast oncall ------------------------------------------------------------------------------
@oncall_app.command("set")
def oncall_set(
    days: Annotated[str, typer.Argument(help="mon, mon-fri, sat,sun or daily")],
    start: Annotated[str, typer.Argument(help="HH:MM, Amsterdam time")],
    end: Annotated[str, typer.Argument(help="HH:MM; not after start = the next day")],
    primary: Annotated[str, typer.Option("--primary", "-p", help="person id or first name")] = "",
    backup: Annotated[str, typer.Option("--backup", "-b")] = "",
    remove: Annotated[bool, typer.Option("--remove", help="remove the shifts starting at START")] = False,
) -> None:
    """Set a weekly shift (replaces a shift starting on the same day and time)."""
    try:
        weekdays = parse_days(days)
    except ValueError as exc:
        fail(str(exc))
        raise
    t0, t1 = _hhmm(start), _hhmm(end)
    if not remove and not primary:
        fail("give --primary (and --backup), or --remove")

    async def work(store: Store, es: EscalationStore) -> None:
        rota = await es.get_rota()
        p = await _person(store, primary) if primary else None
        b = await _person(store, backup) if backup else None
        for d in weekdays:
            rota = rota.without_shift(d, t0) if remove else rota.with_shift(Shift(d, t0, t1, p and p.id, b and b.id))
        await es.put_rota(rota)
        what = "removed" if remove else f"{p.name if p else '—'} (backup {b.name if b else '—'})"
        console.print(f"{', '.join(DAYS[d] for d in weekdays)} {start}-{end}: {what}")

    _with(work)


@oncall_app.command("swap")
def oncall_swap(
    day: Annotated[str, typer.Argument(help="YYYY-MM-DD, the first day")],
    primary: Annotated[str, typer.Option("--primary", "-p")] = "",
    backup: Annotated[str, typer.Option("--backup", "-b")] = "",
    until: Annotated[str, typer.Option("--until", help="last day (YYYY-MM-DD); default: DAY")] = "",
    start: Annotated[str, typer.Option("--from", help="HH:MM on the first day")] = "00:00",
    end: Annotated[str, typer.Option("--to", help="HH:MM on the last day; default: end of it")] = "",
    note: Annotated[str, typer.Option("--note", help="why: holiday, swap (no personal details)")] = "",
) -> None:
    """Override the weekly rota for a period (a holiday, a swap). Unset --primary/--backup keep the rota's."""
    if not primary and not backup:
        fail("give --primary and/or --backup")
    first = _day(day)
    last = _day(until) if until else first
    begin = datetime.combine(first, _hhmm(start))
    finish = datetime.combine(last, _hhmm(end)) if end else datetime.combine(last + timedelta(days=1), time(0))
    if finish <= begin:
        finish += timedelta(days=1)

    async def work(store: Store, es: EscalationStore) -> None:
        p = await _person(store, primary) if primary else None
        b = await _person(store, backup) if backup else None
        now = datetime.now(UTC)
        rota = (await es.get_rota()).pruned(now - timedelta(days=30))
        await es.put_rota(rota.with_override(Override(begin, finish, p and p.id, b and b.id, note)))
        console.print(
            f"{begin:%a %d-%m %H:%M} - {finish:%a %d-%m %H:%M}: primary {p.name if p else '(rota)'}, "
            f"backup {b.name if b else '(rota)'}"
        )

    _with(work)


@oncall_app.command("show")
def oncall_show(days: Annotated[int, typer.Option("--days", help="how far ahead")] = 7) -> None:
    """Who is on call now, and the next days."""

    async def work(store: Store, es: EscalationStore) -> None:
        rota = await es.get_rota()
        now = datetime.now(UTC)
        current = on_call_at(rota, now)
        plan = slots(rota, now, now + timedelta(days=days))
        ids = {p for s in plan for p in (s.on_call.primary, s.on_call.backup) if p}
        names = await _names(store, ids | {p for p in (current.primary, current.backup) if p})

        def name(pid: PersonId | None) -> str:
            return names.get(pid, "") if pid else "[red]— nobody —[/red]"

        console.print(f"Now ({_local(now)}): [bold]{name(current.primary)}[/bold], backup {name(current.backup)}")
        table = Table("from", "until", "primary", "backup", title=f"On call, next {days} days (Europe/Amsterdam)")
        for s in plan:
            table.add_row(_local(s.start), _local(s.end), name(s.on_call.primary), name(s.on_call.backup))
        console.print(table)

    _with(work)


@oncall_app.command("check")
def oncall_check(days: Annotated[int, typer.Option("--days")] = 28) -> None:
    """Configuration errors: empty slots, no backup, unknown or unreachable people. Exit 1 if any."""

    async def work(store: Store, es: EscalationStore) -> list[str]:
        rota = await es.get_rota()
        now = datetime.now(UTC)
        found = problems(rota, now, now + timedelta(days=days))
        ids = {p for s in rota.shifts for p in (s.primary, s.backup) if p}
        ids |= {p for o in rota.overrides for p in (o.primary, o.backup) if p}
        for pid in sorted(ids):
            person = await store.directory.get_person(pid)
            if person is None:
                found.append(f"{pid}: no such person")
            elif person.role not in STAFF:
                found.append(f"{person.name} ({pid}) is a {person.role.value}, not a regisseur or coordinator")
            elif not await store.directory.addresses_of(pid):
                found.append(f"{person.name} ({pid}) has not joined the bot: an alert cannot reach them")
        if not rota.shifts:
            found.insert(0, "no shifts at all: set them with `naast oncall set`")
        return found

    found = _with(work)
    for line in found:
        console.print(f"[red]✗[/red] {line}")
    if found:
        raise typer.Exit(1)
    console.print(f"[green]✓[/green] the rota covers the next {days} days with a primary and a backup")


# --- naast escalations -------------------------------------------------------------------------
def _secs(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.0f} min"


@escalations_app.command("list")
def escalations_list(
    open_only: Annotated[bool, typer.Option("--open", help="only those not resolved")] = False,
    limit: Annotated[int, typer.Option("--limit")] = 30,
) -> None:
    """Recent escalations, newest first, with time to notify and to acknowledge."""

    async def work(store: Store, es: EscalationStore) -> None:
        items = await es.active() if open_only else await es.recent(limit)
        items.sort(key=lambda e: e.raised_at, reverse=True)
        families = {e.family_id: await store.directory.get_family(e.family_id) for e in items}
        names = await _names(store, {e.acked_by for e in items if e.acked_by})
        table = Table("id", "family", "level", "signal", "source", "status", "raised", "to notify", "to ack", "held by")
        for e in items:
            fam = families.get(e.family_id)
            table.add_row(
                e.id,
                fam.alias if fam else e.family_id,
                e.level.value,
                " ".join(e.categories) or "—",
                e.source.value,
                e.status.value,
                _local(e.raised_at),
                _secs(e.time_to_notify),
                _secs(e.time_to_ack),
                names.get(e.acked_by, "—") if e.acked_by else "—",
            )
        console.print(table)

    _with(work)


@escalations_app.command("show")
def escalations_show(
    eid: Annotated[str, typer.Argument(metavar="ID")],
    with_note: Annotated[bool, typer.Option("--note", help="also print the sealed closing note")] = False,
) -> None:
    """One escalation and its audit trail (no message text)."""

    async def work(store: Store, es: EscalationStore) -> None:
        esc = await es.get(eid)
        if esc is None:
            raise AdminError(f"no escalation {eid}")
        trail = await es.audit(eid)
        ids = {x for entry in trail for f in ("by", "whom") for x in entry.get(f, "").split(",") if x}
        names = await _names(store, ids)
        fam = await store.directory.get_family(esc.family_id)
        console.print(
            f"[bold]{esc.id}[/bold] {fam.alias if fam else esc.family_id} — {esc.level.value} "
            f"({', '.join(esc.categories) or 'no category'}), {esc.source.value}, {esc.status.value}; "
            f"notified in {_secs(esc.time_to_notify)}, acknowledged in {_secs(esc.time_to_ack)}"
        )
        table = Table("time", "event", "step", "who", "detail")
        for entry in trail:
            who = ", ".join(names.get(x, x) for f in ("by", "whom") for x in entry.get(f, "").split(",") if x)
            detail = " ".join(
                f"{k}={entry[k]}"
                for k in ("level", "categories", "source", "skipped", "note", "after_s")
                if entry.get(k)
            )
            step = entry.get("step", "") + (f" {entry['kind']}" if entry.get("kind") else "")
            table.add_row(_local(audit.entry_time(entry)), entry["event"], step, who or "—", detail)
        console.print(table)
        if with_note:
            console.print(f"Note: {await es.note(eid) or '—'}")

    _with(work)


@escalations_app.command("export")
def escalations_export(
    csv: Annotated[bool, typer.Option("--csv", help="CSV, one row per escalation (the only format)")] = True,
    out: Annotated[Path | None, typer.Option("--out", help="file; default: standard output")] = None,
    limit: Annotated[int, typer.Option("--limit")] = 100_000,
) -> None:
    """All escalations with times to notify and acknowledge, for reporting. No text, no names."""

    async def work(store: Store, es: EscalationStore) -> str:
        items = await es.recent(limit)
        items.sort(key=lambda e: e.raised_at)
        return audit.to_csv(items)

    text = _with(work)
    if out:
        out.write_text(text, encoding="utf-8")
        console.print(f"{text.count(chr(10)) - 1} escalations written to {out}")
    else:
        with suppress(BrokenPipeError):
            sys.stdout.write(text)


@escalations_app.command("card")
def escalations_card(
    family: Annotated[str, typer.Argument(help="family id (f_...)")],
    set_: Annotated[
        str | None, typer.Option("--set", help="the whole veiligheidskaart: agreements, risks, who to call")
    ] = None,
    clear: Annotated[bool, typer.Option("--clear")] = False,
) -> None:
    """Show or set a family's veiligheidskaart (stored encrypted; shown to the professional in an alert)."""

    async def work(store: Store, es: EscalationStore) -> None:
        fam = await store.directory.get_family(family)
        if fam is None:
            raise AdminError(f"no family {family}")
        if clear:
            await es.set_card(fam.id, "")
            console.print(f"Veiligheidskaart of {fam.alias} removed.")
        elif set_ is not None:
            await es.set_card(fam.id, set_.replace("\\n", "\n"))
            console.print(f"Veiligheidskaart of {fam.alias} saved.")
        else:
            card = await es.get_card(fam.id)
            console.print(f"[bold]Veiligheidskaart {fam.alias}[/bold]\n{card or '— none yet —'}")

    _with(work)
