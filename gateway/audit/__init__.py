"""The audit log: every configuration change, with before, after, who and when; admins only.

Reads `audit_entry`, which the services (through their queue harness) and the gateway's own
key and people mutations append to; nothing changes or removes an entry (`libs.audit`).
"""
