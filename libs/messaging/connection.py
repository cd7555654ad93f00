"""Redis pools for publishing, configured with the JSON serializer.

`ArqRedis` is re-exported so that code outside `libs.messaging` can name the pool's type
without importing the queue library: only this package knows which one it is.
"""

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

__all__ = ["ArqRedis", "connect", "redis_settings"]

from libs.messaging import serialization


def redis_settings(url: str) -> RedisSettings:
    """Translate REDIS_URL (redis://, rediss:// or unix://) into arq settings."""
    settings = RedisSettings.from_dsn(url)
    settings.conn_timeout = 5
    settings.conn_retries = 10
    return settings


async def connect(url: str) -> ArqRedis:
    """Open a pool that serializes jobs as JSON."""
    return await create_pool(
        redis_settings(url),
        job_serializer=serialization.dumps,
        job_deserializer=serialization.loads,
    )
