"""Where a process reads the time: a clock, so tests can hold or move it."""

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    """Where the current time comes from."""

    def now(self) -> datetime:
        """Return the current time, timezone-aware."""
        ...


class SystemClock:
    """The wall clock, in UTC."""

    def now(self) -> datetime:
        """Return the current UTC time."""
        return datetime.now(UTC)


class FixedClock:
    """A clock that shows one instant until moved; for one-off passes and tests."""

    def __init__(self, now: datetime) -> None:
        self.current = now

    def now(self) -> datetime:
        """Return the instant this clock is set to."""
        return self.current
