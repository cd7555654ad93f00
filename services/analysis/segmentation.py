"""Chinese word segmentation with jieba, with brand and product names kept whole.

One tokenizer per process: its dictionary takes about half a second to load, so it is
loaded once at worker start. Watchlist keywords are added as user words the first time a
batch of their organization is analysed; the set of added words is remembered so each
word is added once. The dictionary is shared by every organization of the process, which
only ever makes a name more likely to stay whole.
"""

import logging
import threading
from collections.abc import Iterable

import jieba

# jieba logs dictionary loading at DEBUG/INFO on its own stderr handler.
jieba.setLogLevel(logging.WARNING)


class Segmenter:
    """A jieba tokenizer plus the user words added to it so far."""

    def __init__(self) -> None:
        self._tokenizer = jieba.Tokenizer()
        self._added: set[str] = set()
        self._lock = threading.Lock()

    @property
    def user_words(self) -> frozenset[str]:
        """Return the words added to the dictionary by this process."""
        return frozenset(self._added)

    def load(self, words: Iterable[str] = ()) -> None:
        """Load the main dictionary now, then add `words` (e.g. the sentiment lexicon)."""
        with self._lock:
            self._tokenizer.initialize()
        self.add_words(words)

    def add_words(self, words: Iterable[str]) -> int:
        """Add words that must never be split; return how many were new."""
        added = 0
        with self._lock:
            for raw in words:
                word = raw.strip()
                # A single character needs no entry, and jieba cuts on whitespace
                # before looking words up, so a phrase with a space cannot be one token.
                if len(word) < 2 or word in self._added or any(c.isspace() for c in word):
                    continue
                self._tokenizer.add_word(word)
                self._added.add(word)
                added += 1
        return added

    def cut(self, text: str) -> list[str]:
        """Return the tokens of `text`, without whitespace."""
        return [token for token in self._tokenizer.cut(text) if token.strip()]
