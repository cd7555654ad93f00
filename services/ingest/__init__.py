"""Ingest: the HTTP front door for mentions and partner complaints.

Owns (writes) the `author`, `mention`, `complaint` and `idempotency_record` tables, and the
`outbox_message` rows it produces (producer `ingest`). Reads `api_key` to know the caller
and `mention_analysis` to answer `GET /v1/mentions/{id}`; counts each key's requests in
Redis (`libs.ratelimit`).

Consumes HTTP: `POST /v1/mentions` (a batch of 1–1000, each item validated on its own),
`GET /v1/mentions/{mention_id}`, `POST /v1/complaints` (stored as a mention plus its
encrypted contact details), `GET /v1/complaints/{complaint_id}` and `GET /healthz`. Both
POST routes honour an `Idempotency-Key`.

Emits `mention.ingested.v1` (to analysis) through the outbox: staged in the request's
transaction and published after it commits, so nothing accepted is lost if Redis or a
worker dies right after the answer; the reconciler announces again, in the same way,
mentions still unanalysed after a minute, counting each try in `mention_failure` (which
analysis writes too). Emits no live notices.
"""
