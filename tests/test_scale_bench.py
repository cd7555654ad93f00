"""`bench/scale.py` still loads, measures and reads: run at 2 000 mentions, no live path.

The bench is run as a user would (its own process, an embedded server of its own), so a
schema change its loader no longer fits, or a console read it can no longer make, fails
here rather than on the day someone needs the 10 M figures.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parent.parent
MENTIONS = 2000


def test_the_scale_bench_loads_and_every_console_read_answers(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "scale.py"),
            "--mentions",
            str(MENTIONS),
            "--days",
            "10",
            "--database-url",
            "",
            "--repeat",
            "1",
            "--no-live",
            "--json",
            str(figures_file),
        ],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    figures = json.loads(figures_file.read_text())

    rows = figures["load"]["rows"]
    assert rows["mention"] == MENTIONS
    assert rows["mention_analysis"] == MENTIONS
    assert MENTIONS / 5 < rows["story"] < MENTIONS / 2
    # A quarter of 40 keys a story kept for the month; the rest for the last day's stories.
    assert rows["story"] * 7 < rows["story_band"] < rows["story"] * 13
    assert 0 < rows["story_band_recent"] < rows["story_band"]
    assert rows["watchlist_hit"] > MENTIONS / 4
    assert 0 < rows["author"] < MENTIONS
    assert figures["storage"]["mentions"] == MENTIONS
    assert figures["storage"]["bytes_per_mention"] > 1000

    reads = figures["reads"]
    assert len(reads) >= 20
    failed = {name: read["error"] for name, read in reads.items() if read["failures"]}
    assert failed == {}
    assert all(read["p50_ms"] is not None for read in reads.values())
