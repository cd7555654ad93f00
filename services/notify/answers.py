"""How notify answers a command that stores a secret: refused clearly without the data key.

An endpoint command looks its rows up and checks its destination before its own rule; those
shared steps raise `Refused` (`libs.contracts.refusals`) instead of returning their refusal,
so each handler reads as its rule, and the façade declares each command once through
`answering`, or `answering_with_key` here when the command needs the key.
"""

from collections.abc import Awaitable, Callable
from typing import Concatenate, ParamSpec, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.privacy import DataKey

C = TypeVar("C")
P = ParamSpec("P")


def answering_with_key(
    handler: Callable[Concatenate[AsyncSession, C, DataKey, P], Awaitable[CommandResult]],
    action: str,
) -> Callable[Concatenate[AsyncSession, C, DataKey | None, P], Awaitable[Outcome]]:
    """As `answering`, for a command that stores a secret; refused clearly without the key."""
    answered = answering(handler)

    async def answer(
        session: AsyncSession, command: C, key: DataKey | None, /, *args: P.args, **kwargs: P.kwargs
    ) -> Outcome:
        if key is None:
            return _no_key(action)
        return await answered(session, command, key, *args, **kwargs)

    return answer


def _no_key(action: str) -> Outcome:
    # Secrets are only ever stored encrypted; without the key there is nowhere to put them.
    return Outcome.answer(
        CommandResult.failure(
            ErrorCode.INVALID,
            f"{action}: CRISISWATCH_DATA_KEY is not set, so secrets cannot be stored",
        )
    )
