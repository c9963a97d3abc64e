"""Safety escalation: when a parent's message signals danger, the regisseur on call is alerted at
once, with acknowledgement, timeouts and a fallback chain.

Pure parts: `rota` (who is on call when), `chain` (steps, timeouts, repeat), `model` (types),
`texts`. Parts with I/O go through `bot.store.escalations` only: `service` (raise, attach,
acknowledge, resolve), `timers` (due steps in a Redis sorted set), `audit`, `watchdog`.
`wiring.install(app)` connects it all to the bot; `cli` is `naast oncall` and `naast escalations`.

Nothing is imported here on purpose: importing the package has no side effects.
"""
