"""Complaints from partner desks: a mention of source `complaint` plus a `complaint` row.

The complaint's text becomes a mention like any other, so analysis scores it and complaint
bursts count towards risk; the text is stored with phone numbers, e-mail addresses and ID
numbers masked. The details only the customer-service desk needs (customer reference, order,
channel, contacts) live in the `complaint` row, contacts encrypted under the data key with
the row bound in, and masked for every answer. Takes a session and never commits.
"""

import hashlib
import hmac
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

import orjson
from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
)
from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, ContactKind, Source
from libs.database.tables import Complaint, Mention
from libs.privacy import (
    ContactError,
    DataKey,
    decrypt,
    encrypt,
    mask_contact,
    mask_text,
    normalize_contact,
    row_context,
)
from services.ingest import service
from services.ingest.problems import ProblemError
from services.ingest.schemas import (
    EARLIEST_POST,
    FUTURE_TOLERANCE,
    AuthorIn,
    FieldError,
    MentionIn,
    MetricsIn,
    Text,
)
from services.ingest.validation import errors_of

MAX_CONTACTS = 10
MAX_CUSTOMER_REF = 120
EXTERNAL_ID_PREFIX = "cpl-"
# Full-width letters, digits and the signs of addresses (１３８…, ｘ＠ｙ．ｃｎ) as ASCII, so
# masking finds them; Chinese punctuation (，。（）) is left as written.
_FULLWIDTH = {
    code: code - 0xFEE0
    for code in range(0xFF01, 0xFF5F)
    if chr(code - 0xFEE0).isalnum() or chr(code - 0xFEE0) in "@+-._"
}


class ComplaintChannel(StrEnum):
    """Where the customer complained (渠道)."""

    HOTLINE = "hotline"  # 客服热线 / 400 numbers
    APP = "app"  # in-app feedback
    ECOMMERCE_PLATFORM = "ecommerce_platform"  # Tmall, JD, Pinduoduo… store complaints
    CUSTOMER_SERVICE_DESK = "customer_service_desk"  # online or in-store service desk
    EMAIL = "email"
    WECHAT = "wechat"  # official account or mini-program customer service
    REGULATOR = "regulator"  # 12315 and consumer associations (消费者协会)
    STORE = "store"  # in person at a shop or counter
    OTHER = "other"


class ContactIn(BaseModel):
    """A way to reach the customer; stored only encrypted, answered only masked."""

    model_config = ConfigDict(extra="forbid")

    kind: ContactKind
    value: str = Field(
        min_length=1,
        max_length=200,
        description="Phone (mainland mobile or +country code), e-mail, ID card number, or other.",
    )

    @field_validator("value")
    @classmethod
    def _normalized(cls, value: str, info: ValidationInfo) -> str:
        kind = info.data.get("kind")
        if not isinstance(kind, ContactKind):
            return value  # the kind is already reported as wrong
        try:
            return normalize_contact(kind, value)
        except ContactError as error:
            raise ValueError(str(error)) from error


class ComplaintIn(BaseModel):
    """A customer complaint as a service desk or platform sends it."""

    model_config = ConfigDict(
        extra="forbid",
        str_strip_whitespace=True,
        json_schema_extra={
            "examples": [
                {
                    "customer_ref": "CUST-0042781",
                    "order_id": "TM20261121083012",
                    "channel": "hotline",
                    "text": "奶粉喝了以后宝宝拉肚子，请回电 13812345678",
                    "occurred_at": "2026-11-21T08:30:00+08:00",
                    "contacts": [{"kind": "phone", "value": "13812345678"}],
                }
            ]
        },
    )

    customer_ref: Text = Field(
        min_length=1,
        max_length=MAX_CUSTOMER_REF,
        description="The customer's id in the sender's system; phone numbers in it are masked.",
    )
    order_id: Text | None = Field(default=None, min_length=1, max_length=200)
    channel: ComplaintChannel
    text: Text = Field(min_length=1, max_length=20_000, description="What the customer said.")
    occurred_at: AwareDatetime | None = Field(
        default=None, description="When the customer complained, with offset; default now."
    )
    contacts: list[ContactIn] = Field(default_factory=list, max_length=MAX_CONTACTS)
    external_id: Text | None = Field(
        default=None,
        min_length=1,
        max_length=200,
        description="The complaint's id in the sender's system; derived from the content if "
        "absent. The same external id again is the same complaint.",
    )

    @field_validator("occurred_at")
    @classmethod
    def _plausible_time(cls, value: datetime | None) -> datetime | None:
        if value is None:
            return value
        if value < EARLIEST_POST:
            raise ValueError("must be in the year 2000 or later")
        if value > datetime.now(UTC) + FUTURE_TOLERANCE:
            raise ValueError("is more than a day in the future; check its time zone offset")
        return value


class ContactOut(BaseModel):
    """A contact as shown: masked, e.g. 138****5678."""

    kind: ContactKind
    masked: str


class ComplaintOut(BaseModel):
    """A stored complaint; personal data masked."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "0b7d3c52-8a0e-4f7e-9a57-3a0f4c2c9d11",
                    "mention_id": "6a1f6a43-4d9e-4a4b-8d43-2f1b7d0c5e66",
                    "external_id": "cpl-3f2a…",
                    "customer_ref": "CUST-0042781",
                    "order_id": "TM20261121083012",
                    "channel": "hotline",
                    "text": "奶粉喝了以后宝宝拉肚子，请回电 138****5678",
                    "occurred_at": "2026-11-21T00:30:00Z",
                    "contacts": [{"kind": "phone", "masked": "138****5678"}],
                    "created_at": "2026-11-21T00:30:02Z",
                }
            ]
        }
    )

    id: uuid.UUID
    mention_id: uuid.UUID
    external_id: str
    customer_ref: str
    order_id: str | None
    channel: ComplaintChannel
    text: str = Field(description="The complaint text with phone, e-mail and ID numbers masked.")
    occurred_at: datetime
    contacts: list[ContactOut]
    created_at: datetime


@dataclass(frozen=True)
class Stored:
    """The complaint as answered, whether it was created now, and whether its mention was."""

    complaint: ComplaintOut
    created: bool
    mention_created: bool


def parse(data: Any) -> ComplaintIn:
    """Validate a decoded body, naming each bad field (`contacts[0].value`)."""
    if not isinstance(data, dict):
        raise ProblemError(422, "Invalid request", "body: expected a JSON object")
    try:
        return ComplaintIn.model_validate(data)
    except ValidationError as exc:
        errors = errors_of(exc, "")
        detail = "; ".join(f"{e.field}: {e.reason}" for e in errors)
        raise ProblemError(422, "Invalid request", detail, errors) from exc


def require_key(complaint: ComplaintIn, key: DataKey | None, reason: str) -> None:
    """Refuse contacts the service has no key to encrypt: they are never stored in clear."""
    if complaint.contacts and key is None:
        explain = f"contact details cannot be stored: {reason}; send the complaint without them"
        raise ProblemError(
            503,
            "Contact encryption unavailable",
            explain,
            [FieldError(field="contacts", reason=explain)],
        )


def derived_external_id(complaint: ComplaintIn, key: DataKey | None) -> str:
    """Return a stable id for a complaint sent without one, so a resend is one complaint.

    With a data key it is a keyed hash of the clear content, so the id reveals nothing even
    when the customer reference is a phone number; without one it hashes the masked forms.
    """
    parts: list[str | None] = [
        complaint.channel.value,
        complaint.customer_ref if key else masked(complaint.customer_ref),
        complaint.order_id,
        complaint.text if key else masked(complaint.text),
        complaint.occurred_at.isoformat() if complaint.occurred_at else None,
    ]
    payload = orjson.dumps(parts)
    if key is not None:
        digest = hmac.new(key.secret, b"complaint-external-id\n" + payload, hashlib.sha256)
        return EXTERNAL_ID_PREFIX + digest.hexdigest()
    return EXTERNAL_ID_PREFIX + hashlib.sha256(payload).hexdigest()


def masked(text: str) -> str:
    """Return `text` with phone, e-mail and ID numbers masked, full-width ones included."""
    return mask_text(text.translate(_FULLWIDTH))


def _masked_contacts(contacts: list[ContactIn]) -> dict[str, str]:
    """Key each masked contact by kind: `phone`, `phone_2`, `email`… (JSONB keeps no order)."""
    shown: dict[str, str] = {}
    counts: dict[ContactKind, int] = {}
    for contact in contacts:
        counts[contact.kind] = counts.get(contact.kind, 0) + 1
        n = counts[contact.kind]
        name = contact.kind.value if n == 1 else f"{contact.kind.value}_{n}"
        shown[name] = mask_contact(contact.kind, contact.value)
    return shown


def contacts_out(stored: dict[str, str]) -> list[ContactOut]:
    """Return stored masked contacts in a stable order: by kind, then as sent."""
    order = {kind: position for position, kind in enumerate(ContactKind)}
    items: list[tuple[int, int, ContactOut]] = []
    for name, value in stored.items():
        base, _, suffix = name.rpartition("_")
        if not (base and suffix.isdigit()):
            base, suffix = name, "1"
        try:
            kind = ContactKind(base)
        except ValueError:
            kind = ContactKind.OTHER
        items.append((order[kind], int(suffix), ContactOut(kind=kind, masked=value)))
    return [contact for _, _, contact in sorted(items, key=lambda item: item[:2])]


def decrypt_contacts(key: DataKey, complaint: Complaint) -> list[ContactIn]:
    """Return the clear contacts of a stored complaint (for whoever must call the customer)."""
    if complaint.contacts_cipher is None:
        return []
    clear = decrypt(
        key, complaint.contacts_cipher, row_context(complaint.organization_id, complaint.id)
    )
    return [ContactIn.model_validate(item) for item in orjson.loads(clear)]


async def store(
    session: AsyncSession,
    organization_id: uuid.UUID,
    complaint: ComplaintIn,
    key: DataKey | None,
    now: datetime,
) -> Stored:
    """Store the complaint and its mention; the same external id again returns the first."""
    unique: dict[tuple[ContactKind, str], ContactIn] = {}
    for contact in complaint.contacts:
        unique.setdefault((contact.kind, contact.value), contact)
    contacts = list(unique.values())
    if contacts and key is None:
        raise ValueError("contacts need a data key; call require_key first")
    external_id = complaint.external_id or derived_external_id(complaint, key)
    customer_ref = masked(complaint.customer_ref)
    mention = MentionIn.model_construct(
        source=Source.COMPLAINT,
        external_id=external_id,
        text=masked(complaint.text),
        url=None,
        posted_at=complaint.occurred_at or now,
        author=AuthorIn.model_construct(
            handle=customer_ref, followers=0, verified=False, kind=AuthorKind.USER
        ),
        metrics=MetricsIn(),
        repost_of=None,
    )
    outcome = await service.store_batch(session, organization_id, {0: mention})
    mention_id = outcome.ids[0]

    complaint_id = uuid.uuid4()
    cipher = None
    if contacts and key is not None:
        clear = orjson.dumps([{"kind": c.kind.value, "value": c.value} for c in contacts])
        cipher = encrypt(key, clear.decode(), row_context(organization_id, complaint_id))
    inserted = await session.exec(
        insert(Complaint)
        .values(
            id=complaint_id,
            organization_id=organization_id,
            mention_id=mention_id,
            customer_ref=customer_ref,
            order_id=complaint.order_id,
            channel=complaint.channel.value,
            contacts_masked=_masked_contacts(contacts),
            contacts_cipher=cipher,
            created_at=now,
        )
        .on_conflict_do_nothing(index_elements=["mention_id"])
        .returning(col(Complaint.id))
    )
    created = inserted.first() is not None
    found = await _load(session, organization_id, mention_id=mention_id)
    if found is None:  # the mention is this organization's, so its complaint is too
        raise RuntimeError(f"complaint for mention {mention_id} vanished")
    return Stored(complaint=found, created=created, mention_created=0 in outcome.new)


async def get(
    session: AsyncSession, organization_id: uuid.UUID, complaint_id: uuid.UUID
) -> ComplaintOut | None:
    """Return a complaint of this organization, masked, or None."""
    return await _load(session, organization_id, complaint_id=complaint_id)


async def _load(
    session: AsyncSession,
    organization_id: uuid.UUID,
    *,
    complaint_id: uuid.UUID | None = None,
    mention_id: uuid.UUID | None = None,
) -> ComplaintOut | None:
    query = (
        select(Complaint, Mention)
        .join(Mention, col(Mention.id) == col(Complaint.mention_id))
        .where(col(Complaint.organization_id) == organization_id)
    )
    if complaint_id is not None:
        query = query.where(col(Complaint.id) == complaint_id)
    if mention_id is not None:
        query = query.where(col(Complaint.mention_id) == mention_id)
    row = (await session.exec(query)).first()
    if row is None:
        return None
    complaint, mention = row
    return ComplaintOut(
        id=complaint.id,
        mention_id=mention.id,
        external_id=mention.external_id,
        customer_ref=complaint.customer_ref,
        order_id=complaint.order_id,
        channel=ComplaintChannel(complaint.channel),
        text=mention.text,
        occurred_at=mention.posted_at,
        contacts=contacts_out(complaint.contacts_masked),
        created_at=complaint.created_at,
    )
