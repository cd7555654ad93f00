#!/usr/bin/env python3
"""Set up and run crisiswatch on a machine that has only Python 3.11+.

    python3 run.py up      install what is needed, then start the whole system
    python3 run.py test    install what is needed, then run linters, type checks and tests
                           (as root on Debian, also Debian's Chromium for the browser test)

Anything else is passed to the `crisiswatch` command (for example `python3 run.py demo`).
Dependencies come from `uv.lock` with the pinned uv, into `.venv` beside this file.
"""

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent
UV_VERSION = "0.13.8"
TOOLS = ROOT / ".venv-tools"
VENV = ROOT / ".venv"
# The reference console's browser test drives Debian's Chromium (never a downloaded one).
CHROMIUM_PACKAGES = ("chromium", "chromium-driver")
CHROMIUM_FILES = (Path("/usr/bin/chromium"), Path("/usr/bin/chromedriver"))


def _bin(env: Path, name: str) -> Path:
    return env / ("Scripts" if os.name == "nt" else "bin") / name


def ensure_uv() -> Path:
    """Install the pinned uv into its own small environment, once."""
    uv = _bin(TOOLS, "uv")
    stamp = TOOLS / f".uv-{UV_VERSION}"
    if not stamp.exists():
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run(
            [
                str(_bin(TOOLS, "python")),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                f"uv=={UV_VERSION}",
            ],
            check=True,
        )
        stamp.touch()
    return uv


def sync() -> None:
    """Make `.venv` match `uv.lock` exactly (fast when nothing changed)."""
    env = {
        **os.environ,
        "UV_PYTHON": sys.executable,
        "UV_PYTHON_DOWNLOADS": "never",
        "UV_PROJECT_ENVIRONMENT": str(VENV),
    }
    subprocess.run([str(ensure_uv()), "sync", "--frozen", "--quiet"], cwd=ROOT, env=env, check=True)


def ensure_chromium() -> None:
    """Install Debian's Chromium with apt-get when missing and running as root.

    Quiet when it is there; otherwise one line says what was done or why not. The browser
    test then fails with the reason rather than skipping, so a missing browser is seen.
    """
    if all(path.exists() for path in CHROMIUM_FILES):
        return
    apt = shutil.which("apt-get")
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    if apt is None or not root:
        why = "no apt-get here" if apt is None else "not running as root"
        print(
            f"==> chromium not installed ({why}): the console's browser test will fail", flush=True
        )
        return
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    install = [apt, "install", "-y", "-qq", "--no-install-recommends", *CHROMIUM_PACKAGES]

    def quietly(command: list[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )

    done = quietly(install)
    if done.returncode != 0:
        # A fresh machine or container may have no package lists yet: read them, try again.
        quietly([apt, "update", "-qq"])
        done = quietly(install)
    if done.returncode == 0:
        print(f"==> installed {' and '.join(CHROMIUM_PACKAGES)} with apt-get", flush=True)
    else:
        reason = (done.stderr.strip().splitlines() or [f"exit {done.returncode}"])[-1]
        print(
            f"==> could not install chromium ({reason}): the console's browser test will fail",
            flush=True,
        )


def run_checks(pytest_args: list[str]) -> int:
    """Run ruff, mypy, import-linter, deptry and the test suite; stop at the first failure."""
    os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
    steps = [
        ["ruff", "check", "."],
        ["ruff", "format", "--check", "."],
        ["mypy", "."],
        ["lint-imports"],
        # Every imported package declared, and no dev-only package imported by shipped code
        # (the image installs without the dev group); configured in pyproject.toml.
        ["deptry", "."],
        # Four test processes whatever the cores: the database and queue tests spend most of
        # their time waiting on PostgreSQL and Redis (on two cores the suite took 352 s with
        # four against 428 s with one per core). `-n 0` in the arguments turns it off.
        ["pytest", "-n", "4", *pytest_args],
    ]
    for step in steps:
        print(f"==> {' '.join(step)}", flush=True)
        code = subprocess.run([str(_bin(VENV, step[0])), *step[1:]], cwd=ROOT).returncode
        if code != 0:
            print(f"==> failed: {' '.join(step)} (exit {code})", flush=True)
            return code
    return 0


def main(argv: list[str]) -> int:
    """Install, then dispatch."""
    if sys.version_info < (3, 11):
        print("crisiswatch needs Python 3.11 or newer", file=sys.stderr)
        return 2
    if not argv or argv[0] in {"-h", "--help"}:
        print(__doc__)
        return 0
    sync()
    if argv[0] == "test":
        ensure_chromium()
        return run_checks(argv[1:])
    crisiswatch = str(_bin(VENV, "crisiswatch"))
    os.execv(crisiswatch, [crisiswatch, *argv])
    return 0  # unreachable: execv replaces this process


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
