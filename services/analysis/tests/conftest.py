"""One loaded analyzer per test process, for pure and service-level tests: jieba loads once."""

import pytest

from services.analysis.analyzer import Analyzer


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    """Return an analyzer with jieba and the sentiment vocabulary loaded."""
    loaded = Analyzer()
    loaded.load()
    return loaded
