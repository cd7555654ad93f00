"""BigInt writes whole numbers as decimal strings and reads strings or integers; the old
Int fields refuse what Int cannot carry, naming the field to read instead."""

import pytest

from gateway.core.errors import GatewayError
from gateway.core.wide import SCALARS, BigInt, narrow

BIG = SCALARS[BigInt]


def test_bigint_round_trips_past_two_to_the_53() -> None:
    for value in (0, -1, 2**31, 5_371_596_562, 2**53 + 1, -(2**63)):
        written = BIG.serialize(value)  # type: ignore[misc]
        assert written == str(value)
        assert BIG.parse_value(written) == value  # type: ignore[misc]
        assert BIG.parse_value(value) == value  # type: ignore[misc]


@pytest.mark.parametrize("bad", ["12.5", "1e9", "", True, 1.0, None])
def test_bigint_refuses_what_is_not_a_whole_number(bad: object) -> None:
    with pytest.raises(ValueError, match="BigInt"):
        BIG.parse_value(bad)  # type: ignore[misc]


def test_an_int_field_passes_its_range_and_names_the_wide_field_beyond() -> None:
    assert narrow(2**31 - 1, "reach", "reachTotal") == 2**31 - 1
    assert narrow(-(2**31), "reach", "reachTotal") == -(2**31)
    with pytest.raises(GatewayError, match="reachTotal"):
        narrow(2**31, "reach", "reachTotal")
