"""Prometheus metrics from every process: what each one counts, and how it is served.

`definitions` names every metric (documented in docs/operations.md); HTTP services mount
`exposition.metrics_response` at `/metrics`; a worker serves `/metrics`, `/livez` and
`/readyz` on `METRICS_PORT` (`server`); the workers also sample what only the cluster's
state can tell (queue depths, backlogs) every few seconds (`cluster`).
"""
