"""Root test configuration: the real-server fixtures are shared by every package's tests."""

import os

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")
# The daily risk check and the situation reports would run in every incidents worker a test
# starts, adding rows and events that depend on the hour the suite runs at; their own tests
# turn them on or run their pass by hand.
os.environ.setdefault("RISK_CHECK_ENABLED", "false")
os.environ.setdefault("SITUATION_REPORTS_ENABLED", "false")

pytest_plugins = ["tests.fixtures.servers", "tests.fixtures.disposable"]
