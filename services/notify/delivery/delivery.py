"""One delivery attempt: build the signed request, send it, and say what came back.

Standard endpoints get the Standard Webhooks request: a JSON body of type, timestamp and
data, with `webhook-id` (the event id, the same on every retry so receivers can drop
repeats), `webhook-timestamp` and `webhook-signature` (one `v1,` HMAC-SHA256 per signing
secret). Chat bots get whatever their platform expects, rendered by `chat.render`, and
their answer is judged by `chat.failure_reason` (they say "no" with HTTP 200). The
destination is checked again right before sending, redirects are never followed (a 3xx is
a failure, not a way around the address check), and only the start of an answer is read.

What the delivery log keeps of an answer is its status code and a reason of our own words
("receiver answered 500"), never the receiver's text: the log is read back by the
organization, and a receiver's body echoed there would make every delivery a way to read
pages of whatever the URL reached.

The request goes to the very addresses that check resolved and approved, not to the host
name (see `destinations.pin`): the URL carries the address, while the `Host` header, the
TLS server name (SNI) and the certificate check use the configured host, through
httpx's documented `sni_hostname` request extension. Connections are not kept alive, so
a TLS connection verified for one host is never reused for another host at the same
address.
"""

import asyncio
import json
import logging
import ssl
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import httpx
from pydantic import ValidationError

from libs.contracts.enums import EndpointKind, EventType
from libs.contracts.response import IntegrationEventEmitted
from libs.privacy import mask_text
from services.notify.chat import chat
from services.notify.endpoints import webhook_secrets
from services.notify.endpoints.destinations import (
    NO_PRIVATE_NETWORKS,
    DestinationError,
    PrivateNetworks,
    Resolver,
    pin,
    resolve,
)

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10.0
USER_AGENT = "crisiswatch-webhooks/1"
# Enough of an answer for a chat platform's verdict (`{"errcode": 0}`), never a whole page.
ANSWER_BYTES = 2048
ERROR_CHARS = 500


@dataclass(frozen=True)
class Attempt:
    """A claimed delivery with everything needed to send it outside any transaction."""

    delivery_id: uuid.UUID
    organization_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    kind: str
    url: str
    body: dict[str, Any]
    secrets: list[str] = field(repr=False)
    lease: datetime
    problem: str | None = None


@dataclass(frozen=True)
class Answer:
    """What one attempt got: a status code, an error, or both."""

    status_code: int | None = None
    error: str | None = None

    @property
    def succeeded(self) -> bool:
        """Return whether the receiver took the event."""
        return self.error is None and self.status_code is not None and self.status_code < 300

    @property
    def gone(self) -> bool:
        """Return whether the receiver said never to send again (410 Gone)."""
        return self.status_code == 410


def new_client(
    *,
    timeout: float = TIMEOUT_SECONDS,
    verify: ssl.SSLContext | bool = True,
    transport: httpx.AsyncBaseTransport | None = None,
) -> httpx.AsyncClient:
    """Return the HTTP client deliveries use: no redirects, no proxies from env, no keep-alive.

    `timeout` (10 s) bounds each phase of a request; `verify` is for tests with their own
    certificate authority, `transport` for tests that carry connections to local receivers
    (it then makes its own connections, `verify` included).
    """
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout),
        follow_redirects=False,
        trust_env=False,
        verify=verify,
        limits=httpx.Limits(max_keepalive_connections=0),
        headers={"user-agent": USER_AGENT},
        transport=transport,
    )


def encode(body: Mapping[str, Any]) -> str:
    """Return the exact JSON text that is signed and sent."""
    return json.dumps(body, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def standard_request(attempt: Attempt, now: datetime) -> tuple[str, dict[str, str], str]:
    """Return the URL, headers and body of a Standard Webhooks request signed at `now`."""
    payload = encode(attempt.body)
    msg_id = str(attempt.event_id)
    header, signed_at = webhook_secrets.webhook_timestamp(now)
    headers = {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": header,
        "webhook-signature": webhook_secrets.signature_header(
            attempt.secrets, msg_id, signed_at, payload
        ),
    }
    return attempt.url, headers, payload


def event_of(attempt: Attempt) -> IntegrationEventEmitted:
    """Rebuild the (masked) event a delivery carries, for chat rendering."""
    data = attempt.body.get("data", {})
    incident_id: uuid.UUID | None = None
    raw_incident = data.get("incident_id") if isinstance(data, dict) else None
    if isinstance(raw_incident, str):
        try:
            incident_id = uuid.UUID(raw_incident)
        except ValueError:
            incident_id = None
    payload = data if isinstance(data, dict) else {}

    def rebuilt(payload: dict[str, Any]) -> IntegrationEventEmitted:
        return IntegrationEventEmitted(
            organization_id=attempt.organization_id,
            event_id=attempt.event_id,
            type=EventType(attempt.event_type),
            incident_id=incident_id,
            occurred_at=datetime.fromisoformat(str(attempt.body["timestamp"])),
            payload=payload,
        )

    try:
        return rebuilt(payload)
    except ValidationError:
        # A summary this version cannot read still leaves the event's own fields to show.
        return rebuilt({key: value for key, value in payload.items() if key != "incident"})


async def send(
    client: httpx.AsyncClient,
    attempt: Attempt,
    *,
    now: datetime,
    console_url: str | None = None,
    private: PrivateNetworks = NO_PRIVATE_NETWORKS,
    resolve: Resolver = resolve,
) -> Answer:
    """Make one attempt and return its answer; never raises for the receiver's faults.

    `resolve` looks the host up, once per attempt; the request then goes to the addresses
    it returned and passed the check (`private` being the operator's networks), in their
    order, the next one only if connecting fails.
    """
    if attempt.problem is not None:
        return Answer(error=attempt.problem)
    try:
        url, headers, content = _request(attempt, now, console_url)
    except _CannotSend as error:
        return Answer(error=str(error))
    except Exception as error:
        # A stored delivery that cannot be built (an event type or payload this version
        # does not know) is answered as a failure and retried on schedule, instead of
        # escaping and aborting the dispatcher's whole pass, over and over.
        log.exception("building delivery %s failed", attempt.delivery_id)
        return Answer(error=_clip(f"cannot build the request: {type(error).__name__}: {error}"))
    try:
        destination = await pin(url, private=private, resolve=resolve)
    except DestinationError as error:
        return Answer(error=str(error))
    target = httpx.URL(url)
    headers = {**headers, "host": target.netloc.decode("ascii")}
    extensions = {"sni_hostname": target.raw_host.decode("ascii")}
    failures: list[str] = []
    try:
        # httpx's timeout is per read; this bounds a receiver that answers a byte at a time.
        async with asyncio.timeout(TIMEOUT_SECONDS):
            for address in destination.addresses:
                try:
                    async with client.stream(
                        "POST",
                        target.copy_with(host=str(address)),
                        content=content.encode("utf-8"),
                        headers=headers,
                        extensions=extensions,
                        follow_redirects=False,
                    ) as response:
                        start = await _read_start(response)
                except (httpx.ConnectError, httpx.ConnectTimeout) as error:
                    # The local network stack's words (refused, unreachable, certificate),
                    # not the address: which one a name resolved to stays unsaid.
                    failures.append(f"{type(error).__name__}: {error}")
                    continue
                return _judge(attempt, response.status_code, start)
    except (httpx.TimeoutException, TimeoutError):
        return Answer(error=f"no answer within {TIMEOUT_SECONDS:.0f} s")
    except httpx.HTTPError as error:
        # Only the kind: a protocol error's message can quote the bytes the receiver sent.
        return Answer(error=f"the answer could not be read ({type(error).__name__})")
    tried = "; ".join(dict.fromkeys(failures))
    return Answer(error=_clip(f"cannot connect to {destination.host}: {tried}"))


class _CannotSend(Exception):
    """The request cannot be built (no secret, no chat renderer)."""


def _request(
    attempt: Attempt, now: datetime, console_url: str | None
) -> tuple[str, dict[str, str], str]:
    if attempt.kind == EndpointKind.STANDARD.value:
        if not attempt.secrets:
            raise _CannotSend("the endpoint has no signing secret")
        return standard_request(attempt, now)
    # Rendered again on every attempt: DingTalk and Feishu signatures expire after an hour.
    rendered = chat.render(
        EndpointKind(attempt.kind),
        attempt.url,
        attempt.secrets[0] if attempt.secrets else None,
        event_of(attempt),
        now,
        console_url=console_url,
    )
    return rendered.url, dict(rendered.headers), encode(rendered.json_body)


async def _read_start(response: httpx.Response) -> bytes:
    start = b""
    async for chunk in response.aiter_bytes():
        start += chunk
        if len(start) >= ANSWER_BYTES:
            break
    return start[:ANSWER_BYTES]


def _judge(attempt: Attempt, status: int, start: bytes) -> Answer:
    """Return the answer to record: the status and a reason in our words, no body text."""
    if attempt.kind != EndpointKind.STANDARD.value:
        refusal = chat.failure_reason(EndpointKind(attempt.kind), status, start)
        return Answer(status_code=status, error=refusal)
    if 200 <= status < 300:
        return Answer(status_code=status)
    return Answer(status_code=status, error=chat.status_reason(status))


def _clip(text: str) -> str:
    masked = mask_text(text)
    return masked if len(masked) <= ERROR_CHARS else masked[: ERROR_CHARS - 1] + "…"
