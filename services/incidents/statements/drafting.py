"""Statement suggestions: a draft from the templates and the incident's key facts, checked.

`suggest` answers a draft for one channel and stage — the organization's own template
when it has one (newest version, for the crisis type or for any), else the built-in one
(`templates`) — filled with the key facts. It reports the facts the template asks for
that are not set yet, whether the text fits the channel, and the flags the consistency
check (`consistency.compute_flags`) raises against the other channels' current
statements, exactly as a drafted statement would get them. Nothing is stored: the team
revises the text and drafts it with `draftStatement`, where reviews start.
"""

from datetime import datetime, timedelta, timezone

from sqlmodel import col, func, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import (
    Channel,
    CrisisType,
    ImprovementStatus,
    IncidentStatus,
    StatementStage,
    Tier,
)
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import SetStatementTemplate, SuggestStatement
from libs.database.tables import ImprovementAction, Incident, StatementTemplate, Watchlist
from libs.reply_library import deletion_advice
from services.incidents.answers import existing, refusal
from services.incidents.statements import repository, templates
from services.incidents.statements.consistency import (
    Fact,
    StatementText,
    compute_flags,
    current_statements,
)

ANY_CRISIS = "any"
BEIJING = timezone(timedelta(hours=8))
CLOSING = {IncidentStatus.RECOVERING, IncidentStatus.RESOLVED, IncidentStatus.CLOSED}
SUGGESTION = "suggestion"
# The closing notice's slots the review's improvement actions can fill.
IMPROVEMENTS = "整改措施"
PROGRESS = "完成情况"


def stage_of(incident: Incident, published_here: bool) -> StatementStage:
    """The statement the incident is due on a channel: closing once it recovers, a detailed
    reply once the channel published its first, else the first response."""
    if IncidentStatus(incident.status) in CLOSING:
        return StatementStage.CLOSING_NOTICE
    return StatementStage.DETAILED_REPLY if published_here else StatementStage.FIRST_RESPONSE


async def _own_template(
    session: AsyncSession, incident: Incident, stage: StatementStage, channel: Channel
) -> StatementTemplate | None:
    """The organization's newest template for the stage and channel, its crisis type first."""
    kinds = [incident.crisis_type, ANY_CRISIS] if incident.crisis_type else [ANY_CRISIS]
    found = await session.exec(
        select(StatementTemplate)
        .where(
            StatementTemplate.organization_id == incident.organization_id,
            StatementTemplate.stage == stage.value,
            StatementTemplate.channel == channel.value,
            col(StatementTemplate.crisis_type).in_(kinds),
        )
        .order_by(
            col(StatementTemplate.crisis_type) == ANY_CRISIS,
            col(StatementTemplate.version).desc(),
        )
    )
    return found.first()


@answering
async def suggest(
    session: AsyncSession, command: SuggestStatement, *, now: datetime
) -> CommandResult:
    """Answer a checked draft for the channel and stage; store nothing."""
    org = command.organization_id
    incident = await existing(session, Incident, org, command.incident_id, "incident", "incidentId")
    statements = await repository.statements_of(session, incident.id)
    published_here = any(
        s.channel == command.channel.value and s.published_at is not None for s in statements
    )
    stage = command.stage or stage_of(incident, published_here)
    crisis_type = CrisisType(incident.crisis_type) if incident.crisis_type else None
    own = await _own_template(session, incident, stage, command.channel)
    template = (
        own.body
        if own
        else templates.built_in(stage, command.channel, crisis_type, Tier(incident.tier))
    )
    facts = {fact.label: fact.value for fact in await repository.key_facts(session, incident.id)}
    watchlist = await session.get(Watchlist, incident.watchlist_id)
    today = now.astimezone(BEIJING)
    values = {
        templates.BRAND: facts.get(templates.BRAND) or (watchlist.name if watchlist else ""),
        templates.DATE: f"{today.year}年{today.month}月{today.day}日",
    }
    values.update(await _improvement_values(session, incident, facts))
    filled = templates.fill(template, facts, values)
    others = [
        StatementText(str(s.id), s.channel, s.body)
        for s in current_statements(statements)
        if s.channel != command.channel.value
    ]
    checked = compute_flags(
        [*others, StatementText(SUGGESTION, command.channel.value, filled.text)],
        [Fact(label, value) for label, value in facts.items()],
    )
    return CommandResult.success(
        stage=stage.value,
        channel=command.channel.value,
        text=filled.text,
        missing_facts=filled.missing_facts,
        flags=checked[SUGGESTION],
        fit_problems=templates.fits(command.channel, filled.text),
        template_source="organization" if own else "built_in",
        template_version=own.version if own else None,
    )


async def _improvement_values(
    session: AsyncSession, incident: Incident, facts: dict[str, str]
) -> dict[str, str]:
    """Fill 整改措施 and 完成情况 from the review's improvement actions (公示改进成果),
    unless the team set them as key facts; nothing when the review commits to none."""
    found = await session.exec(
        select(ImprovementAction)
        .where(ImprovementAction.incident_id == incident.id)
        .order_by(col(ImprovementAction.created_at), col(ImprovementAction.id))
    )
    actions = [a for a in found.all() if a.status != ImprovementStatus.DROPPED]
    if not actions:
        return {}
    finished = [
        a for a in actions if a.status in (ImprovementStatus.DONE, ImprovementStatus.VERIFIED)
    ]
    values: dict[str, str] = {}
    if IMPROVEMENTS not in facts:
        values[IMPROVEMENTS] = "；".join(a.action for a in actions)
    if PROGRESS not in facts:
        values[PROGRESS] = f"已完成 {len(finished)}/{len(actions)} 项" + (
            "：" + "；".join(a.action for a in finished) if finished else ""
        )
    return values


@answering
async def set_template(
    session: AsyncSession, command: SetStatementTemplate, *, now: datetime
) -> CommandResult:
    """Store a new version of the organization's template; refuse one that advises deletion."""
    body = command.body.strip()
    if not body:
        raise Refused(refusal(ErrorCode.INVALID, "body must not be blank", "body"))
    advice = deletion_advice(body)
    if advice is not None:
        message = f"template advises deleting posts ({advice!r}); statements never do"
        raise Refused(refusal(ErrorCode.INVALID, message, "body"))
    kind = command.crisis_type.value if command.crisis_type else ANY_CRISIS
    # Versions of one template are numbered one after another: writers of it take turns.
    key = f"statement-template:{command.organization_id}:{command.stage}:{command.channel}:{kind}"
    await session.exec(select(func.pg_advisory_xact_lock(func.hashtext(key))))
    found = await session.exec(
        select(StatementTemplate.version)
        .where(
            StatementTemplate.organization_id == command.organization_id,
            StatementTemplate.stage == command.stage.value,
            StatementTemplate.channel == command.channel.value,
            StatementTemplate.crisis_type == kind,
        )
        .order_by(col(StatementTemplate.version).desc())
    )
    latest = found.first()
    row = StatementTemplate(
        organization_id=command.organization_id,
        stage=command.stage.value,
        channel=command.channel.value,
        crisis_type=kind,
        version=(latest or 0) + 1,
        body=body,
        created_by=command.actor,
        created_at=now,
    )
    session.add(row)
    await session.flush()
    return CommandResult.success(id=str(row.id), version=row.version, slots=templates.slots(body))
