"""How long-running work reports progress without knowing who draws it.

A function that takes a while accepts a `Progress` and calls it as it goes, with the name of
its current stage, how much of it is done, and the total when it is known (None while it is
not). The command line draws bars from these calls; tests and services pass nothing.
"""

from collections.abc import Callable

Progress = Callable[[str, int, int | None], None]


def silent(stage: str, done: int, total: int | None) -> None:
    """Report nowhere: the default of every function that takes a `Progress`."""
