"""The notify worker on the real queue: commands answered, events fanned out once, sent."""

import json
import uuid
from datetime import UTC, datetime

from arq.connections import ArqRedis
from arq.jobs import Job

from libs.contracts.messages import EVENTS_QUEUE, Command, CommandResult, Message
from libs.messaging.publisher import publish
from libs.messaging.sealing import key_from, open_answer
from libs.privacy import DataKey, generate_key
from libs.settings import Settings
from services.notify.config import NotifySettings
from services.notify.tests.builders import (
    PUBLIC,
    Receiver,
    create_command,
    deliveries_of,
    event,
    organization,
    verifies,
)
from services.notify.tests.network import NETWORK, network_client
from services.notify.worker import create_worker, dispatch_once
from tests.builders import Sessions
from tests.fixtures.servers import Servers


async def _run(redis: ArqRedis, settings: Settings, *messages: Message) -> list[CommandResult]:
    """Queue `messages`, run the worker until the queue is empty, return command answers.

    Only a command's answer is kept in Redis; what it shows once is opened with the key.
    """
    key = key_from(settings)
    for message in messages:
        await publish(redis, message, key=key)
    worker = create_worker(settings, burst=True, handle_signals=False)
    await worker.main()
    await worker.close()
    answers = []
    for message in messages:
        if not isinstance(message, Command):
            continue
        job = Job(
            str(message.message_id),
            redis,
            _queue_name=EVENTS_QUEUE,
            _deserializer=redis.job_deserializer,
        )
        raw = await job.result(timeout=5)
        answers.append(open_answer(CommandResult.model_validate(raw), message, key))
    return answers


async def test_endpoints_are_managed_and_events_delivered_through_the_queue(
    servers: Servers, sessions: Sessions, redis: ArqRedis, receiver: Receiver
) -> None:
    data_key = generate_key()
    settings = NotifySettings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=data_key,
        console_url="https://console.example.com/incidents/{incident_id}",
        webhook_private_cidrs="10.77.0.0/24",  # the test network the receiver is on
    )
    org = await organization(sessions)
    [created] = await _run(
        redis,
        settings,
        create_command(org, receiver.url("queue")),
    )
    assert created.ok, created.error
    secret = created.once["secret"]
    now = datetime.now(UTC)
    message = event(org, occurred_at=now)
    again = message.model_copy(update={"message_id": uuid.uuid4()})

    assert await _run(redis, settings, message, again) == []
    # The worker stamped the deliveries due at its own clock, which has moved on since.
    async with network_client() as client:
        sent = await dispatch_once(
            sessions,
            DataKey.from_base64(data_key),
            now=datetime.now(UTC),
            client=client,
            private=NETWORK,
        )

    assert sent == 1
    [request] = receiver.on("queue")
    assert verifies(secret, request)
    incident = json.loads(request.body)["data"]["incident"]
    assert incident["console_url"] == f"https://console.example.com/incidents/{message.incident_id}"
    assert incident["watchlist"]["name"] == "奶粉"
    endpoint_id = uuid.UUID(created.data["endpoint"]["id"])
    [delivery] = await deliveries_of(sessions, endpoint_id)
    assert delivery.status == "succeeded"


async def test_endpoints_cannot_be_created_without_a_data_key(
    servers: Servers, sessions: Sessions, redis: ArqRedis
) -> None:
    # The command line hands every worker the shared settings.
    settings = Settings(
        database_url=servers.database_url, redis_url=servers.redis_url, data_key=None
    )
    org = await organization(sessions)
    [refused] = await _run(
        redis,
        settings,
        create_command(org, PUBLIC),
    )
    assert refused.error is not None
    assert refused.error.code == "Invalid"
    assert "CRISISWATCH_DATA_KEY is not set" in refused.error.message
