"""Sealed on the queue: names, contacts and secrets cross Redis only as ciphertext.

arq keeps a job's arguments in Redis until it is done, repeats them in its result, and
Redis writes both to its append-only file on disk; a message that fails is kept as a dead
letter with its payload. So a field a contract marks `SEALED` (an affected user's name and
contact, a chat bot's signing secret) is encrypted by the sender under the data key and
opened by the consumer's harness just before the message is validated, and a value an
answer shows once (`CommandResult.once`: a new webhook secret) is encrypted by the harness
and opened by the sender that waits for it. Each ciphertext is AES-GCM bound to its
organization, its message and its place in it, so it opens nowhere else.

The values travel inside the message rather than by reference (a short-lived encrypted row
the command would name) because then a value lives exactly as long as its message: there
is no second place to prune or to lose between sending and handling, the gateway writes no
table, and a dead letter re-driven days later still carries everything it needs.
"""

import base64
import binascii
import uuid
from collections.abc import Mapping
from typing import Any

from libs.contracts.messages import Command, CommandResult, Message
from libs.privacy import DataKey, DecryptionError, decrypt, encrypt
from libs.settings import Settings

_CONTEXT = b"crisiswatch:sealed:"


class SealingError(ValueError):
    """A sealed value could not be made or opened: no data key, another key, or altered.

    `field` names the message field or answer value concerned, as the contract spells it;
    `answered` says the command was applied and only its answer could not be opened.
    """

    def __init__(self, message: str, field: str | None = None, *, answered: bool = False) -> None:
        super().__init__(message)
        self.field = field
        self.answered = answered


def key_from(settings: Settings) -> DataKey | None:
    """Return the process's data key, or None when CRISISWATCH_DATA_KEY is not set."""
    if not settings.data_key or not settings.data_key.strip():
        return None
    return DataKey.from_settings(settings)


def seal_message(message: Message, key: DataKey | None) -> dict[str, Any]:
    """Return `message` as the JSON queued for it, its `SEALED` fields encrypted.

    Refuses (`SealingError`) to queue a sealed value without a key rather than send it clear.
    """
    payload = message.model_dump(mode="json")
    fields = [name for name in type(message).sealed_fields() if payload.get(name) is not None]
    if not fields:
        return payload
    if key is None:
        raise SealingError(
            f"{fields[0]} is never queued in clear and CRISISWATCH_DATA_KEY is not set",
            fields[0],
        )
    for name in fields:
        context = _context(message.organization_id, message.message_id, message, "field", name)
        payload[name] = _seal(key, str(payload[name]), context)
    return payload


def open_payload(
    message_type: type[Message], payload: Mapping[str, Any], key: DataKey | None
) -> dict[str, Any]:
    """Return a queued payload with its `SEALED` fields opened, ready to validate."""
    opened = dict(payload)
    fields = [name for name in message_type.sealed_fields() if opened.get(name) is not None]
    if not fields:
        return opened
    if key is None:
        raise SealingError(
            f"{fields[0]} is sealed and this process has no CRISISWATCH_DATA_KEY to open it",
            fields[0],
        )
    try:
        organization_id = uuid.UUID(str(opened["organization_id"]))
        message_id = uuid.UUID(str(opened["message_id"]))
    except (KeyError, ValueError) as error:
        raise SealingError("a sealed message needs its organization_id and message_id") from error
    for name in fields:
        context = _context(organization_id, message_id, message_type, "field", name)
        opened[name] = _open(key, opened[name], context, name)
    return opened


def seal_answer(answer: dict[str, Any], message: Command, key: DataKey | None) -> dict[str, Any]:
    """Return a command's answer for its waiting sender, each `once` value sealed.

    Without a key nothing is shown: the values are listed in `withheld` instead.
    """
    once: dict[str, Any] = answer.get("once") or {}
    if not once:
        return answer
    if key is None:
        return withhold(answer)
    sealed = {
        name: _seal(key, str(value), _answer_context(message, name)) for name, value in once.items()
    }
    return {**answer, "once": sealed}


def withhold(answer: dict[str, Any]) -> dict[str, Any]:
    """Return `answer` without its `once` values, naming them in `withheld` (what is kept)."""
    once: dict[str, Any] = answer.get("once") or {}
    if not once:
        return answer
    withheld = sorted({*answer.get("withheld", []), *once})
    return {**answer, "once": {}, "withheld": withheld}


def open_answer(result: CommandResult, command: Command, key: DataKey | None) -> CommandResult:
    """Return the answer `command` got, its `once` values opened for the sender."""
    if not result.once:
        return result
    if key is None:
        name = next(iter(result.once))
        raise SealingError(
            f"the answer's {name} is sealed and this process has no CRISISWATCH_DATA_KEY to "
            "open it",
            name,
            answered=True,
        )
    try:
        opened = {
            name: _open(key, value, _answer_context(command, name), name)
            for name, value in result.once.items()
        }
    except SealingError as error:
        raise SealingError(str(error), error.field, answered=True) from error
    return result.model_copy(update={"once": opened})


def _answer_context(command: Message, name: str) -> bytes:
    return _context(command.organization_id, command.message_id, type(command), "answer", name)


def _context(
    organization_id: uuid.UUID,
    message_id: uuid.UUID,
    message: Message | type[Message],
    part: str,
    name: str,
) -> bytes:
    place = f"{message.job_name()}:{part}:{name}".encode()
    return _CONTEXT + organization_id.bytes + message_id.bytes + place


def _seal(key: DataKey, text: str, context: bytes) -> str:
    return base64.b64encode(encrypt(key, text, context)).decode("ascii")


def _open(key: DataKey, value: object, context: bytes, name: str) -> str:
    if not isinstance(value, str):
        raise SealingError(f"{name} is not a sealed value", name)
    try:
        return decrypt(key, base64.b64decode(value, validate=True), context)
    except (binascii.Error, ValueError, DecryptionError) as error:
        raise SealingError(
            f"{name} does not open: not sealed, altered, moved, or sealed under another key",
            name,
        ) from error
