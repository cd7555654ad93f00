"""`copy_into` copies same-named attributes, takes given ones first, and refuses mismatches."""

from dataclasses import dataclass, field

import pytest

from libs.copying import copy_into


@dataclass(frozen=True)
class Source:
    name: str
    count: int
    extra: str = "not copied"


@dataclass(frozen=True)
class Target:
    name: str
    count: int
    score: float
    derived: int = field(init=False, default=0)


def test_same_named_attributes_are_copied_and_given_ones_win() -> None:
    built = copy_into(Target, Source("a", 3), score=0.5, count=7)

    assert built == Target(name="a", count=7, score=0.5)


def test_a_field_the_source_lacks_and_nobody_gives_fails_loudly() -> None:
    with pytest.raises(AttributeError, match="score"):
        copy_into(Target, Source("a", 3))


def test_a_given_name_the_target_does_not_have_is_refused() -> None:
    with pytest.raises(TypeError, match="nonsense"):
        copy_into(Target, Source("a", 3), score=1.0, nonsense=1)
