"""The fault drill's short variant: the whole system under kill -9, SIGSTOP, Redis and
PostgreSQL outages must lose nothing accepted, apply every crisis signal, duplicate
nothing, and catch up by itself.

It runs `bench/faults.py --short` as its own process (embedded servers in a temporary
folder, the services as children, exactly as the benchmark runs) and reads the figures it
writes. The drill's promises only mean something if work happened, so the test also
requires mentions accepted and analysed, crisis signals raised, incidents opened and
webhooks received: a system whose analysis never ran fails here.
"""

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

pytestmark = pytest.mark.flow

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(900)
def test_short_fault_drill_loses_nothing_and_recovers(tmp_path: Path) -> None:
    figures_file = tmp_path / "figures.json"
    run = subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "faults.py"),
            "--short",
            "--logs",
            str(tmp_path / "logs"),
            "--json",
            str(figures_file),
        ],
        capture_output=True,
        text=True,
        timeout=850,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-4000:]
    figures: dict[str, Any] = json.loads(figures_file.read_text())
    shown = run.stdout[-6000:]

    # Work happened: mentions were accepted and analysed, crises were raised and handled.
    assert figures["accepted"] > 0, shown
    assert figures["crisis signals"] > 0, shown
    assert figures["open incidents"] > 0, shown
    assert figures["webhook events"] > 0, shown
    # The promises.
    assert figures["lost"] == 0, shown
    assert figures["unanalysed"] == 0, shown
    assert figures["stored"] >= figures["accepted"], shown
    assert figures["analysed"] >= figures["accepted"], shown
    assert figures["unapplied signals"] == 0, shown
    # Each crisis signal counted carries the mark incidents wrote when it applied it.
    applied = figures["crisis signals applied, by what they did"]
    assert sum(applied.values()) == figures["crisis signals"], shown
    assert figures["duplicated"] == 0, shown
    assert figures["webhook events never received"] == 0, shown
    assert figures["dead letters"] == [], shown
    assert figures["recovered after last fault (s)"] is not None, shown
    assert figures["http services answering"] == "3/3", shown
