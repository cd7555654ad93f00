"""Reply-library search (问答库): past cases like a text or a mention, never deletion advice."""

from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL, gid
from gateway.tests.connections import error
from libs.contracts.enums import (
    Role,
)
from libs.database.engine import transaction
from libs.database.tables import (
    ReplyCase,
)
from libs.reply_library import signature
from tests.builders import Sessions, Tenant

# --- reply library ------------------------------------------------------------------------

SIMILAR = """
query($text: String, $mentionId: ID, $first: Int!) {
  similarReplies(text: $text, mentionId: $mentionId, first: $first) {
    similarity
    case { databaseId category text reply createdBy }
    incident { databaseId }
    mention { databaseId }
  }
}
"""

COMPLAINT = "你们家的奶粉宝宝喝了以后一直拉肚子，客服电话也打不通，到底怎么回事？"
APOLOGY = "非常抱歉，我们已安排专员联系您。"


async def test_similar_replies_find_past_cases_but_never_deletion_advice(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        opened = await builders.watched_incident(session, acme.org.id, detected_at=T0)
        asked = await builders.mention(session, acme.org.id, posted_at=T0, text=COMPLAINT)
        cases = {
            "near": ("你們家的奶粉寶寶喝了之後一直拉肚子，客服電話打不通！", APOLOGY),
            "partial": ("奶粉喝了拉肚子怎么办", "请提供批次号，我们免费检测。"),
            "unrelated": ("快递三天了还没发货", "已催促仓库今日发出。"),
            "deleting": (COMPLAINT[:-4], "建议联系平台删帖处理。"),
        }
        stored: dict[str, ReplyCase] = {}
        for name, (text, reply) in cases.items():
            row = ReplyCase(
                organization_id=acme.org.id,
                incident_id=opened.id if name == "near" else None,
                mention_id=asked.id if name == "near" else None,
                category="产品质量",
                text=text,
                reply=reply,
                signature=signature(text),
                created_by="api_key:responder",
            )
            session.add(row)
            stored[name] = row
        session.add(
            ReplyCase(
                organization_id=rival.org.id,
                category="产品质量",
                text=COMPLAINT,
                reply="他们的回复",
                signature=signature(COMPLAINT),
                created_by="api_key:rival",
            )
        )

    by_text = await gql(acme.auth(Role.VIEWER), SIMILAR, {"text": COMPLAINT, "first": 5})
    found = by_text["data"]["similarReplies"]
    assert [f["case"]["databaseId"] for f in found] == [
        str(stored["near"].id),
        str(stored["partial"].id),
    ]
    assert found[0]["similarity"] > found[1]["similarity"] > 0
    assert found[0]["incident"] == {"databaseId": str(opened.id)}
    assert found[0]["mention"] == {"databaseId": str(asked.id)}
    assert found[0]["case"]["reply"] == APOLOGY
    assert all("删" not in f["case"]["reply"] for f in found)

    by_mention = await gql(
        acme.auth(Role.VIEWER), SIMILAR, {"mentionId": gid("Mention", asked.id), "first": 1}
    )
    assert [f["case"]["databaseId"] for f in by_mention["data"]["similarReplies"]] == [
        str(stored["near"].id)
    ]

    refusals = [
        ({"first": 5}, "Give exactly one of `text` and `mentionId`."),
        ({"text": "x", "mentionId": gid("Mention", asked.id), "first": 5}, "Give exactly one"),
        ({"mentionId": gid("Incident", opened.id), "first": 5}, "`mentionId` must be a Mention"),
        ({"text": COMPLAINT, "first": 0}, "`first` must be between 1 and 20"),
        ({"text": "   ", "first": 5}, "`text` is blank."),
    ]
    for variables, message in refusals:
        assert error(await gql(acme.auth(Role.VIEWER), SIMILAR, variables)).startswith(message)
    theirs = await gql(
        rival.auth(Role.VIEWER), SIMILAR, {"mentionId": gid("Mention", asked.id), "first": 5}
    )
    assert error(theirs) == "`mentionId` is not a mention of your organization."
    rival_found = await gql(rival.auth(Role.VIEWER), SIMILAR, {"text": COMPLAINT, "first": 5})
    assert [f["case"]["reply"] for f in rival_found["data"]["similarReplies"]] == ["他们的回复"]
