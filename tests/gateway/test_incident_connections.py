"""An incident's nested connections page through the same rows as the lists they replace.

Tasks carry a `position` column of their own, which the nested page's row numbering must
not collide with.
"""

from gateway.tests.conftest import gid
from libs.contracts.enums import Role
from tests.gateway.builders import System, war_room

READ = """query($id: ID!, $after: String) { incident(id: $id) {
  tasks { id }
  tasksConnection(first: 3, after: $after) {
    totalCount totalCountIsExact nodes { id } pageInfo { hasNextPage endCursor }
  }
  timeline { id }
  timelineConnection(first: 50) { nodes { id } }
} }"""


async def test_tasks_and_timeline_connections_walk_the_same_rows_as_the_lists(
    system: System,
) -> None:
    room = await war_room(system)
    incident = gid("Incident", room.incident)
    walked: list[str] = []
    after = None
    while True:
        body = await system.post(
            room.tenant.auth(Role.VIEWER), READ, {"id": incident, "after": after}
        )
        assert "errors" not in body, body
        read = body["data"]["incident"]
        page = read["tasksConnection"]
        walked += [node["id"] for node in page["nodes"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    listed = [task["id"] for task in read["tasks"]]
    assert len(listed) > 3, "the playbook gives an orange incident more than one page of tasks"
    assert walked == listed
    assert (page["totalCount"], page["totalCountIsExact"]) == (len(listed), True)
    assert [e["id"] for e in read["timelineConnection"]["nodes"]] == [
        e["id"] for e in read["timeline"]
    ]
