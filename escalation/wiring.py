"""`install(app)`: the escalation's commands, buttons, parent hook, note handler and tickers."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from bot.store.escalations import EscalationStore
from escalation import handlers
from escalation.chain import ChainPolicy
from escalation.service import EscalationService
from escalation.watchdog import Watchdog

if TYPE_CHECKING:
    from bot.app import App


def policy_from(settings: object) -> ChainPolicy:
    """Step timeouts from settings when present (escalation_acute_minutes, escalation_concern_minutes,
    escalation_repeat_minutes), else the defaults: 5, 60 and 5 minutes."""
    d = ChainPolicy()

    def minutes(name: str, default: timedelta) -> timedelta:
        value = getattr(settings, name, None)
        return timedelta(minutes=float(value)) if value else default

    return ChainPolicy(
        acute_timeout=minutes("escalation_acute_minutes", d.acute_timeout),
        concern_timeout=minutes("escalation_concern_minutes", d.concern_timeout),
        repeat_every=minutes("escalation_repeat_minutes", d.repeat_every),
    )


def install(app: App, policy: ChainPolicy | None = None) -> EscalationService:
    """Connect the escalation to an App. Installing twice changes nothing."""
    existing = app.ctx.services.get("escalation")
    if existing is not None:
        return existing
    store = EscalationStore.of(app.store)
    svc = EscalationService(
        store,
        app.store.directory,
        app.clock,
        app.enqueue,
        policy or policy_from(app.settings),
    )
    watchdog = Watchdog(store)
    app.ctx.services["escalation"] = svc
    app.ctx.parent_hooks.insert(0, handlers.safety_hook)  # safety first
    app.router.command("hulp", "sos")(handlers.handle_hulp)
    app.router.command("escaleer", "escalate")(handlers.handle_escalate)
    app.router.callback("esc")(handlers.handle_callback)
    app.router.staff_text.insert(0, handlers.handle_note_text)

    async def escalation_timers() -> int:
        return await svc.run_due(app.clock.now())

    async def escalation_watchdog() -> int:
        await watchdog.check(app.clock.now())
        return 0  # reporting is not work that needs another round of App.drain

    app.tickers += [escalation_timers, escalation_watchdog]
    return svc
