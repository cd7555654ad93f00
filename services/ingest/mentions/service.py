"""Mentions pushed in batches: each item judged on its own, the valid ones stored and announced.

What the mention routes call. Pushing changes state, so it returns `(BatchResult, Outcome)`:
the answer the route needs and the `mention.ingested.v1` to emit once the caller's unit of
work commits. A read changes nothing and emits nothing, so it returns only its answer.
Takes the caller's session and never commits.
"""

import uuid
from typing import Any, Final

from pydantic import TypeAdapter, ValidationError
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.outcome import Outcome
from libs.quotas import MentionVolume
from libs.text import normalize
from services.ingest import repository
from services.ingest.mentions.schemas import (
    AnalysisOut,
    AuthorOut,
    BatchResult,
    Envelope,
    ItemResult,
    MentionOut,
)
from services.ingest.problems import errors_of
from services.ingest.schemas import FieldError, MentionIn, MetricsIn
from services.ingest.service import announce, store_batch
from services.ingest.volume import admit

_MENTION = TypeAdapter(MentionIn)


def validate_item(index: int, raw: Any) -> MentionIn | list[FieldError]:
    """Return the parsed mention, or the reasons it was rejected."""
    try:
        return _MENTION.validate_python(raw)
    except ValidationError as exc:
        return errors_of(exc, f"mentions[{index}]")


async def push_mentions(
    session: AsyncSession,
    organization_id: uuid.UUID,
    envelope: Envelope,
    volume: MentionVolume | None = None,
) -> tuple[BatchResult, Outcome]:
    """Validate items one by one, store the valid ones and announce the new ones.

    The valid items are counted against the organization's mention quotas (`volume`) first;
    a push that would exceed one is refused whole, with 429 naming the quota.
    """
    parsed: dict[int, MentionIn] = {}
    results: dict[int, ItemResult] = {}
    for index, raw in enumerate(envelope.mentions):
        checked = validate_item(index, raw)
        if isinstance(checked, list):
            results[index] = ItemResult(index=index, status="rejected", errors=checked)
        else:
            parsed[index] = checked
    await admit(volume, organization_id, len(parsed))
    stored = await store_batch(session, organization_id, parsed)
    for index, mention_id in stored.ids.items():
        status = "accepted" if index in stored.new else "duplicate"
        results[index] = ItemResult(index=index, status=status, id=mention_id)
    ordered = [results[index] for index in range(len(envelope.mentions))]
    answer = BatchResult(
        accepted=len(stored.new),
        duplicates=len(stored.ids) - len(stored.new),
        rejected=len(ordered) - len(stored.ids),
        results=ordered,
    )
    return answer, announce(organization_id, stored.new_ids)


_MENTION_OUT_FIELDS: Final = set(MentionOut.model_fields) - {
    "author",
    "metrics",
    "analysis",
    "text_normalized",
}
"""The answer's fields a stored mention has under the same name; the rest are nested."""


async def get_mention(
    session: AsyncSession, organization_id: uuid.UUID, mention_id: uuid.UUID
) -> MentionOut | None:
    """Return a mention of this organization and its analysis once done, or None."""
    found = await repository.mention_with_analysis(session, organization_id, mention_id)
    if found is None:
        return None
    mention, author, analysis = found
    return MentionOut(
        **mention.model_dump(include=_MENTION_OUT_FIELDS),
        text_normalized=normalize(mention.text),  # derived, not stored (migration 0028)
        author=AuthorOut.model_validate(author, from_attributes=True) if author else None,
        metrics=MetricsIn.model_validate(mention, from_attributes=True),
        analysis=AnalysisOut.model_validate(analysis, from_attributes=True) if analysis else None,
    )
