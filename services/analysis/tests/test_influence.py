"""Author influence: monotonic parts, bounded engagement and the documented examples."""

import math
from itertools import pairwise

import pytest

from services.analysis.influence import (
    ENGAGEMENT_POINTS,
    KOL_THRESHOLD,
    audience_points,
    engagement_points,
    influence,
    is_amplifier,
)


def test_more_followers_never_lowers_influence_and_saturates_at_a_hundred_million() -> None:
    counts = [0, 1, 10, 100, 1_000, 10_000, 100_000, 1_000_000, 10_000_000, 100_000_000]
    scores = [influence(count, False, "user") for count in counts]
    assert all(low < high for low, high in pairwise(scores))
    # Smooth: each decade adds a similar amount, no jump between 10 and 10 M.
    steps = [high - low for low, high in pairwise(scores[2:])]
    assert max(steps) - min(steps) < 1.0
    assert influence(10**8, False, "user") == influence(10**10, False, "user")


@pytest.mark.parametrize("followers", [0, 500, 80_000, 3_000_000])
def test_verified_and_kind_order_the_score(followers: int) -> None:
    assert influence(followers, True, "user") > influence(followers, False, "user")
    media = influence(followers, False, "media")
    kol = influence(followers, False, "kol")
    user = influence(followers, False, "user")
    assert media > kol > user
    assert influence(followers, False, "bot") == user


def test_engagement_is_capped_and_relative_to_followers() -> None:
    huge = engagement_points(10, reposts=10**9, comments=10**9, likes=10**9, views=10**12)
    assert huge == ENGAGEMENT_POINTS
    # The same interactions mean more from a small account than from a large one.
    small = engagement_points(1_000, reposts=5_000, likes=20_000)
    large = engagement_points(1_000_000, reposts=5_000, likes=20_000)
    assert small > large > 0
    assert engagement_points(1_000) == 0.0


def test_a_viral_post_by_a_nobody_rises_but_stays_below_a_national_outlet() -> None:
    quiet = influence(200, False, "user")
    viral = influence(200, False, "user", reposts=30_000, comments=5_000, likes=80_000)
    outlet = influence(10_000_000, True, "media")
    assert quiet < viral < outlet
    assert viral < KOL_THRESHOLD


def test_score_stays_within_bounds_for_extreme_inputs() -> None:
    top = influence(10**12, True, "media", reposts=10**14, likes=10**14, views=10**16)
    assert top == 100.0
    assert influence(-5, False, "user", reposts=-3) == 0.0


@pytest.mark.parametrize(
    ("followers", "verified", "kind", "engagement", "expected"),
    [
        # The worked examples of docs/stories.md, each part computed by hand there.
        (10, False, "user", {}, 55 * math.log10(11) / 8),
        (10_000_000, True, "media", {}, 55 * math.log10(10_000_001) / 8 + 10 + 20),
        (
            200,
            False,
            "user",
            {"reposts": 30_000, "comments": 5_000, "likes": 80_000, "views": 5_000_000},
            55 * math.log10(201) / 8 + 15,
        ),
        (
            412_000,
            True,
            "kol",
            {"reposts": 900, "comments": 400, "likes": 6_000, "views": 200_000},
            55 * math.log10(412_001) / 8 + 10 + 12 + 15 * math.log10(1 + 9_300 / 412_100) / 2,
        ),
    ],
)
def test_worked_examples(
    followers: int, verified: bool, kind: str, engagement: dict[str, int], expected: float
) -> None:
    assert influence(followers, verified, kind, **engagement) == pytest.approx(expected)


def test_kol_threshold_separates_big_accounts_from_ordinary_ones() -> None:
    assert influence(186_000, True, "user") >= KOL_THRESHOLD
    assert influence(50_000, True, "user") < KOL_THRESHOLD
    assert influence(5_000_000, False, "user") >= KOL_THRESHOLD
    assert influence(1_000_000, False, "user") < KOL_THRESHOLD
    assert audience_points(10**8) == audience_points(10**9)


def test_is_amplifier_for_media_kol_or_scores_at_the_threshold() -> None:
    assert is_amplifier("media", 0.0)
    assert is_amplifier("kol", 0.0)
    assert is_amplifier("user", KOL_THRESHOLD)
    assert not is_amplifier("user", KOL_THRESHOLD - 0.01)
