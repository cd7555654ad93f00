"""Stories (传播路径): one post with its reposts and near-duplicates, and how it spread.

Reads `story`, `watchlist_hit` and the stories' mentions and analyses. Sends no command.
Serves `story(id:)` and the `stories` list.
"""
