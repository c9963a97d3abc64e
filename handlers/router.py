"""Commands and button callbacks, registered by name in plain dicts."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from bot.domain import Inbound, Outbound, Person
from handlers.context import Context

# (event, person or None for strangers, argument text, context) -> messages
CommandHandler = Callable[[Inbound, Person | None, str, Context], Awaitable[list[Outbound]]]
# (event, person, data after the "prefix:", context) -> messages
CallbackHandler = Callable[[Inbound, Person, str, Context], Awaitable[list[Outbound]]]


# (event, person, context) -> messages: plain text from a regisseur or coordinator
StaffTextHandler = Callable[[Inbound, Person, Context], Awaitable[list[Outbound] | None]]


@dataclass
class Router:
    commands: dict[str, CommandHandler] = field(default_factory=dict)
    callbacks: dict[str, CallbackHandler] = field(default_factory=dict)
    # Tried in order on staff text; the first that returns a list (not None) answers it.
    staff_text: list[StaffTextHandler] = field(default_factory=list)

    def command(self, *names: str) -> Callable[[CommandHandler], CommandHandler]:
        def register(fn: CommandHandler) -> CommandHandler:
            for name in names:
                self.commands[name] = fn
            return fn

        return register

    def callback(self, prefix: str) -> Callable[[CallbackHandler], CallbackHandler]:
        def register(fn: CallbackHandler) -> CallbackHandler:
            self.callbacks[prefix] = fn
            return fn

        return register
