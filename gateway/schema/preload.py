"""What a page reads for its nodes before their fields run, so the page costs one round.

A connection knows which fields its nodes were asked for (`edges { node { … } }`, through
fragments). For the nested objects a console asks for on every page — a mention's author
and analysis, an incident's tasks — it reads them for the whole page on its own connection,
with the same tenant-scoped queries the DataLoaders run, and hands them to the nodes. Their
fields then answer at once instead of each awaiting a DataLoader in a task of its own; a
node built anywhere else (`node(id:)`, a subscription) still loads through the DataLoaders.
"""

import uuid
from collections.abc import Iterable, Iterator

from sqlalchemy.ext.asyncio import AsyncConnection
from strawberry.types.nodes import SelectedField, Selection

from gateway.context import Info
from gateway.loaders import ANALYSES, AUTHORS, TASKS_BY_INCIDENT
from gateway.schema.pagination import Preload
from gateway.schema.types import Analysis, Author, Incident, Mention, ResponseTask


def _fields(selections: Iterable[Selection]) -> Iterator[SelectedField]:
    """Yield the fields of a selection set, with those inside its fragments."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _fields(selection.selections)


def node_fields(info: Info) -> frozenset[str]:
    """Return the names of the fields selected on the nodes of the connection being resolved.

    Directives are not evaluated: a field under `@skip` counts as asked for, which at worst
    reads rows nobody shows.
    """
    names: set[str] = set()
    for edges in _fields(
        selection for connection in info.selected_fields for selection in connection.selections
    ):
        if edges.name == "edges":
            for node in _fields(edges.selections):
                if node.name == "node":
                    names.update(field.name for field in _fields(node.selections))
    return frozenset(names)


def mention_extras(info: Info) -> Preload[Mention] | None:
    """Return what reads the authors and analyses a mentions page will show, if any."""
    wanted = node_fields(info)
    with_author, with_analysis = "author" in wanted, "analysis" in wanted
    if not (with_author or with_analysis):
        return None
    organization_id = info.context.principal.organization_id

    async def preload(connection: AsyncConnection, mentions: list[Mention]) -> None:
        if with_author:
            author_ids = {m.author_id for m in mentions if m.author_id is not None}
            rows = await AUTHORS.fetch(connection, organization_id, author_ids)
            authors: dict[uuid.UUID | None, Author] = {
                id_: Author.from_row(row) for id_, row in rows.items()
            }
            for mention in mentions:
                mention.known_author = authors.get(mention.author_id)
        if with_analysis:
            analyses = await ANALYSES.fetch(connection, organization_id, [m.id for m in mentions])
            for mention in mentions:
                analysis = analyses.get(mention.id)
                mention.known_analysis = (
                    Analysis.from_row(analysis) if analysis is not None else None
                )

    return preload


def incident_extras(info: Info) -> Preload[Incident] | None:
    """Return what reads the tasks an incidents page will show, if it shows them."""
    if "tasks" not in node_fields(info):
        return None
    organization_id = info.context.principal.organization_id

    async def preload(connection: AsyncConnection, incidents: list[Incident]) -> None:
        ids = [incident.id for incident in incidents]
        tasks = await TASKS_BY_INCIDENT.fetch(connection, organization_id, ids)
        for incident in incidents:
            rows = tasks.get(incident.id, [])
            incident.known_tasks = [ResponseTask.from_row(row) for row in rows]

    return preload
