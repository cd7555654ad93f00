"""Quiet periods: while an incident is fought at orange or above, the organization's own
accounts pause scheduled and marketing posts (暂停敏感账号运营), and resume on recovery.

The seeds ask for this among the risk-control measures: a brand that keeps posting
promotions through a safety scandal pours oil on it. A periodic pass (`QUIET_PERIODS`)
settles each incident in its own transaction, so whichever way an incident got to orange
— a signal, a hand-set tier, a reopening — or left the fight — recovering, resolved, closed,
merged, a false alarm — the period follows within one pass, and a retried pass changes
nothing (at most one period runs per incident: `uq_quiet_period_running`).

An organization with no active account registered has nothing to pause: its incidents get
no quiet period (one starts at the next pass once an account is registered). A start
records a `quiet_period.started` event naming every active account (marketing
schedulers subscribe to it and hold their queues), a timeline entry, and one task per
account for the spokesperson's team to confirm the pause by hand; an end records
`quiet_period.ended` with the same accounts and the status that ended it.
"""

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.clock import Clock
from libs.contracts.enums import IncidentStatus, Source, TaskStatus, TeamRole, Tier
from libs.contracts.events import QuietAccount, QuietPeriodEnded, QuietPeriodStarted
from libs.contracts.messages import CommandResult, ErrorCode, Message, not_found
from libs.contracts.outcome import Outcome
from libs.contracts.response import AddOwnAccount, UpdateOwnAccount
from libs.contracts.vocabulary import SOURCE_LABELS, STATUS_LABELS, TIER_SEVERITY
from libs.database.owned import owned
from libs.database.tables import Incident, OwnAccount, QuietPeriod, ResponseTask
from libs.messaging.sweep import SweepSpec
from services.incidents import events, timeline
from services.incidents.quiet import repository
from services.incidents.repository import belonging_to

# How soon each account's pause should be confirmed by hand.
PAUSE_WITHIN = timedelta(hours=1)
STARTED = "quiet_period_started"
ENDED = "quiet_period_ended"


def _handle(raw: str) -> str:
    """Keep an account's handle as people write it, without the leading @ and spaces."""
    return raw.strip().lstrip("@").strip()


async def add_account(session: AsyncSession, command: AddOwnAccount, *, now: datetime) -> Outcome:
    """Register an own account; the same platform and handle twice is a conflict."""
    handle = _handle(command.handle)
    if not handle:
        return Outcome.answer(
            CommandResult.failure(ErrorCode.INVALID, "handle must not be blank", "handle")
        )
    platform = command.platform.value
    if await repository.handle_taken(session, command.organization_id, platform, handle):
        message = f"{platform} account @{handle} is already registered"
        return Outcome.answer(CommandResult.failure(ErrorCode.CONFLICT, message, "handle"))
    owner = command.owner.strip() if command.owner and command.owner.strip() else None
    account = OwnAccount(
        organization_id=command.organization_id,
        platform=platform,
        handle=handle,
        owner=owner,
        created_at=now,
        updated_at=now,
    )
    session.add(account)
    await session.flush()
    return Outcome.answer(CommandResult.success(id=str(account.id)))


async def update_account(
    session: AsyncSession, command: UpdateOwnAccount, *, now: datetime
) -> Outcome:
    """Change an own account's owner or whether quiet periods pause it; omitted stays."""
    account = await owned(
        session, OwnAccount, command.organization_id, command.account_id, lock=True
    )
    if account is None:
        return Outcome.answer(not_found("own account", command.account_id, "accountId"))
    if command.owner is not None:
        account.owner = command.owner.strip() or None
    if command.active is not None:
        account.active = command.active
    account.updated_at = now
    session.add(account)
    await session.flush()
    return Outcome.answer(CommandResult.success(id=str(account.id)))


async def settle(session: AsyncSession, incident_id: uuid.UUID, clock: Clock) -> Outcome:
    """Start the incident's quiet period, or end it, as its status and tier now ask."""
    incident = await repository.incident_for_update(session, incident_id)
    if incident is None:
        return Outcome()
    now = clock.now()
    running = await repository.running_period(session, incident.id)
    fighting = IncidentStatus(incident.status) in repository.FIGHTING
    if running is None and fighting and Tier(incident.tier) in repository.LOUD:
        accounts = await repository.active_accounts(session, incident.organization_id)
        if accounts:
            return Outcome.emit(*await _start(session, incident, accounts, now))
    if running is not None and not fighting:
        return Outcome.emit(await _end(session, incident, running, now))
    return Outcome()


async def _start(
    session: AsyncSession, incident: Incident, accounts: Sequence[OwnAccount], now: datetime
) -> list[Message]:
    ordinal = await repository.periods_before(session, incident.id) + 1
    tasks = await _pause_tasks(session, incident, accounts, ordinal, now)
    told = [
        QuietAccount(
            account_id=account.id,
            platform=account.platform,
            handle=account.handle,
            owner=account.owner,
            pause_task_id=task.id,
        )
        for account, task in zip(accounts, tasks, strict=True)
    ]
    period = QuietPeriod(
        **belonging_to(incident),
        tier=incident.tier,
        started_at=now,
        accounts=[a.model_dump(mode="json") for a in told],
    )
    session.add(period)
    names = "、".join(_label(a.platform, a.handle) for a in told)
    timeline.record(
        session,
        incident,
        STARTED,
        f"事件达到{TIER_SEVERITY[Tier(incident.tier)]}级别，进入静默期：暂停官方账号的定时发布与"
        f"营销内容：{names}",
        at=now,
        data={"quiet_period_id": str(period.id), "accounts": len(told)},
    )
    await session.flush()
    body = QuietPeriodStarted(
        quiet_period_id=period.id,
        incident_id=incident.id,
        tier=incident.tier,
        started_at=now,
        accounts=told,
    )
    started = await events.record(
        session, body, incident.organization_id, incident.id, key=f"{period.id}:start", at=now
    )
    return [started]


async def _pause_tasks(
    session: AsyncSession,
    incident: Incident,
    accounts: Sequence[OwnAccount],
    ordinal: int,
    now: datetime,
) -> list[ResponseTask]:
    """One task per account to confirm its scheduled posts are held, after the playbook's."""
    position = await repository.next_task_position(session, incident.id)
    made: list[ResponseTask] = []
    for account in accounts:
        owner = f"（负责人：{account.owner}）" if account.owner else ""
        title = f"暂停{_label(account.platform, account.handle)}的定时发布与营销内容{owner}"
        task = ResponseTask(
            **belonging_to(incident),
            # Unique per incident: the period's ordinal keeps a reopened crisis's tasks apart.
            kind=f"pause{ordinal}:{account.id.hex[:24]}",
            title=title[:300],
            position=position,
            due_at=now + PAUSE_WITHIN,
            status=TaskStatus.OPEN.value,
            role=TeamRole.SPOKESPERSON.value,
            created_at=now,
        )
        position += 1
        session.add(task)
        made.append(task)
    await session.flush()
    return made


def _label(platform: str, handle: str) -> str:
    return f"{SOURCE_LABELS.get(Source(platform), platform)} @{handle}"


async def _end(
    session: AsyncSession, incident: Incident, period: QuietPeriod, now: datetime
) -> Message:
    period.ended_at = now
    period.ended_status = incident.status
    session.add(period)
    status = IncidentStatus(incident.status)
    timeline.record(
        session,
        incident,
        ENDED,
        f"事件已{STATUS_LABELS[status]}，静默期结束，官方账号可恢复正常发布",
        at=now,
        data={"quiet_period_id": str(period.id)},
    )
    await session.flush()
    body = QuietPeriodEnded(
        quiet_period_id=period.id,
        incident_id=incident.id,
        started_at=period.started_at,
        ended_at=now,
        status=incident.status,
        accounts=[QuietAccount.model_validate(a) for a in period.accounts],
    )
    return await events.record(
        session, body, incident.organization_id, incident.id, key=f"{period.id}:end", at=now
    )


async def _due(session: AsyncSession, at: datetime) -> list[uuid.UUID]:
    return await repository.incidents_to_settle(session)


QUIET_PERIODS = SweepSpec("incidents-quiet-periods", _due, settle)
"""The pass the incidents worker runs every `QUIET_PERIOD_CHECK_SECONDS`, once per cluster."""
