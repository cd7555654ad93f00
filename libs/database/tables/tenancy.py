"""Organizations, their API keys and their own secret keys.

Organizations and API keys are written by the admin commands of the `crisiswatch` CLI; an
organization key by the first process that needs it (`libs.organization_keys`).
"""

import uuid
from datetime import datetime

from sqlalchemy import CheckConstraint, LargeBinary, UniqueConstraint
from sqlmodel import Field, SQLModel

from libs.database.tables._types import OrganizationRow, at_field, id_field


class Organization(SQLModel, table=True):
    """A tenant: every other row belongs to one organization.

    `mention_retention_days` is how long its raw mentions (text, analysis, watchlist hits)
    are kept, counted from when each was posted; None keeps the operator's default
    (`RETENTION_MENTIONS_DAYS`, `libs.mention_retention`). `time_zone` (an IANA name) is
    where its on-call hand-offs happen. `story_bands_released_until` is how far back its
    quiet stories have given up their LSH band keys (`libs.story_bands`);
    `unanalysed_checked_until` up to when every mention is analysed or has a failure row
    (ingest's reconciler reads on from there; null: not yet, it reads them all once).
    """

    id: uuid.UUID = id_field()
    slug: str = Field(max_length=64, unique=True)
    name: str = Field(max_length=200)
    mention_retention_days: int | None = Field(default=None, ge=1)
    time_zone: str = Field(default="Asia/Shanghai", max_length=64)
    story_bands_released_until: datetime | None = at_field(nullable=True)
    unanalysed_checked_until: datetime | None = at_field(nullable=True)
    created_at: datetime = at_field(default_now=True)


class ApiKey(OrganizationRow, table=True):
    """A bearer key; only its SHA-256 is stored, the prefix finds the row without a scan.

    A key belongs to a person (`person_id`: it acts as them) or to a named service account
    (`service_account`: an integration acting as itself), never both and never neither.
    """

    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint(
            "(person_id IS NULL) <> (service_account IS NULL)", name="ck_api_key_one_owner"
        ),
    )

    name: str = Field(max_length=200)
    person_id: uuid.UUID | None = Field(default=None, foreign_key="person.id", index=True)
    service_account: str | None = Field(default=None, max_length=200)
    role: str = Field(max_length=16)
    prefix: str = Field(max_length=32, unique=True)
    key_hash: str = Field(max_length=64)
    created_at: datetime = at_field(default_now=True)
    revoked_at: datetime | None = at_field(nullable=True)


class OrganizationKey(OrganizationRow, table=True):
    """An organization's own random key for one purpose, stored sealed under the data key.

    A key derived from the data key changes when the data key is rotated; this one does not
    (`crisiswatch keys rotate` seals it again, its bytes stay), so what it computes stays
    comparable across rotations: the HMAC that makes complaint ids.
    """

    __tablename__ = "organization_key"
    __table_args__ = (UniqueConstraint("organization_id", "purpose"),)

    purpose: str = Field(max_length=32)
    key_cipher: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = at_field(default_now=True)
