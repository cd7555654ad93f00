"""A product-safety drill over hours of stream time, handled by a war room, reviewed.

The real analysis and incidents workers run on one stream clock (a `FixedClock` moved
window by window), so the pipeline lives the drill's hours in seconds: the baseline, the
wave, the incident, the team's steps at their stream times (acknowledged after 20
minutes, statements through three reviews after 3 hours, resolved after 4), the talk that
goes on after, and the review completed two hours later. The review's volume then has
rows before, during and after, and the drill's score card judges each deadline.

With CRISISWATCH_WRITE_EXAMPLES=<folder> the review is also written there as JSON and
HTML: that is how `docs/examples/review-report.*` are produced (`docs/drills.md`).
"""

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.demo_stream import Post
from crisiswatch.drill_stream import script, stamped
from libs.clock import FixedClock
from libs.contracts.enums import (
    Channel,
    DrillScenario,
    IncidentStatus,
    ReviewDecision,
    ReviewStage,
    TeamRole,
)
from libs.contracts.messages import (
    AcknowledgeIncident,
    Command,
    CommandResult,
    EndDrill,
    MentionIngested,
    StartDrill,
)
from libs.contracts.response import (
    AssignRole,
    CompleteReview,
    CompleteTask,
    DraftStatement,
    ImprovementEntry,
    KeyFactEntry,
    PublishStatement,
    ReviewStatement,
    SetKeyFacts,
    TransitionIncident,
    UpdateReview,
)
from libs.database.engine import transaction
from libs.database.tables import Drill, Incident, ResponseTask
from libs.privacy import DataKey, generate_key
from libs.settings import Settings
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.review import export
from services.incidents.review import service as report
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch
from services.notify.config import NotifySettings
from services.notify.worker import create_worker as notify_worker
from tests.builders import make_tenant
from tests.fixtures.servers import Servers
from tests.fixtures.workers import handled, running_workers, settled

ACTOR = "key-war-room"
DATA_KEY = generate_key()
WINDOW = timedelta(minutes=15)
# The team's steps, in stream time after detection.
ACKNOWLEDGE_AFTER = timedelta(minutes=20)
SCOPE_AFTER = timedelta(minutes=90)
STATEMENT_AFTER = timedelta(hours=3)
RESOLVE_AFTER = timedelta(hours=4)
REVIEW_AFTER = timedelta(hours=6)
# Hours of stream time take half a minute: one backend is enough (the code path is the same).
pytestmark = pytest.mark.parametrize("servers", ["embedded"], indirect=True)


async def test_a_drill_over_hours_of_stream_time_ends_in_a_review_with_every_phase(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "heilan-drill")
    org = tenant.org.id
    # Stream time ends before the wall clock's now, so ingest takes every post as plausible.
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=8)
    clock = FixedClock(start)
    settings = Settings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=DATA_KEY,
        command_timeout_seconds=300.0,
    )
    workers = (
        analysis_worker(settings, handle_signals=False, clock=clock),
        incidents_worker(settings, handle_signals=False, clock=clock),
        # Events go to notify as always; the drill suppresses them, so it sends nothing.
        notify_worker(
            NotifySettings.extending(settings).model_copy(
                update={"webhook_dispatch_seconds": 3600.0}
            ),
            handle_signals=False,
            clock=clock,
        ),
    )
    key = DataKey.from_base64(DATA_KEY)

    async def ask(command: Command) -> CommandResult:
        answer = CommandResult.model_validate(await handled(redis, command, key=key))
        assert answer.ok, (type(command).__name__, answer.error)
        return answer

    async def ingest(posts: list[Post]) -> None:
        if not posts:
            return
        async with transaction(sessions) as session:
            stored = await store_batch(
                session, org, {i: MentionIn.model_validate(p) for i, p in enumerate(posts)}
            )
        if stored.new_ids:
            await handled(redis, MentionIngested(organization_id=org, mention_ids=stored.new_ids))
        await settled(sessions, redis, org)

    def cmd(kind: type[Command], **fields: Any) -> Any:
        return kind(organization_id=org, actor=ACTOR, **fields)

    async with running_workers(*workers):
        started = await ask(cmd(StartDrill, scenario=DrillScenario.PRODUCT_SAFETY, speed=1.0))
        drill_id = str(started.data["id"])
        laid_out = script(DrillScenario.PRODUCT_SAFETY, drill_id, start)
        await ingest(laid_out.history)
        live = [stamped(p, start + timedelta(seconds=at)) for at, p in laid_out.live]

        # The wave: the first window opens the incident.
        clock.current = start + timedelta(minutes=2)
        await ingest([p for p in live if _at(p) <= clock.current])
        async with sessions() as session:
            incident = (await session.exec(select(Incident).where(Incident.drill))).one()
        assert incident.organization_id == org and incident.tier in {"orange", "red"}
        i, detected = incident.id, incident.detected_at

        steps: list[tuple[timedelta, Callable[[], Any]]] = [
            (ACKNOWLEDGE_AFTER, lambda: _acknowledge(ask, cmd, i)),
            (SCOPE_AFTER, lambda: _scope(ask, cmd, sessions, i)),
            (STATEMENT_AFTER, lambda: _statements(ask, cmd, sessions, i, clock)),
            (RESOLVE_AFTER, lambda: _resolve(ask, cmd, i)),
        ]
        sent_until = clock.current
        while clock.current < detected + REVIEW_AFTER:
            # The next window's end, or the next step's moment if that comes first.
            stops = [clock.current + WINDOW, detected + REVIEW_AFTER]
            clock.current = min(stops + [detected + after for after, _ in steps[:1]])
            await ingest([p for p in live if sent_until < _at(p) <= clock.current])
            sent_until = clock.current
            while steps and detected + steps[0][0] <= clock.current:
                _, step = steps.pop(0)
                await step()
        await _review(ask, cmd, i)
        # Closing the drill's incident ends the drill: analysis stores its score card.
        await ask(cmd(TransitionIncident, incident_id=i, to_status=IncidentStatus.CLOSED))
        await settled(sessions, redis, org)
        async with sessions() as session:
            drill = await session.get(Drill, uuid.UUID(drill_id))
        assert drill is not None and drill.state == "ended" and drill.score_card
        ended = await ask(cmd(EndDrill, drill_id=uuid.UUID(drill_id)))
        assert ended.data["score_card"] == drill.score_card

    card = ended.data["score_card"]
    assert card["seconds_to_acknowledge"] == ACKNOWLEDGE_AFTER.total_seconds()
    outcomes = {d["kind"]: d["outcome"] for d in card["deadlines"]}
    assert outcomes["acknowledge"] == "met" and outcomes["confirm_scope"] == "met"
    assert card["statements_through_review"] == 2 and card["participants"] == [ACTOR]

    async with sessions() as session:
        document = await report.load_review(session, org, i)
    assert document is not None
    as_json = export.to_json(document)
    phases = {p["phase"]: p for p in as_json["sections"]["volume"]["phases"]}
    assert phases["before"]["total"] > 0 and phases["during"]["hours"] >= 3
    assert phases["during"]["total"] > 0 and phases["after"]["total"] > 0
    target = os.environ.get("CRISISWATCH_WRITE_EXAMPLES")
    if target:
        html = export.to_html(document)
        await asyncio.to_thread(_write_example, Path(target), as_json, html)


def _at(post: Post) -> datetime:
    return datetime.fromisoformat(str(post["posted_at"]))


async def _acknowledge(ask: Any, cmd: Any, i: uuid.UUID) -> None:
    await ask(cmd(AcknowledgeIncident, incident_id=i, note="监测已启动（演练）"))
    for role, person in [
        (TeamRole.COMMANDER, "品牌副总裁 周岚"),
        (TeamRole.MONITOR, "舆情专员 李响"),
        (TeamRole.SPOKESPERSON, "公关总监 王宁"),
        (TeamRole.LEGAL, "法务经理 陈默"),
    ]:
        await ask(cmd(AssignRole, incident_id=i, role=role, person=person))
    await ask(cmd(TransitionIncident, incident_id=i, to_status=IncidentStatus.ASSESSING))


async def _scope(
    ask: Any, cmd: Any, sessions: async_sessionmaker[AsyncSession], i: uuid.UUID
) -> None:
    async with sessions() as session:
        tasks = (
            await session.exec(select(ResponseTask).where(ResponseTask.incident_id == i))
        ).all()
    scope = next(t for t in tasks if t.kind == "confirm_scope")
    await ask(cmd(CompleteTask, task_id=scope.id, note="涉及批次已锁定"))
    facts = [
        KeyFactEntry(label="批次", value="HL2311A07"),
        KeyFactEntry(label="封存数量", value="1200罐"),
    ]
    await ask(cmd(SetKeyFacts, incident_id=i, facts=facts))


async def _statements(
    ask: Any, cmd: Any, sessions: async_sessionmaker[AsyncSession], i: uuid.UUID, clock: FixedClock
) -> None:
    async with sessions() as session:
        incident = await session.get(Incident, i)
    assert incident is not None
    tier = incident.tier
    body = (
        "关于禾岚启护3段奶粉消费者反馈的说明：我们已封存批次HL2311A07共1200罐，"
        "送第三方机构检测，结果出来后第一时间公布。已联系反馈的家长，承担全部就医费用。"
    )
    stages = [ReviewStage.LEVEL_1, ReviewStage.LEVEL_2, ReviewStage.LEVEL_3]
    if tier == "red":
        stages.append(ReviewStage.LEGAL)
    for channel in (Channel.WEIBO, Channel.WECHAT):
        drafted = await ask(cmd(DraftStatement, incident_id=i, channel=channel, body=body))
        statement = uuid.UUID(str(drafted.data["id"]))
        for stage in stages:
            await ask(
                cmd(
                    ReviewStatement,
                    statement_id=statement,
                    stage=stage,
                    decision=ReviewDecision.APPROVE,
                )
            )
        await ask(
            cmd(
                PublishStatement,
                statement_id=statement,
                url=f"https://weibo.com/heilan/{statement.hex[:10]}",
                published_at=clock.current,
            )
        )
    await ask(cmd(TransitionIncident, incident_id=i, to_status=IncidentStatus.RESPONDING))


async def _resolve(ask: Any, cmd: Any, i: uuid.UUID) -> None:
    for status in (IncidentStatus.RECOVERING, IncidentStatus.RESOLVED):
        await ask(cmd(TransitionIncident, incident_id=i, to_status=status))


async def _review(ask: Any, cmd: Any, i: uuid.UUID) -> None:
    await ask(
        cmd(
            UpdateReview,
            incident_id=i,
            root_cause="（演练）灌装线清洁记录缺失，异物来自设备密封件老化；客服首轮回应只提退款未致歉。",
            improvements=[
                ImprovementEntry(action="密封件改为每周检查并留档", owner="生产总监"),
                ImprovementEntry(action="客服话术加入首轮致歉与就医协助", owner="客服主管"),
            ],
        )
    )
    await ask(cmd(CompleteReview, incident_id=i))


def _write_example(folder: Path, as_json: dict[str, Any], html: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "review-report.json").write_text(
        json.dumps(as_json, ensure_ascii=False, indent=2) + "\n", encoding="utf-8"
    )
    (folder / "review-report.html").write_text(html, encoding="utf-8")
