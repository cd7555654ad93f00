"""Request and response shapes of the complaint routes."""

import uuid
from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from libs.contracts.enums import ContactKind
from libs.privacy import ContactError, normalize_contact
from services.ingest.schemas import PlausibleTime, Text

MAX_CONTACTS = 10
MAX_CUSTOMER_REF = 120


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
    occurred_at: PlausibleTime | None = Field(
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
                    "order_id": "************3012",
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
    order_id: str | None = Field(description="The order number masked to its last four: ****3012.")
    channel: ComplaintChannel
    text: str = Field(
        description="The complaint text with phone numbers, e-mail addresses, ID and order "
        "numbers masked."
    )
    occurred_at: datetime
    contacts: list[ContactOut]
    created_at: datetime
