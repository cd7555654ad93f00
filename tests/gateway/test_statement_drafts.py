"""Statement suggestions end to end: key facts and drafts through the real incidents worker."""

from typing import Any

from gateway.tests.conftest import gid
from libs.contracts.enums import Role
from tests.builders import Tenant
from tests.gateway.builders import System, open_incident, watchlist

SUGGEST = """
mutation($input: DraftStatementSuggestionInput!) {
  draftStatementSuggestion(input: $input) {
    __typename
    ... on StatementSuggestion {
      stage channel text missingFacts fitProblems fromOrganizationTemplate templateVersion
      flags { kind label unit expected found channel }
    }
    ... on Refusal { message }
  }
}
"""
FACTS = """
mutation($id: ID!, $facts: [KeyFactInput!]!) {
  setKeyFacts(incidentId: $id, facts: $facts) { __typename }
}
"""
DRAFT = """
mutation($id: ID!, $channel: Channel!, $body: String!) {
  draftStatement(incidentId: $id, channel: $channel, body: $body) { __typename }
}
"""
TEMPLATE = """
mutation($input: SetStatementTemplateInput!) {
  setStatementTemplate(input: $input) {
    __typename ... on StatementTemplate { version body crisisType }
    ... on Refusal { message } ... on InvalidInput { field }
  }
}
"""
KEY_FACTS = [
    {"label": "事件", "value": "部分批次奶粉异味问题"},
    {"label": "事件经过", "value": "3月1日起陆续有用户反映奶粉有异味"},
    {"label": "处理措施", "value": "涉事批次已全部下架送检"},
    {"label": "联系方式", "value": "客服热线400-800-1234"},
    {"label": "涉事批次数量", "value": "2批次"},
]


async def suggest(system: System, owner: Tenant, incident: str, **fields: Any) -> dict[str, Any]:
    variables = {"input": {"incidentId": incident, **fields}}
    return await system.mutate(owner, Role.RESPONDER, SUGGEST, variables)


async def test_a_first_response_carries_every_key_fact_and_names_what_is_missing(
    system: System, acme: Tenant
) -> None:
    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident = gid("Incident", await open_incident(system, acme, watched))
    set_facts = await system.mutate(
        acme, Role.RESPONDER, FACTS, {"id": incident, "facts": KEY_FACTS}
    )
    assert set_facts["__typename"] == "Incident"

    weibo = await suggest(system, acme, incident, channel="WEIBO")
    assert (weibo["stage"], weibo["channel"]) == ("FIRST_RESPONSE", "WEIBO")
    text = weibo["text"]
    assert text.startswith("【关于部分批次奶粉异味问题的情况说明】")
    assert "深表歉意" in text and "专项小组" in text  # orange: a 5-person task force
    assert all(fact["value"] in text for fact in KEY_FACTS)
    assert weibo["missingFacts"] == ["下次更新时间"]
    assert "【待补充：下次更新时间】" in text
    assert (weibo["flags"], weibo["fitProblems"]) == ([], [])
    assert weibo["fromOrganizationTemplate"] is False and "#禾岚乳业回应#" in text

    douyin = await suggest(system, acme, incident, channel="DOUYIN")
    assert douyin["text"].startswith("视频脚本：") and "口播：" in douyin["text"]

    # Another channel's statement says 3批次 where the facts say 2批次: the check says so.
    drafted = await system.mutate(
        acme, Role.RESPONDER, DRAFT,
        {"id": incident, "channel": "WECHAT", "body": "涉事3批次已全部下架送检。"},
    )  # fmt: skip
    assert drafted["__typename"] == "Statement"
    again = await suggest(system, acme, incident, channel="XIAOHONGSHU")
    [conflict] = again["flags"]
    assert (conflict["kind"], conflict["channel"]) == ("CONFLICT", "wechat")
    assert (conflict["expected"], conflict["found"]) == ("3批次", "2批次")

    closing = await suggest(system, acme, incident, channel="WECHAT", stage="CLOSING_NOTICE")
    assert closing["stage"] == "CLOSING_NOTICE"
    assert closing["missingFacts"] == ["原因", "整改措施", "完成情况"]
    assert closing["text"].splitlines()[-2:] == ["禾岚乳业", closing["text"].splitlines()[-1]]
    assert closing["text"].splitlines()[-1].endswith("日")


async def test_an_organization_template_is_versioned_used_and_never_advises_deletion(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident = gid("Incident", await open_incident(system, acme, watched))
    await system.mutate(acme, Role.RESPONDER, FACTS, {"id": incident, "facts": KEY_FACTS})
    body = "【{{品牌}}致歉】{{事件经过}}。{{关键事实}} 热线：{{联系方式}}"
    fields = {"stage": "FIRST_RESPONSE", "channel": "WEIBO", "body": body}

    responder = await system.mutate(acme, Role.RESPONDER, TEMPLATE, {"input": fields})
    assert responder["__typename"] == "Forbidden"
    deleting = await system.mutate(
        acme, Role.ADMIN, TEMPLATE, {"input": {**fields, "body": body + " 请尽快删帖处理。"}}
    )
    assert (deleting["__typename"], deleting["field"]) == ("InvalidInput", "body")
    first = await system.mutate(acme, Role.ADMIN, TEMPLATE, {"input": fields})
    second = await system.mutate(
        acme, Role.ADMIN, TEMPLATE, {"input": {**fields, "body": body + "（二版）"}}
    )
    assert (first["version"], second["version"], second["crisisType"]) == (1, 2, None)

    used = await suggest(system, acme, incident, channel="WEIBO")
    assert (used["fromOrganizationTemplate"], used["templateVersion"]) == (True, 2)
    assert used["text"].startswith("【禾岚乳业致歉】3月1日起陆续有用户反映奶粉有异味。")
    assert used["text"].endswith("（二版）") and used["missingFacts"] == []
    theirs = await suggest(system, rival, incident, channel="WEIBO")
    assert theirs["__typename"] == "NotFound"
