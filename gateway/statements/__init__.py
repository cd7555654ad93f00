"""Public statements: one per channel, from draft through three-level review to publication.

Reads `statement` and `statement_review`. Sends DraftStatement, ReviseStatement,
ReviewStatement and PublishStatement to the incidents service. Serves the `statements`
list across incidents.
"""
