"""Incidents service: turns risk signals into incidents and runs the response to them.

Owns the `incident`, `response_task` and `timeline_event` tables. Consumes
`RiskSignalRaised` (open an incident for a watchlist, or let the signal join the open one
and raise its tier) and the `AcknowledgeIncident` command from the incidents queue. Emits
nothing yet.
"""
