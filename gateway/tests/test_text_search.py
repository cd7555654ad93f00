"""`textContains` finds Chinese substrings of any length through the bigram index, and
finds exactly what a plain case-insensitive substring test finds."""

from datetime import timedelta

from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql
from sqlmodel import col

from gateway.core.filters import Scope
from gateway.mentions.queries import text_contains_condition
from gateway.tests import builders
from gateway.tests.builders import T0
from gateway.tests.conftest import GraphQL
from libs.contracts.enums import Role
from libs.database.engine import transaction
from libs.database.tables import Mention
from tests.builders import Sessions, Tenant

TEXTS = [
    "禾岚奶粉冲出来有结块，宝宝喝完吐了，客服一直不回复 #禾岚奶粉#",
    "網傳禾岚奶粉致癌是謠言，別信",
    "今天的舆情简报：物流延误投诉增加",
    "Helan 官方回应：产品批次 HL-2026 已下架",
    "门店服务很好，店员耐心解答",
    "结块问题已经反馈给质检部门",
    "50%的用户表示满意_调查",
]
SEARCH = """
query($text: String!) {
  mentions(first: 50, filter: {textContains: $text}) { edges { node { text } } }
}
"""


async def test_text_contains_finds_what_a_substring_test_finds(
    gql: GraphQL, sessions: Sessions, acme: Tenant, rival: Tenant
) -> None:
    async with transaction(sessions) as session:
        for i, body in enumerate(TEXTS):
            await builders.mention(
                session, acme.org.id, posted_at=T0 + timedelta(minutes=i), text=body
            )
        await builders.mention(session, rival.org.id, posted_at=T0, text="禾岚奶粉结块")

    terms = [
        "结块",
        "禾岚奶粉",
        "舆情简报",
        "hl-2026",
        "HELAN",
        "吐",
        "謠言",
        "50%",
        "_调",
        "火星",
        "块问",
    ]
    for term in terms:
        answer = await gql(acme.auth(Role.VIEWER), SEARCH, {"text": term})
        assert "errors" not in answer, answer
        found = sorted(edge["node"]["text"] for edge in answer["data"]["mentions"]["edges"])
        assert found == sorted(t for t in TEXTS if term.lower() in t.lower()), term


async def test_text_contains_reads_the_bigram_index(sessions: Sessions, acme: Tenant) -> None:
    """On a table large enough that a scan would cost more, the planner answers a rare
    term through the bigram index."""
    async with transaction(sessions) as session:
        connection = await session.connection()
        await connection.execute(
            text(
                """
                INSERT INTO mention (id, organization_id, source, external_id, text,
                                     content_hash, posted_at, reposts,
                                     comments, likes, views, ingested_at)
                SELECT gen_random_uuid(), :org, 'weibo', 'g' || i, t, md5(i::text),
                       now() - i * interval '1 minute', 0, 0, 0, 0, now()
                FROM generate_series(1, 20000) AS i,
                     LATERAL (SELECT (CAST(:texts AS text[]))[i % 7 + 1] || i AS t) AS body
                """
            ),
            {"org": acme.org.id, "texts": TEXTS},
        )
        await builders.mention(session, acme.org.id, posted_at=T0, text="火锅底料涨价了")
        await connection.execute(text("ANALYZE mention"))

    statement = (
        select(col(Mention.id))
        .where(col(Mention.organization_id) == acme.org.id)
        .where(text_contains_condition("火锅底料", Scope(acme.org.id, T0), "textContains"))
    )
    compiled = statement.compile(
        dialect=postgresql.dialect(),  # type: ignore[no-untyped-call]
        compile_kwargs={"literal_binds": True},
    )
    sql = str(compiled)
    async with sessions() as session:
        connection = await session.connection()
        plan = "\n".join(row[0] for row in (await connection.execute(text(f"EXPLAIN {sql}"))))
        found = (await connection.execute(statement)).all()
    assert "ix_mention_text_bigrams" in plan, plan
    assert len(found) == 1


async def test_text_bigrams_are_every_two_character_piece(sessions: Sessions) -> None:
    samples = ["禾岚奶粉结块", "禾岚奶粉结块了", "AbC", "a", "", "第一行\n第二行", "ab ab"]
    async with sessions() as session:
        connection = await session.connection()
        for sample in samples:
            found = (
                await connection.execute(text("SELECT text_bigrams(:v)"), {"v": sample})
            ).scalar_one()
            lowered = sample.lower()
            expected = [lowered[i : i + 2] for i in range(len(lowered) - 1)]
            assert sorted(found) == sorted(expected), sample
