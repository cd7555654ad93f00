"""`Idempotency-Key`: a retried POST gets the first answer instead of doing the work twice.

Partner desks retry on timeouts, and a timeout does not say whether the first attempt
landed. A key is remembered per organization with a SHA-256 of the route and the canonical
body. The first request claims the key in its own short transaction, so a concurrent
duplicate sees the claim at once; it then does the work and stores the status and body.
Afterwards the same key and body replay that answer (`Idempotent-Replayed: true`); another
body under the same key is refused (422); a duplicate arriving while the first still runs
gets 409 with `Retry-After`. A first attempt that fails (an exception, a problem answer, a
5xx) releases the key so the retry runs for real. A keyed request runs under a deadline
(503 past it), so a claim older than its lease, a few seconds more, belongs to no live
request: one left by a killed process or an unreleasable failure is taken over by the next
resend of the same body (numbers in `service`). Records expire after `TTL`; an expired
record is replaced by the next request that uses the key.

`repository` holds the SQL, `service` the claims and their rules, `http` the header and
the answers (`respond`).
"""
