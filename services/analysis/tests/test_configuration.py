"""Watchlist and lexicon commands through the service, on one rolled-back session."""

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import pytest
from sqlmodel import select
from sqlmodel.ext.asyncio.session import AsyncSession

from libs.contracts.enums import SensitiveCategory
from libs.contracts.messages import (
    Command,
    CommandResult,
    CreateWatchlist,
    SensitiveTermEntry,
    SetSensitiveTerms,
    UpdateWatchlist,
)
from libs.contracts.outcome import Outcome
from libs.database.tables import MentionAnalysis, SensitiveTerm, Watchlist
from services.analysis import service
from services.analysis.analyzer import Analyzer
from services.analysis.tests.builders import analyse, make_mention, make_organization

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _answer(
    session: AsyncSession, handler: Callable[..., Awaitable[Outcome]], command: Command
) -> CommandResult:
    outcome = await handler(session, command, now=NOW)
    assert outcome.messages == () and outcome.result is not None
    return outcome.result


async def test_watchlist_and_lexicon_commands(session: AsyncSession, analyzer: Analyzer) -> None:
    org = await make_organization(session)
    create = CreateWatchlist(
        organization_id=org, actor="k", name="奶粉", query="（奶粉｜米粉）&（致癌|召回）&！謠言"
    )
    created = await _answer(session, service.create_watchlist, create)
    assert created.ok, created.error
    assert created.data["query"] == "(奶粉 | 米粉) & (致癌 | 召回) & !谣言"
    refusals = {
        query: await _answer(
            session,
            service.create_watchlist,
            CreateWatchlist(organization_id=org, actor="k", name=f"坏规则{query}", query=query),
        )
        for query in ("奶粉 & (致癌", "!谣言", None)
    }
    for refused in refusals.values():
        assert not refused.ok and refused.error is not None
        assert (refused.error.code, refused.error.field) == ("Invalid", "query")
    assert "column" in (refusals["奶粉 & (致癌"].error or pytest.fail()).message

    watchlist_id = uuid.UUID(created.data["id"])
    renamed = await _answer(
        session,
        service.update_watchlist,
        UpdateWatchlist(organization_id=org, actor="k", watchlist_id=watchlist_id, name="奶粉安全"),
    )
    assert renamed.data["name"] == "奶粉安全"
    requeried = await _answer(
        session,
        service.update_watchlist,
        UpdateWatchlist(
            organization_id=org, actor="k", watchlist_id=watchlist_id, query="奶粉 & 异物"
        ),
    )
    assert requeried.data["query"] == "奶粉 & 异物"
    foreign = await _answer(
        session,
        service.update_watchlist,
        UpdateWatchlist(
            organization_id=await make_organization(session),
            actor="k",
            watchlist_id=watchlist_id,
            name="偷改",
        ),
    )
    assert foreign.error is not None and foreign.error.code == "NotFound"

    terms = SetSensitiveTerms(
        organization_id=org,
        actor="k",
        upsert=[
            SensitiveTermEntry(term="  禾岚黑幕 ", category=SensitiveCategory.LEGAL, weight=0.7),
            SensitiveTermEntry(term="异物", category=SensitiveCategory.SAFETY, weight=0.0),
        ],
    )
    assert (await _answer(session, service.set_sensitive_terms, terms)).ok
    stored = await session.exec(select(SensitiveTerm).where(SensitiveTerm.organization_id == org))
    by_term = {t.term: t for t in stored.all()}
    watchlist = await session.get(Watchlist, watchlist_id)
    assert set(by_term) == {"禾岚黑幕", "异物"} and by_term["异物"].weight == 0.0
    assert watchlist is not None and watchlist.name == "奶粉安全"

    # The lexicon change takes effect on the next batch: 异物 no longer counts, 禾岚黑幕 does.
    mention = make_mention(session, org, "奶粉里有异物，禾岚黑幕曝光", NOW)
    await analyse(session, analyzer, org, [mention], NOW)
    analysis = await session.get(MentionAnalysis, mention.id)
    assert analysis is not None and analysis.watchlist_ids == [watchlist_id]
    hit_terms = {h["term"] for h in analysis.sensitive_hits}
    assert "禾岚黑幕" in hit_terms and "异物" not in hit_terms

    remove = SetSensitiveTerms(organization_id=org, actor="k", remove=["异物"])
    assert (await _answer(session, service.set_sensitive_terms, remove)).data["removed"] == ["异物"]
    left = await session.exec(
        select(SensitiveTerm.term).where(SensitiveTerm.organization_id == org)
    )
    assert left.all() == ["禾岚黑幕"]
