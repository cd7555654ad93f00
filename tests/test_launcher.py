"""The launcher keeps the embedded servers alive and backs off instead of giving up."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from crisiswatch.embedded import start_redis
from crisiswatch.launcher import MAX_RESTARTS_PER_MINUTE, Launcher, restart_delay
from libs.settings import Settings


def test_restarts_back_off_once_a_service_flaps() -> None:
    now = 1000.0
    within = [now - 50 + i for i in range(MAX_RESTARTS_PER_MINUTE)]
    assert restart_delay(within, now) == 0.0
    assert restart_delay([*within, now - 1], now) == 1.0
    assert restart_delay([*within, now - 2, now - 1], now) == 2.0
    assert restart_delay([now - 5] * 30, now) == 60.0
    assert restart_delay([now - 120] * 30, now) == 0.0  # an old storm is forgotten


def test_a_dead_embedded_redis_is_started_again_on_the_same_socket(tmp_path: Path) -> None:
    said: list[str] = []
    launcher = Launcher(Settings(crisiswatch_data_dir=tmp_path), say=said.append)
    launcher.redis = start_redis(tmp_path / "redis", persistent=False)
    url = launcher.redis.url
    try:
        launcher.redis.process.kill()
        launcher.redis.process.wait()
        launcher._revive_servers()
        assert launcher.redis.alive() and launcher.redis.url == url
        assert said == ["embedded Redis stopped; starting it again"]
    finally:
        launcher.redis.stop()


def test_redis_does_not_outlive_a_killed_launcher(tmp_path: Path) -> None:
    script = (
        "import sys, time\n"
        "from pathlib import Path\n"
        "from crisiswatch.embedded import start_redis\n"
        "r = start_redis(Path(sys.argv[1]), persistent=False)\n"
        "print(r.process.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    launcher = subprocess.Popen(
        [sys.executable, "-c", script, str(tmp_path / "redis")], stdout=subprocess.PIPE, text=True
    )
    assert launcher.stdout is not None
    pid = int(launcher.stdout.readline())
    os.kill(launcher.pid, signal.SIGKILL)
    launcher.wait()
    deadline = time.monotonic() + 10
    while _running(pid):
        assert time.monotonic() < deadline, "redis-server outlived the process that started it"
        time.sleep(0.05)


def _running(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False
