"""Progress bars for commands that run longer than a second, drawn on standard error.

`Bars` is a `libs.progress.Progress`: each stage a command reports becomes one bar, filled as
it reports. Bars are drawn only at a terminal, so output piped to a file or a log stays the
command's own lines; printed lines appear above the bars while they are drawn.
"""

from types import TracebackType

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)


class Bars:
    """One rich progress bar per reported stage, shown while the `with` block runs."""

    def __init__(self, console: Console | None = None) -> None:
        shown = console or Console(stderr=True)
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=shown,
            disable=not shown.is_terminal,
        )
        self._stages: dict[str, TaskID] = {}

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """Show `done` of `total` for `stage`, adding its bar the first time it reports."""
        task = self._stages.get(stage)
        if task is None:
            task = self._stages[stage] = self._progress.add_task(stage, total=total)
        self._progress.update(task, completed=done, total=total)

    def __enter__(self) -> "Bars":
        self._progress.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._progress.stop()
