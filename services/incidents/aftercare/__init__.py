"""Aftercare of affected users (受影响用户): follow-ups and compensation, contacts kept private."""
