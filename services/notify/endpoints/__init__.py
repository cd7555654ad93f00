"""Endpoints: their commands, secrets, allowed destinations and the organization's policy."""
