"""Whole numbers past GraphQL's 32-bit `Int`: the `BigInt` scalar and the guard on old fields.

A reach summed over a month passes 2^31 (5,371,596,562 views for one author is ordinary for
a media account), and `Int` cannot carry it. `BigInt` is always written as a decimal
string, as GitHub's API writes its own: JavaScript numbers are exact only up to 2^53, and a
field that is sometimes a number and sometimes a string is one no typed client can declare.
Inputs take a string or an integer.

The `Int` fields shipped before `BigInt` stay until their removal date; past 2^31 they fail
with an error that names the wide field to read instead, never a clamped, wrong number.
"""

from typing import NewType

import strawberry
from strawberry.types.scalar import ScalarDefinition

from gateway.core.errors import GatewayError

INT_MAX = 2**31 - 1
INT_MIN = -(2**31)
REMOVAL = "2027-06-30"


def _serialize(value: int) -> str:
    return str(int(value))


def _parse(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ValueError(f"BigInt takes a decimal string or an integer, got {value!r}")
    try:
        return int(value)
    except ValueError as exc:
        raise ValueError(f"BigInt takes a decimal string or an integer, got {value!r}") from exc


BigInt = NewType("BigInt", int)

SCALARS: dict[object, ScalarDefinition] = {
    BigInt: strawberry.scalar(
        name="BigInt",
        description=(
            'A whole number of any size, written as a decimal string (e.g. "5371596562") so '
            "that JavaScript clients read it exactly; inputs take a string or an integer."
        ),
        serialize=_serialize,
        parse_value=_parse,
    )
}
"""The schema's `scalar_map`: how each scalar of this module is written and read."""


def big(value: int) -> BigInt:
    """Return a whole number typed for a `BigInt` field."""
    return BigInt(int(value))


def narrow(value: int, field: str, wide_field: str) -> int:
    """Return `value` for a 32-bit `Int` field, or fail naming the `BigInt` field to read."""
    if not INT_MIN <= value <= INT_MAX:
        raise GatewayError(
            f"`{field}` is {value}, beyond the 32-bit range of Int; read `{wide_field}` "
            f"(BigInt) instead: `{field}` is deprecated and removed on {REMOVAL}."
        )
    return value


def deprecated(wide_field: str) -> str:
    """Return the deprecation reason of an `Int` field that `wide_field` replaces."""
    return f"Can pass 2^31, where it fails: read `{wide_field}` (BigInt). Removal on {REMOVAL}."
