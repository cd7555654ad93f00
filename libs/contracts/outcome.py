"""The one shape every service handler answers with, whatever called it.

An HTTP route, a queue job and a periodic loop all call a service function and get an
`Outcome` back: the messages to emit once the caller's transaction commits and, for a
command whose sender waits, its answer. Keeping one shape means one helper
(`libs.messaging.unit_of_work`) can commit, publish and announce for every entry point.
"""

from collections.abc import Sequence
from dataclasses import dataclass

from libs.contracts.messages import CommandResult, Message


@dataclass(frozen=True)
class Outcome:
    """What a handler did: messages to emit after commit and, for commands, the answer."""

    messages: Sequence[Message] = ()
    result: CommandResult | None = None

    @classmethod
    def answer(cls, result: CommandResult, messages: Sequence[Message] = ()) -> "Outcome":
        """Answer a command, emitting `messages` once the change commits."""
        return cls(messages=tuple(messages), result=result)

    @classmethod
    def emit(cls, *messages: Message) -> "Outcome":
        """Emit `messages` once the change commits; nobody waits for an answer."""
        return cls(messages=messages)
