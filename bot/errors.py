"""One root exception. Domain errors become kind user text at one boundary per update;
delivery errors tell the outbox whether to retry."""

from __future__ import annotations


class NaastError(Exception):
    """Root of every error Naast raises on purpose."""


class UserFacingError(NaastError):
    """A domain rule said no. `key` names a text in handlers.texts; `params` fill it in."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params


class AdminError(NaastError):
    """A coordinator's command cannot be carried out (shown as is on the command line)."""


class DeliveryError(NaastError):
    """A transport could not deliver; the outbox decides what happens next."""


class RetryLater(DeliveryError):
    """Transient: rate limited (retry_after from the server) or the network failed."""

    def __init__(self, retry_after: float | None = None, reason: str = "") -> None:
        super().__init__(reason or f"retry after {retry_after}s")
        self.retry_after = retry_after


class Undeliverable(DeliveryError):
    """Permanent: the user blocked the bot, the chat is gone, the request is malformed."""


class ConfigError(NaastError):
    """Start-up configuration is wrong; fail loudly."""
