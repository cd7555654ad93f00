"""Incidents: crises being handled, from detection to review, with their team and timeline.

Reads `incident`, `timeline_event`, `incident_member`, `key_fact` and, for an incident's
nested fields, its tasks, statements, affected users and review. Sends AcknowledgeIncident,
TransitionIncident, ChangeIncidentTier, AssignRole and SetKeyFacts to the incidents
service. Serves the `incidents` list, `incident(id:)` and the live `incidentUpdates`.
"""
