"""Who a unit of work acts for: the key that sent a command and the person it acts for.

The queue harness marks a command's session with its sender (`act_for`) before the handler
runs, so whatever the handler writes in that session (a timeline event, an audit entry)
names the same person and key without every rule passing them along. A session nobody
marked (a signal from analysis, a deadline sweep) acts for the system.
"""

import uuid
from dataclasses import dataclass

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import Command

SYSTEM = "system"
KEY_ACTOR_PREFIX = "api_key:"
_INFO_KEY = "crisiswatch.acting"


@dataclass(frozen=True)
class Acting:
    """The sender of a change: how timelines name it, its key and its person (if any)."""

    actor: str
    key_id: uuid.UUID | None = None
    person_id: uuid.UUID | None = None

    @classmethod
    def of(cls, command: Command) -> "Acting":
        """Return who sent `command`."""
        return cls(command.actor, key_of(command.actor), command.acting_person_id)


SYSTEM_ACTING = Acting(SYSTEM)


def key_of(actor: str) -> uuid.UUID | None:
    """Return the key id an `api_key:<id>` actor names, or None for any other actor."""
    if not actor.startswith(KEY_ACTOR_PREFIX):
        return None
    try:
        return uuid.UUID(actor.removeprefix(KEY_ACTOR_PREFIX))
    except ValueError:
        return None


def act_for(session: AsyncSession, acting: Acting) -> None:
    """Mark `session` as acting for `acting` until it closes."""
    session.info[_INFO_KEY] = acting


def acting(session: AsyncSession) -> Acting:
    """Return who `session` acts for; the system unless a command's sender marked it."""
    found = session.info.get(_INFO_KEY)
    return found if isinstance(found, Acting) else SYSTEM_ACTING


def person_for(session: AsyncSession, actor: str) -> uuid.UUID | None:
    """Return the person behind `actor` in this session: the marked sender's person when
    `actor` is that sender, else None (the system, or another actor named on purpose)."""
    marked = acting(session)
    return marked.person_id if actor == marked.actor else None
