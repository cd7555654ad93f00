"""The war-room dashboard: volume and sentiment over time, share of voice, top terms and
authors, and how incidents are being handled, each figure counted in SQL on request.

Reads `mention`, `mention_analysis`, `watchlist`, `author`, `incident` and `response_task`.
Sends no command. Serves `dashboard`.
"""
