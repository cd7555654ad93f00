"""Mentions: the posts and complaints received, who posted them and what analysis concluded.

Reads `mention`, `author` and `mention_analysis`. Sends no command. Serves the `mentions`
list, `mention(id:)` and the live `mentions` subscription.
"""
