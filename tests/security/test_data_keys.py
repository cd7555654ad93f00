"""Finding 16 replayed: one data key for every organization, and it was the complaint-id HMAC key.

An organization's ciphertext presented as another's (same row bytes, other tenant) or as
another purpose's must not open; a key derived for one organization opens nothing of another.
Rotation is replayed on real PostgreSQL with data sealed by the services themselves and with
blobs written the way the single key wrote them before: `crisiswatch keys rotate` seals all of
it under the new key, the old key can then go, everything still reads, and a complaint resent
after the rotation is still the same complaint.
"""

import base64
import hashlib
import hmac
import os
import uuid
from datetime import UTC, datetime

import orjson
import pytest
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import LargeBinary, text
from sqlmodel import select

from crisiswatch.keys_rotate import SEALED_COLUMNS, rotate
from libs.contracts.enums import EndpointKind
from libs.data_keys import (
    Context,
    DataKey,
    DataKeyError,
    DecryptionError,
    Purpose,
    decrypt,
    derived_key,
    encrypt,
    generate_key,
    row_context,
    sealed_with,
)
from libs.database.engine import transaction
from libs.database.tables import AffectedUser, Complaint, WebhookEndpoint, metadata
from libs.database.tables._types import utcnow
from libs.settings import Settings
from services.incidents.aftercare import service as aftercare
from services.incidents.tests.builders import add_user_command, stage_incident
from services.ingest.complaints import service as complaints
from services.ingest.complaints.schemas import ComplaintIn
from services.ingest.tests.builders import complaint
from services.notify.endpoints import webhook_secrets
from tests.builders import Sessions

ORG_A = uuid.UUID("00000000-0000-4000-8000-00000000000a")
ORG_B = uuid.UUID("00000000-0000-4000-8000-00000000000b")
ROW = uuid.UUID("00000000-0000-4000-8000-000000000001")
PHONE = "13800135678"
NOW = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)


def legacy_seal(master: bytes, text: str, organization_id: uuid.UUID, row_id: uuid.UUID) -> bytes:
    """What the single data key wrote before keys were derived (format 1), byte for byte."""
    nonce = os.urandom(12)
    bound = b"crisiswatch:" + organization_id.bytes + row_id.bytes
    return b"\x01" + nonce + AESGCM(master).encrypt(nonce, text.encode(), bound)


@pytest.fixture
def key() -> DataKey:
    return DataKey.from_base64(generate_key())


def test_one_organizations_ciphertext_does_not_open_as_anothers(key: DataKey) -> None:
    sealed_a = encrypt(key, PHONE, row_context(ORG_A, ROW, Purpose.AFFECTED_USER_CONTACT))
    context_b = row_context(ORG_B, ROW, Purpose.AFFECTED_USER_CONTACT)
    sealed_b = encrypt(key, PHONE, context_b)
    assert sealed_a[17:] != sealed_b[17:]
    # The attack: B's ciphertext with the very bytes it was bound to, opened as A's.
    as_a = Context(ORG_A, Purpose.AFFECTED_USER_CONTACT, context_b.bound)
    with pytest.raises(DecryptionError):
        decrypt(key, sealed_b, as_a)
    assert decrypt(key, sealed_b, context_b) == PHONE


def test_a_key_derived_for_one_organization_opens_nothing_of_another(key: DataKey) -> None:
    context_a = row_context(ORG_A, ROW, Purpose.COMPLAINT_CONTACTS)
    context_b = row_context(ORG_B, ROW, Purpose.COMPLAINT_CONTACTS)
    key_a = derived_key(key.secret, context_a)
    assert key_a not in (key.secret, derived_key(key.secret, context_b))
    sealed_a = encrypt(key, PHONE, context_a)
    sealed_b = encrypt(key, PHONE, context_b)
    header, nonce, body = sealed_a[:5], sealed_a[5:17], sealed_a[17:]
    assert AESGCM(key_a).decrypt(nonce, body, header + context_a.bound) == PHONE.encode()
    header, nonce, body = sealed_b[:5], sealed_b[5:17], sealed_b[17:]
    with pytest.raises(InvalidTag):
        AESGCM(key_a).decrypt(nonce, body, header + context_b.bound)


def test_purposes_are_separated(key: DataKey) -> None:
    secret = encrypt(key, "whsec_abc", row_context(ORG_A, ROW, Purpose.ENDPOINT_SECRET))
    for other in Purpose:
        if other is not Purpose.ENDPOINT_SECRET:
            with pytest.raises(DecryptionError):
                decrypt(key, secret, row_context(ORG_A, ROW, other))
    keys = {derived_key(key.secret, row_context(ORG_A, ROW, purpose)) for purpose in Purpose}
    assert len(keys) == len(Purpose)


def test_ciphertexts_name_their_key_and_legacy_blobs_still_open(key: DataKey) -> None:
    context = row_context(ORG_A, ROW, Purpose.AFFECTED_USER_CONTACT)
    assert sealed_with(encrypt(key, PHONE, context)) == key.key_id
    legacy = legacy_seal(key.secret, PHONE, ORG_A, ROW)
    assert sealed_with(legacy) == "0"
    assert decrypt(key, legacy, context) == PHONE
    newer = DataKey(os.urandom(32), (key.secret,))
    assert decrypt(newer, legacy, context) == PHONE
    with pytest.raises(DecryptionError, match=f"sealed under data key {key.key_id}"):
        decrypt(DataKey(os.urandom(32)), encrypt(key, PHONE, context), context)


def test_the_ring_is_read_from_the_settings(key: DataKey) -> None:
    old_text, new_text = generate_key(), generate_key()
    ring = DataKey.from_settings(
        Settings(data_key=new_text, data_keys_previous=f" {old_text} ,{new_text},")
    )
    assert ring.secret == base64.b64decode(new_text)
    assert ring.previous == (base64.b64decode(old_text),)  # the current key is not repeated
    assert old_text not in repr(ring) and new_text not in repr(ring)
    with pytest.raises(DataKeyError, match="CRISISWATCH_DATA_KEYS_PREVIOUS is not valid"):
        DataKey.from_settings(Settings(data_key=new_text, data_keys_previous="nope!"))


def test_every_stored_ciphertext_column_is_rotated() -> None:
    stored = {
        f"{table.name}.{column.name}"
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, LargeBinary) and column.name.endswith("_cipher")
    }
    assert stored == {sealed.name for sealed in SEALED_COLUMNS}


async def _affected_user(sessions: Sessions, key: DataKey, contact: str) -> AffectedUser:
    staged = await stage_incident(sessions)
    async with transaction(sessions) as session:
        command = add_user_command(staged.incident, contact=contact)
        outcome = await aftercare.add_affected_user(session, command, key, now=NOW)
    assert outcome.result is not None and outcome.result.ok, outcome
    async with sessions() as session:
        return (
            await session.exec(
                select(AffectedUser).where(AffectedUser.incident_id == staged.incident.id)
            )
        ).one()


async def _complaint(
    sessions: Sessions, key: DataKey, organization_id: uuid.UUID
) -> complaints.StoredComplaint:
    async with transaction(sessions) as session:
        body = ComplaintIn.model_validate(complaint())  # no external id: one is derived
        return await complaints.store(session, organization_id, body, key, utcnow())


async def _endpoint(
    sessions: Sessions, key: DataKey, organization_id: uuid.UUID, kind: EndpointKind
) -> WebhookEndpoint:
    endpoint = WebhookEndpoint(
        organization_id=organization_id,
        name=kind.value,
        kind=kind.value,
        url="https://hooks.example.com/x",
        event_types=["incident.opened"],
        secret_cipher=b"",
    )
    endpoint.secret_cipher = webhook_secrets.seal(key, endpoint, f"{kind.value}-current")
    async with transaction(sessions) as session:
        session.add(endpoint)
    return endpoint


async def _ciphertexts(sessions: Sessions) -> list[bytes]:
    found: list[bytes] = []
    async with sessions() as session:
        for sealed in SEALED_COLUMNS:
            connection = await session.connection()
            rows = await connection.execute(
                text(f"SELECT {sealed.column} FROM {sealed.table} WHERE {sealed.column} <> ''")
            )
            found.extend(bytes(value) for value in rows.scalars() if value is not None)
    return found


async def test_rotation_seals_everything_again_and_the_old_key_can_go(sessions: Sessions) -> None:
    old = DataKey.from_base64(generate_key())
    # Sealed by the services under the old key: contacts, complaint contacts, endpoint secrets.
    user_a = await _affected_user(sessions, old, "13800135678")
    user_b = await _affected_user(sessions, old, "13900135679")
    org_a, org_b = user_a.organization_id, user_b.organization_id
    complaint_a = await _complaint(sessions, old, org_a)
    complaint_b = await _complaint(sessions, old, org_b)
    standard = await _endpoint(sessions, old, org_a, EndpointKind.STANDARD)
    bot = await _endpoint(sessions, old, org_b, EndpointKind.WECOM)
    # Written before keys were derived: the single key itself, format 1.
    async with transaction(sessions) as session:
        row = await session.get(AffectedUser, user_b.id)
        assert row is not None
        row.contact_cipher = legacy_seal(old.secret, "13900135679", org_b, user_b.id)
        endpoint = await session.get(WebhookEndpoint, standard.id)
        assert endpoint is not None
        endpoint.previous_secret_cipher = legacy_seal(
            old.secret, "whsec_before", org_a, standard.id
        )
        endpoint.previous_secret_expires_at = datetime(2099, 1, 1, tzinfo=UTC)
    stored = await _ciphertexts(sessions)
    # 2 users, 2 complaints, 2 endpoint secrets and 1 previous, 2 organizations' complaint-id keys
    assert len(stored) == 9
    assert sorted(sealed_with(blob) for blob in stored).count("0") == 2

    new = DataKey(os.urandom(32), (old.secret,))
    only_new = DataKey(new.secret)
    async with sessions() as session:
        before = await session.get(AffectedUser, user_a.id)
        assert before is not None
        with pytest.raises(DecryptionError):  # nothing is under the new key yet
            await aftercare.reveal_contact(session, org_a, user_a.id, only_new)

    said: list[str] = []
    first = await rotate(sessions, new, batch_size=2, say=said.append)
    assert (first.resealed, first.remaining) == (9, 0), said
    assert {sealed_with(blob) for blob in await _ciphertexts(sessions)} == {new.key_id}
    again = await rotate(sessions, new, batch_size=2)
    assert (again.resealed, again.remaining) == (0, 0)
    assert sum(column.already_current for column in again.columns) == 9

    # The old key removed: everything still reads, with the new key alone.
    async with sessions() as session:
        assert await aftercare.reveal_contact(session, org_a, user_a.id, only_new) == PHONE
        assert await aftercare.reveal_contact(session, org_b, user_b.id, only_new) == (
            "13900135679"
        )
        for stored_complaint in (complaint_a, complaint_b):
            row_c = await session.get(Complaint, stored_complaint.complaint.id)
            assert row_c is not None
            contacts = complaints.decrypt_contacts(only_new, row_c)
            assert [c.kind.value for c in contacts] == ["phone", "email", "id_card"]
        endpoint = await session.get(WebhookEndpoint, standard.id)
        assert endpoint is not None
        assert webhook_secrets.signing_secrets(only_new, endpoint, NOW) == [
            "standard-current",
            "whsec_before",
        ]
        chat = await session.get(WebhookEndpoint, bot.id)
        assert chat is not None
        assert webhook_secrets.unseal(only_new, chat, chat.secret_cipher) == "wecom-current"

    # A complaint resent after the rotation is the same complaint.
    resent = await _complaint(sessions, only_new, org_a)
    assert not resent.created
    assert resent.complaint.id == complaint_a.complaint.id
    assert resent.complaint.external_id == complaint_a.complaint.external_id


async def test_complaint_ids_are_per_organization_and_not_keyed_by_the_data_key(
    sessions: Sessions,
) -> None:
    key = DataKey.from_base64(generate_key())
    org_a = (await stage_incident(sessions)).incident.organization_id
    org_b = (await stage_incident(sessions)).incident.organization_id
    in_a = await _complaint(sessions, key, org_a)
    in_b = await _complaint(sessions, key, org_b)
    # The same complaint in two organizations: ids that cannot be matched across tenants.
    assert in_a.complaint.external_id != in_b.complaint.external_id
    body = ComplaintIn.model_validate(complaint())
    payload = orjson.dumps(
        [
            body.channel.value,
            body.customer_ref,
            body.order_id,
            body.text,
            body.occurred_at.isoformat() if body.occurred_at else None,
        ]
    )
    under_data_key = hmac.new(key.secret, b"complaint-external-id\n" + payload, hashlib.sha256)
    assert in_a.complaint.external_id != "cpl-" + under_data_key.hexdigest()
