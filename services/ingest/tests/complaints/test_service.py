"""Complaints checked, masked and stored, on a rolled-back session."""

import uuid
from typing import Any

import orjson
import pytest
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.database.tables import Complaint, Mention
from libs.database.tables._types import utcnow
from libs.privacy import DataKey
from libs.text import normalize
from services.ingest.body import parse_body
from services.ingest.complaints import service
from services.ingest.complaints.schemas import ComplaintIn
from services.ingest.complaints.service import ContactKey, StoredComplaint
from services.ingest.problems import ProblemError
from services.ingest.tests.builders import EMAIL, PHONE, announced, complaint, count_of


@pytest.fixture
def contact_key(data_key_text: str) -> ContactKey:
    return ContactKey(DataKey.from_base64(data_key_text))


async def create(
    session: AsyncSession, organization: uuid.UUID, contact_key: ContactKey, **overrides: Any
) -> StoredComplaint:
    stored, _ = await service.create_complaint(
        session,
        organization,
        ComplaintIn.model_validate(complaint(**overrides)),
        contact_key,
        utcnow(),
    )
    return stored


async def test_a_new_complaint_announces_its_mention_once(
    session: AsyncSession, organization: uuid.UUID, contact_key: ContactKey
) -> None:
    body = ComplaintIn.model_validate(complaint(external_id="T-1"))
    first, announcing = await service.create_complaint(
        session, organization, body, contact_key, utcnow()
    )
    again, silent = await service.create_complaint(
        session, organization, body, contact_key, utcnow()
    )
    assert (first.created, again.created) == (True, False)
    assert again.complaint == first.complaint
    assert announced(announcing) == [(organization, [first.complaint.mention_id])]
    assert announced(silent) == []


async def test_full_width_numbers_in_the_text_are_masked_too(
    session: AsyncSession, organization: uuid.UUID, contact_key: ContactKey
) -> None:
    text = "请回电１３９８７６５４３２１，邮箱ａｂｃ＠ｅｘａｍｐｌｅ．ｃｎ。谢谢！"
    stored = await create(session, organization, contact_key, text=text, contacts=[])
    assert stored.complaint.text == "请回电139****4321，邮箱a***@example.cn。谢谢！"
    mention = await session.get(Mention, stored.complaint.mention_id)
    assert mention is not None
    assert "98765" not in mention.text and "98765" not in normalize(mention.text)


async def test_derived_external_id_makes_a_resend_one_complaint_and_hides_the_phone(
    session: AsyncSession, organization: uuid.UUID, contact_key: ContactKey
) -> None:
    first = await create(session, organization, contact_key, customer_ref=PHONE, contacts=[])
    again = await create(session, organization, contact_key, customer_ref=PHONE, contacts=[])
    other = await create(
        session, organization, contact_key, customer_ref="13800005678", contacts=[]
    )
    assert (first.created, again.created, other.created) == (True, False, True)
    assert again.complaint.id == first.complaint.id != other.complaint.id
    assert first.complaint.customer_ref == "138****5678"
    assert first.complaint.external_id.startswith("cpl-")
    assert PHONE not in first.complaint.model_dump_json()
    assert await count_of(session, Complaint, organization) == 2


async def test_contacts_without_a_data_key_are_refused_before_anything_is_stored(
    session: AsyncSession, organization: uuid.UUID
) -> None:
    missing = ContactKey(None, "the service has no data key configured")
    with pytest.raises(ProblemError) as raised:
        await create(session, organization, missing)
    assert raised.value.problem.status == 503
    assert [e.field for e in raised.value.problem.errors] == ["contacts"]
    assert await count_of(session, Complaint, organization) == 0
    assert await count_of(session, Mention, organization) == 0


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"customer_ref": ""}, "customer_ref"),
        ({"channel": "carrier_pigeon"}, "channel"),
        ({"text": "  "}, "text"),
        ({"text": "坏\x00字"}, "text"),
        ({"occurred_at": "2026-11-21T08:30:00"}, "occurred_at"),
        ({"occurred_at": "2099-01-01T00:00:00+08:00"}, "occurred_at"),
        ({"contacts": [{"kind": "phone", "value": "12345"}]}, "contacts[0].value"),
        (
            {"contacts": [{"kind": "email", "value": EMAIL}, {"kind": "id_card", "value": "1"}]},
            "contacts[1].value",
        ),
        ({"contacts": [{"kind": "fax", "value": "x"}]}, "contacts[0].kind"),
        ({"contacts": [{"kind": "other", "value": str(i)} for i in range(11)]}, "contacts"),
        ({"external_id": "x" * 201}, "external_id"),
        ({"urgency": "high"}, "urgency"),
    ],
)
def test_invalid_fields_are_named(overrides: dict[str, Any], field: str) -> None:
    with pytest.raises(ProblemError) as raised:
        parse_body(orjson.dumps(complaint(**overrides)), ComplaintIn, "a JSON object")
    problem = raised.value.problem
    assert problem.status == 422
    assert [e.field for e in problem.errors] == [field]
    assert PHONE not in problem.model_dump_json()


def test_stored_masked_contacts_come_back_in_a_stable_order() -> None:
    stored = {"email": "l***@x.cn", "phone_2": "139****0000", "id_card_2": "b", "phone": "a"}
    shown = [(c.kind.value, c.masked) for c in service.contacts_out(stored)]
    assert shown == [
        ("phone", "a"),
        ("phone", "139****0000"),
        ("email", "l***@x.cn"),
        ("id_card", "b"),
    ]
