"""Deliveries: fan-out of events, the dispatcher loop, one attempt, and the retry schedule."""
