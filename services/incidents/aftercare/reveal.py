"""Revealing an affected user's contact to the person who makes the follow-up call.

The contact is sealed so that no screen, log or answer shows it; the one person who needs
it is the one who calls the user back (回访). So the incidents service, which holds the data
key, opens it only for a command that acts for a person assigned the follow-up or for a
commander of the incident, with a reason. Each reveal is appended to the audit log (who,
when, why, which user and follow-up, the contact's kind and masked form, never the value)
and to the incident's timeline; an attempt refused to anyone else is appended to the audit
log as `reveal_refused`. The value goes back in the answer's `once`, which crosses Redis
sealed and is never kept on the message receipt: a replayed command answers that it was
shown already instead of showing it again.
"""

from datetime import datetime

from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs import audit
from libs.acting import Acting
from libs.audit import EntityKind
from libs.contracts.enums import TeamRole
from libs.contracts.messages import CommandResult, ErrorCode
from libs.contracts.refusals import Refused, answering
from libs.contracts.response import RevealContact
from libs.database.tables import AffectedUser, AuditEntry, FollowUpTask, Incident
from libs.privacy import DataKey, decrypt, mask_text
from services.incidents import timeline
from services.incidents.aftercare.service import CONTACT_REVEALED, contact_context
from services.incidents.answers import existing, refusal
from services.incidents.team.duties import holders

REVEALED = "reveal"
REFUSED = "reveal_refused"


@answering
async def reveal(
    session: AsyncSession, command: RevealContact, key: DataKey | None, *, now: datetime
) -> CommandResult:
    """Answer the contact in clear to its follow-up's owner or a commander, for a reason."""
    if (command.affected_user_id is None) == (command.follow_up_id is None):
        message = "name either the affected user or one of their follow-ups"
        raise Refused(refusal(ErrorCode.INVALID, message, "affectedUserId"))
    reason = mask_text(command.reason.strip())
    if not reason:
        raise Refused(refusal(ErrorCode.INVALID, "say why the contact is needed", "reason"))
    if key is None:
        message = "contact data cannot be read: CRISISWATCH_DATA_KEY is not set"
        raise Refused(refusal(ErrorCode.INVALID, message, "affectedUserId"))
    user, tasks, field = await _named(session, command)
    owners = {task.owner_person_id for task in tasks if task.owner_person_id is not None}
    commanders = await holders(session, user.incident_id, TeamRole.COMMANDER)
    if not owners and not commanders:
        message = (
            "nobody is assigned this follow-up and the incident has no commander: "
            "give the follow-up an owner first"
        )
        raise Refused(refusal(ErrorCode.CONFLICT, message, field))
    person = command.acting_person_id
    follow_up = str(command.follow_up_id) if command.follow_up_id else None
    seen = {"reason": reason, "follow_up_id": follow_up, "contact_kind": user.contact_kind}
    if person is None or person not in owners | commanders:
        # An attempt by someone else is on record too; the refusal is answered all the same.
        _audit(session, command, user, REFUSED, seen, now)
        message = (
            "only the person assigned the follow-up or the incident's commander (指挥) "
            "may see the contact"
        )
        raise Refused(refusal(ErrorCode.FORBIDDEN, message, field, duty="follow_up_owner"))
    contact = decrypt(key, user.contact_cipher, contact_context(user))
    role = "follow_up_owner" if person in owners else "commander"
    seen |= {"as": role, "contact_masked": user.contact_masked}
    entry = _audit(session, command, user, REVEALED, seen, now)
    incident = await session.get(Incident, user.incident_id)
    if incident is not None:
        timeline.record(
            session,
            incident,
            CONTACT_REVEALED,
            f"查看了受影响用户{user.name_masked}的联系方式，原因：{reason}",
            actor=command.actor,
            at=now,
            data={"affected_user_id": str(user.id), "follow_up_id": follow_up},
        )
    await session.flush()
    answer = CommandResult.success(
        affected_user_id=str(user.id),
        follow_up_id=follow_up,
        contact_kind=user.contact_kind,
        contact_masked=user.contact_masked,
        revealed_at=now.isoformat(),
        audit_entry_id=str(entry.id),
    )
    return answer.showing_once(contact=contact)


def _audit(
    session: AsyncSession,
    command: RevealContact,
    user: AffectedUser,
    action: str,
    seen: dict[str, str | None],
    now: datetime,
) -> AuditEntry:
    return audit.record(
        session,
        organization_id=user.organization_id,
        kind=EntityKind.AFFECTED_USER_CONTACT,
        action=action,
        entity_id=user.id,
        before=None,
        after=dict(seen),
        acting=Acting.of(command),
        at=now,
    )


async def _named(
    session: AsyncSession, command: RevealContact
) -> tuple[AffectedUser, list[FollowUpTask], str]:
    """Return the user, the follow-ups whose owners may ask, and the field that named them."""
    org = command.organization_id
    if command.follow_up_id is not None:
        task = await existing(
            session, FollowUpTask, org, command.follow_up_id, "follow-up", "followUpId"
        )
        user = await existing(
            session, AffectedUser, org, task.affected_user_id, "affected user", "followUpId"
        )
        return user, [task], "followUpId"
    assert command.affected_user_id is not None  # one of the two, as `reveal` checked
    user = await existing(
        session, AffectedUser, org, command.affected_user_id, "affected user", "affectedUserId"
    )
    found = await session.exec(
        select(FollowUpTask).where(col(FollowUpTask.affected_user_id) == user.id)
    )
    return user, list(found.all()), "affectedUserId"
