"""Which story each analysed mention joins: its repost parent's, a near-duplicate's, or a new one.

The decision is pure over a `StoryIndex` (band key → story, story → signature). The live
worker fills the index from PostgreSQL for the batch's band keys and writes back the new
stories; a backtest keeps one index in memory for the whole replay. Both therefore group
identically.
"""

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from libs.ids import new_id
from libs.story_bands import is_lasting
from services.analysis.stories import SIMILARITY_THRESHOLD, Signature, band_keys


@dataclass(frozen=True)
class StoryItem:
    """One mention to place: its time, MinHash and the mention it reposts, if known."""

    mention_id: uuid.UUID
    posted_at: datetime
    signature: Signature | None
    parent_mention_id: uuid.UUID | None = None


@dataclass(frozen=True)
class NewStory:
    """A story the batch started; its band keys are claimed unless another story holds them."""

    id: uuid.UUID
    first_mention_id: uuid.UUID
    started_at: datetime
    signature: Signature | None
    band_keys: tuple[int, ...]


@dataclass
class StoryIndex:
    """Band keys and representative signatures of the stories seen so far."""

    bands: dict[int, uuid.UUID] = field(default_factory=dict)
    signatures: dict[uuid.UUID, Signature] = field(default_factory=dict)

    def add(self, story_id: uuid.UUID, signature: Signature | None, keys: Iterable[int]) -> None:
        """Remember a story; a band key already owned by another story stays with it."""
        if signature is not None:
            self.signatures.setdefault(story_id, signature)
        for key in keys:
            self.bands.setdefault(key, story_id)

    def nearest(self, signature: Signature, keys: Iterable[int]) -> uuid.UUID | None:
        """Return the most similar candidate story at or above the threshold."""
        best: tuple[float, str] | None = None
        chosen: uuid.UUID | None = None
        for story_id in {self.bands[k] for k in keys if k in self.bands}:
            other = self.signatures.get(story_id)
            if other is None:
                continue
            similarity = signature.similarity(other)
            rank = (similarity, str(story_id))
            if similarity >= SIMILARITY_THRESHOLD and (best is None or rank > best):
                best, chosen = rank, story_id
        return chosen


@dataclass(frozen=True)
class Assignment:
    """The stories of a batch's mentions and the stories it started."""

    story_of: dict[uuid.UUID, uuid.UUID | None]
    new_stories: list[NewStory]


def assign(
    items: Iterable[StoryItem],
    index: StoryIndex,
    parent_stories: Mapping[uuid.UUID, uuid.UUID | None] | None = None,
) -> Assignment:
    """Place mentions in posting order, so an original starts the story its copies join."""
    story_of: dict[uuid.UUID, uuid.UUID | None] = {}
    known = dict(parent_stories or {})
    started: list[NewStory] = []
    for item in sorted(items, key=lambda i: (i.posted_at, str(i.mention_id))):
        keys = tuple(band_keys(item.signature)) if item.signature is not None else ()
        story_id = None
        if item.parent_mention_id is not None:
            story_id = story_of.get(item.parent_mention_id) or known.get(item.parent_mention_id)
        if story_id is None and item.signature is not None:
            story_id = index.nearest(item.signature, keys)
        if story_id is None and item.signature is not None:
            # Only a story's first post is indexed: members are compared with it.
            story_id = new_id()
            started.append(
                NewStory(story_id, item.mention_id, item.posted_at, item.signature, keys)
            )
            index.add(story_id, item.signature, keys)
        story_of[item.mention_id] = story_id
    return Assignment(story_of=story_of, new_stories=started)


def revived_bands(index: StoryIndex, assignment: Assignment) -> list[tuple[int, uuid.UUID]]:
    """The recent-tier keys of joined stories the lookup found through long-kept keys alone.

    Such a story has most likely been quiet long enough to give its recent keys back
    (`libs.story_bands`); posted to again, it claims them again from its signature, so its
    next copies find it through all its keys. A story whose recent keys are still held
    loses nothing: the claim leaves an owned key with its owner. A story only joined
    through a repost's parent has no signature in the index and is left as it is.
    """
    started = {new.id for new in assignment.new_stories}
    joined = {s for s in assignment.story_of.values() if s is not None and s not in started}
    found_recent = {story for key, story in index.bands.items() if not is_lasting(key)}
    claims: list[tuple[int, uuid.UUID]] = []
    for story_id in sorted(joined - found_recent):
        signature = index.signatures.get(story_id)
        if signature is not None:
            claims += [(k, story_id) for k in band_keys(signature) if not is_lasting(k)]
    return claims
