"""A command refused by a shared lookup or check, and how a handler answers with it.

Handlers of several commands share their first steps: load the row the command names, check
that it may still change. Those steps raise `Refused` instead of returning their refusal, so
each handler reads as its own rule; a handler declared `answering` turns the raised refusal
into its answer, so every caller (a queue route, a test calling it directly) still gets an
`Outcome`.
"""

import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, ParamSpec

from libs.contracts.messages import CommandResult
from libs.contracts.outcome import Outcome

P = ParamSpec("P")


class Refused(Exception):
    """A command refused by a shared lookup or check; `result` is the answer it gets."""

    def __init__(self, result: CommandResult) -> None:
        super().__init__(result.error.message if result.error else "refused")
        self.result = result


def answering(
    handler: Callable[P, Awaitable[CommandResult | Outcome]],
) -> Callable[P, Coroutine[Any, Any, Outcome]]:
    """Answer with what `handler` returns (a bare result becomes an `Outcome`) or raised."""

    @functools.wraps(handler)
    async def answer(*args: P.args, **kwargs: P.kwargs) -> Outcome:
        try:
            done = await handler(*args, **kwargs)
        except Refused as refused:
            return Outcome.answer(refused.result)
        return done if isinstance(done, Outcome) else Outcome.answer(done)

    return answer
