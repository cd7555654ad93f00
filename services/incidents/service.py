"""The incidents service's façade: one handler per message the incidents queue carries.

Every handler takes the context of the process running it (its clock, the data key for
contacts), the session of the caller's unit of work and the message, and answers an
`Outcome`: the messages to publish once the caller commits and, for a command, its answer.
Handlers never commit. The rules live in the sub-domains (`signals`, `lifecycle`, `tasks`,
`team`, `oncall`, `playbook`, `quiet`, `partners`, `evidence`, `sitreps`, `statements`, `replies`,
`aftercare`, `review`); this module only picks the clock and joins the steps one message
takes across them.
"""

from typing import Protocol

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts import response
from libs.contracts.enums import IncidentStatus
from libs.contracts.messages import AcknowledgeIncident, RiskSignalRaised, RiskTierFell
from libs.contracts.outcome import Outcome
from libs.privacy import DataKey
from services.incidents.aftercare import reveal
from services.incidents.aftercare import service as aftercare
from services.incidents.evidence import service as evidence
from services.incidents.lifecycle import service as lifecycle
from services.incidents.oncall import service as oncall
from services.incidents.partners import service as partners
from services.incidents.playbook import service as playbook
from services.incidents.quiet import service as quiet
from services.incidents.replies import service as replies
from services.incidents.review import improvements
from services.incidents.review import service as review
from services.incidents.signals import fall as falls
from services.incidents.signals import service as signals
from services.incidents.signals import snooze
from services.incidents.sitreps import service as sitreps
from services.incidents.statements import approval, drafting
from services.incidents.statements import service as statements
from services.incidents.tasks import service as tasks
from services.incidents.team import service as team


class Context(Protocol):
    """What a handler takes from the process running it."""

    @property
    def clock(self) -> Clock:
        """Where the handler reads the time."""
        ...

    @property
    def data_key(self) -> DataKey | None:
        """The key that encrypts affected users' contacts; None when none is configured."""
        ...


async def apply_signal(
    context: Context, session: AsyncSession, signal: RiskSignalRaised
) -> Outcome:
    """Open, join, reopen or raise the incident of the signal's watchlist or story."""
    # The clock itself, not a reading: grouping reads it once it holds the watchlist lock.
    return await signals.apply_signal(session, signal, clock=context.clock)


async def apply_fall(context: Context, session: AsyncSession, fall: RiskTierFell) -> Outcome:
    """Record a watchlist's fall on its incident, let the tier follow, lower a held crisis."""
    return await falls.apply_fall(session, fall, clock=context.clock)


async def acknowledge(
    context: Context, session: AsyncSession, command: AcknowledgeIncident
) -> Outcome:
    """Acknowledge a detected incident and complete its acknowledge task."""
    return await lifecycle.acknowledge(session, command, now=context.clock.now())


async def transition(
    context: Context, session: AsyncSession, command: response.TransitionIncident
) -> Outcome:
    """Move an incident; resolving it drafts its review report in the same transaction."""
    now = context.clock.now()
    outcome = await lifecycle.transition(session, command, now=now)
    moved = outcome.result is not None and outcome.result.ok
    if moved and command.to_status is IncidentStatus.RESOLVED:
        await review.draft_review(session, command.incident_id, now=now)
    return outcome


async def change_tier(
    context: Context, session: AsyncSession, command: response.ChangeIncidentTier
) -> Outcome:
    """Raise or lower an open incident's tier by hand, with a reason."""
    return await lifecycle.change_tier(session, command, now=context.clock.now())


async def assign_role(
    context: Context, session: AsyncSession, command: response.AssignRole
) -> Outcome:
    """Put a person in a role on an incident's team."""
    return await team.assign_role(session, command, now=context.clock.now())


async def snooze_watchlist(
    context: Context, session: AsyncSession, command: response.SnoozeWatchlist
) -> Outcome:
    """Silence a watchlist for a while, with a reason."""
    return await snooze.snooze_watchlist(session, command, now=context.clock.now())


async def add_own_account(
    context: Context, session: AsyncSession, command: response.AddOwnAccount
) -> Outcome:
    """Register one of the organization's own accounts for quiet periods to pause."""
    return await quiet.add_account(session, command, now=context.clock.now())


async def update_own_account(
    context: Context, session: AsyncSession, command: response.UpdateOwnAccount
) -> Outcome:
    """Change an own account's owner, or whether quiet periods pause it."""
    return await quiet.update_account(session, command, now=context.clock.now())


async def add_partner(
    context: Context, session: AsyncSession, command: response.AddPartner
) -> Outcome:
    """Register a partner (agency, KOL, distributor…)."""
    return await partners.add_partner(session, command, now=context.clock.now())


async def update_partner(
    context: Context, session: AsyncSession, command: response.UpdatePartner
) -> Outcome:
    """Change a partner's contact or note, or retire it."""
    return await partners.update_partner(session, command, now=context.clock.now())


async def set_partner_status(
    context: Context, session: AsyncSession, command: response.SetPartnerStatus
) -> Outcome:
    """Record where a partner stands in an incident."""
    return await partners.set_status(session, command, now=context.clock.now())


async def create_evidence_bundle(
    context: Context, session: AsyncSession, command: response.CreateEvidenceBundle
) -> Outcome:
    """Gather an incident's evidence mentions and rebutting facts into a bundle."""
    return await evidence.create_bundle(session, command, now=context.clock.now())


async def add_evidence(
    context: Context, session: AsyncSession, command: response.AddEvidence
) -> Outcome:
    """Add mentions to an evidence bundle."""
    return await evidence.add_evidence(session, command, now=context.clock.now())


async def suggest_statement(
    context: Context, session: AsyncSession, command: response.SuggestStatement
) -> Outcome:
    """Answer a checked statement draft from the templates and the key facts."""
    return await drafting.suggest(session, command, now=context.clock.now())


async def set_statement_template(
    context: Context, session: AsyncSession, command: response.SetStatementTemplate
) -> Outcome:
    """Store a new version of the organization's statement template."""
    return await drafting.set_template(session, command, now=context.clock.now())


async def send_situation_report(
    context: Context, session: AsyncSession, command: response.SendSituationReport
) -> Outcome:
    """Send a drafted situation report, as edited, to the team's chat and webhooks."""
    return await sitreps.send(session, command, now=context.clock.now())


async def update_improvement_action(
    context: Context, session: AsyncSession, command: response.UpdateImprovementAction
) -> Outcome:
    """Move an improvement action along, or give it an owner or a due date."""
    return await improvements.update_action(session, command, now=context.clock.now())


async def set_playbook(
    context: Context, session: AsyncSession, command: response.SetPlaybook
) -> Outcome:
    """Replace the organization's playbook for a tier and crisis type."""
    return await playbook.set_playbook(session, command, now=context.clock.now())


async def complete_task(
    context: Context, session: AsyncSession, command: response.CompleteTask
) -> Outcome:
    """Mark a response task done, on time or late."""
    return await tasks.complete(session, command, now=context.clock.now())


async def set_rota(context: Context, session: AsyncSession, command: response.SetRota) -> Outcome:
    """Set who takes turns on duty in a role and when they hand off."""
    return await oncall.set_rota(session, command, now=context.clock.now())


async def set_rota_override(
    context: Context, session: AsyncSession, command: response.SetRotaOverride
) -> Outcome:
    """Put someone on duty in a role instead of the rotation, for a while."""
    return await oncall.set_override(session, command, now=context.clock.now())


async def acknowledge_page(
    context: Context, session: AsyncSession, command: response.AcknowledgePage
) -> Outcome:
    """Record that a paged person took the page."""
    return await oncall.acknowledge(session, command, now=context.clock.now())


async def draft_statement(
    context: Context, session: AsyncSession, command: response.DraftStatement
) -> Outcome:
    """Write a new statement draft for a channel."""
    return await statements.draft_statement(session, command, now=context.clock.now())


async def revise_statement(
    context: Context, session: AsyncSession, command: response.ReviseStatement
) -> Outcome:
    """Change an unpublished statement's text; its reviews start over."""
    return await statements.revise_statement(session, command, now=context.clock.now())


async def review_statement(
    context: Context, session: AsyncSession, command: response.ReviewStatement
) -> Outcome:
    """Approve or reject one review stage of a statement."""
    return await approval.review_statement(session, command, now=context.clock.now())


async def request_legal_review(
    context: Context, session: AsyncSession, command: response.RequestLegalReview
) -> Outcome:
    """Ask for legal approval of a statement, whatever its incident's tier."""
    return await statements.request_legal_review(session, command, now=context.clock.now())


async def publish_statement(
    context: Context, session: AsyncSession, command: response.PublishStatement
) -> Outcome:
    """Record that an approved statement went out."""
    return await statements.publish_statement(session, command, now=context.clock.now())


async def set_key_facts(
    context: Context, session: AsyncSession, command: response.SetKeyFacts
) -> Outcome:
    """Replace an incident's key facts and recheck its statements against them."""
    return await statements.set_key_facts(session, command, now=context.clock.now())


async def file_reply(
    context: Context, session: AsyncSession, command: response.FileReply
) -> Outcome:
    """File a mention with the reply used in the reply library."""
    return await replies.file_reply(session, command, now=context.clock.now())


async def add_affected_user(
    context: Context, session: AsyncSession, command: response.AddAffectedUser
) -> Outcome:
    """Record a harmed customer; the contact is encrypted with the process's data key."""
    return await aftercare.add_affected_user(
        session, command, context.data_key, now=context.clock.now()
    )


async def complete_follow_up(
    context: Context, session: AsyncSession, command: response.CompleteFollowUp
) -> Outcome:
    """Mark a follow-up visit or compensation done."""
    return await aftercare.complete_follow_up(session, command, now=context.clock.now())


async def update_follow_up(
    context: Context, session: AsyncSession, command: response.UpdateFollowUp
) -> Outcome:
    """Give a follow-up another owner or a new due time."""
    return await aftercare.update_follow_up(session, command, now=context.clock.now())


async def reveal_contact(
    context: Context, session: AsyncSession, command: response.RevealContact
) -> Outcome:
    """Show an affected user's contact to their follow-up's owner or a commander, audited."""
    return await reveal.reveal(session, command, context.data_key, now=context.clock.now())


async def update_review(
    context: Context, session: AsyncSession, command: response.UpdateReview
) -> Outcome:
    """Write a review's root cause and improvement actions."""
    return await review.update_review(session, command, now=context.clock.now())


async def complete_review(
    context: Context, session: AsyncSession, command: response.CompleteReview
) -> Outcome:
    """Complete a review, refused while a required part is empty."""
    return await review.complete_review(session, command, now=context.clock.now())
