"""`naast`: the command line. Parses input, hands it to the core, prints the outcome."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated, TypeVar

import typer
from rich.table import Table

from bot.admin import Admin
from bot.clikit import console, fail, with_store
from bot.config import Settings
from bot.domain import Role, SystemClock
from bot.errors import ConfigError
from bot.store import Store

T = TypeVar("T")

app = typer.Typer(no_args_is_help=True, help="Naast: a chat bot beside parents in youth protection.")
admin_app = typer.Typer(no_args_is_help=True, help="Families, people, assignments and invites.")
app.add_typer(admin_app, name="admin")


def with_admin(work: Callable[[Admin], Awaitable[T]]) -> T:
    def admin_of(store: Store, settings: Settings) -> Admin:
        return Admin(
            store.directory,
            SystemClock(),
            settings.max_families_per_maatje,
            settings.invite_days,
            settings.telegram_bot_username,
        )

    return with_store(lambda store, settings: work(admin_of(store, settings)))


@app.command()
def run(verbose: Annotated[bool, typer.Option("--verbose", "-v")] = False) -> None:
    """Run the Telegram bot (long polling, or webhook when NAAST_WEBHOOK_URL is set)."""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from bot.serve import serve

    try:
        asyncio.run(serve(Settings()))
    except ConfigError as exc:
        fail(str(exc))
    except KeyboardInterrupt:
        pass


@admin_app.command("family")
def add_family(
    alias: Annotated[str, typer.Argument(help="An alias such as 'Gezin Noor'; no real name needed.")],
) -> None:
    """Create a family."""
    family = with_admin(lambda a: a.add_family(alias))
    console.print(f"family [bold]{family.id}[/bold] created: {family.alias}")


@admin_app.command("person")
def add_person(
    name: Annotated[str, typer.Argument(help="First name or alias.")],
    role: Annotated[Role, typer.Option(help="parent, maatje, regisseur or coordinator.")],
    family: Annotated[str | None, typer.Option(help="Family id (parents only).")] = None,
    lang: Annotated[str, typer.Option(help="nl or en.")] = "nl",
) -> None:
    """Create a person with a role."""
    person = with_admin(lambda a: a.add_person(role, name, lang=lang, family_id=family))
    console.print(f"{person.role.value} [bold]{person.id}[/bold] created: {person.name}")


@admin_app.command("assign")
def assign(family: str, maatje: str) -> None:
    """Assign (or re-assign) a maatje to a family. Refused above the caseload limit."""
    fam = with_admin(lambda a: a.assign(family, maatje))
    console.print(f"{fam.alias} now has maatje {maatje}")


@admin_app.command("invite")
def invite(
    person: str,
    days: Annotated[int | None, typer.Option(help="Days until the link expires (default 7).")] = None,
) -> None:
    """Make a single-use invite link for a person."""
    _, expires, link = with_admin(lambda a: a.invite(person, days))
    console.print(f"invite link (single use, expires {expires:%Y-%m-%d %H:%M} UTC):")
    console.print(link, soft_wrap=True, highlight=False)


@admin_app.command("list")
def list_all() -> None:
    """Families and people, as tables."""

    async def load(a: Admin) -> tuple[list, list, dict]:
        d = a.directory
        families, people = await d.list_families(), await d.list_people()
        linked = {p.id: ", ".join(x.transport for x in await d.addresses_of(p.id)) for p in people}
        return families, people, linked

    families, people, linked = with_admin(load)
    names = {p.id: p.name for p in people}
    ft = Table("family", "alias", "maatje", title="Families")
    for f in families:
        ft.add_row(f.id, f.alias, names.get(f.maatje_id or "", "—"))
    pt = Table("person", "name", "role", "family", "lang", "linked", "paused", title="People")
    for p in people:
        pt.add_row(
            p.id, p.name, p.role.value, p.family_id or "", p.lang, linked[p.id] or "no", "yes" if p.paused else ""
        )
    console.print(ft, pt)


@app.command()
def status() -> None:
    """Queues at a glance: inbox backlog, outbox waiting, messages given up on."""

    async def load(store: Store, _: Settings) -> tuple[int, int, int, int]:
        from bot.store.escalations import EscalationStore

        overdue = await EscalationStore.of(store).counter("escalation_overdue")
        return (
            await store.inbox.backlog(),
            await store.outbox.pending_count(),
            await store.outbox.dead_count(),
            overdue,
        )

    backlog, pending, dead, overdue = with_store(load)
    table = Table("queue", "count", title="Naast status")
    table.add_row("inbox (events not yet handled)", str(backlog))
    table.add_row("outbox (waiting for delivery)", str(pending))
    table.add_row("dead (undeliverable, kept for inspection)", str(dead))
    table.add_row("escalation steps found > 60 s overdue (watchdog, ever)", str(overdue))
    console.print(table)


def _mount_subcommands() -> None:
    from bot.demo import demo_command
    from escalation.cli import escalations_app, oncall_app
    from nlu.cli import app as nlu_app

    app.add_typer(oncall_app, name="oncall", help="The on-call rota of regisseurs.")
    app.add_typer(escalations_app, name="escalations", help="Escalations: list, show, export, veiligheidskaart.")
    app.add_typer(nlu_app, name="nlu", help="Language understanding: parse, explain, eval, bench.")

    app.command("demo", help="A local playground: parent, maatje and regisseur side by side, no token needed.")(
        demo_command
    )


_mount_subcommands()


def main() -> None:
    app()


if __name__ == "__main__":
    main()
