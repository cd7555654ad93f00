"""Stories (传播路径): near-duplicate posts grouped, with their first poster and amplifiers.

A story is one piece of content travelling: the original, its reposts with a comment in
front, copies with punctuation or emoji changed, truncated "展开全文" copies and lightly
edited rewrites. Two posts belong to the same story when the Jaccard similarity of their
character n-gram sets reaches `SIMILARITY_THRESHOLD`. MinHash estimates that similarity
from fixed-size signatures, and locality-sensitive hashing (LSH) turns each signature into
a few band keys, so the database finds a story's candidates by equality on indexed
integers instead of comparing a new post with every stored one.

Every parameter (n-gram size, permutations, bands × rows, threshold, minimum length) was
chosen from the labelled pairs measured by `bench/stories.py`; `docs/stories.md` has the
figures. Changing any of them changes every signature and band key, so stored ones must be
recomputed; the parameters are mixed into the band keys, so keys from different parameters
never match by accident.

Signatures are computed with a vectorised NumPy MinHash over hashes derived only from the
text's code points and fixed constants (never Python's per-process salted `hash()`), so the
same text gives the same bytes in every process, on every run and on every machine.
"""

import hashlib
import re
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Final

import numpy as np
import numpy.typing as npt

from libs.copying import copy_into
from services.analysis.influence import is_amplifier, post_influence

NGRAM: Final = 3
"""Characters per shingle. Bigrams and trigrams measured close; trigrams keep more margin
between unrelated posts about the same brand (which share its product words) and the
threshold, longer shingles lose recall on edited and truncated copies (docs/stories.md)."""

BANDS: Final = 40
ROWS: Final = 3
"""40 bands of 3 rows: a pair at the threshold (Jaccard 0.4) shares a band key with
probability 0.93, a pair at 0.5 with 0.996, an unrelated pair at 0.1 with 0.04."""

NUM_PERM: Final = BANDS * ROWS
SIMILARITY_THRESHOLD: Final = 0.4
"""Estimated Jaccard at or above which two posts are the same story; precision first, since
a false merge joins two incidents while a missed copy only starts a duplicate story."""

MIN_CHARS: Final = 12
"""Fewer word characters than this ("转发微博", "太吓人了") say too little to group by text;
such reposts join their story through the repost tree instead."""

_NON_WORD = re.compile(r"[\W_]+")
_U64 = np.uint64
_PRIME = _U64(0x100000001B3)
_MIX1 = _U64(0xBF58476D1CE4E5B9)
_MIX2 = _U64(0x94D049BB133111EB)
_SIGNATURE_DTYPE: Final = np.dtype("<u4")

Hashes = npt.NDArray[np.uint64]


def _constants(label: str, count: int) -> Hashes:
    """Derive 64-bit constants from blake2b of fixed labels: identical on every machine."""
    out = np.empty(count, dtype=np.uint64)
    for index in range(count):
        digest = hashlib.blake2b(f"crisiswatch-{label}:{index}".encode(), digest_size=8)
        out[index] = int.from_bytes(digest.digest(), "little")
    return out


def _mix(hashes: Hashes) -> Hashes:
    """The splitmix64 finaliser, in place: a bijection that spreads every input bit."""
    hashes ^= hashes >> _U64(30)
    hashes *= _MIX1
    hashes ^= hashes >> _U64(27)
    hashes *= _MIX2
    hashes ^= hashes >> _U64(31)
    return hashes


def shingle_hashes(text: str, ngram: int) -> Hashes:
    """Return one well-mixed 64-bit hash per character n-gram of `text` (word characters only).

    Punctuation, emoji, spaces and underscores are dropped first, so copies that differ only
    in those have identical shingle sets. The n-gram's code points are combined with a
    polynomial (FNV prime) and then mixed with the splitmix64 finaliser, all in wrapping
    unsigned 64-bit arithmetic.
    """
    letters = _NON_WORD.sub("", text)
    codes = np.frombuffer(letters.encode("utf-32-le"), dtype="<u4").astype(np.uint64)
    count = len(codes) - ngram + 1
    if count <= 0:
        return np.empty(0, dtype=np.uint64)
    hashes = codes[:count].copy()
    for offset in range(1, ngram):
        hashes *= _PRIME
        hashes += codes[offset : offset + count]
    return _mix(hashes)


@dataclass(frozen=True)
class Signature:
    """A MinHash signature: the minimum of each permuted shingle hash, 32 bits each."""

    values: tuple[int, ...]

    def to_bytes(self) -> bytes:
        """Return the little-endian uint32 values, the form stored in PostgreSQL `bytea`."""
        return np.asarray(self.values, dtype=_SIGNATURE_DTYPE).tobytes()

    @classmethod
    def from_bytes(cls, data: bytes) -> "Signature":
        if len(data) % _SIGNATURE_DTYPE.itemsize:
            raise ValueError(f"a signature is whole uint32 values, got {len(data)} bytes")
        return cls(tuple(np.frombuffer(data, dtype=_SIGNATURE_DTYPE).tolist()))

    def similarity(self, other: "Signature") -> float:
        """Return the estimated Jaccard similarity: the share of equal minimums."""
        if len(self.values) != len(other.values):
            raise ValueError("signatures of different lengths cannot be compared")
        same = sum(
            1 for mine, theirs in zip(self.values, other.values, strict=True) if mine == theirs
        )
        return same / len(self.values)


@dataclass(frozen=True)
class MinHasher:
    """One parameter set for signatures and LSH band keys.

    The module's defaults are one instance; the benchmark builds others to compare
    parameters with the very code that runs in production.
    """

    ngram: int = NGRAM
    num_perm: int = NUM_PERM
    bands: int = BANDS
    min_chars: int = MIN_CHARS
    _a: Hashes = field(init=False, repr=False, compare=False)
    _b: Hashes = field(init=False, repr=False, compare=False)
    _row_weights: Hashes = field(init=False, repr=False, compare=False)
    _band_seeds: Hashes = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.ngram < 1 or self.num_perm < 1 or self.bands < 1:
            raise ValueError("ngram, num_perm and bands must be positive")
        if self.num_perm % self.bands:
            raise ValueError("num_perm must be a multiple of bands")
        params = f"{self.ngram}:{self.num_perm}:{self.bands}"
        constants = {
            "_a": _constants("minhash-a", self.num_perm) | _U64(1),
            "_b": _constants("minhash-b", self.num_perm),
            "_row_weights": _constants(f"lsh-row:{params}", self.rows) | _U64(1),
            "_band_seeds": _constants(f"lsh-band:{params}", self.bands),
        }
        for name, value in constants.items():
            object.__setattr__(self, name, value)

    @property
    def rows(self) -> int:
        return self.num_perm // self.bands

    def signature(self, text: str) -> Signature | None:
        """Return the signature of `text`, or None when it has too few word characters."""
        hashes = shingle_hashes(text, self.ngram)
        if len(hashes) < self.min_chars - self.ngram + 1 or len(hashes) == 0:
            return None
        # Multiply-add-shift: (a·x + b) mod 2^64, top 32 bits, one column per permutation.
        # The shift is monotonic, so it is applied to the column minimums only.
        permuted = np.multiply.outer(hashes, self._a)
        permuted += self._b
        return Signature(tuple((permuted.min(axis=0) >> _U64(32)).tolist()))

    def band_keys(self, sig: Signature) -> list[int]:
        """Return one signed 64-bit key per band; equal keys mean an identical band.

        A band's values are combined with odd per-row weights, offset by a per-band seed
        derived from the parameters and the band index, and mixed: the same values in
        another band, or under other parameters, give an unrelated key.
        """
        if len(sig.values) != self.num_perm:
            raise ValueError(f"expected {self.num_perm} values, got {len(sig.values)}")
        rows = np.asarray(sig.values, dtype=np.uint64).reshape(self.bands, self.rows)
        rows *= self._row_weights
        keys = rows.sum(axis=1, dtype=np.uint64)
        keys += self._band_seeds
        return _mix(keys).view(np.int64).tolist()  # type: ignore[no-any-return]


DEFAULT: Final = MinHasher()


def signature(text: str) -> Signature | None:
    """Return the signature of the analysis form of a post; None when too short to group."""
    return DEFAULT.signature(text)


def band_keys(sig: Signature) -> list[int]:
    """Return the `BANDS` LSH keys of a signature, each fitting a PostgreSQL `bigint`."""
    return DEFAULT.band_keys(sig)


def same_story(a: Signature, b: Signature) -> bool:
    """Whether two signatures are close enough to be one story."""
    return a.similarity(b) >= SIMILARITY_THRESHOLD


@dataclass(frozen=True)
class Member:
    """One mention of a story as loaded with its author."""

    mention_id: uuid.UUID
    author_id: uuid.UUID | None
    handle: str | None
    kind: str
    followers: int
    verified: bool
    posted_at: datetime
    reposts: int
    comments: int
    likes: int
    views: int
    parent_mention_id: uuid.UUID | None


@dataclass(frozen=True)
class Amplifier:
    """An influential author in a story, with the mention by which they joined it."""

    author_id: uuid.UUID | None
    handle: str | None
    kind: str
    followers: int
    verified: bool
    influence: float
    mention_id: uuid.UUID
    posted_at: datetime
    reach: int


def _posting_order(member: Member) -> tuple[datetime, uuid.UUID]:
    return member.posted_at, member.mention_id


def first_poster(members: Sequence[Member]) -> Member:
    """Return the 首发: the earliest mention, ties broken by mention id so it is stable."""
    if not members:
        raise ValueError("a story has at least one member")
    return min(members, key=_posting_order)


def reach(member: Member) -> int:
    """Return the audience of one mention: its views where the platform reports them,
    otherwise the author's followers, who could all have seen it."""
    return member.views if member.views > 0 else member.followers


def _author_key(member: Member) -> object:
    """Identify the author; a mention without a known author stands for itself."""
    if member.author_id is not None:
        return member.author_id
    if member.handle is not None:
        return ("handle", member.handle)
    return ("mention", member.mention_id)


def amplifiers(members: Sequence[Member], limit: int = 10) -> list[Amplifier]:
    """Return the story's media and KOL accounts and any author at or above `KOL_THRESHOLD`.

    One entry per author: their influence is the highest over their mentions in the story
    (their best-received post is the one that amplified it), the mention shown is their
    earliest one (when they joined). Sorted by influence, then by who joined first.
    """
    by_author: dict[object, list[Member]] = {}
    for member in members:
        by_author.setdefault(_author_key(member), []).append(member)
    found = []
    for authored in by_author.values():
        earliest = min(authored, key=_posting_order)
        score = max(post_influence(member) for member in authored)
        if not is_amplifier(earliest.kind, score):
            continue
        found.append(copy_into(Amplifier, earliest, influence=score, reach=reach(earliest)))
    found.sort(key=lambda amp: (-amp.influence, amp.posted_at, amp.mention_id))
    return found[:limit]


def repost_tree(members: Sequence[Member]) -> dict[uuid.UUID | None, list[uuid.UUID]]:
    """Return children by parent, each list in posting order; `None` holds the roots.

    A mention whose parent is not in the story (not loaded, or grouped elsewhere) is a
    root here, and so is the earliest mention of any parent cycle that bad data might
    form, so every member appears exactly once and the whole tree is reachable from `None`.
    """
    ordered = sorted(members, key=_posting_order)
    position = {member.mention_id: index for index, member in enumerate(ordered)}
    parents = {
        member.mention_id: member.parent_mention_id
        for member in ordered
        if member.parent_mention_id in position
    }
    for member in ordered:
        seen: list[uuid.UUID] = []
        node: uuid.UUID | None = member.mention_id
        while node is not None and node in parents and node not in seen:
            seen.append(node)
            node = parents[node]
        if node is not None and node in seen:
            cycle = seen[seen.index(node) :]
            del parents[min(cycle, key=position.__getitem__)]
    tree: dict[uuid.UUID | None, list[uuid.UUID]] = {None: []}
    for member in ordered:
        tree.setdefault(parents.get(member.mention_id), []).append(member.mention_id)
    return tree
