"""Incidents service: turns risk signals into incidents and runs the response to them.

Owns `incident`, `response_task`, `timeline_event`, `incident_member`, `playbook`,
`watchlist_snooze`, `statement`, `statement_review`, `key_fact`, `reply_case`,
`affected_user`, `follow_up_task`, `review_report`, `improvement_action` and
`integration_event`. Consumes `RiskSignalRaised` and the response commands of
`libs.contracts.response` from the incidents queue; runs the deadline watchdog; emits
`IntegrationEventEmitted` on the events queue. See docs/incidents.md.
"""
