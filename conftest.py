"""Root test configuration: the real-server fixtures are shared by every package's tests."""

import os

import pytest

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
# The daily risk check and the situation reports would run in every incidents worker a test
# starts, adding rows and events that depend on the hour the suite runs at; their own tests
# turn them on or run their pass by hand.
os.environ.setdefault("RISK_CHECK_ENABLED", "false")
os.environ.setdefault("SITUATION_REPORTS_ENABLED", "false")

pytest_plugins = ["tests.fixtures.servers", "tests.fixtures.disposable"]

# The longest tests, started first: the processes share them out in collection order, and a
# two-minute test collected last runs alone at the end while the others sit idle.
LONGEST_FIRST = (
    "tests/test_faults_drill.py",
    "tests/test_incident_life.py",
    "tests/test_tenancy_matrix.py",
    "tests/test_cli.py",
    "tests/test_flow.py",
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Move the longest tests to the front, in the order listed; the rest keep theirs."""

    def rank(item: pytest.Item) -> int:
        for place, prefix in enumerate(LONGEST_FIRST):
            if item.nodeid.startswith(prefix):
                return place
        return len(LONGEST_FIRST)

    items.sort(key=rank)
