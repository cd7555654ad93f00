"""Improvement actions through the gateway: moved along by the real incidents worker, shown in
the review's public notice and in the closing statement a suggestion drafts."""

from typing import Any

from gateway.tests.conftest import gid
from libs.contracts.enums import Role
from tests.gateway.builders import System, war_room

REVIEW = """mutation($input: ReviewUpdateInput!) { reviewUpdate(input: $input) {
  __typename ... on ReviewReport { improvements { databaseId state } } } }"""
MOVE = """mutation($input: ImprovementActionUpdateInput!) {
  improvementActionUpdate(input: $input) {
    __typename
    ... on ImprovementAction { state statusReason doneAt }
    ... on Refusal { code message } ... on InvalidInput { field }
  }
}"""
NOTICE = """query($id: ID!) { incident(id: $id) { review { improvementNotice
  improvements { action state } } } }"""
SUGGEST = """mutation($input: DraftStatementSuggestionInput!) {
  draftStatementSuggestion(input: $input) {
    __typename ... on StatementSuggestion { text missingFacts } } }"""


async def test_an_action_done_reaches_the_public_notice_and_the_closing_statement(
    system: System,
) -> None:
    room = await war_room(system)
    owner = room.tenant
    incident = gid("Incident", room.incident)
    plan = [
        {"action": "增加批次抽检", "owner": "品控部"},
        {"action": "更新客服话术", "owner": "客服部"},
    ]
    review = await system.mutate(
        owner, Role.RESPONDER, REVIEW,
        {"input": {"incidentId": incident, "rootCause": "质检漏检", "improvements": plan}},
    )  # fmt: skip
    first, _second = (a["databaseId"] for a in review["improvements"])

    async def move(fields: dict[str, Any], role: Role = Role.RESPONDER) -> dict[str, Any]:
        return await system.mutate(owner, role, MOVE, {"input": {"id": first, **fields}})

    assert (await move({"state": "IN_PROGRESS"}))["state"] == "IN_PROGRESS"
    done = await move({"state": "DONE"})
    assert done["state"] == "DONE" and done["doneAt"] is not None
    by_hand = await move({"state": "REOPENED"})
    assert (by_hand["__typename"], by_hand["field"]) == ("InvalidInput", "state")
    dropped = await move({"state": "DROPPED"})
    assert (dropped["__typename"], dropped["field"]) == ("InvalidInput", "reason")
    viewer = await move({"state": "VERIFIED"}, Role.VIEWER)
    assert viewer["__typename"] == "Forbidden"

    read = await system.post(owner.auth(Role.VIEWER), NOTICE, {"id": incident})
    notice = read["data"]["incident"]["review"]["improvementNotice"]
    assert notice.splitlines()[0] == "整改进展公示：复盘承诺的 2 项改进措施中，已完成 1 项。"
    assert notice.splitlines()[1].startswith("1. 增加批次抽检，完成于 ")

    closing = await system.mutate(
        owner, Role.RESPONDER, SUGGEST,
        {"input": {"incidentId": incident, "channel": "WECHAT", "stage": "CLOSING_NOTICE"}},
    )  # fmt: skip
    assert "增加批次抽检；更新客服话术" in closing["text"]
    assert "已完成 1/2 项：增加批次抽检" in closing["text"]
    assert "整改措施" not in closing["missingFacts"] and "完成情况" not in closing["missingFacts"]
