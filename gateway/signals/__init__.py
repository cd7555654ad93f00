"""Risk signals: the tier decisions analysis makes for a watchlist, with their reasons.

Reads `risk_signal`. Sends no command. Serves the `signals` list and the live
`riskSignals` subscription.
"""
