"""Each organization's own random keys: made once, kept sealed under the data key.

A key derived from the data key changes with every rotation, which is right for sealing
(everything is sealed again) but wrong for a keyed hash that must stay comparable: a
complaint sent without an id gets one from an HMAC of its content, and a resend must get
the same id after a rotation as before. So that HMAC key is random per organization, made
the first time it is needed, and stored in `organization_key` sealed like any other secret;
`crisiswatch keys rotate` seals it again under the new data key and its bytes never change.
Takes the caller's session and never commits.
"""

import base64
import os
import uuid

from sqlalchemy.dialects.postgresql import insert
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.data_keys import KEY_BYTES, DataKey, Purpose, decrypt, encrypt, row_context
from libs.database.tables import OrganizationKey
from libs.ids import new_id

COMPLAINT_ID = "complaint-id"
"""The key of the HMAC that makes ids for complaints sent without one."""


async def organization_key(
    session: AsyncSession, key: DataKey, organization_id: uuid.UUID, purpose: str
) -> bytes:
    """Return the organization's key for `purpose`, making it the first time.

    Two processes making it at once both read the one that was stored first.
    """
    stored = await _stored(session, organization_id, purpose)
    if stored is None:
        row_id = new_id()
        fresh = base64.b64encode(os.urandom(KEY_BYTES)).decode("ascii")
        sealed = encrypt(key, fresh, row_context(organization_id, row_id, Purpose.ORGANIZATION_KEY))
        row = OrganizationKey(
            id=row_id, organization_id=organization_id, purpose=purpose, key_cipher=sealed
        )
        await session.exec(
            insert(OrganizationKey)
            .values(**row.model_dump())
            .on_conflict_do_nothing(index_elements=["organization_id", "purpose"])
        )
        stored = await _stored(session, organization_id, purpose)
        if stored is None:
            raise RuntimeError(f"organization key {purpose} of {organization_id} vanished")
    context = row_context(organization_id, stored.id, Purpose.ORGANIZATION_KEY)
    return base64.b64decode(decrypt(key, stored.key_cipher, context))


async def _stored(
    session: AsyncSession, organization_id: uuid.UUID, purpose: str
) -> OrganizationKey | None:
    found = await session.exec(
        select(OrganizationKey).where(
            col(OrganizationKey.organization_id) == organization_id,
            col(OrganizationKey.purpose) == purpose,
        )
    )
    return found.first()
