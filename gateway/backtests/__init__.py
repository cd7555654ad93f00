"""Backtests through GraphQL: try a draft rule on past mentions before saving it."""
