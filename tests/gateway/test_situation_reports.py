"""Situation reports through the gateway: a drafted report is read, edited and sent by the
real incidents worker, and only the owner's organization sees it."""

from datetime import UTC, datetime, timedelta

from gateway.tests.conftest import gid
from libs.clock import FixedClock
from libs.contracts.enums import Role, Tier
from libs.messaging.sweep import Sweep
from services.incidents.sitreps.service import SITUATION_REPORTS
from tests.builders import Tenant
from tests.gateway.builders import System, open_incident, watchlist

READ = """
query($incident: ID!) {
  situationReports(first: 5, filter: {incidentId: $incident}) {
    totalCount
    nodes { id number status situation overview conditions needs nextSteps sentBy }
  }
}
"""
SEND = """
mutation($input: SendSituationReportInput!) {
  sendSituationReport(input: $input) {
    __typename ... on SituationReport { status overview sentAt }
    ... on Refusal { code message }
  }
}
"""


async def test_a_drafted_report_is_sent_as_edited_and_only_once(
    system: System, acme: Tenant, rival: Tenant
) -> None:
    watched = await watchlist(system, acme, "禾岚乳业", ["禾岚"])
    incident_id = await open_incident(system, acme, watched, Tier.RED)
    # The worker's own pass, run at a time two hours on, when the first red report is due.
    later = FixedClock(datetime.now(UTC) + timedelta(hours=2, minutes=1))
    await Sweep(SITUATION_REPORTS, system.sessions, system.redis, later, interval=60.0,
                producer="incidents").run_once()  # fmt: skip
    incident = gid("Incident", incident_id)
    body = await system.post(acme.auth(Role.VIEWER), READ, {"incident": incident})
    page = body["data"]["situationReports"]
    assert page["totalCount"] == 1
    [draft] = page["nodes"]
    assert (draft["number"], draft["status"], draft["sentBy"]) == (1, "DRAFT", None)
    assert draft["situation"] == "严重舆情危机·已发现"
    assert draft["conditions"][2] == "尚未发布公开声明"

    sent = await system.mutate(
        acme, Role.RESPONDER, SEND, {"input": {"id": draft["id"], "overview": "首次声明审核中"}}
    )
    assert (sent["__typename"], sent["status"], sent["overview"]) == (
        "SituationReport", "SENT", "首次声明审核中"
    )  # fmt: skip
    twice = await system.mutate(acme, Role.RESPONDER, SEND, {"input": {"id": draft["id"]}})
    assert (twice["__typename"], twice["code"]) == ("Conflict", "CONFLICT")
    theirs = await system.mutate(rival, Role.ADMIN, SEND, {"input": {"id": draft["id"]}})
    assert theirs["__typename"] == "NotFound"
    hidden = await system.post(rival.auth(Role.ADMIN), READ, {"incident": incident})
    assert hidden["data"]["situationReports"]["nodes"] == []
