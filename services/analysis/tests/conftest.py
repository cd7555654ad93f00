"""One loaded analyzer for the pure tests of this package: jieba's dictionary loads once."""

import pytest

from services.analysis.analyzer import Analyzer


@pytest.fixture(scope="session")
def analyzer() -> Analyzer:
    """Return an analyzer with jieba and the sentiment vocabulary loaded."""
    loaded = Analyzer()
    loaded.load()
    return loaded
