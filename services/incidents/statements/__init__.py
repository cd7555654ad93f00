"""Statements per channel: drafts, three-level review, publication, and one core message."""
