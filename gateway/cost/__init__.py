"""What a GraphQL operation may cost: estimated before it runs, limited per document and per
organization, and reported in the response's `extensions`.

`analysis` estimates a document's cost from the schema alone (rows × nesting, see its
docstring and docs/graphql.md#cost), `weights` names the fields whose work grows with an
argument other than a page size (the dashboard's window), `budget` keeps each organization's
spending per sliding minute, and `extension` applies all three to every operation, over
HTTP and WebSocket alike, and answers a statement cut by `statement_timeout` with a clear
error.
"""
