"""Author influence (影响力): how far one account's post about a company is likely to travel.

A score in [0, 100] that adds four explainable parts, so a reader can see why an account
counts (docs/stories.md works through examples):

- audience: log-scaled followers, smooth from a 10-follower account to a 10 M one and
  saturating at 10^8 (no platform account is meaningfully bigger);
- verification (认证): platforms verify accounts they consider public figures;
- kind: a news outlet (媒体) is cited by others and sets the story, a key opinion leader
  (意见领袖/大V) is followed for opinions, an ordinary user is neither;
- engagement of the post: interactions relative to the author's audience, log-scaled and
  capped. A post that reaches far beyond its author's followers is spreading, but the cap
  keeps a viral post by a nobody below a national outlet's ordinary post.
"""

import math
from typing import Final, Protocol

FOLLOWER_POINTS: Final = 55.0
FOLLOWER_DECADES: Final = 8.0
"""log10(1 + followers) saturates at 8: a hundred million followers earn every point."""

VERIFIED_POINTS: Final = 10.0
KIND_POINTS: Final = {"media": 20.0, "kol": 12.0, "user": 0.0}
"""Unknown kinds earn nothing, like ordinary users."""

ENGAGEMENT_POINTS: Final = 15.0
ENGAGEMENT_DECADES: Final = 2.0
"""Interactions of 99 times the audience (log10(1 + ratio) = 2) earn every point."""

AUDIENCE_FLOOR: Final = 100
"""Added to followers before dividing, so tiny accounts do not get huge ratios from a few likes."""

VIEWS_PER_INTERACTION: Final = 100
"""Views are passive: a hundred views weigh as much as one repost, comment or like."""

KOL_THRESHOLD: Final = 45.0
"""At or above this an author amplifies a story whatever their kind: e.g. a verified account
with about 125 k followers, an unverified one with about 3.5 M, or a 100 k account whose post
spreads to many times its audience (see docs/stories.md)."""

AMPLIFYING_KINDS: Final = frozenset({"media", "kol"})


def is_amplifier(kind: str, score: float) -> bool:
    """Whether an author amplifies a story: a media or KOL account, or influential enough."""
    return kind in AMPLIFYING_KINDS or score >= KOL_THRESHOLD


def audience_points(followers: int) -> float:
    """Return the followers part: log-scaled, saturating at 10^8 followers."""
    decades = math.log10(1 + max(followers, 0))
    return FOLLOWER_POINTS * min(decades, FOLLOWER_DECADES) / FOLLOWER_DECADES


def engagement_points(
    followers: int, *, reposts: int = 0, comments: int = 0, likes: int = 0, views: int = 0
) -> float:
    """Return the engagement part: interactions per follower, log-scaled and capped."""
    interactions = (
        max(reposts, 0) + max(comments, 0) + max(likes, 0) + max(views, 0) / VIEWS_PER_INTERACTION
    )
    ratio = interactions / (max(followers, 0) + AUDIENCE_FLOOR)
    return ENGAGEMENT_POINTS * min(math.log10(1 + ratio) / ENGAGEMENT_DECADES, 1.0)


def influence(
    followers: int,
    verified: bool,
    kind: str,
    *,
    reposts: int = 0,
    comments: int = 0,
    likes: int = 0,
    views: int = 0,
) -> float:
    """Return the author's influence for one post, 0–100.

    `audience_points + verified·10 + kind points + engagement_points`; the parts' maxima
    (55, 10, 20, 15) sum to 100.
    """
    score = (
        audience_points(followers)
        + (VERIFIED_POINTS if verified else 0.0)
        + KIND_POINTS.get(kind, 0.0)
        + engagement_points(followers, reposts=reposts, comments=comments, likes=likes, views=views)
    )
    return min(max(score, 0.0), 100.0)


class Post(Protocol):
    """What influence reads about one post and its author."""

    @property
    def followers(self) -> int: ...
    @property
    def verified(self) -> bool: ...
    @property
    def kind(self) -> str: ...
    @property
    def reposts(self) -> int: ...
    @property
    def comments(self) -> int: ...
    @property
    def likes(self) -> int: ...
    @property
    def views(self) -> int: ...


def post_influence(post: Post) -> float:
    """Return the influence of a post's author for that post (see `influence`)."""
    return influence(
        post.followers,
        post.verified,
        post.kind,
        reposts=post.reposts,
        comments=post.comments,
        likes=post.likes,
        views=post.views,
    )
