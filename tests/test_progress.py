"""Progress bars of the long commands: drawn at a terminal, absent from piped output."""

import io

from rich.console import Console

from crisiswatch.progress import Bars


def test_each_reported_stage_is_a_bar_at_a_terminal() -> None:
    screen = io.StringIO()
    with Bars(Console(file=screen, force_terminal=True, width=100)) as bars:
        bars("analysing mentions", 2000, None)
        bars("analysing mentions", 4200, 4200)
        bars("replaying decisions", 3, 12)
    drawn = screen.getvalue()
    assert "analysing mentions" in drawn and "4200/4200" in drawn
    assert "replaying decisions" in drawn and "3/12" in drawn


def test_nothing_is_drawn_into_a_pipe_or_a_log() -> None:
    piped = io.StringIO()
    with Bars(Console(file=piped, force_terminal=False)) as bars:
        bars("training", 1, 6)
    assert piped.getvalue() == ""
