"""Chinese word segmentation, with each organization's names kept whole.

Segmentation is the slowest step of analysis, so the engine is chosen by measurement
(`bench/segmentation.py`, figures in `docs/segmentation.md`) among jieba and two faster
implementations of the same algorithm and dictionary: jieba_fast (C extensions) and rjieba
(a binding of jieba-rs). jieba stays the reference the others are compared with.

The dictionary is shared by everything the process analyses, so only words that belong to
no organization go in it (the sentiment vocabulary). Brand, product and person names must
not leak from one organization's posts into another's, so `cut` takes the organization's
`TermIndex` instead and keeps every leftmost-longest occurrence of its terms as one token,
segmenting only the text between them.

One segmenter per process: the dictionary takes a fraction of a second (rjieba) to a second
(jieba) to load, so it is loaded once at worker start. After `load`, `cut` may be called from
any number of threads: the jieba engines only read their dictionaries while cutting, and
rjieba holds the GIL for a whole call, so a concurrent `add_words` never meets a cut
half-way (its dictionary writes are also serialised by the segmenter's lock).
"""

import importlib
import logging
import re
import threading
from collections.abc import Iterable
from typing import Any, Protocol

from services.analysis.terms import TermIndex, fold

ENGINES: tuple[str, ...] = ("jieba", "jieba_fast", "rjieba")

DEFAULT_ENGINE: str = "rjieba"
"""Fastest engine that keeps user words whole and agrees with jieba; see docs/segmentation.md."""


class _Engine(Protocol):
    def load(self) -> None: ...

    def add_word(self, word: str) -> None: ...

    def cut(self, text: str) -> list[str]: ...


class _JiebaEngine:
    """jieba or jieba_fast: the same Tokenizer API, each instance with its own dictionary."""

    def __init__(self, module_name: str) -> None:
        module: Any = importlib.import_module(module_name)
        # Both log dictionary loading at DEBUG/INFO on their own stderr handler.
        module.setLogLevel(logging.WARNING)
        self._tokenizer: Any = module.Tokenizer()

    def load(self) -> None:
        self._tokenizer.initialize()

    def add_word(self, word: str) -> None:
        self._tokenizer.add_word(word)

    def cut(self, text: str) -> list[str]:
        return list(self._tokenizer.cut(text))


# jieba cuts a run of letters, digits and `+#&._%-` that is not a dictionary word into
# alphanumeric pieces (a decimal and a trailing % stay attached) and the characters
# between them: "40-50" -> "40" "-" "50". jieba-rs keeps such a run whole ("40-50",
# "test.py"); these patterns redo jieba's split so both engines give the same tokens.
_ASCII_RUN_JOINED = re.compile(r"[A-Za-z0-9][+#&._%\-]|[+#&._%\-][A-Za-z0-9]")
_JIEBA_ALNUM = re.compile(r"([a-zA-Z0-9]+(?:\.\d+)?%?)")


class _RJiebaEngine:
    """rjieba: jieba-rs, whose `Jieba()` loads the dictionary embedded in the binary."""

    def __init__(self) -> None:
        self._module: Any = importlib.import_module("rjieba")
        self._jieba: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self._jieba is None:
                self._jieba = self._module.Jieba()

    def add_word(self, word: str) -> None:
        self.load()
        # No frequency: jieba-rs suggests one high enough to keep the word whole, as jieba does.
        self._jieba.add_word(word, None, None)

    def cut(self, text: str) -> list[str]:
        if self._jieba is None:
            self.load()
        tokens: list[str] = self._jieba.cut(text)
        if not _ASCII_RUN_JOINED.search(text):
            return tokens
        return [piece for token in tokens for piece in self._as_jieba(token)]

    def _as_jieba(self, token: str) -> list[str]:
        if len(token) < 2 or not token.isascii() or token.isalnum() or self._jieba.has_word(token):
            return [token]
        return [piece for piece in _JIEBA_ALNUM.split(token) if piece]


def _engine(name: str) -> _Engine:
    if name == "rjieba":
        return _RJiebaEngine()
    return _JiebaEngine(name)


class Segmenter:
    """One engine's dictionary plus the process-wide words added to it so far."""

    def __init__(self, engine: str = DEFAULT_ENGINE) -> None:
        if engine not in ENGINES:
            raise ValueError(f"unknown segmentation engine {engine!r}; expected one of {ENGINES}")
        self.engine = engine
        self._engine = _engine(engine)
        self._engine_cut = self._engine.cut
        self._added: set[str] = set()
        self._lock = threading.Lock()

    @property
    def user_words(self) -> frozenset[str]:
        """Return the words added to the dictionary by this process."""
        return frozenset(self._added)

    def load(self, words: Iterable[str] = ()) -> None:
        """Load the main dictionary now, then add `words` (e.g. the sentiment vocabulary)."""
        with self._lock:
            self._engine.load()
        self.add_words(words)

    def add_words(self, words: Iterable[str]) -> int:
        """Add process-wide words that must never be split; return how many were new.

        Only words that belong to no organization: names go through `cut(keep_whole=...)`.
        """
        added = 0
        with self._lock:
            for raw in words:
                word = raw.strip()
                # A single character needs no entry, and the engines cut on whitespace
                # before looking words up, so a phrase with a space cannot be one token.
                if len(word) < 2 or word in self._added or any(c.isspace() for c in word):
                    continue
                self._engine.add_word(word)
                self._added.add(word)
                added += 1
        return added

    def cut(self, text: str, keep_whole: TermIndex | None = None) -> list[str]:
        """Return the tokens of `text`, none containing whitespace.

        Every leftmost-longest occurrence of a `keep_whole` term is one token (a term with
        spaces in it gives one token per word). Occurrences are found in the folded text,
        whose offsets are those of `text` only when folding changed no length; otherwise
        nothing is protected rather than the wrong characters.
        """
        if keep_whole is None or not len(keep_whole):
            return self._cut(text)
        folded = fold(text)
        # strip() and lower() could change the length by the same amount in opposite
        # directions; only unstripped text keeps equal lengths meaning equal offsets.
        if len(folded) != len(text) or text[:1].isspace() or text[-1:].isspace():
            return self._cut(text)
        tokens: list[str] = []
        position = 0
        for span in keep_whole.longest_spans(folded):
            if span.start > position:
                tokens += self._cut(text[position : span.start])
            tokens += text[span.start : span.end].split()
            position = span.end
        if position < len(text):
            tokens += self._cut(text[position:])
        return tokens

    def _cut(self, text: str) -> list[str]:
        return [token for token in self._engine_cut(text) if not token.isspace()]
