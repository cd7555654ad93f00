"""Incidents service: turns risk signals into incidents and runs the response to them.

Owns (writes) `incident`, `response_task`, `timeline_event`, `applied_signal`,
`incident_member`, `playbook`, `watchlist_snooze`, `statement`, `statement_review`,
`key_fact`, `reply_case`, `affected_user`, `follow_up_task`, `review_report`,
`improvement_action`, `integration_event` and `risk_check` (plus its own rows of the shared
outbox and message receipts).

Consumes the incidents queue (`worker.py` → `service.py`): `risk.signal_raised.v1` and
`risk.tier_fell.v1` from analysis, and the response commands the gateway sends —
`incident.acknowledge`, `incident.transition`, `incident.change_tier`, `incident.assign_role`,
`incident.set_key_facts`, `watchlist.snooze`, `playbook.set`, `task.complete`,
`statement.draft`/`revise`/`review`/`publish`, `reply.file`, `affected_user.add`,
`follow_up.complete`, `review.update`/`complete` (all v1). Its deadline watchdog
(`tasks/watchdog.py`), the daily risk check's scheduler (`risk_check/scheduler.py`) and the
snooze-end sweep (`signals.service.SNOOZE_ENDS`) run beside the routes.

Emits, after each commit, `integration.event.v1` on the events queue (incident.opened,
incident.tier_changed, incident.status_changed, task.overdue, statement.published,
review.completed, risk_check.completed; payloads in `libs.contracts.events`), the answer
to each command, a live `incident` notice for every timeline event, and `drill.end.v1` to
analysis when a drill's incident closes (docs/drills.md). See docs/incidents.md.
"""
