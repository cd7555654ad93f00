"""Statements per channel: draft, three-level review (三级审核), legal for red, publication.

The way of a statement:

- ``draft``: written by `draft_statement`, or sent back by a revision or a rejection.
  A channel has at most one unpublished statement per incident; while it exists, a new draft
  for that channel is refused (revise it instead). Once the channel's statement is
  published, a new draft is allowed: it is an update (续报) and becomes the channel's current
  statement, the one the consistency checks compare.
- ``in_review``: level_1 approved. Levels go strictly in order level_1 → level_2 → level_3.
  For a red incident, ``legal`` is required too; legal counsel may review any time after
  level_1, in parallel with levels 2 and 3, so the statement does not wait on one person.
- ``approved``: the last required stage approved (level_3 or legal, whichever comes last).
  That final approval is refused while the statement has consistency flags.
- ``published``: with its URL and time; emits ``statement.published`` once.

A rejection at any stage sends the statement back to draft with the reviewer's note and
starts the reviews over; so does a revision. Every step is a timeline event naming who did
it and why, and every decision is a `statement_review` row. Reviewers are not required to
be different people: a command's actor is an API key, not a person.

Closed, merged and false-alarm incidents take no statement changes; a resolved one still
does (a closing notice is common). If an approved statement's incident is raised to red
before publication, it needs a legal approval before it can be published.
"""

import uuid
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import delete
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import (
    Channel,
    IncidentStatus,
    ReviewDecision,
    ReviewStage,
    StatementStatus,
    Tier,
)
from libs.contracts.events import StatementPublished
from libs.contracts.messages import CommandResult
from libs.contracts.outcome import Outcome
from libs.contracts.response import (
    DraftStatement,
    PublishStatement,
    ReviewStatement,
    ReviseStatement,
    SetKeyFacts,
)
from libs.database.tables import Incident, KeyFact, Statement, StatementReview
from services.incidents import consistency, events, timeline

CHANNEL_LABELS: dict[Channel, str] = {
    Channel.WECHAT: "微信公众号",
    Channel.WEIBO: "微博",
    Channel.DOUYIN: "抖音",
    Channel.XIAOHONGSHU: "小红书",
    Channel.WEBSITE: "官网",
}

STAGE_LABELS: dict[ReviewStage, str] = {
    ReviewStage.LEVEL_1: "一级审核",
    ReviewStage.LEVEL_2: "二级审核",
    ReviewStage.LEVEL_3: "三级审核",
    ReviewStage.LEGAL: "法务审核",
}

_LEVELS = {ReviewStage.LEVEL_1: 1, ReviewStage.LEVEL_2: 2, ReviewStage.LEVEL_3: 3}
FINAL_LEVEL = 3

# Incidents that are over: no statement may be drafted, changed, reviewed or published.
NO_STATEMENTS = frozenset(
    {IncidentStatus.CLOSED, IncidentStatus.MERGED, IncidentStatus.FALSE_ALARM}
)

# How far in the future a reported publication time may lie (clocks differ a little).
PUBLISH_CLOCK_SKEW = timedelta(minutes=5)


class StatementEventKind(StrEnum):
    """Timeline event kinds written by statements and key facts."""

    DRAFTED = "statement_drafted"
    REVISED = "statement_revised"
    REVIEWED = "statement_reviewed"
    REJECTED = "statement_rejected"
    APPROVED = "statement_approved"
    PUBLISHED = "statement_published"
    KEY_FACTS_SET = "key_facts_set"


def legal_required(incident: Incident) -> bool:
    """Return whether the incident's statements need a legal approval (red incidents)."""
    return Tier(incident.tier) == Tier.RED


def required_stages(incident: Incident) -> list[ReviewStage]:
    """Return the stages a statement of `incident` must pass, in order."""
    stages = [ReviewStage.LEVEL_1, ReviewStage.LEVEL_2, ReviewStage.LEVEL_3]
    return [*stages, ReviewStage.LEGAL] if legal_required(incident) else stages


def pending_stages(statement: Statement, incident: Incident) -> list[str]:
    """Return the stages still to approve in the current review round."""
    pending = [stage.value for stage, level in _LEVELS.items() if statement.review_level < level]
    if legal_required(incident) and not statement.legal_approved:
        pending.append(ReviewStage.LEGAL.value)
    return pending


def statement_view(statement: Statement, incident: Incident) -> dict[str, Any]:
    """Return a statement as the command answers show it."""
    return {
        "id": str(statement.id),
        "incident_id": str(statement.incident_id),
        "channel": statement.channel,
        "body": statement.body,
        "status": statement.status,
        "review_level": statement.review_level,
        "legal_required": legal_required(incident),
        "legal_approved": statement.legal_approved,
        "pending_stages": pending_stages(statement, incident),
        "flags": list(statement.flags),
        "published_url": statement.published_url,
        "published_at": statement.published_at.isoformat() if statement.published_at else None,
        "created_by": statement.created_by,
    }


def _channel_label(statement: Statement) -> str:
    return CHANNEL_LABELS[Channel(statement.channel)]


async def _incident(
    session: AsyncSession, organization_id: uuid.UUID, incident_id: uuid.UUID
) -> Incident | None:
    result = await session.exec(
        select(Incident)
        .where(Incident.id == incident_id, Incident.organization_id == organization_id)
        .with_for_update()
    )
    return result.first()


async def _statement(
    session: AsyncSession, organization_id: uuid.UUID, statement_id: uuid.UUID
) -> tuple[Statement, Incident] | CommandResult:
    """Load a statement and its incident, both locked (incident first, as everywhere)."""
    found = (
        await session.exec(
            select(Statement.incident_id).where(
                Statement.id == statement_id, Statement.organization_id == organization_id
            )
        )
    ).first()
    if found is None:
        return CommandResult.failure(
            "NotFound", f"statement {statement_id} does not exist", field="statement_id"
        )
    incident = await _incident(session, organization_id, found)
    statement = (
        await session.exec(
            select(Statement)
            .where(Statement.id == statement_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
    ).one()
    assert incident is not None  # the foreign key and the same organization guarantee it
    refusal = _incident_refusal(incident)
    return refusal if refusal is not None else (statement, incident)


def _incident_refusal(incident: Incident) -> CommandResult | None:
    status = IncidentStatus(incident.status)
    if status in NO_STATEMENTS:
        return CommandResult.failure(
            "Conflict",
            f"incident is {status.value}; it takes no statement changes",
            field="incident_id",
        )
    return None


def _flags_refusal(flags: list[dict[str, Any]], action: str) -> CommandResult:
    return CommandResult.failure(
        "Invalid",
        f"cannot {action} while the statement has {len(flags)} unresolved consistency "
        f"flag(s): {consistency.describe(flags)}",
        field="flags",
    )


async def draft_statement(
    session: AsyncSession, command: DraftStatement, *, now: datetime
) -> Outcome:
    """Write a new draft for a channel; an update (续报) once the channel's one is published."""
    incident = await _incident(session, command.organization_id, command.incident_id)
    if incident is None:
        return Outcome.answer(
            CommandResult.failure(
                "NotFound", f"incident {command.incident_id} does not exist", field="incident_id"
            )
        )
    refusal = _incident_refusal(incident)
    if refusal is not None:
        return Outcome.answer(refusal)
    existing = list(
        (
            await session.exec(
                select(Statement).where(
                    Statement.incident_id == incident.id,
                    Statement.channel == command.channel.value,
                )
            )
        ).all()
    )
    live = [s for s in existing if s.status != StatementStatus.PUBLISHED]
    if live:
        return Outcome.answer(
            CommandResult.failure(
                "Conflict",
                f"channel {command.channel.value} already has statement {live[0].id} in status "
                f"{live[0].status}; revise it instead of drafting another",
                field="channel",
            )
        )
    is_update = bool(existing)
    statement = Statement(
        organization_id=incident.organization_id,
        incident_id=incident.id,
        channel=command.channel.value,
        body=command.body,
        status=StatementStatus.DRAFT.value,
        created_by=command.actor,
        created_at=now,
        updated_at=now,
    )
    session.add(statement)
    await session.flush()
    label = CHANNEL_LABELS[command.channel]
    timeline.record(
        session,
        incident,
        StatementEventKind.DRAFTED,
        f"{label}续报草稿已起草" if is_update else f"{label}声明草稿已起草",
        actor=command.actor,
        at=now,
        data={"statement_id": str(statement.id), "channel": statement.channel, "update": is_update},
    )
    await consistency.refresh_flags(session, incident.id)
    return Outcome.answer(
        CommandResult.success(**statement_view(statement, incident), update=is_update)
    )


def _restart_reviews(statement: Statement, now: datetime) -> None:
    statement.status = StatementStatus.DRAFT.value
    statement.review_level = 0
    statement.legal_approved = False
    statement.updated_at = now


async def revise_statement(
    session: AsyncSession, command: ReviseStatement, *, now: datetime
) -> Outcome:
    """Change an unpublished statement's text; it goes back to draft and reviews start over."""
    loaded = await _statement(session, command.organization_id, command.statement_id)
    if isinstance(loaded, CommandResult):
        return Outcome.answer(loaded)
    statement, incident = loaded
    if statement.status == StatementStatus.PUBLISHED:
        return Outcome.answer(
            CommandResult.failure(
                "InvalidTransition",
                "statement is published; draft an update (续报) for its channel instead",
                field="statement_id",
            )
        )
    previous = statement.status
    statement.body = command.body
    _restart_reviews(statement, now)
    session.add(statement)
    timeline.record(
        session,
        incident,
        StatementEventKind.REVISED,
        f"{_channel_label(statement)}声明已修改，审核重新开始",
        actor=command.actor,
        at=now,
        data={"statement_id": str(statement.id), "channel": statement.channel, "from": previous},
    )
    await consistency.refresh_flags(session, incident.id)
    return Outcome.answer(CommandResult.success(**statement_view(statement, incident)))


def _order_refusal(
    statement: Statement, incident: Incident, stage: ReviewStage
) -> CommandResult | None:
    """Return why `stage` cannot be reviewed now, or None when it can."""
    status = StatementStatus(statement.status)
    where = f"statement is {status.value} at review level {statement.review_level}"
    legal_on_approved = (
        status == StatementStatus.APPROVED
        and stage == ReviewStage.LEGAL
        and legal_required(incident)
        and not statement.legal_approved
    )
    if status not in (StatementStatus.DRAFT, StatementStatus.IN_REVIEW) and not legal_on_approved:
        return CommandResult.failure(
            "InvalidTransition",
            f"{where}; only a draft or a statement in review can be reviewed",
            field="statement_id",
        )
    if stage == ReviewStage.LEGAL:
        if not legal_required(incident):
            return CommandResult.failure(
                "Invalid",
                f"legal review applies only to red incidents; incident is {incident.tier}",
                field="stage",
            )
        if statement.legal_approved:
            return CommandResult.failure(
                "InvalidTransition", f"legal is already approved; {where}", field="stage"
            )
        if statement.review_level < 1:
            return CommandResult.failure(
                "InvalidTransition", f"legal needs level_1 approval first; {where}", field="stage"
            )
        return None
    level = _LEVELS[stage]
    if statement.review_level >= level:
        return CommandResult.failure(
            "InvalidTransition", f"{stage.value} is already approved; {where}", field="stage"
        )
    if statement.review_level < level - 1:
        return CommandResult.failure(
            "InvalidTransition",
            f"{stage.value} needs level_{level - 1} approval first; {where}",
            field="stage",
        )
    return None


async def review_statement(
    session: AsyncSession, command: ReviewStatement, *, now: datetime
) -> Outcome:
    """Approve or reject one stage, in order; the last required approval makes it approved."""
    loaded = await _statement(session, command.organization_id, command.statement_id)
    if isinstance(loaded, CommandResult):
        return Outcome.answer(loaded)
    statement, incident = loaded
    refusal = _order_refusal(statement, incident, command.stage)
    if refusal is not None:
        return Outcome.answer(refusal)
    stage_label = STAGE_LABELS[command.stage]
    channel_label = _channel_label(statement)
    data: dict[str, Any] = {
        "statement_id": str(statement.id),
        "channel": statement.channel,
        "stage": command.stage.value,
        "decision": command.decision.value,
        "note": command.note,
    }
    if command.decision == ReviewDecision.REJECT:
        if not command.note or not command.note.strip():
            return Outcome.answer(
                CommandResult.failure(
                    "Invalid", "a rejection needs a note saying what to change", field="note"
                )
            )
        _record_review(session, statement, command, now)
        _restart_reviews(statement, now)
        session.add(statement)
        timeline.record(
            session,
            incident,
            StatementEventKind.REJECTED,
            f"{channel_label}声明未通过{stage_label}，退回草稿，意见：{command.note}",
            actor=command.actor,
            at=now,
            data=data,
        )
        return Outcome.answer(CommandResult.success(**statement_view(statement, incident)))

    level = _LEVELS.get(command.stage, statement.review_level)
    legal = statement.legal_approved or command.stage == ReviewStage.LEGAL
    complete = level == FINAL_LEVEL and (legal or not legal_required(incident))
    if complete:
        flags = (await consistency.refresh_flags(session, incident.id)).get(statement.id, [])
        if flags:
            return Outcome.answer(_flags_refusal(flags, f"approve {command.stage.value}"))
    _record_review(session, statement, command, now)
    statement.review_level = level
    statement.legal_approved = legal
    statement.status = (StatementStatus.APPROVED if complete else StatementStatus.IN_REVIEW).value
    statement.updated_at = now
    session.add(statement)
    message = f"{channel_label}声明通过{stage_label}"
    if command.note:
        message += f"，意见：{command.note}"
    if complete:
        message += "，审核完成，可以发布"
    timeline.record(
        session,
        incident,
        StatementEventKind.APPROVED if complete else StatementEventKind.REVIEWED,
        message,
        actor=command.actor,
        at=now,
        data=data,
    )
    return Outcome.answer(CommandResult.success(**statement_view(statement, incident)))


def _record_review(
    session: AsyncSession, statement: Statement, command: ReviewStatement, now: datetime
) -> None:
    session.add(
        StatementReview(
            organization_id=statement.organization_id,
            statement_id=statement.id,
            stage=command.stage.value,
            decision=command.decision.value,
            reviewer=command.actor,
            note=command.note,
            reviewed_at=now,
        )
    )


async def publish_statement(
    session: AsyncSession, command: PublishStatement, *, now: datetime
) -> Outcome:
    """Record that an approved, unflagged statement went out; emit `statement.published`."""
    loaded = await _statement(session, command.organization_id, command.statement_id)
    if isinstance(loaded, CommandResult):
        return Outcome.answer(loaded)
    statement, incident = loaded
    if statement.status != StatementStatus.APPROVED:
        return Outcome.answer(
            CommandResult.failure(
                "InvalidTransition",
                f"statement is {statement.status}; only an approved statement can be published",
                field="statement_id",
            )
        )
    if legal_required(incident) and not statement.legal_approved:
        return Outcome.answer(
            CommandResult.failure(
                "InvalidTransition",
                "statement is approved but the incident is now red; it needs legal approval",
                field="statement_id",
            )
        )
    if command.published_at > now + PUBLISH_CLOCK_SKEW:
        return Outcome.answer(
            CommandResult.failure(
                "Invalid", "published_at lies in the future", field="published_at"
            )
        )
    flags = (await consistency.refresh_flags(session, incident.id)).get(statement.id, [])
    if flags:
        return Outcome.answer(_flags_refusal(flags, "publish"))
    statement.status = StatementStatus.PUBLISHED.value
    statement.published_url = command.url
    statement.published_at = command.published_at
    statement.updated_at = now
    session.add(statement)
    timeline.record(
        session,
        incident,
        StatementEventKind.PUBLISHED,
        f"{_channel_label(statement)}声明已发布，链接：{command.url}",
        actor=command.actor,
        at=command.published_at,
        data={"statement_id": str(statement.id), "channel": statement.channel, "url": command.url},
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
    return Outcome.answer(CommandResult.success(**statement_view(statement, incident)), [event])


async def set_key_facts(session: AsyncSession, command: SetKeyFacts, *, now: datetime) -> Outcome:
    """Replace the incident's key facts and recheck every current statement against them."""
    incident = await _incident(session, command.organization_id, command.incident_id)
    if incident is None:
        return Outcome.answer(
            CommandResult.failure(
                "NotFound", f"incident {command.incident_id} does not exist", field="incident_id"
            )
        )
    refusal = _incident_refusal(incident)
    if refusal is not None:
        return Outcome.answer(refusal)
    labels = [fact.label.strip() for fact in command.facts]
    if any(
        not label or not fact.value.strip()
        for label, fact in zip(labels, command.facts, strict=True)
    ):
        return Outcome.answer(
            CommandResult.failure(
                "Invalid", "a key fact needs a label and a value that are not blank", field="facts"
            )
        )
    duplicates = sorted({label for label in labels if labels.count(label) > 1})
    if duplicates:
        return Outcome.answer(
            CommandResult.failure(
                "Invalid", f"key fact labels repeat: {', '.join(duplicates)}", field="facts"
            )
        )
    await session.exec(delete(KeyFact).where(col(KeyFact.incident_id) == incident.id))
    for index, fact in enumerate(command.facts):
        session.add(
            KeyFact(
                organization_id=incident.organization_id,
                incident_id=incident.id,
                label=fact.label.strip(),
                value=fact.value.strip(),
                # Distinct times keep the facts in the order given.
                created_at=now + timedelta(microseconds=index),
            )
        )
    await session.flush()
    listed = "；".join(f"{fact.label.strip()}：{fact.value.strip()}" for fact in command.facts)
    timeline.record(
        session,
        incident,
        StatementEventKind.KEY_FACTS_SET,
        f"关键事实已更新：{listed}" if listed else "关键事实已清空",
        actor=command.actor,
        at=now,
        data={
            "facts": [{"label": f.label.strip(), "value": f.value.strip()} for f in command.facts]
        },
    )
    flags = await consistency.refresh_flags(session, incident.id)
    return Outcome.answer(
        CommandResult.success(
            incident_id=str(incident.id),
            facts=[{"label": f.label.strip(), "value": f.value.strip()} for f in command.facts],
            flags={str(statement_id): f for statement_id, f in flags.items()},
        )
    )
