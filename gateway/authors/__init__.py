"""Authors with what they posted: who drives the conversation, by volume, reach or influence.

Reads `author`, `mention` and `mention_analysis`. Sends no command. Serves the `authors`
list; the dashboard's top authors rank with the same SQL (`gateway.authors.ranking`).
"""
