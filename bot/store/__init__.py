"""Storage: the only package that talks to Redis."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from bot.config import Settings
from bot.errors import ConfigError
from bot.store.codec import Codec
from bot.store.directory import Directory
from bot.store.embedded import EmbeddedRedis
from bot.store.keys import Keys
from bot.store.queues import Inbox, Outbox

log = logging.getLogger(__name__)


@dataclass
class Store:
    redis: Redis
    codec: Codec
    keys: Keys
    directory: Directory
    inbox: Inbox
    outbox: Outbox
    embedded: EmbeddedRedis | None = None

    @classmethod
    def from_redis(cls, redis: Redis, codec: Codec, prefix: str = "naast") -> Store:
        keys = Keys(prefix)
        return cls(
            redis=redis,
            codec=codec,
            keys=keys,
            directory=Directory(redis, codec, keys),
            inbox=Inbox(redis, codec, keys),
            outbox=Outbox(redis, codec, keys),
        )

    @classmethod
    async def open(cls, settings: Settings) -> Store:
        """Connect to REDIS_URL, or start the embedded server. Fails loudly when Redis is down."""
        embedded = None
        if settings.redis_url:
            redis = Redis.from_url(settings.redis_url)
            where = "REDIS_URL"
        else:
            embedded = EmbeddedRedis(settings.data_dir)
            redis = Redis(unix_socket_path=embedded.socket_path)
            where = "embedded redis"
        try:
            await redis.ping()
        except (RedisConnectionError, OSError) as exc:
            await redis.aclose()
            raise ConfigError(f"cannot reach {where}: {exc}") from exc
        if settings.data_key is not None:
            codec = Codec(settings.data_key.get_secret_value())
        else:
            codec = Codec.from_key_file(settings.data_dir)
        store = cls.from_redis(redis, codec, settings.key_prefix)
        store.embedded = embedded
        return store

    async def wipe(self) -> int:
        """Delete every key under this store's prefix (the demo's reset). The inbox stream is only
        emptied, so its consumer group, which a running app is blocked reading from, survives."""
        inbox = self.keys.inbox().encode()
        doomed = [k async for k in self.redis.scan_iter(match=f"{self.keys.prefix}:*", count=1000) if k != inbox]
        for i in range(0, len(doomed), 500):
            await self.redis.delete(*doomed[i : i + 500])
        await self.redis.xtrim(self.keys.inbox(), maxlen=0, approximate=False)
        return len(doomed)

    async def close(self) -> None:
        await self.redis.aclose()
        if self.embedded is not None:
            self.embedded.shutdown()
