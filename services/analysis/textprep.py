"""Split a normalised post into what its author wrote and what it quotes, in simplified Chinese.

A Weibo repost carries the chain it passed through: `我也中招了//@小王:太坑了//@禾岚乳业:声明`.
Sentiment must read the reposter's own words, not the brand's statement at the root, while
watch rules should still see every hop. Term matching, segmentation and sentiment all read
simplified Chinese, so traditional posts (Hong Kong, Taiwan, copied web pages) match the same
terms as simplified ones; the original text is kept untouched for display and evidence.

Decisions the callers rely on:
- `@mentions` inside a text keep their words and lose the `@`: "联系@禾岚乳业 客服" becomes
  "联系 禾岚乳业 客服", so a post addressed to the brand's account matches the brand's name.
- A hashtag keeps its words and loses its markers, in both styles: Weibo `#话题#` and
  Douyin/Xiaohongshu `#话题` (which ends at whitespace, punctuation, an emoji or the end).
- `hashtags`, `emoji` and `urls` describe the whole post as shown, chain included, in text
  order; hashtags and URLs once each, emoji every time they occur (repetition is emphasis).
- A removed item leaves a space only between two word characters, so removing
  "[哈哈]" from "好[哈哈]棒" cannot glue "好棒" into a word the author never wrote.
- Emoji characters are found by Unicode ranges (no emoji library is a dependency): the
  pictographic blocks U+1F000–U+1FAFF, Miscellaneous Symbols and Dingbats U+2600–U+27BF,
  Miscellaneous Technical U+2300–U+23FF, the arrows-and-stars block U+2B00–U+2BFF, with their
  skin-tone modifiers, variation selector U+FE0F, zero-width-joiner sequences, flag pairs and
  keycaps (1️⃣). Arrows such as "→" are punctuation in these texts and are kept.

OpenCC's converter is created once per process, on first use. Its C++ `Convert` is const and
the library documents every call but `opencc_error` as thread-safe, so threads share it freely.
"""

import re
from dataclasses import dataclass

from libs.text import to_simplified
from services.analysis.terms import fold


@dataclass(frozen=True)
class RepostHop:
    """One earlier poster quoted in a repost chain."""

    handle: str
    text: str


@dataclass(frozen=True)
class PreparedText:
    """A post in the forms analysis reads; see the module docstring for the rules."""

    original: str
    simplified: str
    own: str
    chain: tuple[RepostHop, ...]
    matching: str
    hashtags: tuple[str, ...]
    emoji: tuple[str, ...]
    urls: tuple[str, ...]

    @property
    def sentiment_text(self) -> str:
        """The words whose tone is the poster's: their own, or what they passed on silently."""
        if self.own:
            return self.own
        return next((hop.text for hop in self.chain if hop.text), "")


# `//@handle:` starts a quoted hop. Handles never contain whitespace, colons, slashes, `@`
# or `#`; Weibo caps them at 30 characters.
_HOP = re.compile(r"//\s?@([^\s:：/@#]{1,30})\s?[:：]")

_EMOJI_BASE = "\U0001f000-\U0001faff\u2600-\u27bf\u2300-\u23ff\u2b00-\u2bff"
_EMOJI_TAIL = "\U0001f3fb-\U0001f3ff\ufe0f\U000e0020-\U000e007f"
_EMOJI = (
    rf"[0-9#*]\ufe0f?\u20e3"  # keycap
    r"|[\U0001f1e6-\U0001f1ff]{2}"  # flag: a pair of regional indicators
    rf"|[{_EMOJI_BASE}][{_EMOJI_TAIL}]*(?:\u200d[{_EMOJI_BASE}][{_EMOJI_TAIL}]*)*"
)

# One pass over each text; the first alternative that matches at a position wins, so a `#`
# or `@` inside a URL is part of the URL, and a keycap `#️⃣` is an emoji, not a hashtag.
_ITEM = re.compile(
    r"(?P<url>https?://[A-Za-z0-9\-._~:/?#@!$&'()*+,;=%]+)"
    r"|\[(?P<code>[^\W\d][\w]{0,7})\]"
    rf"|(?P<emoji>{_EMOJI})"
    r"|(?<![A-Za-z0-9&])#(?P<weibo_tag>[^#\s]{1,64})#"
    r"|(?<![A-Za-z0-9&])#(?P<tag>\w[\w\-·]{0,63})"
    # `@` starts a mention unless it is inside an e-mail address.
    r"|(?<![A-Za-z0-9._%+\-])@(?=[\w\-])"
    # Stray joiners and selectors left around characters outside the emoji ranges.
    r"|[\u200d\ufe0e\ufe0f]"
)
# Xiaohongshu shows a topic as `#话题[话题]#`.
_XHS_TOPIC = "[话题]"
_URL_TRAILING = ".,;:!?)'"
_WHITESPACE = re.compile(r"\s+")

# What Weibo fills in when a reposter writes nothing; it is no opinion of theirs.
_EMPTY_REPOST = frozenset({"转发微博", "repost"})


class _Collected:
    """Items found while cleaning the texts of one post."""

    def __init__(self) -> None:
        self.hashtags: dict[str, None] = {}
        self.urls: dict[str, None] = {}
        self.emoji: list[str] = []


def _gap(text: str, start: int, end: int) -> str:
    """A space where removing text[start:end] would join two words, else nothing."""
    if start > 0 and end < len(text) and text[start - 1].isalnum() and text[end].isalnum():
        return " "
    return ""


def _clean(text: str, found: _Collected) -> str:
    def replace(match: re.Match[str]) -> str:
        kind = match.lastgroup
        source = match.string
        start, end = match.span()
        if kind == "url":
            url = match.group("url")
            stripped = url.rstrip(_URL_TRAILING)
            found.urls.setdefault(stripped)
            # Punctuation trimmed off the URL belongs to the sentence around it.
            return _gap(source, start, end) + url[len(stripped) :]
        if kind == "code":
            found.emoji.append(match.group("code"))
            return _gap(source, start, end)
        if kind == "emoji":
            found.emoji.append(match.group("emoji"))
            return _gap(source, start, end)
        if kind in ("weibo_tag", "tag"):
            words = match.group(kind).removesuffix(_XHS_TOPIC).strip()
            found.hashtags.setdefault(words)
            before = " " if start > 0 and source[start - 1].isalnum() else ""
            after = " " if end < len(source) and source[end].isalnum() else ""
            return before + words + after
        if match.group() == "@":
            return _gap(source, start, end)
        return ""  # a stray joiner or selector

    cleaned = _WHITESPACE.sub(" ", _ITEM.sub(replace, text)).strip()
    return "" if cleaned.lower() in _EMPTY_REPOST else cleaned


def prepare(text: str) -> PreparedText:
    """Prepare one normalised post (`libs.text.normalize` of `mention.text`) for analysis."""
    simplified = to_simplified(text)
    pieces = _HOP.split(simplified)
    found = _Collected()
    own = _clean(pieces[0], found)
    # split() alternates text, handle, text, handle…: pieces[1::2] are handles.
    chain = tuple(
        RepostHop(handle=handle, text=_clean(said, found))
        for handle, said in zip(pieces[1::2], pieces[2::2], strict=True)
    )
    matching = "\n".join(fold(part) for part in (own, *(hop.text for hop in chain)) if part)
    return PreparedText(
        original=text,
        simplified=simplified,
        own=own,
        chain=chain,
        matching=matching,
        hashtags=tuple(found.hashtags),
        emoji=tuple(found.emoji),
        urls=tuple(found.urls),
    )
