"""What admins send to create and change people, and how each value is checked."""

import re

import strawberry
from strawberry import relay

from gateway.core.errors import InvalidInput
from gateway.people.types import ChatPlatform, PagingChannel

NAME_LIMIT = 200
VALUE_LIMIT = 200
MOST_CONTACTS = 10
MOST_HANDLES = 10
_PHONE = re.compile(r"^\+?[0-9][0-9 \-]{4,30}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


@strawberry.input(description="One way to page a person.")
class ContactInput:
    channel: PagingChannel
    value: str


@strawberry.input(description="A person's handle on a chat platform.")
class ChatHandleInput:
    platform: ChatPlatform
    handle: str


@strawberry.input(description="A new person of your organization.")
class CreatePersonInput:
    name: str
    contacts: list[ContactInput] = strawberry.field(default_factory=list)
    chat_handles: list[ChatHandleInput] = strawberry.field(default_factory=list)


@strawberry.input(description="Changes to a person; omitted fields stay as they are.")
class UpdatePersonInput:
    id: relay.GlobalID
    name: str | None = None
    contacts: list[ContactInput] | None = None
    chat_handles: list[ChatHandleInput] | None = None


@strawberry.input(description="The person who leaves.")
class DeactivatePersonInput:
    id: relay.GlobalID


def checked_name(name: str, field: str = "name") -> str | InvalidInput:
    """Return the name stripped, or why it cannot be stored."""
    name = name.strip()
    if not name or len(name) > NAME_LIMIT:
        return InvalidInput(message=f"`{field}` must be 1 to {NAME_LIMIT} characters.", field=field)
    return name


def checked_contacts(given: list[ContactInput]) -> list[dict[str, str]] | InvalidInput:
    """Return the contacts as stored, or the first one that cannot be used for paging."""
    if len(given) > MOST_CONTACTS:
        return InvalidInput(message=f"At most {MOST_CONTACTS} contacts.", field="contacts")
    stored = []
    for index, contact in enumerate(given):
        value = contact.value.strip()
        field = f"contacts[{index}].value"
        pattern = _EMAIL if contact.channel is PagingChannel.EMAIL else _PHONE
        if len(value) > VALUE_LIMIT or not pattern.match(value):
            what = "an email address" if contact.channel is PagingChannel.EMAIL else "a number"
            return InvalidInput(message=f"`{field}` must be {what}.", field=field)
        stored.append({"channel": contact.channel.value, "value": value})
    return stored


def checked_handles(given: list[ChatHandleInput]) -> list[dict[str, str]] | InvalidInput:
    """Return the chat handles as stored, or the first one that is blank or too long."""
    if len(given) > MOST_HANDLES:
        return InvalidInput(message=f"At most {MOST_HANDLES} chat handles.", field="chatHandles")
    stored = []
    for index, handle in enumerate(given):
        value = handle.handle.strip()
        if not value or len(value) > VALUE_LIMIT:
            field = f"chatHandles[{index}].handle"
            message = f"`{field}` must be 1 to {VALUE_LIMIT} characters."
            return InvalidInput(message=message, field=field)
        stored.append({"platform": handle.platform.value, "handle": value})
    return stored
