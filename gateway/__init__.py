"""The GraphQL gateway: what frontends query and the commands they send.

Owns: no table. Reads: every table, always scoped to the caller's organization. Sends:
commands (CreateWatchlist to analysis, AcknowledgeIncident to incidents) over the queue and
awaits their results, so each state change stays with the service that owns the rows.
"""
