"""The review of a statement (三级审核): stages in order, legal where it is required.

Levels go strictly in order level_1 → level_2 → level_3. For a red incident, and for a
statement legal review was requested for (by a person, or by its tier's playbook when it
was drafted), ``legal`` is required too; legal counsel may review any time after level_1,
in parallel with levels 2 and 3, so the statement does not wait on one person. The last
required approval (level_3 or legal, whichever comes last) makes the statement
``approved``; it is refused while the statement has consistency flags. A rejection at any
stage sends the statement back to draft with the reviewer's note and starts the reviews
over (a new round). Reviewers acting as people are held to separation of duties
(`duties`). If an approved statement's incident is raised to red before publication, or
legal review is requested for it, it needs a legal approval too.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import ReviewDecision, ReviewStage, StatementStatus
from libs.contracts.messages import ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.refusals import answering
from libs.contracts.response import ReviewStatement
from libs.contracts.vocabulary import REVIEW_STAGE_LABELS
from libs.database.tables import Incident, Statement, StatementReview
from services.incidents.answers import refuse
from services.incidents.statements import consistency
from services.incidents.statements.duties import duty_refusal
from services.incidents.statements.shared import (
    LEVELS,
    StatementEventKind,
    answer,
    channel_label,
    flags_refusal,
    legal_required,
    load,
    record_step,
)

FINAL_LEVEL = 3


def required_stages(incident: Incident, statement: Statement | None = None) -> list[ReviewStage]:
    """Return the stages a statement of `incident` must pass, in order."""
    stages = [ReviewStage.LEVEL_1, ReviewStage.LEVEL_2, ReviewStage.LEVEL_3]
    return [*stages, ReviewStage.LEGAL] if legal_required(incident, statement) else stages


def restart_reviews(statement: Statement, now: datetime) -> None:
    """Send `statement` back to draft with no approval left."""
    statement.status = StatementStatus.DRAFT.value
    statement.review_level = 0
    statement.review_round += 1
    statement.legal_approved = False
    statement.updated_at = now


def _order_refusal(statement: Statement, incident: Incident, stage: ReviewStage) -> Outcome | None:
    """Return why `stage` cannot be reviewed now, or None when it can."""
    status = StatementStatus(statement.status)
    where = f"statement is {status.value} at review level {statement.review_level}"
    legal_on_approved = (
        status == StatementStatus.APPROVED
        and stage == ReviewStage.LEGAL
        and legal_required(incident, statement)
        and not statement.legal_approved
    )
    if status not in (StatementStatus.DRAFT, StatementStatus.IN_REVIEW) and not legal_on_approved:
        message = f"{where}; only a draft or a statement in review can be reviewed"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "statementId")
    if stage == ReviewStage.LEGAL:
        return _legal_refusal(statement, incident, where)
    level = LEVELS[stage]
    if statement.review_level >= level:
        message = f"{stage.value} is already approved; {where}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "stage")
    if statement.review_level < level - 1:
        message = f"{stage.value} needs level_{level - 1} approval first; {where}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "stage")
    return None


def _legal_refusal(statement: Statement, incident: Incident, where: str) -> Outcome | None:
    if not legal_required(incident, statement):
        message = (
            "legal review applies to red incidents and to statements it was requested for; "
            f"incident is {incident.tier}"
        )
        return refuse(ErrorCode.INVALID, message, "stage")
    if statement.legal_approved:
        return refuse(ErrorCode.INVALID_TRANSITION, f"legal is already approved; {where}", "stage")
    if statement.review_level < 1:
        message = f"legal needs level_1 approval first; {where}"
        return refuse(ErrorCode.INVALID_TRANSITION, message, "stage")
    return None


def _record_step(
    session: AsyncSession,
    incident: Incident,
    statement: Statement,
    command: ReviewStatement,
    kind: StatementEventKind,
    message: str,
    now: datetime,
) -> None:
    """Write the decision on the timeline, with its stage, decision and note."""
    record_step(
        session,
        incident,
        statement,
        kind,
        message,
        command.actor,
        now,
        stage=command.stage.value,
        decision=command.decision.value,
        note=command.note,
    )


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
            person_id=command.acting_person_id,
            review_round=statement.review_round,
            note=command.note,
            reviewed_at=now,
        )
    )


@answering
async def review_statement(
    session: AsyncSession, command: ReviewStatement, *, now: datetime
) -> Outcome:
    """Approve or reject one stage, in order; the last required approval makes it approved."""
    statement, incident = await load(session, command.organization_id, command.statement_id)
    refusal = _order_refusal(statement, incident, command.stage)
    if refusal is None:
        refusal = await duty_refusal(session, statement, command)
    if refusal is not None:
        return refusal
    if command.decision == ReviewDecision.REJECT:
        return _reject(session, statement, incident, command, now)

    level = LEVELS.get(command.stage, statement.review_level)
    legal = statement.legal_approved or command.stage == ReviewStage.LEGAL
    complete = level == FINAL_LEVEL and (legal or not legal_required(incident, statement))
    if complete:
        flags = (await consistency.refresh_flags(session, incident.id)).get(statement.id, [])
        if flags:
            return flags_refusal(flags, f"approve {command.stage.value}")
    _record_review(session, statement, command, now)
    statement.review_level = level
    statement.legal_approved = legal
    statement.status = (StatementStatus.APPROVED if complete else StatementStatus.IN_REVIEW).value
    statement.updated_at = now
    session.add(statement)
    message = f"{channel_label(statement)}声明通过{REVIEW_STAGE_LABELS[command.stage]}"
    if command.note:
        message += f"，意见：{command.note}"
    if complete:
        message += "，审核完成，可以发布"
    kind = StatementEventKind.APPROVED if complete else StatementEventKind.REVIEWED
    _record_step(session, incident, statement, command, kind, message, now)
    return answer(statement, incident)


def _reject(
    session: AsyncSession,
    statement: Statement,
    incident: Incident,
    command: ReviewStatement,
    now: datetime,
) -> Outcome:
    if not command.note or not command.note.strip():
        return refuse(ErrorCode.INVALID, "a rejection needs a note saying what to change", "note")
    _record_review(session, statement, command, now)
    restart_reviews(statement, now)
    session.add(statement)
    stage = REVIEW_STAGE_LABELS[command.stage]
    message = f"{channel_label(statement)}声明未通过{stage}，退回草稿，意见：{command.note}"
    _record_step(session, incident, statement, command, StatementEventKind.REJECTED, message, now)
    return answer(statement, incident)
