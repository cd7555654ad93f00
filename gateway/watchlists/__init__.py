"""Watchlists: the named rules analysis matches mentions against, and their snoozes.

Reads `watchlist` and `watchlist_snooze`. Sends CreateWatchlist and UpdateWatchlist to the
analysis service and SnoozeWatchlist to the incidents service.
"""
