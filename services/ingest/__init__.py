"""Ingest: the HTTP front door for mentions and partner complaints.

Owns the `author`, `mention`, `complaint` and `idempotency_record` tables. Validates each
item of a batch on its own, stores what is valid before answering, and announces stored
batches to analysis with `mention.ingested.v1` through the outbox, so nothing accepted is
lost if Redis or a worker dies right after the answer. `POST /v1/complaints` stores a
complaint as a mention plus its encrypted contact details; both POST routes honour an
`Idempotency-Key`.
"""
