"""Playbooks: an organization's response for a tier (and crisis type): team and tasks.

Reads `playbook`. Sends SetPlaybook to the incidents service. Serves `playbooks`.
"""
