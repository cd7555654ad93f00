"""Complaints from partner desks: `router` (HTTP), `service` (rules), `repository` (SQL)."""
