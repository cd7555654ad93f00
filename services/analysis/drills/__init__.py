"""Drills (定期模拟演练): a drill's own watchlist and row, and its score card at the end."""
