"""Bodies read by hand: a malformed one is refused as a whole, naming the problem."""

from typing import Any

import orjson
import pytest

from services.ingest.body import parse_body
from services.ingest.mentions.schemas import Envelope
from services.ingest.problems import ProblemError
from services.ingest.tests.builders import mention


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"mentions": []}, "mentions"),
        ({"items": []}, "mentions"),
        ({"mentions": [mention(str(i)) for i in range(1001)]}, "mentions"),
        ({"mentions": "nope"}, "mentions"),
    ],
)
def test_malformed_body_is_refused_naming_the_problem(body: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_body(orjson.dumps(body), Envelope, "an object with `mentions`")
    assert raised.value.problem.status == 422
    assert raised.value.problem.errors[0].field == field


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'"mentions"'])
def test_a_body_that_is_not_a_json_object_is_refused(body: bytes) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_body(body, Envelope, "an object with `mentions`")
    assert raised.value.problem.status == 422
    assert raised.value.problem.detail.startswith("body: ")
