"""A person as clients read them: name, paging channels, chat handles; the acting caller.

Paging contacts are personal data: admins and responders (who page people) read them in
full, a viewer key reads them masked.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

from datetime import datetime
from enum import Enum
from typing import Any, Self

import strawberry

from gateway.core.context import Info
from gateway.core.nodes import LoadedNode
from gateway.people.loaders import PEOPLE
from libs.privacy import mask_email, mask_phone


@strawberry.enum(description="How paging reaches a person.")
class PagingChannel(Enum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"


@strawberry.enum(description="The chat platform a handle belongs to, for @-mentions in alerts.")
class ChatPlatform(Enum):
    FEISHU = "feishu"
    DINGTALK = "dingtalk"
    WECOM = "wecom"
    SLACK = "slack"


@strawberry.type(description="One way to page a person.")
class Contact:
    channel: PagingChannel
    value: str


@strawberry.type(description="A person's handle on a chat platform.")
class ChatHandle:
    platform: ChatPlatform
    handle: str


def _masked(channel: PagingChannel, value: str) -> str:
    return mask_email(value) if channel is PagingChannel.EMAIL else mask_phone(value)


@strawberry.type(
    description=(
        "Someone in your organization's response: paged on their contacts, @-mentioned by "
        "their chat handles, given duties on incident teams, and named on timelines and in "
        "the audit log for what they do."
    )
)
class Person(LoadedNode):
    ROWS = PEOPLE

    name: str
    created_at: datetime
    updated_at: datetime
    deactivated_at: datetime | None = strawberry.field(
        description="When the person left; their keys were revoked then. Null while active."
    )
    stored_contacts: strawberry.Private[list[dict[str, Any]]]
    stored_chat_handles: strawberry.Private[list[dict[str, Any]]]

    @classmethod
    def from_row(cls, row: Any) -> Self:
        """Build a person from their row."""
        return cls(
            id=row.id,
            database_id=row.id,
            name=row.name,
            created_at=row.created_at,
            updated_at=row.updated_at,
            deactivated_at=row.deactivated_at,
            stored_contacts=list(row.contacts),
            stored_chat_handles=list(row.chat_handles),
        )

    @strawberry.field(description="Where paging reaches them; masked for a viewer key.")
    def contacts(self, info: Info) -> list[Contact]:
        full = info.context.principal.can_respond()
        shown = []
        for stored in self.stored_contacts:
            channel = PagingChannel(stored["channel"])
            value = str(stored["value"])
            shown.append(Contact(channel=channel, value=value if full else _masked(channel, value)))
        return shown

    @strawberry.field(description="Their handles on chat platforms, for @-mentions.")
    def chat_handles(self) -> list[ChatHandle]:
        return [
            ChatHandle(platform=ChatPlatform(stored["platform"]), handle=str(stored["handle"]))
            for stored in self.stored_chat_handles
        ]
