"""Drills (定期模拟演练): start one on its own watchlist, end it with its score card.

A drill is its own watchlist, made with the drill in one transaction and named after it
(演练·数据泄露·1a2b3c4d), so the flag flows without anyone setting it: analysis lets only
the drill's mentions reach that watchlist (`pipeline.stages.match_rules`), incidents marks what
the watchlist opens as a drill's, and notify suppresses or labels its events. Playing the
posts is the caller's part (`crisiswatch drill`), through ingest like any partner's.
"""

from datetime import datetime

from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.drills import SCENARIOS, label
from libs.contracts.enums import DrillScenario, DrillState
from libs.contracts.messages import CommandResult, EndDrill, ErrorCode, StartDrill
from libs.database.tables import Drill
from libs.ids import new_id
from services.analysis.configuration import clean_query
from services.analysis.drills import repository, scorecard
from services.analysis.repository import watchlists


def _refuse(code: ErrorCode, message: str, field: str) -> CommandResult:
    return CommandResult.failure(code, message, field=field)


async def _rule(
    session: AsyncSession, command: StartDrill
) -> tuple[list[str], str] | CommandResult:
    """Return the keywords and rule the drill's watchlist watches, or why there are none."""
    replay = command.scenario is DrillScenario.REPLAY
    if replay and command.replay_incident_id is None:
        return _refuse(
            ErrorCode.INVALID, "a replay names the incident to replay", "replayIncidentId"
        )
    if not replay and command.replay_incident_id is not None:
        return _refuse(
            ErrorCode.INVALID, "only a replay drill names an incident", "replayIncidentId"
        )
    if command.replay_incident_id is not None:
        source = await repository.replayed_watchlist(
            session, command.organization_id, command.replay_incident_id
        )
        if source is None:
            return _refuse(
                ErrorCode.NOT_FOUND,
                f"incident {command.replay_incident_id} not found",
                "replayIncidentId",
            )
        return list(source.keywords), source.query
    keywords = list(SCENARIOS[command.scenario].keywords)
    query = clean_query(None, keywords)
    return query if isinstance(query, CommandResult) else (keywords, query)


def _view(drill: Drill, watchlist_name: str | None = None) -> dict[str, object]:
    data: dict[str, object] = {
        "id": str(drill.id),
        "watchlist_id": str(drill.watchlist_id),
        "state": drill.state,
        "score_card": drill.score_card,
    }
    if watchlist_name is not None:
        data["watchlist_name"] = watchlist_name
    return data


async def start_drill(
    session: AsyncSession, command: StartDrill, *, now: datetime
) -> CommandResult:
    """Make the drill and its own watchlist; answer both ids and what the watchlist watches."""
    rule = await _rule(session, command)
    if isinstance(rule, CommandResult):
        return rule
    keywords, query = rule
    drill_id = new_id()
    # The id's random end: its first digits are the time, shared by drills a minute apart.
    name = f"演练·{label(command.scenario)}·{drill_id.hex[-8:]}"
    watchlist = await watchlists.insert_watchlist(
        session, command.organization_id, name, keywords, query, now
    )
    if watchlist is None:  # a name made of a fresh id is never taken; keep the promise anyway
        return _refuse(ErrorCode.CONFLICT, f"a watchlist named {name!r} already exists", "name")
    started_by = str(command.acting_person_id) if command.acting_person_id else command.actor
    drill = Drill(
        id=drill_id,
        organization_id=command.organization_id,
        watchlist_id=watchlist.id,
        scenario=command.scenario.value,
        replay_incident_id=command.replay_incident_id,
        speed=command.speed,
        delivery=command.delivery.value,
        state=DrillState.RUNNING.value,
        started_by=started_by,
        started_at=now,
        score_card={},
    )
    session.add(drill)
    await session.flush()
    return CommandResult.success(**_view(drill, watchlist.name), keywords=keywords)


async def end_drill(session: AsyncSession, command: EndDrill, *, now: datetime) -> CommandResult:
    """Store the drill's score card and end it; an ended drill answers the card it has."""
    drill = await repository.drill_for_update(session, command.organization_id, command.drill_id)
    if drill is None:
        return _refuse(ErrorCode.NOT_FOUND, f"drill {command.drill_id} not found", "drillId")
    if drill.state == DrillState.ENDED.value:
        return CommandResult.success(**_view(drill))
    drill.score_card = await scorecard.score(session, drill, end=now)
    drill.state = DrillState.ENDED.value
    drill.ended_at = now
    session.add(drill)
    await session.flush()
    return CommandResult.success(**_view(drill))
