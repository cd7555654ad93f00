"""Text normalisation shared by ingest (which stores it) and analysis (which reads it)."""

import hashlib
import html
import re
import threading
import unicodedata
from html.parser import HTMLParser

import opencc

_WHITESPACE = re.compile(r"\s+")


class _TextExtractor(HTMLParser):
    """Collect the text nodes of an HTML fragment; posts copied from web pages carry markup."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []

    def handle_data(self, data: str) -> None:
        self.parts.append(data)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"br", "p", "div", "li"}:
            self.parts.append(" ")


def strip_html(text: str) -> str:
    """Return the visible text of `text`, which may or may not contain markup."""
    if "<" not in text and "&" not in text:
        return text
    extractor = _TextExtractor()
    extractor.feed(text)
    extractor.close()
    return html.unescape("".join(extractor.parts))


def normalize(text: str) -> str:
    """NFKC (full-width letters and digits to half-width), markup removed, spaces folded."""
    return _WHITESPACE.sub(" ", unicodedata.normalize("NFKC", strip_html(text))).strip()


def content_hash(normalized: str) -> str:
    """Return a stable fingerprint of normalised text, for spotting copies across sources."""
    return hashlib.sha256(normalized.encode()).hexdigest()


_converter: opencc.OpenCC | None = None
_converter_lock = threading.Lock()


def to_simplified(text: str) -> str:
    """Return `text` converted from traditional to simplified Chinese (OpenCC t2s).

    One converter per process, built on first use: loading its dictionaries is the
    expensive part, and a process that never meets Chinese text never pays for it.
    """
    global _converter
    if _converter is None:
        with _converter_lock:
            if _converter is None:
                _converter = opencc.OpenCC("t2s")
    converted: str = _converter.convert(text)
    return converted
