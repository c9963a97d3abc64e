"""What every `naast` subcommand shares: the console, a red line instead of a traceback, and
"open the store, do one thing, close"."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import NoReturn, TypeVar

import typer
from rich.console import Console

from bot.config import Settings
from bot.errors import AdminError, ConfigError
from bot.store import Store

T = TypeVar("T")

console = Console()


def fail(message: str, code: int = 1) -> NoReturn:
    console.print(f"[red]{message}[/red]")
    raise typer.Exit(code)


def with_store(work: Callable[[Store, Settings], Awaitable[T]]) -> T:
    """Open the store (REDIS_URL or embedded), run one operation, close. Domain and configuration
    errors become one red line and exit code 1."""

    async def go() -> T:
        settings = Settings()
        store = await Store.open(settings)
        try:
            return await work(store, settings)
        finally:
            await store.close()

    try:
        return asyncio.run(go())
    except (AdminError, ConfigError) as exc:
        fail(str(exc))
