"""Root test configuration: the real-server fixtures are shared by every package's tests."""

import os

os.environ.setdefault("XDG_RUNTIME_DIR", "/tmp")

pytest_plugins = ["tests.fixtures.servers"]
