"""Documents filed outside the system: canonical JSON with its digest, signatures, reports.

The gateway serves them and the incidents service renders its review with them, so they
live here, shared, rather than in either.
"""
