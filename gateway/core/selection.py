"""What a connection's nodes were asked for, so a page can read it for all of them at once.

A connection knows which fields its nodes were asked for (`edges { node { … } }`, through
fragments). For the nested objects a console asks for on every page — a mention's author
and analysis, an incident's tasks — a list reads them for the whole page on its own
connection, with the same tenant-scoped queries the DataLoaders run, and hands them to the
nodes (`Preload`). Their fields then answer at once instead of each awaiting a DataLoader
in a task of its own; a node built anywhere else (`node(id:)`, a subscription) still loads
through the DataLoaders.
"""

from collections.abc import Iterable, Iterator

from strawberry.types.nodes import SelectedField, Selection

from gateway.core.context import Info


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


def page_info_fields(info: Info) -> frozenset[str]:
    """Return the names of the fields selected on the `pageInfo` of the connection being
    resolved, so a page reads what only some of them need when they are asked for."""
    return frozenset(
        field.name
        for connection in info.selected_fields
        for page in _fields(connection.selections)
        if page.name == "pageInfo"
        for field in _fields(page.selections)
    )
