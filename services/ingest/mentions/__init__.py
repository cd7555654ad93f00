"""Mentions pushed in batches: `router` (HTTP), `service` (rules), `schemas` (shapes).

The SQL of mentions and authors is the package's `repository`, shared with complaints.
"""
