"""Risk signals into incidents: grouping, snoozed watchlists, recurrences of past crises."""
