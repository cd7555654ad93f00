"""What every domain of the gateway shares, knowing none of them.

`context` (the caller, the database, the queue and the request's DataLoaders), `reads` (reads
declared once: `ById`, `Children`, `Batched`), `rows` and `nodes` (types built from a row,
Relay nodes loaded through their declared read), `pagination` and `listing` (keyset pages
both ways; a list declared once with `ListSpec`, its filter fields with `filters`),
`connection`, `counting` and `nested` (the connection type with `nodes` and `totalCount`, the
bounded count, connections under each object of a page), `commands` (the one
command path: `run`, and `Change` for a mutation of one row), `errors` and `enums` (typed
refusals, the shared vocabularies), `live` and `websocket_admission` (subscriptions).
"""
