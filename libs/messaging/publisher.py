"""Sending messages: fire-and-forget events and commands whose result is awaited."""

from datetime import timedelta

from arq.connections import ArqRedis
from arq.constants import result_key_prefix
from arq.jobs import Job, JobStatus, ResultNotFound, SerializationError

from libs.contracts.messages import Command, CommandResult, Message
from libs.messaging import fairness
from libs.messaging.failures import is_transient
from libs.messaging.sealing import open_answer, seal_message
from libs.privacy import DataKey
from libs.tracing.propagation import producing


class CommandTimeout(Exception):
    """The owning service did not answer in time; the command may still be applied later."""


class CommandNotSent(Exception):
    """Redis did not take the command: nothing was queued, so sending it again is safe."""


# How long a queued job is kept: arq's default is a day, after which a job still waiting
# out an outage would vanish. Receipts are kept a week too (`libs.messaging.retention`).
EVENT_EXPIRY = timedelta(days=7)


async def enqueue(
    redis: ArqRedis,
    queue: str,
    job_name: str,
    message_id: str,
    payload: dict[str, object],
    *,
    expires: timedelta = EVENT_EXPIRY,
) -> bool:
    """Queue one job at its organization's fair place; return False when its id is already
    queued or answered.

    The message id is the job id, so a second publish is a no-op in Redis too, and does not
    move the job (`libs.messaging.fairness`).
    """
    job = await redis.enqueue_job(
        job_name, payload, _job_id=message_id, _queue_name=queue, _expires=expires
    )
    if job is None:
        return False
    await fairness.place(redis, queue, message_id, payload)
    return True


async def requeue(
    redis: ArqRedis, queue: str, job_name: str, message_id: str, payload: dict[str, object]
) -> bool:
    """Queue a finished job again under its own id; return False if it is already queued.

    arq keeps a finished job's result under its id and refuses the id while it does; the
    result being replaced is a failure or a loss, so it goes first.
    """
    await redis.delete(result_key_prefix + message_id)
    return await enqueue(redis, queue, job_name, message_id, payload)


async def publish(redis: ArqRedis, message: Message, *, key: DataKey | None = None) -> None:
    """Queue a message on its consumer's queue, stamped with the current trace if traced,
    its sealed fields encrypted under `key`.

    A message with a sealed value and no key is refused (`SealingError`), never sent clear.
    """
    with producing(message, queue=message.QUEUE) as stamped:
        await enqueue(
            redis,
            stamped.QUEUE,
            stamped.job_name(),
            str(stamped.message_id),
            seal_message(stamped, key),
        )


async def call(
    redis: ArqRedis, command: Command, *, timeout: float, key: DataKey | None = None
) -> CommandResult:
    """Send a command and wait for the owning service's answer.

    A command the service does not answer in time stays queued: the caller is told the
    change may still be applied later, and it is, once the service is back. A command Redis
    would not take is `CommandNotSent`; losing Redis after it was queued is a
    `CommandTimeout`, since the queued command may still be applied. `key` seals the
    command's sealed fields and opens what the answer shows once (`libs.messaging.sealing`).
    """
    try:
        await publish(redis, command, key=key)
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise CommandNotSent(f"{command.job_name()} could not be queued: {exc}") from exc
    job = Job(
        str(command.message_id),
        redis,
        _queue_name=command.QUEUE,
        _deserializer=redis.job_deserializer,
    )
    try:
        raw = await job.result(timeout=timeout, poll_delay=0.01)
    except TimeoutError as exc:
        raise CommandTimeout(f"{command.job_name()} got no answer in {timeout:.0f} s") from exc
    except SerializationError:
        # The handler raised and arq stored its exception, which JSON cannot carry back.
        return CommandResult.failure("Internal", f"{command.job_name()} failed in its service")
    except ResultNotFound as exc:
        # The job vanished from Redis (flushed or expired) before answering.
        raise CommandTimeout(f"{command.job_name()} was lost before it was answered") from exc
    except Exception as exc:
        if not is_transient(exc):
            raise
        raise CommandTimeout(f"{command.job_name()}: Redis went away while waiting") from exc
    return open_answer(CommandResult.model_validate(raw), command, key)


async def job_status(redis: ArqRedis, queue: str, message_id: str) -> JobStatus:
    """Return where a published message is (queued, in progress, complete, not found)."""
    job = Job(message_id, redis, _queue_name=queue, _deserializer=redis.job_deserializer)
    return await job.status()
