"""What the pipeline could not do, as an admin reads it: dead letters and mentions not analysed.

A dead letter: what failed, where, why and when — never its payload.

The payload is left out on purpose: it can carry what a message carries (affected users'
contacts in a command, a mention's text), and the admin needs the error to act, not the data.
The operator re-drives it with `crisiswatch jobs redrive <messageId>` once the cause is fixed.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import uuid
from datetime import datetime

import strawberry

from gateway.core.context import Info
from gateway.core.rows import FromRow
from gateway.mentions.types import Mention
from libs.privacy import mask_text


@strawberry.type(
    description=(
        "A message a service could not apply, kept with its error until an operator sends it "
        "again (`crisiswatch jobs redrive <messageId>`)."
    )
)
class DeadLetter(FromRow):
    message_id: uuid.UUID = strawberry.field(
        description="The message's id; re-driving keeps it, so a copy applied since is a no-op."
    )
    consumer: str = strawberry.field(description="The service that could not apply it.")
    job_name: str = strawberry.field(description="The message type and version, e.g. `x.v1`.")
    error: str = strawberry.field(description="The error it last failed with.")
    tries: int = strawberry.field(description="How many times it has failed for good.")
    failed_at: datetime = strawberry.field(description="When it last failed.")
    redriven_at: datetime | None = strawberry.field(
        description="When it was last sent again; null while it waits for an operator."
    )


@strawberry.type(
    description=(
        "A mention not analysed yet that needs attention: the analysis it broke, or the "
        "re-announcements it went without; given up after its last try, never silently. "
        "`crisiswatch jobs redrive-mentions` sends it again."
    )
)
class MentionFailure(FromRow):
    mention_id: strawberry.Private[uuid.UUID]
    reason: str = strawberry.field(description="Why, in the words of the last failure (masked).")
    tries: int = strawberry.field(description="How many times it was tried or announced again.")
    first_failed_at: datetime
    last_failed_at: datetime
    given_up_at: datetime | None = strawberry.field(
        description="When it was given up after its last try; null while still tried."
    )

    @classmethod
    def masked(cls, row: object) -> "MentionFailure":
        """Build from a row, the reason masked: an error can quote the text that broke it."""
        built = cls.from_row(row)
        built.reason = mask_text(built.reason)
        return built

    @strawberry.field(description="The mention; null once deleted.")
    async def mention(self, info: Info) -> Mention | None:
        return await Mention.load(info, self.mention_id)
