"""API keys: the organization's bearer keys, listed, issued and revoked by admins.

Reads and writes `api_key`. Keys are the authentication data every entry point reads (the
gateway and the ingest API, through `libs.auth.keys`); no service owns them, so these
mutations write the key table directly in one transaction instead of sending a command.
A secret is shown once, in the answer that issues it; only its SHA-256 is stored. A revoked
key stops working on every process within the principal cache's lifetime (30 s).
"""
