"""Fixtures of the notify tests: a data key, and a local receiver served once per module."""

from collections.abc import Iterator

import pytest

from libs.privacy import DataKey, generate_key
from services.notify.tests.builders import Receiver, serve_receiver


@pytest.fixture
def key() -> DataKey:
    """Return a fresh data key that seals endpoint secrets."""
    return DataKey.from_base64(generate_key())


@pytest.fixture(scope="module")
def receiver_server() -> Iterator[Receiver]:
    """Serve a plain-HTTP receiver on 127.0.0.1 for the whole module."""
    yield from serve_receiver()


@pytest.fixture
def receiver(receiver_server: Receiver) -> Receiver:
    """Return the module's receiver with nothing received or scripted yet."""
    receiver_server.reset()
    return receiver_server
