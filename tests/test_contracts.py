"""Pins the JSON Schema of every queue message, so a contract never changes by accident.

A deliberate change is a new message version. To accept a schema change on purpose, run
`UPDATE_CONTRACTS=1 python3 run.py test tests/test_contracts.py` and commit the new file.
"""

import json
import os
import uuid
from datetime import UTC, datetime
from pathlib import Path

import pytest

from libs.contracts.enums import EventType
from libs.contracts.events import (
    EVENT_BODIES,
    EventBody,
    IncidentStatusChanged,
    StatementPublished,
    parse_body,
)
from libs.contracts.messages import ALL_MESSAGES as CORE_MESSAGES
from libs.contracts.messages import (
    AcknowledgeIncident,
    Command,
    MentionIngested,
    Message,
    TraceContext,
)
from libs.contracts.notify import NOTIFY_MESSAGES
from libs.contracts.response import RESPONSE_MESSAGES

ALL_MESSAGES = CORE_MESSAGES + RESPONSE_MESSAGES + NOTIFY_MESSAGES

PINNED = Path(__file__).parent / "contracts"


@pytest.mark.parametrize("message", ALL_MESSAGES, ids=lambda m: m.job_name())
def test_message_schema_matches_the_pinned_contract(message: type[Message]) -> None:
    path = PINNED / f"{message.job_name()}.json"
    current = json.dumps(message.model_json_schema(), indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_CONTRACTS") == "1":
        path.write_text(current)
    assert path.exists(), f"no pinned schema for {message.job_name()}; see this module's docstring"
    assert path.read_text() == current, (
        f"{message.job_name()} changed its JSON Schema: publish a new version instead, "
        "or re-pin it on purpose (see this module's docstring)"
    )


def test_message_names_are_unique_and_versioned() -> None:
    names = [m.job_name() for m in ALL_MESSAGES]
    assert len(names) == len(set(names))
    assert all(name.rsplit(".", 1)[1].startswith("v") for name in names)


def test_messages_are_frozen_json_without_pickle() -> None:
    for message in ALL_MESSAGES:
        assert message.model_config.get("frozen") is True
        assert message.model_config.get("extra") == "forbid"


def test_trace_context_is_optional_and_absent_from_untraced_json() -> None:
    """Why tracing is no new version: the field is optional in every pinned schema, and a
    message staged without a trace (tracing off) is the JSON consumers always had."""
    for message in ALL_MESSAGES:
        schema = message.model_json_schema()
        assert schema["properties"]["trace_context"]["default"] is None, message.job_name()
        assert "trace_context" not in schema["required"], message.job_name()
    untraced = MentionIngested(
        message_id=uuid.UUID(int=1),
        organization_id=uuid.UUID(int=2),
        mention_ids=[uuid.UUID(int=3)],
    )
    assert untraced.model_dump(mode="json") == {
        "message_id": str(uuid.UUID(int=1)),
        "organization_id": str(uuid.UUID(int=2)),
        "mention_ids": [str(uuid.UUID(int=3))],
    }
    stamp = TraceContext(traceparent=f"00-{'a' * 32}-{'b' * 16}-01", tracestate="vendor=1")
    traced = untraced.model_copy(update={"trace_context": stamp})
    assert MentionIngested.model_validate(traced.model_dump(mode="json")) == traced


def test_the_acting_person_is_optional_and_absent_from_a_service_account_command() -> None:
    """Why naming the person is no new version: every command may leave it out, and one
    sent with a service account's key is the JSON consumers always had."""
    for message in ALL_MESSAGES:
        if not issubclass(message, Command):
            continue
        schema = message.model_json_schema()
        assert schema["properties"]["acting_person_id"]["default"] is None, message.job_name()
        assert "acting_person_id" not in schema["required"], message.job_name()
    service = AcknowledgeIncident(
        message_id=uuid.UUID(int=1),
        organization_id=uuid.UUID(int=2),
        actor="api_key:key",
        incident_id=uuid.UUID(int=3),
    )
    assert "acting_person_id" not in service.model_dump(mode="json")
    person = service.model_copy(update={"acting_person_id": uuid.UUID(int=4)})
    assert person.model_dump(mode="json")["acting_person_id"] == str(uuid.UUID(int=4))
    assert AcknowledgeIncident.model_validate(person.model_dump(mode="json")) == person


@pytest.mark.parametrize("body", list(EVENT_BODIES.values()), ids=lambda b: b.TYPE.value)
def test_event_payload_schema_matches_the_pinned_contract(body: type[EventBody]) -> None:
    path = PINNED / "events" / f"{body.TYPE.value}.json"
    schema = body.model_json_schema(by_alias=True, mode="serialization")
    current = json.dumps(schema, indent=2, ensure_ascii=False) + "\n"
    if os.environ.get("UPDATE_CONTRACTS") == "1":
        path.parent.mkdir(exist_ok=True)
        path.write_text(current)
    assert path.exists(), f"no pinned schema for {body.TYPE.value}; see this module's docstring"
    assert path.read_text() == current, (
        f"the {body.TYPE.value} payload changed: receivers depend on it; re-pin it on purpose"
    )


def test_every_event_type_has_a_typed_payload() -> None:
    assert set(EVENT_BODIES) == set(EventType)


def test_event_payload_json_keeps_offsets_aliases_and_explicit_nulls() -> None:
    at = datetime(2026, 11, 21, 8, 0, tzinfo=UTC)
    body = IncidentStatusChanged(
        incident_id=uuid.UUID(int=1),
        from_="detected",
        to="acknowledged",
        actor="key-1",
        reason=None,
        timeline_event_id=uuid.UUID(int=2),
    ).body()
    assert body == {
        "incident_id": str(uuid.UUID(int=1)),
        "from": "detected",
        "to": "acknowledged",
        "actor": "key-1",
        "reason": None,
        "timeline_event_id": str(uuid.UUID(int=2)),
    }
    published = StatementPublished(
        statement_id=uuid.UUID(int=3),
        incident_id=uuid.UUID(int=1),
        channel="weibo",
        url=None,
        published_at=at,
    ).body()
    assert published["published_at"] == at.isoformat() == "2026-11-21T08:00:00+00:00"
    assert parse_body(EventType.STATEMENT_PUBLISHED, {**published, "incident": {}}) == (
        StatementPublished.model_validate(published)
    )
