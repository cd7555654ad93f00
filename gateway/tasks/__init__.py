"""Response tasks: the playbook's steps on an incident, each with its deadline and owner.

Reads `response_task` (with `incident` and `incident_member` to filter). Sends CompleteTask
to the incidents service. Serves the `tasks` list across incidents.
"""
