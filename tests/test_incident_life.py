"""A scripted incident driven through its whole life by commands over the real queue.

The demo stream goes through the analysis worker, whose signal opens the incident in the
incidents worker; then every step a crisis team takes is a command on the incidents queue,
answered by the running worker. The review report it ends with is exported as JSON and
HTML. (`docs/examples/` is produced from a drill over hours of stream time instead:
`tests/test_drill_review.py`.)
"""

import json
import uuid
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from typing import Any

from arq.connections import ArqRedis
from arq.jobs import Job
from sqlalchemy.ext.asyncio import async_sessionmaker
from sqlmodel import col, select
from sqlmodel.ext.asyncio.session import AsyncSession

from crisiswatch.demo_stream import BRAND, BRAND_KEYWORDS, chatter, crisis
from libs.contracts.enums import (
    Channel,
    ContactKind,
    EventType,
    IncidentStatus,
    ReviewDecision,
    ReviewStage,
    TeamRole,
)
from libs.contracts.messages import (
    EVENTS_QUEUE,
    AcknowledgeIncident,
    Command,
    CommandResult,
    CreateWatchlist,
    MentionIngested,
    Message,
)
from libs.contracts.response import (
    AddAffectedUser,
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
from libs.database.tables import Incident, IntegrationEvent, ResponseTask, Statement
from libs.messaging.publisher import publish
from libs.privacy import DataKey, generate_key
from libs.settings import Settings
from services.analysis.worker import create_worker as analysis_worker
from services.incidents.review import export
from services.incidents.review import service as report
from services.incidents.worker import create_worker as incidents_worker
from services.ingest.schemas import MentionIn
from services.ingest.service import store_batch
from tests.builders import make_tenant
from tests.fixtures.servers import EMBEDDED_ONLY, Servers

ACTOR = "key-war-room"


# The key the commands are sealed with and the workers open them with.
DATA_KEY = generate_key()


async def _run(servers: Servers, redis: ArqRedis, *messages: Message) -> None:
    """Queue `messages`, then let both workers drain their queues (burst mode)."""
    for message in messages:
        await publish(redis, message, key=DataKey.from_base64(DATA_KEY))
    # The answers are read after all four drains: they must outlast them (`_ask`).
    settings = Settings(
        database_url=servers.database_url,
        redis_url=servers.redis_url,
        data_key=DATA_KEY,
        command_timeout_seconds=300.0,
    )
    for create in (analysis_worker, incidents_worker, analysis_worker, incidents_worker):
        worker = create(settings, burst=True, handle_signals=False)
        await worker.main()
        await worker.close()


async def _ask(servers: Servers, redis: ArqRedis, command: Command) -> CommandResult:
    """Send one command through the queue and return the worker's answer."""
    await _run(servers, redis, command)
    job = Job(str(command.message_id), redis, _queue_name=command.QUEUE)
    job._deserializer = redis.job_deserializer
    answer = CommandResult.model_validate(await job.result(timeout=5))
    assert answer.ok, (type(command).__name__, answer.error)
    return answer


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)


@EMBEDDED_ONLY
async def test_a_demo_incident_runs_from_detection_to_a_completed_review(
    servers: Servers, sessions: async_sessionmaker[AsyncSession], redis: ArqRedis
) -> None:
    tenant = await make_tenant(sessions, "heilan")
    org = tenant.org.id
    created = CreateWatchlist(
        organization_id=org, actor=ACTOR, name=BRAND, keywords=list(BRAND_KEYWORDS)
    )
    await _ask(servers, redis, created)

    now = datetime.now(UTC)
    for posts in (chatter("example", now), crisis("example", now)):
        async with transaction(sessions) as session:
            stored = await store_batch(
                session, org, {i: MentionIn.model_validate(p) for i, p in enumerate(posts)}
            )
        await _run(servers, redis, MentionIngested(organization_id=org, mention_ids=stored.new_ids))

    async with sessions() as session:
        incident = (await session.exec(select(Incident))).one()
    assert incident.tier in {"orange", "red"} and incident.status == IncidentStatus.DETECTED
    i = incident.id

    def cmd(kind: type[Command], **fields: Any) -> Any:
        return kind(organization_id=org, actor=ACTOR, **fields)

    await _ask(servers, redis, cmd(AcknowledgeIncident, incident_id=i, note="监测已启动"))
    for role, person in [
        (TeamRole.COMMANDER, "品牌副总裁 周岚"),
        (TeamRole.MONITOR, "舆情专员 李响"),
        (TeamRole.SPOKESPERSON, "公关总监 王宁"),
        (TeamRole.LEGAL, "法务经理 陈默"),
        (TeamRole.CUSTOMER_SERVICE, "客服主管 赵敏"),
    ]:
        await _ask(servers, redis, cmd(AssignRole, incident_id=i, role=role, person=person))
    await _ask(
        servers,
        redis,
        cmd(TransitionIncident, incident_id=i, to_status=IncidentStatus.ASSESSING),
    )
    async with sessions() as session:
        tasks = {
            t.kind: t
            for t in (
                await session.exec(select(ResponseTask).where(ResponseTask.incident_id == i))
            ).all()
        }
    await _ask(
        servers, redis, cmd(CompleteTask, task_id=tasks["confirm_scope"].id, note="涉及批次已锁定")
    )

    facts = [
        KeyFactEntry(label="批次", value="HL2311A07"),
        KeyFactEntry(label="封存数量", value="1200罐"),
    ]
    await _ask(servers, redis, cmd(SetKeyFacts, incident_id=i, facts=facts))
    body = (
        "关于禾岚启护3段奶粉消费者反馈的说明：我们已封存批次HL2311A07共1200罐，"
        "送第三方机构检测，结果出来后第一时间公布。已联系反馈的家长，承担全部就医费用。"
    )
    statement_ids = []
    for channel in (Channel.WEIBO, Channel.WECHAT):
        answer = await _ask(
            servers, redis, cmd(DraftStatement, incident_id=i, channel=channel, body=body)
        )
        statement_ids.append(uuid.UUID(str(answer.data["id"])))
    stages = [ReviewStage.LEVEL_1, ReviewStage.LEVEL_2, ReviewStage.LEVEL_3]
    if incident.tier == "red":
        stages.append(ReviewStage.LEGAL)
    for statement_id in statement_ids:
        for stage in stages:
            await _ask(
                servers,
                redis,
                cmd(
                    ReviewStatement,
                    statement_id=statement_id,
                    stage=stage,
                    decision=ReviewDecision.APPROVE,
                ),
            )
        await _ask(
            servers,
            redis,
            cmd(
                PublishStatement,
                statement_id=statement_id,
                url=f"https://weibo.com/heilan/{statement_id.hex[:10]}",
                published_at=datetime.now(UTC),
            ),
        )
    await _ask(
        servers, redis, cmd(TransitionIncident, incident_id=i, to_status=IncidentStatus.RESPONDING)
    )
    added = await _ask(
        servers,
        redis,
        cmd(
            AddAffectedUser,
            incident_id=i,
            name="林晓",
            contact_kind=ContactKind.PHONE,
            contact="13812345678",
            compensation_amount=3000,
        ),
    )
    assert "13812345678" not in json.dumps(added.data, ensure_ascii=False)
    for status in (IncidentStatus.RECOVERING, IncidentStatus.RESOLVED):
        await _ask(servers, redis, cmd(TransitionIncident, incident_id=i, to_status=status))
    await _ask(
        servers,
        redis,
        cmd(
            UpdateReview,
            incident_id=i,
            root_cause="灌装线清洁记录缺失，异物来自设备密封件老化；客服首轮回应只提退款未致歉。",
            improvements=[
                ImprovementEntry(action="密封件改为每周检查并留档", owner="生产总监"),
                ImprovementEntry(
                    action="客服话术加入首轮致歉与就医协助",
                    owner="客服主管",
                    due_at=datetime.now(UTC) + timedelta(days=14),
                ),
            ],
        ),
    )
    await _ask(servers, redis, cmd(CompleteReview, incident_id=i))
    await _ask(
        servers, redis, cmd(TransitionIncident, incident_id=i, to_status=IncidentStatus.CLOSED)
    )

    async with sessions() as session:
        closed = await session.get(Incident, i)
        published = (
            await session.exec(select(Statement).where(col(Statement.status) == "published"))
        ).all()
        events = (await session.exec(select(IntegrationEvent))).all()
        document = await report.load_review(session, org, i)
    assert closed is not None and closed.status == IncidentStatus.CLOSED
    assert len(published) == 2
    kinds = [e.type for e in events]
    for expected in (
        EventType.INCIDENT_OPENED,
        EventType.INCIDENT_STATUS_CHANGED,
        EventType.STATEMENT_PUBLISHED,
        EventType.REVIEW_COMPLETED,
    ):
        assert expected.value in kinds
    assert len({e.id for e in events}) == len(events)
    assert await redis.zcard(EVENTS_QUEUE) >= len(events)

    assert document is not None
    as_json = export.to_json(document)
    html = export.to_html(document)
    assert json.loads(json.dumps(as_json, ensure_ascii=False)) == as_json
    parser = _Tags()
    parser.feed(html)
    assert "svg" in parser.tags and "script" not in parser.tags
    assert "13812345678" not in html and "13812345678" not in json.dumps(as_json)
