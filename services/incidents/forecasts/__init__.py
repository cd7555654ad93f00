"""Forecasts against deadlines: warn once when a crisis would peak before its first statement."""
