"""How notify answers a command that stores a secret: refused clearly without the data key.

An endpoint command looks its rows up and checks its destination before its own rule; those
shared steps raise `Refused` (`libs.contracts.refusals`) instead of returning their refusal,
so each handler reads as its rule, and the façade declares each command once through
`answering`, or `answering_with_key` here when the command needs the key.
"""

from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.privacy import DataKey

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)
K_contra = TypeVar("K_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class _KeyedHandler(Protocol[C_contra, K_contra, R_co]):
    def __call__(
        self, session: AsyncSession, command: C_contra, key: K_contra, /, *, now: datetime
    ) -> Awaitable[R_co]: ...


def answering_with_key(
    handler: _KeyedHandler[C, DataKey, CommandResult], action: str
) -> _KeyedHandler[C, DataKey | None, Outcome]:
    """As `answering`, for a command that stores a secret; refused clearly without the key."""
    answered = answering(handler)

    async def answer(
        session: AsyncSession, command: C, key: DataKey | None, /, *, now: datetime
    ) -> Outcome:
        if key is None:
            return _no_key(action)
        return await answered(session, command, key, now=now)

    return answer


def _no_key(action: str) -> Outcome:
    # Secrets are only ever stored encrypted; without the key there is nowhere to put them.
    return Outcome.answer(
        CommandResult.failure(
            ErrorCode.INVALID,
            f"{action}: CRISISWATCH_DATA_KEY is not set, so secrets cannot be stored",
        )
    )
