"""Search the reply library for past cases like a text or a stored mention.

A reply that advises deleting posts is never returned, even one filed before the guard
existed.
"""

# strawberry types `field(description=...)` as returning Any, so its decorators are untyped.
# mypy: disable-error-code="untyped-decorator"

import strawberry
from strawberry import relay

from gateway.core.context import Info
from gateway.core.errors import GatewayError
from gateway.core.inputs import require_id
from gateway.mentions.types import Mention
from gateway.replies.types import SimilarReply
from libs.reply_library import deletion_advice, search

MAX_RESULTS = 20
# Longer texts add nothing to a bigram comparison of a post but cost time.
MAX_TEXT_LENGTH = 10_000


async def _compared_text(info: Info, text: str | None, mention_id: relay.GlobalID | None) -> str:
    """Return the text to compare: the one given, or the stored mention's."""
    if (text is None) == (mention_id is None):
        raise GatewayError("Give exactly one of `text` and `mentionId`.")
    if mention_id is not None:
        mention = await Mention.load(info, require_id(mention_id, "Mention", "mentionId"))
        if mention is None:
            raise GatewayError("`mentionId` is not a mention of your organization.")
        return mention.text[:MAX_TEXT_LENGTH]
    compared = text or ""
    if not compared.strip():
        raise GatewayError("`text` is blank.")
    if len(compared) > MAX_TEXT_LENGTH:
        raise GatewayError(f"`text` is longer than {MAX_TEXT_LENGTH} characters.")
    return compared


@strawberry.type
class ReplyQuery:
    @strawberry.field(
        description=(
            "Past cases of the reply library (问答库) most like `text`, or like the stored "
            "mention `mentionId`, best first, with the replies used. Never a reply that "
            "advises deleting posts."
        )
    )
    async def similar_replies(
        self,
        info: Info,
        text: str | None = None,
        mention_id: relay.GlobalID | None = None,
        category: str | None = None,
        first: int = 5,
    ) -> list[SimilarReply]:
        if first < 1 or first > MAX_RESULTS:
            raise GatewayError(f"`first` must be between 1 and {MAX_RESULTS}, got {first}.")
        compared = await _compared_text(info, text, mention_id)
        organization_id = info.context.principal.organization_id
        async with info.context.sessions() as session:
            found = await search(session, organization_id, compared, first, category=category)
        # The search already drops deletion advice; checked again because this answer is
        # what a responder copies.
        return [
            SimilarReply.from_case(case) for case in found if deletion_advice(case.reply) is None
        ]
