"""The reply library on real PostgreSQL: filing, no deletion advice, similar-case search."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import select

from libs import reply_library
from libs.contracts.messages import CommandResult
from libs.contracts.response import FileReply
from libs.database.engine import transaction
from libs.database.tables import Incident, Mention, ReplyCase, TimelineEvent, Watchlist
from services.incidents.replies import service as replies
from services.incidents.tests.builders import make_org, run
from tests.builders import Sessions, read_all

NOW = datetime(2026, 3, 5, 10, 0, tzinfo=UTC)

COMPLAINT = "你们家的奶粉宝宝喝了以后一直拉肚子，客服电话也打不通，到底怎么回事？"
NEAR_DUPLICATE = "你們家的奶粉寶寶喝了之後一直拉肚子，客服電話打不通，到底怎麼回事！！"
OTHER_COMPLAINTS = [
    "快递三天了还没发货，订单一直显示待发货，能不能快点",
    "门店店员态度很差，问个问题爱答不理的",
    "奶粉罐子打开发现有结块，是不是受潮了",
    "会员积分怎么突然清零了，没有任何通知",
    "网上说你们奶粉致癌是真的吗？求官方回应",
    "买的米粉包装破损，申请退货一直没人处理",
    "宝宝喝了你们的奶粉过敏起红疹，怎么办",
    "活动页面显示的价格和结算价格不一样",
    "客服回复太慢了，等了一个小时才有人理",
    "新包装的奶粉味道和以前不一样，是换配方了吗",
]
REPLY = "非常抱歉给您和宝宝带来困扰，我们已安排专员联系您了解批次信息，并提供免费检测与退换。"


def _command(
    organization_id: uuid.UUID,
    *,
    text: str | None = None,
    reply: str = REPLY,
    category: str = "产品质量",
    mention_id: uuid.UUID | None = None,
    incident_id: uuid.UUID | None = None,
) -> FileReply:
    return FileReply(
        organization_id=organization_id,
        actor="key-service",
        text=text,
        reply=reply,
        category=category,
        mention_id=mention_id,
        incident_id=incident_id,
    )


async def _file(sessions: Sessions, command: FileReply, at: datetime = NOW) -> CommandResult:
    result, messages = await run(sessions, replies.file_reply, command, now=at)
    assert messages == []
    return result


async def _search(
    sessions: Sessions, organization_id: uuid.UUID, text: str, limit: int = 5
) -> list[reply_library.SimilarCase]:
    async with sessions() as session:
        return await reply_library.search(session, organization_id, text, limit)


async def _cases(sessions: Sessions, organization_id: uuid.UUID) -> list[ReplyCase]:
    return await read_all(
        sessions, select(ReplyCase).where(ReplyCase.organization_id == organization_id)
    )


@pytest.mark.parametrize(
    "reply",
    [
        "建议尽快删帖，避免扩散",
        "可以联系平台投诉删除这条内容",
        "请删掉那条帖子",
        "先清理负面信息再回应",
        "隐藏差评，引导好评",
        "不如删帖算了",
        "把相关微博撤下",
        "建議儘快刪帖",
        "删 帖",
        "将这几篇笔记全部删除",
    ],
)
def test_replies_that_advise_deleting_posts_are_recognised(reply: str) -> None:
    assert reply_library.deletion_advice(reply) is not None


@pytest.mark.parametrize(
    "reply",
    [
        REPLY,
        "我们不会删帖，欢迎大家继续监督",
        "我们绝不删除任何评论，所有意见都会认真处理",
        "应您的要求，我们已删除您的个人信息",
        "已下架涉事批次商品并启动召回",
        "不要删评，逐条回复",
        "请不要把帖子删掉，我们会公开回应",
    ],
)
def test_ordinary_replies_are_not_deletion_advice(reply: str) -> None:
    assert reply_library.deletion_advice(reply) is None


async def test_a_reply_is_filed_with_its_text_signature_and_a_timeline_event(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    async with transaction(rolled_back) as session:
        watchlist = Watchlist(organization_id=org, name="奶粉", keywords=["奶粉"])
        session.add(watchlist)
        await session.flush()
        incident = Incident(
            organization_id=org,
            watchlist_id=watchlist.id,
            title="「奶粉」舆情危机",
            tier="yellow",
            status="responding",
            detected_at=NOW,
        )
        session.add(incident)

    result = await _file(rolled_back, _command(org, text=COMPLAINT, incident_id=incident.id))

    assert result.ok, result.error
    assert result.data["text"] == COMPLAINT and result.data["reply"] == REPLY
    (case,) = await _cases(rolled_back, org)
    assert case.signature == reply_library.signature(COMPLAINT)
    assert case.signature is not None and len(case.signature) == 1 + 4 * reply_library.NUM_HASHES
    assert (case.category, case.created_by, case.incident_id) == (
        "产品质量",
        "key-service",
        incident.id,
    )
    async with rolled_back() as session:
        (event,) = (
            await session.exec(
                select(TimelineEvent).where(TimelineEvent.incident_id == incident.id)
            )
        ).all()
    assert (event.kind, event.actor) == ("reply_filed", "key-service")
    assert event.message == "问答库新增案例（产品质量），已记录所用回复"


async def test_a_mention_is_filed_with_its_stored_text(rolled_back: Sessions) -> None:
    org = await make_org(rolled_back)
    stranger = await make_org(rolled_back)
    async with transaction(rolled_back) as session:
        mention = Mention(
            organization_id=org,
            source="weibo",
            external_id="w-1",
            text=COMPLAINT,
            content_hash="h",
            posted_at=NOW - timedelta(hours=1),
        )
        session.add(mention)

    result = await _file(rolled_back, _command(org, mention_id=mention.id, text="被忽略的文字"))
    assert result.ok, result.error
    assert (result.data["text"], result.data["mention_id"]) == (COMPLAINT, str(mention.id))

    refused = await _file(rolled_back, _command(stranger, mention_id=mention.id))
    assert refused.error is not None
    assert (refused.error.code, refused.error.field) == ("NotFound", "mentionId")


async def test_deletion_advice_and_missing_text_are_refused_and_nothing_is_stored(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    refused = await _file(rolled_back, _command(org, text=COMPLAINT, reply="建议联系平台删帖处理"))
    assert refused.error is not None
    assert (refused.error.code, refused.error.field) == ("Invalid", "reply")
    assert "删帖" in refused.error.message

    no_text = await _file(rolled_back, _command(org, text="  "))
    assert no_text.error is not None
    assert (no_text.error.code, no_text.error.field) == ("Invalid", "text")

    ghost = await _file(rolled_back, _command(org, text=COMPLAINT, incident_id=uuid.uuid4()))
    assert ghost.error is not None and ghost.error.field == "incidentId"
    assert await _cases(rolled_back, org) == []


async def test_a_near_duplicate_complaint_finds_its_case_first(rolled_back: Sessions) -> None:
    org = await make_org(rolled_back)
    for index, text in enumerate(OTHER_COMPLAINTS):
        await _file(rolled_back, _command(org, text=text, reply=f"回复{index}", category="其他"))
    target = await _file(rolled_back, _command(org, text=COMPLAINT))

    found = await _search(rolled_back, org, NEAR_DUPLICATE, limit=3)

    assert [c.case_id for c in found][:1] == [uuid.UUID(target.data["id"])]
    assert found[0].reply == REPLY and found[0].category == "产品质量"
    assert found[0].similarity > 0.5
    assert len(found) >= 2
    assert [c.similarity for c in found] == sorted((c.similarity for c in found), reverse=True)
    assert found[1].similarity < found[0].similarity / 2


async def test_search_never_returns_deletion_advice_nor_another_organizations_cases(
    rolled_back: Sessions,
) -> None:
    org = await make_org(rolled_back)
    other = await make_org(rolled_back)
    await _file(rolled_back, _command(other, text=COMPLAINT, reply="另一家公司的回复"))
    # A case stored before the rule existed: search still keeps it out.
    async with transaction(rolled_back) as session:
        session.add(
            ReplyCase(
                organization_id=org,
                category="产品质量",
                text=COMPLAINT,
                reply="联系平台删帖即可",
                signature=reply_library.signature(COMPLAINT),
                created_by="legacy",
            )
        )
    assert await _search(rolled_back, org, COMPLAINT) == []

    await _file(rolled_back, _command(org, text=OTHER_COMPLAINTS[6]))
    found = await _search(rolled_back, org, COMPLAINT)
    assert [c.text for c in found] == [OTHER_COMPLAINTS[6]]
    assert [c.reply for c in await _search(rolled_back, other, COMPLAINT)] == ["另一家公司的回复"]


async def test_search_honours_limit_and_category(rolled_back: Sessions) -> None:
    org = await make_org(rolled_back)
    for index, text in enumerate(OTHER_COMPLAINTS):
        category = "物流" if index % 2 else "产品质量"
        await _file(
            rolled_back, _command(org, text=text, category=category), NOW + timedelta(seconds=index)
        )
    async with rolled_back() as session:
        found = await reply_library.search(session, org, "奶粉有问题", limit=2, category="产品质量")
        assert len(found) <= 2 and found
        assert {c.category for c in found} == {"产品质量"}
        assert await reply_library.search(session, org, "奶粉", limit=0) == []
        assert await reply_library.search(session, org, "！？", limit=5) == []
    stored = await _cases(rolled_back, org)
    assert all(c.signature for c in stored)
    assert len({c.id for c in stored}) == len(OTHER_COMPLAINTS)
