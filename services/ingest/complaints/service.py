"""Complaints from partner desks: a mention of source `complaint` plus a `complaint` row.

The complaint's text becomes a mention like any other, so analysis scores it and complaint
bursts count towards risk; the text is stored with phone numbers, e-mail addresses and ID
numbers masked. The details only the customer-service desk needs (customer reference, order,
channel, contacts) live in the `complaint` row, contacts encrypted under the organization's
key for complaint contacts with the row bound in; contacts and the order number are masked
in every answer.

What the routes call. Storing returns `(StoredComplaint, Outcome)`: the answer the route
needs and the `mention.ingested.v1` to emit once the caller's unit of work commits. A read
changes nothing and emits nothing, so it returns only its answer. Takes the caller's session
and never commits.
"""

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import orjson
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import AuthorKind, ContactKind, Source
from libs.contracts.outcome import Outcome
from libs.database.tables import Complaint, Mention
from libs.ids import new_id
from libs.organization_keys import COMPLAINT_ID, organization_key
from libs.privacy import (
    DataKey,
    DataKeyError,
    Purpose,
    decrypt,
    encrypt,
    mask_contact,
    mask_order_id,
    mask_text,
    row_context,
)
from libs.quotas import MentionVolume
from libs.settings import Settings
from services.ingest.complaints import repository
from services.ingest.complaints.schemas import (
    ComplaintIn,
    ComplaintOut,
    ContactIn,
    ContactOut,
)
from services.ingest.problems import ProblemError
from services.ingest.schemas import AuthorIn, FieldError, MentionIn, MetricsIn
from services.ingest.service import announce, store_batch
from services.ingest.volume import admit

log = logging.getLogger(__name__)

EXTERNAL_ID_PREFIX = "cpl-"
# Full-width letters, digits and the signs of addresses (１３８…, ｘ＠ｙ．ｃｎ) as ASCII, so
# masking finds them; Chinese punctuation (，。（）) is left as written.
_FULLWIDTH = {
    code: code - 0xFEE0
    for code in range(0xFF01, 0xFF5F)
    if chr(code - 0xFEE0).isalnum() or chr(code - 0xFEE0) in "@+-._"
}


@dataclass(frozen=True)
class ContactKey:
    """The key that encrypts contacts, or why there is none (answered as a 503)."""

    key: DataKey | None
    missing: str = ""

    @classmethod
    def from_settings(cls, settings: Settings) -> "ContactKey":
        """Return the configured data key, or None and why contacts must be refused."""
        if not settings.data_key or not settings.data_key.strip():
            log.warning("no data key configured: complaints with contact details are refused")
            return cls(None, "the service has no data key configured")
        try:
            return cls(DataKey.from_settings(settings))
        except DataKeyError as error:
            log.error("the data key is unusable, complaints with contacts are refused: %s", error)
            return cls(None, "the service's data key is misconfigured")


@dataclass(frozen=True)
class StoredComplaint:
    """The complaint as answered, whether it was created now, and whether its mention was."""

    complaint: ComplaintOut
    created: bool
    mention_created: bool


def require_key(complaint: ComplaintIn, contact_key: ContactKey) -> None:
    """Refuse contacts the service has no key to encrypt: they are never stored in clear."""
    if complaint.contacts and contact_key.key is None:
        explain = (
            f"contact details cannot be stored: {contact_key.missing}; "
            "send the complaint without them"
        )
        raise ProblemError(
            503,
            "Contact encryption unavailable",
            explain,
            [FieldError(field="contacts", reason=explain)],
        )


async def create_complaint(
    session: AsyncSession,
    organization_id: uuid.UUID,
    complaint: ComplaintIn,
    contact_key: ContactKey,
    now: datetime,
    volume: MentionVolume | None = None,
) -> tuple[StoredComplaint, Outcome]:
    """Store a complaint as a mention to analyse, its contacts encrypted, and announce it.

    It counts as one mention against the organization's mention quotas (`volume`); past
    one, it is refused with 429 naming the quota.
    """
    require_key(complaint, contact_key)
    await admit(volume, organization_id, 1)
    stored = await store(session, organization_id, complaint, contact_key.key, now)
    if not stored.mention_created:
        return stored, Outcome()
    return stored, announce(organization_id, [stored.complaint.mention_id])


async def store(
    session: AsyncSession,
    organization_id: uuid.UUID,
    complaint: ComplaintIn,
    key: DataKey | None,
    now: datetime,
) -> StoredComplaint:
    """Store the complaint and its mention; the same external id again returns the first."""
    unique: dict[tuple[ContactKind, str], ContactIn] = {}
    for contact in complaint.contacts:
        unique.setdefault((contact.kind, contact.value), contact)
    contacts = list(unique.values())
    if contacts and key is None:
        raise ValueError("contacts need a data key; call require_key first")
    external_id = complaint.external_id
    if not external_id:
        id_key = (
            await organization_key(session, key, organization_id, COMPLAINT_ID) if key else None
        )
        external_id = derived_external_id(complaint, id_key)
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
    batch = await store_batch(session, organization_id, {0: mention})
    mention_id = batch.ids[0]

    complaint_id = new_id()
    cipher = None
    if contacts and key is not None:
        clear = orjson.dumps([{"kind": c.kind.value, "value": c.value} for c in contacts])
        context = row_context(organization_id, complaint_id, Purpose.COMPLAINT_CONTACTS)
        cipher = encrypt(key, clear.decode(), context)
    created = await repository.insert_complaint(
        session,
        Complaint(
            id=complaint_id,
            organization_id=organization_id,
            mention_id=mention_id,
            customer_ref=customer_ref,
            order_id=complaint.order_id,
            channel=complaint.channel.value,
            contacts_masked=_masked_contacts(contacts),
            contacts_cipher=cipher,
            created_at=now,
        ),
    )
    found = await repository.complaint_with_mention(session, organization_id, mention_id=mention_id)
    if found is None:  # the mention is this organization's, so its complaint is too
        raise RuntimeError(f"complaint for mention {mention_id} vanished")
    return StoredComplaint(
        complaint=_complaint_out(*found), created=created, mention_created=0 in batch.new
    )


async def get_complaint(
    session: AsyncSession, organization_id: uuid.UUID, complaint_id: uuid.UUID
) -> ComplaintOut | None:
    """Return a complaint of this organization, masked, or None."""
    found = await repository.complaint_with_mention(
        session, organization_id, complaint_id=complaint_id
    )
    return _complaint_out(*found) if found else None


def derived_external_id(complaint: ComplaintIn, key: bytes | None) -> str:
    """Return a stable id for a complaint sent without one, so a resend is one complaint.

    With the organization's complaint-id `key` it is a keyed hash of the clear content, so
    the id reveals nothing even when the customer reference is a phone number; that key
    survives data-key rotations (`libs.organization_keys`), so a resend still matches.
    Without one it hashes the masked forms.
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
        digest = hmac.new(key, b"complaint-external-id\n" + payload, hashlib.sha256)
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
    context = row_context(complaint.organization_id, complaint.id, Purpose.COMPLAINT_CONTACTS)
    clear = decrypt(key, complaint.contacts_cipher, context)
    return [ContactIn.model_validate(item) for item in orjson.loads(clear)]


_COMPLAINT_OUT_FIELDS: Final = set(ComplaintOut.model_fields) - {
    "external_id",
    "order_id",
    "text",
    "occurred_at",
    "contacts",
}
"""The answer's fields a stored complaint has under the same name and meaning; the others
come from its mention, and its order number and contacts only masked."""


def _complaint_out(complaint: Complaint, mention: Mention) -> ComplaintOut:
    """Return the answer for a stored complaint and its mention: personal data masked."""
    return ComplaintOut(
        **complaint.model_dump(include=_COMPLAINT_OUT_FIELDS),
        external_id=mention.external_id,
        order_id=mask_order_id(complaint.order_id) if complaint.order_id else None,
        text=mention.text,
        occurred_at=mention.posted_at,
        contacts=contacts_out(complaint.contacts_masked),
    )
