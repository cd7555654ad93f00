"""Redis pools for publishing, configured with the JSON serializer.

`ArqRedis` is re-exported so that code outside `libs.messaging` can name the pool's type
without importing the queue library: only this package knows which one it is.
"""

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings

__all__ = ["ArqRedis", "connect", "open_pool", "redis_settings"]

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


def open_pool(url: str) -> ArqRedis:
    """Return a pool that connects on first use, without waiting for Redis to answer.

    For the HTTP services: they must start, answer reads and take mentions while Redis is
    away (their health says not ready), and the pool connects when a command needs it.
    `connect` instead waits (ten tries a second apart) for the one-off commands that cannot
    do anything without Redis.
    """
    settings = redis_settings(url)
    pool = ArqRedis(
        host=settings.host,
        port=settings.port,
        unix_socket_path=settings.unix_socket_path,
        socket_connect_timeout=settings.conn_timeout,
        ssl=settings.ssl,
        ssl_keyfile=settings.ssl_keyfile,
        ssl_certfile=settings.ssl_certfile,
        ssl_cert_reqs=settings.ssl_cert_reqs,
        ssl_ca_certs=settings.ssl_ca_certs,
        ssl_ca_data=settings.ssl_ca_data,
        ssl_check_hostname=settings.ssl_check_hostname,
        max_connections=settings.max_connections,
        db=settings.database,
        username=settings.username,
        password=settings.password,
        encoding="utf8",
    )
    pool.job_serializer = serialization.dumps
    pool.job_deserializer = serialization.loads
    return pool
