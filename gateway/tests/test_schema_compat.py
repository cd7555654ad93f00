"""The schema never breaks clients by accident.

`gateway/schema.released.graphql` is what has shipped: every field, argument and type a
client may rely on, the deprecated ones included until their removal date. Every breaking
change against it (a removed field or argument, a changed type, a new required argument…)
fails this test unless it is listed in ACCEPTED with the reason, which the release notes
repeat. When a release ships, the released file is replaced by the current `schema.graphql`
and ACCEPTED is emptied.
"""

from pathlib import Path

from graphql import build_schema, find_breaking_changes

from gateway.print_schema import render

RELEASED = Path(__file__).resolve().parent.parent / "schema.released.graphql"

# Breaking changes made on purpose since the last release, with why.
ACCEPTED: set[str] = set()


def test_no_unannounced_breaking_change_since_the_last_release() -> None:
    released = build_schema(RELEASED.read_text(encoding="utf-8"))
    current = build_schema(render())
    breaking = {change.description for change in find_breaking_changes(released, current)}
    assert breaking - ACCEPTED == set(), "breaking changes not announced in ACCEPTED"
    assert ACCEPTED - breaking == set(), "ACCEPTED lists changes that no longer happen"
