"""Evidence bundles (限制负面内容扩散 through legitimate channels).

Against a rumour or defamation the seeds' answer is facts and the platforms' own report
desks (举报) or counsel, never pressure to delete. A bundle gathers the mentions at issue —
each copied as it was when kept (text, link, time, author, the hash of a screenshot if one
was taken), so it outlives the retention that prunes raw mentions — with the facts that
rebut them. The gateway exports it as JSON and HTML with a digest of its content.
"""

from collections.abc import Sequence
from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import AddEvidence, CreateEvidenceBundle, EvidenceItemInput
from libs.database.tables import EvidenceBundle, EvidenceItem, Incident
from services.incidents import timeline
from services.incidents.answers import existing, refusal
from services.incidents.evidence import repository

BUNDLE_CREATED = "evidence_bundle"
# A bundle is read and exported whole: a report desk or counsel reads hundreds of posts at
# most, and a larger case is several bundles.
MOST_ITEMS = 1000


@answering
async def create_bundle(
    session: AsyncSession, command: CreateEvidenceBundle, *, now: datetime
) -> CommandResult:
    """Create a bundle of the incident's evidence; unknown mentions are refused by position."""
    org = command.organization_id
    incident = await existing(session, Incident, org, command.incident_id, "incident", "incidentId")
    title = command.title.strip()
    if not title:
        raise Refused(refusal(ErrorCode.INVALID, "title must not be blank", "title"))
    facts = [fact.strip() for fact in command.debunk_facts if fact.strip()]
    bundle = EvidenceBundle(
        organization_id=org,
        incident_id=incident.id,
        title=title,
        purpose=command.purpose.value,
        debunk_facts=facts,
        created_by=command.actor,
        created_at=now,
        updated_at=now,
    )
    session.add(bundle)
    await session.flush()
    added = await _keep(session, bundle, command.items, command.actor, now)
    timeline.record(
        session,
        incident,
        BUNDLE_CREATED,
        f"整理证据包「{title}」：{added} 条内容，{len(facts)} 条澄清事实",
        at=now,
        actor=command.actor,
        data={"bundle_id": str(bundle.id), "items": added},
    )
    return CommandResult.success(id=str(bundle.id))


@answering
async def add_evidence(
    session: AsyncSession, command: AddEvidence, *, now: datetime
) -> CommandResult:
    """Add mentions to a bundle; one it already holds stays as it was first kept."""
    bundle = await existing(
        session, EvidenceBundle, command.organization_id, command.bundle_id, "evidence bundle",
        "bundleId", lock=True,
    )  # fmt: skip
    await _keep(session, bundle, command.items, command.actor, now)
    bundle.updated_at = now
    session.add(bundle)
    return CommandResult.success(id=str(bundle.id))


async def _keep(
    session: AsyncSession,
    bundle: EvidenceBundle,
    items: Sequence[EvidenceItemInput],
    actor: str,
    now: datetime,
) -> int:
    """Copy each new mention into the bundle in the order given; return how many were added."""
    found = await repository.mentions_with_authors(
        session, bundle.organization_id, [item.mention_id for item in items]
    )
    for index, item in enumerate(items):
        if item.mention_id not in found:
            message = f"mention {item.mention_id} does not exist"
            raise Refused(refusal(ErrorCode.NOT_FOUND, message, f"items[{index}].mentionId"))
    kept, position = await repository.held(session, bundle.id)
    new = {item.mention_id for item in items} - kept
    if len(kept) + len(new) > MOST_ITEMS:
        message = f"a bundle holds at most {MOST_ITEMS} mentions; start another"
        raise Refused(refusal(ErrorCode.INVALID, message, "items"))
    added = 0
    for item in items:
        if item.mention_id in kept:
            continue
        mention, handle = found[item.mention_id]
        session.add(
            EvidenceItem(
                organization_id=bundle.organization_id,
                bundle_id=bundle.id,
                mention_id=mention.id,
                position=position,
                source=mention.source,
                url=mention.url,
                text=mention.text,
                posted_at=mention.posted_at,
                author_handle=handle,
                screenshot_sha256=item.screenshot_sha256,
                note=item.note.strip() or None if item.note else None,
                added_by=actor,
                added_at=now,
            )
        )
        kept.add(mention.id)
        position += 1
        added += 1
    await session.flush()
    return added
