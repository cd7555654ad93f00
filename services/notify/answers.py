"""How notify answers a command: its handler's result, or the refusal a shared check raised.

An endpoint command looks its rows up and checks its destination before its own rule; those
shared steps raise `Refused` instead of returning their refusal, so each handler reads as
its rule, and the façade declares each command once through `answering`.
"""

from collections.abc import Awaitable
from datetime import datetime
from typing import Protocol, TypeVar

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.privacy import DataKey

C = TypeVar("C")
C_contra = TypeVar("C_contra", contravariant=True)
K_contra = TypeVar("K_contra", contravariant=True)
R_co = TypeVar("R_co", covariant=True)


class Refused(Exception):
    """A command refused by a shared lookup or check; `result` is the answer it gets."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.error.message if result.error else "refused")
        self.result = result


class _Handler(Protocol[C_contra, R_co]):
    def __call__(
        self, session: AsyncSession, command: C_contra, /, *, now: datetime
    ) -> Awaitable[R_co]: ...


class _KeyedHandler(Protocol[C_contra, K_contra, R_co]):
    def __call__(
        self, session: AsyncSession, command: C_contra, key: K_contra, /, *, now: datetime
    ) -> Awaitable[R_co]: ...


def answering(handler: _Handler[C, CommandResult]) -> _Handler[C, Outcome]:
    """Route a command to `handler` and answer with its result or the refusal it raised."""

    async def answer(session: AsyncSession, command: C, /, *, now: datetime) -> Outcome:
        return await _answer(handler(session, command, now=now))

    return answer


def answering_with_key(
    handler: _KeyedHandler[C, DataKey, CommandResult], action: str
) -> _KeyedHandler[C, DataKey | None, Outcome]:
    """As `answering`, for a command that stores a secret; refused clearly without the key."""

    async def answer(
        session: AsyncSession, command: C, key: DataKey | None, /, *, now: datetime
    ) -> Outcome:
        if key is None:
            return _no_key(action)
        return await _answer(handler(session, command, key, now=now))

    return answer


async def _answer(result: Awaitable[CommandResult]) -> Outcome:
    try:
        return Outcome.answer(await result)
    except Refused as refused:
        return Outcome.answer(refused.result)


def _no_key(action: str) -> Outcome:
    # Secrets are only ever stored encrypted; without the key there is nowhere to put them.
    return Outcome.answer(
        CommandResult.failure(
            ErrorCode.INVALID,
            f"{action}: CRISISWATCH_DATA_KEY is not set, so secrets cannot be stored",
        )
    )
