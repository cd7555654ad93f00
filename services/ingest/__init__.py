"""Ingest: the HTTP front door for mentions.

Owns the `author` and `mention` tables. Validates each item of a batch on its own, stores
what is valid before answering, and announces stored batches to analysis with
`mention.ingested.v1` through the outbox, so nothing accepted is lost if Redis or a worker
dies right after the answer.
"""
