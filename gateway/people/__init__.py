"""People: who acts in an organization's response, and the keys that act for them.

Reads and writes `person`, and issues person keys into `api_key`. Like keys, people are the
data every entry point authenticates with and no service owns, so these admin mutations
write directly in one transaction, appending each change to the audit log in the same
transaction (`libs.audit`). A key acts for its person; a service account's key acts for
nobody but itself.
"""
