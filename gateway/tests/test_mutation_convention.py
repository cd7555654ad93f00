"""Every mutation follows one convention, read from the schema itself so a new one cannot slip.

A mutation takes a single `input:` argument of its own input type and answers a result union
of one success type and refusals, each refusal implementing `Refusal` with a machine `code`.
A form that does not (a positional form kept for old clients) must be deprecated with the
date of its removal, naming the `input:` form that replaces it when there is one.
"""

import re

import pytest
from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLSchema,
    GraphQLUnionType,
)

from gateway.core import errors
from gateway.core.enums import RefusalCode
from gateway.schema import build_schema

SCHEMA: GraphQLSchema = build_schema()._schema
MUTATION = SCHEMA.mutation_type
assert MUTATION is not None
FIELDS: dict[str, GraphQLField] = dict(MUTATION.fields)
CURRENT = sorted(name for name, field in FIELDS.items() if field.deprecation_reason is None)
DEPRECATED = sorted(name for name, field in FIELDS.items() if field.deprecation_reason)
REMOVAL = re.compile(r"removal on (\d{4}-\d{2}-\d{2})\.$")
REPLACEMENT = re.compile(r"^Use `(\w+)\(input:\)`")


def _refusal() -> GraphQLInterfaceType:
    refusal = SCHEMA.get_type("Refusal")
    assert isinstance(refusal, GraphQLInterfaceType)
    return refusal


def _is_refusal(member: GraphQLObjectType) -> bool:
    return _refusal() in member.interfaces


@pytest.mark.parametrize("name", CURRENT)
def test_a_current_mutation_takes_only_an_input_of_its_own(name: str) -> None:
    args = FIELDS[name].args
    assert list(args) == ["input"], f"{name} takes {list(args)}, not only `input:`"
    given = args["input"].type
    assert isinstance(given, GraphQLNonNull), f"{name}(input:) must be required"
    assert isinstance(given.of_type, GraphQLInputObjectType)
    # Named after the mutation, so no two mutations share one and each can grow alone.
    assert given.of_type.name == name[0].upper() + name[1:] + "Input"


@pytest.mark.parametrize("name", CURRENT)
def test_a_current_mutation_answers_one_success_or_coded_refusals(name: str) -> None:
    answer = FIELDS[name].type
    assert isinstance(answer, GraphQLNonNull), f"{name} may answer null"
    union = answer.of_type
    assert isinstance(union, GraphQLUnionType), f"{name} answers {union}, not a result union"
    successes = [member.name for member in union.types if not _is_refusal(member)]
    refusals = [member for member in union.types if _is_refusal(member)]
    assert len(successes) == 1, f"{name} answers {successes}: one success type expected"
    assert refusals, f"{name} answers no refusal"
    for member in refusals:
        code = member.fields["code"].type
        assert isinstance(code, GraphQLNonNull) and code.of_type is SCHEMA.get_type("ErrorCode")


@pytest.mark.parametrize("name", DEPRECATED)
def test_a_deprecated_mutation_names_its_removal_date_and_a_current_replacement(
    name: str,
) -> None:
    reason = FIELDS[name].deprecation_reason or ""
    assert REMOVAL.search(reason), f"{name}'s deprecation gives no removal date: {reason!r}"
    replaced = REPLACEMENT.match(reason)
    if replaced is None:
        # Only a mutation retired without a successor may name none.
        assert name == "setWebhookPolicy", f"{name} names no `input:` form to use instead"
        return
    assert replaced.group(1) in CURRENT, f"{name} points to {replaced.group(1)}, not current"


def test_every_refusal_carries_a_code_of_its_own() -> None:
    members = [
        kind
        for kind in SCHEMA.type_map.values()
        if isinstance(kind, GraphQLObjectType) and _is_refusal(kind)
    ]
    code_enum = SCHEMA.get_type("ErrorCode")
    assert isinstance(code_enum, GraphQLEnumType)
    codes = {getattr(errors, kind.name).__dataclass_fields__["code"].default for kind in members}
    # One code per refusal type, and every code a refusal type's.
    assert len(codes) == len(members)
    assert codes == set(RefusalCode)
    assert set(code_enum.values) == {code.name for code in RefusalCode}
