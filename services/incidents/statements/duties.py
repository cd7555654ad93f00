"""Separation of duties in statement review (三级审核 means three different people).

Only a person can be held to it: a command sent with a person's key names them
(`acting_person_id`), and then

- nobody approves a text they wrote: the drafter and the last reviser of a statement may
  not approve any stage of it;
- nobody approves two stages of the same review round: level 1, 2, 3 and legal are four
  different people (a rejection or a revision starts a new round, with fresh reviewers);
- once the incident's team has people in the legal role, only they approve the legal stage
  (`services.incidents.team.duties`).

A service account's key acts for no person, so none of this applies to it: it keeps
reviewing as it always has, and the timeline says a key, not a person, approved.
"""

import uuid

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import ReviewDecision, ReviewStage, TeamRole
from libs.contracts.messages import ErrorCode
from libs.contracts.outcome import Outcome
from libs.contracts.response import ReviewStatement
from libs.database.tables import Statement, StatementReview
from services.incidents.answers import refuse
from services.incidents.team.duties import role_refusal


async def duty_refusal(
    session: AsyncSession, statement: Statement, command: ReviewStatement
) -> Outcome | None:
    """Return why the command's person may not approve this stage, or None when they may."""
    person = command.acting_person_id
    if person is None or command.decision is not ReviewDecision.APPROVE:
        return None
    if person in (statement.created_by_person_id, statement.revised_by_person_id):
        message = "you wrote this statement's text; another person must approve it"
        return refuse(ErrorCode.FORBIDDEN, message, "statementId", duty="own_text")
    earlier = await _approved_in_round(session, statement, person)
    if earlier is not None:
        message = (
            f"you already approved {earlier} of this statement; each stage needs a different person"
        )
        return refuse(ErrorCode.FORBIDDEN, message, "stage", duty="distinct_reviewers")
    if command.stage is ReviewStage.LEGAL:
        what = "approve the legal stage"
        return await role_refusal(
            session, statement.incident_id, TeamRole.LEGAL, person, what, "stage"
        )
    return None


async def _approved_in_round(
    session: AsyncSession, statement: Statement, person: uuid.UUID
) -> str | None:
    """Return a stage `person` already approved in the statement's current round."""
    result = await session.exec(
        select(StatementReview.stage).where(
            col(StatementReview.statement_id) == statement.id,
            col(StatementReview.review_round) == statement.review_round,
            col(StatementReview.decision) == ReviewDecision.APPROVE.value,
            col(StatementReview.person_id) == person,
        )
    )
    return result.first()
