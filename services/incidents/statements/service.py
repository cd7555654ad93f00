"""Statements per channel: drafting, revising, publishing, and the key facts they must carry.

The way of a statement:

- ``draft``: written by `draft_statement`, or sent back by a revision or a rejection.
  A channel has at most one unpublished statement per incident; while it exists, a new draft
  for that channel is refused (revise it instead). Once the channel's statement is
  published, a new draft is allowed: it is an update (续报) and becomes the channel's current
  statement, the one the consistency checks compare.
- ``in_review`` and ``approved``: see `approval` (三级审核, legal for red incidents, for
  statements of a tier whose playbook asks for it, and for any it is requested for).
- ``published``: with its URL and time; emits ``statement.published`` once.

A revision sends the statement back to draft and starts the reviews over. Every step is a
timeline event naming who did it and why, and every review decision a `statement_review`
row. Every change rechecks the incident's current statements against each other and the
key facts (see `consistency`).
"""

from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import StatementStatus, TeamRole, Tier
from libs.contracts.events import StatementPublished
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.contracts.response import (
    DraftStatement,
    PublishStatement,
    RequestLegalReview,
    ReviseStatement,
    SetKeyFacts,
)
from libs.contracts.vocabulary import CHANNEL_LABELS
from libs.database.tables import Incident, KeyFact, Statement
from services.incidents import events, timeline
from services.incidents.answers import refuse
from services.incidents.playbook.service import playbook_for
from services.incidents.repository import belonging_to
from services.incidents.statements import consistency
from services.incidents.statements import repository as statements_repository
from services.incidents.statements.approval import restart_reviews
from services.incidents.statements.shared import (
    StatementEventKind,
    answer,
    channel_label,
    flags_refusal,
    incident_for_statements,
    legal_required,
    load,
    record_step,
)
from services.incidents.team.duties import role_refusal

# How far in the future a reported publication time may lie (clocks differ a little).
PUBLISH_CLOCK_SKEW = timedelta(minutes=5)


@answering
async def draft_statement(
    session: AsyncSession, command: DraftStatement, *, now: datetime
) -> Outcome:
    """Write a new draft for a channel; an update (续报) once the channel's one is published."""
    incident = await incident_for_statements(session, command.organization_id, command.incident_id)
    refusal = await role_refusal(
        session,
        incident.id,
        TeamRole.SPOKESPERSON,
        command.acting_person_id,
        "draft statements",
        "incidentId",
    )
    if refusal is not None:
        return refusal
    channel = command.channel.value
    existing = await statements_repository.channel_statements(session, incident.id, channel)
    live = [s for s in existing if s.status != StatementStatus.PUBLISHED]
    if live:
        message = (
            f"channel {channel} already has statement {live[0].id} in status "
            f"{live[0].status}; revise it instead of drafting another"
        )
        return refuse(ErrorCode.CONFLICT, message, "channel")
    is_update = bool(existing)
    statement = Statement(
        **belonging_to(incident),
        channel=channel,
        body=command.body,
        status=StatementStatus.DRAFT.value,
        created_by=command.actor,
        created_by_person_id=command.acting_person_id,
        legal_requested=await _playbook_asks_for_legal(session, incident),
        created_at=now,
        updated_at=now,
    )
    session.add(statement)
    await session.flush()
    label = CHANNEL_LABELS[command.channel]
    message = f"{label}续报草稿已起草" if is_update else f"{label}声明草稿已起草"
    record_step(
        session,
        incident,
        statement,
        StatementEventKind.DRAFTED,
        message,
        command.actor,
        now,
        update=is_update,
    )
    await consistency.refresh_flags(session, incident.id)
    return answer(statement, incident, update=is_update)


async def _playbook_asks_for_legal(session: AsyncSession, incident: Incident) -> bool:
    """Return whether the playbook of the incident's tier asks for legal review of every
    statement (red incidents need it anyway)."""
    tier = Tier(incident.tier)
    playbook = await playbook_for(session, incident.organization_id, tier, incident.crisis_type)
    return playbook.legal_review


@answering
async def request_legal_review(
    session: AsyncSession, command: RequestLegalReview, *, now: datetime
) -> Outcome:
    """Ask for legal approval of an unpublished statement, whatever the incident's tier.

    The statement keeps its status and approvals: it now also needs legal's, and an
    approved one cannot be published until legal approves. Asking again, or for a statement
    that needs legal approval anyway, changes nothing.
    """
    statement, incident = await load(session, command.organization_id, command.statement_id)
    if statement.status == StatementStatus.PUBLISHED:
        message = "statement is published; request legal review of its update (续报) instead"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "statementId")
    if legal_required(incident, statement):
        return answer(statement, incident, changed=False)
    statement.legal_requested = True
    statement.updated_at = now
    session.add(statement)
    message = f"{channel_label(statement)}声明需法务审核，原因：{command.reason}"
    record_step(
        session,
        incident,
        statement,
        StatementEventKind.LEGAL_REQUESTED,
        message,
        command.actor,
        now,
        reason=command.reason,
    )
    return answer(statement, incident, changed=True)


@answering
async def revise_statement(
    session: AsyncSession, command: ReviseStatement, *, now: datetime
) -> Outcome:
    """Change an unpublished statement's text; it goes back to draft and reviews start over."""
    statement, incident = await load(session, command.organization_id, command.statement_id)
    if statement.status == StatementStatus.PUBLISHED:
        message = "statement is published; draft an update (续报) for its channel instead"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "statementId")
    refusal = await role_refusal(
        session,
        incident.id,
        TeamRole.SPOKESPERSON,
        command.acting_person_id,
        "revise statements",
        "statementId",
    )
    if refusal is not None:
        return refusal
    previous = statement.status
    statement.body = command.body
    statement.revised_by_person_id = command.acting_person_id
    restart_reviews(statement, now)
    session.add(statement)
    message = f"{channel_label(statement)}声明已修改，审核重新开始"
    record_step(
        session,
        incident,
        statement,
        StatementEventKind.REVISED,
        message,
        command.actor,
        now,
        **{"from": previous},
    )
    await consistency.refresh_flags(session, incident.id)
    return answer(statement, incident)


@answering
async def publish_statement(
    session: AsyncSession, command: PublishStatement, *, now: datetime
) -> Outcome:
    """Record that an approved, unflagged statement went out; emit `statement.published`."""
    statement, incident = await load(session, command.organization_id, command.statement_id)
    if statement.status != StatementStatus.APPROVED:
        message = f"statement is {statement.status}; only an approved statement can be published"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "statementId")
    if legal_required(incident, statement) and not statement.legal_approved:
        message = "statement is approved but needs legal approval (red incident or requested)"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "statementId")
    if command.published_at > now + PUBLISH_CLOCK_SKEW:
        return refuse(ErrorCode.INVALID, "published_at lies in the future", "publishedAt")
    flags = (await consistency.refresh_flags(session, incident.id)).get(statement.id, [])
    if flags:
        return flags_refusal(flags, "publish")
    statement.status = StatementStatus.PUBLISHED.value
    statement.published_url = command.url
    statement.published_at = command.published_at
    statement.updated_at = now
    session.add(statement)
    message = f"{channel_label(statement)}声明已发布，链接：{command.url}"
    record_step(
        session,
        incident,
        statement,
        StatementEventKind.PUBLISHED,
        message,
        command.actor,
        command.published_at,
        url=command.url,
    )
    body = StatementPublished(
        statement_id=statement.id,
        incident_id=incident.id,
        channel=statement.channel,
        url=command.url,
        published_at=command.published_at,
    )
    event = await events.record(
        session,
        body,
        incident.organization_id,
        incident.id,
        key=str(statement.id),
        at=command.published_at,
    )
    return answer(statement, incident, emit=[event])


@answering
async def set_key_facts(session: AsyncSession, command: SetKeyFacts, *, now: datetime) -> Outcome:
    """Replace the incident's key facts and recheck every current statement against them."""
    incident = await incident_for_statements(session, command.organization_id, command.incident_id)
    facts = [{"label": f.label.strip(), "value": f.value.strip()} for f in command.facts]
    if any(not fact["label"] or not fact["value"] for fact in facts):
        message = "a key fact needs a label and a value that are not blank"
        return refuse(ErrorCode.INVALID, message, "facts")
    labels = [fact["label"] for fact in facts]
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        return refuse(
            ErrorCode.INVALID, f"key fact labels repeat: {', '.join(duplicates)}", "facts"
        )
    await statements_repository.delete_key_facts(session, incident.id)
    for index, fact in enumerate(facts):
        session.add(
            KeyFact(
                **belonging_to(incident),
                label=fact["label"],
                value=fact["value"],
                # Distinct times keep the facts in the order given.
                created_at=now + timedelta(microseconds=index),
            )
        )
    await session.flush()
    listed = "；".join(f"{fact['label']}：{fact['value']}" for fact in facts)
    timeline.record(
        session,
        incident,
        StatementEventKind.KEY_FACTS_SET,
        f"关键事实已更新：{listed}" if listed else "关键事实已清空",
        actor=command.actor,
        at=now,
        data={"facts": [dict(fact) for fact in facts]},
    )
    flags = await consistency.refresh_flags(session, incident.id)
    return Outcome.answer(
        CommandResult.success(
            incident_id=str(incident.id),
            facts=facts,
            flags={str(statement_id): f for statement_id, f in flags.items()},
        )
    )
