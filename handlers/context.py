"""What handlers get to work with: ports, not connections."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from bot.domain import Address, Button, Clock, Family, Inbound, Outbound, Person

if TYPE_CHECKING:
    from bot.store.directory import Directory


@dataclass(frozen=True)
class Rules:
    max_families_per_maatje: int = 3
    pending_choice_minutes: int = 60
    max_text_chars: int = 4000


class NluPort(Protocol):
    async def parse(self, text: str, lang: str | None = None) -> Any: ...


@dataclass(frozen=True)
class HookOutcome:
    """What a parent-message hook adds: messages to send now, and a line for the maatje's copy."""

    messages: tuple[Outbound, ...] = ()
    note_for_maatje: str | None = None
    escalated: bool = False
    relay: bool = True  # False: the hook answered fully and the text must not reach the maatje


ParentHook = Callable[[Inbound, Person, Family, Any, "Context"], Awaitable[HookOutcome]]


@dataclass
class Context:
    directory: Directory
    clock: Clock
    rules: Rules = field(default_factory=Rules)
    nlu: NluPort | None = None
    # Run in order on every parent text, with the NLU result (None without NLU). Safety first.
    parent_hooks: list[ParentHook] = field(default_factory=list)
    # Free-form services other packages add (e.g. "escalation"); handlers look them up by name.
    services: dict[str, Any] = field(default_factory=dict)


def reply(event: Inbound, text: str, buttons: tuple[tuple[Button, ...], ...] = ()) -> Outbound:
    return Outbound(to=event.chat, text=text, buttons=buttons)


async def to_person(ctx: Context, person: Person, text: str = "", **kw: Any) -> list[Outbound]:
    """One message for every address the person has (Telegram, the web playground...)."""
    addrs: list[Address] = await ctx.directory.addresses_of(person.id)
    return [Outbound(to=a, text=text, **kw) for a in addrs]
